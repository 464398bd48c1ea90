"""The table printed after grading: check, points earned / possible, first failure with its hint.

Text from the submission (messages, notes, its path) goes through ``text.one_line``
in the table: no terminal escapes, no control characters, one line each (a message
cannot forge a row), long ones cut in the middle so that the hint at their end
stays on screen.  A first failure too long for its row is then shown in full below
the table (up to ``MESSAGE_LIMIT``, cut in the middle beyond it), each of its lines
behind "| " so that nothing a submission writes can look like a row of the table.

The closing line says the score of what ran (``score_text``: "public checks 55/55;
the hidden checks (45 points) are graded by your instructor" when hidden checks did
not run) and whether everything that ran passed, the public tests included when
``grade --public-tests`` attached them.
"""
import sys
import textwrap

from autograder.text import clean, one_line
from autograder.reporters import (MESSAGE_LIMIT, everything_passed, first_failures, not_run, public_tests,
                                  register, score_text, write_text)

WIDTH = 120
MAX_PUBLIC_FAILURES = 10     # failing public tests listed one by one (pytest's own output lists them all)


def isolation_text(result):
    """How the submission was isolated, in words."""
    from autograder.sandbox import DESCRIPTIONS

    if not result.isolation:  # results.NOT_RUN: nobody's code ran, nothing to isolate
        return "none needed: no student code was run"
    return DESCRIPTIONS.get(result.isolation) or one_line(result.isolation, 80)


def _room(name_width):
    return max(WIDTH - name_width - 14, 40)


def quoted(message, limit=MESSAGE_LIMIT):
    """``message`` in full (cut in the middle beyond ``limit``), wrapped, each line behind "| "."""
    lines = []
    for line in clean(message, limit).expandtabs(4).split("\n"):
        lines += textwrap.wrap(line, WIDTH - 2, break_long_words=True, break_on_hyphens=False) or [""]
    return ["| " + line for line in lines]


def table(result):
    """The whole report as text."""
    name_width = max([len(c.id) for c in result.checks] + [len("check")])
    room = _room(name_width)
    lines = [f"Lab 6 autograder: {one_line(result.submission, 300)}", "",
             f"  {'check':<{name_width}}  {'points':>7}  first failure"]
    cut = []
    for check in result.checks:
        failure = check.first_failure
        if check.status == "skipped":
            points, failure = f"-/{check.points}", "(not run) " + failure
        else:
            points = f"{check.score}/{check.points}"
            if len(one_line(failure)) > room:
                cut.append(check)
        lines.append(f"  {check.id:<{name_width}}  {points:>7}  {one_line(failure, room)}".rstrip())
    total = f"{result.score}/{result.max_score}"
    skipped = not_run(result)
    if skipped:
        done = [c for c in result.checks if c not in skipped]
        total = f"{sum(c.score for c in done)}/{sum(c.points for c in done)}"
    lines.append(f"  {'total':<{name_width}}  {total:>7}" + ("  of the checks that ran" if skipped else ""))

    failures = {check.id: test for check, test in first_failures(result)}
    if cut:
        lines += ["", "First failure of each check, in full:"]
        for check in cut:
            test = failures[check.id]
            lines.append(f"{check.id} ({one_line(test.name, 200)}):")
            lines += quoted(test.message)
    tests = public_tests(result)
    if tests is not None:
        lines += ["", f"Public tests (pytest): {one_line(tests.summary(), 300)}"]
        for name, message in tests.failed[:MAX_PUBLIC_FAILURES]:
            lines.append(f"- {one_line(name, 200)}")
            lines += quoted(message, 600)
        if len(tests.failed) > MAX_PUBLIC_FAILURES:
            lines.append(f"- and {len(tests.failed) - MAX_PUBLIC_FAILURES} more (pytest's output above lists them)")
    lines.append(f"\nIsolation: {isolation_text(result)}")
    for note in result.notes:
        lines.append(f"\nNote: {one_line(note, 1000)}")
    for error in result.internal_errors:
        lines.append(f"\nInternal error (the grader's, not yours): {one_line(error, 300)}")
    lines.append("")
    lines.append(f"Score: {score_text(result)}.")
    if result.internal_errors:
        lines.append("Not graded in full: the grader hit an internal error (above); this is not your mistake.")
    elif everything_passed(result):
        lines.append("Everything that ran passed.")
    else:
        lost = [f"{c.id} ({c.score}/{c.points})" for c, _ in first_failures(result)]
        if tests is not None and not tests.passed:
            lost.append(f"the public tests ({one_line(tests.summary(), 200)})")
        lines.append(f"Not passed yet: {', '.join(lost)}. Start with the first failure of each, above.")
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
