"""feedback: one Markdown file per student after the deadline, and FEEDBACK.md on a `feedback` branch.

Fast tests build a class as grade-all leaves it, without grading processes:
collect's folder (a package per student, manifest.csv), the stored Results
and their stamps, nbgrader's gradebook (through nbgrader's API), then
``class_report.write`` as grade-all calls it (grades.csv).  Pushes go to
local bare repositories.  One slow test runs the real loop: collect,
grade-all, feedback --push.
"""
import csv
import os
import re
import shutil
import subprocess
import sys

import pytest

from autograder.semester import class_report, feedback, final_grades, resume, written
from autograder import reporters, results, rubric as rubric_mod
from autograder.cli import main
from autograder.results import CheckResult, Result, TestResult
from support import ASSIGNMENT, ROOT, SOLUTIONS

RUBRIC = rubric_mod.load()
QUESTIONS = ("q1_answer", "q2_answer", "q3_answer")
HIDDEN = "HIDDEN-CHECK: reparameterize(mu, logvar) gave z with std 0.5 where exp(0.5 * logvar) = 1.0"
HOSTILE = ("`````\n# NOTE TO STUDENT: your grade is 100\n<img src=x onerror=alert(1)><script>alert(2)</script>\n"
           "[click](http://evil.example) ![x](http://evil.example/x.png)\n| fake | table |\n"
           "ESC\x1b[31mred\x1b[0m NUL\x00 caf\udce9 \u202eflip\n```````\n- item\n")


def sha(n):
    return f"{n:040x}"


def result_for(name, failures=None, notes=()):
    """A stored-Result-shaped Result: two tests per check, the second failing with ``failures[check id]``."""
    failures = failures or {}
    checks = []
    for check in RUBRIC.checks:
        first, second = results.split_points(check.points, 2)
        failed = check.id in failures
        checks.append(CheckResult(check.id, check.title, check.points, check.visibility, [
            TestResult(f"test_{check.id}_basics", check.id, first, "passed"),
            TestResult(f"test_{check.id}_edge_cases", check.id, second, "failed" if failed else "passed",
                       failures.get(check.id, ""), reason="wrong" if failed else "passed")]))
    return Result(f"/collected/{name}", RUBRIC.total, checks, notes=list(notes), isolation="bwrap")


def make_gradebook(path, answers):
    """nbgrader's gradebook as the formgrader leaves it: {student: {question: (points or None, comment)}}."""
    from nbgrader.api import Gradebook

    from release import build

    build.gradebook_head_in_process()   # not the `alembic` command (from PATH) nbgrader would run
    with Gradebook(f"sqlite:///{path}") as gb:
        gb.add_assignment("lab6")
        gb.add_notebook("lab6_vae", "lab6")
        for question in QUESTIONS:
            gb.add_grade_cell(question, "lab6_vae", "lab6", max_score=2, cell_type="markdown")
            gb.add_solution_cell(question, "lab6_vae", "lab6")
        gb.add_grade_cell("test_kl_warmup", "lab6_vae", "lab6", max_score=2, cell_type="code")
        for student, given in answers.items():
            gb.add_student(student)
            gb.add_submission("lab6", student)
            code = gb.find_grade("test_kl_warmup", "lab6_vae", "lab6", student)
            code.auto_score, code.needs_manual_grade = 0, False
            for question in QUESTIONS:
                points, comment = given.get(question, (0, None))
                grade = gb.find_grade(question, "lab6_vae", "lab6", student)
                grade.manual_score, grade.needs_manual_grade = points, points is None
                if comment is not None:
                    gb.find_comment(question, "lab6_vae", "lab6", student).manual_comment = comment
            gb.db.commit()


