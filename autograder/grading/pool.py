"""One grading pool: long-lived grading processes that take submissions and return Results.

    with Pool(jobs=2, rubric=rubric) as pool:
        future = pool.submit("collected/ana")         # a concurrent.futures.Future of a results.Result
        result = pool.grade("collected/ben", only="kl_analytic")   # the same, waiting for it

``grade-all`` and the audit grade through it; ``grade`` is a pool of one that
grades in its own process (``jobs=0``).  Each grading process is spawned (it
inherits no pytest, torch or hypothesis state from its parent), drops every
environment variable but a few plain ones (never the instructor's tokens),
bounds its own memory (``limits.grader_memory_mb``), imports torch, pytest,
hypothesis and the engine once, then calls ``engine.grade`` for one submission
after another.  The interpreter, the imports, the rubric and the sandbox's
self-test are paid once per process, not once per submission.  Each
submission still gets a fresh sandboxed worker for its own code: a grading
process runs no student code.

A Result comes back as its stored form (``results.to_dict``: plain data, from
a process of ours) and is rebuilt here.  When a grading process dies or runs
past ``task_timeout`` (a backstop far above the engine's own limits), it is
killed (its workers die with it), that submission's Result is an internal
error of the grader (``engine.not_graded``: never a zero of the student's),
and a fresh process takes the next submission.
"""
import concurrent.futures
import multiprocessing
import os
import queue
import threading
import time

from autograder import results, rubric as rubric_mod

TASK_TIMEOUT = 600   # seconds for one submission: a backstop far above the rubric's time budget
START_TIMEOUT = 300  # seconds for a grading process to start (Python, torch, pytest, the engine)
# The only variables a grading process keeps: never the instructor's tokens.
KEPT_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ", "VIRTUAL_ENV",
            "AUTOGRADER_WORKER_USER", "AUTOGRADER_SANDBOX")

_state = {}   # in a grading process: its rubric and settings


def _serve(conn, rubric_path, checks_dirs, isolation, public_only):
    """A grading process: set up once, then grade each (folder, only) received until told to stop."""
    for key in list(os.environ):
        if key not in KEPT_ENV:
            del os.environ[key]
    from autograder.cli import limit_own_memory

    rubric = rubric_mod.load(rubric_path) if rubric_path else rubric_mod.load()
    limit_own_memory(rubric.limits.grader_memory_mb)
    import torch  # noqa: F401  (what every check file imports: paid once, here)

    from autograder.grading import engine

    conn.send(("ready", None))
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        if request is None:
            return
        folder, only = request
        try:
            result = engine.grade(folder, rubric, checks_dirs=checks_dirs, public_only=public_only, only=only,
                                  isolation=isolation)
            conn.send(("result", results.to_dict(result)))
        except Exception as err:  # noqa: BLE001 - the grader's fault, reported as such
            conn.send(("error", f"{type(err).__name__}: {err}"))


class _Slot:
    """One grading process and the thread that feeds it submissions from the pool's queue."""

    def __init__(self, pool):
        self.pool, self.process, self.conn = pool, None, None
        self._starting = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _start(self):
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        self.process = context.Process(target=_serve, daemon=True,
                                       args=(child, self.pool.rubric_path, self.pool.checks_dirs,
                                             self.pool.isolation, self.pool.public_only))
        self.process.start()
        child.close()
        self.conn = parent

    def _stop(self, kill=False):
        if self.process is None:
            return
        try:
            if kill:
                self.process.kill()
            else:
                self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.process.join(timeout=None if kill else 30)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()
        self.process = self.conn = None

    def _receive(self, deadline):
        """The grading process's next message, or None when it died or ran past ``deadline``."""
        while True:
            remaining = deadline - time.monotonic()
            try:
                if self.conn.poll(min(max(remaining, 0), 1.0)):
                    return self.conn.recv()
            except (EOFError, OSError):
                return None
            if not self.process.is_alive() and not self.conn.poll(0):
                return None
            if remaining <= 0:
                return None

    def _run(self):
        while True:
            task = self.pool._tasks.get()
            if task is None:
                self._stop()
                return
            future, folder, only = task
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(self._grade(folder, only))
            except BaseException as err:  # noqa: BLE001 - never leave a caller waiting forever
                future.set_exception(err)

    def ensure_started(self):
        """Start the grading process unless it runs; True once it is ready to grade."""
        with self._starting:
            if self.process is None:
                self._start()
                ready = self._receive(time.monotonic() + START_TIMEOUT)
                if not ready or ready[0] != "ready":
                    self._stop(kill=True)
                    return False
            return True

    def _grade(self, folder, only):
        started = time.monotonic()
        if not self.ensure_started():
            return self.pool.failed(folder, f"a grading process could not start within {START_TIMEOUT} s", started)
        self.conn.send((str(folder), only))
        message = self._receive(time.monotonic() + self.pool.task_timeout)
        if message is None:
            timed_out = self.process.is_alive()
            self._stop(kill=True)
            return self.pool.failed(folder, f"the grading process took longer than {self.pool.task_timeout:g} s"
                                    if timed_out else "the grading process died", started)
        kind, body = message
        if kind == "result":
            return results.from_dict(body)
        return self.pool.failed(folder, f"the grading process failed: {body}", started)


class Pool:
    """``jobs`` long-lived grading processes (0: grade in this process); see the module's docstring."""

    def __init__(self, jobs, rubric=None, *, rubric_path=None, checks_dirs=(), isolation=None, public_only=False,
                 task_timeout=TASK_TIMEOUT):
        self.rubric = rubric or (rubric_mod.load(rubric_path) if rubric_path else rubric_mod.load())
        self.rubric_path = rubric_path
        self.checks_dirs, self.isolation, self.public_only = tuple(checks_dirs), isolation, public_only
        self.jobs, self.task_timeout = jobs, task_timeout
        self._tasks = queue.Queue()
        self._slots = [_Slot(self) for _ in range(jobs)]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def submit(self, folder, only=None):
        """Grade ``folder`` (a folder containing the package): a Future of its Result."""
        if not self.jobs:
            future = concurrent.futures.Future()
            future.set_running_or_notify_cancel()
            future.set_result(self._grade_here(folder, only))
            return future
        future = concurrent.futures.Future()
        self._tasks.put((future, folder, only))
        return future

    def warm(self):
        """Start every grading process now, in the background (each imports torch and the engine once)."""
        for slot in self._slots:
            threading.Thread(target=slot.ensure_started, daemon=True).start()

    def grade(self, folder, only=None):
        """Grade ``folder`` and wait for its Result."""
        return self.submit(folder, only).result()

    def _grade_here(self, folder, only):
        from autograder.grading import engine

        return engine.grade(folder, self.rubric, checks_dirs=self.checks_dirs, public_only=self.public_only,
                            only=only, isolation=self.isolation)

    def failed(self, folder, problem, started):
        """The Result of a submission whose grading process failed: an internal error, never a zero."""
        from autograder.grading import engine

        return engine.not_graded(self.rubric, str(folder), problem, self.isolation or "",
                                 time.monotonic() - started)

    def close(self):
        """Stop every grading process once the submissions already given are graded."""
        for _ in self._slots:
            self._tasks.put(None)
        for slot in self._slots:
            slot.thread.join()
        self._slots = []
