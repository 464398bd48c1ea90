"""Helpers for the autograder's tests: build submissions from tests/submissions/*.yml.

A submission is a copy of the student release's package (assignment/lab6_generative)
with each ``# YOUR CODE HERE`` stub replaced by a function body: the reference
body from correct.yml unless another body is given.
"""
import shutil
from pathlib import Path

import yaml

from support import ROOT

SUBMISSIONS = ROOT / "tests" / "submissions"
STUB = "    # YOUR CODE HERE\n    raise NotImplementedError()\n"
MODULE_OF = {"reparameterize": "vae", "kl_divergence": "vae", "kl_warmup": "schedules"}


def load(name):
    """The parsed tests/submissions/<name>.yml."""
    with open(SUBMISSIONS / f"{name}.yml", encoding="utf-8") as f:
        return yaml.safe_load(f)


def fill(source, function, body):
    """``source`` with the stub of ``function`` replaced by ``body`` (indented into the function)."""
    start = source.index(f"def {function}(")
    stub = source.index(STUB, start)
    indented = "".join(f"    {line}\n" if line.strip() else "\n" for line in body.rstrip().splitlines())
    return source[:stub] + indented + source[stub + len(STUB):]


def build_submission(folder, bodies=None, module_code=None, stubs=False):
    """Write a submission into ``folder`` and return it.

    bodies: function name -> body replacing the correct one.
    module_code: module name (vae, schedules, ...) -> code appended to that module.
    stubs: leave the stubs of functions without a body (the student release as is).
    """
    folder = Path(folder)
    package = folder / "lab6_generative"
    shutil.copytree(ROOT / "assignment" / "lab6_generative", package,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    code = {} if stubs else dict(load("correct"))
    code.update(bodies or {})
    for function, body in code.items():
        path = package / f"{MODULE_OF[function]}.py"
        path.write_text(fill(path.read_text(encoding="utf-8"), function, body), encoding="utf-8")
    for module, extra in (module_code or {}).items():
        path = package / f"{module}.py"
        path.write_text(path.read_text(encoding="utf-8") + "\n\n" + extra, encoding="utf-8")
    return folder


def rubric_copy(folder, limits=None, timeouts=None, extra_checks=()):
    """A copy of grading.yml in ``folder`` with some limits and check timeouts changed; its path."""
    with open(ROOT / "grading.yml", encoding="utf-8") as f:
        data = yaml.safe_load(f)
    data["limits"].update(limits or {})
    for check in data["checks"]:
        if timeouts and check["id"] in timeouts:
            check["timeout"] = timeouts[check["id"]]
    for extra in extra_checks:
        data["checks"].append(extra)
        data["total"] += extra["points"]
    path = Path(folder) / "grading.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def failures(result):
    """Every failure message of a Result, joined (lower case) for `in` tests."""
    return "\n".join(t.message for t in result.tests if t.status != "passed").lower()
