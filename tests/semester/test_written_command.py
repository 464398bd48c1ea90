"""`python -m autograder written COLLECTED --course COURSE`: the written answers into nbgrader, no student code run.

A small class is collected by hand: "ana" answered two questions (and has a
push time in collect's manifest), "bob" handed in the release untouched, "eve"
is hostile (code cells, test cells and vae.py that write marker files, an
``os.system`` call, answers full of HTML and script, an invented graded cell,
widget state in the notebook's metadata), and the rest are broken in one way
each (too large, not JSON, nbformat 3, no notebook, a link, a pipe, a name
that cannot be an nbgrader id, nothing collected).  The command runs as from
a fresh shell: no activated venv, no ``nbgrader`` on PATH.

Checked from outside: the exit status and one line per student; no marker
anywhere; the gradebook (nbgrader's API) has every good student with the
answers waiting for a grader; points given through the gradebook come back
through ``autograder.semester.written.read`` (grade-all --gradebook); the formgrader's
page of a hostile notebook has no script of the student's; nbgrader's own
autograde and validate in the course folder run nothing; the formgrader
starts from the venv as the command says and lists the students.
"""
import html.parser
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import nbformat
import pytest

from support import ASSIGNMENT, ROOT, SOLUTIONS

pytestmark = pytest.mark.slow

MANUAL = ("q1_answer", "q2_answer", "q3_answer")
TESTS = ("test_reparameterize", "test_kl_divergence", "test_kl_warmup")
MARKERS = ("MARKER_cell", "MARKER_system", "MARKER_vae", "MARKER_testcell")
GOOD = ("ana", "bob", "eve")
XSS = ('<script>alert("xss-script")</script> <img src=x onerror="alert(\'xss-img\')"> '
       '[click](javascript:alert("xss-link")) <a href="javascript:alert(\'xss-a\')">a</a>\n\n'
       '```\n</code></pre><script>alert("xss-fence")</script>\n```\n'
       '$<script>alert("xss-math")</script>$')


