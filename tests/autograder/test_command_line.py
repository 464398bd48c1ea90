"""One command line for the instructor's tools: ``python -m autograder release | build NAME | lint-workflows``,
the old module entry points (a notice, then what they always did), and the Makefile calling the new commands."""
import os
import re
import shutil
import subprocess
import sys

import pytest

from autograder import cli, tools
from support import ROOT


def _run(*args, cwd=ROOT, timeout=120):
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])})


def test_the_tools_are_commands_of_python_m_autograder():
    commands = cli.build_parser().commands
    assert {"release", "build", "lint-workflows", "grade", "doctor", "grade-all", "collect", "export", "audit",
            "written", "feedback"} <= set(commands)
    assert set(tools.BUILDERS) == {"template", "grader-repo", "classroom50", "gradescope"}


@pytest.mark.parametrize("command, prog", [
    (["release"], "python -m autograder release"),
    (["build", "template"], "python -m autograder build template"),
    (["build", "grader-repo"], "python -m autograder build grader-repo"),
    (["build", "classroom50"], "python -m autograder build classroom50"),
    (["build", "gradescope"], "python -m autograder build gradescope"),
])
def test_each_tool_takes_its_own_options_under_its_new_name(command, prog, tmp_path):
    """The tool's own parser, named as the new command: --help lists the tool's options."""
    proc = _run("-m", "autograder", *command, "--help", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith(f"usage: {prog} "), proc.stdout + proc.stderr
    assert "--out" in proc.stdout and proc.stderr == ""


def test_build_without_a_known_platform_is_one_line_and_exit_2(tmp_path):
    for args in ([], ["nope", "--out", str(tmp_path / "x")]):
        proc = _run("-m", "autograder", "build", *args, cwd=tmp_path)
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "x").exists()


def test_a_build_through_the_new_command_writes_what_the_old_one_did(tmp_path):
    new = _run("-m", "autograder", "build", "grader-repo", "--out", str(tmp_path / "new"), cwd=tmp_path)
    old = _run("-m", "platforms.grader_repo", "--out", str(tmp_path / "old"))
    assert new.returncode == old.returncode == 0, new.stderr + old.stderr
    assert new.stderr == "" and old.stderr == (
        "note: `python -m platforms.grader_repo` is now `python -m autograder build grader-repo`; "
        "the old spelling goes in the next release\n")
    listing = [sorted(p.relative_to(tmp_path / side).as_posix() for p in (tmp_path / side).rglob("*"))
               for side in ("new", "old")]
    assert listing[0] == listing[1] and "autograder/checks/test_determinism.py" in listing[0]


@pytest.mark.parametrize("module", sorted(tools.NEW_SPELLING))
def test_every_old_entry_point_still_works_and_names_its_new_command(module):
    proc = _run("-m", module, *([] if module == tools.LINT else ["--help"]))   # actionlint: its usage, no run
    assert proc.returncode == (2 if module == tools.LINT else 0), proc.stderr
    first = proc.stderr.splitlines()[0]
    assert first == (f"note: `python -m {module}` is now `python -m autograder {tools.NEW_SPELLING[module]}`; "
                     "the old spelling goes in the next release")


def test_lint_workflows_defaults_to_the_student_workflow(monkeypatch):
    seen = []
    lint = pytest.importorskip("platforms.lint.actionlint")
    monkeypatch.setattr(lint, "main", lambda files: seen.append(files) or 0)
    assert cli.main(["lint-workflows"]) == 0 and cli.main(["lint-workflows", "a.yml"]) == 0
    assert seen == [[os.path.join(str(ROOT), "platforms", "github", "grade.yml")], ["a.yml"]]


# --- the Makefile --------------------------------------------------------------------------------------

