"""`nbgrader autograde` on submitted copies of the release, in a course directory the release command keeps.

Two students hand in the release: "filled" with the reference vae.py and
schedules.py copied in and the written answers filled in, "stubs" untouched.  ``Autograde.exclude_overwriting`` must keep each student's
two modules (so the first gets full marks on the autograded cells and the
second 0) while restoring every other file, and the hidden tests, from the
instructor's source.
"""
import os
import shutil
import subprocess
import sys

import nbformat
import pytest

from support import ROOT, SOLUTIONS, offline_env

pytestmark = pytest.mark.slow

AUTOGRADED = {"test_reparameterize": 3, "test_kl_divergence": 3, "test_kl_warmup": 2}
MANUAL = ("q1_answer", "q2_answer", "q3_answer")
STUDENT_FILES = ("lab6_generative/vae.py", "lab6_generative/schedules.py")


@pytest.fixture(scope="module")
def course(tmp_path_factory, fake_data_dir):
    tmp = tmp_path_factory.mktemp("autograde")
    course = tmp / "course"
    env = offline_env(LAB6_DATA_DIR=str(fake_data_dir), LAB6_FAST="1",
                      PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.run([sys.executable, "-m", "autograder", "release", "--out", str(tmp / "assignment"),
                           "--course-dir", str(course)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for student in ("filled", "stubs"):
        submission = course / "submitted" / student / "lab6"
        shutil.copytree(tmp / "assignment", submission)
        # A student may also change a file that is not theirs: the grader must use its own copy.
        with open(submission / "lab6_generative" / "data.py", "a") as f:
            f.write("\nCLASSES = ()  # a student's edit that grading must not see\n")
    filled = course / "submitted" / "filled" / "lab6"
    for relpath in STUDENT_FILES:
        shutil.copyfile(SOLUTIONS / relpath, filled / relpath)
    nb = nbformat.read(filled / "lab6_vae.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.id in MANUAL:
            cell.source = f"My answer to {cell.id}: a few sentences."
    nbformat.write(nb, filled / "lab6_vae.ipynb")

    proc = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", "lab6"], cwd=course, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return course


def grades(course, student):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="lab6-vae") as gb:
        notebook = gb.find_submission_notebook("lab6_vae", "lab6", student)
        return {g.name: (g.auto_score, g.max_score, g.needs_manual_grade) for g in notebook.grades}


def test_filled_in_submission_gets_full_marks_on_the_autograded_cells(course):
    result = grades(course, "filled")
    for grade_id, points in AUTOGRADED.items():
        assert result[grade_id][:2] == (points, points), f"{grade_id}: {result[grade_id]}"
    for grade_id in MANUAL:
        assert result[grade_id][2], f"{grade_id} was answered: it needs manual grading"


def test_untouched_stubs_get_zero_on_the_autograded_cells(course):
    result = grades(course, "stubs")
    for grade_id, points in AUTOGRADED.items():
        assert result[grade_id][:2] == (0, points), f"{grade_id}: {result[grade_id]}"
    for grade_id in MANUAL:  # left as "YOUR ANSWER HERE": nbgrader scores an unchanged answer 0 by itself
        assert result[grade_id] == (0, 2, False), f"{grade_id}: {result[grade_id]}"


def test_students_modules_are_kept_and_the_others_restored(course):
    for student in ("filled", "stubs"):
        graded = course / "autograded" / student / "lab6"
        for relpath in STUDENT_FILES:
            submitted = (course / "submitted" / student / "lab6" / relpath).read_bytes()
            assert (graded / relpath).read_bytes() == submitted, f"{student}: {relpath} was overwritten"
        assert (graded / "lab6_generative" / "data.py").read_bytes() == (
            course / "source" / "lab6" / "lab6_generative" / "data.py").read_bytes(), (
            f"{student}: data.py should be the instructor's")
    assert b"raise NotImplementedError()" in (course / "autograded" / "stubs" / "lab6" / STUDENT_FILES[0]).read_bytes()


def test_hidden_tests_ran_during_grading(course):
    nb = nbformat.read(course / "autograded" / "filled" / "lab6" / "lab6_vae.ipynb", as_version=4)
    cells = {cell.id: cell for cell in nb.cells}
    for grade_id in AUTOGRADED:
        assert "### BEGIN HIDDEN TESTS" in cells[grade_id].source, f"{grade_id}: hidden tests were not restored"
        assert not [o for o in cells[grade_id].outputs if o.output_type == "error"]


def test_written_answers_are_read_from_nbgrader_gradebook_as_graded_in_formgrader(course):
    """What formgrader does (a manual score per answer cell, which clears needs_manual_grade), then our
    reader: the written points, or "ungraded" while one answer waits."""
    from nbgrader.api import Gradebook

    from autograder.semester import written

    rubric_entry = written.Written(points=6, assignment="lab6")
    db = str(course / "gradebook.db")
    before = written.read(db, rubric_entry, ["filled", "stubs", "nobody"])
    assert before["filled"].status == "ungraded" and before["filled"].points is None
    assert before["stubs"] == written.WrittenScore(0.0, 6.0, "graded")  # unchanged answers: nbgrader's 0
    assert before["nobody"].status == "missing"
    def formgrade(grade_ids, scores):
        with Gradebook(f"sqlite:///{db}", course_id="lab6-vae") as gb:
            for grade_id, score in zip(grade_ids, scores):
                grade = gb.find_grade(grade_id, "lab6_vae", "lab6", "filled")
                grade.manual_score, grade.needs_manual_grade = score, False
            gb.db.commit()

    formgrade(MANUAL[:2], (2, 1.5))
    assert written.read(db, rubric_entry, ["filled"])["filled"].status == "ungraded"  # one answer left
    formgrade(MANUAL[2:], (2,))
    after = written.read(db, rubric_entry, ["filled"])
    assert after["filled"] == written.WrittenScore(5.5, 6.0, "graded")


def test_the_semester_closes_in_one_gradebook_and_two_lms_files(course, tmp_path):
    """grade-all with collect's manifest and nbgrader's gradebook, then the Canvas and Moodle exports."""
    import csv
    import json

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="lab6-vae") as gb:  # formgrader's work
        for grade_id in MANUAL:
            grade = gb.find_grade(grade_id, "lab6_vae", "lab6", "filled")
            grade.manual_score, grade.needs_manual_grade = 2, False
        gb.db.commit()
    subs = tmp_path / "collected"
    for student in ("filled", "stubs", "late"):
        source = SOLUTIONS if student != "stubs" else course / "source" / "lab6"
        shutil.copytree(course / "submitted" / ("stubs" if student == "stubs" else "filled") / "lab6"
                        / "lab6_generative", subs / student / "lab6_generative")
        if source == SOLUTIONS:
            for relpath in STUDENT_FILES:
                shutil.copyfile(SOLUTIONS / relpath, subs / student / relpath)
    (subs / "manifest.csv").write_text(
        "student,repo,commit,pushed_at,on_time,minutes_late,time_source,problems\n"
        "filled,r1,abc,2026-12-01T22:00:00+00:00,yes,0,github push,\n"
        "late,r3,def,2026-12-03T23:00:00+00:00,no,2940,github push,\n"
        "stubs,r2,123,2026-12-01T20:00:00+00:00,yes,0,commit date (student-controlled),\n")
    out = tmp_path / "grades"
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade-all", str(subs), "--out", str(out),
                           "--gradebook", str(course / "gradebook.db")], cwd=ROOT, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(out / "grades.csv", newline="") as f:
        grades = {row["student"]: row for row in csv.DictReader(f)}
    assert list(grades["filled"])[-6:] == ["written", "written_status", "minutes_late", "late_penalty", "final",
                                           "reason"]
    assert [grades[name]["status"] for name in ("filled", "late", "stubs")] == ["graded", "late", "graded"]
    assert (grades["filled"]["score"], grades["filled"]["written"], grades["filled"]["final"]) == ("100", "6", "106")
    # "late" has no notebook in nbgrader (written 0) and is 3 started days late: 100 + 0 - 30.
    assert (grades["late"]["written_status"], grades["late"]["late_penalty"], grades["late"]["final"]) == \
        ("missing", "30", "70")
    assert (grades["stubs"]["score"], grades["stubs"]["written"], grades["stubs"]["final"]) == ("0", "0", "0")
    report = (out / "report.md").read_text()
    assert "late (3 days late: -30)" in report and "Written answers still to grade in nbgrader" in report
    assert json.loads((out / "students" / "filled" / "results.json").read_text())["score"] == 100  # checks only

    roster = tmp_path / "roster.csv"
    roster.write_text("student,repo,name,email,sis_id,canvas_id,section\n"
                      "filled,r1,\"Fill, Ed\",ed@uni.edu,S1,11,A\nlate,r3,Lay Te,lay@uni.edu,S3,13,A\n"
                      "stubs,r2,Stu Bs,stu@uni.edu,S2,12,B\nzed,r4,Zed,zed@uni.edu,S4,14,B\n")
    for lms in ("canvas", "moodle"):
        proc = subprocess.run([sys.executable, "-m", "autograder", "export", str(out), "--roster", str(roster),
                               "--format", lms], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
    with open(out / "canvas.csv", newline="") as f:
        canvas = list(csv.reader(f))
    assert canvas[0][-1] == "Lab 6" and canvas[1] == ["Points Possible", "", "", "", "", "106"]
    assert canvas[2] == ["Fill, Ed", "11", "S1", "", "A", "106"] and canvas[5][-1] == ""  # zed: no grade
    with open(out / "moodle.csv", newline="") as f:
        assert list(csv.reader(f))[1:3] == [["ed@uni.edu", "S1", "106"], ["lay@uni.edu", "S3", "70"]]
