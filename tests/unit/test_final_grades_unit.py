"""collect's manifest as grade-all reads it, and the final grade (autograder/semester/final_grades.py)."""
import dataclasses

import pytest

from autograder import rubric
from autograder.errors import UsageError
from autograder.semester import final_grades, late, written
from autograder.semester.manifest import Row

POLICY = late.LatePolicy(grace_minutes=15, penalty_per_day=10, max_days=5)


def _manifest(*rows):
    """{student: manifest.Row} of csv-style rows, as read_manifest gives it."""
    return {row["student"]: Row.parse(row) for row in rows}


@pytest.fixture(scope="module")
def plain():
    """The repository's rubric without a late policy or written answers."""
    return dataclasses.replace(rubric.load(), late=None, written=None)


@pytest.fixture(scope="module")
def semester(plain):
    """The same rubric with the late policy and 6 written points."""
    return dataclasses.replace(plain, late=POLICY, written=written.Written(6, "lab6", "course/gradebook.db"))


def test_read_manifest_is_none_without_the_file(tmp_path):
    assert final_grades.read_manifest(str(tmp_path)) is None


def test_read_manifest_keys_the_rows_by_student(tmp_path):
    (tmp_path / "manifest.csv").write_text("student,commit,minutes_late,problems\n"
                                           "ana,abc123,0,\nben,,,\"cannot read the repository, private?\"\n",
                                           encoding="utf-8")
    manifest = final_grades.read_manifest(str(tmp_path))
    assert list(manifest) == ["ana", "ben"]
    assert manifest["ana"] == Row("ana", commit="abc123", minutes_late=0.0, problems="")
    assert manifest["ben"] == Row("ben", commit="", problems="cannot read the repository, private?")
    assert final_grades.nothing_collected(manifest["ben"]) and not final_grades.nothing_collected(manifest["ana"])


def test_an_empty_manifest_has_no_students(tmp_path):
    (tmp_path / "manifest.csv").write_text("student,commit\n", encoding="utf-8")
    assert final_grades.read_manifest(str(tmp_path)) == {}


@pytest.mark.parametrize("content, words", [
    (b"who,late\nana,3\n", "has no 'student' column: is it collect's manifest?"),
    (b"student,commit\n\xff\xfe,abc\n", "cannot read"),
])
def test_a_manifest_that_is_not_collects_is_one_usage_error(tmp_path, content, words):
    (tmp_path / "manifest.csv").write_bytes(content)
    with pytest.raises(UsageError) as err:
        final_grades.read_manifest(str(tmp_path))
    assert words in str(err.value) and "manifest.csv" in str(err.value)


@pytest.mark.parametrize("row, missing", [
    (None, False),                                       # no manifest row: nothing says it is missing
    ({"student": "a"}, False),                           # a manifest without a commit column
    ({"student": "a", "commit": "abc"}, False),
    ({"student": "a", "commit": ""}, True),
    ({"student": "a", "commit": "  "}, True),
    ({"student": "a", "commit": None}, True),
])
def test_nothing_collected_is_an_empty_commit(row, missing):
    assert final_grades.nothing_collected(None if row is None else Row.parse(row)) is missing


@pytest.mark.parametrize("row, reason", [
    (None, "no repository collected"),
    ({"student": "a", "problems": ""}, "no repository collected"),
    ({"student": "a", "problems": None}, "no repository collected"),
    ({"student": "a"}, "no repository collected"),
    ({"student": "a", "problems": "cannot read\nthe repository\x1b[31m (private?)"},
     "cannot read the repository (private?)"),
    ({"student": "a", "problems": "x" * 1000}, None),
])
def test_missing_reason_is_one_clean_bounded_line(row, reason):
    got = final_grades.missing_reason(None if row is None else Row.parse(row))
    if reason is not None:
        assert got == reason
    else:
        assert len(got) <= 300 and got.startswith("xxx") and "chars cut" in got


def test_without_a_manifest_or_written_scores_the_final_is_the_autograded_total(plain):
    finals = final_grades.combine(plain, {"ana": 87, "ben": None})
    assert finals["ana"] == final_grades.Final(87, None, "", None, 0, 87, "")
    assert finals["ben"].final is None, "no autograded total, no final grade"
    assert final_grades.extra_header(plain, None, None) == []


def test_a_manifest_without_a_late_policy_records_minutes_but_takes_nothing(plain):
    manifest = _manifest({"student": "ana", "commit": "c", "minutes_late": "3000"})
    finals = final_grades.combine(plain, {"ana": 80}, manifest)
    assert (finals["ana"].minutes_late, finals["ana"].penalty, finals["ana"].final, finals["ana"].late) == \
        (3000.0, 0, 80, "")
    header = final_grades.extra_header(plain, manifest, None)
    assert header == ["minutes_late", "late_penalty", "final"]
    assert final_grades.extra_cells(finals["ana"], header) == ["3000", "0", "80"]


