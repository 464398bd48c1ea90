"""The audit's submissions, graded by the grading pool (``grading.pool``).

The audit builds many submissions (mutants, catalogue bodies) and wants, for
each, its score per check and every test's outcome.  ``Pool`` hands each
``Task`` to ``grading.pool.Pool`` (long-lived grading processes calling
``engine.grade``: each submission's code runs in its own sandboxed worker)
and turns each Result into the plain summary the audit reads, keyed by the
task's id, whatever order they finished in.
"""
import dataclasses
import sys
import time

from autograder.grading import pool as grading_pool


@dataclasses.dataclass(frozen=True)
class Task:
    """One submission to grade: ``only`` a check id, or None for every check."""

    id: str
    folder: str
    only: str = None


@dataclasses.dataclass(frozen=True)
class _Pending:
    """A submitted task and its grading pool future."""

    task: Task
    future: object


def summary(task, result, seconds):
    """The audit's view of one graded task: scores per check and each test's outcome."""
    return {
        "id": task.id,
        "only": task.only,
        "score": result.score,
        "max_score": result.max_score,
        "isolation": result.isolation,
        "internal_errors": [str(e) for e in result.internal_errors],
        "seconds": seconds,
        "checks": [{
            "id": c.id, "points": c.points, "score": c.score, "status": c.status,
            "visibility": c.visibility, "first_failure": c.first_failure,
            "tests": [{"name": t.name, "status": t.status, "message": t.message, "reason": t.reason,
                       "points": t.max_score}
                      for t in c.tests],
        } for c in result.checks],
    }


class Pool:
    """``jobs`` grading processes; ``submit`` tasks at any time (they run in that order), ``wait`` for some."""

    def __init__(self, jobs, rubric_path=None, checks_dirs=(), isolation=None, progress=None):
        self.progress, self.done, self.submitted = progress, 0, 0
        self._pool = grading_pool.Pool(jobs, rubric_path=rubric_path, checks_dirs=checks_dirs, isolation=isolation)
        self._futures = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._pool.close()

    def warm(self):
        """Start every grading process now (each imports torch and the engine once)."""
        self._pool.warm()

    def submit(self, tasks):
        for task in tasks:
            started = time.perf_counter()
            future = self._pool.submit(task.folder, task.only)
            future.add_done_callback(lambda f, task=task, started=started: self._report(task, f, started))
            self._futures[task.id] = _Pending(task, future)
            self.submitted += 1

    def _report(self, task, future, started):
        self.done += 1
        if self.progress and not future.cancelled() and future.exception() is None:
            self.progress(self.done, self.submitted, summary(task, future.result(), time.perf_counter() - started))

    def wait(self, ids):
        """{task id: summary} for ``ids``, in that order, once they are all done."""
        found = {}
        for task_id in ids:
            pending = self._futures[task_id]
            result = pending.future.result()   # the pool turns a failed grading process into an internal-error Result
            found[task_id] = summary(pending.task, result, result.seconds)
        return found


def print_progress(done, total, result):
    lost = [c["id"] for c in result["checks"] if c["score"] < c["points"]]
    print(f"[{done}/{total}] {result['id']}: {result['score']}/{result['max_score']}"
          + (f" (lost in {', '.join(lost)})" if lost else "") + f", {result['seconds']:.1f} s",
          file=sys.stderr, flush=True)
