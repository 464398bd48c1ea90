"""A grading session: one submission, one worker reused across checks, one time budget.

The checks never see a ``Worker``; they get a ``CheckHandle`` whose ``call``
runs a probe and returns its payload, or raises one of the ``errors``:

- the student's code raised  -> StudentError (NotImplementedYet for the stubs)
- the call ran out of time   -> TimedOut; the worker is killed (SIGKILL) and the
  rest of this check fails at once; the next check gets a fresh worker
- the worker died            -> WorkerCrashed; same treatment
- the submission cannot be imported at all (the import hung, crashed or
  exited) -> ImportFailed, for this and every later call: no retries.

A call made after its check's time-out or crash is not run: it raises the same
class with reason ``not_run`` (``errors.not_run``).  A call once the session's
time budget is used up raises TimedOut ("not run: the grading time budget ..."),
reason ``timeout``: the submission's own time limit ran out.

Restarts are cheap: a session given no template (``grade``) starts its first
worker from nothing, and when a check kills it (a time-out, a crash, a reply
the grader refused) it starts a template process of its own
(``grading.template``) and forks every later worker from it, so a submission
whose every check kills its worker pays torch's import twice, not once per
check.  The template is verified like the pool's (``sandbox.verify_template``)
and closed with the session; where none can be used, workers start from
nothing as before.
"""
import sys
import time

from autograder import errors
from autograder.grading import wire
from autograder.text import clean
from autograder.grading.worker import Capture, Worker


class Session:
    """Owns the worker for one submission; start it lazily, restart it after a kill."""

    def __init__(self, submission, limits, mechanism="none", template=None):
        """``template``: a ``template.Template`` to fork workers from (see ``grading.pool``); None: start
        the first worker from nothing and the later ones from a template of its own; False: start
        every worker from nothing (a pool whose template could not be used)."""
        self.submission, self.limits, self.mechanism = submission, limits, mechanism
        self.template = template
        self._own_template = None      # started at the first restart when no template was given
        self.capture = Capture()
        self.deadline = time.monotonic() + limits.total_budget
        self.worker = None
        self._ready = False            # the current worker said ready and imported the submission
        self._up_by = None             # the current worker must be ready by then (time.monotonic())
        self.import_failure = None
        self.sandbox_failure = None
        self.workers_started = 0

    def handle(self, label, timeout):
        """A handle for one check, limited to ``timeout`` seconds of calls."""
        return CheckHandle(self, label, timeout)

    def start(self):
        """Start the worker now, without waiting for it (its start overlaps the grader's own work).

        The worker imports torch and confines itself while the grader loads its
        checks; ``ensure_worker`` then waits for it to be ready and has it
        import the submission.  This module does not import torch (``replies``
        is imported at the first reply): ``grade`` starts the worker before
        its own process pays torch's import, and the two imports overlap.
        """
        if self.worker is None and not (self.sandbox_failure or self.import_failure):
            try:
                self._launch()
            except (SandboxFailure, errors.TimedOut):
                pass   # said again by ensure_worker, to the check that needs the worker

    def _launch(self):
        if time.monotonic() >= self.deadline:
            raise errors.TimedOut(f"not run: the grading time budget of {self.limits.total_budget:g} s "
                                  "was used up by earlier checks")
        if self.template is None and self.workers_started and self._own_template is None:
            self._own_template = _verified_template(self.mechanism, self.limits, self.deadline)
        self._up_by = min(time.monotonic() + self.limits.start_timeout, self.deadline)
        try:
            self.worker = Worker(self.submission, self.limits, self.capture, self.mechanism,
                                 template=self.template or self._own_template or None)
        except OSError as err:  # the box or the process could not be made: ours, not the student's
            self.sandbox_failure = f"the worker could not be started ({sys.executable}): {err}"
            raise SandboxFailure(self.sandbox_failure) from None
        self.workers_started += 1
        self._ready = False

    def ensure_worker(self):
        """Start a worker and import the submission, unless one is running. Raises ImportFailed."""
        if self.sandbox_failure:
            raise SandboxFailure(self.sandbox_failure)
        if self.import_failure:
            raise errors.ImportFailed(self.import_failure)
        if self.worker is not None and self._ready:
            return self.worker
        if self.worker is None:
            self._launch()
        limit = self.limits.import_timeout
        # Until the worker says it is ready, no student code has run: whatever goes wrong is the grader's.
        try:
            not_confined = self.worker.ready(self._up_by)
        except wire.WireError as err:
            timed_out = isinstance(err, wire.Timeout)
            # A worker that stopped is given 2 s to be reaped, for its exit status; one still
            # starting will not exit by itself, and waiting for it only delays the grade.
            ended = self.kill_worker(wait=0.0 if timed_out else 2.0)
            budget_ended = timed_out and self._up_by >= self.deadline
            if budget_ended and self.workers_started > 1:
                # A restart, after earlier checks spent the budget (their time-outs): the submission's
                # time ran out, as when it runs out between two checks; the next call says so again.
                raise errors.TimedOut(f"not run: the grading time budget of {self.limits.total_budget:g} s "
                                      "was used up by earlier checks") from None
            self.sandbox_failure = (
                f"the worker ({sys.executable} in the {self.mechanism} sandbox) "
                + (f"was not ready within the grading time budget of {self.limits.total_budget:g} s"
                   if budget_ended else f"was not ready within {self.limits.start_timeout:g} s" if timed_out
                   else f"stopped before it was ready ({ended})")
                + f", before any of the submission's code ran{_last_output(self.capture)}")
            raise SandboxFailure(self.sandbox_failure) from None
        if not_confined:
            self.kill_worker()
            self.sandbox_failure = not_confined
            raise SandboxFailure(self.sandbox_failure)
        # The submission's own import gets the whole limit, from now: however long the worker took
        # to start (a loaded machine), that was not the student's time.
        deadline = min(time.monotonic() + limit, self.deadline)
        try:
            response = self.worker.request("__import__", {}, deadline, 2**20)
        except wire.Timeout:
            self.kill_worker()
            self.import_failure = (f"importing your package took longer than {limit:g} s; "
                                   "does some module run a long computation or loop at import time?")
        except wire.WireError:
            exit_status = self.kill_worker(wait=2.0)
            self.import_failure = (f"the process importing your package stopped ({exit_status}) "
                                   f"while importing it{_last_output(self.capture)}; does a module call "
                                   "exit() or crash at import time?")
        else:
            if not (isinstance(response, dict) and set(response) == {"ok"}):
                self.kill_worker()
                self.import_failure = ("importing your package did not give the grader's answer (does a module "
                                       "write to the grader's channel or replace the worker?)")
        if self.import_failure:
            raise errors.ImportFailed(self.import_failure)
        self._ready = True
        return self.worker

    def kill_worker(self, wait=0.0):
        """Kill the current worker (if any), first giving it ``wait`` seconds to exit by itself.

        Returns how it ended: 'exit code 3', 'killed by signal SIGSEGV' or 'killed by the grader'.
        """
        worker, self.worker = self.worker, None
        if worker is None:
            return "not running"
        exited = worker.exit_description(wait) if wait else None
        if exited == "no exit status":
            exited = None
        worker.kill()
        return exited or "killed by the grader"

    def close(self):
        """End the session: the worker is killed, never asked nicely; a template of its own is closed."""
        self.kill_worker()
        if self._own_template:
            self._own_template.close()
        self._own_template = None


