"""benchmarks/bench_setup.py: its check of who installed, and its usage errors (nothing is cloned or installed)."""
import importlib.util
import sys

import pytest

from support import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))   # as when it runs as a script: it imports bench_suite
spec = importlib.util.spec_from_file_location("bench_setup", ROOT / "benchmarks" / "bench_setup.py")
bench_setup = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench_setup)
sys.path.remove(str(ROOT / "benchmarks"))


def test_a_setup_counts_only_when_the_requested_installer_installed():
    assert bench_setup.installer_problem("uv", "uv") is None
    assert bench_setup.installer_problem("pip", "pip") is None
    fell_back = bench_setup.installer_problem("uv", "pip")
    assert fell_back.startswith("make setup INSTALLER=uv installed with pip") and "no figure for uv" in fell_back
    assert "an unknown installer" in bench_setup.installer_problem("uv", None)


def test_the_installers_cache_settings_cannot_reach_make(monkeypatch):
    for name in ("PIP_CACHE_DIR", "UV_CACHE_DIR", "UV_NO_CACHE", "INSTALLER"):
        monkeypatch.setenv(name, "1")
    assert not {"PIP_CACHE_DIR", "UV_CACHE_DIR", "UV_NO_CACHE", "INSTALLER"} & set(bench_setup.bench_suite.clean_env())


@pytest.mark.parametrize("argv, says", [
    (["--rounds", "0"], "--rounds must be at least 1"),
    (["--rounds", "two"], "invalid int value: 'two'"),
])
def test_bad_arguments_are_one_sentence_and_exit_2(monkeypatch, capsys, argv, says):
    monkeypatch.setattr("sys.argv", ["bench_setup.py", *argv])
    with pytest.raises(SystemExit) as stopped:
        bench_setup.main()
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("bench_setup.py: error:")
