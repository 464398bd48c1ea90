"""Correct alternatives earn full marks; realistic bugs lose points in their own check.

Submissions are built from autograder/audit/catalogues/*.yml (see tests/support/submissions.py).
Bugs are graded with only the check they belong to, and every worker is forked from one
template process per sandbox (the ``template_for`` fixture, as in ``grade-all``), which keeps this fast.

Each entry is graded once, under the two sandboxes in turn (by its place in the catalogue), so that
both sandboxes grade correct and buggy code of every function; that a grade does not depend on how
its worker started or which box it runs in is tested where that is the subject
(test_template_process.py, test_sandbox.py, test_hostile.py).
"""
import pytest

from autograder import rubric
from autograder.grading.engine import grade
from support.submissions import build_submission, failures, load

pytestmark = pytest.mark.slow

ALTERNATIVES = load("alternatives")
BUGS = load("bugs")
RUBRIC = rubric.load()


MECHANISMS = ("bwrap", "landlock")


def in_turn(entries, name):
    """``(mechanism, entry)`` parameters, the sandboxes taken in turn, with readable ids."""
    return [pytest.param(MECHANISMS[i % 2], entry, id=f"{MECHANISMS[i % 2]}-{name(entry)}")
            for i, entry in enumerate(entries)]


def test_both_sandboxes_grade_alternatives_and_bugs_of_every_function():
    for entries, function_of in ((in_turn(sorted(ALTERNATIVES), str), lambda p: set(ALTERNATIVES[p.values[1]])),
                                 (in_turn(BUGS, lambda b: b["name"]), lambda p: {p.values[1]["function"]})):
        for mechanism in MECHANISMS:
            covered = set().union(*(function_of(p) for p in entries if p.values[0] == mechanism))
            assert covered == {"reparameterize", "kl_divergence", "kl_warmup"}, (mechanism, covered)


@pytest.mark.parametrize("mechanism, name", in_turn(sorted(ALTERNATIVES), str))
def test_correct_alternatives_earn_100(tmp_path, monkeypatch, mechanism, name, template_for):
    monkeypatch.setenv("AUTOGRADER_SANDBOX", mechanism)
    result = grade(str(build_submission(tmp_path, ALTERNATIVES[name])), RUBRIC, template=template_for(mechanism))
    lost = [f"{t.check_id}: {t.name}: {t.message}" for t in result.tests if t.status != "passed"]
    assert result.score == 100, "\n".join(lost)


def test_there_are_at_least_fifteen_bugs_covering_every_student_function():
    assert len(BUGS) >= 15 and len({b["name"] for b in BUGS}) == len(BUGS)
    assert {b["function"] for b in BUGS} == {"reparameterize", "kl_divergence", "kl_warmup"}
    assert {b["check"] for b in BUGS} >= {"shapes", "reparameterization", "kl_analytic", "loss_reduction",
                                          "warmup", "determinism"}


def test_the_catalogue_names_its_checks_and_keys():
    checks = {c.id for c in RUBRIC.checks}
    for bug in BUGS:
        assert bug["check"] in checks, bug["name"]
        assert set(bug) <= {"name", "function", "check", "expect", "reject", "failing_tests", "body"}, bug["name"]
        assert all(isinstance(p, str) and p for p in bug.get("reject", [])), bug["name"]


@pytest.mark.parametrize("mechanism, bug", in_turn(BUGS, lambda b: b["name"]))
def test_each_bug_loses_points_in_its_check_with_a_helpful_message(tmp_path, monkeypatch, mechanism, bug,
                                                                    template_for):
    """The check takes points off, and its first failure (what every report shows) names the mistake."""
    monkeypatch.setenv("AUTOGRADER_SANDBOX", mechanism)
    submission = build_submission(tmp_path, {bug["function"]: bug["body"]})
    result = grade(str(submission), RUBRIC, only=bug["check"], template=template_for(mechanism))
    (check,) = result.checks
    assert check.score < check.points, f"{bug['name']} earned all {check.points} points of {bug['check']}"
    assert bug["expect"].lower() in check.first_failure.lower(), failures(result)
    for phrase in bug.get("reject", []):
        assert phrase.lower() not in failures(result), f"a wrong diagnosis, {phrase!r}: {failures(result)}"
    if "failing_tests" in bug:
        failed = [t.name for t in check.tests if t.status != "passed"]
        assert len(failed) == bug["failing_tests"], f"charged {len(failed)} times: {failed}"
    assert not result.internal_errors
    # a realistic mistake is the student's: a wrong answer, an exception, a value the grader refuses; the
    # first failure a check's verdict; never a time-out, a crash, a test not run or the grader's fault
    reasons = [t.reason for t in check.tests if t.status != "passed"]
    assert set(reasons) <= {"wrong", "raised", "bad_result"} and reasons[0] in ("wrong", "bad_result"), reasons


def test_one_mistake_gets_one_diagnosis_in_every_check(tmp_path, monkeypatch):
    """z = mu + eps * logvar once had four diagnoses (uniform, shared, the same z twice, unseeded): every
    failure of every check now says what it is, and it costs the checks of the sampling alone."""
    monkeypatch.setenv("AUTOGRADER_SANDBOX", "bwrap")
    bug = next(b for b in BUGS if b["name"] == "reparameterize_noise_scaled_by_logvar")
    result = grade(str(build_submission(tmp_path, {bug["function"]: bug["body"]})), RUBRIC)
    failed = [t for t in result.tests if t.status != "passed"]
    assert failed and {t.check_id for t in failed} == {"reparameterization"}, [(t.check_id, t.message) for t in failed]
    assert all(t.message.startswith("it uses std = logvar: ") for t in failed), [t.message for t in failed]
