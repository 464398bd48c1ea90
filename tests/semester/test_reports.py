"""Reports that say the truth: statuses and reasons in grades.csv and report.md, LMS totals, the roster.

Fast: the stored Results are written directly (as grade-all's grading processes and its zero
Results would), then ``class_report.write`` and ``export`` run in-process.
"""
import csv
import dataclasses
import datetime
import io
import json
import os
import re
import shutil
import subprocess
import sys
import types
from contextlib import redirect_stdout

import pytest

from autograder.semester import class_report, collect, grade_all, written
from autograder import reporters, results, rubric as rubric_mod
from autograder.semester.exports import cli as export_cli
from autograder.reporters import console
from autograder.results import CheckResult, Result, TestResult
from autograder.semester.manifest import Row
from support import ROOT

EXAMPLE_ROSTER = ROOT / "examples" / "roster.csv"
REASON = "cannot read the repository (missing, private, or no access?): repository not found"
HOSTILE_REASON = "cannot read the repository:\n## Full marks for finn <b>x</b> | 100 |"


def _store(out, name, result):
    """A student's stored Result and its readable results.json, as grade-all keeps them."""
    folder = os.path.join(out, "students", name)
    reporters.write(result, "result", os.path.join(folder, grade_all.RESULT_FILE))
    reporters.write(result, "gradescope", os.path.join(folder, grade_all.REPORT_FILE))


def _graded(rubric, name, failing=(), isolation="bwrap"):
    """A Result as a grading process writes it: every check passed but ``failing``."""
    checks = [CheckResult(c.id, c.title, c.points, c.visibility, [
        TestResult(c.title, c.id, c.points, "failed" if c.id in failing else "passed",
                   "expected 1.00, got 2.50" if c.id in failing else "",
                   reason="wrong" if c.id in failing else "passed")]) for c in rubric.checks]
    return Result(f"/collected/{name}/", rubric.total, checks, isolation=isolation)


def _class(out, written_scores=None):
    """Six students, one of each kind; returns (rubric, statuses, reasons, manifest) as grade-all has them.

    ana: 100, on time; ben: 80, two days late; finn: missing (no repository); rex: refused (over a
    limit); ivy: an internal error of the grader; dave: no package.
    """
    rubric = rubric_mod.load()
    manifest = {
        "ana": Row.parse({"student": "ana", "commit": "a" * 40, "minutes_late": "0", "problems": ""}),
        "ben": Row.parse({"student": "ben", "commit": "b" * 40, "minutes_late": "1500", "problems": ""}),
        "finn": Row.parse({"student": "finn", "commit": "", "minutes_late": "", "problems": REASON}),
        "rex": Row.parse({"student": "rex", "commit": "c" * 40, "minutes_late": "0", "problems": ""}),
        "ivy": Row.parse({"student": "ivy", "commit": "d" * 40, "minutes_late": "0", "problems": ""}),
        "dave": Row.parse({"student": "dave", "commit": "e" * 40, "minutes_late": "0", "problems": ""}),
    }
    _store(out, "ana", _graded(rubric, "ana"))
    _store(out, "ben", _graded(rubric, "ben", failing=("kl_analytic",)))
    run = types.SimpleNamespace(out=str(out), rubric=rubric, submissions=str(out / "collected"))
    finn = grade_all.not_collected("finn", manifest["finn"], run)
    assert (finn.name, finn.status, finn.why, finn.result.score) == ("finn", "missing", REASON, 0)
    too_many = "your submission holds more than 2000 files and folders (the limit is limits.submission_files)"
    _store(out, "rex", results.nothing_to_grade(rubric, "/collected/rex", f"rex: not graded: {too_many}."))
    broken = results.nothing_to_grade(rubric, "/collected/ivy", "not graded: the grader failed on its side")
    broken.internal_errors = [results.InternalError(None, "the worker did not get ready within 0.001 s")]
    broken.isolation = "bwrap"
    _store(out, "ivy", broken)
    _store(out, "dave", results.nothing_to_grade(rubric, "/collected/dave", "dave: no lab6_generative/ folder."))
    statuses = {"ana": "graded", "ben": "unchanged", "finn": "missing", "rex": "refused",
                "ivy": "internal error", "dave": "no package"}
    reasons = {"ana": "", "ben": "", "finn": REASON, "rex": too_many,
               "ivy": "the worker did not get ready within 0.001 s", "dave": class_report.NO_PACKAGE_REASON}
    summary = class_report.write(str(out), sorted(statuses), rubric, statuses, manifest, written_scores, reasons)
    return rubric, summary


