"""The stored Result (``results.to_dict``): what grade-all keeps per student and reads back.

Unlike the platforms' formats it loses nothing (every test, message,
visibility, note, the isolation), so class reports, ``--only`` merges and
any later export are built from it, never from a platform's file.
It keeps the submission's text as it was, except that a surrogate (an
undecodable byte) is stored as U+FFFD: the file is always valid UTF-8.
Whoever shows the text makes it safe for their surface (``autograder.text``).
"""
from autograder import facts, results
from autograder.reporters import register, write_json


@register("result", default=facts.RESULT_FILE)
def write(result, destination):
    """The Result as versioned JSON (schema lab6-autograder/result)."""
    write_json(destination, results.to_dict(result))


def read(path):
    """The Result stored at ``path``; OSError or ValueError when it is missing or not one.

    A byte that is not UTF-8 (a file not written by this grader) is read as U+FFFD: the
    student's text may lose a character, never the student their score.
    """
    import json

    with open(path, encoding="utf-8", errors="replace") as f:
        return results.from_dict(json.load(f))
