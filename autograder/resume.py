"""Resuming a class run: has this student's grade already been computed by this grader?

A grade stands while two fingerprints stand: the submission's (sha256 over
the names and bytes of its Python files) and the grader's (the rubric and
every check file that can run, the engine included).  ``grade-all`` writes
``students/<name>/source.sha256`` holding both after each successful
grading, and skips a student whose stamp still matches.
"""
import hashlib
import os

STAMP = "source.sha256"


def fingerprint(folder):
    """sha256 over the names and bytes of the Python files under ``folder`` (hidden folders skipped)."""
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


def stamp(submission_root, grader):
    """What is recorded for a graded submission: its fingerprint and the grader's."""
    return f"{fingerprint(submission_root)} {grader}"


def is_current(student_dir, expected, result_file):
    """True when ``result_file`` exists and the stamp in ``student_dir`` equals ``expected``."""
    if not os.path.exists(result_file):
        return False
    try:
        with open(os.path.join(student_dir, STAMP), encoding="utf-8") as f:
            return f.read().strip() == expected
    except OSError:
        return False
