"""The release command (``python -m autograder release``, run by ``make release``).

assignment/ must be exactly what the command makes from solutions/, with no
solution text, hidden test or excluded file in it; the command must be
reproducible, fast, and must fail loudly when it cannot strip a solution.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import nbformat
import pytest

from support import ASSIGNMENT, ROOT, SOLUTIONS, offline_env

from release import build as release_build

pytestmark = pytest.mark.slow

NOTEBOOK = "lab6_vae.ipynb"
# Files a local run leaves in assignment/ (all git-ignored, never part of the release).
LOCAL_CRUFT = ("__pycache__", "*.pyc", ".pytest_cache", ".hypothesis", ".ipynb_checkpoints", ".data", "outputs")
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def run_release(*args, timeout=120):
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "autograder", "release", *map(str, args)], cwd=ROOT,
                          env=offline_env(), capture_output=True, text=True, timeout=timeout)
    return proc, time.perf_counter() - start


def tree_files(root, skip=()):
    """{relative path: bytes} of every file under root, skipping names matching ``skip``."""
    from fnmatch import fnmatch

    files = {}
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not any(fnmatch(d, g) for g in skip)]
        for name in names:
            if not any(fnmatch(name, g) for g in skip):
                path = os.path.join(folder, name)
                with open(path, "rb") as f:
                    files[os.path.relpath(path, root)] = f.read()
    return files


def assert_same_tree(actual, expected, what):
    missing, extra = sorted(set(expected) - set(actual)), sorted(set(actual) - set(expected))
    assert not missing and not extra, f"{what}: missing {missing}, unexpected {extra}"
    differ = sorted(p for p in expected if actual[p] != expected[p])
    assert not differ, f"{what}: these files differ: {differ}"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """One run of the release command into a temporary folder, keeping its course directory."""
    tmp = tmp_path_factory.mktemp("release")
    proc, seconds = run_release("--out", tmp / "assignment", "--course-dir", tmp / "course")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {"out": tmp / "assignment", "course": tmp / "course", "seconds": seconds, "proc": proc}


@pytest.fixture(scope="module")
def config():
    return release_build.load_config(ROOT / "nbgrader_config.py")


def test_the_command_succeeds_quietly_and_quickly(fresh):
    assert fresh["seconds"] < 30, f"the release took {fresh['seconds']:.1f} s (budget: 30 s)"
    assert "wrote" in fresh["proc"].stdout
    assert "Traceback" not in fresh["proc"].stderr, fresh["proc"].stderr
    course = fresh["course"]
    assert (course / "gradebook.db").exists(), "nbgrader's SQLite gradebook should be in the course directory"
    assert (course / "source" / "lab6" / NOTEBOOK).exists() and (course / "release" / "lab6" / NOTEBOOK).exists()
    assert (course / "nbgrader_config.py").read_bytes() == (ROOT / "nbgrader_config.py").read_bytes()


def test_assignment_is_exactly_what_the_release_command_makes(fresh):
    assert_same_tree(tree_files(ASSIGNMENT, skip=LOCAL_CRUFT), tree_files(fresh["out"]),
                     "assignment/ is out of date: run `make release` and commit assignment/")


def test_release_is_reproducible_and_leaves_out_excluded_files(fresh, tmp_path):
    """A second run, from a source with instructor-only files and local clutter added, gives the same bytes."""
    source = tmp_path / "solutions"
    shutil.copytree(SOLUTIONS, source, ignore=shutil.ignore_patterns(*LOCAL_CRUFT))
    planted = {
        "instructor_notes.md": "grading notes: never for students\n",
        "INSTRUCTOR.md": "answers\n",
        "hidden_tests/test_secret.py": "def test_secret():\n    assert True\n",
        "lab6_generative/vae.instructor.md": "how the reference solution was derived\n",
        "lab6_generative/__pycache__/vae.cpython-311.pyc": "bytecode",
        "lab6_generative/stale.pyc": "bytecode",
        ".data/FashionMNIST/raw/train-images-idx3-ubyte": "data",
        "outputs/samples.png": "png",
        ".ipynb_checkpoints/lab6_vae-checkpoint.ipynb": "{}",
        ".pytest_cache/README.md": "cache",
    }
    for relpath, text in planted.items():
        (source / relpath).parent.mkdir(parents=True, exist_ok=True)
        (source / relpath).write_text(text)
    out = tmp_path / "again"
    proc, _ = run_release("--source", source, "--out", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_same_tree(tree_files(out), tree_files(fresh["out"]),
                     "a second release (other time, other staging folder, excluded files added)")


def test_no_file_in_the_release_is_excluded_by_the_configuration(fresh, config):
    from nbgrader.utils import is_ignored

    globs = release_build.ignore_globs(config)
    assert {"hidden_tests", "instructor*", ".data", "__pycache__"} <= set(globs)
    for root in (fresh["out"], ASSIGNMENT):
        for relpath in tree_files(root, skip=LOCAL_CRUFT if root == ASSIGNMENT else ()):
            parts = relpath.split(os.sep)
            for depth in range(1, len(parts) + 1):
                path = os.path.join(str(root), *parts[:depth])
                assert not is_ignored(path, globs), f"{root.name}/{relpath} matches an excluded pattern"


def solution_regions(lines, begin="BEGIN SOLUTION", end="END SOLUTION"):
    """(inside, outside): the lines within begin/end markers (markers excluded) and the others."""
    inside, outside, within = [], [], False
    for line in lines:
        if begin in line:
            within = True
        elif end in line:
            within = False
        elif within:
            inside.append(line)
        else:
            outside.append(line)
    return inside, outside


def test_python_modules_keep_everything_but_the_solution_regions(fresh):
    stub = ["# YOUR CODE HERE", "raise NotImplementedError()"]
    regions = 0
    for path in sorted(SOLUTIONS.rglob("*.py")):
        if any(part in LOCAL_CRUFT for part in path.parts):
            continue
        relpath = path.relative_to(SOLUTIONS)
        source = path.read_text().split("\n")
        released = (fresh["out"] / relpath).read_text().split("\n")
        inside, outside = solution_regions(source)
        begins = [line for line in source if "BEGIN SOLUTION" in line]
        regions += len(begins)
        # Removing the stubs from the release must give back the source without its regions, line for line.
        kept, stubs, i = [], 0, 0
        while i < len(released):
            if [line.strip() for line in released[i:i + 2]] == stub:
                indent = re.match(r"\s*", released[i]).group(0)
                assert released[i + 1].startswith(indent), f"{relpath}: stub lines at different indentation"
                stubs, i = stubs + 1, i + 2
            else:
                kept.append(released[i])
                i += 1
        assert stubs == len(begins), f"{relpath}: {len(begins)} solution regions but {stubs} stubs"
        assert kept == outside, f"{relpath}: the release changed lines outside the solution regions"
        for line in inside:
            if line.strip():
                assert released.count(line) <= outside.count(line), f"{relpath}: solution line leaked: {line!r}"
    assert regions >= 3, "the three TODO functions should each have a solution region"
    vae = (fresh["out"] / "lab6_generative" / "vae.py").read_text()
    assert "def reparameterize(mu, logvar):" in vae and "Classic mistakes:" in vae
    assert "    # YOUR CODE HERE\n    raise NotImplementedError()" in vae


def test_no_solution_or_hidden_test_text_in_the_release(fresh):
    for root in (fresh["out"], ASSIGNMENT):
        for relpath, data in tree_files(root, skip=LOCAL_CRUFT).items():
            for marker in MARKERS:
                assert marker.encode() not in data, f"{root.name}/{relpath} contains {marker!r}"

    source = nbformat.read(SOLUTIONS / NOTEBOOK, as_version=4)
    released = nbformat.read(ASSIGNMENT / NOTEBOOK, as_version=4)
    released_text = "\n".join(cell.source for cell in released.cells).split("\n")
    source_outside = []
    secret = []
    for cell in source.cells:
        meta = cell.metadata.get("nbgrader", {})
        lines = cell.source.split("\n")
        hidden, lines = solution_regions(lines, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
        inside, outside = solution_regions(lines)
        if meta.get("solution") and not inside:  # a whole-cell solution (the written answers)
            inside, outside = lines, []
        secret += hidden + inside
        source_outside += outside
    assert len(secret) > 50, "the notebook should have hidden tests and model answers"
    for line in secret:
        if len(line.strip()) > 3:
            assert released_text.count(line) <= source_outside.count(line), f"leaked into the release: {line!r}"


def test_release_notebook_is_an_nbgrader_student_version(fresh):
    source = nbformat.read(SOLUTIONS / NOTEBOOK, as_version=4)
    released = nbformat.read(fresh["out"] / NOTEBOOK, as_version=4)
    assert [c.id for c in released.cells] == [c.id for c in source.cells]
    for src, rel in zip(source.cells, released.cells):
        meta = src.metadata.get("nbgrader")
        if rel.cell_type == "code":
            assert rel.outputs == [] and rel.execution_count is None, f"cell {rel.id}: outputs not cleared"
        if not meta:
            assert rel.source == src.source, f"cell {rel.id} is not an nbgrader cell and must be unchanged"
            continue
        rel_meta = rel.metadata.nbgrader
        assert rel_meta.get("checksum"), f"cell {rel.id}: nbgrader records a checksum for its cells"
        if meta.get("solution") and rel.cell_type == "markdown":
            assert rel.source == "YOUR ANSWER HERE"
        if meta.get("grade") and not meta.get("solution"):
            assert rel.metadata.get("editable") is False and rel.metadata.get("deletable") is False, (
                f"grade cell {rel.id} must be locked")
            assert "BEGIN HIDDEN TESTS" in src.source, f"test cell {rel.id} should have hidden tests"
            public = solution_regions(src.source.split("\n"), "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")[1]
            assert rel.source == "\n".join(public)


def test_exclude_overwriting_covers_exactly_the_files_students_edit(config):
    student_files = sorted(str(p.relative_to(SOLUTIONS)) for p in SOLUTIONS.rglob("*.py")
                           if "BEGIN SOLUTION" in p.read_text() and "__pycache__" not in p.parts)
    assert student_files == ["lab6_generative/schedules.py", "lab6_generative/vae.py"]
    assert sorted(config.Autograde.exclude_overwriting[release_build.ASSIGNMENT]) == student_files


def test_public_tests_fail_cleanly_on_the_release(fresh, tmp_path):
    """Every public test runs and fails (no collection error, no pass) on the fresh release."""
    tree = tmp_path / "student"
    shutil.copytree(fresh["out"], tree)
    report = tmp_path / "report.xml"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", f"--junitxml={report}"], cwd=tree,
                          env=offline_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, f"pytest should report test failures (exit 1):\n{proc.stdout[-2000:]}"
    cases = list(ET.parse(report).getroot().iter("testcase"))
    outcomes = {case.get("name"): [child.tag for child in case] for case in cases}
    assert len(outcomes) >= 20, f"expected the public tests, found {sorted(outcomes)}"
    not_failed = {name: tags for name, tags in outcomes.items() if "failure" not in tags}
    assert not not_failed, f"these tests did not fail on the stubs: {not_failed}"
    assert "NotImplementedError" in proc.stdout


BROKEN_SOURCES = {
    "unterminated solution region in a module": (
        {"lab6_generative/broken.py": "def f():\n    ### BEGIN SOLUTION\n    return 1\n"},
        ["broken.py", "no end solution statement"]),
    "nested solution regions in a module": (
        {"lab6_generative/broken.py": "def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n"
                                      "    return 1\n    ### END SOLUTION\n"},
        ["broken.py", "nested"]),
    "a solution marker in a file nbgrader copies as it is": (
        {"notes.md": "### BEGIN SOLUTION\nthe answer\n### END SOLUTION\n"},
        ["notes.md", "BEGIN SOLUTION"]),
    "a solution region in a notebook cell that is not a solution cell": (
        {"extra_code_cell": "x = 1\n### BEGIN SOLUTION\nx = 2\n### END SOLUTION\n"},
        ["generate_assignment failed"]),
}


@pytest.mark.parametrize("case", sorted(BROKEN_SOURCES))
def test_a_solution_that_cannot_be_stripped_fails_the_command(tmp_path, case, capsys):
    files, expected = BROKEN_SOURCES[case]
    source = tmp_path / "src"
    (source / "lab6_generative").mkdir(parents=True)
    (source / "lab6_generative" / "__init__.py").write_text('"""A tiny lab."""\n')
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# A tiny lab", id="intro")]
    for relpath, text in files.items():
        if relpath == "extra_code_cell":
            nb.cells.append(nbformat.v4.new_code_cell(text, id="plain"))
        else:
            (source / relpath).parent.mkdir(parents=True, exist_ok=True)
            (source / relpath).write_text(text)
    nbformat.write(nb, source / "tiny.ipynb")
    out = tmp_path / "out"
    out.mkdir()
    (out / "previous_release.txt").write_text("still here")

    code = release_build.main(["--source", str(source), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1, f"the command must fail (exit 1), got {code}: {err}"
    for text in expected:
        assert text in err, f"the error should mention {text!r}: {err}"
    assert sorted(os.listdir(out)) == ["previous_release.txt"], "a failed release must leave --out as it was"


def test_the_release_of_a_clean_tiny_source_works_in_process(tmp_path):
    """The control for the failure cases above: the same tiny source without the mistake builds."""
    source = tmp_path / "src"
    (source / "lab6_generative").mkdir(parents=True)
    (source / "lab6_generative" / "ok.py").write_text(
        "def f():\n    \"\"\"Doc.\"\"\"\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n")
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# A tiny lab", id="intro")]
    nbformat.write(nb, source / "tiny.ipynb")
    assert release_build.main(["--source", str(source), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "lab6_generative" / "ok.py").read_text() == (
        "def f():\n    \"\"\"Doc.\"\"\"\n    # YOUR CODE HERE\n    raise NotImplementedError()\n")
    assert "".join(json.loads((tmp_path / "out" / "tiny.ipynb").read_text())["cells"][0]["source"]) == "# A tiny lab"



def test_a_new_gradebook_is_stamped_as_the_alembic_command_would_without_running_it(tmp_path, monkeypatch):
    """nbgrader stamps a new gradebook.db with its schema's head, which it asks of the `alembic heads`
    command; the release and `written` ask alembic in process instead: the same revision, no command."""
    import sqlite3

    import nbgrader.api
    from nbgrader.dbutil import _temp_alembic_ini

    monkeypatch.setattr(nbgrader.api, "get_alembic_version", nbgrader.api.get_alembic_version)
    bindir = os.path.dirname(sys.executable)
    with _temp_alembic_ini("sqlite:////tmp/gradebook.db") as ini:   # what nbgrader runs, run here
        said = subprocess.run([os.path.join(bindir, "alembic"), "-c", ini, "heads"], capture_output=True,
                              text=True, check=True, env=offline_env()).stdout
    release_build.gradebook_head_in_process()
    release_build.gradebook_head_in_process()   # idempotent: still one layer
    assert nbgrader.api.get_alembic_version() == said.split()[0]

    monkeypatch.setenv("PATH", str(tmp_path / "empty"))   # no alembic command to run
    db = tmp_path / "gradebook.db"
    with nbgrader.api.Gradebook(f"sqlite:///{db}") as book:
        book.add_assignment("lab6")
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [(said.split()[0],)]
