"""Grade many submissions with a few long-lived grading processes.

``grade_all(tasks, jobs, ...)`` starts ``jobs`` grading processes (spawned,
so none inherits the caller's pytest or torch state).  Each imports torch, the
engine and the checks' libraries once, then calls ``engine.grade`` for one
submission after another: the interpreter start, the imports and the
rubric load are paid once per process instead of once per submission, which
is what one ``python -m autograder grade`` subprocess per submission (what
``grade-all`` and cosmic-ray's own runner do) would pay every time.

``engine.grade`` is the ordinary grading path: each submission gets a fresh
sandboxed worker (``isolation`` as for ``grade``), and the student's code
(here: mutants and catalogue bodies) runs only there.

Each task comes back as a plain dict (check id -> score, points, first
failure, and each test's outcome), in the order the tasks were given,
whatever order they finished in.
"""
import concurrent.futures
import dataclasses
import multiprocessing
import sys
import time

_state = {}


@dataclasses.dataclass(frozen=True)
class Task:
    """One submission to grade: ``only`` a check id, or None for every check."""

    id: str
    folder: str
    only: str = None
    weight: float = 1.0      # expected cost: heavier tasks are started first


def _init(rubric_path, checks_dirs, isolation):
    from autograder import rubric as rubric_mod

    from autograder.cli import limit_own_memory

    _state["rubric"] = rubric_mod.load(rubric_path) if rubric_path else rubric_mod.load()
    limit_own_memory(_state["rubric"].limits.grader_memory_mb)  # a grading process like `grade`'s
    _state["checks_dirs"] = tuple(checks_dirs)
    _state["isolation"] = isolation


def _warm():
    import torch  # noqa: F401
    import hypothesis  # noqa: F401
    import autograder.grading.engine  # noqa: F401


def _grade(task):
    from autograder.grading.engine import grade

    started = time.perf_counter()
    result = grade(task.folder, _state["rubric"], checks_dirs=_state["checks_dirs"], only=task.only,
                   isolation=_state["isolation"])
    return {
        "id": task.id,
        "only": task.only,
        "score": result.score,
        "max_score": result.max_score,
        "isolation": result.isolation,
        "internal_errors": list(result.internal_errors),
        "seconds": time.perf_counter() - started,
        "checks": [{
            "id": c.id, "points": c.points, "score": c.score, "status": c.status,
            "visibility": c.visibility, "first_failure": c.first_failure,
            "tests": [{"name": t.name, "status": t.status, "message": t.message, "reason": t.reason,
                       "points": t.max_score}
                      for t in c.tests],
        } for c in result.checks],
    }


class Pool:
    """``jobs`` long-lived grading processes; ``submit`` tasks at any time, ``wait`` for some.

    Tasks run in the order they are submitted (submit the long ones first).
    """

    def __init__(self, jobs, rubric_path=None, checks_dirs=(), isolation=None, progress=None):
        self.progress, self.done, self.submitted = progress, 0, 0
        self._pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_init,
            initargs=(rubric_path, tuple(checks_dirs), isolation))
        self._futures = {}
        self._jobs = jobs

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._pool.shutdown(wait=True, cancel_futures=True)

    def warm(self):
        """Start every grading process now (each imports torch and the engine once)."""
        for _ in range(self._jobs):
            self._pool.submit(_warm)

    def submit(self, tasks):
        for task in tasks:
            future = self._pool.submit(_grade, task)
            future.add_done_callback(self._report)
            self._futures[task.id] = (task, future)
            self.submitted += 1

    def _report(self, future):
        self.done += 1
        if self.progress and not future.cancelled():
            try:
                self.progress(self.done, self.submitted, future.result())
            except Exception:  # noqa: BLE001 - reported by wait()
                pass

    def wait(self, ids):
        """{task id: result dict} for ``ids``, in that order, once they are all done."""
        results = {}
        for task_id in ids:
            task, future = self._futures[task_id]
            try:
                results[task_id] = future.result()
            except Exception as exc:  # the grading process itself failed: report it, never hide it
                results[task_id] = {"id": task.id, "only": task.only, "score": 0, "max_score": 0,
                                    "isolation": None, "seconds": 0.0, "checks": [],
                                    "internal_errors": [f"grading failed: {type(exc).__name__}: {exc}"]}
        return results


def grade_all(tasks, jobs, rubric_path=None, checks_dirs=(), isolation=None, progress=None):
    """Grade every task with ``jobs`` long-lived processes; {task id: result dict} in task order."""
    with Pool(jobs, rubric_path, checks_dirs, isolation, progress) as pool:
        pool.submit(sorted(tasks, key=lambda t: -t.weight))     # heavy first: the processes end together
        return pool.wait([t.id for t in tasks])


def print_progress(done, total, result):
    lost = [c["id"] for c in result["checks"] if c["score"] < c["points"]]
    print(f"[{done}/{total}] {result['id']}: {result['score']}/{result['max_score']}"
          + (f" (lost in {', '.join(lost)})" if lost else "") + f", {result['seconds']:.1f} s",
          file=sys.stderr, flush=True)
