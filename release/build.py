"""Regenerate the student release (assignment/) from the instructor's source (solutions/) with nbgrader.

    python -m autograder release [--source solutions] [--out assignment]
                                 [--config nbgrader_config.py] [--course-dir DIR] [-v]

(``python -m release.build``, the old spelling, still works for one release.)

What it does, in order:

1. Stage: a temporary nbgrader course directory (or ``--course-dir``) gets a
   copy of ``nbgrader_config.py`` and of ``solutions/`` as ``source/lab6/``,
   leaving out every file the configuration ignores (``CourseDirectory.ignore``,
   matched by nbgrader's own ``is_ignored``).
2. ``nbgrader generate_assignment lab6 --force``, in-process, with that
   configuration and a SQLite gradebook in the course directory: in the
   notebooks solution cells become stubs, hidden test regions are removed,
   cells are locked and checksummed; other files are copied unchanged.
3. Every ``.py`` file of the release goes through nbgrader's ``ClearSolutions``
   and ``ClearHiddenTests`` preprocessors with the same configuration: each
   ``### BEGIN SOLUTION`` / ``### END SOLUTION`` region becomes the code stub
   at the region's indentation (signatures and docstrings stay).  This runs
   here, not in a post-convert hook, because nbgrader only logs a hook's
   exceptions; here an unbalanced or nested marker fails the command.
4. A last check fails the command if any file of the release still contains
   a solution or hidden-test delimiter.
5. ``release/lab6/`` replaces ``--out``.

Nothing in the output depends on the time, the machine or the gradebook, so
running it twice gives byte-identical files.  No network, no Jupyter server.
Exit status: 0 on success, 1 when the release could not be built, 2 for bad
arguments.
"""
import argparse
import logging
import os
import shutil
import sys
import tempfile
import time

from autograder.facts import PACKAGE, ROOT as REPO

ASSIGNMENT = "lab6"
CONFIG_NAME = "nbgrader_config.py"


class ReleaseError(RuntimeError):
    """The release could not be built; the message says which file and why."""


def load_config(path):
    """The traitlets ``Config`` defined by the nbgrader configuration file ``path``."""
    from traitlets.config.loader import PyFileConfigLoader

    path = os.path.abspath(path)
    return PyFileConfigLoader(os.path.basename(path), path=os.path.dirname(path)).load_config()


def ignore_globs(config):
    """``CourseDirectory.ignore`` as configured (nbgrader's default when unset)."""
    from nbgrader.coursedir import CourseDirectory

    return list(CourseDirectory(config=config).ignore)


def _delimiters(config):
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    solutions = ClearSolutions(config=config)
    hidden = ClearHiddenTests(config=config)
    return (solutions.begin_solution_delimeter, solutions.end_solution_delimeter,
            hidden.begin_test_delimeter, hidden.end_test_delimeter)


def clear_solutions_in_source(source, filename="<source>", config=None):
    """``source`` (the text of a .py file) as students get it.

    Each solution region becomes the configured code stub at the indentation
    of its BEGIN line, and each hidden-test region is removed, by nbgrader's
    own preprocessors configured by ``config``.  The text is treated as one
    plain (not nbgrader-marked) code cell, so only the marked regions change.

    Raises:
        ReleaseError: for a nested or unterminated region, naming ``filename``.
    """
    import nbformat
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions
    from traitlets.config import Config

    config = Config() if config is None else config
    cell = nbformat.v4.new_code_cell(source)
    resources = {"language": "python"}
    try:
        for preprocessor in (ClearSolutions(config=config, enforce_metadata=False),
                             ClearHiddenTests(config=config, enforce_metadata=False)):
            cell, resources = preprocessor.preprocess_cell(cell, resources, 0)
    except RuntimeError as err:
        raise ReleaseError(f"{filename}: {err}") from None
    return cell.source


def _ignored(path, globs):
    from nbgrader.utils import is_ignored

    return is_ignored(path, globs)


def stage(source, course_dir, config_path, globs):
    """Copy the configuration and ``source`` (minus ignored files) into the course directory."""
    shutil.copyfile(config_path, os.path.join(course_dir, CONFIG_NAME))
    staged = os.path.join(course_dir, "source", ASSIGNMENT)
    for step in ("source", "release"):
        if os.path.exists(os.path.join(course_dir, step, ASSIGNMENT)):
            shutil.rmtree(os.path.join(course_dir, step, ASSIGNMENT))
    for folder, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if not _ignored(os.path.join(folder, d), globs))
        target = os.path.join(staged, os.path.relpath(folder, source))
        os.makedirs(target, exist_ok=True)
        for name in sorted(files):
            if not _ignored(os.path.join(folder, name), globs):
                shutil.copyfile(os.path.join(folder, name), os.path.join(target, name))
    return staged


def gradebook_head_in_process():
    """Have nbgrader learn its gradebook's schema revision in this process, not from a new one.

    When nbgrader creates a gradebook.db it stamps it with the head revision of
    its migration scripts, which it asks of the ``alembic heads`` command: a new
    Python that imports alembic, SQLAlchemy and the scripts, 1.3 s on a quiet
    machine and 5-11 s on a loaded one, and a command that must be on PATH.
    alembic's own Python API gives the same answer from the same folder
    (``nbgrader.dbutil.ALEMBIC_DIR``) in this process, in about 0.1 s.  Only a
    single head is answered this way; anything else is left to nbgrader's own
    command, as before.  Idempotent.
    """
    import nbgrader.api
    import nbgrader.dbutil

    asked = nbgrader.api.get_alembic_version
    if getattr(asked, "in_process", False):
        return

    def get_alembic_version():
        from alembic.script import ScriptDirectory

        heads = ScriptDirectory(nbgrader.dbutil.ALEMBIC_DIR).get_heads()
        return heads[0] if len(heads) == 1 else asked()

    get_alembic_version.in_process = True
    nbgrader.api.get_alembic_version = get_alembic_version


