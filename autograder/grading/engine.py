"""Grade one submission: rubric + submission -> pytest over the check files -> Result.

The check files run under pytest *in the grading process*; they never import
the student's code.  Their ``worker`` fixture (autograder/checks/conftest.py)
is a ``session.CheckHandle`` supplied by the ``Collector`` plugin
(``grading/collector.py``), which also records every test's outcome.  The
engine then turns outcomes into points with ``results.split_points``.

    from autograder.grading.engine import grade
    result = grade("solutions")            # -> results.Result
"""
import os
import sys
import time

from autograder import errors, facts, rubric as rubric_mod, sandbox
from autograder.sandbox import safefs
from autograder.results import (REASONS, CheckResult, InternalError, Result, TestResult, clip, nothing_to_grade,
                                split_points)
from autograder.grading.session import Session
from autograder.text import clean, one_line
from autograder.submission import require_package

def failure(exc):
    """(message, reason) for an exception a test ended with: the student-facing message and why, as
    ``results.REASONS`` names it.

    An ``errors.GradingFailure`` carries its reason; a failed assertion of a check is ``wrong``;
    hypothesis' FlakyFailure and exception groups are their first inner exception's; anything else
    is the grader's (``internal``).
    """
    if isinstance(exc, errors.GradingFailure):
        return str(exc), (exc.reason if exc.reason in REASONS else "internal")
    if isinstance(exc, AssertionError):
        text = str(exc).split("\nassert ")[0].strip()  # drop pytest's introspection, if any
        return text or "a check failed", "wrong"
    inner = getattr(exc, "exceptions", None)  # hypothesis' FlakyFailure and exception groups
    if inner:
        text, reason = failure(inner[0])
        if type(exc).__name__.startswith("Flaky"):
            text = ("your code gave different results for the same inputs when called again "
                    f"(an unseeded random generator?): {text}")
        return text, reason
    return f"internal error in the grader: {type(exc).__name__}: {clean(str(exc), 1000)}", "internal"


def version_note(running):
    """A note for the Result when the checks ran under another hypothesis than the course pins, else None.

    A derandomized run tries the same examples only under the same release: a student whose
    environment has another one (a template made before the pin, a hand-made install) may get
    another grade here than from the instructor's grader.
    """
    if running == facts.HYPOTHESIS_VERSION:
        return None
    return (f"The checks ran under hypothesis {one_line(str(running), 40)}, not {facts.HYPOTHESIS_VERSION} as the "
            "course pins, so they may have tried other inputs than your instructor's grader does: install the "
            "grader's requirements again (in the student repository: bash ci/grade.sh install).")


