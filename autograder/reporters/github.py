"""GitHub Actions: a step summary, error annotations, and the grading reporter's ``result`` output.

- ``$GITHUB_STEP_SUMMARY``: a markdown table (check, points, first failure).
- ``$GITHUB_OUTPUT``: ``result=<base64 JSON>`` in the format the classroom
  grading reporter (education/autograding-grading-reporter) reads from a
  runner step: ``{version: 1, status, max_score, tests: [{name, status,
  score, message, test_code, filename, line_no, duration}]}`` with statuses
  "pass", "fail" or "error".  The reporter adds up the tests' ``score``.
- ``::error`` workflow commands on stdout, one per failed test (at most 10,
  GitHub shows no more per step).

The submission's text is data: in the summary it is ``text.markdown`` (no HTML,
no Markdown of its own, one line per table cell), in the JSON and the
annotations ``text.clean`` (no control characters or terminal escapes, which
the Actions log would interpret).
"""
import base64
import json
import os

from ..text import clean, encodable, markdown
from . import register

MAX_ANNOTATIONS = 10


def _cell(text, width=200):
    """Student text in a table cell: inert Markdown on one line, cut in the middle at ``width``."""
    return markdown(text, width)


def summary_markdown(result):
    lines = [f"## Lab 6 autograder: {result.score} / {result.max_score}", "",
             "| Check | Points | First failure |", "|---|---:|---|"]
    for check in result.checks:
        failure = ("(not run) " if check.status == "skipped" else "") + check.first_failure
        lines.append(f"| {check.title} (`{check.id}`) | {check.score} / {check.points} | {_cell(failure)} |")
    from .console import isolation_text

    lines += ["", f"Isolation: {markdown(isolation_text(result))}", ""]
    lines += [f"> {markdown(note, 2000)}" for note in result.notes]
    return "\n".join(lines) + "\n"


def reporter_result(result):
    """The JSON object the grading reporter expects from one runner step."""
    tests = []
    for check in result.checks:
        for test in check.tests:
            tests.append({"name": clean(f"{check.title}: {test.name}"),
                          "status": "pass" if test.status == "passed" else "fail",
                          "score": test.score, "message": clean(test.message),
                          "test_code": f"check {check.id}", "filename": "", "line_no": 0,
                          "duration": int(round(test.seconds * 1000))})
    if result.internal_errors:
        status = "error"
    else:
        status = "pass" if result.score == result.max_score else "fail"
    return {"version": 1, "status": status, "max_score": result.max_score, "tests": tests}


def encoded_result(result):
    return base64.b64encode(json.dumps(reporter_result(result)).encode("utf-8")).decode("ascii")


def _escape(text, prop=False):
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def annotations(result):
    """``::error`` lines for the first failed tests."""
    lines = []
    for check in result.checks:
        for test in check.tests:
            if test.status == "failed" and len(lines) < MAX_ANNOTATIONS:
                title = _escape(clean(f"{check.id}: {test.name}"), prop=True)
                lines.append(f"::error title={title}::{_escape(clean(test.message))}")
    return lines


@register("github")
def write(result, destination=None, env=None, out=print):
    """GitHub Actions' step summary (or the file ``destination``), `result` output and annotations."""
    env = os.environ if env is None else env
    summary = destination or env.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as f:
            f.write(encodable(summary_markdown(result)))
    if env.get("GITHUB_OUTPUT"):
        with open(env["GITHUB_OUTPUT"], "a", encoding="utf-8") as f:
            f.write(f"result={encoded_result(result)}\n")
    for line in annotations(result):
        out(line)
