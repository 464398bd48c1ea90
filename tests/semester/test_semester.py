"""The end of a semester: the late policy, the final grade, and the LMS exports."""
import csv

import pytest
import yaml

from autograder.semester import exports, final_grades, late, written
from autograder import rubric
from autograder.errors import UsageError
from support import ROOT

POLICY = late.LatePolicy(grace_minutes=15, penalty_per_day=10, max_days=5)


@pytest.mark.parametrize("minutes, total, penalty", [
    (None, 90, 0), (0, 90, 0), (15, 90, 0),          # on time, and within the grace period
    (16, 90, 10), (24 * 60, 90, 10),                  # the first day starts after the grace period
    (24 * 60 + 1, 90, 20), (5 * 24 * 60, 90, 50),     # every started day
    (5 * 24 * 60 + 1, 90, 90),                        # past max_days: nothing left
    (3 * 24 * 60, 25, 25),                            # never below 0
])
def test_the_late_policy(minutes, total, penalty):
    assert POLICY.penalty(total, minutes) == penalty


def test_the_late_policy_says_what_it_did():
    assert POLICY.describe(0) == "on time"
    assert "grace period" in POLICY.describe(10)
    assert POLICY.describe(2 * 24 * 60) == "2 days late: -20"
    assert POLICY.describe(9 * 24 * 60) == "more than 5 days late: 0"


def _rubric_with(tmp_path, **extra):
    data = yaml.safe_load((ROOT / "grading.yml").read_text())
    data.update(extra)
    path = tmp_path / "grading.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize("extra, message", [
    ({"late": {"grace_minutes": 15, "penalty_per_day": 10}}, "late: missing max_days"),
    ({"late": {"grace_minutes": 15, "penalty_per_day": -1, "max_days": 5}}, "late.penalty_per_day must be"),
    ({"late": {"grace": 15, "penalty_per_day": 1, "max_days": 5}}, "late: unknown key 'grace'"),
    ({"late": "10% a day"}, "late must be a mapping"),
    ({"written": {"points": 0, "assignment": "lab6"}}, "written.points must be a positive integer"),
    ({"written": {"points": 6}}, "written.assignment must name"),
    ({"written": {"points": 6, "assignment": "lab6", "db": "x"}}, "written: unknown key 'db'"),
])
def test_the_rubric_rejects_a_bad_late_policy_or_written_entry(tmp_path, extra, message):
    with pytest.raises(rubric.RubricError, match=message.replace(".", r"\.").replace("(", r"\(")):
        rubric.load(str(_rubric_with(tmp_path, **extra)))


def test_the_final_grade_combines_checks_written_and_penalty(tmp_path):
    loaded = rubric.load(str(_rubric_with(tmp_path, late={"grace_minutes": 15, "penalty_per_day": 10,
                                                           "max_days": 5},
                                          written={"points": 6, "assignment": "lab6"})))
    assert loaded.final_total == 106
    from autograder.semester.manifest import Row

    manifest = {"ana": Row("ana", minutes_late=0), "ben": Row("ben", minutes_late=1500),
                "cy": Row("cy", minutes_late=99999), "dee": Row("dee")}
    scores = {"ana": written.WrittenScore(6.0, 6, "graded"), "ben": written.WrittenScore(4.0, 6, "graded"),
              "cy": written.WrittenScore(6.0, 6, "graded"), "dee": written.WrittenScore(None, 6, "ungraded")}
    finals = final_grades.combine(loaded, {"ana": 100, "ben": 80, "cy": 100, "dee": 70, "eve": 50}, manifest, scores)
    assert finals["ana"].final == 106 and finals["ana"].penalty == 0
    assert finals["ben"].final == 84 - 20 and finals["ben"].late == "2 days late: -20"
    assert finals["cy"].final == 0
    assert finals["dee"].final is None and finals["dee"].written_status == "ungraded"
    assert finals["eve"].written_status == "missing" and finals["eve"].final == 50  # no notebook, no manifest row
    header = final_grades.extra_header(loaded, manifest, scores)
    assert header == ["written", "written_status", "minutes_late", "late_penalty", "final"]
    assert final_grades.extra_cells(finals["ben"], header) == ["4", "graded", "1500", "20", "64"]


def test_a_student_with_nothing_collected_is_not_called_on_time(tmp_path):
    loaded = rubric.load(str(_rubric_with(tmp_path, late={"grace_minutes": 15, "penalty_per_day": 10,
                                                           "max_days": 5})))
    from autograder.semester.manifest import Row

    manifest = {"fay": Row("fay", commit="", problems="cannot read the repository (missing, private, or no access?)"),
                "gus": Row("gus", commit="abc123", minutes_late=0), "hal": Row("hal", commit="")}
    finals = final_grades.combine(loaded, {"fay": 0, "gus": 90, "hal": 0}, manifest)
    assert finals["fay"].late == "nothing collected: cannot read the repository (missing, private, or no access?)"
    assert finals["fay"].minutes_late is None and finals["hal"].late == "nothing collected: no repository collected"
    assert finals["fay"].final == 0 and finals["gus"].late == "on time" and finals["gus"].final == 90


