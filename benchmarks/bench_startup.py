"""Start-up costs that every run of a tool pays: the imports and plugins behind nbgrader and pytest.

    .venv/bin/python benchmarks/bench_startup.py --rounds 5 [--jsonschema-overlay DIR]

Each round times, one after the other, with the same environment (no bytecode written, as in the
test suite):

- ``import torch``, the reference all our speed figures are divided by;
- ``import nbformat`` and ``import nbgrader.apps`` (every nbgrader command, the release, ``written``,
  each notebook test): with this venv's jsonschema, and with ``--jsonschema-overlay DIR`` put first
  on the path (a folder with another jsonschema, for example 4.26 made with
  ``pip install --no-deps --target DIR jsonschema==4.26.0 rfc3987-syntax lark``: jsonschema imports
  the IRI checker only where it is installed), the before of the pin in pyproject.toml;
- the public tests on solutions/ as a student runs them (``pytest`` there), and the same with
  hypothesis's pytest plugin put back (the lab's pytest.ini leaves it out);
- ``pytest --collect-only`` of this repository's tests, which each pytest-xdist worker of
  ``make test`` pays before its first test.

CPU seconds are the child's user + system time; medians over the rounds, and each as a ratio to
``import torch`` of the same rounds (this machine's speed changes by half within an hour).
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOLUTIONS = os.path.join(ROOT, "solutions")


def timed(argv, cwd=ROOT, env=None):
    """(wall seconds, CPU seconds) of one run of ``argv``; a failure stops the benchmark."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"bench_startup: {' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()[-300:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--jsonschema-overlay", metavar="DIR", help="a folder with another jsonschema, timed as well")
    args = p.parse_args()
    if args.rounds < 1:
        sys.exit("bench_startup: --rounds must be at least 1")
    if args.jsonschema_overlay and not os.path.isdir(os.path.join(args.jsonschema_overlay, "jsonschema")):
        sys.exit(f"bench_startup: {args.jsonschema_overlay} has no jsonschema folder")
    if args.jsonschema_overlay and subprocess.run(
            [sys.executable, "-c", "import rfc3987_syntax"], env={**os.environ, "PYTHONPATH": args.jsonschema_overlay},
            capture_output=True).returncode != 0:
        sys.exit(f"bench_startup: rfc3987_syntax does not import with {args.jsonschema_overlay}: "
                 "install it and lark into that folder too")

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    py = sys.executable
    runs = {"import torch": ([py, "-c", "import torch"], ROOT, env),
            "import nbformat": ([py, "-c", "import nbformat"], ROOT, env),
            "import nbgrader.apps": ([py, "-c", "import nbgrader.apps"], ROOT, env)}
    if args.jsonschema_overlay:
        overlay = {**env, "PYTHONPATH": os.path.abspath(args.jsonschema_overlay)}
        runs["import nbformat, other jsonschema"] = ([py, "-c", "import nbformat"], ROOT, overlay)
        runs["import nbgrader.apps, other jsonschema"] = ([py, "-c", "import nbgrader.apps"], ROOT, overlay)
    runs["public tests (pytest in solutions/)"] = ([py, "-m", "pytest", "-q"], SOLUTIONS, env)
    runs["public tests, hypothesis plugin back"] = (
        [py, "-m", "pytest", "-q", "-o", "addopts=-p no:cacheprovider -q --tb=short"], SOLUTIONS, env)
    runs["pytest --collect-only (tests/)"] = ([py, "-m", "pytest", "--collect-only", "-q"], ROOT, env)

    cpu = {name: [] for name in runs}
    wall = {name: [] for name in runs}
    for r in range(args.rounds):
        for name, (argv, cwd, run_env) in runs.items():
            w, c = timed(argv, cwd, run_env)
            wall[name].append(w)
            cpu[name].append(c)
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    torch_cpu = statistics.median(cpu["import torch"])
    print(f"{'':42} {'wall s':>7} {'CPU s':>7} {'CPU / import torch':>19}")
    for name in runs:
        c = statistics.median(cpu[name])
        print(f"{name:42} {statistics.median(wall[name]):7.2f} {c:7.2f} {c / torch_cpu:19.2f}")
    print(f"(medians of {args.rounds} rounds)")


if __name__ == "__main__":
    main()
