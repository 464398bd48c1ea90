"""How long does grading a class take, and how does it scale with --jobs?

    .venv/bin/python benchmarks/bench_grade_all.py [--students 100] [--jobs 1 2 4] [--scaling-students 20]

Builds a class of submissions (a third correct, a third untouched stubs, a
third with one classic bug each), then times ``python -m autograder
grade-all``: the whole class at the largest ``--jobs`` that helps on this
machine (2 on 2 cores), and a smaller class at each ``--jobs`` value to show
the scaling.  Every run starts from an empty output folder (no resume).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUGS = [  # (module, reference text, buggy text)
    ("vae.py", "std = torch.exp(0.5 * logvar)", "std = torch.exp(logvar)"),
    ("vae.py", "0.5 * torch.sum(", "-0.5 * torch.sum("),
    ("vae.py", "dim=-1)\n", "dim=-1) / mu.shape[-1]\n"),
    ("schedules.py", "min(1.0, epoch / warmup_epochs)", "(epoch + 1) / warmup_epochs"),
]


def make_class(folder, n):
    for i in range(n):
        student = folder / f"student{i:03d}"
        kind = i % 3
        source = ROOT / ("assignment" if kind == 1 else "solutions") / "lab6_generative"
        shutil.copytree(source, student / "lab6_generative", ignore=shutil.ignore_patterns("__pycache__"))
        if kind == 2:
            module, old, new = BUGS[(i // 3) % len(BUGS)]
            path = student / "lab6_generative" / module
            path.write_text(path.read_text().replace(old, new))


def grade_all(subs, out, jobs):
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade-all", str(subs), "--out", str(out),
                           "--jobs", str(jobs)], cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"grade-all failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return elapsed


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--students", type=int, default=100)
    p.add_argument("--scaling-students", type=int, default=20)
    p.add_argument("--jobs", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--class-jobs", type=int, default=2, help="--jobs for the whole class")
    args = p.parse_args()
    print(f"{os.cpu_count()} CPU cores")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        small, big = tmp / "small", tmp / "big"
        make_class(small, args.scaling_students)
        rows = []
        for jobs in args.jobs:
            seconds = grade_all(small, tmp / f"out-small-{jobs}", jobs)
            rows.append((jobs, seconds))
            print(f"{args.scaling_students} students, --jobs {jobs}: {seconds:.0f} s "
                  f"({seconds / args.scaling_students:.1f} s per student)", flush=True)
        make_class(big, args.students)
        seconds = grade_all(big, tmp / "out-big", args.class_jobs)
        print(f"{args.students} students, --jobs {args.class_jobs}: {seconds:.0f} s "
              f"({seconds / args.students:.1f} s per student)", flush=True)
    base = rows[0][1]
    print(f"\n| students | --jobs | wall | per student | speed-up vs --jobs {rows[0][0]} |")
    print("|---|---|---|---|---|")
    for jobs, s in rows:
        print(f"| {args.scaling_students} | {jobs} | {s:.0f} s | {s / args.scaling_students:.1f} s | {base / s:.2f}x |")
    print(f"| {args.students} | {args.class_jobs} | {seconds:.0f} s | {seconds / args.students:.1f} s | |")


if __name__ == "__main__":
    main()
