"""The Result model (autograder/results.py): whole-point shares, statuses, storage and --only merges."""
import dataclasses
import json

import pytest

from autograder import results, rubric
from autograder.results import CheckResult, InternalError, Result, TestResult


def _check(check_id, points, *statuses, visibility="public"):
    """A check whose tests end as ``statuses``: a failed one for a wrong answer (reason ``wrong``)."""
    shares = results.split_points(points, len(statuses))
    return CheckResult(check_id, check_id.title(), points, visibility,
                       [TestResult(f"t{i}", check_id, share, status, "" if status == "passed" else f"{check_id} {i}",
                                   reason="wrong" if status == "failed" else None)
                        for i, (share, status) in enumerate(zip(shares, statuses))])


@pytest.mark.parametrize("points, n, shares", [
    (25, 6, [5, 4, 4, 4, 4, 4]), (10, 3, [4, 3, 3]), (5, 3, [2, 2, 1]), (3, 5, [1, 1, 1, 0, 0]),
    (20, 1, [20]), (7, 0, []), (7, -1, []),
])
def test_split_points_gives_the_remainder_to_the_first_tests(points, n, shares):
    assert results.split_points(points, n) == shares


def test_a_check_scores_its_passed_tests_and_says_its_status():
    assert _check("kl", 25, "passed", "passed").status == "passed"
    half = _check("kl", 25, "passed", "failed")
    assert half.score == 13 and half.status == "failed" and half.first_failure == "kl 1"
    skipped = _check("det", 10, "skipped", "skipped")
    assert skipped.status == "skipped" and skipped.score == 0 and skipped.first_failure == "det 0"
    assert _check("det", 10, "passed", "skipped").status == "failed", "partly skipped is not skipped"
    empty = CheckResult("none", "None", 5, "public", [])
    assert empty.status == "failed" and empty.score == 0 and empty.first_failure == ""


def test_a_result_adds_up_its_checks():
    result = Result("s", 100, [_check("kl", 25, "passed", "failed"), _check("warm", 15, "passed"),
                               _check("det", 10, "skipped", visibility="hidden")])
    assert (result.score, result.max_score, result.total) == (28, 50, 100)
    assert [t.name for t in result.tests] == ["t0", "t1", "t0", "t0"]
    assert [t.score for t in result.tests] == [13, 0, 15, 0]


def test_clip_cleans_and_cuts_in_the_middle():
    assert results.clip(None) == "" and results.clip("a\x00b") == "a\u2400b"
    cut = results.clip("HEAD " + "x" * 5000 + " TAIL", 100)
    assert len(cut) <= 100 and cut.startswith("HEAD ") and cut.endswith(" TAIL") and "chars cut" in cut
    assert results.MESSAGE_LIMIT - 5 <= len(results.clip("y" * 10_000)) <= results.MESSAGE_LIMIT


def _stored():
    return Result("subm", 100, [_check("kl", 25, "passed", "failed"), _check("det", 10, "skipped")],
                  output="out ✓\n", notes=["n1"], internal_errors=[InternalError("det", "test_det.py::x: boom")],
                  seconds=2.5,
                  isolation="landlock")


def test_to_dict_is_json_and_from_dict_reads_it_back_equal():
    data = json.loads(json.dumps(results.to_dict(_stored())))
    assert data["schema"] == "lab6-autograder/result" and data["version"] == results.VERSION == 2
    assert "score" not in data, "scores follow from the statuses, they are not stored"
    assert [t["reason"] for t in data["checks"][0]["tests"]] == ["passed", "wrong"]
    assert data["internal_errors"] == [{"check": "det", "message": "test_det.py::x: boom"}]
    again = results.from_dict(data)
    assert again == _stored() and again.score == 13 and again.isolation == "landlock"
    assert [t.reason for t in again.tests] == ["passed", "wrong", "not_run"]


def test_from_dict_fills_optional_fields_with_their_defaults():
    data = results.to_dict(_stored())
    for key in ("output", "notes", "internal_errors", "seconds", "isolation"):
        data.pop(key)
    for check in data["checks"]:
        check.pop("seconds")
        for test in check["tests"]:
            test.pop("message")
            test.pop("seconds")
    again = results.from_dict(data)
    assert (again.output, again.notes, again.internal_errors, again.seconds, again.isolation) == \
        ("", [], [], 0.0, "none")
    assert again.checks[0].tests[1].message == "" and again.score == 13


@pytest.mark.parametrize("data, words", [
    ([], "not a stored autograder result"),
    ({"schema": "lab6-autograder/result"}, "version None"),
    ({"schema": "lab6-autograder/result", "version": 1}, "version 1 was written by an older grader"),
    ({"schema": "lab6-autograder/result", "version": 2, "submission": "s", "total": 1}, "incomplete or malformed"),
    ({"schema": "lab6-autograder/result", "version": 2, "submission": "s", "total": 1, "checks": [{"id": "x"}]},
     "KeyError"),
    ({"schema": "lab6-autograder/result", "version": 2, "submission": "s", "total": 1, "checks": 5}, "TypeError"),
])
def test_from_dict_refuses_anything_else_in_one_sentence(data, words):
    with pytest.raises(ValueError) as err:
        results.from_dict(data)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_nothing_to_grade_fails_every_check_with_the_message_and_claims_no_sandbox():
    loaded = rubric.load()
    zero = results.nothing_to_grade(loaded, "/x/ana", "no package")
    assert zero.submission == "/x/ana" and zero.isolation == results.NOT_RUN == "" and zero.notes == ["no package"]
    assert [(c.id, c.points, c.status, c.first_failure) for c in zero.checks] == \
        [(c.id, c.points, "failed", "no package") for c in loaded.checks]
    assert zero.score == 0 and zero.max_score == 100


def test_merge_takes_one_check_from_the_regrade_and_keeps_the_others_errors():
    base = dataclasses.replace(_stored(), internal_errors=[
        InternalError("det", "test_det.py::x: boom"), InternalError("det", "check 'det' timed out"),
        InternalError("kl", "test_kl.py::y: other"), InternalError(None, "a grader-wide problem")])
    regraded = _check("det", 10, "passed")
    partial = Result("subm", 100, [regraded], internal_errors=[InternalError("det", "check 'det': new problem")])
    merged = results.merge(base, partial, "det")
    assert [c.id for c in merged.checks] == ["kl", "det"] and merged.checks[1] is regraded
    assert merged.score == 23 and merged.output == base.output and merged.isolation == "landlock"
    assert [(e.check, str(e)) for e in merged.internal_errors] == \
        [("kl", "test_kl.py::y: other"), (None, "a grader-wide problem"), ("det", "check 'det': new problem")]
    assert base.checks[1].status == "skipped", "the base Result is not changed"


def test_merge_appends_a_check_the_base_did_not_have():
    base = Result("subm", 100, [_check("kl", 25, "passed")])
    merged = results.merge(base, Result("subm", 100, [_check("kl", 25, "failed"), _check("new", 5, "passed")]),
                           "new")
    assert [c.id for c in merged.checks] == ["kl", "new"] and merged.score == 30