def fresh_shell_env(home):
    """What a new terminal has: system PATH, no activated venv, nothing of this test run."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}


def written(*args, cwd=ROOT, home=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "autograder", "written", *map(str, args)], cwd=cwd,
                          env=fresh_shell_env(home or cwd), capture_output=True, text=True, timeout=timeout)


def release_copy(folder):
    shutil.copytree(ASSIGNMENT, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return nbformat.read(folder / "lab6_vae.ipynb", as_version=4)


def answer(nb, answers):
    for cell in nb.cells:
        if cell.get("id") in answers:
            cell.source = answers[cell.id]


def hostile_student(folder, marker_dir):
    """A notebook and package that write markers if anything runs them, and answers full of HTML."""
    nb = release_copy(folder)
    touch = f"open({str(marker_dir / 'MARKER_cell')!r}, 'w').write('ran')\nopen('MARKER_cell', 'w').write('ran')"
    nb.cells.insert(1, nbformat.v4.new_code_cell(touch))
    nb.cells.insert(2, nbformat.v4.new_code_cell(f"import os; os.system('touch {marker_dir / 'MARKER_system'}')"))
    for cell in nb.cells:
        if cell.get("id") in TESTS:   # locked test cells: nbgrader restores them, and nothing may run them
            cell.source = f"open({str(marker_dir / 'MARKER_testcell')!r}, 'w').write('ran')"
    answer(nb, {"q3_answer": XSS})
    fake = nbformat.v4.new_markdown_cell("<script>alert('xss-fake')</script>")
    fake.metadata["nbgrader"] = {"grade": True, "solution": True, "locked": False, "points": 100, "task": False,
                                 "grade_id": "<script>alert('xss-id')</script>", "schema_version": 3}
    nb.cells.append(fake)
    raw = nbformat.v4.new_raw_cell("<script>alert('xss-raw')</script>")
    raw.metadata["raw_mimetype"] = "text/html"
    nb.cells.append(raw)
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {"m": {"model_name": "HTMLModel", "state": {"value": "<img src=x onerror=alert('xss-widget')>"}}},
        "version_major": 2, "version_minor": 0}}
    nbformat.write(nb, folder / "lab6_vae.ipynb")
    with open(folder / "lab6_generative" / "vae.py", "a") as f:
        f.write(f"\nopen({str(marker_dir / 'MARKER_vae')!r}, 'w').write('imported')\n")


@pytest.fixture(scope="module")
def semester(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("written")
    collected, markers = tmp / "collected", tmp / "markers"
    collected.mkdir()
    markers.mkdir()
    nb = release_copy(collected / "ana")
    answer(nb, {"q1_answer": "Higher beta: blurrier reconstructions, a more regular latent space.",
                "q2_answer": "Deepfakes; watermarking and consent."})
    nbformat.write(nb, collected / "ana" / "lab6_vae.ipynb")
    release_copy(collected / "bob")
    hostile_student(collected / "eve", markers)
    (collected / "big").mkdir()
    with open(collected / "big" / "lab6_vae.ipynb", "wb") as f:
        f.truncate(21 * 2**20)   # sparse: 21 MB by its size, refused before a byte is read
    (collected / "junk").mkdir()
    (collected / "junk" / "lab6_vae.ipynb").write_text("this is not JSON")
    (collected / "old").mkdir()
    (collected / "old" / "lab6_vae.ipynb").write_text(json.dumps({"nbformat": 3, "nbformat_minor": 0,
                                                                  "worksheets": [], "cells": []}))
    (collected / "empty").mkdir()
    (collected / "empty" / "README.md").write_text("nothing here")
    (collected / "linked").mkdir()
    os.symlink(SOLUTIONS / "lab6_vae.ipynb", collected / "linked" / "lab6_vae.ipynb")
    os.symlink(SOLUTIONS, collected / "dirlink")
    (collected / "pipe").mkdir()
    os.mkfifo(collected / "pipe" / "lab6_vae.ipynb")
    shutil.copytree(collected / "bob", collected / "x<img>")
    (collected / "manifest.csv").write_text(
        "student,repo,commit,pushed_at,on_time,minutes_late,time_source,problems\n"
        "ana,r1,abc,2026-12-01T22:00:00+00:00,yes,0,github push,\n"
        "bob,r2,def,2026-12-01T20:00:00+00:00,yes,0,github push,\n"
        "ghost,r3,,,,,,repository not found\n")
    course = tmp / "course"
    start = time.perf_counter()
    proc = written(collected, "--course", course, home=tmp)
    seconds = time.perf_counter() - start
    return {"tmp": tmp, "collected": collected, "course": course, "markers": markers, "proc": proc,
            "seconds": seconds}


def rows(stdout):
    """{student: (status, detail)} from the command's per-student lines."""
    out = {}
    for line in stdout.splitlines():
        if line.startswith("  ") and not line.startswith("   "):
            parts = line.split(None, 2)
            if len(parts) == 3 and parts[1] in ("added", "updated", "unchanged", "skipped"):
                out[parts[0]] = (parts[1], parts[2])
    return out


def gradebook(course):
    from nbgrader.api import Gradebook

    return Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="lab6-vae")


def grades(course, student):
    with gradebook(course) as gb:
        notebook = gb.find_submission_notebook("lab6_vae", "lab6", student)
        return {g.name: (g.auto_score, g.manual_score, g.needs_manual_grade) for g in notebook.grades}


def no_markers(*folders):
    found = []
    for folder in folders:
        for dirpath, _, files in os.walk(folder):
            found += [os.path.join(dirpath, n) for n in files if n.startswith("MARKER_")]
    return found


