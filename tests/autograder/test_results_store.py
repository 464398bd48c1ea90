"""The Result as the storage format, the zero report, --only merges, one package finder, the reporter registry."""
import dataclasses
import json
import os

import pytest

from autograder import cli, reporters, results, rubric
from autograder.reporters import result as stored
from autograder.results import CheckResult, InternalError, Result, TestResult
from autograder.submission import find_package
from support import ROOT


def _result():
    kl = CheckResult("kl_analytic", "The analytic KL divergence", 25, "public", [
        TestResult("closed form", "kl_analytic", 13, "passed", seconds=0.25),
        TestResult("known values", "kl_analytic", 12, "failed", "the sign is flipped ✗", seconds=0.5,
                   reason="wrong")])
    det = CheckResult("determinism", "Reproducibility under a seed", 10, "hidden", [
        TestResult("Reproducibility", "determinism", 10, "skipped", "hidden check: not run")], seconds=1.5)
    return Result("subm", 100, [kl, det], output="printed\n", notes=["a note"],
                  internal_errors=[InternalError("determinism", "test_determinism.py::x: boom"),
                                   InternalError(None, "pytest could not run the checks (exit code 3)")],
                  seconds=12.5, isolation="bwrap")


def test_a_stored_result_reads_back_identical(tmp_path):
    original = _result()
    reporters.write(original, "result", str(tmp_path / "r.json"))
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["schema"] == results.SCHEMA and data["version"] == results.VERSION
    again = stored.read(tmp_path / "r.json")
    assert again == original and again.score == 13 and again.max_score == 35
    assert [t["reason"] for c in data["checks"] for t in c["tests"]] == ["passed", "wrong", "not_run"]
    assert data["internal_errors"][0] == {"check": "determinism", "message": "test_determinism.py::x: boom"}
    assert data["internal_errors"][1]["check"] is None
    assert [str(e) for e in again.internal_errors] == ["test_determinism.py::x: boom",
                                                       "pytest could not run the checks (exit code 3)"]


@pytest.mark.parametrize("change, words", [
    (lambda d: d.update(schema="other"), "not a stored autograder result"),
    (lambda d: d.update(version=99), "version 99"),
    (lambda d: d.pop("checks"), "incomplete"),
    (lambda d: d["checks"][0]["tests"][0].update(status="won"), "passed, failed or skipped"),
    (lambda d: d["checks"][0]["tests"][1].update(reason="unlucky"), "reason 'unlucky' is not one of"),
    (lambda d: d["checks"][0]["tests"][1].pop("reason"), "incomplete"),
    (lambda d: d["checks"][0]["tests"][1].update(reason="passed"), "does not agree with its status 'failed'"),
    (lambda d: d["checks"][0]["tests"][0].update(reason="wrong"), "does not agree with its status 'passed'"),
    (lambda d: d["checks"][1]["tests"][0].update(reason="timeout"), "does not agree with its status 'skipped'"),
    (lambda d: d.update(internal_errors=["boom"]), "an internal error is not an object"),
    (lambda d: d.update(internal_errors=[{"check": 3, "message": "boom"}]), "an internal error is not an object"),
])
def test_anything_else_is_refused_in_one_sentence(change, words):
    data = results.to_dict(_result())
    change(data)
    with pytest.raises(ValueError, match=words):
        results.from_dict(data)


def test_a_version_1_result_is_refused_as_an_older_graders_in_one_sentence():
    """What grade-all stored before reasons existed: refused (resume then grades the student again)."""
    data = results.to_dict(_result())
    data["version"] = 1
    data["internal_errors"] = []
    for check in data["checks"]:
        for test in check["tests"]:
            test.pop("reason")
    with pytest.raises(ValueError) as refused:
        results.from_dict(data)
    message = str(refused.value)
    assert "version 1 was written by an older grader" in message and "the next grade-all grades it again" in message
    assert message.count(". ") == 0 and "\n" not in message


