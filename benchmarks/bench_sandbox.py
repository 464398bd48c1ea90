"""What does the sandbox cost?  Worker start and the whole grade, per isolation mechanism.

    .venv/bin/python benchmarks/bench_sandbox.py [--runs 9] [--grade-runs 5] [--json FILE]

1. Worker start: from ``Worker(...)`` to the answer of its first request
   (a fresh Python, ``import torch``, the probes, confinement, importing
   solutions/), for ``none``, ``landlock`` and ``bwrap``, interleaved round by
   round so that the machine's noise hits every mechanism alike.  The added
   cost of a mechanism is the median of its per-round differences to ``none``.
2. The whole ``python -m autograder grade solutions`` command per mechanism,
   interleaved the same way.

Medians (and min/max) are printed; ``--json`` saves every sample.
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
sys.path.insert(0, str(ROOT))

from autograder import rubric, sandbox# noqa: E402
from autograder.grading.worker import Capture, Worker  # noqa: E402

MECHANISMS = ("none", "landlock", "bwrap")
RESULTS = os.path.join(tempfile.gettempdir(), "bench-sandbox-results.json")


def worker_start(mechanism, limits):
    started = time.perf_counter()
    worker = Worker(str(ROOT / "solutions"), limits, Capture(), mechanism)
    try:
        response = worker.request("__import__", {}, time.monotonic() + 60)
        assert "ok" in response, response
        return time.perf_counter() - started
    finally:
        worker.kill()


def whole_grade(mechanism):
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "autograder", "grade", "solutions", "--report", f"gradescope={RESULTS}",
                    "--sandbox", mechanism], cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - started


def summary(samples):
    return f"median {statistics.median(samples) * 1000:7.1f} ms (min {min(samples) * 1000:.1f}, " \
           f"max {max(samples) * 1000:.1f}, n={len(samples)})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--grade-runs", type=int, default=5)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    available = [m for m in MECHANISMS if m == "none" or sandbox.support(m).works[m]]
    print("mechanisms here:", ", ".join(available))
    limits = rubric.load().limits
    for mechanism in available:  # warm the page cache and the probe, unmeasured
        worker_start(mechanism, limits)
    starts = {m: [] for m in available}
    for _ in range(args.runs):
        for mechanism in available:
            starts[mechanism].append(worker_start(mechanism, limits))
    print("\nWorker start (to the answer of its first request):")
    for mechanism in available:
        line = f"  {mechanism:9s} {summary(starts[mechanism])}"
        if mechanism != "none":
            added = [a - b for a, b in zip(starts[mechanism], starts["none"])]
            line += f"; added vs none: median {statistics.median(added) * 1000:+.1f} ms"
        print(line)
    grades = {m: [] for m in available}
    for _ in range(args.grade_runs):
        for mechanism in available:
            grades[mechanism].append(whole_grade(mechanism))
    print("\nWhole `grade solutions` command:")
    for mechanism in available:
        ratio = statistics.median(grades[mechanism]) / statistics.median(grades["none"])
        print(f"  {mechanism:9s} median {statistics.median(grades[mechanism]):.2f} s "
              f"(min {min(grades[mechanism]):.2f}, max {max(grades[mechanism]):.2f}); {ratio:.2f}x none")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"worker_start": starts, "grade": grades}, f, indent=2)


if __name__ == "__main__":
    main()
