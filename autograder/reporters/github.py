"""GitHub Actions: a step summary, error annotations, and the grading reporter's ``result`` output.

- ``$GITHUB_STEP_SUMMARY``: a markdown table (check, points, first failure, in full
  up to ``MESSAGE_LIMIT``); the heading gives the score of what ran (``score_text``);
  the failing public tests, when ``grade --public-tests`` attached them, below.
- ``$GITHUB_OUTPUT``: ``result=<base64 JSON>`` in the format the classroom
  grading reporter (education/autograding-grading-reporter) reads from a
  runner step: ``{version: 1, status, max_score, tests: [{name, status,
  score, message, test_code, filename, line_no, duration}]}`` with statuses
  "pass", "fail" or "error".  The reporter adds up the tests' ``score``.
  Only what ran is in it: ``max_score`` is the points of the checks that ran (a
  hidden check not run is not a test that failed), the public tests are tests
  worth 0 points, and ``status`` is "pass" exactly when everything that ran passed.
- ``::error`` workflow commands on stdout (at most 10, GitHub shows no more per
  step): the first failure of each check first, then the failing public tests,
  then the other failures; each message in full.

The submission's text is data: in the summary it is ``text.markdown`` (no HTML,
no Markdown of its own, one line per table cell), in the JSON and the
annotations ``text.clean`` (no control characters or terminal escapes, which
the Actions log would interpret).
"""
import base64
import json
import os

from autograder.text import clean, encodable, markdown
from autograder.reporters import (
    MESSAGE_LIMIT,
    everything_passed,
    first_failures,
    public_tests,
    ran,
    register,
    score_text,
)

MAX_ANNOTATIONS = 10
MAX_PUBLIC_FAILURES = 20     # failing public tests listed in the summary


def _cell(text, width=MESSAGE_LIMIT):
    """Student text in a table cell: inert Markdown on one line, cut in the middle beyond ``width``."""
    return markdown(text, width)


def summary_markdown(result):
    lines = [f"## Lab 6 autograder: {score_text(result, ' / ')}", "",
             "| Check | Points | First failure |", "|---|---:|---|"]
    for check in result.checks:
        if check.status == "skipped":
            points, failure = f"- / {check.points}", "(not run) " + check.first_failure
        else:
            points, failure = f"{check.score} / {check.points}", check.first_failure
        lines.append(f"| {check.title} (`{check.id}`) | {points} | {_cell(failure)} |")
    from autograder.reporters.console import isolation_text

    lines += ["", f"Isolation: {markdown(isolation_text(result))}", ""]
    lines += [f"> {markdown(note, 2000)}" for note in result.notes]
    tests = public_tests(result)
    if tests is not None:
        lines += ["", f"**Public tests (pytest):** {markdown(tests.summary(), 300)}", ""]
        for name, message in tests.failed[:MAX_PUBLIC_FAILURES]:
            lines.append(f"- {markdown(name, 300)}: {markdown(message, MESSAGE_LIMIT)}")
        if len(tests.failed) > MAX_PUBLIC_FAILURES:
            lines.append(f"- and {len(tests.failed) - MAX_PUBLIC_FAILURES} more (the step's log lists them)")
    if not result.internal_errors:
        verdict = ("Everything that ran passed." if everything_passed(result)
                   else "Points were lost: start with the first failure of each check.")
        lines += ["", f"**{verdict}**"]
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text + "\n"


def reporter_result(result):
    """The JSON object the grading reporter expects from one runner step: what ran, nothing else."""
    tests = []
    checks = ran(result)
    for check in checks:
        for test in check.tests:
            tests.append({"name": clean(f"{check.title}: {test.name}"),
                          "status": "pass" if test.status == "passed" else "fail",
                          "score": test.score, "message": clean(test.message),
                          "test_code": f"check {check.id}", "filename": "", "line_no": 0,
                          "duration": int(round(test.seconds * 1000))})
    public = public_tests(result)
    if public is not None:
        failed = public.failed if not public.problem else [("public tests", public.problem)]
        for name, message in failed:
            tests.append({"name": clean(f"Public test: {name}", 300), "status": "fail", "score": 0,
                          "message": clean(message, MESSAGE_LIMIT), "test_code": "pytest", "filename": "",
                          "line_no": 0, "duration": 0})
    if result.internal_errors:
        status = "error"
    else:
        status = "pass" if everything_passed(result) else "fail"
    return {"version": 1, "status": status, "max_score": sum(c.points for c in checks), "tests": tests}


def encoded_result(result):
    return base64.b64encode(json.dumps(reporter_result(result)).encode("utf-8")).decode("ascii")


def _escape(text, prop=False):
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def _error(title, message):
    return f"::error title={_escape(clean(title, 300), prop=True)}::{_escape(clean(message, MESSAGE_LIMIT))}"


def annotations(result):
    """``::error`` lines: the first failure of each check, the failing public tests, then the other failures."""
    firsts = first_failures(result)
    lines = [_error(f"{check.id}: {test.name}", test.message) for check, test in firsts]
    public = public_tests(result)
    if public is not None:
        failed = public.failed if not public.problem else [("public tests", public.problem)]
        lines += [_error(f"public test {name}", message) for name, message in failed]
    shown = {id(test) for _, test in firsts}
    for check in ran(result):
        lines += [_error(f"{check.id}: {test.name}", test.message)
                  for test in check.tests if test.status == "failed" and id(test) not in shown]
    return lines[:MAX_ANNOTATIONS]


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
