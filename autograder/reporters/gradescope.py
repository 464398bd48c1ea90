"""results.json in Gradescope's format (gradescope-autograders.readthedocs.io, "Autograder Specifications").

Top level: ``score``, ``execution_time`` (seconds), ``output``, ``tests``; each
test: ``name``, ``score``, ``max_score``, ``status`` ("passed"/"failed"),
``output``, ``visibility``, ``tags`` (the rubric check id).  Public checks are
"visible"; hidden ones "after_published" (students see them once grades are
published).  Each message is shown in full up to ``MESSAGE_LIMIT`` (the engine
clips it there, cutting in the middle so the hint at its end stays); the file
stays far below 1 MB.  The score line above the tests gives the score of what ran
(``score_text``).
Gradescope shows these fields as plain text (its default ``output_format``);
the submission's text in them is ``text.clean``: valid UTF-8, no control
characters or terminal escapes.
"""
import json

from autograder import facts
from autograder.text import clean
from autograder.reporters import public_tests, register, score_text, write_json

VISIBILITY = {"public": "visible", "hidden": "after_published"}
MAX_BYTES = 1_000_000


def output_text(result):
    """The text shown above the tests: the score, notes, and what the submission printed."""
    from autograder.reporters.console import isolation_text

    parts = [f"Score: {score_text(result, ' / ')}", f"Isolation: {isolation_text(result)}"]
    parts += [clean(note) for note in result.notes]
    tests = public_tests(result)
    if tests is not None:
        parts.append(f"Public tests (pytest): {clean(tests.summary())}"
                     + "".join(f"\n- {clean(name)}: {clean(message)}" for name, message in tests.failed))
    if result.internal_errors:
        parts.append(f"{len(result.internal_errors)} test(s) hit an internal grader error and scored 0; "
                     "please tell the course staff.")
    if result.output:
        parts.append("What your code printed while being graded (first part only):\n" + clean(result.output))
    return "\n\n".join(parts)


def to_dict(result):
    tests = []
    for check in result.checks:
        for test in check.tests:
            tests.append({
                "name": clean(f"{check.title}: {test.name}"),
                "score": test.score,
                "max_score": test.max_score,
                "status": "passed" if test.status == "passed" else "failed",
                "output": clean(test.message),
                "visibility": VISIBILITY[check.visibility],
                "tags": [check.id],
            })
    data = {"score": result.score, "execution_time": int(round(result.seconds)),
            "output": output_text(result), "tests": tests,
            "extra_data": {"isolation": result.isolation}}
    if len(json.dumps(data)) > MAX_BYTES:  # unreachable with clipped messages; a last guard
        for test in tests:
            test["output"] = clean(test["output"], 200)
        data["output"] = clean(data["output"], 2000)
    return data


@register("gradescope", default=facts.GRADESCOPE_FILE)
def write(result, destination):
    """Gradescope's results.json."""
    write_json(destination, to_dict(result))
