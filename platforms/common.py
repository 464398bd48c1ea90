"""What every platform build shares: the repository's layout, the rubric's
public/hidden split, the pinned torch versions and copying the grader.

Nothing here reads ``solutions/``: every build starts from ``assignment/``
(the student release) and ``autograder/`` + ``grading.yml`` (the grader).
"""
import os
import re
import shutil

from autograder.facts import PACKAGE, ROOT  # noqa: F401 - ROOT: the course repository the builds read by default

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"

# Never copied anywhere: caches, data, outputs, editor and OS litter.
EXCLUDE_DIRS = {"__pycache__", ".pytest_cache", ".hypothesis", ".data", "outputs",
                ".ipynb_checkpoints", ".git", ".venv", "node_modules"}
EXCLUDE_FILES = {".DS_Store", "results.json", "result.json"}
EXCLUDE_SUFFIXES = (".pyc", ".pyo")
# Parts of autograder/ (paths relative to it) that only the instructor's checkout runs: never shipped to a
# platform.  (The audit reads solutions/ and names its markers; grading never needs it; tools.py runs
# release/ and platforms/, which are not shipped either.)
INSTRUCTOR_ONLY = {"audit", "semester/written_prepare", "semester/feedback.py", "tools.py"}


class BuildError(RuntimeError):
    """A platform build cannot be made (missing grader, bad rubric, ...)."""


def path(*parts, root=None):
    return os.path.join(root or ROOT, *parts)


def load_rubric(root=None):
    """The rubric's checks (``autograder.rubric.Check``: id, title, points, visibility, file), validated.

    The one reader of grading.yml is ``autograder.rubric.load``; a rubric it
    refuses cannot be built into any platform.
    """
    from autograder import rubric

    file = path("grading.yml", root=root)
    if not os.path.exists(file):
        raise BuildError(f"{file} not found: the autograder's rubric is needed to build the platforms")
    try:
        return list(rubric.load(file).checks)
    except rubric.RubricError as err:
        raise BuildError(str(err)) from None


def check_ids(root=None, visibility=None):
    return [c.id for c in load_rubric(root) if visibility is None or c.visibility == visibility]


def check_file(check):
    """The file name of a rubric check's tests (``test_<id>.py`` unless the rubric says otherwise)."""
    return check.file


def check_file_id(name, root=None):
    """The id of the check whose test file is ``name``, None if no check claims it."""
    return next((c.id for c in load_rubric(root) if c.file == name), None)


def is_check_file(name):
    return bool(re.fullmatch(r"test_\w+\.py", name))


def checks_dir(root=None):
    return path("autograder", "checks", root=root)


def hidden_check_files(root=None):
    """Paths of the hidden checks' files in autograder/checks (those that exist)."""
    hidden = {c.file for c in load_rubric(root) if c.hidden}
    folder = checks_dir(root)
    if not os.path.isdir(folder):
        return []
    return sorted(os.path.join(folder, n) for n in os.listdir(folder) if n in hidden)


def _ignored(name, is_dir):
    if is_dir:
        return name in EXCLUDE_DIRS
    return name in EXCLUDE_FILES or name.endswith(EXCLUDE_SUFFIXES)


def copy_tree(src, dst, skip=None):
    """Copy ``src`` into ``dst`` without caches/outputs; ``skip(relpath)`` drops more files and folders."""
    for folder, dirs, files in os.walk(src):
        rel = os.path.relpath(folder, src)
        dirs[:] = sorted(d for d in dirs if not _ignored(d, True)
                         and not (skip and skip(os.path.normpath(os.path.join(rel, d)))))
        os.makedirs(os.path.join(dst, rel), exist_ok=True)
        for name in sorted(files):
            relpath = os.path.normpath(os.path.join(rel, name))
            if _ignored(name, False) or (skip and skip(relpath)):
                continue
            shutil.copy2(os.path.join(folder, name), os.path.join(dst, relpath))


def copy_grader(dst, include_hidden, root=None):
    """Copy ``autograder/`` and ``grading.yml`` into ``dst``.

    With ``include_hidden=False`` only the public checks' files are copied
    from ``autograder/checks`` (the ``test_*.py`` file of a public rubric
    check; other ``test_*.py`` files, hidden or unclaimed, are left out: the
    engine refuses unclaimed ones).  Returns the rubric.
    """
    rubric = load_rubric(root)
    src = path("autograder", root=root)
    if not os.path.isfile(os.path.join(src, "__main__.py")):
        raise BuildError(f"{src}/__main__.py not found: the autograder (python -m autograder) is not there yet")
    public = {c.file for c in rubric if not c.hidden}
    known = {c.file for c in rubric}

    def skip(relpath):
        parts = relpath.split(os.sep)
        if any("/".join(parts[:n]) in INSTRUCTOR_ONLY for n in range(1, len(parts) + 1)):
            return True
        if parts[0] == "checks" and len(parts) == 2 and is_check_file(parts[1]):
            return parts[1] not in (known if include_hidden else public)
        return False

    copy_tree(src, os.path.join(dst, "autograder"), skip=skip)
    shutil.copy2(path("grading.yml", root=root), os.path.join(dst, "grading.yml"))
    return rubric


