"""The hypothesis release the checks draw their examples with: pinned once, installed, and noted when not.

A derandomized hypothesis run tries the same examples only under the same
release, so the course pins one (pyproject.toml, which every platform's grader
requirements come from) and the grader knows it (``facts.HYPOTHESIS_VERSION``).
"""
import importlib.metadata

from autograder import facts
from autograder.grading.engine import version_note
from autograder.semester.grade_all import hypothesis_warning
from platforms import common


def test_pyproject_the_grader_and_this_venv_agree_on_hypothesis():
    pins = [r for r in common.pyproject_dependencies() if r.startswith("hypothesis")]
    assert pins == [f"hypothesis=={facts.HYPOTHESIS_VERSION}"], pins
    assert f"hypothesis=={facts.HYPOTHESIS_VERSION}" in common.grader_requirements()
    installed = importlib.metadata.version("hypothesis")
    assert installed == facts.HYPOTHESIS_VERSION, f"this .venv has hypothesis {installed}: run make setup"


def test_a_grade_under_another_hypothesis_says_so_and_how_to_fix_it():
    assert version_note(facts.HYPOTHESIS_VERSION) is None
    note = version_note("6.170.17")
    assert note.startswith(f"The checks ran under hypothesis 6.170.17, not {facts.HYPOTHESIS_VERSION}")
    assert "other inputs" in note and "bash ci/grade.sh install" in note


def test_a_strange_version_string_stays_one_short_printable_line():
    note = version_note("\x1b[31m9" + "9" * 500 + "\nline")
    assert "\x1b" not in note and "\n" not in note and len(note) < 400


def test_grade_all_warns_the_instructor_of_another_hypothesis_in_one_line():
    assert hypothesis_warning(facts.HYPOTHESIS_VERSION) is None
    for installed in ("6.170.17", None, "\x1b[2J" + "x" * 300 + "\n"):
        line = hypothesis_warning(installed)
        assert line.startswith("warning: this environment has ") and "\n" not in line
        assert "\x1b" not in line and line.endswith(f"pip install hypothesis=={facts.HYPOTHESIS_VERSION}")
