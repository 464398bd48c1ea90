"""Grade one submission: rubric + submission -> pytest over the check files -> Result.

The check files run under pytest *in the grading process*; they never import
the student's code.  Their ``worker`` fixture (autograder/checks/conftest.py)
is a ``session.CheckHandle`` supplied by the ``Collector`` plugin below, which
also records every test's outcome.  The engine then turns outcomes into
points with ``results.split_points``.

    from autograder.grading.engine import grade
    result = grade("solutions")            # -> results.Result
"""
import os
import sys
import time

import pytest

from autograder import errors, rubric as rubric_mod, sandbox
from autograder.sandbox import safefs
from autograder.results import (REASONS, CheckResult, InternalError, Result, TestResult, clip, nothing_to_grade,
                                split_points)
from autograder.grading.session import Session
from autograder.text import clean
from autograder.submission import require_package

ENGINE_KEY = pytest.StashKey()  # config.stash[ENGINE_KEY] is the running Collector


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


def _test_name(item):
    doc = (getattr(item, "function", None) and item.function.__doc__) or ""
    name = doc.strip().splitlines()[0] if doc.strip() else item.name
    if name.endswith(".") and not name.endswith("..."):
        name = name[:-1]
    callspec = getattr(item, "callspec", None)
    return f"{name} [{callspec.id}]" if callspec else name


class Collector:
    """pytest plugin: hands each check file its worker handle and records every outcome."""

    def __init__(self, session, checks_by_file):
        self.session = session
        self.checks_by_file = checks_by_file          # abspath -> rubric Check
        self.handles = {}                             # check id -> CheckHandle
        self.items = {}                               # check id -> [(nodeid, name)]
        self.outcomes = {}                            # nodeid -> (status, message, reason)
        self.passed = set()                           # nodeids whose test body passed
        self.seconds = {}                             # nodeid -> seconds
        self.internal = []                            # results.InternalError

    def pytest_configure(self, config):
        config.stash[ENGINE_KEY] = self

    def check_for(self, path):
        return self.checks_by_file.get(os.path.abspath(str(path)))

    def handle_for(self, path):
        """The CheckHandle for the check that owns test file ``path`` (one per check)."""
        check = self.check_for(path)
        if check.id not in self.handles:
            self.handles[check.id] = self.session.handle(check.id, check.timeout)
        return self.handles[check.id]

    def check_id(self, path):
        """The id of the check that owns test file ``path``, or None."""
        check = self.check_for(path)
        return check.id if check is not None else None

    def check_of_node(self, nodeid):
        """The id of the check whose file holds ``nodeid`` ('test_warmup.py::test_x'), or None."""
        name = os.path.basename(nodeid.split("::")[0])
        return next((c.id for path, c in self.checks_by_file.items() if os.path.basename(path) == name), None)

    def pytest_collectreport(self, report):
        if report.failed:
            self.internal.append(InternalError(self.check_of_node(report.nodeid),
                                               f"could not load {report.nodeid}: {clip(str(report.longrepr), 500)}"))

    def pytest_collection_modifyitems(self, items):
        for item in items:
            check = self.check_for(item.path)
            if check is not None:
                self.items.setdefault(check.id, []).append((item.nodeid, _test_name(item)))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item, call):
        """Record the outcome, and make pytest's report without its rendering of the traceback.

        pytest renders a failure by parsing the source of every frame (most of
        the time it took to grade a submission whose every test fails); the
        engine never reads it: the message comes from the exception itself.
        """
        report = _report(item, call)
        self._record(item, call, report)
        return report

    def _record(self, item, call, report):
        self.seconds[item.nodeid] = self.seconds.get(item.nodeid, 0.0) + call.duration
        if report.failed and item.nodeid not in self.outcomes:
            text, reason = failure(call.excinfo.value) if call.excinfo else ("failed", "internal")
            if reason == "internal":
                self.internal.append(InternalError(self.check_id(item.path), f"{item.nodeid}: {text}"))
            self.outcomes[item.nodeid] = ("failed", text, reason)
        elif report.skipped and item.nodeid not in self.outcomes:
            # A check never skips a test: the student would lose its points for nothing. The grader's fault.
            self.internal.append(InternalError(self.check_id(item.path),
                                               f"{item.nodeid}: the check skipped this test"))
            self.outcomes[item.nodeid] = ("failed", "the check skipped this test", "internal")
        elif report.when == "call" and report.passed:
            self.passed.add(item.nodeid)

    def ran(self, nodeid):
        """True when the test ran (passed, failed or was skipped by its check)."""
        return nodeid in self.outcomes or nodeid in self.passed

    def outcome(self, nodeid):
        """(status, message, reason) of a test; a test that never ran did not pass: the grader's fault."""
        if nodeid in self.outcomes:
            return self.outcomes[nodeid]
        return ("passed", "", "passed") if nodeid in self.passed else ("failed", "not run", "internal")