def test_every_student_is_in_the_gradebook_or_reported_and_the_output_says_what_next(semester):
    proc, course = semester["proc"], semester["course"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr and proc.stderr == "", proc.stderr
    got = rows(proc.stdout)
    assert got["ana"] == ("added", "2 answers to grade")
    assert got["bob"][0] == "added" and got["bob"][1].startswith("nothing to grade")  # unanswered: nbgrader's 0
    assert got["eve"] == ("added", "1 answer to grade")
    expected = {"big": "is 21.0 MB, over the limit of 20.0 MB", "junk": "is not a notebook: not JSON",
                "old": "is not an nbformat 4 notebook (nbformat: 3)", "empty": "no lab6_vae.ipynb in",
                "linked": "is a symbolic link: not followed", "dirlink": "dirlink is a symbolic link: not followed",
                "pipe": "is not a regular file", "ghost": "nothing collected (repository not found)",
                "x<img>": "cannot be an nbgrader student id"}
    for student, why in expected.items():
        status, detail = got[student]
        assert status == "skipped" and why in detail, (student, detail)
    assert "3 of 12 students in" in proc.stdout and "no student code was run" in proc.stdout
    # What to do next: the formgrader from the venv, without activating it; then grade-all --gradebook.
    assert f"cd {course} && {os.path.dirname(sys.executable)}/jupyter server --ServerApp.default_url=/formgrader" \
        in proc.stdout
    assert f"-m autograder grade-all {semester['collected']} --out grades --jobs 2 --gradebook {course}/gradebook.db" \
        in proc.stdout
    print(f"written, {len(got)} students (3 in the gradebook): {semester['seconds']:.1f} s")


def test_no_student_code_ran(semester):
    course = semester["course"]
    assert no_markers(semester["tmp"], ROOT) == []
    assert not os.listdir(semester["markers"])
    # Nothing of the student's package was copied: nothing in the course can import it.
    for step in ("submitted", "autograded"):
        assert not (course / step / "eve" / "lab6" / "lab6_generative" / "vae.py").exists()
    nb = nbformat.read(course / "autograded" / "eve" / "lab6" / "lab6_vae.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.get("execution_count") is None
            if cell.get("id") in TESTS:   # restored from the source, never run, and 0 points
                assert "MARKER" not in cell.source and "Not run here" in cell.outputs[0]["text"]
            else:
                assert cell.outputs == []
    for student in GOOD:
        result = grades(course, student)
        assert all(result[test][0] == 0 and not result[test][2] for test in TESTS), (student, result)


def test_the_answers_wait_in_the_gradebook_and_the_push_time_is_the_timestamp(semester):
    import datetime

    course = semester["course"]
    ana = grades(course, "ana")
    assert [ana[q] for q in MANUAL] == [(None, None, True), (None, None, True), (0, None, False)]
    assert [grades(course, "bob")[q] for q in MANUAL] == [(0, None, False)] * 3
    assert grades(course, "eve")["q3_answer"] == (None, None, True)
    with gradebook(course) as gb:
        assert sorted(s.student_id for s in gb.assignment_submissions("lab6")) == list(GOOD)
        assert gb.find_submission("lab6", "ana").timestamp == datetime.datetime(2026, 12, 1, 22, 0)
        assert gb.find_submission("lab6", "eve").timestamp is None   # no manifest row
        notebook = gb.find_submission_notebook("lab6_vae", "lab6", "eve")
        assert {g.name for g in notebook.grades} == set(TESTS + MANUAL)   # not the invented cell
    assert (course / "submitted" / "ana" / "lab6" / "timestamp.txt").read_text() == "2026-12-01 22:00:00+00:00\n"
    assert (course / "submitted" / "ana" / "lab6" / "lab6_vae.ipynb").read_bytes() == \
        (semester["collected"] / "ana" / "lab6_vae.ipynb").read_bytes()


class Tags(html.parser.HTMLParser):
    """Every start tag with its attributes, and the text inside <script> elements."""

    def __init__(self):
        super().__init__()
        self.tags, self.scripts, self._in_script = [], [], False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def student_markup(page):
    """What in a formgrader page could run a student's script: script bodies and attributes (on*, href, src)
    carrying a payload, javascript: URLs."""
    tags = Tags()
    tags.feed(page)
    found = [s for s in tags.scripts if "xss" in s]
    for tag, attrs in tags.tags:   # the template's own handlers (onclick=toggle_name...) name no payload
        for name, value in attrs.items():
            value = value or ""
            if "javascript:" in value.replace(" ", "").lower() or "xss" in value or "alert" in value:
                found.append(f"<{tag} {name}={value!r}>")
    return found


def formgrader_page(course, student):
    """The formgrader's page of ``student``'s notebook, rendered as its server renders it."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers
    from traitlets.config import Config

    config = Config()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    resources = {"assignment_id": "lab6", "notebook_id": "lab6_vae", "submission_id": "x", "index": 0, "total": 1,
                 "base_url": "", "student": student, "last_name": "", "first_name": "", "notebook_path": "p"}
    page, _ = HTMLExporter(config=config).from_filename(
        str(course / "autograded" / student / "lab6" / "lab6_vae.ipynb"), resources=resources)
    return page


def test_the_formgrader_shows_student_text_as_text(semester):
    course = semester["course"]
    page = formgrader_page(course, "eve")
    assert student_markup(page) == []
    assert '&lt;script&gt;alert("xss-script")&lt;/script&gt;' in page  # shown, escaped
    assert "xss-widget" not in page   # the notebook's widget state is gone
    assert nbformat.read(course / "autograded" / "ana" / "lab6" / "lab6_vae.ipynb", as_version=4).cells[0].source \
        .startswith("# Lab 6")   # the instructor's own markdown still renders as markdown


def test_unsanitized_student_markdown_would_run_in_the_formgrader(semester, tmp_path):
    """Why SafeForFormgrader exists: nbgrader's formgrade template renders markdown without sanitizing."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers
    from traitlets.config import Config

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(XSS)])
    config = Config()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    config.HTMLExporter.sanitize_html = True   # does not reach the formgrade template's markdown cells
    page, _ = HTMLExporter(config=config).from_notebook_node(nb, resources={
        "assignment_id": "a", "notebook_id": "n", "submission_id": "s", "index": 0, "total": 1, "base_url": "",
        "student": "s", "last_name": "", "first_name": "", "notebook_path": "p"})
    assert student_markup(page) != []