def _rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def test_grades_csv_says_each_students_status_and_why(tmp_path):
    _class(tmp_path)
    rows = _rows(tmp_path / "grades.csv")
    assert {name: row["status"] for name, row in rows.items()} == {
        "ana": "graded", "ben": "late", "dave": "no package", "finn": "missing", "ivy": "internal error",
        "rex": "refused"}
    header = list(rows["ana"])
    assert header[:3] == ["student", "status", "score"] and header[-1] == "reason"
    assert rows["ana"]["reason"] == "" and rows["ana"]["isolation"] == "bwrap"
    assert rows["ben"]["reason"] == "2 days late: -20" and rows["ben"]["final"] == "55"
    assert rows["finn"]["reason"] == REASON and rows["finn"]["score"] == "0" and rows["finn"]["final"] == "0"
    assert rows["finn"]["minutes_late"] == "" and rows["finn"]["late_penalty"] == ""
    assert "more than 2000 files" in rows["rex"]["reason"] and rows["rex"]["score"] == "0"
    assert rows["ivy"]["reason"] == "the worker did not get ready within 0.001 s"
    assert rows["ivy"]["score"] == rows["ivy"]["final"] == "" and rows["ivy"]["shapes"] == ""
    assert "lab6_generative/" in rows["dave"]["reason"]
    for name in ("finn", "rex", "ivy", "dave"):
        assert rows[name]["isolation"] == "", f"{name}: nobody's code ran, no isolation is claimed"


def test_the_report_counts_only_students_with_a_score(tmp_path):
    rubric, summary = _class(tmp_path)
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    # ana 100, ben 75, rex 0, dave 0: finn (missing) and ivy (internal error) are not counted
    assert summary["counted"] == 4 and summary["graded"] == 2 and summary["missing"] == 1
    assert summary["mean"] == pytest.approx(175 / 4)
    assert "# Class report: 4 of 6 students have a score" in report
    assert "Status: graded 1, late 1, missing 1, no package 1, refused 1, internal error 1." in report
    assert "Mean score 43.8 / 100" in report and "Isolation: bwrap (2)." in report
    assert "| kl_analytic | 25 | 1 (25%) | expected \\#, got \\# (1) |" in report
    assert "| shapes | 10 | 2 (50%) |" in report, "refused and no package count as 0, finn and ivy not at all"
    assert f"- finn (missing): {REASON}; score 0, not counted above." in report
    assert "- rex (refused): your submission holds more than 2000 files" in report
    assert "- ivy (internal error): the worker did not get ready within 0.001 s; no score yet" in report
    assert "- dave (no package): no lab6\\_generative/ folder in the submission" in report
    late = next(line for line in report.splitlines() if line.startswith("Late:"))
    assert late == "Late: ben (2 days late: -20).", "finn is missing, not late"
    assert "no commit pushed in time" not in report
    assert "5 of 6 students have a final grade (1 of them missing: 0 in the LMS file); the mean of the 4 graded: 38.8." in report


def test_a_missing_students_zero_result_claims_no_sandbox(tmp_path):
    _class(tmp_path)
    stored = results.from_dict(json.loads((tmp_path / "students" / "finn" / grade_all.RESULT_FILE).read_text()))
    assert stored.isolation == results.NOT_RUN and stored.score == 0 and REASON in stored.notes[0]
    for name in ("finn", "rex", "dave"):
        shown = (tmp_path / "students" / name / grade_all.REPORT_FILE).read_text()
        assert "NOT SANDBOXED" not in shown and "no student code was run" in shown
    zero = results.nothing_to_grade(rubric_mod.load(), "x", "no package")
    assert "NOT SANDBOXED" not in console.table(zero) and "no student code was run" in console.table(zero)