def generate_assignment(course_dir, config):
    """``nbgrader generate_assignment lab6 --force`` in ``course_dir``; returns the release folder."""
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    gradebook_head_in_process()
    config = config.copy()
    config.CourseDirectory.root = os.path.abspath(course_dir)
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id = ASSIGNMENT
    converter = GenerateAssignment(coursedir=coursedir, config=config)
    converter.force = True
    try:
        converter.start()
    except Exception as err:  # NbGraderException and anything nbgrader lets through
        raise ReleaseError(f"nbgrader generate_assignment failed: {err}") from err
    return os.path.join(course_dir, "release", ASSIGNMENT)


def clear_python_files(released, config):
    """Strip the solution and hidden-test regions of every .py file of the release in place."""
    for folder, dirs, files in os.walk(released):
        dirs.sort()
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            cleared = clear_solutions_in_source(text, os.path.relpath(path, released), config)
            if cleared != text:
                with open(path, "w", encoding="utf-8", newline="") as f:
                    f.write(cleared)


def check_release(released, config):
    """Fail if any file of the release still has a solution or hidden-test delimiter."""
    delimiters = _delimiters(config)
    for folder, dirs, files in os.walk(released):
        for name in files:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                data = f.read()
            for delimiter in delimiters:
                if delimiter.encode("utf-8") in data:
                    raise ReleaseError(
                        f"{os.path.relpath(path, released)} still contains {delimiter!r} after nbgrader: "
                        "solution regions belong in notebook solution cells or in .py files, "
                        "hidden tests in notebook grade cells")


def copy_tree(src, dst):
    """Replace ``dst`` by a copy of ``src`` (file contents only, no timestamps)."""
    tmp = f"{dst.rstrip(os.sep)}.tmp-{os.getpid()}"
    if os.path.exists(tmp):
        shutil.rmtree(tmp)
    shutil.copytree(src, tmp, copy_function=shutil.copyfile)
    if os.path.exists(dst):
        shutil.rmtree(dst)
    os.replace(tmp, dst)


def build(source, out, config_path=None, course_dir=None):
    """Write the release of ``source`` into ``out`` (replacing it); return the course directory used.

    ``course_dir`` keeps the staged nbgrader course directory (source/,
    release/, gradebook.db, nbgrader_config.py) for ``nbgrader autograde``;
    by default a temporary one is used and deleted.
    """
    config_path = config_path or os.path.join(REPO, CONFIG_NAME)
    config = load_config(config_path)
    globs = ignore_globs(config)
    keep = course_dir is not None
    course_dir = os.path.abspath(course_dir) if keep else tempfile.mkdtemp(prefix="lab6-course-")
    os.makedirs(course_dir, exist_ok=True)
    try:
        stage(source, course_dir, config_path, globs)
        released = generate_assignment(course_dir, config)
        clear_python_files(released, config)
        check_release(released, config)
        copy_tree(released, out)
    finally:
        if not keep:
            shutil.rmtree(course_dir, ignore_errors=True)
    return course_dir


def _setup_logging(verbose):
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[nbgrader %(levelname)s] %(message)s"))
    for name in ("traitlets", "NbGrader"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO if verbose else logging.WARNING)
        logger.propagate = False


def main(argv=None, prog="python -m autograder release"):
    p = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    p.add_argument("--source", default="solutions", help="the instructor's version (default: solutions)")
    p.add_argument("--out", default="assignment", help="where the release goes, replaced (default: assignment)")
    p.add_argument("--config", default=os.path.join(REPO, CONFIG_NAME), help="the nbgrader configuration file")
    p.add_argument("--course-dir", help="keep the staged nbgrader course directory here (for nbgrader autograde)")
    p.add_argument("-v", "--verbose", action="store_true", help="show nbgrader's log")
    args = p.parse_args(argv)
    if not os.path.isdir(os.path.join(args.source, PACKAGE)):
        print(f"error: {args.source}/{PACKAGE} not found", file=sys.stderr)
        return 2
    if not os.path.isfile(args.config):
        print(f"error: nbgrader configuration {args.config} not found", file=sys.stderr)
        return 2
    if os.path.abspath(args.out) == os.path.abspath(args.source):
        print("error: --out must differ from --source", file=sys.stderr)
        return 2
    _setup_logging(args.verbose)
    start = time.perf_counter()
    try:
        build(args.source, args.out, args.config, args.course_dir)
    except ReleaseError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    kept = f"; nbgrader course directory kept in {args.course_dir}/" if args.course_dir else ""
    print(f"wrote {args.out}/ from {args.source}/ with nbgrader in {time.perf_counter() - start:.1f} s{kept}")
    return 0


if __name__ == "__main__":
    from autograder.tools import moved

    moved("release.build")
    sys.exit(main(prog="python -m release.build"))
