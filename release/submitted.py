"""Lay collected repositories out as nbgrader submissions: collected/<student>/ -> COURSE/submitted/<student>/lab6/.

    python -m release.submitted collected/ --course-dir course [--assignment lab6]

Two ways, for two uses:

``lay_out_notebooks`` (what ``python -m autograder written`` uses): only each
student's notebook, read as hostile data (never through a symbolic link,
regular files only, at most ``max_bytes``, valid JSON of nbformat 4), plus
nbgrader's ``timestamp.txt`` from collect's ``manifest.csv``.  A student
whose notebook is missing, too large or malformed gets a ``Laid`` saying why
and the others go on.  Nothing of the student's code is copied: nothing in
the course folder can import it.

``lay_out`` (this command): what ``nbgrader autograde`` grades (the notebooks
and the package, the files of the release) from each student's collected
repository, never the repository's machinery (.git, .github, .grader, ci/),
and the same ``timestamp.txt``.  ``nbgrader autograde`` then runs every
student's notebook, and with it their ``vae.py``, as you and without a
sandbox: prefer ``python -m autograder written``, which runs no student code
(the code is graded by ``grade-all`` in the sandbox).  Exit status 2 with one
line for bad arguments.
"""
import argparse
import dataclasses
import datetime
import json
import os
import re
import shutil
import stat
import sys

from autograder.facts import PACKAGE

SKIP = {".git", ".github", ".grader", ".grader-private", "ci", "__pycache__", ".ipynb_checkpoints", "outputs",
        ".data", ".venv"}
MB = 2**20
DEFAULT_MAX_NOTEBOOK_MB = 20
# A student's folder name becomes nbgrader's student id: part of paths, of glob patterns and regular
# expressions nbgrader builds from them, and of the formgrader's pages (printed there without escaping).
UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\<>&\"'`*?\[\]{}]")
_READ_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))


class NotebookProblem(Exception):
    """A student's notebook cannot be used; ``str()`` says why, as the end of a sentence about the file."""


@dataclasses.dataclass(frozen=True)
class Laid:
    """What ``lay_out_notebooks`` did with one student folder."""

    student: str
    problem: str = ""         # why nothing was laid out, one sentence ("" when the notebooks were laid out)
    changed: bool = False     # a notebook or the timestamp differs from what was laid out before (or is new)
    timestamp: str = ""       # what went into timestamp.txt


def timestamp_text(pushed_at):
    """The line of nbgrader's ``timestamp.txt`` for collect's ``pushed_at`` (ISO 8601), or "" if it is none."""
    try:
        when = datetime.datetime.fromisoformat((pushed_at or "").strip())
    except ValueError:
        return ""
    return when.isoformat(sep=" ")


def read_pushed(collected):
    """{student: pushed_at} from collect's manifest.csv in ``collected`` ({} without one); ValueError if unreadable."""
    from autograder.semester import manifest

    try:
        rows = manifest.read(collected)
    except manifest.ManifestError as err:
        raise ValueError(str(err)) from None
    return {student: row.pushed_at for student, row in (rows or {}).items()}


def plain(text, limit=160):
    """``text`` (which may come from a student's file) as one short printable line (``text.one_line``)."""
    from autograder.text import one_line

    return one_line(text, limit)


def _mb(n):
    return f"{n / MB:.1f} MB" if n >= MB / 10 else f"{n} bytes"