def test_a_hostile_reason_from_the_manifest_stays_text(tmp_path):
    rubric = rubric_mod.load()
    manifest = {"finn": Row.parse({"student": "finn", "commit": "", "minutes_late": "", "problems": HOSTILE_REASON})}
    _store(tmp_path, "ana", _graded(rubric, "ana"))
    run = types.SimpleNamespace(out=str(tmp_path), rubric=rubric, submissions=str(tmp_path))
    finn = grade_all.not_collected("finn", manifest["finn"], run)
    status, why = finn.status, finn.why
    manifest["ana"] = Row.parse({"student": "ana", "commit": "a" * 40, "minutes_late": "0", "problems": ""})
    class_report.write(str(tmp_path), ["ana", "finn"], rubric, {"ana": "graded", "finn": status}, manifest,
                       reasons={"finn": why})
    rows = _rows(tmp_path / "grades.csv")
    assert "\n" not in rows["finn"]["reason"] and "## Full marks" in rows["finn"]["reason"]
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert [line for line in report.splitlines() if line.startswith("#")] == [
        "# Class report: 1 of 2 students have a score", "## Final grades (out of 100)", "## Not graded"]
    assert "&lt;b&gt;x&lt;/b&gt; \\| 100 \\|" in report and "<b>" not in report


def test_reasons_are_found_without_grade_alls_word(tmp_path):
    """class_report.write called with statuses only: the reasons come from the manifest and the Results."""
    rubric = rubric_mod.load()
    _store(tmp_path, "ivy", dataclasses.replace(results.nothing_to_grade(rubric, "ivy", "not graded"),
                                                internal_errors=[results.InternalError(
                                                    None, "pytest could not run the checks")]))
    manifest = {"finn": Row.parse({"student": "finn", "commit": "", "problems": ""})}
    class_report.write(str(tmp_path), ["finn", "gone", "ivy"], rubric,
                       {"finn": "not collected", "gone": "graded", "ivy": "internal error"}, manifest)
    rows = _rows(tmp_path / "grades.csv")
    assert rows["finn"]["status"] == "missing" and rows["finn"]["reason"] == "no repository collected"
    assert rows["gone"]["status"] == "grader failed" and "students/gone/grader.log" in rows["gone"]["reason"]
    assert rows["ivy"]["reason"] == "pytest could not run the checks" and rows["ivy"]["score"] == ""


def test_a_late_students_reason_says_what_the_penalty_took(tmp_path):
    rubric = rubric_mod.load()
    _store(tmp_path, "kim", _graded(rubric, "kim", failing=[c.id for c in rubric.checks if c.id != "training"]))
    _store(tmp_path, "lou", _graded(rubric, "lou"))
    manifest = {"kim": Row.parse({"student": "kim", "commit": "a" * 40, "minutes_late": "1500", "problems": ""}),
                "lou": Row.parse({"student": "lou", "commit": "b" * 40, "minutes_late": "10", "problems": ""})}
    class_report.write(str(tmp_path), ["kim", "lou"], rubric, {"kim": "graded", "lou": "graded"}, manifest)
    rows = _rows(tmp_path / "grades.csv")
    assert (rows["kim"]["status"], rows["kim"]["final"]) == ("late", "0")
    assert rows["kim"]["reason"] == "2 days late: -20 (took 5: a grade is never below 0)"
    assert (rows["lou"]["status"], rows["lou"]["reason"]) == ("graded", ""), "within the grace period"
    without = dataclasses.replace(rubric, late=None)
    class_report.write(str(tmp_path), ["kim", "lou"], without, {"kim": "graded", "lou": "graded"}, manifest)
    rows = _rows(tmp_path / "grades.csv")
    assert rows["lou"]["status"] == "late" and rows["lou"]["reason"].startswith("10 minutes late (no late: policy")


# --------------------------------------------------------------------------------------------
# export: out of the right total; the example roster
# --------------------------------------------------------------------------------------------

