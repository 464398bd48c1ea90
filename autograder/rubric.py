"""grading.yml: load it, validate it, and find each check's test file.

A rubric is a total, resource limits and a list of checks, and optionally a
late policy and the notebook's written answers (both used by ``grade-all``)::

    total: 100
    limits: {import_timeout: 30, total_budget: 150, memory_mb: 6144, file_mb: 64}
    checks:
      - {id: shapes, title: ..., points: 10, visibility: public, timeout: 30}
    late: {grace_minutes: 15, penalty_per_day: 10, max_days: 5}     # see late.py
    written: {points: 6, assignment: lab6}                          # see written.py

The final grade of a class run is the checks' points plus the written
points, minus the late penalty (never below 0); ``grade`` of one submission
reports the checks only.

Every mistake raises ``RubricError`` with one sentence naming the file, the
check and the key: unknown keys, missing keys, wrong types, duplicate ids,
points that do not add up to the total, test files that do not exist, and
test files that no check claims.
"""
import dataclasses
import os
import re

import yaml

from autograder.semester import late as late_mod, written as written_mod
from autograder.errors import UsageError
from autograder.facts import GRADER_DIR, RUBRIC_FILE

DEFAULT_PATH = RUBRIC_FILE
CHECKS_DIR = os.path.join(GRADER_DIR, "checks")
VISIBILITIES = ("public", "hidden")
_TOP_KEYS = {"total", "limits", "checks", "late", "written"}
_CHECK_KEYS = {"id", "title", "points", "visibility", "timeout", "file"}
_REQUIRED = ("id", "title", "points", "visibility", "timeout")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclasses.dataclass(frozen=True)
class Limits:
    """Resource limits for grading one submission (``limits:`` of grading.yml)."""

    import_timeout: float = 30.0   # the submission's import, once its worker is ready
    start_timeout: float = 60.0    # a worker's start up to "ready" (the grader's time: no student code yet)
    total_budget: float = 150.0
    memory_mb: int = 6144
    file_mb: int = 64
    scratch_mb: int = 256
    scratch_files: int = 10000
    grader_memory_mb: int = 12288  # the trusted grading process's own address-space limit
    reply_mb: int = 256            # the largest reply the grader accepts from a worker
    submission_mb: int = 64        # total size of a submission's regular files (copied, hashed)
    submission_files: int = 2000   # how many files and folders a submission may hold
    submission_depth: int = 12     # how deep its folders may nest
    repository_mb: int = 256       # collect: the largest checkout of one student's repository


class RubricError(UsageError):
    """grading.yml is invalid, or a check's test file is missing or unclaimed."""


@dataclasses.dataclass(frozen=True)
class Check:
    """One rubric line: a test file worth ``points``."""

    id: str
    title: str
    points: int
    visibility: str
    timeout: float
    file: str

    @property
    def hidden(self):
        return self.visibility == "hidden"


@dataclasses.dataclass(frozen=True)
class Rubric:
    """The validated contents of grading.yml."""

    path: str
    total: int
    limits: Limits
    checks: tuple
    late: object = None       # late.LatePolicy or None
    written: object = None    # written.Written or None

    @property
    def final_total(self):
        """The most a student can get in a class run: the checks and the written answers."""
        return self.total + (self.written.points if self.written else 0)

    def check(self, check_id):
        """The check with this id, or RubricError listing the valid ones."""
        for check in self.checks:
            if check.id == check_id:
                return check
        raise RubricError(f"no check {check_id!r} in {self.path}; the checks are: "
                          + ", ".join(c.id for c in self.checks))


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _unknown(keys, allowed, where):
    extra = sorted(set(keys) - allowed)
    if extra:
        raise RubricError(f"{where}: unknown key{'s' if len(extra) > 1 else ''} "
                          f"{', '.join(map(repr, extra))} (allowed: {', '.join(sorted(allowed))})")


