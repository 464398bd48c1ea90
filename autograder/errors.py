"""Why a check failed when it was not an assertion: the student's code raised, hung or crashed.

Each exception's ``str()`` is the message the student reads; text that came
from the submission (exception types, messages, places) is made printable
with ``text.clean`` before it is put in one.  The checks let
them propagate (or catch ``StudentError`` when an exception is what they
expect); the engine turns them into failed tests.

Each class carries why the test failed as data, its ``reason`` (one of
``results.REASONS``), which the engine stores with the test: reports and the
audit read it, never the message's wording.  An instance may carry another
reason than its class (``not_run``, a ``StudentError`` raised while importing).
"""
from autograder.text import clean, one_line


class GradingFailure(Exception):
    """Base class: a test failed for a reason other than a failed assertion.

    ``reason`` (a class attribute, overridden per instance by ``reason=``): why, as
    ``results.REASONS`` names it.  The base class itself is no one's failure but the grader's.
    """

    reason = "internal"

    def __init__(self, *args, reason=None):
        super().__init__(*args)
        if reason is not None:
            self.reason = reason


class UsageError(Exception):
    """The grader was called wrongly (missing folder, no package, bad rubric): exit code 2."""


class StudentError(GradingFailure):
    """The student's code raised an exception; ``info`` comes from student.describe_exception.

    Raised while importing one of the submission's modules (``info['during_import']``), its
    reason is ``import_reason``: the module could not be imported, whatever it raised.
    """

    reason = "raised"
    import_reason = "import_failed"

    def __init__(self, info, what=None):
        self.info, self.what = info, what
        super().__init__(self._message(), reason=self.import_reason if info.get("during_import") else None)

    def is_a(self, name):
        """True if the exception is a ``name`` (ValueError, ...) or a subclass of it."""
        return name in self.info.get("mro", ())

    def _message(self):
        info = self.info
        where = f" (at {one_line(info['where'], 300)})" if info.get("where") else ""
        error = f"{one_line(info.get('type'), 100)}: {clean(info.get('message'), 2000)}".rstrip(": ")
        if info.get("during_import"):
            return f"{one_line(info['during_import'], 100)} could not be imported: {error}{where}"
        called = f"{self.what} raised" if self.what else "your code raised"
        return f"{called} {error}{where}"


class NotImplementedYet(StudentError):
    """The student's function still raises NotImplementedError (the stub)."""

    reason = "not_implemented"
    import_reason = "not_implemented"   # a module raising NotImplementedError on import: still the stub's message

    def _message(self):
        where = one_line(self.info.get("where") or (self.what or "a function"), 300)
        return (f"not implemented yet: {where} raises NotImplementedError; replace the "
                "`raise NotImplementedError()` under `# YOUR CODE HERE` with your code")


class BadResult(GradingFailure):
    """What the student's code returned could not be examined (wrong type, broken tensor...), or the
    worker's reply is not one the grader accepts: the student's fault, and no check's verdict."""

    reason = "bad_result"


class TimedOut(GradingFailure):
    """A call into the worker ran past its time limit; the worker was killed."""

    reason = "timeout"


class WorkerCrashed(GradingFailure):
    """The worker process died while running the student's code."""

    reason = "crashed"


class ImportFailed(GradingFailure):
    """The submission could not be imported at all (it hung, crashed or exited on import)."""

    reason = "import_failed"


def not_run(failure):
    """The failure of a call never made because ``failure`` (a time-out, a crash) ended its check
    earlier: the same class, "not run: <failure>", reason ``not_run``."""
    return type(failure)(f"not run: {failure}", reason="not_run")


def student_error(info, what=None):
    """The right StudentError subclass for an exception description."""
    cls = NotImplementedYet if "NotImplementedError" in info.get("mro", ()) else StudentError
    return cls(info, what)