def test_points_given_in_the_gradebook_come_back_through_written_read(semester, tmp_path):
    """The formgrader's work (a manual score per answer), then grade-all --gradebook's reader."""
    from autograder.semester import written

    course = tmp_path / "course"
    shutil.copytree(semester["course"], course, symlinks=True)
    rubric_entry = written.Written(points=6, assignment="lab6")
    db = str(course / "gradebook.db")
    before = written.read(db, rubric_entry, ["ana", "bob", "eve", "big", "ghost"])
    assert before["ana"].status == "ungraded" and before["eve"].status == "ungraded"
    assert before["bob"] == written.WrittenScore(0.0, 6.0, "graded")
    assert before["big"].status == "missing" and before["ghost"].status == "missing"
    with gradebook(course) as gb:
        for student, grade_id, score in (("ana", "q1_answer", 2), ("ana", "q2_answer", 1.5),
                                         ("eve", "q3_answer", 0.5)):
            grade = gb.find_grade(grade_id, "lab6_vae", "lab6", student)
            grade.manual_score, grade.needs_manual_grade = score, False
        gb.db.commit()
    after = written.read(db, rubric_entry, ["ana", "bob", "eve"])
    assert after["ana"] == written.WrittenScore(3.5, 6.0, "graded")
    assert after["eve"] == written.WrittenScore(0.5, 6.0, "graded")
    assert after["bob"] == written.WrittenScore(0.0, 6.0, "graded")


