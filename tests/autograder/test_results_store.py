"""The Result as the storage format, the zero report, --only merges, one package finder, the reporter registry."""
import dataclasses
import json
import os

import pytest

from autograder import cli, reporters, results, rubric
from autograder.reporters import result as stored
from autograder.results import CheckResult, Result, TestResult
from autograder.submission import find_package
from support import ROOT


def _result():
    kl = CheckResult("kl_analytic", "The analytic KL divergence", 25, "public", [
        TestResult("closed form", "kl_analytic", 13, "passed", seconds=0.25),
        TestResult("known values", "kl_analytic", 12, "failed", "the sign is flipped ✗", seconds=0.5)])
    det = CheckResult("determinism", "Reproducibility under a seed", 10, "hidden", [
        TestResult("Reproducibility", "determinism", 10, "skipped", "hidden check: not run")], seconds=1.5)
    return Result("subm", 100, [kl, det], output="printed\n", notes=["a note"],
                  internal_errors=["test_determinism.py::x: boom"], seconds=12.5, isolation="bwrap")


def test_a_stored_result_reads_back_identical(tmp_path):
    original = _result()
    reporters.write(original, "result", str(tmp_path / "r.json"))
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["schema"] == results.SCHEMA and data["version"] == results.VERSION
    again = stored.read(tmp_path / "r.json")
    assert again == original and again.score == 13 and again.max_score == 35


@pytest.mark.parametrize("change, words", [
    (lambda d: d.update(schema="other"), "not a stored autograder result"),
    (lambda d: d.update(version=99), "version 99"),
    (lambda d: d.pop("checks"), "incomplete"),
    (lambda d: d["checks"][0]["tests"][0].update(status="won"), "passed, failed or skipped"),
])
def test_anything_else_is_refused_in_one_sentence(change, words):
    data = results.to_dict(_result())
    change(data)
    with pytest.raises(ValueError, match=words):
        results.from_dict(data)


def test_nothing_to_grade_is_a_result_like_any_other():
    loaded = rubric.load()
    zero = results.nothing_to_grade(loaded, "empty", "no lab6_generative/ folder")
    assert zero.score == 0 and zero.max_score == loaded.total == 100
    assert [c.id for c in zero.checks] == [c.id for c in loaded.checks]
    assert all(c.first_failure == "no lab6_generative/ folder" for c in zero.checks)
    from autograder.reporters import classroom50, gradescope

    assert gradescope.to_dict(zero)["score"] == 0 and classroom50.to_dict(zero, env={})["max-score"] == 100


def test_merge_replaces_one_check_and_its_internal_errors():
    base = _result()
    fixed = dataclasses.replace(base.checks[1], tests=[TestResult("Reproducibility", "determinism", 10, "passed")])
    partial = Result("subm", 100, [fixed])
    merged = results.merge(base, partial, "determinism")
    assert merged.checks[0] == base.checks[0] and merged.checks[1] == fixed
    assert merged.score == 23 and merged.internal_errors == []


def test_one_finder_for_every_entry_point(tmp_path):
    (tmp_path / "repo" / "inner" / "lab6_generative").mkdir(parents=True)
    (tmp_path / ".hidden" / "lab6_generative").mkdir(parents=True)
    os.symlink(ROOT / "solutions", tmp_path / "link")
    assert find_package(str(ROOT / "solutions")) == str(ROOT / "solutions")
    assert find_package(str(tmp_path)) is None
    assert find_package(str(tmp_path), max_depth=1) is None      # links and hidden folders are never entered
    assert find_package(str(tmp_path), max_depth=2) == str(tmp_path / "repo" / "inner")


@pytest.mark.slow
def test_a_new_platform_is_one_registered_reporter(tmp_path, capsys):
    """A toy reporter, registered by name, is reachable from the command line with no other change."""
    seen = []

    @reporters.register("toy")
    def write_toy(result, destination):
        """A toy format."""
        seen.append(destination)
        with open(destination, "w") as f:
            f.write(f"{result.score}/{result.max_score}\n")

    try:
        code = cli.main(["grade", str(ROOT / "solutions"), "--only", "warmup", "--results", os.devnull,
                         "--report", f"toy={tmp_path / 'toy.txt'}", "--report", f"result={tmp_path / 'r.json'}"])
        assert code == 0 and seen == [str(tmp_path / "toy.txt")]
        assert (tmp_path / "toy.txt").read_text() == "15/15\n"
        assert stored.read(tmp_path / "r.json").score == 15
        assert "toy" in reporters.names() and "warmup" in capsys.readouterr().out
    finally:
        reporters.REGISTRY.pop("toy", None)


def test_an_unknown_reporter_is_one_line_before_any_grading(capsys):
    assert cli.main(["grade", str(ROOT / "solutions"), "--report", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert "no reporter 'nosuch'; the reporters are: classroom50, console, github, gradescope" in err
    assert len(err.strip().splitlines()) == 1


def test_a_report_without_its_destination_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["grade", str(ROOT / "solutions"), "--report", "gradescope="])
    assert exit_.value.code == 2 and "expected NAME or NAME=DESTINATION" in capsys.readouterr().err


def test_old_flags_are_aliases_of_reports():
    args = cli.build_parser().parse_args(["grade", "x", "--results", "a.json", "--classroom50", "b.json", "--github"])
    assert cli.report_list(args) == [("console", None), ("classroom50", "b.json"), ("github", None),
                                     ("gradescope", "a.json")]
    plain = cli.build_parser().parse_args(["grade", "x"])
    assert cli.report_list(plain) == [("console", None), ("gradescope", None)]
