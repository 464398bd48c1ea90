"""Where the lab's package is in a submitted folder: the one answer every entry point uses.

A submission is a folder with ``lab6_generative/`` in it: at the top (what
``grade`` takes), or some levels down (a student's repository inside a class
folder, a Gradescope upload of a whole repository).  ``find_package`` looks
breadth first, shallowest first, in sorted order, never into hidden folders
and never through symbolic links (a link could point anywhere on the grader's
machine).
"""
import os

from .errors import UsageError

PACKAGE = "lab6_generative"


def find_package(folder, max_depth=0):
    """The folder at most ``max_depth`` levels below ``folder`` that holds ``lab6_generative/``, or None.

    With several at the same (shallowest) depth the first in sorted order wins.
    """
    level = [folder]
    for _ in range(max_depth + 1):
        below = []
        for current in sorted(level):
            candidate = os.path.join(current, PACKAGE)
            if os.path.isdir(candidate) and not os.path.islink(candidate):
                return current
            try:
                entries = sorted(os.scandir(current), key=lambda e: e.name)
            except OSError:
                continue
            below += [e.path for e in entries if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")]
        level = below
    return None


def require_package(folder):
    """Raise UsageError, in one sentence, unless ``folder`` holds the lab's package at its top."""
    if not os.path.exists(folder):
        raise UsageError(f"submission folder {folder} does not exist")
    if not os.path.isdir(folder):
        raise UsageError(f"{folder} is a file, not a folder: pass the folder that contains {PACKAGE}/")
    if find_package(folder) is None:
        raise UsageError(f"{folder} has no {PACKAGE}/ folder: pass the folder that contains the package "
                         "(a student repository, assignment/ or solutions/)")
