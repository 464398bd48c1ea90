"""Every registered reporter on one hand-made Result, into files; what reporters/__init__.py says for all."""
import dataclasses
import json
import os

import pytest

from autograder import files, reporters
from autograder.errors import UsageError
from autograder.reporters import result as stored
from autograder.results import CheckResult, InternalError, Result, TestResult


def _result(hidden_status="failed", internal_errors=()):
    """28 of 50 points when every check ran: kl 13/25, warmup 15/15, determinism 0/10 (hidden)."""
    kl = CheckResult("kl_analytic", "The analytic KL divergence", 25, "public", [
        TestResult("closed form", "kl_analytic", 13, "passed", seconds=0.2),
        TestResult("known values", "kl_analytic", 12, "failed", "the sign is flipped", seconds=0.1, reason="wrong")])
    warm = CheckResult("warmup", "The KL warm-up schedule", 15, "public", [
        TestResult("linear", "warmup", 15, "passed")])
    det = CheckResult("determinism", "Reproducibility under a seed", 10, "hidden", [
        TestResult("same seed", "determinism", 10, hidden_status,
                   "" if hidden_status == "passed" else f"determinism {hidden_status}",
                   reason="wrong" if hidden_status == "failed" else None)])
    return Result("submissions/ana", 100, [kl, warm, det], output="printed by ana\n", notes=["a note"],
                  internal_errors=list(internal_errors), seconds=4.0, isolation="bwrap")


def _passed(result, check, test):
    """Make test ``test`` of check ``check`` of ``result`` a pass (status and reason agreeing)."""
    tests = result.checks[check].tests
    tests[test] = dataclasses.replace(tests[test], status="passed", message="", reason="passed")


@pytest.fixture
def no_ci_environment(monkeypatch):
    """Reporters read CI variables (GitHub's, Classroom 50's): none of the outer run's reach these tests."""
    for name in list(os.environ):
        if name.startswith(("GITHUB_", "RUNNER_")) or name in ("CLASSROOM", "ASSIGNMENT", "SUBMISSION_TAG",
                                                                 "COMMIT_URL", "RELEASE_URL", "REVIEW_URL"):
            monkeypatch.delenv(name)


def test_the_registry_has_every_documented_reporter():
    assert set(reporters.names()) >= {"console", "gradescope", "classroom50", "github", "result"}
    for name in reporters.names():
        reporter = reporters.get(name)
        assert reporter.name == name and callable(reporter.write)
        assert f"\n    {name} " in reporters.__doc__, f"reporter {name!r} is listed in reporters/__init__.py"
    assert reporters.get("gradescope").default == "results.json"
    assert reporters.get("result").default == "autograder-result.json"


def test_an_unknown_reporter_is_a_usage_error_naming_the_known_ones():
    with pytest.raises(UsageError) as err:
        reporters.get("pdf")
    assert "no reporter 'pdf'" in str(err.value) and "console, " in str(err.value)


# What each reporter's file must say about _result(); a reporter added later is held to the generic part.
def _console(path):
    text = path.read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("  ")]
    assert rows == ["  check         points  first failure", "  kl_analytic    13/25  the sign is flipped",
                    "  warmup         15/15", "  determinism     0/10  determinism failed", "  total          28/50"]
    assert text.rstrip("\n").endswith("Not passed yet: kl_analytic (13/25), determinism (0/10). "
                                      "Start with the first failure of each, above.")


