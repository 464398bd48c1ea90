"""``python -m autograder export GRADES_DIR --roster ROSTER --format canvas|moodle``.

Reads ``GRADES_DIR/grades.csv`` (what ``grade-all`` wrote, its columns by the
names ``class_report`` gives them: the ``final`` column when there is one, else
``score``; ``status``; ``written`` says what the grades are out of; a file
without ``student``, ``status`` and ``score`` is refused, exit 2) and the roster (the CSV given to
``collect``: ``student`` plus the LMS's columns, see ``examples/roster.csv``),
and writes the LMS's import file, by default ``GRADES_DIR/<format>.csv``.
Roster students without a grade (an empty cell: written answers still to
grade, an internal error) get an empty cell (the LMS leaves their grade
alone); a missing student (nothing collected) gets the 0 of grades.csv;
graded students missing from the roster are named on stderr and left out.

The grades are out of what grades.csv adds up to: the rubric's total (100)
without written points, ``rubric.final_total`` (106) when grades.csv has the
``written`` column.  Canvas gets it as its Points Possible row; Moodle's
import cannot set a maximum, so the command says which one to give the grade item.
"""
import csv
import os
import sys

from autograder.semester import class_report
from autograder.semester.exports import Row, formats
from autograder import rubric as rubric_mod
from autograder.errors import UsageError
from autograder.text import one_line


def register(subparsers):
    p = subparsers.add_parser("export", help="grades.csv -> an LMS's grade import file",
                              description="Write an LMS grade import from grade-all's grades.csv and the roster.")
    p.add_argument("grades", metavar="GRADES_DIR", help="grade-all's --out folder (with grades.csv)")
    p.add_argument("--roster", required=True, metavar="CSV", help="the roster: student + LMS columns")
    p.add_argument("--format", required=True, choices=sorted(formats()), help="the LMS")
    p.add_argument("--title", default="Lab 6", help="the assignment's name in the LMS (default: Lab 6)")
    p.add_argument("--out", metavar="FILE", help="default: GRADES_DIR/<format>.csv")
    p.add_argument("--rubric", metavar="FILE", help="the rubric, for the points possible")
    p.set_defaults(run=run_export)


def _read_csv(path, what, key="student"):
    """The rows of a CSV (UTF-8, with or without a BOM), as collect reads a roster: header names and
    the ``key`` column stripped, lines of empty cells skipped."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            reader.fieldnames = [(h or "").strip() for h in (reader.fieldnames or [])]
            rows = [row for row in reader if any((v or "").strip() for v in row.values() if isinstance(v, str))]
    except FileNotFoundError:
        raise UsageError(f"{what} {path} not found") from None
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise UsageError(f"cannot read {what} {path}: {err}") from None
    if not rows or key not in rows[0]:
        raise UsageError(f"{what} {path} has no rows with a {key!r} column")
    for row in rows:
        row[key] = (row.get(key) or "").strip()
    return rows


def points_possible(rubric, header):
    """What the grades of a grades.csv with these columns are out of: with written points the rubric's
    final total (checks + written answers), else its total (the checks; a late penalty only subtracts)."""
    return rubric.final_total if class_report.WRITTEN in header else rubric.total


def grade_column(header):
    """The column of grades.csv the LMS gets: ``final`` when grade-all wrote one, else ``score``."""
    return class_report.FINAL if class_report.FINAL in header else class_report.SCORE


def run_export(args):
    rubric = rubric_mod.load(args.rubric) if args.rubric else rubric_mod.load()
    header, by_name = class_report.read_grades(args.grades)
    grades = list(by_name.values())
    roster = _read_csv(args.roster, "roster")
    column = grade_column(header)
    points = points_possible(rubric, header)
    by_student = {row[class_report.STUDENT]: (row[column] or "").strip() or None for row in grades}
    rows = [Row(entry["student"], by_student.get(entry["student"]), entry) for entry in roster]
    unknown = sorted(set(by_student) - {entry["student"] for entry in roster})
    if unknown:
        print(one_line(f"not in the roster, left out: {', '.join(unknown)}"), file=sys.stderr)
    out = args.out or os.path.join(args.grades, f"{args.format}.csv")
    formats()[args.format](rows, out, args.title, points)
    status = {row[class_report.STUDENT]: (row[class_report.STATUS] or "").strip() for row in grades}
    absent = sum(status.get(r.student) == "missing" for r in rows)
    print(f"wrote {out}: {sum(r.grade is not None for r in rows)} grades of {len(rows)} students "
          f"(column {column!r}, out of {points})" + (f"; {absent} missing (nothing collected: 0)" if absent else ""))
    if args.format == "moodle":
        print(f"Moodle: give the grade item a maximum grade of {points} before importing "
              f"(Moodle's CSV import does not set it)")
    return 0