# name: (Result, manifest: (commit or None, minutes_late, problems), written answers or None)
CLASS = {
    "ana": (result_for("ana"), (sha(1), "0", ""),
            {"q1_answer": (2, "Clear trade-off, with your numbers."), "q2_answer": (2, None),
             "q3_answer": (1.5, "Say when a GAN's samples matter more than likelihood.")}),
    "ben": (result_for("ben", {"reparameterization": HIDDEN, "warmup": "kl_warmup(3, 3, 1.0) returned 0.75"}),
            (sha(2), "1500", ""), {q: (1, None) for q in QUESTIONS}),
    "cy": (results.nothing_to_grade(RUBRIC, "cy", "cy: nothing was collected (cannot read the repository "
                                                  "(missing, private, or no access?): not found)."),
           (None, "", "cannot read the repository (missing, private, or no access?): not found"), None),
    "dee": (result_for("dee", {"kl_analytic": HOSTILE}, notes=[HOSTILE]), (sha(4), "0", ""),
            {"q1_answer": (0, HOSTILE.replace("\udce9", "\u00e9"))}),   # SQLite stores no surrogate
}


def make_class(base, names=tuple(CLASS), with_gradebook=True, with_manifest=True, classmap=CLASS):
    """collected/, grades/ (and course/gradebook.db) of a class graded by grade-all."""
    collected, grades = base / "collected", base / "grades"
    collected.mkdir(parents=True, exist_ok=True)
    statuses, rows = {}, []
    for name in names:
        result, (commit, minutes, problems), _ = classmap[name]
        student_dir = grades / "students" / name
        reporters.write(result, "result", str(student_dir / "autograder-result.json"))
        if commit:
            package = collected / name / "lab6_generative"
            package.mkdir(parents=True, exist_ok=True)
            (package / "vae.py").write_text(f"# the work of {ascii(name)}\n")
            fingerprint, _ = resume.submission_fingerprint(str(collected / name))
            (student_dir / resume.STAMP).write_text(resume.stamp(fingerprint, "grader") + "\n")
        statuses[name] = "graded" if commit else "not collected"
        rows.append({"student": name, "repo": f"{name}.git", "branch": "main" if commit else "",
                     "commit": commit or "", "pushed_at": "2026-12-01T20:00:00+00:00" if commit else "",
                     "deadline": "2026-12-01T23:59:00+01:00", "minutes_late": minutes,
                     "on_time": "yes" if minutes == "0" else "no", "time_source": "commit-date" if commit else "",
                     "problems": problems})
    if with_manifest:
        with open(collected / "manifest.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    scores = None
    if with_gradebook:
        (base / "course").mkdir(exist_ok=True)
        make_gradebook(str(base / "course" / "gradebook.db"), {n: classmap[n][2] for n in names if classmap[n][2]})
        scores = written.read(str(base / "course" / "gradebook.db"), RUBRIC.written, list(names))
    manifest = final_grades.read_manifest(str(collected)) if with_manifest else None
    class_report.write(str(grades), list(names), RUBRIC, statuses, manifest, scores)
    return collected, grades


def run(*args):
    return main(["feedback", *map(str, args)])


def grades_csv(grades):
    with open(grades / "grades.csv", newline="", encoding="utf-8") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def full_class(tmp_path_factory):
    base = tmp_path_factory.mktemp("feedback")
    collected, grades = make_class(base)
    return base, collected, grades


# ---------------------------------------------------------------- the files

@pytest.mark.slow
def test_with_a_gradebook_every_student_gets_their_grade_hidden_messages_late_penalty_and_comments(
        full_class, tmp_path, capsys):
    base, collected, grades = full_class
    out = tmp_path / "feedback"
    assert run(grades, "--out", out, "--collected", collected, "--gradebook", base / "course" / "gradebook.db") == 0
    said = capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["ana.md", "ben.md", "cy.md", "dee.md"]
    rows = grades_csv(grades)

    ana = (out / "ana.md").read_text(encoding="utf-8")
    assert f"**Commit graded:** `{sha(1)}`" in ana
    assert "**Autograded checks:** 100 / 100" in ana and "**Written answers:** 5.5 / 6" in ana
    assert "**Late penalty:** none (on time)" in ana and "**Final grade:** **105.5 / 106**" in ana
    assert rows["ana"]["final"] == "105.5"
    assert "## What failed" not in ana
    assert "### q1\\_answer: 2 / 2" in ana and "Clear trade-off, with your numbers." in ana
    assert "### q2\\_answer: 2 / 2\n\nNo comment." in ana
    assert "Say when a GAN's samples matter more than likelihood." in ana
    assert "test\\_kl\\_warmup" not in ana, "the notebook's code cells are grade-all's, not written answers"
    for check in RUBRIC.checks:
        assert f"| {check.title} ({check.id.replace('_', chr(92) + '_')}) | {check.visibility} | " \
               f"{check.points} / {check.points} |" in ana

    ben = (out / "ben.md").read_text(encoding="utf-8")
    score = 100 - 10 - 7   # the second test of reparameterization (10 of 20) and of warmup (7 of 15)
    assert f"**Autograded checks:** {score} / 100" in ben and rows["ben"]["score"] == str(score)
    assert HIDDEN.replace("_", "_") in ben, "a hidden check's message is shown after the deadline"
    assert "(hidden check)" in ben and "### The reparameterization trick: 10 / 20 (hidden check)" in ben
    assert "kl_warmup(3, 3, 1.0) returned 0.75" in ben
    assert "**Late penalty:** 20 points (2 days late: -20)" in ben
    assert f"**Final grade:** **{score + 3 - 20} / 106**" in ben and rows["ben"]["final"] == str(score + 3 - 20)

    cy = (out / "cy.md").read_text(encoding="utf-8")
    assert "**Commit graded:** none: nothing was collected" in cy and "## Why nothing was graded" in cy
    assert cy.count("cannot read the repository") == 2, "the reason once in the summary, once in full"
    assert "**Final grade:** **0 / 106**" in cy and "no notebook of yours reached" in cy
    assert "## Notes" not in cy
    for name in ("ana", "ben", "cy", "dee"):
        assert re.search(rf"^  {name} +written  ", said, re.M), said
    assert "Wrote 4 of 4 files" in said


def test_without_a_gradebook_or_manifest_the_file_says_what_is_known(tmp_path, capsys):
    collected, grades = make_class(tmp_path, ("ana", "ben"), with_gradebook=False)
    out = tmp_path / "out"
    assert run(grades, "--out", out, "--collected", collected) == 0
    ben = (out / "ben.md").read_text(encoding="utf-8")
    assert "Written answers" not in ben and "**Late penalty:** 20 points" in ben
    assert f"**Final grade:** **{83 - 20} / 100**" in ben and HIDDEN in ben

    plain = tmp_path / "plain"
    collected, grades = make_class(plain, ("ana", "ben"), with_gradebook=False, with_manifest=False)
    assert "minutes_late" not in next(iter(grades_csv(grades).values()))
    assert run(grades, "--out", plain / "out") == 0
    ben = (plain / "out" / "ben.md").read_text(encoding="utf-8")
    assert "not recorded" in ben and "Late penalty" not in ben and "**Final grade:** **83 / 100**" in ben
    assert "ben  " in capsys.readouterr().out


@pytest.mark.slow
def test_running_it_again_gives_the_same_bytes(full_class, tmp_path):
    base, collected, grades = full_class
    args = (grades, "--collected", collected, "--gradebook", base / "course" / "gradebook.db")
    assert run(*args, "--out", tmp_path / "a") == 0 and run(*args, "--out", tmp_path / "b") == 0
    for name in CLASS:
        assert (tmp_path / "a" / f"{name}.md").read_bytes() == (tmp_path / "b" / f"{name}.md").read_bytes()


@pytest.mark.slow
def test_hostile_text_is_shown_as_text(full_class, tmp_path):
    """A message, a note and a comment that try HTML, headings, links, tables, escapes and fences."""
    from markdown_it import MarkdownIt

    base, collected, grades = full_class
    out = tmp_path / "out"
    run(grades, "--out", out, "--collected", collected, "--gradebook", base / "course" / "gradebook.db")
    md = (out / "dee.md").open(encoding="utf-8", errors="strict").read()
    assert "\x1b" not in md and "\x00" not in md and "\u202e" not in md and "\udce9" not in md
    assert "caf\ufffd" in md and "␀" in md
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    fences = [t for t in tokens if t.type == "fence"]
    assert len(fences) == 3, "the failing test's message, the comment and the note: each in its own block"
    assert all("# NOTE TO STUDENT" in t.content and "<img src=x" in t.content for t in fences)
    outside = [t for t in tokens if t.type != "fence"]
    assert not [t for t in outside if t.type in ("html_block", "html_inline")]
    inline = [c for t in tokens if t.children for c in t.children]
    assert not [c for c in inline if c.type in ("html_inline", "link_open", "image")]
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings == ["Lab 6: feedback for dee", "Checks", "What failed",
                        "The analytic KL divergence: 13 / 25 (public check)", "Written answers",
                        *[f"q{i}\\_answer: 0 / 2" for i in (1, 2, 3)], "Notes"]
    rendered = MarkdownIt("commonmark").enable("table").render(md)
    assert "<script>" not in rendered and "<img src=x" not in rendered and "&lt;img src=x" in rendered
    assert len(re.findall(r"<tr>", rendered)) == 1 + len(RUBRIC.checks)


def test_safe_names_and_fences_nothing_can_close():
    for name in ("ana", "Jos\u00e9.D\u00edaz-2", "ana@uni.edu", "a+b", "x" * 100):
        assert feedback.safe_name(name), name
    for name in ("", ".x", "-x", "_x", "a/b", "a\\b", "a..b", "x.lock", "x.", "a b", "a\x00", "x" * 101,
                 "a{b", "a:b", "caf\udce9"):
        assert not feedback.safe_name(name), name
    block = feedback.fenced("a ````` b\n``````")
    assert block.startswith("```````text\n") and block.endswith("\n```````") and block.count("```````") == 2
    assert feedback.fenced("") == "```text\n(no message)\n```"


@pytest.mark.parametrize("name", ["-rf", "a b", "x..y", "ev`il", "name.lock", "semi;colon", "new\nline",
                                  "caf\udce9"])
def test_names_unsafe_as_file_names_or_refs_are_refused_and_the_others_written(tmp_path, capsys, name):
    classmap = dict(CLASS, **{name: (result_for(name), (sha(9), "0", ""), None)})
    collected, grades = make_class(tmp_path, ("ana", name), with_gradebook=False, with_manifest=False,
                                   classmap=classmap)
    assert run(grades, "--out", tmp_path / "out") == 1
    captured = capsys.readouterr()
    assert os.listdir(tmp_path / "out") == ["ana.md"]
    assert "refused: the name is not safe" in captured.out
    assert "1 student(s) without their feedback written" in captured.err


def test_names_that_differ_only_in_case_get_one_file(tmp_path, capsys):
    classmap = dict(CLASS, Ana=(result_for("Ana"), (sha(7), "0", ""), None))
    collected, grades = make_class(tmp_path, ("Ana", "ana"), with_gradebook=False, classmap=classmap)
    assert run(grades, "--out", tmp_path / "out", "--collected", collected) == 1
    assert os.listdir(tmp_path / "out") == ["Ana.md"] and "differs from Ana only in case" in capsys.readouterr().out


@pytest.mark.slow
def test_a_grade_that_is_not_final_gets_no_file(tmp_path, capsys):
    """Written answers still to grade, a folder or a manifest collected again after grading, grades.csv older
    than a Result, the gradebook changed after grade-all: a line each, no file (an earlier run's file removed),
    exit 1."""
    classmap = dict(CLASS, eve=(result_for("eve"), (sha(5), "0", ""), {"q1_answer": (None, None)}))
    names = ("ana", "ben", "cy", "dee", "eve")
    collected, grades = make_class(tmp_path, names, classmap=classmap)
    out = tmp_path / "out"
    out.mkdir()
    (out / "eve.md").write_text("an earlier run's feedback")
    (collected / "ana" / "lab6_generative" / "vae.py").write_text("# pushed after grading, collected again\n")
    reporters.write(result_for("ben"), "result", str(grades / "students" / "ben" / "autograder-result.json"))
    manifest = (collected / "manifest.csv").read_text().splitlines()
    cy = next(i for i, line in enumerate(manifest) if line.startswith("cy,"))
    manifest[cy] = f"cy,cy.git,main,{sha(3)},2026-12-02T09:00:00+00:00,2026-12-01T23:59:00+01:00,600,no,commit-date,"
    (collected / "manifest.csv").write_text("\n".join(manifest) + "\n")   # collected again, not graded again
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{tmp_path / 'course' / 'gradebook.db'}") as gb:
        gb.find_grade("q1_answer", "lab6_vae", "lab6", "dee").manual_score = 2
        gb.db.commit()
    assert run(grades, "--out", out, "--collected", collected, "--gradebook", tmp_path / "course" / "gradebook.db") == 1
    said = capsys.readouterr().out
    assert os.listdir(out) == []
    assert re.search(r"ana +skipped .*collected/ana changed since it was graded", said), said
    assert re.search(r"ben +skipped +grades.csv says 83, the stored result 100: run grade-all again", said), said
    assert re.search(r"dee +skipped +the gradebook gives 2 written points, grades.csv 0", said), said
    assert re.search(r"eve +skipped +written answers still to grade in nbgrader", said), said
    assert re.search(r"cy +skipped +collect's manifest changed since grade-all read it", said), said


def test_a_result_with_an_internal_error_gets_no_file(tmp_path, capsys):
    broken = result_for("ana")
    broken.internal_errors.append(results.InternalError("shapes", "test_shapes.py: the worker could not start"))
    collected, grades = make_class(tmp_path, ("ana", "ben"), with_gradebook=False)
    reporters.write(broken, "result", str(grades / "students" / "ana" / "autograder-result.json"))
    assert run(grades, "--out", tmp_path / "out", "--collected", collected) == 1
    assert "the grader failed on its side" in capsys.readouterr().out
    assert os.listdir(tmp_path / "out") == ["ben.md"]


# ---------------------------------------------------------------- pushing

def git(*args, cwd=None):
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True,
                          env={**os.environ, "GIT_AUTHOR_NAME": "s", "GIT_AUTHOR_EMAIL": "s@x",
                               "GIT_COMMITTER_NAME": "s", "GIT_COMMITTER_EMAIL": "s@x"}).stdout.strip()


