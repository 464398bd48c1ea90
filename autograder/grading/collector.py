"""The engine's pytest plugin: runs the check files in the grading process and records every outcome.

``engine.grade`` imports this module (and so pytest) only once the submission's
worker is on its way: the worker's start overlaps the grader's own imports.

The check files' ``worker`` fixture (autograder/checks/conftest.py) is a
``session.CheckHandle`` that the ``Collector`` below hands out, one per check.
"""
import gc
import os
import sys

import pytest

from autograder import rubric as rubric_mod
from autograder.results import InternalError, clip
from autograder.grading.engine import failure

ENGINE_KEY = pytest.StashKey()  # config.stash[ENGINE_KEY] is the running Collector


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
        _resume_gc()   # the check modules are loaded (see run_pytest)
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
    names = {os.path.basename(f) for f in wanted}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        # realpath only for a file of the right name: a grading process holds over a thousand modules
        if path and os.path.basename(path) in names and os.path.realpath(path) in wanted:
            del sys.modules[name]


_gc_paused = False
_gc_frozen = False


def _pause_gc():
    """Stop the cyclic garbage collector while the check modules load (torch's import, the first time).

    That import makes millions of objects that live as long as the process, and
    the collector would walk them again and again as they pile up: about 0.1 s
    of ``grade``'s 6.8 s here.  No check has run yet, so nothing collectable piles up.
    """
    global _gc_paused
    if gc.isenabled():
        gc.disable()
        _gc_paused = True


def _resume_gc():
    """Start the collector again; the first time, leave what is loaded by now out of every later collection.

    torch, pytest, hypothesis and the checks live as long as the process, so
    ``gc.freeze`` spares each later full collection the walk over them: in
    ``grade``, hypothesis's first test collects once (0.09 s; under 1 ms frozen).
    Only once per process: a pool's grading process loads the check modules
    afresh for each submission and must not keep every copy.
    """
    global _gc_paused, _gc_frozen
    if _gc_paused:
        if not _gc_frozen:
            gc.freeze()
            _gc_frozen = True
        gc.enable()
        _gc_paused = False


def run_pytest(files, collector):
    """Run pytest in this process on ``files``, quietly, with only our plugins."""
    _forget_check_modules(files)
    # pytest's plugins that cost time on every test and report nothing the engine reads: log capture
    # (handlers added and removed around each phase), and the end-of-session gc.collect() passes of
    # the unraisable- and thread-exception hooks.
    args = [*files, "-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:warnings", "-p", "no:logging",
            "-p", "no:unraisableexception", "-p", "no:threadexception",
            "--noconftest", "-p", "autograder.checks.conftest", "--assert=plain", "--capture=sys",
            "-c", os.devnull, "--rootdir", rubric_mod.CHECKS_DIR, "--import-mode=importlib"]
    saved = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    _pause_gc()
    try:
        return pytest.main(args, plugins=[collector])
    finally:
        _resume_gc()   # also when collection failed before our hook ran
        if saved is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = saved
