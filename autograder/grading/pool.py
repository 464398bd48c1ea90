"""One grading pool: long-lived grading processes that take submissions and return Results.

    with Pool(jobs=2, rubric=rubric) as pool:
        future = pool.submit("collected/ana")         # a concurrent.futures.Future of a results.Result
        result = pool.grade("collected/ben", only="kl_analytic")   # the same, waiting for it

``grade-all`` and the audit grade through it; ``grade`` is a pool of one that
grades in its own process (``jobs=0``).  Each grading process is a fresh
``python -m autograder.grading.pool`` (it inherits no pytest, torch or
hypothesis state from its parent) started with a few plain environment
variables only (never the instructor's tokens), talking one JSON line per
message on its stdin and stdout.  It bounds its own memory (``limits.grader_memory_mb``), imports torch, pytest,
hypothesis and the engine once, then calls ``engine.grade`` for one submission
after another.  The interpreter, the imports, the rubric and the sandbox's
self-test are paid once per process, not once per submission.  Each
submission still gets a fresh sandboxed worker for its own code (a grading
process runs no student code), forked from the process's template
(``grading.template``: a worker process that imported torch once, in a box of
its own, and runs no student code either) instead of started from nothing.

A Result comes back as its stored form (``results.to_dict``: plain data, from
a process of ours) and is rebuilt here.  When a grading process dies or runs
past ``task_timeout`` (a backstop far above the engine's own limits), it is
killed (its workers die with it), that submission's Result is an internal
error of the grader (``engine.not_graded``: never a zero of the student's),
and a fresh process takes the next submission.
"""
import concurrent.futures
import json
import os
import queue
import select
import subprocess
import sys
import tempfile
import threading
import time

from autograder import facts, results, rubric as rubric_mod

TASK_TIMEOUT = 600   # seconds for one submission: a backstop far above the rubric's time budget
START_TIMEOUT = 300  # seconds for a grading process to start (Python, torch, pytest, the engine)
# The only variables a grading process gets: never the instructor's tokens.
KEPT_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ", "VIRTUAL_ENV",
            facts.WORKER_USER_VAR, facts.SANDBOX_VAR)
EOF = object()       # _receive: the grading process closed its output


def serve(settings):
    """A grading process (``python -m autograder.grading.pool SETTINGS``): one JSON line per message.

    Reads ``{"folder": ..., "only": ...}`` lines on stdin, answers each with one
    line on its own copy of stdout: ``{"result": <stored Result>}`` or
    ``{"error": "..."}``; first of all ``{"ready": true}`` once set up.
    Anything else printed goes to stderr.
    """
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    from autograder.cli import limit_own_memory

    rubric = rubric_mod.load(settings["rubric_path"]) if settings["rubric_path"] else rubric_mod.load()
    limit_own_memory(rubric.limits.grader_memory_mb)
    template = _start_template(settings["isolation"], rubric.limits)   # imports torch while we do
    import torch  # noqa: F401  (what every check file imports: paid once, here)

    from autograder.grading import engine

    template = _verified_template(template, rubric.limits)

    def say(message):
        channel.write(json.dumps(message) + "\n")
        channel.flush()

    say({"ready": True})
    try:
        for line in sys.stdin:
            request = json.loads(line)
            try:
                result = engine.grade(request["folder"], rubric, checks_dirs=tuple(settings["checks_dirs"]),
                                      public_only=settings["public_only"], only=request["only"],
                                      isolation=settings["isolation"],
                                      # False: not one per submission either (it failed here once)
                                      template=template if template is not None else False)
                say({"result": results.to_dict(result)})
            except Exception as err:  # noqa: BLE001 - the grader's fault, reported as such
                say({"error": f"{type(err).__name__}: {err}"})
    finally:
        if template is not None:   # its process and its box (a folder in the temporary directory)
            template.close()


