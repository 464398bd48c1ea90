"""``python -m autograder export GRADES_DIR --roster ROSTER --format canvas|moodle``.

Reads ``GRADES_DIR/grades.csv`` (what ``grade-all`` wrote: the ``final``
column when there is one, else ``score``) and the roster (the CSV given to
``collect``: ``student`` plus the LMS's columns), and writes the LMS's import
file, by default ``GRADES_DIR/<format>.csv``.  Roster students without a
grade get an empty cell (the LMS leaves their grade alone); graded students
missing from the roster are named on stderr and left out.
"""
import csv
import os
import sys

from . import Row, formats
from .. import rubric as rubric_mod
from ..errors import UsageError
from ..text import one_line


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
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except FileNotFoundError:
        raise UsageError(f"{what} {path} not found") from None
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise UsageError(f"cannot read {what} {path}: {err}") from None
    if not rows or key not in rows[0]:
        raise UsageError(f"{what} {path} has no rows with a {key!r} column")
    return rows


def run_export(args):
    rubric = rubric_mod.load(args.rubric) if args.rubric else rubric_mod.load()
    grades = _read_csv(os.path.join(args.grades, "grades.csv"), "grades file")
    roster = _read_csv(args.roster, "roster")
    column = "final" if "final" in grades[0] else "score"
    points = rubric.final_total if column == "final" else rubric.total
    by_student = {row["student"]: row.get(column) or None for row in grades}
    rows = [Row(entry["student"], by_student.get(entry["student"]), entry) for entry in roster]
    unknown = sorted(set(by_student) - {entry["student"] for entry in roster})
    if unknown:
        print(one_line(f"not in the roster, left out: {', '.join(unknown)}"), file=sys.stderr)
    out = args.out or os.path.join(args.grades, f"{args.format}.csv")
    formats()[args.format](rows, out, args.title, points)
    print(f"wrote {out}: {sum(r.grade is not None for r in rows)} grades of {len(rows)} students "
          f"(column {column!r}, out of {points})")
    return 0