def test_the_penalty_comes_off_checks_plus_written_and_never_below_zero(semester):
    manifest = _manifest({"student": "ana", "commit": "c", "minutes_late": "-5"},     # early: on time
                         {"student": "ben", "commit": "c", "minutes_late": "1441"},   # 2 started days
                         {"student": "cy", "commit": "c", "minutes_late": "2000"},
                         {"student": "dee", "commit": "c", "minutes_late": " "})      # blank: on time
    scores = {"ana": written.WrittenScore(5.5, 6, "graded"), "ben": written.WrittenScore(6.0, 6, "graded"),
              "cy": written.WrittenScore(2.0, 6, "graded"), "dee": written.WrittenScore(0.0, 6, "graded")}
    finals = final_grades.combine(semester, {"ana": 90, "ben": 94, "cy": 10, "dee": 100}, manifest, scores)
    assert (finals["ana"].minutes_late, finals["ana"].final, finals["ana"].late) == (0.0, 95.5, "on time")
    assert (finals["ben"].penalty, finals["ben"].final, finals["ben"].late) == (20, 80.0, "2 days late: -20")
    assert (finals["cy"].penalty, finals["cy"].final) == (12.0, 0.0), "the penalty takes at most the grade"
    assert finals["dee"].final == 100.0 and finals["dee"].minutes_late == 0.0
    header = final_grades.extra_header(semester, manifest, scores)
    assert final_grades.extra_cells(finals["ana"], header) == ["5.5", "graded", "0", "0", "95.5"]
    assert final_grades.extra_cells(finals["cy"], header) == ["2", "graded", "2000", "12", "0"]


def test_ungraded_written_answers_leave_the_final_grade_empty_and_untouched_by_lateness(semester):
    manifest = _manifest({"student": "ana", "commit": "c", "minutes_late": "3000"})
    finals = final_grades.combine(semester, {"ana": 90}, manifest,
                                  {"ana": written.WrittenScore(None, 6, "ungraded")})
    ana = finals["ana"]
    assert (ana.final, ana.penalty, ana.written_status, ana.late) == (None, 0, "ungraded", "3 days late: -30")
    header = final_grades.extra_header(semester, manifest, {})
    assert final_grades.extra_cells(ana, header) == ["", "ungraded", "3000", "0", ""]


def test_a_student_without_a_notebook_gets_zero_written_points(semester):
    finals = final_grades.combine(semester, {"eve": 70}, None, {})
    assert (finals["eve"].written, finals["eve"].written_status, finals["eve"].final) == (0.0, "missing", 70)
    assert final_grades.extra_header(semester, None, {}) == ["written", "written_status", "final"]


def test_nothing_collected_says_why_and_is_not_late(semester):
    manifest = _manifest({"student": "fay", "commit": "", "minutes_late": "99999", "problems": "no such repository"})
    fay = final_grades.combine(semester, {"fay": 0}, manifest)["fay"]
    assert (fay.minutes_late, fay.penalty, fay.final) == (None, 0, 0)
    assert fay.late == "nothing collected: no such repository"
    assert final_grades.extra_cells(fay, ["minutes_late", "late_penalty"]) == ["", ""]


def test_a_student_missing_from_the_manifest_gets_no_late_verdict_and_no_penalty(semester):
    finals = final_grades.combine(semester, {"gus": 50}, {})
    assert (finals["gus"].minutes_late, finals["gus"].late, finals["gus"].penalty, finals["gus"].final) == \
        (None, "", 0, 50)


def test_a_minutes_late_that_is_not_a_number_is_a_usage_error_naming_the_student(tmp_path):
    """The manifest's rows are typed when read, so a bad minutes_late stops read_manifest, before any grade."""
    (tmp_path / "manifest.csv").write_text("student,commit,minutes_late\nana,c,0\nhal,c,soon\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"manifest.csv: minutes_late of 'hal' is not a number: 'soon'"):
        final_grades.read_manifest(str(tmp_path))


def test_the_gradebook_path_is_the_override_else_the_rubrics_relative_to_it(plain, semester, tmp_path):
    assert final_grades.gradebook_path(plain) is None
    assert final_grades.gradebook_path(semester, str(tmp_path / "g.db")) == str(tmp_path / "g.db")
    expected = semester.path.rsplit("/", 1)[0] + "/course/gradebook.db"
    assert final_grades.gradebook_path(semester) == expected
