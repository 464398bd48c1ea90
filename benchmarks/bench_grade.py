"""How long does grading take?  Time per check, the worker's start, the whole command.

    .venv/bin/python benchmarks/bench_grade.py [--runs 5] [--worst-case] [--json FILE]

Measurements, each the median (and max) of ``--runs`` runs:

1. starting a worker: a fresh Python process, ``import torch``, the grader's
   probes, and importing the submission (solutions/);
2. each rubric check on solutions/, in one grading run (a warm worker; the
   first check's time includes the worker's start);
   split into the time in the worker (``Worker.request``: the probe calls'
   round trips, the student's code and the wire), the worker's start (the
   first check's ``Session.ensure_worker``), the grader's validation of the
   replies (the rest of ``CheckHandle.call``) and the grader's own work
   (pytest, hypothesis, the checks' reference computations: the rest), with
   the number of probe calls; and the slowest 10 tests;
3. the whole command ``python -m autograder grade SUBMISSION`` (the grader's
   own start included) for solutions/ and for the stubs in assignment/;
4. ``python -c "import torch"``, the floor of any process that grades: every
   other figure is also given as a multiple of it (machines differ; ratios
   to it compare across them).

``--worst-case`` also grades a submission whose every function loops forever
while ignoring signals: every check times out, the worker is killed and
restarted, and the grading time budget (grading.yml) caps the total.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from autograder import rubric# noqa: E402
from autograder.grading.engine import grade  # noqa: E402
from autograder.grading import session as session_mod, worker as worker_mod  # noqa: E402
from autograder.grading.session import Session  # noqa: E402

LOOP = ("import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "while True:\n    pass\n")


def worker_start(submission):
    session = Session(submission, rubric.load().limits)
    started = time.perf_counter()
    try:
        session.ensure_worker()
        return time.perf_counter() - started
    finally:
        session.close()


def command(submission):
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "autograder", "grade", str(submission),
                        "--report", "gradescope=" + os.path.join(out, "results.json")],
                       cwd=ROOT, check=True, capture_output=True)
        return time.perf_counter() - started


def import_torch():
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch"], check=True, capture_output=True)
    return time.perf_counter() - started


class Split:
    """Times ``CheckHandle.call``, ``Session.ensure_worker`` and ``Worker.request`` per check while installed."""

    def __init__(self):
        self.figures = {}   # check id -> {"calls", "call_s", "start_s", "worker_s"}
        self.current = None

    def _add(self, key, seconds):
        if self.current is not None:
            self.figures.setdefault(self.current, {"calls": 0, "call_s": 0.0, "start_s": 0.0, "worker_s": 0.0})
            self.figures[self.current][key] += seconds

    def __enter__(self):
        self.saved = call, ensure, request = (session_mod.CheckHandle.call, session_mod.Session.ensure_worker,
                                              worker_mod.Worker.request)
        split = self

        def timed_call(handle, *args, **kwargs):
            outer, split.current = split.current, handle.label
            started = time.perf_counter()
            try:
                return call(handle, *args, **kwargs)
            finally:
                split._add("call_s", time.perf_counter() - started)
                split._add("calls", 1)
                split.current = outer

        def timed(method, key):
            def wrapper(*args, **kwargs):
                if split.starting:  # a worker's start sends requests of its own (the self-test, the import)
                    return method(*args, **kwargs)
                split.starting = key == "start_s"
                started = time.perf_counter()
                try:
                    return method(*args, **kwargs)
                finally:
                    split.starting = False
                    split._add(key, time.perf_counter() - started)
            return wrapper

        self.starting = False
        session_mod.CheckHandle.call = timed_call
        session_mod.Session.ensure_worker = timed(ensure, "start_s")
        worker_mod.Worker.request = timed(request, "worker_s")
        return self

    def __exit__(self, *exc):
        session_mod.CheckHandle.call, session_mod.Session.ensure_worker, worker_mod.Worker.request = self.saved


def summary(values):
    return {"median": round(statistics.median(values), 2), "max": round(max(values), 2), "runs": len(values)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--worst-case", action="store_true", help="also time a submission that loops forever")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    solutions, stubs = ROOT / "solutions", ROOT / "assignment"

    figures = {"cpu_count": os.cpu_count(), "worker_start_s": summary([worker_start(solutions)
                                                                       for _ in range(args.runs)])}
    per_check, parts, per_test = {}, {}, {}
    for _ in range(args.runs):
        with Split() as split:
            checks = grade(str(solutions)).checks
        for check in checks:
            assert check.score == check.points, f"solutions lost points in {check.id}"
            per_check.setdefault(check.id, []).append(check.seconds)
            got = split.figures.get(check.id, {"calls": 0, "call_s": 0.0, "start_s": 0.0, "worker_s": 0.0})
            row = parts.setdefault(check.id, {"calls": [], "worker_s": [], "start_s": [], "validate_s": [],
                                              "grader_s": []})
            row["calls"].append(got["calls"])
            row["worker_s"].append(got["worker_s"])
            row["start_s"].append(got["start_s"])
            row["validate_s"].append(got["call_s"] - got["worker_s"] - got["start_s"])
            row["grader_s"].append(check.seconds - got["call_s"])
            for test in check.tests:
                per_test.setdefault(f"{check.id}::{test.name}", []).append(test.seconds)
    figures["check_s"] = {cid: summary(values) for cid, values in per_check.items()}
    figures["check_parts"] = {cid: {key: (max(values) if key == "calls" else summary(values)["median"])
                                    for key, values in row.items()} for cid, row in parts.items()}
    figures["slowest_tests_s"] = dict(sorted(((name, summary(values)["median"]) for name, values in per_test.items()),
                                             key=lambda item: -item[1])[:10])
    figures["command_solutions_s"] = summary([command(solutions) for _ in range(args.runs)])
    figures["command_stubs_s"] = summary([command(stubs) for _ in range(args.runs)])
    figures["import_torch_s"] = summary([import_torch() for _ in range(args.runs)])
    if args.worst_case:
        from support.submissions import build_submission

        with tempfile.TemporaryDirectory() as folder:
            hostile = build_submission(folder, {f: LOOP for f in ("reparameterize", "kl_divergence", "kl_warmup")})
            figures["command_worst_case_s"] = summary([command(hostile)])

    torch_s = figures["import_torch_s"]["median"]

    def line(label, s):
        print(f"  {label:45s} {s['median']:6.2f} / {s['max']:.2f}   {s['median'] / torch_s:5.2f} x import torch")

    print(f"Grading benchmark ({args.runs} runs, {figures['cpu_count']} CPUs; median / max seconds)")
    line("python -c 'import torch'", figures["import_torch_s"])
    line("worker start (python + torch + submission)", figures["worker_start_s"])
    for cid, s in figures["check_s"].items():
        line(f"check {cid}", s)
    for key, label in (("command_solutions_s", "grade solutions/ (whole command)"),
                       ("command_stubs_s", "grade assignment/ stubs (whole command)"),
                       ("command_worst_case_s", "grade a submission that loops forever")):
        if key in figures:
            line(label, figures[key])
    print("Per check, medians: probe calls | worker (round trips) | worker start | reply validation | grader")
    for cid, p in figures["check_parts"].items():
        print(f"  {cid:20s} {p['calls']:5d} calls | {p['worker_s']:6.2f} | {p['start_s']:6.2f} | "
              f"{p['validate_s']:6.2f} | {p['grader_s']:6.2f}")
    print("Slowest tests (median seconds)")
    for name, seconds in figures["slowest_tests_s"].items():
        print(f"  {seconds:6.2f}  {name}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
