"""result.json in Classroom 50's format: schema "classroom50/result/v1".

``score`` and ``max-score`` are integers, the sums of the tests' ``score`` and
``max-score``; there is one test per rubric check, with ``test-name`` (the
check id), ``passed``, ``score``, ``max-score``.
When run by the Classroom 50 runner (``CLASSROOM`` is set) the identity fields
come from its environment: classroom, assignment, submission, commit, release,
review, and datetime (the graded commit's committer date, so a regrade gives
the same file; the grading time outside a git checkout).
"""
import os
import subprocess
import time

from autograder import facts
from autograder.reporters import register, write_json

SCHEMA = "classroom50/result/v1"
IDENTITY = (("classroom", "CLASSROOM"), ("assignment", "ASSIGNMENT"), ("submission", "SUBMISSION_TAG"),
            ("commit", "COMMIT_URL"), ("release", "RELEASE_URL"), ("review", "REVIEW_URL"))


def _commit_date(folder):
    try:
        out = subprocess.run(["git", "-C", folder, "log", "-1", "--format=%cd",
                              "--date=format-local:%Y-%m-%dT%H:%M:%SZ"],
                             capture_output=True, text=True, timeout=10, env={**os.environ, "TZ": "UTC"})
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def to_dict(result, env=None):
    env = os.environ if env is None else env
    # One row per rubric check: the rubric's unit, and what an instructor reads in Classroom 50.
    tests = [{"test-name": check.id, "passed": check.status == "passed",
              "score": int(check.score), "max-score": int(check.points)}
             for check in result.checks]
    data = {"schema": SCHEMA}
    if env.get("CLASSROOM"):
        for key, var in IDENTITY:
            data[key] = env.get(var) or (env.get("COMMIT_URL", "") if key == "review" else "")
        # the graded commit's date; the time of grading outside a git checkout
        data["datetime"] = _commit_date(result.submission) or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    data["score"] = sum(t["score"] for t in tests)
    data["max-score"] = sum(t["max-score"] for t in tests)
    data["tests"] = tests
    return data


@register("classroom50", default=facts.CLASSROOM50_FILE)
def write(result, destination, env=None):
    """Classroom 50's result.json (one row per rubric check)."""
    write_json(destination, to_dict(result, env))