def grade(submission, rubric=None, *, checks_dirs=(), public_only=False, only=None, isolation=None,
          template=None):
    """Grade ``submission`` (a folder containing lab6_generative/) and return a Result.

    Args:
        rubric: a loaded ``rubric.Rubric`` (default: grading.yml at the repository root).
        checks_dirs: folders searched for check files before autograder/checks/.
        public_only: do not run hidden checks (they are reported as skipped).
        only: a check id: grade just that check.
        isolation: the sandbox ("bwrap", "landlock", "none" or "auto"); default:
            $AUTOGRADER_SANDBOX, else the strongest this machine supports.
        template: a ``template.Template`` of that sandbox, to fork the workers from
            (the pool's grading processes have one); None: the first worker starts from
            nothing, and after a restart the session forks from a template of its own;
            False: every worker starts from nothing.

    Raises:
        errors.UsageError: the submission folder or the rubric is unusable, or the
            requested sandbox does not work here.
    """
    started = time.monotonic()
    rubric = rubric or rubric_mod.load()
    require_package(submission)
    mechanism = sandbox.choose(isolation)
    sandbox.harden_grader()
    files = rubric_mod.locate(rubric, checks_dirs)
    try:  # the package is hostile data: within the rubric's limits before the box copies it
        special = [(e.rel, e.kind) for e in safefs.walk(os.path.join(str(submission), sandbox.PACKAGE),
                                                         rubric.limits) if e.special]
    except safefs.TooLarge as err:
        return nothing_to_grade(rubric, submission, f"not graded: {err.reason}")
    except OSError as err:
        return nothing_to_grade(rubric, submission, "not graded: the package folder could not be read "
                                f"({safefs.shown(str(err), 200)})")
    selected = [rubric.check(only)] if only else list(rubric.checks)
    skipped, to_run = {}, {}
    for check in selected:
        if check.hidden and public_only:
            skipped[check.id] = "hidden check: not run here; your instructor's grader runs it"
        elif files[check.id] is None:
            skipped[check.id] = ("hidden check: its test file is not available here; "
                                 "the course autograder runs it")
        else:
            to_run[os.path.abspath(files[check.id])] = check

    if template and template.mechanism != mechanism:
        template = None
    session = Session(submission, rubric.limits, mechanism, template)
    if to_run:
        # The worker imports torch while this process verifies the sandbox, imports pytest and loads
        # the checks; it runs no student code before the first check asks it to import the submission.
        session.start()
    try:
        # Once per process: a worker started exactly as below, confined, every escape refused.  Its worker
        # starts now; pytest is imported while it confines itself.
        with sandbox.Verification(mechanism, rubric.limits) as verification:
            from autograder.grading import collector as collector_mod

            try:
                verification.wait()
            except sandbox.SandboxBroken as err:
                return not_graded(rubric, submission, f"the grader could not start its sandbox: {err}", mechanism,
                                  time.monotonic() - started)

        collector = collector_mod.Collector(session, to_run)
        code = collector_mod.run_pytest(list(to_run), collector) if to_run else 0
    finally:
        session.close()
    if code not in (0, 1):   # pytest's exit codes: OK, TESTS_FAILED
        collector.internal.append(InternalError(None, f"pytest could not run the checks (exit code {int(code)})"))

    checks = [_check_result(check, collector, skipped.get(check.id)) for check in selected]
    notes = [safefs.skipped_note(special, sandbox.PACKAGE)] if special else []
    if mechanism == "none":
        notes.append("Not sandboxed: this machine supports neither bubblewrap nor Landlock, so the "
                     "submission ran with resource limits only.")
    if to_run:
        import hypothesis   # loaded with the checks

        other_release = version_note(hypothesis.__version__)
        if other_release:
            notes.append(other_release)
    skipped_points = sum(c.points for c in checks if c.status == "skipped")
    if skipped_points:
        notes.append(f"{skipped_points} points are in hidden checks that were not run here.")
    internal = list(collector.internal)
    for check in checks:
        if check.status != "skipped" and not check.tests:
            internal.append(InternalError(check.id, f"check {check.id!r}: its test file has no tests"))
    output = clean(session.capture.text()) if session.capture.total else ""
    return Result(submission=submission, total=rubric.total, checks=checks, output=output,
                  notes=notes, internal_errors=internal, seconds=time.monotonic() - started,
                  isolation=mechanism)


def not_graded(rubric, submission, problem, mechanism, seconds=0.0):
    """The Result when the grader itself cannot grade: an internal error, never the student's zero.

    Every check fails saying so (the score is not a grade; each test's reason
    ``internal``), ``internal_errors`` holds ``problem`` for the whole run (so
    ``grade`` exits 3 and ``grade-all`` regrades it next time), and the note
    tells the instructor what to fix.
    """
    message = ("not graded: the grader failed on its side, not yours (your instructor has been told): "
               + problem)
    result = nothing_to_grade(rubric, submission, message, reason="internal")
    result.internal_errors = [InternalError(None, problem)]
    result.notes = [f"Not graded because of an internal error of the grader: {problem}"]
    result.isolation, result.seconds = mechanism, seconds
    return result


def _check_result(check, collector, skip_reason):
    """Points for one check from its tests' outcomes."""
    if skip_reason:
        tests = [TestResult(check.title, check.id, check.points, "skipped", skip_reason, reason="not_run")]
        return CheckResult(check.id, check.title, check.points, check.visibility, tests)
    items = collector.items.get(check.id, [])
    tests = []
    for (nodeid, name), points in zip(items, split_points(check.points, len(items))):
        status, message, reason = collector.outcome(nodeid)
        if not collector.ran(nodeid):
            collector.internal.append(InternalError(check.id, f"{nodeid}: the grader did not run this test"))
        tests.append(TestResult(name, check.id, points, status, clip(message),
                                collector.seconds.get(nodeid, 0.0), reason))
    return CheckResult(check.id, check.title, check.points, check.visibility, tests,
                       sum(t.seconds for t in tests))
