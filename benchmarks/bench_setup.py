"""``make setup`` on a fresh clone with each installer, empty caches, as on a new CI machine.

    python3 benchmarks/bench_setup.py [--commit HEAD] [--rounds 3]

Each round clones ``--commit`` into a new folder and runs ``make setup
INSTALLER=uv`` there, then does the same with ``INSTALLER=pip`` (the other
order in every other round, so that neither always goes first).  Every
``make setup`` gets a new, empty cache folder (``XDG_CACHE_HOME``, where both
pip and uv keep their caches), as a fresh CI machine has.  Both ``.venv`` of a
round must hold the same packages at the same versions (the installers
themselves, pip, uv and setuptools, left out): otherwise the benchmark stops,
since a faster install of something else would not be the same setup.

It prints every time, the median of each installer and their ratio, and
``python -c "import torch"`` (median of 5 after each round) to set the figures
against, as the other benchmarks do.  About 2.5 minutes a round; 12 GB of disk
at most (a clone, its ``.venv`` and a cache), removed after each setup, also
after Ctrl-C or SIGTERM.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

import bench_suite
from bench_suite import ROOT, import_torch, run

INSTALLERS = ("uv", "pip")
LEFT_OUT = {"pip", "uv", "setuptools"}
LIST_PACKAGES = ("import importlib.metadata as m, re; "
                 "print('\\n'.join(sorted({re.sub(r'[-_.]+', '-', d.metadata['Name']).lower() + '==' + d.version "
                 "for d in m.distributions()})))")


def packages(python):
    """``name==version`` of every distribution in ``python``'s environment, names normalized (PEP 503)."""
    out = subprocess.run([python, "-c", LIST_PACKAGES], capture_output=True, text=True, check=True).stdout
    return {line for line in out.splitlines() if line.split("==")[0] not in LEFT_OUT}


def installed_by(python):
    """Which tool installed torch in ``python``'s environment: its ``INSTALLER`` file (PEP 376), or None."""
    code = "import importlib.metadata as m; print((m.distribution('torch').read_text('INSTALLER') or '').strip())"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True).stdout.strip()
    return out or None


def installer_problem(requested, recorded):
    """One sentence when ``make setup INSTALLER=requested`` did not install with it, else None.

    The Makefile hands over to pip where uv fails, and a commit from before INSTALLER ignores it: the
    time would then be pip's (or uv's failure plus pip's), under uv's name.
    """
    if recorded == requested:
        return None
    return (f"make setup INSTALLER={requested} installed with {recorded or 'an unknown installer'}"
            f" (uv failed and pip took over, or this commit's Makefile has no INSTALLER): no figure for {requested}")


def setup_once(commit, installer, log, torch_rounds):
    """Wall seconds of ``make setup INSTALLER=installer`` in a new clone with empty caches; its packages."""
    scratch = tempfile.mkdtemp(prefix=f"bench-setup-{installer}-")
    try:
        clone, cache = os.path.join(scratch, "clone"), os.path.join(scratch, "cache")
        os.mkdir(cache)
        run(["git", "clone", "--quiet", "--no-checkout", ROOT, clone], ROOT, log)
        run(["git", "checkout", "--quiet", commit], clone, log)
        caller = os.environ.get("XDG_CACHE_HOME")
        os.environ["XDG_CACHE_HOME"] = cache   # run() passes this process's environment on
        try:
            seconds = run(["make", "setup", f"INSTALLER={installer}"], clone, log)
        finally:
            if caller is None:
                os.environ.pop("XDG_CACHE_HOME")
            else:
                os.environ["XDG_CACHE_HOME"] = caller
        python = os.path.join(clone, ".venv", "bin", "python")
        problem = installer_problem(installer, installed_by(python))
        if problem:
            bench_suite.fail(problem)
        torch = import_torch(python, torch_rounds) if torch_rounds else []
        return seconds, packages(python), torch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                epilog="About 2.5 minutes a round; see the module's docstring.")
    p.add_argument("--commit", default="HEAD", help="what to clone (default: HEAD of this checkout)")
    p.add_argument("--rounds", type=int, default=3, help="how many rounds (default 3)")
    args = p.parse_args()
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    commit = subprocess.run(["git", "rev-parse", "--verify", "--quiet", args.commit + "^{commit}"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    if not commit:
        p.error(f"{args.commit!r} is not a commit of {ROOT}")
    for sig in (bench_suite.signal.SIGTERM, bench_suite.signal.SIGHUP):
        bench_suite.signal.signal(sig, bench_suite._terminate)
    descriptor, bench_suite.LOG = tempfile.mkstemp(prefix=f"bench-setup-{commit[:10]}-", suffix=".log")
    os.close(descriptor)
    times = {name: [] for name in INSTALLERS}
    torch = []
    try:
        for round_ in range(args.rounds):
            order = INSTALLERS if round_ % 2 == 0 else INSTALLERS[::-1]
            installed = {}
            for installer in order:
                seconds, installed[installer], imports = setup_once(commit, installer, bench_suite.LOG,
                                                                    5 if installer == order[-1] else 0)
                times[installer].append(seconds)
                torch += imports
                print(f"round {round_ + 1}: make setup INSTALLER={installer:3} {seconds:6.1f} s", flush=True)
            differ = installed["uv"] ^ installed["pip"]
            if differ:
                bench_suite.fail("uv and pip installed different packages: " + ", ".join(sorted(differ)))
    except KeyboardInterrupt:
        bench_suite.fail("interrupted; the clones are removed", 130)
    uv, pip = (statistics.median(times[name]) for name in ("uv", "pip"))
    print(f"commit {commit[:10]}, {os.cpu_count()} cores, {args.rounds} rounds; log: {bench_suite.LOG}")
    print(f"make setup, median: uv {uv:.1f} s, pip {pip:.1f} s; uv / pip {uv / pip:.2f}"
          f" (the same {len(installed['uv'])} packages)")
    print(f"import torch, median {statistics.median(torch):.2f} s: uv {uv / statistics.median(torch):.0f},"
          f" pip {pip / statistics.median(torch):.0f} imports of torch")


if __name__ == "__main__":
    sys.exit(main())
