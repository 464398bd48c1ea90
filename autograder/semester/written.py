"""The notebook's written answers, graded by hand in nbgrader, as points per student.

The rubric names them (validated by ``rubric.load``)::

    written: {points: 6, assignment: lab6, gradebook: course/gradebook.db}

The instructor grades them in nbgrader's formgrader (or with ``nbgrader``
commands) after ``nbgrader autograde``; nbgrader stores the scores in its
gradebook (SQLite).  ``read`` opens that gradebook with nbgrader's own API
and returns, for each student, the points of the manually graded written
cells (nbgrader's ``written_score``) and whether any of them still waits for
a grader (``needs_manual_grade``).  The code cells of the notebook are not
counted here: the autograder's checks grade the code.
"""
import dataclasses
import os

from autograder.errors import UsageError


@dataclasses.dataclass(frozen=True)
class Written:
    """``written:`` settings of the rubric."""

    points: int
    assignment: str
    gradebook: str = ""      # path to gradebook.db (relative to the rubric); --gradebook overrides


@dataclasses.dataclass(frozen=True)
class WrittenScore:
    """One student's written answers: points (None when there are none yet) and why."""

    points: object
    max_points: float
    status: str              # "graded", "ungraded" (some answer waits for a grader), "missing"


def parse(raw, where):
    """A Written from the rubric's ``written:`` mapping, or None; ValueError naming the key."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: written must be a mapping with points and assignment")
    extra = sorted(set(raw) - {"points", "assignment", "gradebook"})
    if extra:
        raise ValueError(f"{where}: written: unknown key {', '.join(map(repr, extra))} "
                         "(allowed: assignment, gradebook, points)")
    points = raw.get("points")
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        raise ValueError(f"{where}: written.points must be a positive integer, got {points!r}")
    assignment = raw.get("assignment")
    if not isinstance(assignment, str) or not assignment.strip():
        raise ValueError(f"{where}: written.assignment must name the nbgrader assignment, e.g. lab6")
    gradebook = raw.get("gradebook", "")
    if not isinstance(gradebook, str):
        raise ValueError(f"{where}: written.gradebook must be a path to nbgrader's gradebook.db")
    return Written(points, assignment.strip(), gradebook)


def read(gradebook, written, students):
    """{student: WrittenScore} from nbgrader's gradebook database at ``gradebook``.

    Raises UsageError when the file is not an nbgrader gradebook with that assignment.
    """
    if not os.path.isfile(gradebook):
        raise UsageError(f"nbgrader gradebook {gradebook} not found: run `nbgrader autograde "
                         f"{written.assignment}` in the course folder first (it creates gradebook.db)")
    from nbgrader.api import Gradebook, MissingEntry

    scores = {}
    try:
        with Gradebook(f"sqlite:///{os.path.abspath(gradebook)}") as book:
            try:
                book.find_assignment(written.assignment)
            except MissingEntry:
                raise UsageError(f"{gradebook} has no assignment {written.assignment!r}") from None
            for student in students:
                try:
                    submission = book.find_submission(written.assignment, student)
                except MissingEntry:
                    scores[student] = WrittenScore(None, written.points, "missing")
                    continue
                ungraded = any(grade.needs_manual_grade and grade.cell_type == "markdown"
                               for notebook in submission.notebooks for grade in notebook.grades)
                scores[student] = WrittenScore(None if ungraded else float(submission.written_score),
                                               float(submission.max_written_score),
                                               "ungraded" if ungraded else "graded")
    except UsageError:
        raise
    except Exception as err:  # not SQLite, an old schema, ...
        raise UsageError(f"cannot read the nbgrader gradebook {gradebook}: {type(err).__name__}: {err}") from None
    return scores