def _gradescope(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["score"] == 28 and [t["score"] for t in data["tests"]] == [13, 0, 15, 0]
    assert [t["max_score"] for t in data["tests"]] == [13, 12, 15, 10]


def _classroom50(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    assert (data["score"], data["max-score"]) == (28, 50) and "classroom" not in data
    assert [(t["test-name"], t["passed"]) for t in data["tests"]] == \
        [("kl_analytic", False), ("warmup", True), ("determinism", False)]


def _github(path):
    md = path.read_text(encoding="utf-8")
    assert md.startswith("## Lab 6 autograder: 28 / 50\n")
    assert "| The analytic KL divergence (`kl_analytic`) | 13 / 25 | the sign is flipped |" in md
    assert md.rstrip().endswith("**Points were lost: start with the first failure of each check.**")


def _stored(path):
    assert stored.read(path) == _result()


EXPECTED = {"console": _console, "gradescope": _gradescope, "classroom50": _classroom50, "github": _github,
            "result": _stored}


@pytest.mark.parametrize("name", reporters.names())
def test_every_registered_reporter_writes_its_file(tmp_path, capsys, no_ci_environment, name):
    path = tmp_path / "out" / name
    path.parent.mkdir()
    reporters.write(_result(), name, str(path))
    assert path.read_bytes().decode("utf-8").strip(), "a file of valid UTF-8 (strict), not empty"
    assert sorted(os.listdir(path.parent)) == [name], "no temporary file left behind"
    EXPECTED.get(name, lambda p: None)(path)
    if name == "github":  # the annotations go to stdout, one per failed test
        out = capsys.readouterr().out.splitlines()
        assert out == ["::error title=kl_analytic%3A known values::the sign is flipped",
                       "::error title=determinism%3A same seed::determinism failed"]


def test_writing_twice_replaces_a_stored_result(tmp_path):
    path = tmp_path / "r.json"
    reporters.write(_result(), "result", str(path))
    reporters.write(_result(hidden_status="passed"), "result", str(path))
    assert stored.read(path).score == 38


# ---------------------------------------------------------------------------------------------
# What every reporter says the same way (reporters/__init__.py)
# ---------------------------------------------------------------------------------------------

def test_score_text_when_every_check_ran():
    assert reporters.score_text(_result()) == "28/50"
    assert reporters.score_text(_result(), slash=" / ") == "28 / 50"


def test_score_text_without_the_hidden_checks_counts_what_ran_only():
    result = _result(hidden_status="skipped")
    assert [c.id for c in reporters.ran(result)] == ["kl_analytic", "warmup"]
    assert [c.id for c in reporters.not_run(result)] == ["determinism"]
    assert reporters.score_text(result) == ("public checks 28/40; the hidden checks (10 points) "
                                            "are graded by your instructor")


def test_score_text_names_checks_that_ran_when_some_ran_hidden():
    result = _result()
    result.checks.append(CheckResult("secret", "Secret", 5, "hidden", [
        TestResult("s", "secret", 5, "skipped", "hidden check: not run")]))
    assert reporters.score_text(result) == ("checks that ran 28/50; the hidden checks (5 points) "
                                            "are graded by your instructor")


def test_score_text_when_a_public_check_did_not_run():
    result = _result()
    for check in result.checks[:2]:
        check.tests = [TestResult(t.name, t.check_id, t.max_score, "skipped", "--only") for t in check.tests]
    assert reporters.score_text(result) == "checks that ran 0/10; 2 checks (40 points) did not run here"
    _passed(result, 1, 0)
    assert reporters.score_text(result) == "checks that ran 15/25; 1 check (25 points) did not run here"


def test_everything_passed_means_nothing_that_ran_lost_a_point():
    assert not reporters.everything_passed(_result())
    full = _result(hidden_status="passed")
    _passed(full, 0, 1)
    assert reporters.everything_passed(full) and full.score == full.max_score == 50
    skipped = _result(hidden_status="skipped")
    _passed(skipped, 0, 1)
    assert reporters.everything_passed(skipped), "a hidden check that did not run is not a lost point"
    full.internal_errors.append(InternalError(None, "boom"))
    assert not reporters.everything_passed(full), "an internal error is never a pass"


def test_everything_passed_counts_the_attached_public_tests():
    full = _result(hidden_status="passed")
    _passed(full, 0, 1)
    full.public_tests = type("Public", (), {"passed": False})()
    assert not reporters.everything_passed(full)
    full.public_tests.passed = True
    assert reporters.everything_passed(full)


def test_first_failures_gives_each_check_that_ran_its_first_failing_test():
    result = _result()
    result.checks[0].tests.append(TestResult("later", "kl_analytic", 0, "failed", "second", reason="wrong"))
    assert [(c.id, t.name) for c, t in reporters.first_failures(result)] == \
        [("kl_analytic", "known values"), ("determinism", "same seed")]
    assert [c.id for c, _ in reporters.first_failures(_result(hidden_status="skipped"))] == ["kl_analytic"]


def test_write_text_is_atomic_valid_utf8_and_makes_its_folder(tmp_path):
    path = tmp_path / "a" / "b" / "out.txt"
    reporters.write_text(path, "caf\udce9 \u2713\n")
    assert path.read_bytes() == "caf\ufffd \u2713\n".encode("utf-8")
    assert os.listdir(path.parent) == ["out.txt"]
    reporters.write_text(str(path), "a,b\r\n", newline="")
    assert path.read_bytes() == b"a,b\r\n"


def test_write_text_leaves_no_partial_file_when_the_rename_fails(tmp_path, monkeypatch):
    path = tmp_path / "out.txt"
    path.write_text("old")

    def fail(src, dst):
        assert open(src, encoding="utf-8").read() == "new", "the whole text is written before the rename"
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", fail)   # the rename of files.atomic, behind reporters.write_text
    with pytest.raises(OSError, match="disk full"):
        reporters.write_text(path, "new")
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["out.txt"], "old file kept, no .tmp left"


def test_write_text_to_a_device_writes_in_place():
    reporters.write_text(os.devnull, "discarded")
    assert os.path.exists(os.devnull) and not os.path.isfile(os.devnull), "/dev/null is still a device"


def test_write_json_keeps_unicode_and_ends_with_a_newline(tmp_path):
    reporters.write_json(tmp_path / "x.json", {"name": "Zo\u00eb \udce9", "n": [1, 2]})
    raw = (tmp_path / "x.json").read_bytes()
    assert raw.endswith(b"}\n") and "Zo\u00eb \ufffd".encode() in raw and json.loads(raw)["n"] == [1, 2]
