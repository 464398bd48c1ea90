"""Where the test suite's CPU time goes: every process it starts, by kind, from the kernel's own accounting.

    apt-get install acct                                   # accton and dump-acct (Debian)
    .venv/bin/python benchmarks/suite_cpu.py [--out DIR] [-- PYTEST_ARGS...]

It runs ``make test``'s command (``pytest -q -n 2 --dist loadfile``, or the
arguments after ``--``) with BSD process accounting on (``accton``, root
only): the kernel writes one record for every process that ends, with its CPU
seconds, whoever its parent was.  ``time`` cannot see all of them: the
sandboxes, templates and grading processes are often reaped by someone else
than the test that started them.  While the tests run, this script also
notes the command line and parent of every process as it appears (``/proc``,
every 50 ms; every live one again each second), which names a record's kind;
a process forked without ``exec`` keeps its parent's command line, so a worker
forked from a template counts as one.

It prints the wall time, how busy the machine's cores were (``/proc/stat``),
and a table of CPU seconds by kind of process.  ``--out DIR`` keeps the raw
records (``processes.tsv``: pid, ppid, CPU seconds, forked without exec, kind,
command line) for a closer look.

Accounting is machine-wide: only the processes descended from the suite's
pytest (by the parents noted while they ran) are in the table; the others are
one line after it.  The script switches accounting off again in every case it
can (also on Ctrl-C, SIGTERM and SIGHUP).  Where Debian's ``acct`` service
keeps accounting on for the whole system, the script takes it over and says
how to turn it back on.  The figures in README.md ("Where the suite's time
goes") come from it.
"""
import argparse
import csv
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"
SYSTEM_PACCT = "/var/log/account/pacct"     # where Debian's acct service keeps its accounting
SHOWN = 0.01                                 # kinds under 1% of the CPU time are one line: everything else

# (substring of the command line, kind): the first that matches names the kind.
KINDS = (
    ('"selftest": true', "sandbox self-test (no torch)"),
    ("autograder.grading.template_main", "template (imports torch once, forks workers)"),
    ("autograder.grading.worker_main", "grading worker started from nothing (imports torch)"),
    ("autograder.grading.pool", "grading process of a pool (grade-all, audit)"),
    ("exec(eval(sys.stdin.readline()))", "pytest-xdist worker (tests in process)"),
    ("ipykernel", "notebook kernel"),
    ("nbgrader", "nbgrader command"),
    ("jupyter", "jupyter server"),
    ("-m autograder grade-all", "python -m autograder grade-all"),
    ("__main__.py grade-all", "python -m autograder grade-all"),
    ("-m autograder grade ", "python -m autograder grade"),
    ("__main__.py grade ", "python -m autograder grade"),
    ("-m autograder ", "python -m autograder (other commands)"),
    ("-m pytest", "pytest run by a test (mostly the public tests)"),
    ("pytest/__main__.py", "pytest run by a test (mostly the public tests)"),
    ("lab6_generative", "the lab's programs (training, anomaly)"),
    ("alembic", "alembic"),
)
FLAGS = re.compile(r"^[SFCDX ]*$")           # dump-acct's flags column: fork without exec, superuser, ...


def kind_of(command, comm, forked):
    """The kind of a process from its command line, its accounting name and whether it never exec'd."""
    if comm.startswith("bwrap"):   # bwrap's own processes (outside, and its pid 1 inside), not the boxed command
        return "bwrap (sandbox launcher)"
    for needle, kind in KINDS:
        if needle in command:
            if kind.startswith("template") and forked:
                return "grading worker forked from a template (the checks' own work)"
            return kind
    if "python" in comm or "python" in command.split(" ", 1)[0]:
        return "other Python"
    return f"{comm or '?'} (not Python)"


class Sampler(threading.Thread):
    """Every process's parent and command line, keyed by (pid, start in seconds since boot)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.seen, self.stop = {}, threading.Event()   # (pid, start) -> [ppid, command]
        self.ticks = os.sysconf("SC_CLK_TCK")

    def run(self):
        rounds = 0
        while not self.stop.is_set():
            self.sample(again=rounds % 20 == 0)   # every second: every live command line again (exec)
            rounds += 1
            self.stop.wait(0.05)

    def sample(self, again=False):
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                key = (pid, int(fields[19]) / self.ticks)
                if key in self.seen and not again:
                    continue
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    command = f.read(4096).replace(b"\0", b" ").decode("utf-8", "replace").strip()
            except (OSError, IndexError, ValueError):
                continue
            if key not in self.seen:
                self.seen[key] = [int(fields[1]), command]
            elif command:
                self.seen[key][1] = command

    def index(self):
        """pid -> [(start, [ppid, command]), ...]"""
        by_pid = {}
        for (pid, start), value in self.seen.items():
            by_pid.setdefault(pid, []).append((start, value))
        return by_pid


def boot_time():
    with open("/proc/stat") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("btime "))


def cpu_busy():
    """(busy, total) jiffies of all cores since boot."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def parse_record(line, booted):
    """One line of dump-acct: (pid, ppid, CPU seconds, forked without exec, comm, start since boot).

    dump-acct's columns: comm|version|utime|stime|etime|uid|gid|mem|io|pid|ppid|flags|exitcode|tty|start,
    times in 1/100 s.  ValueError for any other line.
    """
    f = [x.strip() for x in line.split("|")]
    if len(f) < 15 or not FLAGS.match(f[11]):
        raise ValueError(f"dump-acct printed a line this script does not know: {line[:120]!r}")
    start = time.mktime(time.strptime(f[14], "%a %b %d %H:%M:%S %Y")) - booted
    return int(f[9]), int(f[10]), (float(f[2]) + float(f[3])) / 100, "F" in f[11], f[0], start


