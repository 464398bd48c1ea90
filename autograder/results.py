"""The result model: what grading one submission produced, for every reporter to read.

A ``Result`` holds one ``CheckResult`` per rubric check, each holding its
``TestResult``s.  A check's points are shared by its tests in whole points
(``split_points``), so every score is an integer and every report adds up.
"""
import dataclasses

from autograder.text import clean

MESSAGE_LIMIT = 2000   # characters of one failure message


def clip(text, limit=MESSAGE_LIMIT):
    """``text`` made printable (``text.clean``) and cut to ``limit`` characters in the middle, saying
    so: the start (what was called) and the end (the hint) both stay."""
    return clean(text or "", limit)


def split_points(points, n):
    """Share ``points`` among ``n`` tests in whole points, the first ones getting the remainder."""
    if n <= 0:
        return []
    base, extra = divmod(points, n)
    return [base + (1 if i < extra else 0) for i in range(n)]


@dataclasses.dataclass
class TestResult:
    """One pytest test of a check."""

    __test__ = False  # not a pytest test class, whatever its name

    name: str
    check_id: str
    max_score: int
    status: str                 # "passed", "failed" or "skipped"
    message: str = ""           # why it failed or was skipped ("" when it passed)
    seconds: float = 0.0

    @property
    def score(self):
        return self.max_score if self.status == "passed" else 0


@dataclasses.dataclass
class CheckResult:
    """One rubric check and its tests."""

    id: str
    title: str
    points: int
    visibility: str
    tests: list
    seconds: float = 0.0

    @property
    def score(self):
        return sum(t.score for t in self.tests)

    @property
    def status(self):
        if self.tests and all(t.status == "skipped" for t in self.tests):
            return "skipped"
        return "passed" if self.score == self.points else "failed"

    @property
    def first_failure(self):
        """The message of the first test that did not pass, or ''."""
        return next((t.message for t in self.tests if t.status != "passed"), "")


@dataclasses.dataclass
class Result:
    """Grading one submission against one rubric."""

    submission: str
    total: int
    checks: list
    output: str = ""            # what the submission printed (first few KB)
    notes: list = dataclasses.field(default_factory=list)
    internal_errors: list = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    isolation: str = "none"     # the sandbox that graded it: "bwrap", "landlock", "none";
                                # NOT_RUN ("") when no student code ran (nothing_to_grade)

    @property
    def score(self):
        return sum(c.score for c in self.checks)

    @property
    def max_score(self):
        return sum(c.points for c in self.checks)

    @property
    def tests(self):
        return [t for c in self.checks for t in c.tests]


# ---------------------------------------------------------------------------
# Storage: the Result as plain JSON, the format grade-all keeps per student
# ---------------------------------------------------------------------------
#
#     {"schema": "lab6-autograder/result", "version": 1,
#      "submission": str, "total": int, "seconds": float, "isolation": str,
#      "output": str, "notes": [str], "internal_errors": [str],
#      "checks": [{"id", "title", "points", "visibility", "seconds",
#                  "tests": [{"name", "check_id", "max_score", "status", "message", "seconds"}]}]}
#
# Scores are not stored: they follow from the tests' statuses, as in memory.
# A reader refuses another schema or a newer version rather than guess.

SCHEMA = "lab6-autograder/result"
VERSION = 1
_STATUSES = ("passed", "failed", "skipped")


def to_dict(result):
    """``result`` as JSON-ready data (see the format above)."""
    return {"schema": SCHEMA, "version": VERSION, **dataclasses.asdict(result)}


def from_dict(data):
    """The Result stored by ``to_dict``; ValueError, in one sentence, for anything else."""
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ValueError(f"not a stored autograder result (schema {SCHEMA!r} expected)")
    if data.get("version") != VERSION:
        raise ValueError(f"stored result version {data.get('version')!r}; this grader reads version {VERSION}")
    try:
        checks = []
        for c in data["checks"]:
            tests = [TestResult(str(t["name"]), str(t["check_id"]), int(t["max_score"]), t["status"],
                                str(t.get("message", "")), float(t.get("seconds", 0.0))) for t in c["tests"]]
            if any(t.status not in _STATUSES for t in tests):
                raise ValueError("a test status is not passed, failed or skipped")
            checks.append(CheckResult(str(c["id"]), str(c["title"]), int(c["points"]), c["visibility"], tests,
                                      float(c.get("seconds", 0.0))))
        return Result(str(data["submission"]), int(data["total"]), checks, str(data.get("output", "")),
                      [str(n) for n in data.get("notes", [])], [str(e) for e in data.get("internal_errors", [])],
                      float(data.get("seconds", 0.0)), str(data.get("isolation", "none")))
    except (KeyError, TypeError) as err:
        raise ValueError(f"stored result is incomplete or malformed ({type(err).__name__}: {err})") from None


NOT_RUN = ""   # Result.isolation when no student code ran: no sandbox to claim, none lacking either


def nothing_to_grade(rubric, submission, message):
    """The Result for a submission nobody graded (no package, over a limit, nothing collected): every
    check 0, each saying ``message``.  No student code ran, so it claims no isolation (``NOT_RUN``)."""
    checks = [CheckResult(c.id, c.title, c.points, c.visibility,
                          [TestResult(c.title, c.id, c.points, "failed", message)]) for c in rubric.checks]
    return Result(str(submission), rubric.total, checks, notes=[message], isolation=NOT_RUN)


def merge(base, partial, check_id):
    """``base`` with check ``check_id`` taken from ``partial`` (a regrade of that check alone)."""
    new = next(c for c in partial.checks if c.id == check_id)
    checks = [new if c.id == check_id else c for c in base.checks]
    if check_id not in [c.id for c in base.checks]:
        checks.append(new)
    own = (f"test_{check_id}.py", f"check {check_id!r}")  # how the engine names a check in its errors
    internal = [e for e in base.internal_errors if not any(mark in e for mark in own)]
    internal += list(partial.internal_errors)
    return dataclasses.replace(base, checks=checks, internal_errors=internal)