def _start_template(isolation, limits):
    """This grading process's template (``grading.template``): its workers are forked, not started
    from nothing.  None when the sandbox cannot be chosen here (``engine.grade`` says why)."""
    from autograder import errors, sandbox
    from autograder.grading.template import Template

    from autograder.grading.template import TemplateFailure

    try:
        return Template(sandbox.choose(isolation), limits)
    except (errors.UsageError, OSError, TemplateFailure) as err:
        print(f"no template process: {err}", file=sys.stderr)
        return None


def _verified_template(template, limits):
    """``template`` once a worker forked from it passed the sandbox's self-test, else None (closed)."""
    from autograder import sandbox

    if template is None:
        return None
    try:
        sandbox.verify_template(template, limits)
    except sandbox.SandboxBroken as err:
        print(f"the template process is not used: {err}", file=sys.stderr)
        template.close()
        return None
    return template


class _Slot:
    """One grading process and the thread that feeds it submissions from the pool's queue."""

    def __init__(self, pool):
        self.pool, self.process, self.log, self._buffer = pool, None, None, b""
        self._starting = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _start(self):
        settings = {"rubric_path": self.pool.rubric_path, "checks_dirs": list(self.pool.checks_dirs),
                    "isolation": self.pool.isolation, "public_only": self.pool.public_only}
        env = {key: os.environ[key] for key in KEPT_ENV if key in os.environ}
        # Its own temporary directory (its template's and workers' boxes): removed when it ends,
        # even when it was killed and could not remove them itself.
        self.folder = env["TMPDIR"] = tempfile.mkdtemp(prefix="autograder-pool-", dir=env.get("TMPDIR"))
        self.log = tempfile.TemporaryFile()   # what the grading process printed, for a failure's message
        self.process = subprocess.Popen(
            [sys.executable, "-m", "autograder.grading.pool", json.dumps(settings)], cwd=facts.ROOT, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log)
        self._buffer = b""

    def _stop(self, kill=False):
        if self.process is None:
            return
        if kill:
            self.process.kill()
        try:
            self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout=None if kill else 30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        self.log.close()
        self.process = self.log = None
        from autograder.sandbox import safefs

        safefs.remove_tree(self.folder)

    def _last_output(self):
        try:
            self.log.seek(max(0, self.log.seek(0, os.SEEK_END) - 500))
            tail = self.log.read().decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""
        return f"; its last output: {tail}" if tail else ""

    def _receive(self, deadline):
        """The grading process's next message; EOF when it closed its output (died), None past ``deadline``."""
        fd = self.process.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], min(remaining, 1.0))[0]:
                if remaining <= 0:
                    return None
                continue
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return EOF
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

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
        """Start the grading process unless it runs; None once it is ready to grade, else why not."""
        with self._starting:
            if self.process is None:
                self._start()
                ready = self._receive(time.monotonic() + START_TIMEOUT)
                if ready is EOF or ready != {"ready": True}:
                    why = f"a grading process could not start{self._last_output()}"
                    self._stop(kill=True)
                    return why
            return None

    def _grade(self, folder, only):
        started = time.monotonic()
        problem = self.ensure_started()
        if problem:
            return self.pool.failed(folder, problem, started)
        try:
            self.process.stdin.write((json.dumps({"folder": str(folder), "only": only}) + "\n").encode())
            self.process.stdin.flush()
            message = self._receive(time.monotonic() + self.pool.task_timeout)
        except (OSError, ValueError):
            message = EOF
        if message is None or message is EOF:
            if message is None:
                why = f"the grading process took longer than {self.pool.task_timeout:g} s"
            else:
                try:
                    code = self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    code = None
                why = f"the grading process died ({_ended(code)}){self._last_output()}"
            self._stop(kill=True)
            return self.pool.failed(folder, why, started)
        if "result" in message:
            return results.from_dict(message["result"])
        return self.pool.failed(folder, f"the grading process failed: {message.get('error')}", started)


def _ended(code):
    return f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"


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
        self._tasks.put((future, os.path.abspath(folder), only))   # the grading processes run elsewhere
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


if __name__ == "__main__":
    from autograder import quick_exit

    quick_exit.run(serve, json.loads(sys.argv[1]))   # no interpreter teardown (0.8 s) for grade-all to wait for