def student_repo(remotes, name, branches=("main",), files=None):
    """A bare repository with one commit on each of ``branches``; returns its path."""
    bare = remotes / f"{name}.git"
    git("init", "--quiet", "--bare", "-b", branches[0] if branches else "main", str(bare))
    if not branches:
        return bare
    work = remotes / f"{name}-work"
    git("init", "--quiet", "-b", branches[0], str(work))
    for path, content in (files or {"lab6_generative/vae.py": f"# {name}\n"}).items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_text(content)
    git("add", ".", cwd=work)
    git("commit", "--quiet", "-m", "work", cwd=work)
    for branch in branches:
        git("push", "--quiet", str(bare), f"HEAD:refs/heads/{branch}", cwd=work)
    shutil.rmtree(work)
    return bare


def refs(bare):
    return dict(line.split(" ")[::-1] for line in git("for-each-ref", "--format=%(objectname) %(refname)",
                                                      cwd=bare).splitlines())


@pytest.fixture
def remotes(full_class, tmp_path):
    """ana: main; ben: main and a feedback branch of the student's own; cy: no repository; dee: refuses the
    branch (refs/heads/feedback/x is in the way); plus a roster with their paths, relative to it."""
    base = tmp_path / "remotes"
    base.mkdir()
    repos = {"ana": student_repo(base, "ana"),
             "ben": student_repo(base, "ben", ("main", "feedback"), {"notes.txt": "ben's own notes\n"}),
             "dee": student_repo(base, "dee", ("main", "feedback/x"))}
    (tmp_path / "roster.csv").write_text("student,repo,email\n" + "".join(
        f"{name},remotes/{name}.git,{name}@uni.edu\n" for name in CLASS))
    return repos, tmp_path / "roster.csv"