def _roster_class(out, with_written):
    """grades.csv for the example roster's students (ana 100 on time, ben 80 late, chloe 90, dev missing)."""
    rubric = rubric_mod.load()
    manifest = {
        "ana": Row.parse({"student": "ana", "commit": "a" * 40, "minutes_late": "0", "problems": ""}),
        "ben": Row.parse({"student": "ben", "commit": "b" * 40, "minutes_late": "1500", "problems": ""}),
        "chloe": Row.parse({"student": "chloe", "commit": "c" * 40, "minutes_late": "0", "problems": ""}),
        "dev": Row.parse({"student": "dev", "commit": "", "minutes_late": "", "problems": REASON}),
    }
    _store(out, "ana", _graded(rubric, "ana"))
    _store(out, "ben", _graded(rubric, "ben", failing=("shapes", "training")))
    _store(out, "chloe", _graded(rubric, "chloe", failing=("shapes",)))
    run = types.SimpleNamespace(out=str(out), rubric=rubric, submissions=str(out))
    grade_all.not_collected("dev", manifest["dev"], run)
    scores = None
    if with_written:
        scores = {"ana": written.WrittenScore(6.0, 6, "graded"), "ben": written.WrittenScore(4.0, 6, "graded"),
                  "chloe": written.WrittenScore(None, 6, "ungraded")}
    statuses = {"ana": "graded", "ben": "graded", "chloe": "graded", "dev": "missing"}
    class_report.write(str(out), sorted(statuses), rubric, statuses, manifest, scores)
    return rubric


def _export(grades, fmt, out_file, roster=EXAMPLE_ROSTER, title="Lab 6"):
    args = types.SimpleNamespace(grades=str(grades), roster=str(roster), format=fmt, title=title,
                                 out=str(out_file), rubric=None)
    printed = io.StringIO()
    with redirect_stdout(printed):
        assert export_cli.run_export(args) == 0
    with open(out_file, newline="", encoding="utf-8") as f:
        return list(csv.reader(f)), printed.getvalue()


@pytest.mark.parametrize("with_written, total, grades", [
    (False, 100, {"Lopez, Ana": "100", "Ben Okafor": "65", "Chloé Martin": "90", "Dev Patel": "0"}),
    (True, 106, {"Lopez, Ana": "106", "Ben Okafor": "69", "Chloé Martin": "", "Dev Patel": "0"}),
])
def test_canvas_points_possible_is_what_the_grades_are_out_of(tmp_path, with_written, total, grades):
    """Without written grades the final grade (checks - penalty) is out of 100, even with a manifest."""
    rubric = _roster_class(tmp_path, with_written)
    assert ("written" in _rows(tmp_path / "grades.csv")["ana"]) == with_written
    rows, printed = _export(tmp_path, "canvas", tmp_path / "canvas.csv", title="Lab 6: VAE")
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Lab 6: VAE"]
    assert rows[1] == ["Points Possible", "", "", "", "", str(total)]
    assert total == (rubric.final_total if with_written else rubric.total)
    assert {row[0]: row[-1] for row in rows[2:]} == grades
    assert rows[4][:5] == ["Chloé Martin", "", "S1003", "cmartin", "Section B"], "matched by SIS id"
    assert f"out of {total}" in printed and "1 missing (nothing collected: 0)" in printed


@pytest.mark.parametrize("with_written, total", [(False, 100), (True, 106)])
def test_moodle_export_says_what_maximum_to_set(tmp_path, with_written, total):
    _roster_class(tmp_path, with_written)
    rows, printed = _export(tmp_path, "moodle", tmp_path / "moodle.csv")
    assert rows[0] == ["Email address", "ID number", "Lab 6"]
    assert [row[:2] for row in rows[1:]] == [["ana.lopez@uni.example", "S1001"], ["ben.okafor@uni.example", "S1002"],
                                             ["chloe.martin@uni.example", "S1003"], ["dev.patel@uni.example", "S1004"]]
    assert f"maximum grade of {total}" in printed


