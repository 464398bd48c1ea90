"""Helpers for the autograder's tests: build submissions from autograder/audit/catalogues/*.yml.

A submission is a copy of the student release's package (assignment/lab6_generative)
with each ``# YOUR CODE HERE`` stub replaced by a function body: the reference
body from correct.yml unless another body is given.  The building itself is
``autograder.audit.submissions`` (the audit grades the same catalogues), so
there is one implementation; this module keeps the tests' names for it.
"""
from pathlib import Path

import yaml

from autograder.audit import submissions as _built
from support import ROOT

SUBMISSIONS = ROOT / "autograder" / "audit" / "catalogues"
STUB = _built.STUB
MODULE_OF = _built.stubbed(str(ROOT / "assignment"))
fill = _built.fill


def load(name):
    """The parsed autograder/audit/catalogues/<name>.yml."""
    return _built.load(name, str(SUBMISSIONS))


def build_submission(folder, bodies=None, module_code=None, stubs=False):
    """Write a submission into ``folder`` and return it (a Path).

    bodies: function name -> body replacing the correct one.
    module_code: module name (vae, schedules, ...) -> code appended to that module.
    stubs: leave the stubs of functions without a body (the student release as is).
    """
    _built.build(str(folder), bodies=bodies, module_code=module_code, stubs=stubs,
                 release=str(ROOT / "assignment"), catalogues=str(SUBMISSIONS))
    return Path(folder)


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
