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


# Why a test ended as it did (TestResult.reason): the one list, in the order reports may group them.
REASONS = (
    "passed",           # the test passed
    "wrong",            # an assertion of the check failed: the student's answer is wrong
    "raised",           # the student's code raised an exception the check did not expect (errors.StudentError)
    "not_implemented",  # the student's function is still the stub raising NotImplementedError
                        # (errors.NotImplementedYet)
    "timeout",          # the student's code ran past the check's time limit, or the submission's time
                        # budget was used up before this test (errors.TimedOut)
    "crashed",          # the process running the student's code died (errors.WorkerCrashed)
    "bad_result",       # what the student's code returned, or the worker's reply, could not be examined
                        # (errors.BadResult): the student's fault, but no check's verdict on an answer
    "import_failed",    # the submission, or the module the test needs, could not be imported
                        # (errors.ImportFailed, or an exception raised while importing a module)
    "not_run",          # the test never ran: a hidden check not run here, a test after its check's
                        # time-out or crash, a submission with nothing to grade (results.nothing_to_grade)
    "internal",         # the grader's fault (Result.internal_errors says what): never the student's
)


def _check_reason(status, reason):
    """ValueError unless ``reason`` is one of REASONS and agrees with ``status``: a test passed exactly
    when its reason is ``passed``; a skipped test (a check that did not run) is ``not_run``."""
    if reason not in REASONS:
        raise ValueError(f"a test's reason {reason!r} is not one of {', '.join(REASONS)}")
    if (status == "passed") != (reason == "passed") or (status == "skipped" and reason != "not_run"):
        raise ValueError(f"a test's reason {reason!r} does not agree with its status {status!r}")


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
    message: str = ""           # why it failed or was skipped ("" when it passed), for people to read
    seconds: float = 0.0
    reason: str = None          # why, as data: one of REASONS; a passed test may leave it out ("passed"),
                                # as may a skipped one ("not_run"); a failed test must give it

    def __post_init__(self):
        if self.reason is None:
            self.reason = {"passed": "passed", "skipped": "not_run"}.get(self.status)
            if self.reason is None:
                raise ValueError(f"test {self.name!r} {self.status}: give its reason (one of results.REASONS)")
        _check_reason(self.status, self.reason)

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


@dataclasses.dataclass(frozen=True)
class InternalError:
    """An internal error of the grader: ``message`` for people, ``check`` the rubric check it belongs to
    (None: the whole run, e.g. the sandbox).  ``str()`` is the message, as reports print it."""

    check: object               # str or None
    message: str

    def __str__(self):
        return self.message


@dataclasses.dataclass
class Result:
    """Grading one submission against one rubric."""

    submission: str
    total: int
    checks: list
    output: str = ""            # what the submission printed (first few KB)
    notes: list = dataclasses.field(default_factory=list)
    internal_errors: list = dataclasses.field(default_factory=list)   # [InternalError]
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
#     {"schema": "lab6-autograder/result", "version": 2,
#      "submission": str, "total": int, "seconds": float, "isolation": str,
#      "output": str, "notes": [str], "internal_errors": [{"check": str or null, "message": str}],
#      "checks": [{"id", "title", "points", "visibility", "seconds",
#                  "tests": [{"name", "check_id", "max_score", "status", "message", "seconds", "reason"}]}]}
#
# Version 2 added each test's ``reason`` (one of REASONS) and made each internal error an object
# naming its check.  Scores are not stored: they follow from the tests' statuses, as in memory.
# A reader refuses another schema or another version rather than guess: a version-1 Result (an
# older grader's) is graded again by grade-all, never read as if it were a version 2 one.

SCHEMA = "lab6-autograder/result"
VERSION = 2
_STATUSES = ("passed", "failed", "skipped")


def to_dict(result):
    """``result`` as JSON-ready data (see the format above)."""
    data = dataclasses.asdict(result)
    if not all(isinstance(e, InternalError) for e in result.internal_errors):
        raise TypeError("Result.internal_errors holds something other than results.InternalError")
    return {"schema": SCHEMA, "version": VERSION, **data}


def _internal_error(data):
    if not isinstance(data, dict) or not isinstance(data.get("message"), str) \
            or not (data.get("check") is None or isinstance(data.get("check"), str)):
        raise ValueError("an internal error is not an object with a message and a check (or null)")
    return InternalError(data["check"], data["message"])


def from_dict(data):
    """The Result stored by ``to_dict``; ValueError, in one sentence, for anything else."""
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ValueError(f"not a stored autograder result (schema {SCHEMA!r} expected)")
    version = data.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and 1 <= version < VERSION:
        raise ValueError(f"stored result version {version} was written by an older grader (this one reads "
                         f"version {VERSION}): the next grade-all grades it again")
    if version != VERSION:
        raise ValueError(f"stored result version {version!r}; this grader reads version {VERSION}")
    try:
        checks = []
        for c in data["checks"]:
            tests = []
            for t in c["tests"]:
                if t["status"] not in _STATUSES:
                    raise ValueError("a test status is not passed, failed or skipped")
                tests.append(TestResult(str(t["name"]), str(t["check_id"]), int(t["max_score"]), t["status"],
                                        str(t.get("message", "")), float(t.get("seconds", 0.0)), t["reason"]))
            checks.append(CheckResult(str(c["id"]), str(c["title"]), int(c["points"]), c["visibility"], tests,
                                      float(c.get("seconds", 0.0))))
        return Result(str(data["submission"]), int(data["total"]), checks, str(data.get("output", "")),
                      [str(n) for n in data.get("notes", [])],
                      [_internal_error(e) for e in data.get("internal_errors", [])],
                      float(data.get("seconds", 0.0)), str(data.get("isolation", "none")))
    except (KeyError, TypeError) as err:
        raise ValueError(f"stored result is incomplete or malformed ({type(err).__name__}: {err})") from None


NOT_RUN = ""   # Result.isolation when no student code ran: no sandbox to claim, none lacking either


def nothing_to_grade(rubric, submission, message, reason="not_run"):
    """The Result for a submission nobody graded (no package, over a limit, nothing collected): every
    check 0, each saying ``message``, its one test's reason ``reason`` (``not_run``: no test ran; the
    engine's ``not_graded`` gives ``internal``).  No student code ran, so it claims no isolation
    (``NOT_RUN``)."""
    checks = [CheckResult(c.id, c.title, c.points, c.visibility,
                          [TestResult(c.title, c.id, c.points, "failed", message, reason=reason)])
              for c in rubric.checks]
    return Result(str(submission), rubric.total, checks, notes=[message], isolation=NOT_RUN)


def merge(base, partial, check_id):
    """``base`` with check ``check_id`` taken from ``partial`` (a regrade of that check alone): base's
    internal errors of that check give way to partial's (those of the whole run in base stay)."""
    new = next(c for c in partial.checks if c.id == check_id)
    checks = [new if c.id == check_id else c for c in base.checks]
    if check_id not in [c.id for c in base.checks]:
        checks.append(new)
    internal = [e for e in base.internal_errors if e.check != check_id] + list(partial.internal_errors)
    return dataclasses.replace(base, checks=checks, internal_errors=internal)
