"""grade-all: a class graded in parallel, resumable, with grades.csv and a class report."""
import csv
import json
import shutil
import subprocess
import sys

import pytest

from support import ASSIGNMENT, ROOT, SOLUTIONS

pytestmark = pytest.mark.slow

CHECKS = ["shapes", "reparameterization", "kl_analytic", "loss_reduction", "warmup", "determinism", "training"]


def grade_all(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "autograder", "grade-all", *map(str, args)],
                          cwd=cwd, capture_output=True, text=True, timeout=900)


COUNTING = """
import runpy, subprocess, sys
class Counted(subprocess.Popen):
    def __init__(self, argv, *args, **kwargs):
        if list(argv[1:3]) == ["-m", "autograder.grading.pool"]:
            print("a grading process starts", file=sys.stderr, flush=True)
        super().__init__(argv, *args, **kwargs)
subprocess.Popen = Counted
sys.argv = ["autograder", "grade-all", *sys.argv[1:]]
sys.exit(runpy.run_module("autograder", run_name="__main__"))
"""


def grade_all_counting(*args):
    """grade-all, and how many grading processes it started (its Popen counted from outside the pool)."""
    proc = subprocess.run([sys.executable, "-c", COUNTING, *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)
    return proc, proc.stderr.count("a grading process starts")


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    """alice: the reference; bob: the stubs; carol: an off-by-one warm-up one level down; dave: no package.

    Graded from another folder with a relative --out, as an instructor would.
    """
    base = tmp_path_factory.mktemp("class")
    subs = base / "submissions"
    shutil.copytree(SOLUTIONS / "lab6_generative", subs / "alice" / "lab6_generative")
    shutil.copytree(ASSIGNMENT / "lab6_generative", subs / "bob" / "lab6_generative")
    carol = subs / "carol" / "my-lab6-repo" / "lab6_generative"
    shutil.copytree(SOLUTIONS / "lab6_generative", carol)
    schedules = carol / "schedules.py"
    schedules.write_text(schedules.read_text().replace("min(1.0, epoch / warmup_epochs)",
                                                       "min(1.0, (epoch + 1) / warmup_epochs)"))
    (subs / "dave").mkdir()
    (subs / "dave" / "notes.txt").write_text("I forgot to push")
    first = grade_all("submissions", "--out", "out", "--jobs", 2, cwd=base)
    return subs, base / "out", first


def read_grades(out):
    with open(out / "grades.csv", newline="") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def test_every_student_gets_a_row_and_a_report(classroom):
    subs, out, first = classroom
    assert first.returncode == 0, first.stdout + first.stderr
    grades = read_grades(out)
    assert list(grades) == ["alice", "bob", "carol", "dave"]
    assert list(grades["alice"]) == ["student", "status", "score"] + CHECKS + ["isolation", "reason"]
    assert grades["alice"]["isolation"] == "bwrap"  # this project's machines support it
    assert [grades[n]["status"] for n in grades] == ["graded", "graded", "graded", "no package"]
    assert grades["dave"]["isolation"] == "" and "lab6_generative/" in grades["dave"]["reason"]
    assert grades["alice"]["score"] == "100" and grades["alice"]["warmup"] == "15"
    assert grades["bob"]["score"] == "0"
    assert 0 < int(grades["carol"]["warmup"]) < 15 and int(grades["carol"]["score"]) == 85 + int(grades["carol"]["warmup"])
    assert grades["dave"]["score"] == "0"
    for name in ("alice", "bob", "carol", "dave"):
        assert (out / "students" / name / "results.json").exists()
    report = (out / "report.md").read_text()
    assert "| warmup | 15 | 1 (25%) |" in report
    assert "not implemented yet" in report, "the stubs' mistake is listed"
    assert "dave (no package)" in report and "# Class report: 4 of 4 students have a score" in report
    for png in ("scores.png", "checks.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_second_run_resumes_and_regrades_only_what_changed(classroom):
    subs, out, _ = classroom
    bob = subs / "bob" / "lab6_generative"
    shutil.copyfile(SOLUTIONS / "lab6_generative" / "schedules.py", bob / "schedules.py")
    again = grade_all(subs, "--out", out, "--jobs", 2)
    assert again.returncode == 0, again.stderr
    assert "alice: unchanged" in again.stdout and "carol: unchanged" in again.stdout
    assert "bob: graded" in again.stdout
    assert read_grades(out)["bob"]["score"] == "15"


def test_a_changed_rubric_regrades_everyone_and_only_merges_one_check(classroom, tmp_path):
    subs, out, _ = classroom
    rubric = tmp_path / "grading.yml"
    rubric.write_text((ROOT / "grading.yml").read_text().replace("title: The KL warm-up schedule",
                                                                 "title: KL warm-up"))
    bob = subs / "bob" / "lab6_generative"
    shutil.copyfile(SOLUTIONS / "lab6_generative" / "vae.py", bob / "vae.py")
    partial = grade_all(subs, "--out", out, "--jobs", 2, "--rubric", rubric, "--only", "kl_analytic")
    assert partial.returncode == 0, partial.stderr
    assert "unchanged" not in partial.stdout
    grades = read_grades(out)
    assert grades["bob"]["kl_analytic"] == "25" and grades["bob"]["warmup"] == "15"
    assert grades["bob"]["shapes"] == "0", "--only leaves the other checks' results as they were"
    assert grades["alice"]["score"] == "100"
    data = json.loads((out / "students" / "bob" / "results.json").read_text())
    assert data["score"] == sum(t["score"] for t in data["tests"]) == 40


@pytest.mark.parametrize("args, message", [
    (["no-such-folder", "--out", "x"], "submissions folder no-such-folder does not exist"),
    (["tests", "--out", "x", "--jobs", "0"], "--jobs must be at least 1"),
    (["tests", "--out", "README.md"], "--out README.md is a file"),
    (["tests", "--out", "x", "--only", "nope"], "--only nope: no such check"),
])
def test_usage_errors(args, message):
    proc = grade_all(*args)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_student_collect_could_not_collect_still_gets_a_row(tmp_path):
    """On collect's manifest with nothing collected: missing, a zero Result saying why, a row in grades.csv
    with the manifest's reason, named in the report, not in the mean.  gail's folder holds an earlier
    run's checkout, but this deadline's manifest has no commit: it is not graded."""
    subs = tmp_path / "collected"
    (subs / "erin" / "notes").mkdir(parents=True)  # collected, but without the package
    shutil.copytree(SOLUTIONS / "lab6_generative", subs / "gail" / "lab6_generative")
    (subs / "manifest.csv").write_text(
        "student,repo,commit,pushed_at,minutes_late,problems\n"
        "erin,erin.git,abc,2026-12-01T10:00:00+00:00,0,\n"
        'finn,finn.git,,,,"cannot read the repository (missing, private, or no access?)"\n'
        "gail,gail.git,,,,no commit of main was pushed by 2026-12-06T23:59:00+00:00\n")
    proc = grade_all(subs, "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "finn: missing: cannot read the repository" in proc.stdout and "erin: no package" in proc.stdout
    assert "gail: missing: no commit of main" in proc.stdout and "over 1 student(s) (2 missing" in proc.stdout
    with open(tmp_path / "out" / "grades.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert rows["finn"]["score"] == "0" and rows["finn"]["final"] == "0" and rows["finn"]["minutes_late"] == ""
    assert rows["finn"]["status"] == rows["gail"]["status"] == "missing" and rows["finn"]["isolation"] == ""
    assert rows["finn"]["reason"] == "cannot read the repository (missing, private, or no access?)"
    assert rows["gail"]["score"] == "0" and rows["erin"]["status"] == "no package"
    stored = json.loads((tmp_path / "out" / "students" / "finn" / "autograder-result.json").read_text())
    assert "nothing was collected (cannot read the repository" in stored["notes"][0]
    shown = json.loads((tmp_path / "out" / "students" / "finn" / "results.json").read_text())
    assert "NOT SANDBOXED" not in shown["output"] and "no student code was run" in shown["output"]
    report = (tmp_path / "out" / "report.md").read_text()
    assert "# Class report: 1 of 3 students have a score" in report
    assert "- finn (missing): cannot read the repository (missing, private, or no access?); score 0" in report
    assert "no commit pushed in time" not in report and "Late: nobody." in report


def _as_version_1(path):
    """Rewrite the stored Result at ``path`` as an older grader wrote it: version 1, no reasons."""
    data = json.loads(path.read_text())
    data["version"] = 1
    data["internal_errors"] = [e["message"] for e in data["internal_errors"]]
    for check in data["checks"]:
        for test in check["tests"]:
            test.pop("reason")
    path.write_text(json.dumps(data))


def test_a_result_stored_by_an_older_grader_is_graded_again_never_reused_or_merged_into(classroom):
    """Its stamp still matches, but this grader does not read it: carol is graded again.  With --only, alice's
    old Result cannot take the one check: every check is graded, not a one-check Result."""
    subs, out, _ = classroom
    carol, alice = (out / "students" / name / "autograder-result.json" for name in ("carol", "alice"))
    _as_version_1(carol)
    again, processes = grade_all_counting(subs, "--out", out, "--jobs", 3)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "carol: graded" in again.stdout and "alice: unchanged" in again.stdout
    graded = again.stdout.count(": graded")     # carol, and bob too if an earlier test changed the rubric
    assert graded < 3 and processes == graded, f"{processes} grading processes for {graded} students to grade"
    assert json.loads(carol.read_text())["version"] == 2
    _as_version_1(alice)
    only = grade_all(subs, "--out", out, "--jobs", 2, "--only", "warmup")
    assert only.returncode == 0, only.stdout + only.stderr
    stored = json.loads(alice.read_text())
    assert stored["version"] == 2 and [c["id"] for c in stored["checks"]] == CHECKS
    assert {t["reason"] for c in stored["checks"] for t in c["tests"]} == {"passed"}
    assert read_grades(out)["alice"]["score"] == "100"
