"""grade-all: a class graded in parallel, resumable, with grades.csv and a class report."""
import csv
import shutil
import subprocess
import sys

import pytest

from conftest import ASSIGNMENT, ROOT, SOLUTIONS

# Grading one cheap rubric check (--only warmup) keeps the class fast; the engine is the same.
ONLY = ("--only", "warmup")


def grade_all(*args):
    return subprocess.run([sys.executable, "-m", "autograder", "grade-all", *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    """alice: the reference; bob: the stubs; carol: an off-by-one warm-up one level down; dave: no package."""
    base = tmp_path_factory.mktemp("class")
    subs, out = base / "submissions", base / "out"
    shutil.copytree(SOLUTIONS / "lab6_generative", subs / "alice" / "lab6_generative")
    shutil.copytree(ASSIGNMENT / "lab6_generative", subs / "bob" / "lab6_generative")
    carol = subs / "carol" / "my-lab6-repo" / "lab6_generative"
    shutil.copytree(SOLUTIONS / "lab6_generative", carol)
    schedules = carol / "schedules.py"
    schedules.write_text(schedules.read_text().replace("min(1.0, epoch / warmup_epochs)",
                                                       "min(1.0, (epoch + 1) / warmup_epochs)"))
    (subs / "dave").mkdir()
    (subs / "dave" / "notes.txt").write_text("I forgot to push")
    first = grade_all(subs, "--out", out, "--jobs", 2, *ONLY)
    return subs, out, first


def read_grades(out):
    with open(out / "grades.csv", newline="") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def test_every_student_gets_a_row_and_a_report(classroom):
    subs, out, first = classroom
    assert first.returncode == 0, first.stderr
    grades = read_grades(out)
    assert list(grades) == ["alice", "bob", "carol", "dave"]
    assert grades["alice"]["score"] == "15" and grades["alice"]["warmup"] == "15"
    assert grades["bob"]["score"] == "0"
    assert 0 < int(grades["carol"]["score"]) < 15
    assert grades["dave"]["score"] == "0"
    for name in ("alice", "bob", "carol", "dave"):
        assert (out / "students" / name / "results.json").exists()
    report = (out / "report.md").read_text()
    assert "| warmup | 15 | 1 (25%) |" in report
    assert "not implemented yet" in report, "the stubs' mistake is listed"
    assert "dave (no package)" in report
    for png in ("scores.png", "checks.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_second_run_resumes_and_regrades_only_what_changed(classroom):
    subs, out, _ = classroom
    bob = subs / "bob" / "lab6_generative"
    shutil.copyfile(SOLUTIONS / "lab6_generative" / "schedules.py", bob / "schedules.py")
    again = grade_all(subs, "--out", out, "--jobs", 2, *ONLY)
    assert again.returncode == 0, again.stderr
    assert "alice: unchanged" in again.stdout and "carol: unchanged" in again.stdout
    assert "bob: graded" in again.stdout
    assert read_grades(out)["bob"]["score"] == "15"


@pytest.mark.parametrize("args, message", [
    (["no-such-folder", "--out", "x"], "submissions folder no-such-folder does not exist"),
    (["tests", "--out", "x", "--jobs", "0"], "--jobs must be at least 1"),
])
def test_usage_errors(args, message):
    proc = grade_all(*args)
    assert proc.returncode == 2 and message in proc.stderr
    assert "Traceback" not in proc.stderr
