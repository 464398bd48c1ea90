"""``python -m autograder written COLLECTED --course COURSE``: the written answers into nbgrader, no code run.

    python -m autograder written COLLECTED --course COURSE [--source solutions] [--max-notebook-mb 20]
    make written COLLECTED=collected COURSE=course

Prepares nbgrader's course folder and gradebook so that the notebook's
written answers (the manually graded cells, q1-q3) can be graded by hand in
nbgrader's formgrader, **without executing any student code**: the code is
graded by ``grade-all`` in the sandbox.  In order:

1. ``release.build`` with ``--course-dir COURSE``: the instructor's source as
   ``COURSE/source/lab6/``, ``nbgrader generate_assignment`` (the gradebook
   ``COURSE/gradebook.db`` learns the notebook's cells), ``COURSE/release/``.
   ``COURSE/nbgrader_config.py`` gets a block that makes nbgrader's own
   autograde (command line or the formgrader's button) run the same steps as
   here, without ``Execute``, and gives ``Execute`` (which validate uses) a
   kernel that does not exist.
2. ``release.submitted.lay_out_student`` for every folder of COLLECTED: only
   the notebook, read as hostile data (no links, regular files only, at most
   ``--max-notebook-mb``, valid nbformat 4 JSON), into
   ``COURSE/submitted/<student>/lab6/``, with ``timestamp.txt`` from collect's
   ``manifest.csv``.  A student's problem is reported and the others go on.
3. nbgrader's ``Autograde`` converter, in this process, per student, with
   ``preprocessors.AUTOGRADE_PREPROCESSORS`` (nbgrader's list without
   ``Execute``): the student and the submission (with its timestamp) go into
   the gradebook, locked cells are restored from the source, an unanswered
   question scores 0 by itself, an answered one waits for a grader, the test
   cells score 0 with a line saying why, and the copy the formgrader shows
   (``COURSE/autograded/``) has every student text as text.  A student whose
   notebook did not change since the last run is left as it is (grades
   kept); a changed notebook is converted again: earlier manual grades stay
   and are flagged for review (nbgrader's rule).

No kernel is started and no cell is executed; nothing is imported from a
student's files.  nbgrader's log goes to ``COURSE/written.log``.  Exit
status: 0 when the course folder is ready (students with problems are listed,
as grade-all lists its zeros), 1 when the course could not be built, 2 for bad
arguments (one sentence).
"""
import contextlib
import logging
import os
import shutil
import sys
import tempfile
import time
import warnings

from autograder.errors import UsageError
from autograder.facts import PACKAGE, ROOT as REPO, SOLUTIONS_DIR
from autograder.files import write_text
LOG_NAME = "written.log"
CONFIG_MARK = "# --- added by `python -m autograder written`"
NO_KERNEL = "none.this-course-folder-never-runs-student-code"


def register(subparsers):
    p = subparsers.add_parser(
        "written", help="put every student's notebook into nbgrader's gradebook for grading the written answers "
                        "by hand (runs no student code)",
        description="Prepare nbgrader's course folder and gradebook for grading the notebook's written answers in "
                    "the formgrader, without running any student code (grade-all grades the code in the sandbox).")
    p.add_argument("collected", metavar="COLLECTED", help="collect's --out folder: one folder per student "
                                                          "(and manifest.csv)")
    p.add_argument("--course", required=True, metavar="COURSE",
                   help="the nbgrader course folder to create or update (e.g. course)")
    p.add_argument("--source", default=SOLUTIONS_DIR, metavar="DIR",
                   help="the instructor's source (default: solutions/ of this repository)")
    p.add_argument("--max-notebook-mb", type=_positive, default=None, metavar="MB",
                   help="a notebook larger than this is refused (default: 20)")
    p.set_defaults(run=run_written)


def _positive(text):
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0")
    return value


def _release_modules():
    """``release.build`` and ``release.submitted`` of this repository, from wherever the command runs.

    This repository goes first on ``sys.path``: run from a course folder, the
    current folder has nbgrader's own ``release/`` (the student version).
    """
    if sys.path[:1] != [REPO]:
        sys.path.insert(0, REPO)
    try:
        from release import build, submitted
    except ImportError as err:
        raise UsageError(f"`written` needs the release tooling of the course repository (release/ in {REPO}) "
                         f"and nbgrader: {err}") from None
    return build, submitted