def test_a_failed_test_must_say_why():
    with pytest.raises(ValueError, match="give its reason"):
        TestResult("t", "c", 1, "failed", "no")
    assert TestResult("t", "c", 1, "passed").reason == "passed"
    assert TestResult("t", "c", 1, "skipped", "hidden").reason == "not_run"
    with pytest.raises(ValueError, match="not one of"):
        TestResult("t", "c", 1, "failed", "no", reason="bad luck")


def test_a_result_with_internal_errors_as_text_is_not_stored():
    broken = dataclasses.replace(_result(), internal_errors=["boom"])
    with pytest.raises(TypeError, match="InternalError"):
        results.to_dict(broken)


def test_nothing_to_grade_is_a_result_like_any_other():
    loaded = rubric.load()
    zero = results.nothing_to_grade(loaded, "empty", "no lab6_generative/ folder")
    assert zero.score == 0 and zero.max_score == loaded.total == 100
    assert [c.id for c in zero.checks] == [c.id for c in loaded.checks]
    assert all(c.first_failure == "no lab6_generative/ folder" for c in zero.checks)
    assert {t.reason for t in zero.tests} == {"not_run"} and zero.internal_errors == []
    from autograder.reporters import classroom50, gradescope

    assert gradescope.to_dict(zero)["score"] == 0 and classroom50.to_dict(zero, env={})["max-score"] == 100


def test_merge_replaces_one_check_and_its_internal_errors():
    base = _result()
    fixed = dataclasses.replace(base.checks[1], tests=[TestResult("Reproducibility", "determinism", 10, "passed")])
    partial = Result("subm", 100, [fixed])
    merged = results.merge(base, partial, "determinism")
    assert merged.checks[0] == base.checks[0] and merged.checks[1] == fixed
    assert merged.score == 23 and merged.internal_errors == [base.internal_errors[1]]   # the whole run's stays


def test_merge_drops_internal_errors_by_their_check_never_by_their_words():
    """An error of another check that names test_determinism.py stays; one of determinism's that does not
    name it goes; the regrade's own errors come in."""
    base = dataclasses.replace(_result(), internal_errors=[
        InternalError("kl_analytic", "test_kl_analytic.py::x: compares with test_determinism.py's 'determinism'"),
        InternalError("determinism", "the grader did not run a test"),
        InternalError(None, "check 'determinism': a whole-run error")])
    again = InternalError("determinism", "test_determinism.py::y: still broken")
    partial = Result("subm", 100, [base.checks[1]], internal_errors=[again])
    merged = results.merge(base, partial, "determinism")
    assert merged.internal_errors == [base.internal_errors[0], base.internal_errors[2], again]


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
        code = cli.main(["grade", str(ROOT / "solutions"), "--only", "warmup", "--report", "gradescope=" + os.devnull,
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


def test_old_flags_are_aliases_of_reports_and_say_their_new_spelling(capsys, tmp_path):
    """--results, --classroom50, --github still work (for one release), each with one line on stderr."""
    code = cli.main(["grade", str(tmp_path / "nowhere"), "--results", "a.json", "--classroom50", "b.json", "--github"])
    err = capsys.readouterr().err.splitlines()
    assert code == 2 and err[:3] == [
        "note: --results a.json is now --report gradescope=a.json; the old spelling goes in the next release",
        "note: --classroom50 b.json is now --report classroom50=b.json; the old spelling goes in the next release",
        "note: --github is now --report github; the old spelling goes in the next release"], err
    assert cli.main(["grade", str(tmp_path / "nowhere"), "--report", "gradescope=a.json"]) == 2
    assert "note:" not in capsys.readouterr().err
    help_text = cli.build_parser().commands["grade"].format_help()
    assert "--report" in help_text and "--results" not in help_text and "--github" not in help_text


def test_old_flags_are_aliases_of_reports():
    args = cli.build_parser().parse_args(["grade", "x", "--results", "a.json", "--classroom50", "b.json", "--github"])
    assert cli.report_list(args) == [("console", None), ("classroom50", "b.json"), ("github", None),
                                     ("gradescope", "a.json")]
    plain = cli.build_parser().parse_args(["grade", "x"])
    assert cli.report_list(plain) == [("console", None), ("gradescope", None)]