def test_the_example_roster_is_accepted_by_collect(tmp_path):
    deadline = datetime.datetime(2026, 12, 1, 23, 59, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    entries = {e.student: e for e in collect.read_roster(str(EXAMPLE_ROSTER), deadline)}
    assert list(entries) == ["ana", "ben", "chloe", "dev"]
    assert entries["ana"].deadline == deadline and entries["ben"].deadline == deadline + datetime.timedelta(hours=48)
    assert entries["chloe"].deadline.isoformat() == "2026-12-04T23:59:00+01:00"
    assert all(collect.is_url(e.url) for e in entries.values())
    with open(EXAMPLE_ROSTER, newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    # every column a reader of the roster reads (collect, the Canvas and Moodle exports), except the alias login
    assert header == ["student", "repo", "extension", "name", "email", "sis_id", "canvas_id", "sis_login_id",
                      "section"]


def test_export_reads_grades_csv_by_the_column_names_class_report_writes(tmp_path):
    """The grade is the column named final (else score), found by its name wherever it stands; a reason or
    a check that says "score" in its name is never taken for it."""
    _roster_class(tmp_path, False)
    header, rows = class_report.read_grades(str(tmp_path))
    assert tuple(header[:3]) == class_report.LEADING and header[-1] == class_report.REASON
    assert export_cli.grade_column(header) == class_report.FINAL == "final"
    # the same grades, columns shuffled and the reason made to look like a grade: the same export
    shuffled = ["reason", "final", "status", "student", "score"]
    with open(tmp_path / "grades.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(shuffled)
        writer.writerows([["99", rows[n]["final"], rows[n]["status"], n, rows[n]["score"]] for n in rows])
    exported, _ = _export(tmp_path, "canvas", tmp_path / "canvas.csv")
    assert {row[0]: row[-1] for row in exported[2:]} == {"Lopez, Ana": "100", "Ben Okafor": "65",
                                                          "Chloé Martin": "90", "Dev Patel": "0"}
    assert export_cli.grade_column(["student", "status", "score", "final_exam"]) == "score"


@pytest.mark.parametrize("header", ["student,score\n", "Student,Status,Score\n", " student,status,score\n",
                                    "name,grade\nana,90\n", ""])
def test_a_grades_csv_without_grade_alls_columns_is_one_sentence_and_exit_2(tmp_path, header):
    (tmp_path / "grades.csv").write_text(header, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "autograder", "export", str(tmp_path), "--roster",
                           str(EXAMPLE_ROSTER), "--format", "canvas"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "grades.csv has no" in proc.stderr and "give grade-all's --out folder" in proc.stderr
    assert not (tmp_path / "canvas.csv").exists()


def test_export_reads_a_roster_as_collect_does(tmp_path):
    """Spaces around header names, a BOM, blank lines: what collect accepts, export accepts."""
    _roster_class(tmp_path, False)
    text = EXAMPLE_ROSTER.read_text(encoding="utf-8").splitlines()
    text[0] = ", ".join(text[0].split(","))
    roster = tmp_path / "roster-spaces.csv"
    roster.write_text("\ufeff" + "\n".join(text[:2] + [",,,,,,,,"] + text[2:]) + "\n", encoding="utf-8")
    deadline = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)
    assert len(collect.read_roster(str(roster), deadline)) == 4
    rows, _ = _export(tmp_path, "canvas", tmp_path / "c.csv", roster=roster)
    assert [row[0] for row in rows[2:]] == ["Lopez, Ana", "Ben Okafor", "Chloé Martin", "Dev Patel"]


@pytest.mark.slow
def test_make_export_passes_title_and_out():
    make = shutil.which("make")
    if make is None:
        pytest.skip("no make")
    proc = subprocess.run([make, "-n", "export", "GRADES=g", "ROSTER=r.csv", "FORMAT=canvas",
                           "TITLE=Lab 6: VAE", "OUT=x.csv"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r'-m autograder export g --roster r\.csv --format canvas --title "Lab 6: VAE" --out "x\.csv"',
                     proc.stdout), proc.stdout


# --------------------------------------------------------------------------------------------
# student data stays out of git
# --------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("path, ignored", [
    ("collected/ana/lab6_generative/vae.py", True), ("collected/manifest.csv", True),
    ("grades/grades.csv", True), ("grades/students/ana/results.json", True), ("course/gradebook.db", True),
    ("feedback/ana.md", True), ("roster.csv", True), ("roster-fall-2026.csv", True),
    ("rosters/class-roster.csv", True),
    ("examples/roster.csv", False), ("autograder/semester/class_report.py", False), ("autograder/semester/feedback.py", False),
    ("tests/semester/test_reports.py", False),
])
def test_student_data_is_git_ignored(path, ignored):
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    proc = subprocess.run([git, "check-ignore", "--no-index", "-q", path], cwd=ROOT, capture_output=True,
                          timeout=60)
    assert proc.returncode == (0 if ignored else 1), (path, proc.stderr)
