"""The student's own run of the public tests, read from pytest's JUnit XML report.

On push (and in ``bash ci/grade.sh grade``) the template runs the public tests
(``pytest --junitxml=FILE``) before the autograder, and ``grade --public-tests FILE``
attaches what they gave to the Result as ``result.public_tests``: every reporter
lists the failing ones, and a failing public test counts as lost points for
``--fail-on-lost-points`` and the grading reporter's status.  They earn no points.

The report is the student's data: it is read within a size bound, and its test
names and messages are shown only through ``text`` (like every message).  A
missing or unreadable report is not a pass: ``problem`` says what happened.
"""
import dataclasses
import os
import xml.etree.ElementTree as ET

from autograder.results import clip

MAX_BYTES = 20 * 2**20     # a report this large is not read


@dataclasses.dataclass
class PublicTests:
    """What the public tests gave: how many ran, the failures (and errors), or why there is no report."""

    total: int = 0
    failed: list = dataclasses.field(default_factory=list)    # [(test id, message)], in run order
    problem: str = ""                                          # "" when the report was read

    @property
    def passed(self):
        return not self.problem and not self.failed and self.total > 0

    def summary(self):
        """One sentence: "all 27 passed", "3 of 27 failed", or the problem."""
        if self.problem:
            return self.problem
        if not self.failed:
            return f"all {self.total} passed" if self.total else "no test ran"
        return f"{len(self.failed)} of {self.total} failed"


def _test_id(case):
    """``tests/test_kl.py::test_x`` from JUnit's classname ``tests.test_kl`` (or ``tests.test_kl.TestX``)."""
    classname, name = case.get("classname") or "", case.get("name") or "?"
    if not classname:                                  # a collection error: name is the module
        return name
    parts = classname.split(".")
    cls = parts.pop() if len(parts) > 1 and parts[-1][:1].isupper() else None
    module = "/".join(parts) + ".py"
    return f"{module}::{cls}::{name}" if cls else f"{module}::{name}"


def _message(element):
    """The failure's message without pytest's assertion introspection (as the grader's own messages)."""
    text = element.get("message")
    if not text:
        lines = (element.text or "").strip().splitlines()
        text = lines[-1] if lines else element.tag
    text = text.split("\nassert ")[0].strip()
    for prefix in ("AssertionError: ", "Failed: "):
        if text.startswith(prefix):
            text = text[len(prefix):]
    return clip(text) or element.tag         # cut in the middle at results.MESSAGE_LIMIT


def read(path):
    """The PublicTests of the JUnit XML report at ``path`` (never raises)."""
    from autograder.sandbox import safefs

    try:  # never a link, a pipe or a device; never more than MAX_BYTES
        size = os.lstat(path).st_size
    except OSError:
        return PublicTests(problem="the public tests did not run (pytest left no report)")
    if size > MAX_BYTES:
        return PublicTests(problem=f"the public tests' report is over {MAX_BYTES // 2**20} MB and was not read")
    try:
        text = safefs.read_text(path, MAX_BYTES)
        if "<!DOCTYPE" in text or "<!ENTITY" in text:  # pytest writes none: no entity expansion to read
            raise ValueError("a document type declaration")
        root = ET.fromstring(text)
    except (ET.ParseError, OSError, ValueError, safefs.TooLarge) as err:
        return PublicTests(problem=f"the public tests' report could not be read ({type(err).__name__})")
    result = PublicTests()
    for case in root.iter("testcase"):
        bad = next((child for child in case if child.tag in ("failure", "error")), None)
        skipped = any(child.tag == "skipped" for child in case)
        if skipped and bad is None:
            continue
        result.total += 1
        if bad is not None:
            result.failed.append((_test_id(case), _message(bad)))
    if not result.total:
        result.problem = "the public tests ran no test (pytest found none)"
    return result
