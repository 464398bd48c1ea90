"""The submission inside the worker: importing it, and the protocol for what its code raises.

``import_submission`` imports the lab's modules from the submission folder
(recording, not raising, each one's failure); ``function`` hands a probe one
of the student's functions.  Whatever the student's code raises, including
``SystemExit``, becomes ``StudentRaised`` carrying a JSON description
(``describe_exception``: type, its base classes, message, where in the
submission) that the grader turns into a message for the student.
"""
import importlib
import os
import traceback

MODULES = {
    "package": "lab6_generative",
    "vae": "lab6_generative.vae",
    "schedules": "lab6_generative.schedules",
    "train_vae": "lab6_generative.train_vae",
}
_modules = {}
_import_errors = {}
_submission = None


def raised(type_name, message, during_import=None, where=None):
    """The description of a failure, as ``describe_exception`` gives it for a real exception."""
    return {"type": type_name, "mro": [type_name], "message": message, "where": where,
            "during_import": during_import}


class StudentRaised(Exception):
    """The student's code raised; ``info`` describes the exception for the grader."""

    def __init__(self, info):
        super().__init__(info.get("type"))
        self.info = info


def safe_str(value, limit=300):
    try:
        text = str(value)
    except BaseException:  # a hostile __str__
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit] + "..."


def _where(tb):
    """'reparameterize() in lab6_generative/vae.py, line 77' for the deepest submission frame."""
    best = None
    for frame in traceback.extract_tb(tb):
        path = os.path.abspath(frame.filename)
        if _submission and path.startswith(_submission + os.sep):
            best = f"{frame.name}() in {os.path.relpath(path, _submission)}, line {frame.lineno}"
    return best


def describe_exception(exc, during_import=None):
    """JSON description of an exception raised by the student's code."""
    info = raised(type(exc).__name__, safe_str(exc), during_import, _where(exc.__traceback__))
    info["mro"] = [cls.__name__ for cls in type(exc).__mro__]
    if isinstance(exc, SyntaxError) and exc.filename:
        path = os.path.abspath(exc.filename)
        rel = os.path.relpath(path, _submission) if _submission else exc.filename
        info["where"] = f"{rel}, line {exc.lineno}"
    return info


def student_call(fn, *args, **kwargs):
    """Call the student's ``fn``; whatever it raises becomes StudentRaised."""
    try:
        return fn(*args, **kwargs)
    except BaseException as exc:  # SystemExit and KeyboardInterrupt included
        raise StudentRaised(describe_exception(exc)) from None


def import_submission(submission):
    """Import the package and its modules; record each module's failure, if any."""
    global _submission
    _submission = os.path.abspath(submission)
    report = {}
    for short, name in MODULES.items():
        try:
            module = importlib.import_module(name)
        except BaseException as exc:
            _import_errors[short] = describe_exception(exc, during_import=name)
            report[short] = _import_errors[short]
            continue
        where = os.path.abspath(getattr(module, "__file__", None) or _submission)
        if not where.startswith(_submission + os.sep):
            _import_errors[short] = raised("ImportError", f"{name} was imported from {where}, "
                                           "not from the submission folder", during_import=name)
            report[short] = _import_errors[short]
            continue
        _modules[short] = module
        report[short] = None
    return report


def module(short):
    """The submission's module ``short`` ('vae', 'schedules', ...), or StudentRaised if it did not import."""
    if short in _import_errors:
        raise StudentRaised(_import_errors[short])
    return _modules[short]


def function(short, name):
    """The submission's ``module.name``, or StudentRaised(AttributeError) if it is missing."""
    mod = module(short)
    if not hasattr(mod, name):
        raise StudentRaised(raised("AttributeError", f"{MODULES[short]} has no attribute {name!r}"))
    return getattr(mod, name)
