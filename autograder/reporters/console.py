"""The table printed after grading: check, points earned / possible, first failure with its hint.

Text from the submission (messages, notes, its path) goes through ``text.one_line``:
no terminal escapes, no control characters, one line each (a message cannot forge
a row), long ones cut in the middle so that the hint at their end stays on screen.
"""
import sys

from ..text import one_line
from . import register, write_text

WIDTH = 120


def isolation_text(result):
    """How the submission was isolated, in words."""
    from ..sandbox import DESCRIPTIONS

    if not result.isolation:  # results.NOT_RUN: nobody's code ran, nothing to isolate
        return "none needed: no student code was run"
    return DESCRIPTIONS.get(result.isolation) or one_line(result.isolation, 80)


def table(result):
    """The whole report as text."""
    name_width = max([len(c.id) for c in result.checks] + [len("check")])
    lines = [f"Lab 6 autograder: {one_line(result.submission, 300)}", "",
             f"  {'check':<{name_width}}  {'points':>7}  first failure"]
    for check in result.checks:
        points = f"{check.score}/{check.points}"
        failure = check.first_failure
        if check.status == "skipped":
            failure = "(not run) " + failure
        room = max(WIDTH - name_width - 14, 40)
        lines.append(f"  {check.id:<{name_width}}  {points:>7}  {one_line(failure, room)}")
    lines.append(f"  {'total':<{name_width}}  {f'{result.score}/{result.max_score}':>7}")
    lines.append(f"\nIsolation: {isolation_text(result)}")
    for note in result.notes:
        lines.append(f"\nNote: {one_line(note, 1000)}")
    for error in result.internal_errors:
        lines.append(f"\nInternal error (the grader's, not yours): {one_line(error, 300)}")
    return "\n".join(lines)


def _printable(text, stream):
    """``text`` as ``stream`` can encode it (an ASCII or Latin-1 terminal gets '?' for the rest)."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        return text.encode(encoding, "replace").decode(encoding)
    except LookupError:
        return text


@register("console")
def write(result, destination=None):
    """The score table, on stdout (or into a file)."""
    if destination in (None, "-"):
        print(_printable(table(result), sys.stdout), flush=True)
    else:
        write_text(destination, table(result) + "\n")