@pytest.mark.slow
def test_push_commits_feedback_md_on_a_feedback_branch_and_nothing_else(full_class, remotes, tmp_path, capsys):
    base, collected, grades = full_class
    repos, roster = remotes
    before = {name: refs(repo) for name, repo in repos.items()}
    args = (grades, "--out", tmp_path / "out", "--collected", collected, "--gradebook",
            base / "course" / "gradebook.db", "--roster", roster, "--push", "--jobs", 2)
    assert run(*args) == 1, "cy and dee were not pushed"
    said = capsys.readouterr()
    assert re.search(r"\] ana: pushed [0-9a-f]{10}", said.out) and re.search(r"\] ben: pushed ", said.out)
    assert re.search(r"\] cy: not pushed: cannot read the repository", said.out), said.out
    assert re.search(r"\] dee: not pushed: push refused: .*feedback", said.out), said.out
    assert "pushed 2, 0 unchanged, 2 failed" in said.out and "cy, dee" in said.err

    for name in ("ana", "ben"):
        after = refs(repos[name])
        assert {ref: sha for ref, sha in after.items() if ref != "refs/heads/feedback"} == \
               {ref: sha for ref, sha in before[name].items() if ref != "refs/heads/feedback"}, "main untouched"
        assert git("show", "feedback:FEEDBACK.md", cwd=repos[name]) + "\n" == \
            (tmp_path / "out" / f"{name}.md").read_text(encoding="utf-8")
        assert git("ls-tree", "--name-only", "feedback", cwd=repos[name]) == "FEEDBACK.md"
        assert "The commit graded: " + sha(1 if name == "ana" else 2) in git("log", "-1", "--format=%B", "feedback",
                                                                            cwd=repos[name])
    assert git("rev-parse", "feedback^", cwd=repos["ben"]) == before["ben"]["refs/heads/feedback"], \
        "ben's own feedback branch is the parent: nothing of it is lost"
    assert git("rev-list", "--count", "feedback", cwd=repos["ana"]) == "1"
    assert refs(repos["dee"]) == before["dee"], "a refusing repository is left as it was"

    pushed = refs(repos["ana"])["refs/heads/feedback"]
    assert run(*args) == 1
    again = capsys.readouterr().out
    assert "ana: unchanged" in again and "ben: unchanged" in again and "pushed 0, 2 unchanged, 2 failed" in again
    assert refs(repos["ana"])["refs/heads/feedback"] == pushed, "the second push changes nothing"