def test_a_second_run_keeps_grades_and_takes_a_changed_notebook(semester, tmp_path):
    course, collected = tmp_path / "course", tmp_path / "collected"
    shutil.copytree(semester["course"], course, symlinks=True)
    collected.mkdir()
    for student in ("ana", "bob"):
        shutil.copytree(semester["collected"] / student, collected / student)
    shutil.copyfile(semester["collected"] / "manifest.csv", collected / "manifest.csv")
    with gradebook(course) as gb:
        grade = gb.find_grade("q1_answer", "lab6_vae", "lab6", "ana")
        grade.manual_score, grade.needs_manual_grade = 2, False
        gb.db.commit()
    proc = written(collected, "--course", course, home=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = rows(proc.stdout)
    assert got["ana"][0] == got["bob"][0] == "unchanged"
    assert got["ghost"][0] == "skipped"
    assert grades(course, "ana")["q1_answer"] == (None, 2, False)
    # ana hands in again (collect ran again): converted again, her points kept and flagged for review.
    nb = nbformat.read(collected / "ana" / "lab6_vae.ipynb", as_version=4)
    answer(nb, {"q3_answer": "A denoising autoencoder when I need no samples."})
    nbformat.write(nb, collected / "ana" / "lab6_vae.ipynb")
    proc = written(collected, "--course", course, home=tmp_path)
    got = rows(proc.stdout)
    assert proc.returncode == 0 and got["ana"][0] == "updated" and got["bob"][0] == "unchanged", proc.stdout
    ana = grades(course, "ana")
    assert ana["q1_answer"] == (None, 2, True) and ana["q3_answer"] == (None, None, True)


def test_nbgrader_autograde_and_validate_in_the_course_run_nothing(semester, tmp_path):
    """The formgrader's Autograde button and nbgrader's validate use the course's nbgrader_config.py."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.validator import Validator

    from release.build import load_config

    course = tmp_path / "course"
    shutil.copytree(semester["course"], course, symlinks=True)
    config = load_config(str(course / "nbgrader_config.py"))
    config.CourseDirectory.root = str(course)
    api = NbGraderAPI(CourseDirectory(config=config), config=config)
    result = api.autograde("lab6", "eve", force=True, create=True)
    assert result["success"], result.get("error", "") + result.get("log", "")
    assert no_markers(tmp_path, semester["tmp"], ROOT) == []
    nb = nbformat.read(course / "autograded" / "eve" / "lab6" / "lab6_vae.ipynb", as_version=4)
    assert all(c.outputs == [] or "Not run here" in c.outputs[0].get("text", "") for c in nb.cells
               if c.cell_type == "code")
    from jupyter_client.kernelspec import NoSuchKernel

    with pytest.raises(NoSuchKernel, match="never-runs-student-code"):
        Validator(config=config).validate(str(course / "autograded" / "eve" / "lab6" / "lab6_vae.ipynb"))
    assert no_markers(tmp_path, semester["tmp"], ROOT) == []


def test_in_process_no_kernel_is_started_and_no_cell_executed(tmp_path, monkeypatch):
    """The same command in this process, with every way nbgrader could run code made to fail loudly."""
    import jupyter_client.manager
    import nbclient.client
    import nbgrader.preprocessors.execute

    from autograder import cli

    def refuse(*args, **kwargs):
        raise AssertionError("a kernel or an execution was started")

    monkeypatch.setattr(jupyter_client.manager.KernelManager, "start_kernel", refuse)
    monkeypatch.setattr(jupyter_client.manager.AsyncKernelManager, "start_kernel", refuse)
    monkeypatch.setattr(nbclient.client.NotebookClient, "execute", refuse)
    monkeypatch.setattr(nbclient.client.NotebookClient, "async_execute", refuse)
    monkeypatch.setattr(nbgrader.preprocessors.execute.Execute, "preprocess", refuse)
    popen = subprocess.Popen.__init__
    started = []

    def spy(self, args, *a, **k):
        started.append(args)
        return popen(self, args, *a, **k)

    monkeypatch.setattr(subprocess.Popen, "__init__", spy)
    collected, markers = tmp_path / "collected", tmp_path / "markers"
    collected.mkdir()
    markers.mkdir()
    hostile_student(collected / "eve", markers)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["written", str(collected), "--course", str(tmp_path / "course")]) == 0
    assert not [args for args in started if "kernel" in str(args)], started
    assert no_markers(tmp_path) == [] and not os.listdir(markers)
    assert grades(tmp_path / "course", "eve")["q3_answer"] == (None, None, True)


def test_a_notebook_nbgrader_cannot_take_leaves_the_course_as_it_was(tmp_path, monkeypatch, capsys):
    from autograder.semester import written_prepare
    from autograder.semester.written_prepare import preprocessors

    collected = tmp_path / "collected"
    for student in ("ana", "bob"):
        release_copy(collected / student)
    course = tmp_path / "course"
    written_prepare.prepare(str(collected), str(course))
    original = preprocessors.CodeNotRunHere.preprocess

    def fails_for_bob(self, nb, resources):
        if resources["nbgrader"]["student"] == "bob":
            raise ValueError("a notebook nbgrader cannot take")
        return original(self, nb, resources)

    monkeypatch.setattr(preprocessors.CodeNotRunHere, "preprocess", fails_for_bob)
    (collected / "carl").mkdir()
    shutil.copytree(collected / "bob", collected / "carl", dirs_exist_ok=True)
    nb = nbformat.read(collected / "bob" / "lab6_vae.ipynb", as_version=4)
    answer(nb, {"q1_answer": "a new answer"})
    nbformat.write(nb, collected / "bob" / "lab6_vae.ipynb")
    before = (course / "submitted" / "bob" / "lab6" / "lab6_vae.ipynb").read_bytes()
    capsys.readouterr()
    got = {student: (status, detail) for student, status, detail in
           written_prepare.prepare(str(collected), str(course))}
    assert got["ana"][0] == "unchanged" and got["carl"][0] == "added"
    assert got["bob"][0] == "skipped" and "a notebook nbgrader cannot take" in got["bob"][1] \
        and "keeps the earlier one" in got["bob"][1]
    assert (course / "submitted" / "bob" / "lab6" / "lab6_vae.ipynb").read_bytes() == before
    assert (course / "autograded" / "bob" / "lab6" / "lab6_vae.ipynb").exists()
    assert grades(course, "bob")["q1_answer"] == (0, None, False)
    # A student new to the gradebook whose notebook nbgrader cannot take is not left in it half-entered.
    shutil.rmtree(collected / "carl")
    shutil.copytree(collected / "ana", collected / "bob2")
    monkeypatch.setattr(preprocessors.CodeNotRunHere, "preprocess",
                        lambda self, nb, resources: (_ for _ in ()).throw(ValueError("no")) if
                        resources["nbgrader"]["student"] == "bob2" else original(self, nb, resources))
    got = {student: status for student, status, _ in written_prepare.prepare(str(collected), str(course))}
    assert got["bob2"] == "skipped"
    assert not (course / "submitted" / "bob2").exists() and not (course / "autograded" / "bob2").exists()
    with gradebook(course) as gb:
        assert "bob2" not in {s.student_id for s in gb.assignment_submissions("lab6")}


@pytest.mark.parametrize("args, message", [
    (["{tmp}/nothing", "--course", "{tmp}/course"], "nothing is not a folder"),
    (["{tmp}/collected", "--course", "{tmp}/no/such/course"], "its parent folder"),
    (["{tmp}/collected", "--course", "{tmp}/collected/course"], "must not be inside"),
    (["{tmp}/collected", "--course", "{tmp}/file"], "is a file, not a folder"),
    (["{tmp}/collected", "--course", "{tmp}/course", "--source", "{tmp}"], "has no lab6_generative/"),
    (["{tmp}/collected", "--course", "{tmp}/course", "--max-notebook-mb", "0"], "must be more than 0"),
    (["{tmp}/collected"], "the following arguments are required: --course"),
    (["{tmp}/collected", "--course", "."], "a folder of its own"),
])
def test_bad_arguments_are_one_sentence(tmp_path, args, message):
    (tmp_path / "collected").mkdir()
    (tmp_path / "file").write_text("x")
    proc = written(*[a.format(tmp=tmp_path) for a in args], home=tmp_path, timeout=120)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr and proc.stdout == ""
    assert not (tmp_path / "course").exists()


def test_hostile_files_are_refused_without_reading_them(tmp_path):
    from release import submitted

    deep = tmp_path / "deep.ipynb"
    deep.write_text('{"nbformat": 4, "cells": ' + "[" * 100000 + "]" * 100000 + "}")
    with pytest.raises(submitted.NotebookProblem, match="not a notebook"):
        submitted.read_notebook(str(deep), 2**20 * 20)
    bad = tmp_path / "bad.ipynb"
    bad.write_bytes(b"\xff\xfe{}")
    with pytest.raises(submitted.NotebookProblem, match="not UTF-8"):
        submitted.read_notebook(str(bad), 100)
    invalid = tmp_path / "invalid.ipynb"
    invalid.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"x": 1}]}))
    with pytest.raises(submitted.NotebookProblem, match="is not a valid notebook"):
        submitted.read_notebook(str(invalid), 2**20)
    os.symlink("/dev/zero", tmp_path / "zero.ipynb")
    with pytest.raises(submitted.NotebookProblem, match="symbolic link"):
        submitted.read_notebook(str(tmp_path / "zero.ipynb"), 2**20)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_formgrader_starts_from_the_venv_as_printed_and_lists_the_students(semester):
    """`cd COURSE && .venv/bin/jupyter server --ServerApp.default_url=/formgrader`, from a fresh shell."""
    course, port, token = semester["course"], _free_port(), "written-test-token"
    command = [os.path.join(os.path.dirname(sys.executable), "jupyter"), "server",
               "--ServerApp.default_url=/formgrader", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
               "--ServerApp.port_retries=0",   # a port taken since _free_port: fail, never listen elsewhere
               f"--IdentityProvider.token={token}"] + (["--allow-root"] if os.geteuid() == 0 else [])
    env = fresh_shell_env(semester["tmp"])
    log = semester["tmp"] / "jupyter-server.log"   # a file, not a pipe: read on failure while it still runs
    with open(log, "wb") as output:
        server = subprocess.Popen(command, cwd=course, env=env, stdout=output, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def get(path):
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                         headers={"Authorization": f"token {token}"})
        with opener.open(request, timeout=30) as response:
            return response.status, response.read().decode()
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                status, listing = get("/formgrader/api/submitted_notebooks/lab6/lab6_vae")
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
                time.sleep(0.5)
        submissions = {entry["student"]: entry for entry in json.loads(listing)}
        assert status == 200 and sorted(submissions) == list(GOOD)
        assert submissions["ana"]["needs_manual_grade"] and not submissions["bob"]["needs_manual_grade"]
        assert submissions["eve"]["code_score"] == 0   # never credited unrun
        status, page = get(f"/formgrader/submissions/{submissions['eve']['id']}/")
        assert status == 200 and "q3_answer" in page and student_markup(page) == []
        status, page = get("/formgrader/gradebook/lab6/lab6_vae")
        assert status == 200
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    assert no_markers(semester["tmp"], ROOT) == []
