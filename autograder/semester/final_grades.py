"""The final grade of a class run: the autograded points, the written answers, the late penalty.

``grade-all`` computes each student's autograded total; this module adds
what the semester knows besides:

- ``manifest.csv`` of ``collect`` (in SUBMISSIONS_DIR): how many minutes late
  the collected commit was, after the student's extension.  With a ``late:``
  policy in the rubric, its penalty comes off the final grade.  No manifest,
  or no policy: no penalty.
- nbgrader's gradebook (``--gradebook`` or the rubric's ``written.gradebook``):
  the points of the notebook's hand-graded written answers, when the rubric
  has a ``written:`` entry.  Without a gradebook there are no written columns.

    final = autograded + written - late penalty, never below 0

A student whose written answers are not all graded yet has no final grade
(the column stays empty, and the class report lists them).
"""
import dataclasses
import os

from autograder.semester import manifest as manifest_mod
from autograder.semester import written as written_mod
from autograder.text import number, one_line

MANIFEST = manifest_mod.FILE


@dataclasses.dataclass(frozen=True)
class Final:
    """One student's final grade and its parts (None where a part is unknown)."""

    autograded: object
    written: object
    written_status: str
    minutes_late: object
    penalty: float
    final: object
    late: str


def read_manifest(submissions_dir):
    """{student: manifest.Row} from SUBMISSIONS_DIR/manifest.csv, or None when there is none
    (``manifest.read``; ManifestError, a UsageError, when it cannot be read)."""
    return manifest_mod.read(submissions_dir)


def nothing_collected(row):
    """True when collect's manifest row (a manifest.Row or None) says nothing was collected: the student is
    missing."""
    return row is not None and row.nothing_collected


def missing_reason(row):
    """Why collect collected nothing, from the manifest's problems column (one clean line)."""
    return one_line(row.problems if row is not None else "", 300) or "no repository collected"


def _minutes_late(row):
    if row is None:
        return None
    return row.minutes_late or 0.0


def gradebook_path(rubric, override=None):
    """The nbgrader gradebook to read: ``override``, else the rubric's (relative to the rubric), else None."""
    if override:
        return os.path.abspath(override)
    if rubric.written and rubric.written.gradebook:
        return os.path.join(os.path.dirname(rubric.path), rubric.written.gradebook)
    return None


def combine(rubric, autograded, manifest=None, written_scores=None):
    """{student: Final} from {student: autograded total or None} and what else is known."""
    finals = {}
    for student, points in autograded.items():
        written = written_scores.get(student) if written_scores is not None else None
        row = manifest.get(student) if manifest is not None else None
        collected = not nothing_collected(row)
        minutes = _minutes_late(row) if (manifest is not None and collected) else None
        if written_scores is not None and written is None:
            written = written_mod.WrittenScore(None, rubric.written.points, "missing")
        written_points = None if written is None else (0.0 if written.status == "missing" else written.points)
        complete = points is not None and (written is None or written.status != "ungraded")
        base = (points or 0) + (written_points or 0)
        penalty = rubric.late.penalty(base, minutes) if (rubric.late and minutes is not None and complete) else 0
        late = rubric.late.describe(minutes) if (rubric.late and minutes is not None) else ""
        if not collected:  # the manifest's reason: a repository that does not exist was not pushed late
            late = f"nothing collected: {missing_reason(row)}"
        finals[student] = Final(points, written_points, written.status if written else "", minutes,
                                penalty, max(0, base - penalty) if complete else None, late)
    return finals


EXTRA_COLUMNS = ("written", "written_status", "minutes_late", "late_penalty", "final")


def extra_header(rubric, manifest, written_scores):
    """Columns grades.csv gets after the checks (of ``EXTRA_COLUMNS``), depending on what is known."""
    header = []
    if written_scores is not None:
        header += ["written", "written_status"]
    if manifest is not None:
        header += ["minutes_late", "late_penalty"]
    if written_scores is not None or manifest is not None:
        header += ["final"]
    return header


def extra_cells(final, header):
    """The values of ``extra_header``'s columns for one student."""
    values = {"written": number(final.written), "written_status": final.written_status,
              "minutes_late": number(final.minutes_late), "late_penalty": number(final.penalty if
                                                                             final.minutes_late is not None else None),
              "final": number(final.final)}
    return [values[column] for column in header]