def _check(entry, index, path):
    where = f"{path}: checks[{index}]"
    if not isinstance(entry, dict):
        raise RubricError(f"{where} must be a mapping with keys {', '.join(_REQUIRED)}")
    if "id" in entry:
        where = f"{path}: check {entry['id']!r}"
    _unknown(entry, _CHECK_KEYS, where)
    missing = [key for key in _REQUIRED if key not in entry]
    if missing:
        raise RubricError(f"{where}: missing {', '.join(missing)}")
    if not isinstance(entry["id"], str) or not _ID.match(entry["id"]):
        raise RubricError(f"{where}: id must be lower_case_with_underscores, got {entry['id']!r}")
    if not isinstance(entry["title"], str) or not entry["title"].strip():
        raise RubricError(f"{where}: title must be a non-empty string")
    if not isinstance(entry["points"], int) or isinstance(entry["points"], bool) or entry["points"] <= 0:
        raise RubricError(f"{where}: points must be a positive integer, got {entry['points']!r}")
    if entry["visibility"] not in VISIBILITIES:
        raise RubricError(f"{where}: visibility must be public or hidden, got {entry['visibility']!r}")
    if not _is_number(entry["timeout"]):
        raise RubricError(f"{where}: timeout must be a positive number of seconds, got {entry['timeout']!r}")
    file = entry.get("file", f"test_{entry['id']}.py")
    if not isinstance(file, str) or os.path.basename(file) != file or not re.match(r"^test_\w+\.py$", file):
        raise RubricError(f"{where}: file must be a file name like test_<name>.py, got {file!r}")
    return Check(entry["id"], entry["title"].strip(), entry["points"], entry["visibility"],
                 float(entry["timeout"]), file)


def _limits(raw, path):
    if raw is None:
        return Limits()
    if not isinstance(raw, dict):
        raise RubricError(f"{path}: limits must be a mapping")
    fields = {f.name for f in dataclasses.fields(Limits)}
    _unknown(raw, fields, f"{path}: limits")
    for key, value in raw.items():
        if not _is_number(value):
            raise RubricError(f"{path}: limits.{key} must be a positive number, got {value!r}")
    return Limits(**raw)


def read_yaml(path, what, error=None):
    """The parsed YAML file ``path`` (``what`` names it in messages); ``error`` (default RubricError)
    with one sentence when it cannot be read or parsed."""
    error = error or RubricError
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    except OSError as err:
        raise error(f"cannot read {what} {path}: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise error(f"{path} is not valid YAML: {str(err).splitlines()[0]}") from None


def load(path=DEFAULT_PATH):
    """Read and validate a rubric file."""
    raw = read_yaml(path, "the rubric")
    if not isinstance(raw, dict):
        raise RubricError(f"{path} must be a mapping with keys total, limits, checks")
    _unknown(raw, _TOP_KEYS, path)
    for key in ("total", "checks"):
        if key not in raw:
            raise RubricError(f"{path}: missing {key}")
    if not isinstance(raw["total"], int) or isinstance(raw["total"], bool) or raw["total"] <= 0:
        raise RubricError(f"{path}: total must be a positive integer, got {raw['total']!r}")
    if not isinstance(raw["checks"], list) or not raw["checks"]:
        raise RubricError(f"{path}: checks must be a non-empty list")
    checks = tuple(_check(entry, i, path) for i, entry in enumerate(raw["checks"]))
    seen = set()
    for check in checks:
        if check.id in seen:
            raise RubricError(f"{path}: check id {check.id!r} appears twice")
        seen.add(check.id)
    files = [c.file for c in checks]
    if len(set(files)) != len(files):
        raise RubricError(f"{path}: two checks use the same test file")
    points = sum(c.points for c in checks)
    if points != raw["total"]:
        raise RubricError(f"{path}: the checks' points add up to {points}, but total is {raw['total']}")
    try:
        late = late_mod.parse(raw.get("late"), path)
        written = written_mod.parse(raw.get("written"), path)
    except ValueError as err:
        raise RubricError(str(err)) from None
    return Rubric(os.path.abspath(path), raw["total"], _limits(raw.get("limits"), path), checks, late, written)


def locate(rubric, checks_dirs=()):
    """Map each check id to its test file, or None when a hidden check's file is not available.

    ``checks_dirs`` are searched before autograder/checks/, so a private
    repository can supply hidden check files or override public ones.
    Raises RubricError for a public check whose file is missing and for a
    test_*.py file in any checks folder that no check claims.
    """
    folders = [os.path.abspath(d) for d in checks_dirs] + [CHECKS_DIR]
    for folder in folders[:-1]:
        if not os.path.isdir(folder):
            raise RubricError(f"--checks-dir {folder} is not a folder")
    found = {}
    for check in rubric.checks:
        path = next((os.path.join(d, check.file) for d in folders
                     if os.path.isfile(os.path.join(d, check.file))), None)
        if path is None and not check.hidden:
            raise RubricError(f"check {check.id!r}: its test file {check.file} is in none of "
                              + ", ".join(folders))
        found[check.id] = path
    claimed = {c.file for c in rubric.checks}
    for folder in folders:
        for name in sorted(os.listdir(folder)):
            if name.startswith("test_") and name.endswith(".py") and name not in claimed:
                raise RubricError(f"{os.path.join(folder, name)} is not claimed by any check in "
                                  f"{rubric.path}: add a check for it or remove it")
    return found