def pyproject_dependencies(root=None):
    """The ``[project] dependencies`` of pyproject.toml (a list of requirement strings)."""
    with open(path("pyproject.toml", root=root), "rb") as f:
        data = f.read()
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the one list we need, read directly
        block = re.search(rb"^dependencies\s*=\s*\[(.*?)\]", data, re.S | re.M)
        if not block:
            raise BuildError("pyproject.toml: no [project] dependencies") from None
        return [s.decode() for s in re.findall(rb'"([^"]+)"', block.group(1))]
    return list(tomllib.loads(data.decode("utf-8"))["project"]["dependencies"])


def _name(requirement):
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].strip().lower()


def torch_requirements(root=None):
    """``torch==X`` and ``torchvision==Y`` as pinned in pyproject.toml."""
    reqs = [r for r in pyproject_dependencies(root) if _name(r) in ("torch", "torchvision")]
    if len(reqs) != 2:
        raise BuildError("pyproject.toml must list torch and torchvision")
    return reqs


def grader_requirements(root=None):
    """The grader's other dependencies (everything in pyproject.toml but torch/torchvision)."""
    return [r for r in pyproject_dependencies(root) if _name(r) not in ("torch", "torchvision")]


def torch_cpu_requirements_text(root=None):
    lines = ["# CPU-only torch and torchvision from PyTorch's wheel index: the default Linux",
             "# wheels bring several GB of CUDA libraries that this lab never uses.",
             "# Install them together (torchvision only works with its own torch build):",
             "#   pip install -r <this file>",
             f"--index-url {TORCH_CPU_INDEX}"]
    return "\n".join(lines + torch_requirements(root)) + "\n"


def grader_requirements_text(root=None):
    return ("# What the autograder needs besides torch and torchvision (from pyproject.toml).\n"
            + "\n".join(grader_requirements(root)) + "\n")


def rubric_table(rubric):
    """The rubric as a markdown table (id, points, visibility, title)."""
    rows = ["| check | points | visibility | what it verifies |", "|---|---:|---|---|"]
    for c in rubric:
        rows.append(f"| `{c.id}` | {c.points} | {c.visibility} | {c.title.replace('|', chr(92) + '|')} |")
    rows.append(f"| **total** | **{sum(c.points for c in rubric)}** | | |")
    return "\n".join(rows)


def write(file, text, mode=None):
    os.makedirs(os.path.dirname(file), exist_ok=True)
    with open(file, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    if mode is not None:
        os.chmod(file, mode)


def prepare_out(out):
    """Empty (or create) the output folder; refuses obviously wrong targets."""
    out = os.path.abspath(out)
    if out in (ROOT, os.path.dirname(ROOT), os.path.expanduser("~"), "/") or ROOT.startswith(out + os.sep):
        raise BuildError(f"refusing to replace {out}: give a new or disposable folder")
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    return out


def tree_size(folder):
    total = 0
    for dirpath, _, files in os.walk(folder):
        for name in files:
            total += os.path.getsize(os.path.join(dirpath, name))
    return total


def run_build(module, doc, build, done, argv=None, options=(), prog=None):
    """The command line every platform builder shares: ``--out DIR [OPTIONS] [--root DIR]``.

    ``module`` names the builder, ``prog`` the command (``python -m autograder build NAME``; default
    ``python -m module``, the old spelling), ``doc`` is the builder's docstring, whose first line describes it.
    ``build(args)`` makes the platform's files and returns what ``done`` (a
    function of that value) turns into the closing line.  ``options`` are
    extra ``(flags, argparse keyword arguments)``.  A BuildError is one line
    on stderr and exit status 2.
    """
    import argparse
    import sys

    doc = (doc or "").strip()
    p = argparse.ArgumentParser(prog=prog or f"python -m {module}", description=doc.splitlines()[0] if doc else None)
    p.add_argument("--out", required=True, help="the folder to write (replaced if it exists)")
    for flags, settings in options:
        p.add_argument(*flags, **settings)
    p.add_argument("--root", default=ROOT, help="the course repository (default: this one)")
    args = p.parse_args(argv)
    try:
        built = build(args)
    except BuildError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(done(built))
    return 0


def old_entry_point(module, main):
    """``python -m module`` (the old spelling of ``python -m autograder build NAME``): a notice, then ``main()``."""
    from autograder.tools import moved

    moved(module)
    return main()
