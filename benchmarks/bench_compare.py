"""This tree against an earlier commit, in one run: the whole `grade` command and a worker's start.

    .venv/bin/python benchmarks/bench_compare.py --baseline REV [--runs 7] [--starts 9] [--json FILE]

The baseline is checked out into a temporary git worktree and run with this
repository's venv (``python -m autograder`` imports the tree it runs in).
Rounds are interleaved (baseline, then this tree, in each round), so the
machine's noise hits both alike; figures are medians, with the median of the
paired differences for the worker's start.  Written for issue 14 (verifying
replies in the grader must not slow grading: ``grade solutions`` within 10%,
a worker's start within +20 ms).
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

START = """
import json, statistics, sys, time
from autograder import rubric
from autograder.grading.session import Session
limits = rubric.load().limits
times = []
for _ in range(int(sys.argv[1])):
    session = Session("solutions", limits, sys.argv[2])
    started = time.perf_counter()
    try:
        session.ensure_worker()
        times.append(time.perf_counter() - started)
    finally:
        session.close()
print(json.dumps(times))
"""


def grade_seconds(tree, mechanism):
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "autograder", "grade", "solutions", "--sandbox", mechanism,
                        "--results", os.path.join(out, "r.json")], cwd=tree, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - started


def worker_starts(tree, mechanism, n):
    out = subprocess.run([sys.executable, "-c", START, str(n), mechanism], cwd=tree, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="a commit (e.g. c255cf3)")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--starts", type=int, default=9)
    parser.add_argument("--sandbox", default="bwrap")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    base = tempfile.mkdtemp(prefix="bench-baseline-")
    subprocess.run(["git", "worktree", "add", "--detach", base, args.baseline], cwd=ROOT, check=True,
                   capture_output=True)
    try:
        trees = {"baseline": base, "this tree": str(ROOT)}
        grades = {name: [] for name in trees}
        starts = {name: [] for name in trees}
        for round_ in range(args.runs):
            for name, tree in trees.items():
                grades[name].append(grade_seconds(tree, args.sandbox))
                starts[name].extend(worker_starts(tree, args.sandbox, max(1, args.starts // args.runs + 1)))
            print(f"round {round_ + 1}/{args.runs}: " + ", ".join(
                f"{n} {grades[n][-1]:.2f} s" for n in trees), flush=True)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", base], cwd=ROOT, capture_output=True)
    n = min(len(starts["baseline"]), len(starts["this tree"]))
    paired = [b - a for a, b in zip(starts["baseline"][:n], starts["this tree"][:n])]
    figures = {
        "sandbox": args.sandbox, "runs": args.runs, "baseline": args.baseline,
        "grade_median_s": {k: statistics.median(v) for k, v in grades.items()},
        "grade_ratio": statistics.median(grades["this tree"]) / statistics.median(grades["baseline"]),
        "worker_start_median_ms": {k: 1000 * statistics.median(v) for k, v in starts.items()},
        "worker_start_paired_difference_ms": 1000 * statistics.median(paired),
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