def _make(*args):
    make = shutil.which("make")
    if make is None:
        pytest.skip("no make")
    proc = subprocess.run([make, *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_make_help_lists_every_target():
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    phony = re.search(r"^\.PHONY:(.*)$", text, re.M).group(1).split()
    defined = re.findall(r"^([a-z][\w-]*):", text, re.M)
    assert set(phony) == set(defined), "every target is .PHONY and every .PHONY target exists"
    listed = re.findall(r"^make ([\w-]+)", _make("-s", "help"), re.M)
    assert sorted(listed) == sorted(phony), "make help lists every target, once"
    assert {"doctor", "lint-workflows"} <= set(listed)


@pytest.mark.parametrize("target, command", [
    (["release"], "-m autograder release"),
    (["template", "OUT=t", "GRADER_REPO=o/n"], "-m autograder build template --out t --grader-repo o/n"),
    (["grader-repo", "OUT=g"], "-m autograder build grader-repo --out g"),
    (["classroom50", "OUT=c"], "-m autograder build classroom50 --out c"),
    (["gradescope", "OUT=s"], "-m autograder build gradescope --out s"),
    (["lint-workflows"], "-m autograder lint-workflows platforms/github/grade.yml"),
    (["doctor"], "-m autograder doctor"),
])
def test_the_makefile_calls_the_new_commands(target, command):
    out = _make("-n", *target)
    assert command in out, out
    assert "-m platforms." not in out and "-m release." not in out


def _fake_venv(tmp_path, uv_works):
    """A .venv whose pip, uv and python only write down how they were called (nothing is installed)."""
    venv, log = tmp_path / "venv", tmp_path / "calls.log"
    (venv / "bin").mkdir(parents=True)
    scripts = {
        "python": 'echo "python $*" >> "$LOG"; [ "$1" = -c ] && echo "$LOG.purelib"; exit 0',
        # no wheel of uv here (the case the Makefile falls back for), unless uv_works
        "pip": 'echo "pip $*" >> "$LOG"; case "$*" in *uv==*) exit %d;; esac; exit 0' % (0 if uv_works else 1),
        "uv": 'echo "uv $*" >> "$LOG"; exit 0',
    }
    for name, body in scripts.items():
        path = venv / "bin" / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)
    return venv, log


def _setup(venv, log, *args, env=None):
    make = shutil.which("make") or pytest.skip("no make")
    return subprocess.run([make, "setup", f"VENV={venv}", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "LOG": str(log), **(env or {})})


def _calls(log):
    return [line.split()[0] + " " + line.split()[1] for line in log.read_text().splitlines()]


@pytest.mark.slow
def test_make_setup_installs_with_uv_and_pip_takes_over_with_one_line_where_uv_cannot(tmp_path):
    venv, log = _fake_venv(tmp_path / "works", uv_works=True)
    proc = _setup(venv, log)
    assert proc.returncode == 0, proc.stderr
    assert _calls(log)[:2] == ["pip install", "uv pip"] and "pip takes over" not in proc.stderr
    assert "pip install --quiet --upgrade pip" not in log.read_text()
    assert (venv / ".installed").exists()

    venv, log = _fake_venv(tmp_path / "fails", uv_works=False)
    proc = _setup(venv, log)
    assert proc.returncode == 0, proc.stderr
    assert "make setup: uv could not install the packages; pip installs them instead (slower)" in proc.stderr
    calls = log.read_text().splitlines()
    assert "--only-binary=:all:" in calls[0], "uv is never built from source"
    assert not any(c.startswith("uv ") for c in calls)
    assert calls[1:3] == ["pip install --quiet --upgrade pip", "pip install --quiet --no-compile -e .[dev]"]


@pytest.mark.slow
def test_make_setup_takes_installer_from_the_command_line_only_and_refuses_an_unknown_one(tmp_path):
    venv, log = _fake_venv(tmp_path / "pip", uv_works=True)
    proc = _setup(venv, log, "INSTALLER=pip")
    assert proc.returncode == 0, proc.stderr
    assert not any("uv" in c for c in log.read_text().splitlines()), "INSTALLER=pip never asks for uv"

    venv, log = _fake_venv(tmp_path / "environment", uv_works=True)
    proc = _setup(venv, log, env={"INSTALLER": "something else"})   # someone else's variable
    assert proc.returncode == 0, proc.stderr
    assert _calls(log)[:2] == ["pip install", "uv pip"]

    proc = _setup(venv, log, "INSTALLER=conda")
    assert proc.returncode == 2 and "INSTALLER must be uv or pip, not 'conda'" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
