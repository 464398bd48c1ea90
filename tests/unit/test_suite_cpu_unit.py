"""benchmarks/suite_cpu.py: dump-acct's lines and the kinds of process (pure functions, no accounting)."""
import importlib.util
import time

import pytest

from support import ROOT

spec = importlib.util.spec_from_file_location("suite_cpu", ROOT / "benchmarks" / "suite_cpu.py")
suite_cpu = importlib.util.module_from_spec(spec)
spec.loader.exec_module(suite_cpu)

LINE = ("python          |v3|   231.00|    12.00|   480.00|     0|     0| 812345.00|     0.00|   28315|   28255|"
        "{flags}|       0|__      |Thu Dec  3 12:37:49 2026")


def test_a_record_gives_pid_parent_cpu_seconds_fork_and_start():
    booted = time.mktime(time.strptime("Thu Dec  3 12:00:00 2026", "%a %b %d %H:%M:%S %Y"))
    pid, ppid, cpu, forked, comm, start = suite_cpu.parse_record(LINE.format(flags=" F   "), booted)
    assert (pid, ppid, comm) == (28315, 28255, "python")
    assert cpu == pytest.approx(2.43) and forked and start == pytest.approx(37 * 60 + 49)
    assert not suite_cpu.parse_record(LINE.format(flags="S    "), booted)[3]


@pytest.mark.parametrize("line", ["", "python|v3|1.0", LINE.format(flags="Fri  ")])
def test_a_line_of_another_format_is_refused(line):
    with pytest.raises(ValueError, match="does not know"):
        suite_cpu.parse_record(line, 0)


@pytest.mark.parametrize("command, comm, forked, kind", [
    ("python -s -B -u -c ...; from autograder.grading.template_main import main; ...", "python", False,
     "template (imports torch once, forks workers)"),
    ("python -s -B -u -c ...; from autograder.grading.template_main import main; ...", "python", True,
     "grading worker forked from a template (the checks' own work)"),
    ('python -c ...worker_main import main; main(...) {"selftest": true}', "python", False,
     "sandbox self-test (no torch)"),
    ("/venv/bwrap_bin/_bin/bwrap --unshare-all ... python -c ...template_main...", "bwrap", True,
     "bwrap (sandbox launcher)"),
    ("python -m autograder grade-all class --out grades", "python", False, "python -m autograder grade-all"),
    ("python -m autograder grade solutions", "python", False, "python -m autograder grade"),
    ("git status", "git", False, "git (not Python)"),
])
def test_the_first_matching_rule_names_the_kind(command, comm, forked, kind):
    assert suite_cpu.kind_of(command, comm, forked) == kind
