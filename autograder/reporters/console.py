"""The table printed after grading: check, points earned / possible, first failure with its hint."""
from . import register, write_text

WIDTH = 120


def isolation_text(result):
    """How the submission was isolated, in words."""
    from ..sandbox import DESCRIPTIONS

    return DESCRIPTIONS.get(result.isolation, result.isolation)


def _one_line(text, width):
    line = " ".join((text or "").split())
    return line if len(line) <= width else line[:width - 3] + "..."


def table(result):
    """The whole report as text."""
    name_width = max([len(c.id) for c in result.checks] + [len("check")])
    lines = [f"Lab 6 autograder: {result.submission}", "",
             f"  {'check':<{name_width}}  {'points':>7}  first failure"]
    for check in result.checks:
        points = f"{check.score}/{check.points}"
        failure = check.first_failure
        if check.status == "skipped":
            failure = "(not run) " + failure
        room = WIDTH - name_width - 14
        lines.append(f"  {check.id:<{name_width}}  {points:>7}  {_one_line(failure, room)}")
    lines.append(f"  {'total':<{name_width}}  {f'{result.score}/{result.max_score}':>7}")
    lines.append(f"\nIsolation: {isolation_text(result)}")
    for note in result.notes:
        lines.append(f"\nNote: {note}")
    for error in result.internal_errors:
        lines.append(f"\nInternal error (the grader's, not yours): {_one_line(error, 300)}")
    return "\n".join(lines)


@register("console")
def write(result, destination=None):
    """The score table, on stdout (or into a file)."""
    if destination in (None, "-"):
        print(table(result), flush=True)
    else:
        write_text(destination, table(result) + "\n")