def _report(item, call):
    """pytest's TestReport for ``call``, with the exception's one-line summary as its ``longrepr``."""
    excinfo = call.excinfo
    if excinfo is None:
        outcome, longrepr = "passed", None
    elif isinstance(excinfo.value, pytest.skip.Exception):
        outcome, longrepr = "skipped", (str(item.path), item.location[1] or 0, str(excinfo.value))
    else:
        outcome, longrepr = "failed", f"{excinfo.typename}: {clip(str(excinfo.value), 500)}"
    return pytest.TestReport(item.nodeid, item.location, {name: 1 for name in item.keywords}, outcome, longrepr,
                             call.when, [(f"Captured {key} {when}", text) for when, key, text in item._report_sections],
                             call.duration, call.start, call.stop, user_properties=item.user_properties)


def _forget_check_modules(files):
    """Drop already-imported check modules, so pytest imports them afresh under our hypothesis profile.

    ``@given`` captures the default settings when its module is imported: a check module that
    someone imported earlier in this process (a test of the grader, a tool) would keep
    hypothesis's default deadline of 200 ms and fail a correct submission whose worker is slow
    to start.
    """
    wanted = {os.path.realpath(f) for f in files}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and os.path.realpath(path) in wanted:
            del sys.modules[name]


def _run_pytest(files, collector):
    """Run pytest in this process on ``files``, quietly, with only our plugins."""
    _forget_check_modules(files)
    args = [*files, "-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:warnings",
            "--noconftest", "-p", "autograder.checks.conftest", "--assert=plain", "--capture=sys",
            "-c", os.devnull, "--rootdir", rubric_mod.CHECKS_DIR, "--import-mode=importlib"]
    saved = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        return pytest.main(args, plugins=[collector])
    finally:
        if saved is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = saved


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
            (the pool's grading processes have one); else each worker starts from nothing.

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

    if template is not None and template.mechanism != mechanism:
        template = None
    session = Session(submission, rubric.limits, mechanism, template)
    collector = Collector(session, to_run)
    if to_run:
        # The worker imports torch while this process verifies the sandbox and loads the checks; it
        # runs no student code before the first check asks it to import the submission.
        session.start()
    try:
        try:  # once per process: a worker started exactly as below, confined, every escape refused
            sandbox.verify(mechanism, rubric.limits)
        except sandbox.SandboxBroken as err:
            return not_graded(rubric, submission, f"the grader could not start its sandbox: {err}", mechanism,
                              time.monotonic() - started)
        code = _run_pytest(list(to_run), collector) if to_run else pytest.ExitCode.OK
    finally:
        session.close()
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        collector.internal.append(InternalError(None, f"pytest could not run the checks (exit code {int(code)})"))

    checks = [_check_result(check, collector, skipped.get(check.id)) for check in selected]
    notes = [safefs.skipped_note(special, sandbox.PACKAGE)] if special else []
    if mechanism == "none":
        notes.append("Not sandboxed: this machine supports neither bubblewrap nor Landlock, so the "
                     "submission ran with resource limits only.")
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
