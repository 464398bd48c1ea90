"""The speed targets of the grading pool, measured in one run, each also as a ratio to importing torch.

    .venv/bin/python benchmarks/bench_targets.py [--rounds 5] [--students 12] [--jobs 2] [--audit] [--fast-tests]
                                                 [--baseline DIR]

These machines are shared and noisy, so every figure is a median of rounds that
interleave the measurements (round 1: torch, grade, class; round 2: ...), and
each is divided by the median of ``python -c "import torch"`` timed in the same
rounds:

- ``import torch``: a fresh interpreter importing torch (the unit);
- ``grade solutions/``: the whole command ``python -m autograder grade solutions``
  (target: at most 2x the import of torch);
- a class: ``python -m autograder grade-all`` of ``--students`` students (a third
  correct, a third stubs, a third with one bug) with ``--jobs``, from an empty
  output folder, per student (target: at most 0.6x the import of torch per student);
- ``grade``, a crashing submission: solutions/ whose ``kl_divergence`` ends the
  process (``os._exit``), so five checks lose their worker and each restart
  needs a new one (forked from ``grade``'s own template after the first);
- ``--audit``: the whole audit (``python -m autograder audit --jobs 2``), once (target: 2 min);
- ``--fast-tests``: ``pytest -m "not slow"``, once per round (target: 60 s).

``--baseline DIR`` (a checkout of an older commit, e.g. ``git worktree add /tmp/before 3c68f2c``)
times ``grade`` and ``grade-all`` of that tree too, in the same rounds, interleaved.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_grade_all import make_class  # noqa: E402


CRASHING = "grade, a submission that crashes 5 checks"


def make_crashing(folder):
    """solutions/ with a kl_divergence that ends the worker process."""
    shutil.copytree(ROOT / "solutions" / "lab6_generative", folder / "lab6_generative",
                    ignore=shutil.ignore_patterns("__pycache__"))
    with open(folder / "lab6_generative" / "vae.py", "a", encoding="utf-8") as f:
        f.write("\n\ndef kl_divergence(mu, logvar, reduction=\"sum\"):\n    import os\n    os._exit(3)\n")


def timed(argv, cwd=ROOT, **kwargs):
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, **kwargs)
    seconds = time.perf_counter() - started
    if proc.returncode not in (0,):
        sys.exit(f"{' '.join(map(str, argv))} failed ({proc.returncode}):\n{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}")
    return seconds


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--students", type=int, default=12)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--audit", action="store_true", help="also time the whole audit, once")
    p.add_argument("--fast-tests", action="store_true", help="also time pytest -m 'not slow' each round")
    p.add_argument("--baseline", metavar="DIR", help="an older checkout to time in the same rounds")
    args = p.parse_args()
    python = sys.executable
    rows = {"import torch": [], "grade solutions/": [], "grade-all, per student": [], CRASHING: []}
    trees = [("", ROOT)]
    if args.baseline:
        trees.append((" (baseline)", Path(args.baseline).resolve()))
        rows.update({"grade solutions/ (baseline)": [], "grade-all, per student (baseline)": [],
                     f"{CRASHING} (baseline)": []})
    if args.fast_tests:
        rows["pytest -m 'not slow'"] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_class(tmp / "class", args.students)
        make_crashing(tmp / "crashing")
        for round_ in range(args.rounds):
            rows["import torch"].append(timed([python, "-c", "import torch"]))
            for label, tree in trees:
                rows[f"grade solutions/{label}"].append(timed(
                    [python, "-m", "autograder", "grade", "solutions", "--report", f"gradescope={tmp / 'r.json'}"],
                    cwd=tree))
                out = tmp / f"out-{round_}"
                whole = timed([python, "-m", "autograder", "grade-all", str(tmp / "class"), "--out", str(out),
                               "--jobs", str(args.jobs)], cwd=tree)
                rows[f"grade-all, per student{label}"].append(whole / args.students)
                shutil.rmtree(out)
                rows[f"{CRASHING}{label}"].append(timed(
                    [python, "-m", "autograder", "grade", str(tmp / "crashing"), "--report",
                     f"gradescope={tmp / 'r.json'}"], cwd=tree))
            if args.fast_tests:
                rows["pytest -m 'not slow'"].append(timed([python, "-m", "pytest", "-q", "-m", "not slow",
                                                           "-p", "no:cacheprovider"]))
            print(f"round {round_ + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in rows.items()), flush=True)
        audit = None
        if args.audit:
            audit = timed([python, "-m", "autograder", "audit", "--out", str(tmp / "audit"), "--jobs", "2"])
    torch = statistics.median(rows["import torch"])
    print(f"\n{os.cpu_count()} cores, {args.rounds} rounds interleaved, class of {args.students} with "
          f"--jobs {args.jobs}\n")
    print("| measurement | median | min-max | ratio to import torch |")
    print("|---|---|---|---|")
    for name, values in rows.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.2f} s | {min(values):.2f}-{max(values):.2f} s | {median / torch:.2f}x |")
    if audit is not None:
        print(f"| the audit (once) | {audit:.0f} s | | {audit / torch:.0f}x |")


if __name__ == "__main__":
    main()
