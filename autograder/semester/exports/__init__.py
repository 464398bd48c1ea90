"""LMS grade imports built from grades.csv and the roster: one small module per LMS.

    python -m autograder export GRADES_DIR --roster roster.csv --format canvas|moodle
                                [--title "Lab 6"] [--out FILE]

Each module has ``write(rows, path, title, points_possible)`` where ``rows``
are ``Row``s: the student's folder name, their final grade (None when there
is none yet, which the LMS leaves untouched) and the roster's columns
(``email``, ``sis_id``, ...).  Adding an LMS is one module here and one entry
in ``FORMATS``.

Every cell is written ``text.clean`` (valid UTF-8, no control characters):
an LMS import never fails on a character, and a grade is never lost to one.
"""
import csv
import dataclasses
import io

from autograder.errors import UsageError
from autograder.text import clean


@dataclasses.dataclass(frozen=True)
class Row:
    """One student: the name used for their folder, the final grade, and their roster columns."""

    student: str
    grade: object          # a number, or None (not graded yet)
    roster: dict


def lms_value(row, *columns):
    """The first non-empty roster value among ``columns``, or ''."""
    for column in columns:
        value = (row.roster.get(column) or "").strip()
        if value:
            return value
    return ""


def require(rows, lms, columns):
    """UsageError naming the students that have none of ``columns`` in the roster."""
    missing = [row.student for row in rows if not lms_value(row, *columns)]
    if missing:
        raise UsageError(f"{lms} matches students by {' or '.join(columns)}, and the roster has neither "
                         f"for {', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}")


def number(value):
    """A grade as the LMS reads it: '87', '86.5', or '' when there is none."""
    if value is None or value == "":
        return ""
    value = round(float(value), 2)      # 105.999 is "106", not "106."
    return str(int(value)) if value == int(value) else f"{value:.2f}".rstrip("0")


def write_csv(path, header, rows):
    """Write a UTF-8 CSV atomically (RFC 4180 quoting, \\r\\n line ends as csv does), every cell clean."""
    from autograder.reporters import write_text

    table = io.StringIO(newline="")
    writer = csv.writer(table)
    writer.writerow([clean(cell) for cell in header])
    writer.writerows([[clean(cell) for cell in row] for row in rows])
    write_text(path, table.getvalue(), newline="")


def formats():
    from autograder.semester.exports import canvas, moodle

    return {"canvas": canvas.write, "moodle": moodle.write}