def read_notebook(path, max_bytes):
    """The bytes of the notebook file at ``path``, read as hostile data; NotebookProblem says why not.

    A symbolic link is never followed, only a regular file is read (a named
    pipe or a device is refused without blocking), never more than
    ``max_bytes`` (the size is checked before reading, and again while
    reading), and the bytes must be UTF-8 JSON of a valid nbformat 4 notebook.
    """
    try:
        info = os.lstat(path)
    except OSError as err:
        raise NotebookProblem(f"cannot be read ({err.strerror})") from None
    if stat.S_ISLNK(info.st_mode):
        raise NotebookProblem("is a symbolic link: not followed")
    if not stat.S_ISREG(info.st_mode):
        raise NotebookProblem("is not a regular file")
    if info.st_size > max_bytes:
        raise NotebookProblem(f"is {_mb(info.st_size)}, over the limit of {_mb(max_bytes)}")
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError as err:  # swapped for a link since lstat: ELOOP
        raise NotebookProblem(f"cannot be opened ({err.strerror})") from None
    chunks, total = [], 0
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotebookProblem("is not a regular file")
        while True:
            chunk = os.read(fd, min(MB, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise NotebookProblem(f"is over the limit of {_mb(max_bytes)}")
    except OSError as err:
        raise NotebookProblem(f"cannot be read ({err.strerror})") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    check_notebook(data)
    return data


def check_notebook(data):
    """NotebookProblem unless ``data`` is UTF-8 JSON of a valid nbformat 4 notebook."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise NotebookProblem("is not a notebook: not UTF-8 text") from None
    try:
        raw = json.loads(text)
    except RecursionError:
        raise NotebookProblem("is not a notebook: JSON nested too deeply") from None
    except ValueError as err:
        raise NotebookProblem(f"is not a notebook: not JSON ({plain(err, 80)})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise NotebookProblem("is not a notebook: JSON without a list of cells")
    if raw.get("nbformat") != 4:
        raise NotebookProblem(f"is not an nbformat 4 notebook (nbformat: {plain(repr(raw.get('nbformat')), 40)})")
    import nbformat

    try:
        nbformat.validate(nbformat.reads(text, as_version=4))
    except RecursionError:
        raise NotebookProblem("is not a valid notebook: nested too deeply") from None
    except Exception as err:  # nbformat's ValidationError, and whatever a strange file makes it raise
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise NotebookProblem(f"is not a valid notebook ({plain(first, 100)})") from None


def find_notebook(student_dir, name):
    """The path of notebook ``name`` in a student's folder, or None.

    At the top of the folder, else one level down (a folder holding the
    package first, then in sorted order), never into hidden folders or
    through links.  The path may be a link or a special file: reading it
    (``read_notebook``) says so.
    """
    path = os.path.join(student_dir, name)
    if os.path.lexists(path):
        return path
    try:
        below = [e.path for e in sorted(os.scandir(student_dir), key=lambda e: e.name)
                 if not e.name.startswith(".") and e.name not in SKIP and e.is_dir(follow_symlinks=False)]
    except OSError:
        return None
    has_package = [d for d in below if os.path.isdir(os.path.join(d, PACKAGE))
                   and not os.path.islink(os.path.join(d, PACKAGE))]
    for folder in has_package + [d for d in below if d not in has_package]:
        path = os.path.join(folder, name)
        if os.path.lexists(path):
            return path
    return None


def student_folders(collected):
    """Names of the student folders of ``collected`` (links included, to be refused), sorted; not hidden ones."""
    names = []
    for entry in sorted(os.scandir(collected), key=lambda e: e.name):
        if entry.name.startswith("."):
            continue
        if entry.is_symlink() or entry.is_dir(follow_symlinks=False):
            names.append(entry.name)
    return names


def _write_if_changed(path, data):
    """Write ``data`` to ``path`` (atomically) unless it already holds exactly that; True if written."""
    try:
        with open(path, "rb") as f:
            if f.read(len(data) + 1) == data:
                return False
    except OSError:
        pass
    from autograder.files import write_bytes

    write_bytes(path, data)
    return True


def lay_out_student(collected, course_dir, student, notebooks, assignment="lab6", pushed_at="",
                    max_bytes=DEFAULT_MAX_NOTEBOOK_MB * MB):
    """Lay out one student's notebooks (names in ``notebooks``) as ``course_dir/submitted/<student>/<assignment>/``.

    Returns a ``Laid``.  Nothing is written for a student with a problem: a
    notebook laid out by an earlier run stays as it was.
    """
    if UNSAFE_NAME.search(student) or student != student.strip():
        return Laid(student, "the folder name cannot be an nbgrader student id (no spaces around it, no "
                             "control characters, / \\ < > & \" ' ` * ? [ ] { })")
    folder = os.path.join(collected, student)
    shown = os.path.join(os.path.basename(os.path.normpath(collected)), student)
    if os.path.islink(folder):
        return Laid(student, f"{shown} is a symbolic link: not followed")
    found = {}
    for name in notebooks:
        path = find_notebook(folder, name)
        if path is None:
            return Laid(student, f"no {name} in {shown}/ (nor one folder down)")
        try:
            found[name] = read_notebook(path, max_bytes)
        except NotebookProblem as problem:
            return Laid(student, f"{os.path.join(shown, os.path.relpath(path, folder))} {problem}")
    target = os.path.join(course_dir, "submitted", student, assignment)
    os.makedirs(target, exist_ok=True)
    changed = False
    for name, data in found.items():
        changed |= _write_if_changed(os.path.join(target, name), data)
    stamp = timestamp_text(pushed_at)
    stamp_file = os.path.join(target, "timestamp.txt")
    if stamp:
        changed |= _write_if_changed(stamp_file, (stamp + "\n").encode())
    elif os.path.exists(stamp_file):
        os.remove(stamp_file)
        changed = True
    return Laid(student, "", changed, stamp)


def lay_out_notebooks(collected, course_dir, notebooks, assignment="lab6", pushed=None,
                      max_bytes=DEFAULT_MAX_NOTEBOOK_MB * MB):
    """``lay_out_student`` for every student folder of ``collected``; returns [Laid], one per folder, sorted."""
    pushed = pushed or {}
    return [lay_out_student(collected, course_dir, student, notebooks, assignment, pushed.get(student, ""),
                            max_bytes)
            for student in student_folders(collected)]


def lay_out(collected, course_dir, assignment="lab6"):
    """Copy every student folder of ``collected`` into ``course_dir/submitted``; return the student names."""
    pushed = read_pushed(collected)
    students = sorted(d for d in os.listdir(collected)
                      if os.path.isdir(os.path.join(collected, d)) and not d.startswith("."))
    for student in students:
        target = os.path.join(course_dir, "submitted", student, assignment)
        if os.path.exists(target):
            shutil.rmtree(target)
        shutil.copytree(os.path.join(collected, student), target, symlinks=True,
                        ignore=lambda folder, names: {n for n in names if n in SKIP or n.endswith(".pyc")})
        stamp = timestamp_text(pushed.get(student))
        if stamp:
            with open(os.path.join(target, "timestamp.txt"), "w") as f:
                f.write(stamp + "\n")
    return students


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m release.submitted", description=__doc__.splitlines()[0])
    parser.add_argument("collected", help="collect's --out folder: one folder per student")
    parser.add_argument("--course-dir", required=True, help="the nbgrader course folder (python -m autograder "
                                                            "release --course-dir DIR makes one)")
    parser.add_argument("--assignment", default="lab6")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.collected):
        print(f"error: {args.collected} is not a folder", file=sys.stderr)
        return 2
    if not os.path.isdir(os.path.join(args.course_dir, "source", args.assignment)):
        print(f"error: {args.course_dir} has no source/{args.assignment}/: make it with "
              f"`python -m autograder release --course-dir {args.course_dir}`", file=sys.stderr)
        return 2
    try:
        students = lay_out(args.collected, args.course_dir, args.assignment)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{len(students)} submissions in {os.path.join(args.course_dir, 'submitted')}/<student>/{args.assignment}/ "
          f"with their code; `nbgrader autograde {args.assignment}` would run it unsandboxed: to grade the written "
          f"answers without running student code use `python -m autograder written {args.collected} --course "
          f"{args.course_dir}` instead")
    return 0


if __name__ == "__main__":
    sys.exit(main())