def check_arguments(collected, course, source):
    """UsageError, in one sentence, for a missing or misplaced folder."""
    if not os.path.isdir(collected):
        raise UsageError(f"{collected} is not a folder: pass collect's --out folder (one folder per student)")
    if not os.path.isdir(os.path.join(source, PACKAGE)):
        raise UsageError(f"--source {source} has no {PACKAGE}/: pass the instructor's source (solutions/)")
    course_abs, collected_abs = os.path.realpath(course), os.path.realpath(collected)
    if os.path.exists(course) and not os.path.isdir(course):
        raise UsageError(f"--course {course} is a file, not a folder")
    parent = os.path.dirname(os.path.abspath(course))
    if not os.path.isdir(parent):
        raise UsageError(f"--course {course}: its parent folder {parent} does not exist")
    if course_abs == collected_abs or course_abs.startswith(collected_abs + os.sep):
        raise UsageError(f"--course {course} must not be inside {collected}: it would look like a student")
    repo, source_abs = os.path.realpath(REPO), os.path.realpath(source)
    if repo == course_abs or repo.startswith(course_abs + os.sep) or course_abs == source_abs \
            or course_abs.startswith(source_abs + os.sep):
        raise UsageError(f"--course {course} must be a folder of its own (e.g. course/), not this repository "
                         "or the source")


def build_course(build, source, course):
    """The course folder from the instructor's source (release.build with --course-dir); its notebook names."""
    with tempfile.TemporaryDirectory(prefix="lab6-written-") as tmp:
        build.build(source, os.path.join(tmp, "assignment"), None, course)
    released = os.path.join(course, "release", build.ASSIGNMENT)
    notebooks = sorted(n for n in os.listdir(released) if n.endswith(".ipynb"))
    if not notebooks:
        raise build.ReleaseError(f"the release in {released} has no notebook")
    return notebooks


def protect_config(course):
    """Append to COURSE/nbgrader_config.py: nbgrader's autograde runs our steps (no Execute); Execute has no kernel."""
    from autograder.semester.written_prepare.preprocessors import (
        AUTOGRADE_PREPROCESSORS,
        SANITIZE_PREPROCESSORS,
    )

    path = os.path.join(course, "nbgrader_config.py")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if CONFIG_MARK in text:
        text = text[:text.index(CONFIG_MARK)].rstrip("\n") + "\n"

    def listed(names):
        return "".join(f"    {name!r},\n" for name in names)
    text += f'''

{CONFIG_MARK} (rewritten by every run) ---
# This course folder holds the students' notebooks for grading the written answers by hand; their code is
# graded by `python -m autograder grade-all` in the sandbox.  Nothing here may run a student's notebook as
# you: nbgrader's autograde (`nbgrader autograde`, the formgrader's Autograde button) runs the steps of
# `written` (nbgrader's own without Execute: no kernel, no cell run), and nbgrader's Execute, which
# validate uses, is given a kernel that does not exist.
c.Autograde.sanitize_preprocessors = [
{listed(SANITIZE_PREPROCESSORS)}]
c.Autograde.autograde_preprocessors = [
{listed(AUTOGRADE_PREPROCESSORS)}]
# Anything else that would execute a notebook here (nbgrader validate, the Validate button) finds no kernel.
c.Execute.kernel_name = {NO_KERNEL!r}
'''
    write_text(path, text)


class _Capture(logging.Handler):
    """nbgrader's log: everything to COURSE/written.log, the warnings and errors kept for the summary."""

    def __init__(self, stream):
        super().__init__(logging.INFO)
        self.stream, self.problems = stream, []
        self.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))

    def emit(self, record):
        try:
            self.stream.write(self.format(record) + "\n")
        except Exception:  # noqa: BLE001 (a log line never stops grading)
            pass
        if record.levelno >= logging.ERROR:
            self.problems.append(record.getMessage())


LOG_HEADER = """\
nbgrader's log of `python -m autograder written` (this run only).
Expected for every student: three warnings "Attribute 'checksum' for cell test_... has changed": the notebook
students got has its test cells without the hidden tests, and nbgrader puts the source's cells back (they are
not run here).  SQLAlchemy's "not in session" warnings come from nbgrader's gradebook code and are harmless.
"""


@contextlib.contextmanager
def _quiet_nbgrader(handler):
    """Route nbgrader's (traitlets') log and Python warnings to ``handler`` only, while in the block."""
    def show(message, category, filename, lineno, file=None, line=None):
        handler.stream.write(f"[{category.__name__}] {message}\n")

    saved = []
    for name in ("traitlets", "NbGrader"):
        logger = logging.getLogger(name)
        saved.append((logger, logger.handlers[:], logger.level, logger.propagate))
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = show
            yield
    finally:
        for logger, handlers, level, propagate in saved:
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate


def _why(messages):
    """One line from nbgrader's error log of a failed conversion: the exception at the end of its traceback."""
    from release.submitted import plain

    for message in reversed(messages):
        lines = [line for line in message.strip().splitlines() if line.strip()]
        if lines and "Traceback" in message:
            return plain(lines[-1], 200)
    return plain(messages[0], 200) if messages else "nbgrader could not convert it"


def autograde_student(course, config, student, assignment, handler):
    """nbgrader's Autograde converter, for one student, with AUTOGRADE_PREPROCESSORS; None or why it failed."""
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory

    from autograder.semester.written_prepare.preprocessors import (
        AUTOGRADE_PREPROCESSORS,
        SANITIZE_PREPROCESSORS,
    )

    config = config.copy()
    config.CourseDirectory.root = os.path.abspath(course)
    config.Autograde.sanitize_preprocessors = list(SANITIZE_PREPROCESSORS)    # whatever the file says
    config.Autograde.autograde_preprocessors = list(AUTOGRADE_PREPROCESSORS)
    config.Autograde.pre_convert_hook = None
    config.Autograde.post_convert_hook = None
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id = assignment
    coursedir.student_id = student
    converter = Autograde(coursedir=coursedir, config=config)
    handler.problems = []
    try:
        converter.start()
    except Exception as err:  # noqa: BLE001 (NbGraderException after its log, or anything it lets through)
        return _why(handler.problems or [f"{type(err).__name__}: {err}"])
    return None


def _gradebook(course):
    from nbgrader.api import Gradebook

    return Gradebook(f"sqlite:///{os.path.abspath(os.path.join(course, 'gradebook.db'))}")


def in_gradebook(course, assignment, student):
    """True when the gradebook has ``student``'s submission of ``assignment``."""
    from nbgrader.api import MissingEntry

    with _gradebook(course) as gb:
        try:
            gb.find_submission(assignment, student)
        except MissingEntry:
            return False
    return True


def forget_submission(course, assignment, student):
    """Remove ``student``'s submission of ``assignment`` from the gradebook (left there by a failed conversion)."""
    from nbgrader.api import MissingEntry

    with _gradebook(course) as gb:
        try:
            gb.remove_submission(assignment, student)
        except MissingEntry:
            pass


def answers_waiting(course, assignment, student):
    """How many manually graded cells of ``student``'s submission wait for a grader."""
    with _gradebook(course) as gb:
        submission = gb.find_submission(assignment, student)
        return sum(1 for notebook in submission.notebooks for grade in notebook.grades if grade.needs_manual_grade)


def enter_student(course, collected, config, student, notebooks, assignment, pushed_at, max_bytes, handler,
                  submitted):
    """Lay out one student's notebook and put it into the gradebook; returns (student, status, detail).

    If nbgrader cannot take a new notebook, the course is left as it was
    before: a student new to the gradebook is removed from it again, and a
    student already there keeps the notebook (laid out and converted) of the
    earlier run.
    """
    submission = os.path.join(course, "submitted", student, assignment)
    graded = os.path.join(course, "autograded", student, assignment)
    known = in_gradebook(course, assignment, student)
    with tempfile.TemporaryDirectory(prefix="lab6-written-", dir=course) as keep:
        if os.path.isdir(submission):
            shutil.copytree(submission, os.path.join(keep, "submitted"), symlinks=True)
        laid = submitted.lay_out_student(collected, course, student, notebooks, assignment, pushed_at, max_bytes)
        if laid.problem:
            return student, "skipped", laid.problem + ("; the gradebook keeps the earlier notebook" if known else "")
        if known and os.path.exists(graded) and not laid.changed:
            return student, "unchanged", "already in the gradebook, grades kept"
        if os.path.exists(graded):  # nbgrader would skip a student whose folder is already there
            os.replace(graded, os.path.join(keep, "autograded"))
        failure = autograde_student(course, config, student, assignment, handler)
        if failure:
            for folder in (graded, submission):
                shutil.rmtree(folder, ignore_errors=True)
                with contextlib.suppress(OSError):
                    os.rmdir(os.path.dirname(folder))   # the student's folder, if that left it empty
            if known:
                for step, target in (("submitted", submission), ("autograded", graded)):
                    if os.path.exists(os.path.join(keep, step)):
                        os.makedirs(os.path.dirname(target), exist_ok=True)
                        os.replace(os.path.join(keep, step), target)
                return student, "skipped", (f"nbgrader could not take the new notebook ({failure}); the gradebook "
                                            "keeps the earlier one")
            forget_submission(course, assignment, student)
            return student, "skipped", f"nbgrader could not take the notebook ({failure})"
    waiting = answers_waiting(course, assignment, student)
    detail = (f"{waiting} answer{'s' if waiting != 1 else ''} to grade" if waiting
              else "nothing to grade (an unanswered question scores 0 by itself)")
    if known:
        return student, "updated", detail + " (a new notebook: answers graded before keep their points, " \
                                            "flagged for review)"
    return student, "added", detail


