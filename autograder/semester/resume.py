"""Resuming a class run: has this student's grade already been computed by this grader?

A grade stands while two fingerprints stand: the submission's and the
grader's.  The submission's is ``safefs.fingerprint`` of its package folder:
sha256 over exactly what the box copies (every regular file's name and bytes,
streamed; every link's target text, never followed; folders; the names of
pipes and devices, never opened), within the rubric's ``limits``
(``submission_mb``, ``submission_files``, ``submission_depth``: over them,
``safefs.TooLarge``).  The grader's covers the rubric and every check file
that can run, the engine included (its Python files: the instructor's, read
as they are).  ``grade-all`` writes ``students/<name>/source.sha256`` holding
both after each successful grading, and skips a student whose stamp still
matches, unless the stored Result has an internal error (the grader's fault
is never served again as "unchanged") or is not one this grader reads (an
older grader's version: ``results.from_dict`` refuses it, so it is graded again).
"""
import hashlib
import json
import os

from autograder import results
from autograder.facts import PACKAGE
from autograder.sandbox import safefs

STAMP = "source.sha256"


def submission_fingerprint(submission_root, limits=None):
    """(sha256 hex, safefs.Report) of ``submission_root``'s package, as the box copies it.

    ``limits``: the rubric's (a rubric.Limits; None: the defaults).  Raises
    ``safefs.TooLarge`` (one sentence naming the limit) when the package holds
    more bytes, files or folder levels than they allow; ``Report.skipped``
    lists the pipes, devices and sockets that were never opened.
    """
    return safefs.fingerprint(os.path.join(submission_root, PACKAGE), limits)


def fingerprint(folder):
    """sha256 over the names and bytes of the Python files under ``folder`` (hidden folders skipped).

    For the grader's own folders only (the autograder package, the rubric's
    extra check folders): the instructor's files, trusted, links followed.
    Student folders go through ``submission_fingerprint``.
    """
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(root, name)
                digest.update(os.path.relpath(path, folder).encode() + b"\0")
                with open(path, "rb") as f:
                    digest.update(f.read() + b"\0")
    return digest.hexdigest()


def grader_fingerprint(rubric_path, grader_dir, checks_dirs=()):
    """sha256 over the rubric file, the grader package and every extra checks folder."""
    digest = hashlib.sha256()
    with open(rubric_path, "rb") as f:
        digest.update(f.read())
    for folder in [grader_dir, *checks_dirs]:
        digest.update(fingerprint(folder).encode())
    return digest.hexdigest()


def stamp(source, grader):
    """What is recorded for a graded submission: its fingerprint (``submission_fingerprint``) and the grader's."""
    return f"{source} {grader}"


def is_current(student_dir, expected, result_file):
    """True when ``result_file`` holds a Result this grader reads (``results.from_dict``), without internal
    errors, and the stamp in ``student_dir`` equals ``expected``.

    A Result with an internal error (the grader's fault, not the student's), or
    stored by an older grader (another version), is never reused: the next run
    grades that student again.
    """
    if not os.path.exists(result_file):
        return False
    try:
        if safefs.read_text(os.path.join(student_dir, STAMP), 4096).strip() != expected:
            return False
        with open(result_file, encoding="utf-8", errors="replace") as f:
            stored = results.from_dict(json.load(f))
        return not stored.internal_errors
    except (OSError, ValueError, safefs.TooLarge):
        return False
