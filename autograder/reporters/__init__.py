"""Reporters: each turns one ``results.Result`` into one platform's format.

Every reporter is a function ``write(result, destination)`` registered under
a name by ``@register`` in its own module of this package:

    console      the table printed at the end of a run (destination: a file; default stdout)
    gradescope   results.json (Gradescope's autograder results specification)
    classroom50  result.json (Classroom 50's classroom50/result/v1)
    github       GitHub Actions: step summary, annotations, the grading reporter's `result` output
    result       the stored Result itself (results.to_dict), what grade-all keeps and reads back

The modules of this package are imported on first use, so a new platform is
one new file here with one ``@register("name")`` function; the command line
(``--report NAME[=DESTINATION]``) finds it by name.

What every reporter says the same way is here: ``score_text`` (the score of what
ran: "public checks 55/55; the hidden checks (45 points) are graded by your
instructor" when hidden checks were not run, never "55/100"), ``everything_passed``
(nothing that ran lost points: the exit status of ``grade --fail-on-lost-points``
and the grading reporter's ``status``), ``first_failures`` and ``MESSAGE_LIMIT``
(each check's first failing message is shown in full up to that bound, and cut in
the middle beyond it, so the hint at its end stays).  On push, the student's own
run of the public tests (``grade --public-tests``, ``public_tests.py``) is attached
to the Result as ``result.public_tests`` and counts in all of these.
"""
import dataclasses
import importlib
import json
import os
import pkgutil

from autograder.errors import UsageError
from autograder.results import MESSAGE_LIMIT
from autograder.files import write_text   # noqa: F401 - reporters.write_text: grade_all's name for it

REGISTRY = {}


@dataclasses.dataclass(frozen=True)
class Reporter:
    """A registered output format: ``write(result, destination)``."""

    name: str
    write: object
    default: str = None     # the destination when none is given (None: the reporter's own choice)


def register(name, default=None):
    """Decorator: register ``write(result, destination)`` under ``name``."""
    def decorate(write):
        REGISTRY[name] = Reporter(name, write, default)
        return write
    return decorate


def ran(result):
    """The checks that ran (a check skipped as a whole, e.g. a hidden one under --public-only, did not)."""
    return [c for c in result.checks if c.status != "skipped"]


def not_run(result):
    """The checks that did not run."""
    return [c for c in result.checks if c.status == "skipped"]


def public_tests(result):
    """The student's run of the public tests attached by ``grade --public-tests``, or None."""
    return getattr(result, "public_tests", None)


def score_text(result, slash="/"):
    """The score of what ran, in words.

    Every check ran: "87/100".  Some did not (the hidden checks on push without the
    grader's token): "public checks 55/55; the hidden checks (45 points) are graded
    by your instructor" -- the points that ran, never a total that counts what did not.
    """
    skipped = not_run(result)
    if not skipped:
        return f"{result.score}{slash}{result.max_score}"
    done = ran(result)
    score, points = sum(c.score for c in done), sum(c.points for c in done)
    missing = sum(c.points for c in skipped)
    if all(c.visibility == "hidden" for c in skipped):
        kind = "public checks" if all(c.visibility == "public" for c in done) else "checks that ran"
        return (f"{kind} {score}{slash}{points}; the hidden checks ({missing} points) "
                "are graded by your instructor")
    return (f"checks that ran {score}{slash}{points}; {len(skipped)} check{'s' if len(skipped) > 1 else ''} "
            f"({missing} points) did not run here")


def everything_passed(result):
    """True when nothing that ran lost a point: every check that ran has full points, every public test
    attached passed, and the grader had no internal error."""
    if result.internal_errors or any(c.score < c.points for c in ran(result)):
        return False
    tests = public_tests(result)
    return tests is None or tests.passed


def first_failures(result):
    """(check, test) for the first test that did not pass of each check that ran and lost points."""
    out = []
    for check in ran(result):
        test = next((t for t in check.tests if t.status != "passed"), None)
        if test is not None:
            out.append((check, test))
    return out


def _discover():
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


def names():
    """The registered reporters' names, sorted."""
    _discover()
    return sorted(REGISTRY)


def get(name):
    """The reporter called ``name``; UsageError listing the known ones otherwise."""
    _discover()
    if name not in REGISTRY:
        raise UsageError(f"no reporter {name!r}; the reporters are: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


def write(result, name, destination=None):
    """Send ``result`` to reporter ``name`` (at its default destination when none is given)."""
    reporter = get(name)
    reporter.write(result, destination if destination is not None else reporter.default)


def write_json(path, data):
    """Write ``data`` as JSON to ``path`` (atomically: a partial file is never left behind).

    A path that exists and is not a regular file (/dev/null, /dev/stdout, a
    pipe) is written in place: renaming over it would replace the device.
    Non-ASCII text is written as UTF-8, not escaped; a surrogate (an
    undecodable byte of a student's text) cannot be, and is written as
    U+FFFD (see ``files.write_text``), so the file is always valid UTF-8.
    """
    write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
