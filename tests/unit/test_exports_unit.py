"""LMS exports (autograder/semester/exports/): cells, numbers, identifiers, and the export command's reading."""
import csv
import dataclasses
import types

import pytest

from autograder.text import number

from autograder import rubric
from autograder.errors import UsageError
from autograder.semester import exports, written
from autograder.semester.exports import cli as export_cli


def _read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


@pytest.mark.parametrize("value, text", [
    (100, "100"), (99.0, "99"), ("87", "87"), ("86.50", "86.5"), (86.25, "86.25"), (1 / 3, "0.33"),
    (0, "0"), (0.0, "0"), (None, ""), ("", ""),
    (105.999, "106"), (99.996, "100"), (0.004, "0"),      # rounded to a whole number: no trailing "."
])
def test_number_is_what_an_lms_reads(value, text):
    assert number(value) == text


def test_lms_value_is_the_first_non_empty_column_stripped():
    row = exports.Row("ana", 90, {"sis_login_id": "  ", "login": " ana1 ", "email": None})
    assert exports.lms_value(row, "sis_login_id", "login") == "ana1"
    assert exports.lms_value(row, "email", "missing") == ""


def test_require_names_at_most_ten_students_without_an_identifier():
    rows = [exports.Row(f"s{i:02}", 1, {}) for i in range(12)] + [exports.Row("ok", 1, {"email": "x@y"})]
    with pytest.raises(UsageError) as err:
        exports.require(rows, "Moodle", ("email", "sis_id"))
    message = str(err.value)
    assert message.startswith("Moodle matches students by email or sis_id, and the roster has neither for s00, ")
    assert "s09 ..." in message and "s10" not in message and "ok" not in message
    exports.require(rows[-1:], "Moodle", ("email", "sis_id"))  # nobody missing: no error


def test_write_csv_cleans_every_cell_and_quotes_as_rfc_4180(tmp_path):
    path = tmp_path / "x.csv"
    exports.write_csv(str(path), ["Name\x00", "Grade"], [["Lopez, Ana\x1b[31m", 90], ['say "hi"\r\nbye', None],
                                                          ["caf\udce9", "7"]])
    raw = path.read_bytes()
    assert raw.startswith(b"Name\xe2\x90\x80,Grade\r\n"), "NUL shown as its picture, CSV line ends"
    assert _read(path) == [["Name\u2400", "Grade"], ["Lopez, Ana", "90"], ['say "hi"\nbye', ""],
                           ["caf\ufffd", "7"]]
    assert b'"Lopez, Ana"' in raw and b'"say ""hi""\nbye"' in raw


def test_every_format_is_registered():
    assert sorted(exports.formats()) == ["canvas", "moodle"]


def test_canvas_uses_the_login_when_there_is_no_sis_login_id_and_the_folder_name_without_a_name(tmp_path):
    rows = [exports.Row("zoe", 50.5, {"login": "zoe7", "section": " B "})]
    exports.formats()["canvas"](rows, str(tmp_path / "c.csv"), "Lab 6", 100)
    assert _read(tmp_path / "c.csv")[1:] == [["Points Possible", "", "", "", "", "100"],
                                             ["zoe", "", "", "zoe7", "B", "50.5"]]


# ---------------------------------------------------------------------------------------------
# The export command's own parts (no subprocess: run_export is called directly)
# ---------------------------------------------------------------------------------------------

def test_a_roster_is_read_as_collect_reads_it(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes("\ufeff student , email \n  ana ,a@x\n,\n ,  \nben,b@x\n".encode("utf-8"))
    rows = export_cli._read_csv(str(path), "roster")
    assert [(r["student"], r["email"]) for r in rows] == [("ana", "a@x"), ("ben", "b@x")], \
        "BOM and header spaces stripped, blank lines skipped"


@pytest.mark.parametrize("content, words", [
    (None, "roster {} not found"),
    (b"name,email\nana,a@x\n", "has no rows with a 'student' column"),
    (b"student\n", "has no rows with a 'student' column"),
    (b"student\n\xff\xfe\n", "cannot read roster"),
])
def test_a_roster_that_cannot_be_used_is_one_usage_error(tmp_path, content, words):
    path = tmp_path / "roster.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UsageError) as err:
        export_cli._read_csv(str(path), "roster")
    assert words.format(path) in str(err.value)


def test_points_possible_counts_the_written_points_only_with_a_written_column():
    loaded = rubric.load()
    with_written = dataclasses.replace(loaded, written=written.Written(6, "lab6"))
    assert export_cli.points_possible(with_written, {"student": "", "final": "", "written": ""}) == 106
    assert export_cli.points_possible(with_written, {"student": "", "final": ""}) == 100
    assert export_cli.points_possible(loaded, {"student": "", "score": ""}) == 100


def _grades(tmp_path, header, rows):
    folder = tmp_path / "grades"
    folder.mkdir()
    with open(folder / "grades.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *rows])
    return folder


def test_run_export_takes_the_final_column_and_leaves_empty_grades_empty(tmp_path, capsys):
    grades = _grades(tmp_path, ["student", "status", "score", "final"],
                     [["ana", "graded", "90", "84.5"], ["ben", "graded", "70", ""], ["cy", "missing", "0", "0"],
                      ["zed", "graded", "99", "99"]])
    (tmp_path / "roster.csv").write_text("student,email,sis_id\nana,a@x,\nben,,S2\ncy,c@x,\ndee,d@x,\n",
                                         encoding="utf-8")
    args = types.SimpleNamespace(grades=str(grades), roster=str(tmp_path / "roster.csv"), format="moodle",
                                 title="Lab 6", out=None, rubric=None)
    assert export_cli.run_export(args) == 0
    assert _read(grades / "moodle.csv") == [["Email address", "ID number", "Lab 6"], ["a@x", "", "84.5"],
                                            ["", "S2", ""], ["c@x", "", "0"], ["d@x", "", ""]]
    out, err = capsys.readouterr()
    assert err == "not in the roster, left out: zed\n"
    assert out.splitlines()[0] == (f"wrote {grades / 'moodle.csv'}: 2 grades of 4 students (column 'final', "
                                   "out of 100); 1 missing (nothing collected: 0)")
    assert out.splitlines()[1].startswith("Moodle: give the grade item a maximum grade of 100")


def test_run_export_without_a_final_column_takes_the_score(tmp_path, capsys):
    grades = _grades(tmp_path, ["student", "status", "score"], [["ana", "graded", "77"]])
    (tmp_path / "roster.csv").write_text("student,canvas_id\nana,42\n", encoding="utf-8")
    args = types.SimpleNamespace(grades=str(grades), roster=str(tmp_path / "roster.csv"), format="canvas",
                                 title="Lab 6", out=str(tmp_path / "import.csv"), rubric=None)
    assert export_cli.run_export(args) == 0
    assert _read(tmp_path / "import.csv")[2] == ["ana", "42", "", "", "", "77"]
    assert "(column 'score', out of 100)" in capsys.readouterr().out
