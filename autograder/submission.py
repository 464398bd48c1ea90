"""Where the lab's package is in a submitted folder: the one answer every entry point uses.

A submission is a folder with ``lab6_generative/`` in it: at the top (what
``grade`` takes), or some levels down (a student's repository inside a class
folder, a Gradescope upload of a whole repository).  ``find_package`` looks
breadth first, shallowest first, in sorted order, never into hidden folders
and never through symbolic links (a link could point anywhere on the grader's
machine), listing at most ``limits.submission_files`` entries in all
(``safefs.TooLarge`` beyond: a folder of a million entries is not listed
whole).  The search is ``safefs.find_package``: the one module that reads
student folders.
"""
import os

from autograder.sandbox import safefs
from autograder.errors import UsageError
from autograder.facts import PACKAGE

# How deep each entry point looks for the package (``find_package``'s max_depth): one name per
# kind of folder, so that every "nothing to grade" is decided by the same search.
AT_THE_TOP = 0          # grade, Classroom 50: the folder given is the repository
IN_A_STUDENT_FOLDER = 1  # grade-all, feedback: a class folder's student folder holds the repository
IN_AN_UPLOAD = 3        # Gradescope: an upload may wrap the repository in a few folders


def find_package(folder, max_depth=0, limits=None):
    """The folder at most ``max_depth`` levels below ``folder`` that holds ``lab6_generative/``, or None.

    With several at the same (shallowest) depth the first in sorted order wins.
    ``limits`` (a rubric.Limits; None: the defaults) bounds how many entries
    are listed: ``safefs.TooLarge`` (a UsageError, one sentence) beyond.
    """
    return safefs.find_package(folder, PACKAGE, max_depth, limits)


def require_package(folder):
    """Raise UsageError, in one sentence, unless ``folder`` holds the lab's package at its top."""
    if not os.path.exists(folder):
        raise UsageError(f"submission folder {folder} does not exist")
    if not os.path.isdir(folder):
        raise UsageError(f"{folder} is a file, not a folder: pass the folder that contains {PACKAGE}/")
    if find_package(folder) is None:
        raise UsageError(f"{folder} has no {PACKAGE}/ folder: pass the folder that contains the package "
                         "(a student repository, assignment/ or solutions/)")