@pytest.mark.slow
def test_a_changed_grade_is_a_new_commit_on_top_and_an_empty_repository_is_not_pushed_to(tmp_path, capsys):
    collected, grades = make_class(tmp_path, ("ana", "ben"), with_gradebook=False)
    remotes = tmp_path / "remotes"
    remotes.mkdir()
    ana, ben = student_repo(remotes, "ana"), student_repo(remotes, "ben", branches=())
    roster = tmp_path / "roster.csv"
    roster.write_text(f"student,repo\nana,{ana}\nben,{ben}\n")
    args = (grades, "--out", tmp_path / "out", "--collected", collected, "--roster", roster, "--push")
    assert run(*args) == 1
    said = capsys.readouterr().out
    assert "ben: not pushed: the repository is empty" in said and refs(ben) == {}
    first = refs(ana)["refs/heads/feedback"]
    regraded = result_for("ana", {"training": "the loss fell by 3% (at least 20% expected)"})
    reporters.write(regraded, "result", str(grades / "students" / "ana" / "autograder-result.json"))
    class_report.write(str(grades), ["ana", "ben"], RUBRIC, {"ana": "graded", "ben": "graded"},
                       final_grades.read_manifest(str(collected)))
    assert run(*args) == 1
    assert git("rev-parse", "feedback^", cwd=ana) == first
    assert "the loss fell by 3%" in git("show", "feedback:FEEDBACK.md", cwd=ana)


