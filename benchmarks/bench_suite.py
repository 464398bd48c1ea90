"""``make test`` on a fresh clone, as CI runs it, timed against ``import torch`` around it.

    python3 benchmarks/bench_suite.py [--commit HEAD] [--torch-rounds 5] [--keep DIR]

Clones ``--commit`` of this repository into a new folder (nothing shared with
this checkout: its own ``.venv``), then times, one after the other:

1. ``make setup`` (a new venv: uv installs everything, compileall), with
   empty caches (``XDG_CACHE_HOME`` is a new folder for the whole run), as on
   a fresh CI machine;
2. ``python -c "import torch"`` with the new venv, ``--torch-rounds`` times;
3. ``make test`` (both tiers, two pytest-xdist workers), reading ``/proc/stat``
   before and after: how many of the machine's cores were busy on average, and
   how much time the hypervisor gave to other guests ("steal": this machine is
   shared);
4. ``import torch`` again, ``--torch-rounds`` times.

It prints each wall time, the median import of torch (before and after
together), and ``make setup`` + ``make test`` (what ``make test`` costs on a
fresh clone, since it creates the venv first) as a number of imports of torch:
the target is 10 minutes, which is 261 imports on the machine the targets were
set on (``import torch`` 2.3 s); the tests alone are given the same way.

It takes about 10 minutes and 6 GB of disk (the clone and its venv), removed at
the end, also after Ctrl-C or SIGTERM, unless ``--keep DIR`` names where to
make it. ``make`` runs without the caller's ``JOBS``, ``VENV``, ``PYTHONPATH``,
``MAKEFLAGS`` and pytest or colour settings, so that every run measures the
same thing. A failed step stops the benchmark with its last output lines and
the log's path; there is no partial figure.
"""
import argparse
import os
import re
import shutil
import statistics
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET_SECONDS = 600
TORCH_AT_TARGET = 2.3
# The caller's settings that would change what `make test` runs or how its output reads.
# The installers' own cache settings would defeat the empty caches (XDG_CACHE_HOME).
UNSET = ("JOBS", "VENV", "PYTHON", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "MAKEFLAGS", "MFLAGS", "MAKELEVEL",
         "PYTEST_ADDOPTS", "PYTEST_PLUGINS", "FORCE_COLOR", "PY_COLORS", "NO_COLOR", "INSTALLER",
         "PIP_CACHE_DIR", "PIP_NO_CACHE_DIR", "UV_CACHE_DIR", "UV_NO_CACHE", "UV_LINK_MODE", "MPLCONFIGDIR")
LOG = None
PROG = os.path.splitext(os.path.basename(sys.argv[0]))[0] or "bench_suite"   # bench_setup.py reuses these helpers


def fail(message, code=1):
    """One sentence on stderr (naming the log once there is one) and exit ``code``."""
    print(f"{PROG}: {message}" + (f" (log: {LOG})" if LOG else ""), file=sys.stderr)
    sys.exit(code)


def clean_env():
    return {k: v for k, v in os.environ.items() if k not in UNSET}


def run(argv, cwd, log):
    """Wall seconds of ``argv`` in ``cwd``, its output appended to ``log``; a failure stops the benchmark.

    The step runs in a process group of its own, so that an interrupted benchmark ends all of it
    (make, pytest, its workers) before the clone is removed.
    """
    started = time.monotonic()
    with open(log, "a", encoding="utf-8") as out:
        proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=clean_env(),
                                start_new_session=True)
        try:
            code = proc.wait()
        except BaseException:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:   # the step had ended already: the interrupt goes on as it is
                pass
            proc.wait()
            raise
    wall = time.monotonic() - started
    if code != 0:
        with open(log, encoding="utf-8", errors="replace") as f:
            tail = "".join(f.readlines()[-15:])
        fail(f"{' '.join(argv)} failed with exit code {code} after {wall:.0f} s; its last lines:\n{tail}")
    return wall