def _verified_template(mechanism, limits, deadline):
    """A started and verified ``template.Template``, or False when none can be used here.

    A template that cannot start or fails the sandbox's self-test is closed and
    never used: the workers start from nothing, as they would without one.  Its
    start and self-test wait at most until ``deadline`` (the session's budget):
    with less than ``limits.start_timeout`` of it left, none is started.
    Whatever interrupts the self-test, the template is closed (its processes
    and its box) before the exception goes on.
    """
    from autograder import sandbox
    from autograder.grading.template import Template, TemplateFailure

    if deadline - time.monotonic() < limits.start_timeout:   # its first wait could outlast the budget
        return False
    try:
        template = Template(mechanism, limits)
    except (TemplateFailure, OSError):
        return False
    try:
        sandbox.verify_template(template, limits, deadline)
    except sandbox.SandboxBroken:
        template.close()
        return False
    except BaseException:
        template.close()
        raise
    return template


class SandboxFailure(RuntimeError):
    """The worker could not confine itself: an internal error of the grader, never the student's."""


def _last_output(capture):
    tail = capture.tail().strip()
    return f"; its last output was: {clean(tail[-300:])!r}" if tail else ""


class CheckHandle:
    """What a check's tests call: ``call`` and ``call_raises``, under the check's time limit."""

    def __init__(self, session, label, timeout):
        self.session, self.label, self.timeout = session, label, timeout
        self.deadline = None
        self.failure = None  # after a timeout or crash, every later call fails with this

    def call(self, probe, what=None, **kwargs):
        """Run ``probe`` in the worker; return its payload or raise an errors.GradingFailure."""
        if self.failure is not None:
            raise errors.not_run(self.failure)
        worker = self.session.ensure_worker()
        if self.deadline is None:  # the check's clock starts once its worker is ready
            self.deadline = min(time.monotonic() + self.timeout, self.session.deadline)
        called = what or probe
        try:
            response = worker.request(probe, kwargs, self.deadline)
        except wire.Timeout:
            self.session.kill_worker()
            self.failure = errors.TimedOut(
                f"timed out: {called} was still running when this check's time limit of "
                f"{self.timeout:g} s ran out (an infinite loop, or something very slow?)")
            raise self.failure from None
        except wire.Closed:
            exit_status = self.session.kill_worker(wait=2.0)
            self.failure = errors.WorkerCrashed(
                f"the process running your code stopped ({exit_status}) while running "
                f"{called}{_last_output(self.session.capture)}")
            raise self.failure from None
        except wire.WireError as err:
            self.session.kill_worker()
            self.failure = errors.BadResult(f"could not read what {called} returned: {err}")
            raise self.failure from None
        from autograder.grading import replies   # torch: see Session.start

        try:
            kind, body = replies.envelope(response)
            payload = replies.check(probe, kwargs, body, called) if kind == "ok" else None
        except errors.BadResult:
            # A reply the grader refuses may come from a rewritten worker that also wrote extra
            # messages: the channel can no longer be trusted to pair requests and replies.
            self.session.kill_worker()
            raise
        if kind == "raised":
            raise errors.student_error(body, what)
        if kind == "bad":
            raise errors.BadResult(f"could not examine what {called} returned: {body}")
        return payload

    def call_raises(self, probe, what=None, **kwargs):
        """Run ``probe`` expecting the student's code to raise: the StudentError, or None.

        NotImplementedError is never what a check expects: it propagates.
        """
        try:
            self.call(probe, what=what, **kwargs)
        except errors.NotImplementedYet:
            raise
        except errors.StudentError as err:
            if err.info.get("during_import"):
                raise
            return err
        return None