def prepare(collected, course, source=None, max_notebook_mb=None, out=print):
    """Build COURSE, lay out and enter every student of COLLECTED; return [(student, status, detail)]."""
    build, submitted = _release_modules()
    from autograder.semester import manifest as manifest_mod

    source = source or SOLUTIONS_DIR
    check_arguments(collected, course, source)
    manifest = manifest_mod.read(collected) or {}
    max_bytes = int((max_notebook_mb or submitted.DEFAULT_MAX_NOTEBOOK_MB) * submitted.MB)
    assignment = build.ASSIGNMENT
    os.makedirs(course, exist_ok=True)

    start = time.perf_counter()
    build._setup_logging(False)
    build.gradebook_head_in_process()
    notebooks = build_course(build, source, course)
    protect_config(course)
    config = build.load_config(os.path.join(course, "nbgrader_config.py"))

    rows = []
    folders = set(submitted.student_folders(collected))
    students = sorted(folders | set(manifest))
    width = max([len(submitted.plain(student, 60)) for student in students] + [7])
    with open(os.path.join(course, LOG_NAME), "w", encoding="utf-8") as log:
        log.write(LOG_HEADER)
        handler = _Capture(log)
        with _quiet_nbgrader(handler):
            for student in students:
                if student not in folders:
                    why = manifest[student].problems.strip() or "no repository collected"
                    row = (student, "skipped", f"nothing collected ({submitted.plain(why)})")
                else:
                    log.write(f"--- {student}\n")
                    row = enter_student(course, collected, config, student, notebooks, assignment,
                                        manifest[student].pushed_at if student in manifest else "", max_bytes, handler,
                                        submitted)
                rows.append(row)
                out(f"  {submitted.plain(row[0], 60):<{width}}  {row[1]:<9} {row[2]}")
    report(rows, collected, course, time.perf_counter() - start, out)
    return rows


def _short(path, start):
    """``path`` relative to ``start`` when that is short (./.venv, ../.venv), else absolute."""
    relative = os.path.relpath(os.path.abspath(path), os.path.abspath(start))
    if relative.startswith(os.pardir + os.sep + os.pardir) or os.path.isabs(start) and start != os.curdir:
        return os.path.abspath(path)
    return relative


def report(rows, collected, course, seconds, out=print):
    """The totals (each student's line is printed as it is done), and what to do next."""
    entered = sum(1 for _, status, _ in rows if status != "skipped")
    skipped = len(rows) - entered
    out(f"{entered} of {len(rows)} students in {os.path.join(course, 'gradebook.db')}"
        f"{f', {skipped} skipped (above)' if skipped else ''}, in {seconds:.1f} s; no student code was run "
        f"(nbgrader's log: {os.path.join(course, LOG_NAME)}).")
    jupyter = _short(os.path.join(os.path.dirname(sys.executable), "jupyter"), course)
    python = _short(sys.executable, os.curdir)
    out("")
    out("Next:")
    out("  1. Grade the written answers in nbgrader's formgrader (from the course folder, no venv activation):")
    out(f"       cd {course} && {jupyter} server --ServerApp.default_url=/formgrader")
    out("     open the http://localhost:8888/formgrader?token=... address it prints, then Manual Grading > lab6 >"
        " lab6_vae, and give each answer its points (Ctrl-C twice stops the server). nbgrader shows each"
        " notebook out of 14: the 6 written points plus 8 of test cells that score 0 here (grade-all grades"
        " the code); only the written points reach the grades.")
    out("     Grade there only: do not open a student's notebook in Jupyter and run it (that runs their code as you).")
    out("  2. Merge the written points into the grades:")
    out(f"       {python} -m autograder grade-all {collected} --out grades --jobs 2 --gradebook "
        f"{os.path.join(course, 'gradebook.db')}")


def run_written(args):
    build, _ = _release_modules()
    try:
        prepare(args.collected, args.course, args.source, args.max_notebook_mb)
    except build.ReleaseError as err:
        print(f"error: the course folder {args.course} could not be built: {err}", file=sys.stderr)
        return 1
    except ImportError as err:
        print(f"error: `written` needs nbgrader in this Python ({sys.executable}): {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"error: {err.strerror or err}: {err.filename or args.course}", file=sys.stderr)
        return 1
    return 0