def stat_counters(line):
    """(busy, steal, total) jiffies from the first line of /proc/stat ("cpu  user nice system idle ...")."""
    fields = [int(x) for x in line.split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return user + nice + system + irq + softirq, steal, sum(fields[:8])


def cpu_share(first, last, cores):
    """(cores busy on average, share of the machine's time stolen) between two ``stat_counters``."""
    busy, steal, total = (b - a for a, b in zip(first, last))
    return (cores * busy / total, steal / total) if total > 0 else (0.0, 0.0)


def pytest_summary(log_text):
    """pytest's last summary ("799 passed, 6 warnings"), or "?" where the log has none."""
    found = re.findall(r"^=*\s*(\d+ (?:passed|failed|skipped|errors?|deselected)\b.*?) in [\d.]+s", log_text, re.M)
    return found[-1] if found else "?"


class CpuSampler:
    """Average busy cores and steal share over the time inside its with block."""

    def __init__(self):
        self.first = self.last = None

    @staticmethod
    def read():
        with open("/proc/stat", encoding="ascii") as f:
            return stat_counters(f.readline())

    def __enter__(self):
        self.first = self.read()
        return self

    def __exit__(self, *exc):
        self.last = self.read()

    def busy_cores_and_steal(self):
        return cpu_share(self.first, self.last, os.cpu_count() or 1)


def import_torch(python, rounds):
    times = []
    for _ in range(rounds):
        started = time.monotonic()
        proc = subprocess.run([python, "-c", "import torch"], capture_output=True, text=True, env=clean_env())
        if proc.returncode != 0:
            fail(f"{python} cannot import torch: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
        times.append(time.monotonic() - started)
    return times


def _terminate(signum, frame):
    """SIGTERM or SIGHUP: end the running step and remove the clone (``finally``), exit 128 + signum."""
    print(f"{PROG}: stopped by signal {signum}; the clone is removed", file=sys.stderr)
    raise SystemExit(128 + signum)


def main():
    global LOG
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                epilog="About 10 minutes and 6 GB of disk; see the module's docstring.")
    p.add_argument("--commit", default="HEAD", help="what to clone (default: HEAD of this checkout)")
    p.add_argument("--torch-rounds", type=int, default=5,
                   help="how many times to time import torch, before and after the tests (default 5)")
    p.add_argument("--keep", metavar="DIR", help="make the clone in DIR (must not exist) and keep it")
    args = p.parse_args()
    if args.torch_rounds < 1:
        p.error("--torch-rounds must be at least 1")
    if args.keep is not None:
        if not args.keep.strip():
            p.error("--keep needs a folder name")
        args.keep = os.path.abspath(args.keep)
        if os.path.exists(args.keep):
            p.error(f"--keep {args.keep} exists already: name a new folder")
    if not os.path.exists("/proc/stat"):
        fail("needs Linux (/proc/stat) to see how busy the machine was")
    commit = subprocess.run(["git", "rev-parse", "--verify", "--quiet", args.commit + "^{commit}"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    if not commit:
        p.error(f"{args.commit!r} is not a commit of {ROOT}")
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _terminate)
    descriptor, LOG = tempfile.mkstemp(prefix=f"bench-suite-{commit[:10]}-", suffix=".log")
    os.close(descriptor)
    clone = args.keep or tempfile.mkdtemp(prefix="bench-suite-")
    if not args.keep:
        os.chmod(clone, 0o755)  # as `git clone` makes it: the Gradescope tests run code as 'nobody' there
    # Empty caches (pip's, uv's, matplotlib's fonts: all under XDG_CACHE_HOME), as on a fresh CI machine.
    cache = tempfile.mkdtemp(prefix="bench-suite-cache-")
    os.environ["XDG_CACHE_HOME"] = cache
    try:
        run(["git", "clone", "--quiet", "--no-checkout", ROOT, clone], ROOT, LOG)
        run(["git", "checkout", "--quiet", commit], clone, LOG)
        setup = run(["make", "setup"], clone, LOG)
        python = os.path.join(clone, ".venv", "bin", "python")
        before = import_torch(python, args.torch_rounds)
        with CpuSampler() as cpu:
            tests = run(["make", "test"], clone, LOG)
        after = import_torch(python, args.torch_rounds)
    except KeyboardInterrupt:
        fail("interrupted; the clone is removed", 130)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(clone, ignore_errors=True)
            if os.path.exists(clone):
                print(f"{PROG}: could not remove all of {clone}", file=sys.stderr)
    with open(LOG, encoding="utf-8", errors="replace") as f:
        summary = pytest_summary(f.read())
    torch = statistics.median(before + after)
    cores, steal = cpu.busy_cores_and_steal()
    both = setup + tests
    print(f"commit {commit[:10]}, {os.cpu_count()} cores; log: {LOG}")
    print(f"make setup                 {setup:7.1f} s")
    print(f"make test                  {tests:7.1f} s  ({tests / 60:.1f} min; {summary})")
    print(f"  cores busy on average    {cores:7.2f}    steal {100 * steal:.1f}% of the machine's time")
    print(f"import torch, median       {torch:7.2f} s  (before: {', '.join(f'{t:.2f}' for t in before)};"
          f" after: {', '.join(f'{t:.2f}' for t in after)})")
    print(f"setup + test               {both:7.1f} s  ({both / 60:.1f} min; target {TARGET_SECONDS / 60:.0f} min)")
    print(f"setup + test / import torch {both / torch:6.0f}    (target: {TARGET_SECONDS / TORCH_AT_TARGET:.0f},"
          f" {TARGET_SECONDS} s at import torch {TORCH_AT_TARGET} s)")
    print(f"make test / import torch   {tests / torch:7.0f}")


if __name__ == "__main__":
    main()