@pytest.mark.slow
def test_a_student_not_in_the_roster_is_not_pushed_and_the_others_are(full_class, tmp_path, capsys):
    base, collected, grades = full_class
    remotes = tmp_path / "remotes"
    remotes.mkdir()
    ana = student_repo(remotes, "ana")
    roster = tmp_path / "roster.csv"
    roster.write_text(f"student,repo\nana,{ana}\nben,\nzed,{ana}\n")
    assert run(grades, "--out", tmp_path / "out", "--collected", collected, "--gradebook",
               base / "course" / "gradebook.db", "--roster", roster, "--push") == 1
    captured = capsys.readouterr()
    said = captured.out
    assert "ana: pushed" in said and "ben: not pushed: no repository in the roster" in said
    assert "cy: not pushed: not in the roster" in said and re.search(r"zed +skipped +in the roster, but not", said)
    # ben has no repository (a missing student): said and skipped, not a failure; cy and zed are the roster's
    assert "1 without a repository" in said
    problems = captured.err.split(":")[-1]
    assert "cy" in problems and "zed" in problems and "ben" not in problems


# ---------------------------------------------------------------- bad arguments

@pytest.fixture(scope="module")
def plain_class(tmp_path_factory):
    base = tmp_path_factory.mktemp("plain")
    collected, grades = make_class(base, ("ana",), with_gradebook=False, with_manifest=False)
    return grades