def test_without_manifest_or_gradebook_nothing_changes():
    loaded = rubric.load()
    finals = final_grades.combine(loaded, {"ana": 87})
    assert finals["ana"].final == 87 and final_grades.extra_header(loaded, None, None) == []


ROWS = [exports.Row("ana", 101.5, {"name": "Lopez, Ana", "email": "Ana@uni.edu", "sis_id": "S1",
                                    "canvas_id": "1001", "section": "A"}),
        exports.Row("ben", None, {"name": "Ben \"B\" Ode", "email": "ben@uni.edu", "sis_id": "S2",
                                  "sis_login_id": "bode", "section": "B"})]


def _read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_canvas_gradebook_import(tmp_path):
    """Canvas's columns, a Points Possible row, RFC 4180 quoting; a blank grade is left untouched."""
    path = tmp_path / "canvas.csv"
    exports.formats()["canvas"](ROWS, str(path), "Lab 6: VAE", 106)
    rows = _read(path)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Lab 6: VAE"]
    assert rows[1] == ["Points Possible", "", "", "", "", "106"]
    assert rows[2] == ["Lopez, Ana", "1001", "S1", "", "A", "101.5"]
    assert rows[3] == ['Ben "B" Ode', "", "S2", "bode", "B", ""]
    assert '"Lopez, Ana"' in path.read_text() and '"Ben ""B"" Ode"' in path.read_text()


def test_moodle_grade_import(tmp_path):
    path = tmp_path / "moodle.csv"
    exports.formats()["moodle"](ROWS, str(path), "Lab 6", 106)
    assert _read(path) == [["Email address", "ID number", "Lab 6"], ["Ana@uni.edu", "S1", "101.5"],
                           ["ben@uni.edu", "S2", ""]]


@pytest.mark.parametrize("lms, needed", [("canvas", "canvas_id or sis_id"), ("moodle", "email or sis_id")])
def test_a_roster_without_lms_identifiers_is_one_clear_error(tmp_path, lms, needed):
    rows = [exports.Row("cy", 50, {"name": "Cy"})]
    with pytest.raises(UsageError, match=needed) as err:
        exports.formats()[lms](rows, str(tmp_path / "x.csv"), "Lab 6", 106)
    assert "cy" in str(err.value) and not (tmp_path / "x.csv").exists()


def test_numbers_are_written_as_an_lms_reads_them():
    from autograder.text import number

    assert [number(v) for v in (100, 99.0, 86.5, 86.25, None, "")] == ["100", "99", "86.5", "86.25", "", ""]
    assert [number(v) for v in (86.999, 86.254, "87.50", -0.0)] == ["87", "86.25", "87.5", "0"]
    assert [number(v, 1) for v in (0.04, 26.55, 600.0)] == ["0", "26.6", "600"]
    assert number("not a number") == "not a number" and number(float("inf")) == "inf"


@pytest.mark.slow
def test_grade_all_with_a_missing_gradebook_or_a_bad_manifest_is_one_line(tmp_path):
    import shutil
    import subprocess
    import sys

    shutil.copytree(ROOT / "assignment" / "lab6_generative", tmp_path / "subs" / "ana" / "lab6_generative")
    run = [sys.executable, "-m", "autograder", "grade-all", str(tmp_path / "subs"), "--out", str(tmp_path / "out")]
    proc = subprocess.run(run + ["--gradebook", str(tmp_path / "nope.db")], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and "nope.db not found" in proc.stderr and proc.stderr.count("\n") == 1
    (tmp_path / "subs" / "manifest.csv").write_text("who,late\nana,3\n")
    proc = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "no 'student' column" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_export_needs_grades_and_a_roster(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "autograder", "export", str(tmp_path), "--roster",
                           str(tmp_path / "roster.csv"), "--format", "canvas"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and "grades.csv not found" in proc.stderr and "Traceback" not in proc.stderr


def test_collected_repositories_become_nbgrader_submissions(tmp_path):
    from release import submitted

    repo = tmp_path / "collected" / "ana"
    for rel in ("lab6_vae.ipynb", "lab6_generative/vae.py", ".git/HEAD", ".grader/grading.yml", "ci/grade.sh"):
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text("x")
    (tmp_path / "collected" / "manifest.csv").write_text("student,pushed_at\nana,2026-12-01T22:00:00+00:00\n")
    (tmp_path / "course" / "source" / "lab6").mkdir(parents=True)
    assert submitted.main([str(tmp_path / "collected"), "--course-dir", str(tmp_path / "course")]) == 0
    target = tmp_path / "course" / "submitted" / "ana" / "lab6"
    assert sorted(p.name for p in target.iterdir()) == ["lab6_generative", "lab6_vae.ipynb", "timestamp.txt"]
    assert (target / "timestamp.txt").read_text() == "2026-12-01 22:00:00+00:00\n"
    assert submitted.main([str(tmp_path / "nothing"), "--course-dir", str(tmp_path / "course")]) == 2
