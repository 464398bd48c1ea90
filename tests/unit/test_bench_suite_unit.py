"""benchmarks/bench_suite.py: its reading of /proc/stat and of pytest's summary, and its usage errors
(pure functions and argument checks that fail before any clone or process)."""
import importlib.util

import pytest

from support import ROOT

spec = importlib.util.spec_from_file_location("bench_suite", ROOT / "benchmarks" / "bench_suite.py")
bench_suite = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench_suite)


def test_a_stat_line_gives_busy_steal_and_total_jiffies():
    # cpu user nice system idle iowait irq softirq steal guest guest_nice
    line = "cpu  100 5 20 800 30 2 3 40 0 0"
    assert bench_suite.stat_counters(line) == (100 + 5 + 20 + 2 + 3, 40, 1000)
    assert bench_suite.stat_counters("cpu  1 2 3 4") == (6, 0, 10)  # an old kernel: no irq, softirq or steal


def test_busy_cores_and_steal_between_two_readings():
    first, last = (100, 10, 1000), (1100, 30, 2000)   # 1000 busy and 20 stolen of 1000 jiffies
    cores, steal = bench_suite.cpu_share(first, last, cores=2)
    assert cores == pytest.approx(2.0) and steal == pytest.approx(0.02)
    assert bench_suite.cpu_share(first, first, cores=2) == (0.0, 0.0)


@pytest.mark.parametrize("log, summary", [
    ("....\n799 passed, 6 warnings in 498.35s (0:08:18)\n", "799 passed, 6 warnings"),
    ("== 1 failed, 798 passed, 6 warnings in 494.16s (0:08:14) ==\n", "1 failed, 798 passed, 6 warnings"),
    ("setup\n5 passed in 1.00s\nlater\n796 passed, 3 skipped in 500.00s\n", "796 passed, 3 skipped"),
    ("make: *** [Makefile:54: test] Error 2\n", "?"),
])
def test_the_last_pytest_summary_of_the_log(log, summary):
    assert bench_suite.pytest_summary(log) == summary


@pytest.mark.parametrize("argv, says", [
    (["--torch-rounds", "0"], "--torch-rounds must be at least 1"),
    (["--keep", " "], "--keep needs a folder name"),
    (["--keep", "{tmp}"], "exists already: name a new folder"),
])
def test_bad_arguments_are_one_sentence_and_exit_2(monkeypatch, capsys, tmp_path, argv, says):
    monkeypatch.setattr("sys.argv", ["bench_suite.py", *[a.format(tmp=tmp_path) for a in argv]])
    with pytest.raises(SystemExit) as stopped:
        bench_suite.main()
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("bench_suite.py: error:")
