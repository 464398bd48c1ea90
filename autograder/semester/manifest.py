"""collect's ``manifest.csv``: the one reader and writer.

``collect`` writes one row per roster student (``write``); ``grade-all`` (the
late penalty, the missing students), ``feedback`` (the commit graded, when it
was pushed), ``written`` (nbgrader's timestamps) and ``release.submitted``
read it back (``read``), each row a typed ``Row``.

The columns, in collect's order: student, repo, branch, commit, pushed_at
(ISO 8601, UTC), deadline (the student's, after the extension), minutes_late
(0 up to the deadline), on_time (yes up to the deadline plus the grace
period), time_source (github-push or commit-date), problems.  Only
``student`` is required: a manifest written by hand (or by an older collect)
may leave the others out, and a row's missing column reads as "not known"
(None for ``commit``, ``minutes_late``, ``on_time``; "" for the texts).

Its values come partly from students (a branch name, git's messages about
their repository): the csv module quotes every comma, quote and line break,
so each row stays one row and every value reads back exactly as written
(a value that looks like a spreadsheet formula too: this file is data for
these commands, and changing a value would change what they read).
"""
import csv
import dataclasses
import io
import math
import os

from autograder.errors import UsageError
from autograder.facts import MANIFEST_FILE
from autograder.files import write_text
from autograder.text import number

FILE = MANIFEST_FILE
COLUMNS = ("student", "repo", "branch", "commit", "pushed_at", "deadline", "minutes_late", "on_time",
           "time_source", "problems")
GITHUB_PUSH, COMMIT_DATE = "github-push", "commit-date"     # the values of time_source


class ManifestError(UsageError):
    """The manifest cannot be read (one sentence naming the file and what is wrong)."""


@dataclasses.dataclass(frozen=True)
class Row:
    """One student's row of the manifest."""

    student: str
    repo: str = ""                 # as in the roster (credentials masked)
    branch: str = ""
    commit: str = None             # the commit collected; "" nothing was collected; None: no commit column
    pushed_at: str = ""            # when it was pushed (or committed: time_source), ISO 8601 UTC
    deadline: str = ""             # the student's deadline, ISO 8601
    minutes_late: float = None     # >= 0; None: not known (nothing collected, or no such column)
    on_time: bool = None           # within the deadline + grace; None: not known
    time_source: str = ""          # GITHUB_PUSH or COMMIT_DATE
    problems: str = ""             # why nothing (or not everything) was collected; "" when all went well

    @property
    def nothing_collected(self):
        """True when the row says nothing was collected (a commit column, empty): the student is missing."""
        return self.commit is not None and not self.commit.strip()

    def cells(self):
        """{column: text} as written to the file."""
        return {"student": self.student, "repo": self.repo, "branch": self.branch, "commit": self.commit or "",
                "pushed_at": self.pushed_at, "deadline": self.deadline,
                "minutes_late": "" if self.minutes_late is None else number(self.minutes_late, 6),
                "on_time": {True: "yes", False: "no", None: ""}[self.on_time],
                "time_source": self.time_source, "problems": self.problems}

    @classmethod
    def parse(cls, cells, where=FILE):
        """The Row of ``{column: text}`` (a csv.DictReader row; absent columns are not known).

        ManifestError when ``minutes_late`` is not a finite number.
        """
        def text(column):      # as written (a missing cell of a short line: "")
            value = cells.get(column)
            return value if isinstance(value, str) else ""

        student = text("student")
        minutes = None
        if text("minutes_late").strip():
            try:
                minutes = float(text("minutes_late"))
            except ValueError:
                minutes = math.nan
            if not math.isfinite(minutes):
                raise ManifestError(f"{where}: minutes_late of {student!r} is not a number: "
                                    f"{text('minutes_late')!r}")
            minutes = max(0.0, minutes)
        on_time = {"yes": True, "no": False}.get(text("on_time").strip().lower())
        commit = text("commit").strip() if "commit" in cells else None
        return cls(student, text("repo"), text("branch"), commit, text("pushed_at"), text("deadline"), minutes,
                   on_time, text("time_source"), text("problems"))


def path(folder):
    return os.path.join(folder, FILE)


def read(folder):
    """{student: Row} from ``folder``/manifest.csv, in the file's order; None when there is no manifest.

    UTF-8 (a byte order mark allowed), header names stripped; lines without a student are skipped
    (a later row of the same student wins).  ManifestError, one sentence, when it cannot be read,
    has no ``student`` column or a ``minutes_late`` that is not a number.
    """
    file = path(folder)
    if not os.path.isfile(file):
        return None
    try:
        with open(file, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            reader.fieldnames = [(name or "").strip() for name in (reader.fieldnames or [])]
            rows = list(reader)
            columns = reader.fieldnames
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ManifestError(f"cannot read {file}: {err}") from None
    if "student" not in columns:
        raise ManifestError(f"{file} has no 'student' column: is it collect's manifest?")
    parsed = (Row.parse(cells, file) for cells in rows)
    return {row.student: row for row in parsed if row.student.strip()}


def write(folder, rows):
    """``folder``/manifest.csv with ``rows`` (Rows, in the order given): atomically, and on the disk before
    it replaces the old one (a crash leaves the old manifest or the new one, never half of one)."""
    table = io.StringIO(newline="")
    writer = csv.DictWriter(table, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(row.cells() for row in rows)
    write_text(path(folder), table.getvalue(), newline="", sync=True)
