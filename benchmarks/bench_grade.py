"""How long does grading take?  Time per check, the worker's start, the whole command.

    .venv/bin/python benchmarks/bench_grade.py [--runs 5] [--worst-case] [--json FILE]

Measurements, each the median (and max) of ``--runs`` runs:

1. starting a worker: a fresh Python process, ``import torch``, the grader's
   probes, and importing the submission (solutions/);
2. each rubric check on solutions/, in one grading run (a warm worker; the
   first check's time includes the worker's start);
3. the whole command ``python -m autograder grade SUBMISSION`` (the grader's
   own start included) for solutions/ and for the stubs in assignment/.

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
    per_check = {}
    for _ in range(args.runs):
        for check in grade(str(solutions)).checks:
            assert check.score == check.points, f"solutions lost points in {check.id}"
            per_check.setdefault(check.id, []).append(check.seconds)
    figures["check_s"] = {cid: summary(values) for cid, values in per_check.items()}
    figures["command_solutions_s"] = summary([command(solutions) for _ in range(args.runs)])
    figures["command_stubs_s"] = summary([command(stubs) for _ in range(args.runs)])
    if args.worst_case:
        from support.submissions import build_submission

        with tempfile.TemporaryDirectory() as folder:
            hostile = build_submission(folder, {f: LOOP for f in ("reparameterize", "kl_divergence", "kl_warmup")})
            figures["command_worst_case_s"] = summary([command(hostile)])

    print(f"Grading benchmark ({args.runs} runs, {figures['cpu_count']} CPUs; median / max seconds)")
    print(f"  {'worker start (python + torch + submission)':45s} {figures['worker_start_s']['median']:6.2f}"
          f" / {figures['worker_start_s']['max']:.2f}")
    for cid, s in figures["check_s"].items():
        print(f"  check {cid:39s} {s['median']:6.2f} / {s['max']:.2f}")
    for key, label in (("command_solutions_s", "grade solutions/ (whole command)"),
                       ("command_stubs_s", "grade assignment/ stubs (whole command)"),
                       ("command_worst_case_s", "grade a submission that loops forever")):
        if key in figures:
            print(f"  {label:45s} {figures[key]['median']:6.2f} / {figures[key]['max']:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
