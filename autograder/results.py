"""The result model: what grading one submission produced, for every reporter to read.

A ``Result`` holds one ``CheckResult`` per rubric check, each holding its
``TestResult``s.  A check's points are shared by its tests in whole points
(``split_points``), so every score is an integer and every report adds up.
"""
import dataclasses

MESSAGE_LIMIT = 2000   # characters of one failure message


def clip(text, limit=MESSAGE_LIMIT):
    """``text`` cut to ``limit`` characters, saying so."""
    text = text or ""
    return text if len(text) <= limit else text[:limit - 20] + " [... message cut]"


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
    isolation: str = "none"     # the sandbox that graded it: "bwrap", "landlock" or "none"

    @property
    def score(self):
        return sum(c.score for c in self.checks)

    @property
    def max_score(self):
        return sum(c.points for c in self.checks)

    @property
    def tests(self):
        return [t for c in self.checks for t in c.tests]
