"""``make test`` on a fresh clone, as CI runs it, timed against ``import torch`` around it.

    python3 benchmarks/bench_suite.py [--commit HEAD] [--torch-rounds 5] [--keep DIR]

Clones ``--commit`` of this repository into a new folder (nothing shared with
this checkout: its own ``.venv``), then times, one after the other:

1. ``make setup`` (a new venv: pip installs everything, compileall);
2. ``python -c "import torch"`` with the new venv, ``--torch-rounds`` times;
3. ``make test`` (both tiers, two pytest-xdist workers), while sampling
   ``/proc/stat``: how many of the machine's cores were busy, and how much
   time the hypervisor gave to other guests ("steal": this machine is shared);
4. ``import torch`` again, ``--torch-rounds`` times.

It prints each wall time, the median import of torch (before and after
together), and the tests' time as a number of imports of torch: the target is
10 minutes, which is 261 imports on the machine the targets were set on
(``import torch`` 2.3 s). The clone (about 6 GB with its venv) is removed at
the end unless ``--keep DIR`` names where to make it. A failed step stops the
benchmark with its last output lines; there is no partial figure.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET_SECONDS = 600
TORCH_AT_TARGET = 2.3


def fail(message):
    sys.exit(f"bench_suite: {message}")


def run(argv, cwd, log):
    """Wall seconds of ``argv`` in ``cwd``, its output appended to ``log``; a failure stops the benchmark."""
    started = time.monotonic()
    with open(log, "a", encoding="utf-8") as out:
        code = subprocess.run(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT).returncode
    wall = time.monotonic() - started
    if code != 0:
        with open(log, encoding="utf-8", errors="replace") as f:
            tail = "".join(f.readlines()[-15:])
        fail(f"{' '.join(argv)} failed with exit code {code} after {wall:.0f} s; its last lines:\n{tail}")
    return wall


def cpu_counters():
    """(busy, steal, total) jiffies of the whole machine, from the first line of /proc/stat."""
    with open("/proc/stat", encoding="ascii") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return user + nice + system + irq + softirq, steal, sum(fields[:8])


class CpuSampler:
    """Average busy cores and steal share over the time inside its with block."""

    def __init__(self):
        self.first = self.last = None

    def __enter__(self):
        self.first = cpu_counters()
        return self

    def __exit__(self, *exc):
        self.last = cpu_counters()

    def busy_cores_and_steal(self):
        busy, steal, total = (b - a for a, b in zip(self.first, self.last))
        cores = os.cpu_count() or 1
        return (cores * busy / total, steal / total) if total else (0.0, 0.0)


def import_torch(python, rounds):
    times = []
    for _ in range(rounds):
        started = time.monotonic()
        if subprocess.run([python, "-c", "import torch"], capture_output=True).returncode != 0:
            fail(f"{python} cannot import torch")
        times.append(time.monotonic() - started)
    return times


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--commit", default="HEAD", help="what to clone (default: HEAD of this checkout)")
    p.add_argument("--torch-rounds", type=int, default=5)
    p.add_argument("--keep", metavar="DIR", help="make the clone in DIR (must not exist) and keep it")
    args = p.parse_args()
    if args.torch_rounds < 1:
        fail("--torch-rounds must be at least 1")
    if not os.path.exists("/proc/stat"):
        fail("needs Linux (/proc/stat) to see how busy the machine was")
    commit = subprocess.run(["git", "rev-parse", "--verify", "--quiet", args.commit + "^{commit}"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    if not commit:
        fail(f"{args.commit!r} is not a commit of {ROOT}")
    if args.keep and os.path.exists(args.keep):
        fail(f"{args.keep} exists already: name a new folder")
    clone = args.keep or tempfile.mkdtemp(prefix="bench-suite-")
    if not args.keep:
        os.chmod(clone, 0o755)  # as `git clone` makes it: the Gradescope tests run code as 'nobody' there
    log = os.path.join(tempfile.gettempdir(), f"bench-suite-{commit[:10]}.log")
    open(log, "w").close()
    try:
        run(["git", "clone", "--quiet", "--no-checkout", ROOT, clone], ROOT, log)
        run(["git", "checkout", "--quiet", commit], clone, log)
        setup = run(["make", "setup"], clone, log)
        python = os.path.join(clone, ".venv", "bin", "python")
        before = import_torch(python, args.torch_rounds)
        with CpuSampler() as cpu:
            tests = run(["make", "test"], clone, log)
        after = import_torch(python, args.torch_rounds)
    finally:
        if not args.keep:
            shutil.rmtree(clone, ignore_errors=True)
    with open(log, encoding="utf-8", errors="replace") as f:
        counts = re.findall(r"^=*\s*(\d+ passed.*?) in [\d.]+s", f.read(), re.M)
    torch = statistics.median(before + after)
    cores, steal = cpu.busy_cores_and_steal()
    print(f"commit {commit[:10]}, {os.cpu_count()} cores; log: {log}")
    print(f"make setup                 {setup:7.1f} s")
    print(f"make test                  {tests:7.1f} s  ({tests / 60:.1f} min; {counts[-1] if counts else '?'})")
    print(f"  cores busy on average    {cores:7.2f}    steal {100 * steal:.1f}% of the machine's time")
    print(f"import torch, median       {torch:7.2f} s  (before: {', '.join(f'{t:.2f}' for t in before)};"
          f" after: {', '.join(f'{t:.2f}' for t in after)})")
    print(f"make test / import torch   {tests / torch:7.0f}    (target: {TARGET_SECONDS} s, "
          f"{TARGET_SECONDS / TORCH_AT_TARGET:.0f} at import torch {TORCH_AT_TARGET} s)")
    print(f"setup + test               {setup + tests:7.1f} s  ({(setup + tests) / 60:.1f} min)")


if __name__ == "__main__":
    main()
