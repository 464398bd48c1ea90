"""Where the test suite's CPU time goes: every process it starts, by kind, from the kernel's own accounting.

    apt-get install acct                                   # accton and dump-acct (Debian)
    .venv/bin/python benchmarks/suite_cpu.py [--out DIR] [-- PYTEST_ARGS...]

It runs ``make test``'s command (``pytest -q -n 2 --dist loadfile``, or the
arguments after ``--``) with BSD process accounting on (``accton``, root
only): the kernel writes one record for every process that ends, with its CPU
seconds, whoever its parent was.  ``time`` cannot see all of them: the
sandboxes, templates and grading processes are often reaped by someone else
than the test that started them.  While the tests run, this script also
notes the command line of every process as it appears (``/proc``, every 50 ms),
which names a record's kind; a process forked without ``exec`` keeps its
parent's command line, so a worker forked from a template counts as one.

It prints the wall time, how busy the machine's cores were (``/proc/stat``),
and a table of CPU seconds by kind of process.  ``--out DIR`` keeps the raw
records (``processes.tsv``: pid, ppid, CPU seconds, forked without exec, kind,
command line) for a closer look.

Only this script switches accounting on, and it switches it off again in every
case.  The figures in README.md ("Where the suite's time goes") come from it.
"""
import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"

# (substring of the command line, kind): the first that matches names the kind.
KINDS = (
    ('"selftest": true', "sandbox self-test (no torch)"),
    ("autograder.grading.template_main", "template (torch loaded once)"),
    ("autograder.grading.worker_main", "grading worker started from nothing"),
    ("autograder.grading.pool", "grading process of a pool"),
    ("exec(eval(sys.stdin.readline()))", "pytest-xdist worker (tests in process)"),
    ("ipykernel", "notebook kernel"),
    ("nbgrader", "nbgrader command"),
    ("jupyter", "jupyter server"),
    ("-m autograder grade-all", "python -m autograder grade-all"),
    ("__main__.py grade-all", "python -m autograder grade-all"),
    ("-m autograder grade ", "python -m autograder grade"),
    ("__main__.py grade ", "python -m autograder grade"),
    ("-m autograder ", "python -m autograder (other commands)"),
    ("-m pytest", "pytest run by a test (public tests)"),
    ("pytest/__main__.py", "pytest run by a test (public tests)"),
    ("lab6_generative", "the lab's programs (training, anomaly)"),
    ("alembic", "alembic"),
)


def kind_of(command, comm):
    for needle, kind in KINDS:
        if needle in command:
            if kind.startswith("template") and FORKED in comm:
                return "grading worker forked from a template"
            return kind
    if "python" in comm or "python" in command.split(" ", 1)[0]:
        return "other Python"
    return f"{comm.replace(FORKED, '').strip() or '?'} (not Python)"


FORKED = "\0forked"


class Sampler(threading.Thread):
    """The command line of every process, noted as it appears (again while it is still bwrap's)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.commands, self.stop = {}, threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(0.05)

    def sample(self):
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            known = self.commands.get(pid)
            if known is not None and "bwrap" not in known.split(" ", 1)[0] and known:
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    command = f.read(4096).replace(b"\0", b" ").decode("utf-8", "replace").strip()
            except OSError:
                continue
            self.commands[pid] = command


def cpu_busy():
    """(busy, total) jiffies of all cores since boot."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def records(pacct):
    """(pid, ppid, CPU seconds, forked without exec, comm) of every ended process, from dump-acct."""
    out = subprocess.run(["dump-acct", pacct], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        f = [x.strip() for x in line.split("|")]
        if len(f) < 12:
            continue
        # comm|version|utime|stime|etime|uid|gid|mem|io|pid|ppid|flags|...; times in 1/100 s
        yield int(f[9]), int(f[10]), (float(f[2]) + float(f[3])) / 100, "F" in f[11], f[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="keep the raw records here (processes.tsv)")
    parser.add_argument("pytest_args", nargs="*", help="after --: pytest's arguments (default: make test's)")
    args = parser.parse_args(argv)
    for tool in ("accton", "dump-acct"):
        if shutil.which(tool) is None:
            sys.exit(f"error: {tool} is not installed: apt-get install acct")
    if os.geteuid() != 0:
        sys.exit("error: process accounting (accton) needs root")
    pytest_args = args.pytest_args or ["-q", "-n", "2", "--dist", "loadfile"]

    work = tempfile.mkdtemp(prefix="suite-cpu-")
    pacct = os.path.join(work, "pacct")
    open(pacct, "w").close()
    sampler = Sampler()
    subprocess.run(["accton", pacct], check=True, capture_output=True)
    try:
        sampler.start()
        busy0, total0 = cpu_busy()
        start = time.monotonic()
        suite = subprocess.Popen([str(PYTHON), "-m", "pytest", *pytest_args], cwd=ROOT)
        code = suite.wait()
        wall = time.monotonic() - start
        busy1, total1 = cpu_busy()
    finally:
        subprocess.run(["accton", "off"], capture_output=True)
        sampler.stop.set()
        sampler.join()

    rows = []
    for pid, ppid, cpu, forked, comm in records(pacct):
        command = sampler.commands.get(pid, "")
        kind = "pytest itself (the suite's main process)" if pid == suite.pid else \
            kind_of(command, comm + (FORKED if forked else ""))
        rows.append((pid, ppid, cpu, forked, kind, command))
    shutil.rmtree(work, ignore_errors=True)

    total = sum(r[2] for r in rows)
    by_kind = {}
    for row in rows:
        by_kind.setdefault(row[4], []).append(row[2])
    print(f"\npytest exited {code}; wall {wall:.0f} s; the {os.cpu_count()} cores were "
          f"{100 * (busy1 - busy0) / max(total1 - total0, 1):.0f}% busy; "
          f"{total:.0f} CPU s in {len(rows)} processes that ended")
    print(f"\n| kind of process | processes | CPU s | share | median CPU s each |\n|---|---|---|---|---|")
    for kind, cpus in sorted(by_kind.items(), key=lambda kv: -sum(kv[1])):
        if sum(cpus) < 0.005 * total:
            continue
        print(f"| {kind} | {len(cpus)} | {sum(cpus):.0f} | {100 * sum(cpus) / total:.0f}% | "
              f"{statistics.median(cpus):.2f} |")
    rest = [c for cpus in by_kind.values() if sum(cpus) < 0.005 * total for c in cpus]
    if rest:
        print(f"| everything else | {len(rest)} | {sum(rest):.0f} | {100 * sum(rest) / total:.0f}% | |")
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "processes.tsv"), "w", newline="") as f:
            writer = csv.writer(f, delimiter="\t")
            writer.writerow(["pid", "ppid", "cpu_seconds", "forked_without_exec", "kind", "command"])
            writer.writerows((pid, ppid, f"{cpu:.2f}", int(forked), kind, command[:500])
                             for pid, ppid, cpu, forked, kind, command in rows)
    return code


if __name__ == "__main__":
    sys.exit(main())
