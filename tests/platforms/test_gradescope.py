"""The Gradescope autograder (make gradescope OUT=DIR): the zip's content, and
setup.sh + run_autograder run locally in Gradescope's layout moved into a
temporary folder (AUTOGRADER_DIR)."""
import json
import os
import pwd
import re
import shutil
import stat
import subprocess
import tempfile
import zipfile
from pathlib import Path

import pytest

from platforms import common
from support import platform_tools as testing

pytestmark = pytest.mark.slow

ROOT = Path(common.ROOT)


@pytest.fixture(scope="module")
def zip_path(tmp_path_factory):
    out = testing.build_platform("gradescope", tmp_path_factory.mktemp("gs") / "out")
    return out / "autograder.zip"


@pytest.fixture(scope="module")
def installed(zip_path):
    """Gradescope's /autograder after setup.sh: source/ unpacked, venv ready (pip in dry-run).

    It lives in a folder every user can traverse (pytest's own temporary
    folders are private to root), so that the unprivileged user can run it.
    """
    root = Path(tempfile.mkdtemp(prefix="lab6-gs-autograder-"))
    root.chmod(0o755)
    yield from _install(zip_path, root)
    shutil.rmtree(root, ignore_errors=True)


def _install(zip_path, root):
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root / "source")
    for name in ("setup.sh", "run_autograder"):  # zipfile drops the mode; Gradescope keeps it
        (root / "source" / name).chmod(0o755)
    # As root, base the venv on an interpreter the unprivileged user can run too.
    base = testing.base_python_for("nobody") if os.geteuid() == 0 else None
    venv = testing.clean_python(str(root / "venv"), base=base)
    assert venv == str(root / "venv/bin/python")
    proc = subprocess.run(["bash", str(root / "source/setup.sh")], cwd=root / "source", capture_output=True,
                          text=True, timeout=300,
                          env=testing.offline_env(AUTOGRADER_DIR=str(root), LAB6_SKIP_APT="1", PIP_DRY_RUN="1",
                                                  LAB6_STUDENT_USER="nobody"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Would install" not in proc.stdout, "the pinned requirements do not match the environment"
    assert "torch 2" in proc.stdout
    yield root


def submit(root, files):
    """A fresh submission folder and results folder; ``files`` maps relative paths to source paths."""
    sub = root / "submission"
    shutil.rmtree(sub, ignore_errors=True)
    shutil.rmtree(root / "results", ignore_errors=True)
    sub.mkdir()
    for rel, src in files.items():
        (sub / rel).parent.mkdir(parents=True, exist_ok=True)
        if Path(src).is_dir():
            shutil.copytree(src, sub / rel)
        else:
            shutil.copyfile(src, sub / rel)
    return sub


def run_autograder(root, user="", sandbox=None):
    env = testing.offline_env(AUTOGRADER_DIR=str(root), LAB6_STUDENT_USER=user)
    if sandbox:
        env["AUTOGRADER_SANDBOX"] = sandbox
    return subprocess.run(["bash", str(root / "source/run_autograder")], cwd=root, capture_output=True, text=True,
                          timeout=600, env=env)


def results(root):
    data = json.loads((root / "results/results.json").read_text())
    for t in data["tests"]:
        assert {"name", "max_score", "status", "tags"} <= set(t)
    return data


def test_zip_content(zip_path):
    with zipfile.ZipFile(zip_path) as zf:
        names = set(zf.namelist())
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in zf.infolist()}
        everything = "\n".join(zf.read(n).decode("utf-8", "replace") for n in names)
    for name in ("setup.sh", "run_autograder", "grade_submission.py", "grader/grading.yml",
                 "grader/autograder/__main__.py", "requirements/torch-cpu.txt", "requirements/grader.txt",
                 "base/lab6_generative/vae.py"):
        assert name in names, name
    assert modes["setup.sh"] & stat.S_IXUSR and modes["run_autograder"] & stat.S_IXUSR
    with zipfile.ZipFile(zip_path) as zf:
        assert testing.HYPOTHESIS_PIN in zf.read("requirements/grader.txt").decode().splitlines(), "the examples tried"
    checks = {n.rsplit("/", 1)[1] for n in names if n.startswith("grader/autograder/checks/test_")}
    assert checks == {common.check_file(c) for c in common.load_rubric()}, "all checks, hidden included"
    assert not [n for n in names if n.startswith(("solutions/", "assignment/")) or "__pycache__" in n]
    assert not [m for m in testing.SOLUTION_MARKERS if m in everything]
    assert not [r for r in testing.solution_regions().values() if "\n".join(r) in everything]
    setup = (Path(common.HERE) / "gradescope/setup.sh").read_text()
    assert "download.pytorch.org/whl/cpu" in everything and "torch-cpu.txt" in setup and "useradd" in setup


def test_stubs_in_a_nested_repository_get_zero(installed):
    submit(installed, {"lab6-alice/lab6_generative": ROOT / "assignment/lab6_generative",
                       "lab6-alice/requirements.txt": ROOT / "assignment/requirements.txt"})
    proc = run_autograder(installed)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = results(installed)
    assert data["score"] == 0
    assert sum(t["max_score"] for t in data["tests"]) == 100


def test_loose_file_upload_is_laid_over_the_release(installed):
    # Only schedules.py, correct: the warm-up check passes, the rest (stubs) fail.
    submit(installed, {"schedules.py": ROOT / "solutions/lab6_generative/schedules.py"})
    proc = run_autograder(installed)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = results(installed)
    by_check = {}
    for t in data["tests"]:
        for tag in t["tags"]:
            by_check.setdefault(tag, []).append(t)
    warmup = by_check["warmup"]
    assert sum(t["score"] for t in warmup) == sum(t["max_score"] for t in warmup) > 0
    assert data["score"] == sum(t["score"] for t in warmup)


def test_nothing_to_grade(installed):
    submit(installed, {"notes.txt": ROOT / "assignment/requirements.txt"})
    proc = run_autograder(installed)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = results(installed)
    assert data["score"] == 0 and "lab6_generative" in data["output"]
    assert sum(t["max_score"] for t in data["tests"]) == 100


def can_drop_privileges(installed):
    """Root, and the unprivileged user can run the venv's Python (see _install)."""
    if os.geteuid() != 0:
        return False
    proc = subprocess.run([str(installed / "venv/bin/python"), "-c", "import torch"], user="nobody",
                          capture_output=True, timeout=120)
    return proc.returncode == 0


@pytest.mark.parametrize("sandbox", ["bwrap", "landlock"])
def test_solutions_get_full_marks_and_student_code_runs_unprivileged(installed, tmp_path, sandbox):
    """As root (as on Gradescope) the student's code runs as an unprivileged user, in the sandbox.

    The submission prints the uid its code runs as and what happened when it
    opened a hidden check for reading and created a file in the results folder
    (real opens: Landlock does not answer access(2), and root passes its
    permission checks); on Gradescope the fallback (Landlock + seccomp) is what
    runs, since Docker forbids bubblewrap's namespaces.
    """
    drop = can_drop_privileges(installed)
    package = tmp_path / "lab6_generative"
    shutil.copytree(ROOT / "solutions/lab6_generative", package)
    hidden = next(installed / "source/grader/autograder/checks" / common.check_file(c)
                  for c in common.load_rubric() if c.hidden)
    assert hidden.is_file()
    planted = installed / "results" / "planted.txt"
    with open(package / "vae.py", "a") as f:
        f.write("\nimport os as _os\n\n\ndef _spy_opens(path, mode):\n    try:\n        open(path, mode).close()\n"
                "    except OSError as err:\n        return type(err).__name__\n    return 'opened'\n\n\n"
                f"print('SPY', _os.geteuid(), _spy_opens({str(hidden)!r}, 'rb'), _spy_opens({str(planted)!r}, 'xb'),"
                " 'YPS')\n")
    submit(installed, {"lab6_generative": package})
    proc = run_autograder(installed, user="nobody" if drop else "", sandbox=sandbox)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = results(installed)
    assert data["score"] == 100, json.dumps(data, indent=1)[:3000]
    assert data["extra_data"]["isolation"] == sandbox
    spied = re.findall(r"SPY (\d+) (\w+) (\w+) YPS", data["output"])
    assert spied, data["output"][-3000:]
    inside = 65534 if sandbox == "bwrap" else (pwd.getpwnam("nobody").pw_uid if drop else os.geteuid())
    # Landlock refuses the open (EACCES); in bubblewrap's mount namespace neither path exists.
    refused = {"PermissionError"} if sandbox == "landlock" else {"PermissionError", "FileNotFoundError"}
    for uid, hidden_check, new_result_file in spied:   # the module may be imported more than once
        assert int(uid) == inside
        assert hidden_check in refused and new_result_file in refused, (hidden_check, new_result_file)
    assert not planted.exists()
    if os.geteuid() == 0 and not drop and sandbox != "bwrap":
        pytest.skip("graded 100, but student code ran as root: no Python here that 'nobody' can run")


def test_a_link_to_the_hidden_checks_brings_them_nowhere(installed, tmp_path):
    """The submission links a module to a hidden check file and prints it: nothing is printed."""
    hidden = next(installed / "source/grader/autograder/checks" / common.check_file(c)
                  for c in common.load_rubric() if c.hidden)
    package = tmp_path / "lab6_generative"
    shutil.copytree(ROOT / "solutions/lab6_generative", package)
    with open(package / "vae.py", "a") as f:
        f.write("\ntry:\n    print('LEAK', open(__file__.replace('vae.py', 'stolen.py')).read()[:200])\n"
                "except OSError as _err:\n    print('NO LEAK', type(_err).__name__)\n")
    sub = submit(installed, {"lab6_generative": package})
    os.symlink(hidden, sub / "lab6_generative" / "stolen.py")  # links as a student's repository holds them
    os.symlink(hidden, sub / "schedules.py")
    proc = run_autograder(installed)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = results(installed)
    assert "NO LEAK" in data["output"] and "LEAK def" not in data["output"]
    assert hidden.read_text()[:60] not in json.dumps(data)
