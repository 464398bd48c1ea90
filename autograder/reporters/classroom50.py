"""result.json in Classroom 50's format: schema "classroom50/result/v1".

``score`` and ``max-score`` are integers, the sums of the tests' ``score`` and
``max-score``; each test has ``test-name``, ``passed``, ``score``, ``max-score``.
When run by the Classroom 50 runner (``CLASSROOM`` is set) the identity fields
come from its environment: classroom, assignment, submission, commit, release,
review, and datetime (the graded commit's committer date, so a regrade gives
the same file).
"""
import os
import subprocess

from . import write_json

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
    tests = [{"test-name": f"{check.id}: {test.name}", "passed": test.status == "passed",
              "score": int(test.score), "max-score": int(test.max_score)}
             for check in result.checks for test in check.tests]
    data = {"schema": SCHEMA}
    if env.get("CLASSROOM"):
        for key, var in IDENTITY:
            data[key] = env.get(var) or (env.get("COMMIT_URL", "") if key == "review" else "")
        date = _commit_date(result.submission)
        if date:
            data["datetime"] = date
    data["score"] = sum(t["score"] for t in tests)
    data["max-score"] = sum(t["max-score"] for t in tests)
    data["tests"] = tests
    return data


def write(result, path, env=None):
    write_json(path, to_dict(result, env))