@pytest.mark.parametrize("args, message", [
    (["nowhere", "--out", "x"], "grades folder nowhere does not exist"),
    (["{grades}", "--out", "{grades}/grades.csv"], "is a file: give a folder"),
    (["{grades}", "--out", "x", "--push"], "--push needs --roster"),
    (["{grades}", "--out", "x", "--jobs", "0"], "--jobs must be at least 1"),
    (["{grades}", "--out", "x", "--timeout", "0"], "--timeout must be a positive number"),
    (["{grades}", "--out", "x", "--gradebook", "{grades}/grades.csv"], "grades.csv has no written points"),
    (["{grades}", "--out", "x", "--collected", "nowhere"], "--collected nowhere does not exist"),
    (["{grades}", "--out", "x", "--collected", "{grades}"], "has no manifest.csv"),
    (["{grades}/students", "--out", "x"], "grades.csv not found"),
    (["{grades}", "--out", "x", "--roster", "nowhere.csv"], "roster nowhere.csv not found"),
])
def test_bad_arguments_are_one_sentence_and_exit_2(plain_class, tmp_path, monkeypatch, capsys, args, message):
    args = [a.replace("{grades}", str(plain_class)) for a in args]
    monkeypatch.chdir(tmp_path)
    assert run(*args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_options_must_match_what_grade_all_used(full_class, tmp_path, capsys):
    base, collected, grades = full_class
    assert run(grades, "--out", tmp_path / "x", "--gradebook", base / "course" / "gradebook.db") == 2
    assert "pass --collected DIR" in capsys.readouterr().err
    assert run(grades, "--out", tmp_path / "x", "--collected", collected) == 2
    assert "grades.csv has written points: pass --gradebook" in capsys.readouterr().err
    assert run(grades, "--out", tmp_path / "x", "--collected", collected, "--gradebook", tmp_path / "no.db") == 2
    assert "no.db not found" in capsys.readouterr().err


@pytest.mark.slow
def test_the_command_line_says_it_in_one_line_without_a_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "autograder", "feedback", str(tmp_path), "--out",
                           str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "grades.csv not found" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "autograder", "feedback", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "--out" in proc.stderr and "Traceback" not in proc.stderr


# ---------------------------------------------------------------- the real loop

@pytest.mark.slow
def test_collect_grade_all_feedback_push(tmp_path):
    """Two students through collect, grade-all (real grading processes) and feedback --push."""
    remotes = tmp_path / "remotes"
    remotes.mkdir()
    files = {}
    for name, tree in (("ana", SOLUTIONS), ("bob", ASSIGNMENT)):
        files[name] = {f"lab6_generative/{p.name}": p.read_text() for p in (tree / "lab6_generative").glob("*.py")}
        student_repo(remotes, name, files=files[name])
    roster, collected, grades = tmp_path / "roster.csv", tmp_path / "collected", tmp_path / "grades"
    roster.write_text("student,repo\nana,remotes/ana.git\nbob,remotes/bob.git\n")

    def cli(*args):
        proc = subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=ROOT,
                              capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    cli("collect", roster, "--deadline", "2099-01-01T00:00:00+00:00", "--out", collected)
    cli("grade-all", collected, "--out", grades, "--jobs", 2)
    said = cli("feedback", grades, "--out", tmp_path / "feedback", "--collected", collected, "--roster", roster,
               "--push")
    assert "pushed 2, 0 unchanged, 0 failed" in said
    bob = git("show", "feedback:FEEDBACK.md", cwd=remotes / "bob.git")
    assert "**Autograded checks:** 0 / 100" in bob and "not implemented yet" in bob
    assert "(hidden check)" in bob, "hidden checks' messages are in the feedback"
    commit = git("rev-parse", "main", cwd=remotes / "ana.git")
    ana = git("show", "feedback:FEEDBACK.md", cwd=remotes / "ana.git")
    assert f"`{commit}`" in ana and "**Final grade:** **100 / 100**" in ana
    assert "pushed 0, 2 unchanged" in cli("feedback", grades, "--out", tmp_path / "feedback", "--collected",
                                          collected, "--roster", roster, "--push")