def records(pacct):
    """Every ended process in ``pacct`` (see parse_record)."""
    out = subprocess.run(["dump-acct", pacct], capture_output=True, text=True).stdout
    booted = boot_time()
    try:
        return [parse_record(line, booted) for line in out.splitlines()]
    except ValueError as err:
        sys.exit(f"error: {err}")


def run_suite(pytest_args, pacct):
    """Run pytest with accounting into ``pacct``; (exit code, pid, wall seconds, busy share, sampler)."""
    sampler = Sampler()
    started = subprocess.run(["accton", pacct], capture_output=True, text=True)
    if started.returncode != 0:
        sys.exit(f"error: accton could not switch accounting on: {(started.stderr or started.stdout).strip()}")

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)
    suite = None
    try:
        sampler.start()
        busy0, total0 = cpu_busy()
        start = time.monotonic()
        suite = subprocess.Popen([str(PYTHON), "-m", "pytest", *pytest_args], cwd=ROOT)
        try:
            code = suite.wait()
        except KeyboardInterrupt:      # pytest got the Ctrl-C too: let it finish its report
            code = suite.wait()
        wall = time.monotonic() - start
        busy1, total1 = cpu_busy()
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)   # a second Ctrl-C must not stop the switch-off
        if suite is not None and suite.poll() is None:   # stopped by a signal: the suite stops too
            suite.terminate()
            try:
                suite.wait(60)
            except subprocess.TimeoutExpired:
                suite.kill()
        off = subprocess.run(["accton", "off"], capture_output=True, text=True, start_new_session=True)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sampler.stop.set()
        sampler.join()
        if off.returncode != 0:
            print(f"warning: `accton off` failed ({(off.stderr or off.stdout).strip()}): run it by hand",
                  file=sys.stderr)
        if os.path.exists(SYSTEM_PACCT):
            print(f"note: accounting is off now; `accton {SYSTEM_PACCT}` turns the system's back on",
                  file=sys.stderr)
    return code, suite.pid, wall, (busy1 - busy0) / max(total1 - total0, 1), sampler


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
    if not PYTHON.exists():
        sys.exit(f"error: {PYTHON} does not exist: run make setup first")
    pytest_args = args.pytest_args or ["-q", "-n", "2", "--dist", "loadfile"]

    work = tempfile.mkdtemp(prefix="suite-cpu-")
    try:
        pacct = os.path.join(work, "pacct")
        open(pacct, "w").close()
        code, suite_pid, wall, busy, sampler = run_suite(pytest_args, pacct)
        ended = list(records(pacct))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    # The suite's processes: the pytest process and everything whose parents lead to it.
    seen = sampler.index()
    parent, rows, others = {}, [], []
    for pid, ppid, cpu, forked, comm, start in ended:
        noted = min(seen.get(pid, []), key=lambda s: abs(s[0] - start), default=None)
        ppid, command = (noted[1] if noted and abs(noted[0] - start) <= 2 else (ppid, ""))
        parent[pid] = ppid
        rows.append([pid, ppid, cpu, forked, comm, command])
    for (pid, _start), (ppid, _command) in sampler.seen.items():
        parent.setdefault(pid, ppid)

    def in_suite(pid):
        for _ in range(64):
            if pid == suite_pid:
                return True
            if pid not in parent or pid <= 1:
                return False
            pid = parent[pid]
        return False

    table = []
    for pid, ppid, cpu, forked, comm, command in rows:
        if not in_suite(pid):
            others.append(cpu)
            continue
        kind = "pytest itself (the suite's main process)" if pid == suite_pid else kind_of(command, comm, forked)
        table.append((pid, ppid, cpu, forked, kind, command))

    total = sum(r[2] for r in table)
    by_kind = {}
    for row in table:
        by_kind.setdefault(row[4], []).append(row[2])
    print(f"\npytest exited {code}; wall {wall:.0f} s; the {os.cpu_count()} cores were {100 * busy:.0f}% busy; "
          f"the suite's {len(table)} processes that ended used {total:.0f} CPU s")
    print("\n| kind of process | processes | CPU s | share | median CPU s each |\n|---|---|---|---|---|")
    rest = []
    for kind, cpus in sorted(by_kind.items(), key=lambda kv: -sum(kv[1])):
        if sum(cpus) < SHOWN * total:
            rest.extend(cpus)
            continue
        print(f"| {kind} | {len(cpus)} | {sum(cpus):.0f} | {100 * sum(cpus) / total:.0f}% | "
              f"{statistics.median(cpus):.2f} |")
    if rest:
        print(f"| everything else | {len(rest)} | {sum(rest):.0f} | {100 * sum(rest) / total:.0f}% | |")
    print(f"\nNot from the suite (other processes on this machine): {len(others)} processes, "
          f"{sum(others):.0f} CPU s")
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "processes.tsv"), "w", newline="") as f:
            writer = csv.writer(f, delimiter="\t")
            writer.writerow(["pid", "ppid", "cpu_seconds", "forked_without_exec", "kind", "command"])
            writer.writerows((pid, ppid, f"{cpu:.2f}", int(forked), kind, command[:500])
                             for pid, ppid, cpu, forked, kind, command in table)
    return code


if __name__ == "__main__":
    sys.exit(main())
