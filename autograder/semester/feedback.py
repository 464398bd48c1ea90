"""Feedback to every student after the deadline: ``python -m autograder feedback GRADES_DIR --out DIR``.

    python -m autograder feedback GRADES_DIR --out DIR [--collected DIR] [--gradebook FILE]
                                  [--roster CSV --push] [--jobs N] [--timeout S] [--rubric FILE]
    make feedback GRADES=grades OUT=feedback COLLECTED=collected [GRADEBOOK=...] [ROSTER=roster.csv PUSH=1]

Writes ``DIR/<student>.md`` for every student of ``grade-all``'s GRADES_DIR:
the commit graded, the final grade and its parts (the autograded checks, the
written answers, the late penalty), every check's points, every failing
test's message (the hidden checks' too: this is after the deadline), the
written answers' points and nbgrader's comments, and the notes of the stored
Result.  The numbers are ``grades.csv``'s, the grade the LMS gets; the
details come from what they were computed from, and must agree with them:

- ``GRADES_DIR/students/<name>/autograder-result.json``: the checks and messages
  (its score must be the ``score`` of grades.csv);
- ``--collected`` (collect's folder): ``manifest.csv``'s commit, push time and
  deadline; the student's folder must still hold what was graded
  (``source.sha256``), or the commit named would not be the one graded;
- ``--gradebook`` (nbgrader's gradebook.db): the points and comments of each
  written answer (their sum must be the ``written`` of grades.csv).

Required when grades.csv was made with them: ``--collected`` when it has late
columns, ``--gradebook`` when it has written columns (and only then).  A
student whose grade is not final (written answers still to grade, an internal
error of the grader, a stored Result newer than grades.csv, a folder changed
since grading) gets no file: a line says why, the others go on, exit status 1.

``--push`` (with ``--roster``, the roster given to collect: its ``repo`` column
is the clone URL) commits each file as ``FEEDBACK.md`` on the branch
``feedback`` of the student's repository, and touches nothing else: each push
starts from a new temporary repository holding only that commit, whose parent
is the repository's current ``feedback`` (fetched with depth 1) when there is
one, and pushes exactly ``<commit>:refs/heads/feedback`` (never forced: a
branch that moved in between refuses the push).  A ``feedback`` branch that
already holds exactly this file is left alone ("unchanged"), so pushing twice
changes nothing the second time.  An empty repository is not pushed to (its
first branch would become its default).  git runs as ``collect`` runs it: no
hooks, no prompts (your git credentials, e.g. ``gh auth setup-git``, or none),
a time limit per student (``--timeout``), and never in the student's checkout.
A failing push is one line; the others go on; exit status 1 at the end.  A
student whose roster row has no repository (a missing student) is said and
skipped: not a failure.

Student text is hostile data: names are folder names, and only names safe as
file names and branch refs get a file (letters, digits and ``. _ - @ +``; no
leading punctuation, no ``..``, no ``.lock`` at the end, at most 100
characters, and no two differing only in case); every message, note and
comment is in a fenced code block whose fence is longer than any run of
backticks in it (``text.clean``-ed), and every other string from a file is
``text.markdown``.  Bad arguments: one sentence, exit 2.
"""
import concurrent.futures
import dataclasses
import datetime
import os
import re
import shutil
import sys
import tempfile
import time

from autograder.facts import RESULT_FILE
from autograder.semester import manifest
from autograder.errors import UsageError
from autograder.text import clean, markdown, number, one_line

BRANCH = "feedback"
FILE = "FEEDBACK.md"
DEFAULT_TIMEOUT = 120.0
MESSAGE_LIMIT = 4000                        # characters of one message, note or comment in a file
IDENTITY = {"GIT_AUTHOR_NAME": "Lab 6 autograder", "GIT_AUTHOR_EMAIL": "autograder@feedback.invalid",
            "GIT_COMMITTER_NAME": "Lab 6 autograder", "GIT_COMMITTER_EMAIL": "autograder@feedback.invalid"}
_SAFE_NAME = re.compile(r"[^\W_][\w.@+-]{0,99}")
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def register(subparsers):
    p = subparsers.add_parser(
        "feedback", help="one Markdown feedback file per student (optionally pushed to a feedback branch)",
        description="Write DIR/<student>.md for every student graded in GRADES_DIR: the commit graded, the grade, "
                    "every check's points and failing test's message (hidden ones too), the late penalty, the "
                    "written answers' points and comments; --push commits it as FEEDBACK.md on the branch "
                    "'feedback' of each student's repository.")
    p.add_argument("grades", metavar="GRADES_DIR", help="grade-all's --out folder (grades.csv, students/)")
    p.add_argument("--out", required=True, metavar="DIR", help="where the <student>.md files go")
    p.add_argument("--collected", metavar="DIR",
                   help="collect's --out folder, graded by grade-all (its manifest.csv: the commits graded)")
    p.add_argument("--gradebook", metavar="FILE",
                   help="nbgrader's gradebook.db that grade-all read (default: the rubric's written.gradebook, "
                        "when grades.csv has written points)")
    p.add_argument("--roster", metavar="CSV", help="collect's roster (its repo column: where --push pushes)")
    p.add_argument("--push", action="store_true",
                   help=f"commit each file as {FILE} on the branch '{BRANCH}' of the student's repository")
    p.add_argument("--jobs", type=int, default=4, metavar="N", help="pushes at once (default: 4)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=f"time limit of git per student (default: {DEFAULT_TIMEOUT:g})")
    p.add_argument("--rubric", metavar="FILE", help="the rubric (default: grading.yml of this repository)")
    p.set_defaults(run=run_feedback)


# ---------------------------------------------------------------- names and Markdown

def safe_name(name):
    """True when ``name`` is safe as a file name (``<name>.md``) and as a git ref component."""
    return (isinstance(name, str) and bool(_SAFE_NAME.fullmatch(name)) and ".." not in name
            and not name.endswith((".", ".lock")))


def fenced(text, limit=MESSAGE_LIMIT):
    """``text`` (cleaned, cut to ``limit``) as a fenced code block that nothing in it can close."""
    body = clean(text, limit).rstrip("\n") or "(no message)"
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{body}\n{fence}"


# ---------------------------------------------------------------- what is known about the class

@dataclasses.dataclass(frozen=True)
class Answer:
    """One written answer in nbgrader's gradebook."""

    notebook: str
    name: str
    score: float
    max_score: float
    waiting: bool          # still needs a grader
    comment: str           # nbgrader's comment (the manual one, else the automatic one), or ""


@dataclasses.dataclass(frozen=True)
class Student:
    """One student's feedback, or why there is none (``text`` None, ``why`` says it)."""

    name: str
    text: object = None
    summary: str = ""
    why: str = ""


def read_grades(grades_dir):
    """(header, {student: row}) of GRADES_DIR/grades.csv (``class_report.read_grades``)."""
    from autograder.semester import class_report

    return class_report.read_grades(grades_dir)


def read_answers(path, assignment, students):
    """{student: [Answer] or None (no submission)} from nbgrader's gradebook, with nbgrader's API."""
    from nbgrader.api import Gradebook, MissingEntry

    answers = {}
    try:
        with Gradebook(f"sqlite:///{os.path.abspath(path)}") as book:
            try:
                book.find_assignment(assignment)
            except MissingEntry:
                raise UsageError(f"{path} has no assignment {assignment!r}") from None
            for student in students:
                try:
                    submission = book.find_submission(assignment, student)
                except MissingEntry:
                    answers[student] = None
                    continue
                found = []
                for notebook in sorted(submission.notebooks, key=lambda n: n.name):
                    comments = {c.cell.name: c.comment for c in notebook.comments if c.cell is not None}
                    for grade in sorted(notebook.grades, key=lambda g: g.name):
                        if grade.cell_type != "markdown":
                            continue   # the code cells: graded by grade-all, not here
                        found.append(Answer(notebook.name, grade.name, float(grade.score or 0),
                                            float(grade.max_score or 0), bool(grade.needs_manual_grade),
                                            comments.get(grade.name) or ""))
                answers[student] = found
    except UsageError:
        raise
    except Exception as err:  # not SQLite, another schema, ...
        raise UsageError(f"cannot read the nbgrader gradebook {path}: {type(err).__name__}: {err}") from None
    return answers


@dataclasses.dataclass(frozen=True)
class Class:
    """Everything the files are built from, read and checked once."""

    grades_dir: str
    out: str
    rubric: object
    header: list
    grades: dict                  # student -> grades.csv row
    manifest: object = None       # student -> manifest row (None: no --collected)
    collected: str = None
    answers: object = None        # student -> [Answer] or None (None: no gradebook)
    roster: object = None         # student -> collect.Entry (None: no --roster)

    @property
    def out_of(self):
        return self.rubric.final_total if "written" in self.header else self.rubric.total


def load_class(args):
    """Check the command line against GRADES_DIR; UsageError (one sentence) for anything wrong."""
    from autograder.semester import final_grades
    from autograder import rubric as rubric_mod

    if not os.path.isdir(args.grades):
        raise UsageError(f"grades folder {args.grades} does not exist")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise UsageError(f"--out {args.out} is a file: give a folder for the feedback files")
    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    if not (args.timeout > 0 and args.timeout < float("inf")):
        raise UsageError(f"--timeout must be a positive number of seconds, got {args.timeout:g}")
    if args.push and not args.roster:
        raise UsageError("--push needs --roster (collect's roster: its repo column says where to push)")
    if args.push and not shutil.which("git"):
        raise UsageError("git is not installed (--push runs git)")
    rubric = rubric_mod.load(os.path.abspath(args.rubric)) if args.rubric else rubric_mod.load()
    header, grades = read_grades(args.grades)
    if not os.path.isdir(os.path.join(args.grades, "students")):
        raise UsageError(f"{args.grades} has no students/ folder: is it grade-all's --out folder?")

    listed = None
    if args.collected:
        if not os.path.isdir(args.collected):
            raise UsageError(f"--collected {args.collected} does not exist")
        listed = manifest.read(args.collected)
        if listed is None:
            raise UsageError(f"--collected {args.collected} has no {manifest.FILE}: give collect's --out folder")
        if "minutes_late" not in header:
            raise UsageError(f"grades.csv has no late columns: grade-all did not read {args.collected}'s manifest; "
                             f"run grade-all on {args.collected} first")
    elif "minutes_late" in header:
        raise UsageError("grades.csv was made with collect's manifest: pass --collected DIR (the folder grade-all "
                         "graded) so that each file names the commit graded")

    answers = None
    book = final_grades.gradebook_path(rubric, args.gradebook) if rubric.written else None
    if args.gradebook and not rubric.written:
        raise UsageError(f"--gradebook given, but {rubric.path} has no written: entry to say what to read")
    if "written" in header:
        if not book:
            raise UsageError("grades.csv has written points: pass --gradebook (nbgrader's gradebook.db that "
                             "grade-all read) for each answer's points and comments")
        if not os.path.isfile(book):
            raise UsageError(f"nbgrader gradebook {book} not found")
        answers = read_answers(book, rubric.written.assignment, sorted(grades))
    elif args.gradebook:
        raise UsageError("grades.csv has no written points: run grade-all with --gradebook first, so that the "
                         "final grades include them")

    roster = None
    if args.roster:
        from autograder.semester import collect

        now = datetime.datetime.now(datetime.timezone.utc)   # extensions are collect's business, not ours
        roster = {entry.student: entry for entry in collect.read_roster(args.roster, now)}
    return Class(args.grades, os.path.abspath(args.out), rubric, header, grades, listed,
                 args.collected, answers, roster)


# ---------------------------------------------------------------- one student's file

def build(name, known):
    """The Student for ``name``: its Markdown, or why it has none."""
    from autograder.reporters import result as stored

    student_dir = os.path.join(known.grades_dir, "students", name)
    try:
        result = stored.read(os.path.join(student_dir, RESULT_FILE))
    except (OSError, ValueError):
        return Student(name, why="no stored result in GRADES_DIR: run grade-all again")
    if result.internal_errors:
        return Student(name, why="not graded: the grader failed on its side (see grade-all); run grade-all again")
    row = known.grades.get(name)
    if row is None or not (row.get("score") or "").strip():
        return Student(name, why="no grade in grades.csv: run grade-all again")
    try:
        listed = float(row["score"])
    except ValueError:
        return Student(name, why=f"grades.csv's score {row['score']!r} is not a number")
    if listed != result.score:
        return Student(name, why=f"grades.csv says {number(listed)}, the stored result {result.score}: "
                                 "run grade-all again")
    manifest_row = known.manifest.get(name) if known.manifest is not None else None
    if known.manifest is not None:
        changed = _manifest_changed(manifest_row, row) or _changed_since_graded(name, student_dir, known)
        if changed:
            return Student(name, why=changed)
    answers = None
    if known.answers is not None:
        status = row.get("written_status") or ""
        if status == "ungraded":
            return Student(name, why="written answers still to grade in nbgrader: no final grade yet")
        in_book = known.answers.get(name)
        answers = in_book or []
        total = sum(a.score for a in answers)
        listed_written = float(row["written"]) if _is_number(row.get("written")) else float("nan")
        if (status == "graded" and (in_book is None or any(a.waiting for a in answers)
                                    or not abs(total - listed_written) < 1e-6)) \
                or (status == "missing" and in_book is not None) or status not in ("graded", "missing"):
            return Student(name, why=f"the gradebook gives {number(total)} written points, grades.csv "
                                     f"{row.get('written') or 'none'} ({status or 'no status'}): run grade-all "
                                     f"--gradebook again")
    if "final" in known.header and not (row.get("final") or "").strip():
        return Student(name, why="no final grade in grades.csv yet")
    return Student(name, *render(name, result, row, manifest_row, answers, known))


def _manifest_changed(manifest_row, row):
    """Why collect's manifest no longer says what grade-all read (one sentence), or None."""
    listed = (row.get("minutes_late") or "").strip()
    if manifest_row is None:   # a folder grade-all found next to the collected ones: no lateness was known
        return "collect's manifest no longer lists this student: run grade-all again" if listed else None
    commit, now = manifest_row.commit or "", manifest_row.minutes_late
    if bool(commit) != bool(listed) or (
            _is_number(listed) and (now is None or abs(now - float(listed)) > 0.01)):
        return "collect's manifest changed since grade-all read it (collected again?): run grade-all again"
    return None


def _changed_since_graded(name, student_dir, known):
    """Why the collected folder no longer holds what was graded (one sentence), or None."""
    from autograder.semester import resume
    from autograder.sandbox import safefs
    from autograder.submission import IN_A_STUDENT_FOLDER, find_package

    try:
        stamp = safefs.read_text(os.path.join(student_dir, resume.STAMP), 4096).split()
    except (OSError, safefs.TooLarge):
        return None   # nothing was graded there (no package, refused, not collected): nothing to compare
    folder = os.path.join(known.collected, name)
    why = (f"{os.path.join(known.collected, name)} changed since it was graded (collected again?): run grade-all "
           f"on {known.collected} again")
    try:
        root = find_package(folder, max_depth=IN_A_STUDENT_FOLDER, limits=known.rubric.limits)
        if root is None or not stamp:
            return why
        fingerprint, _ = resume.submission_fingerprint(root, known.rubric.limits)
    except (OSError, safefs.TooLarge):
        return why
    return None if fingerprint == stamp[0] else why


def render(name, result, row, manifest_row, answers, known):
    """(Markdown, one-line summary) of one student's feedback; deterministic (no dates of this run)."""
    rubric = known.rubric
    score = result.score
    final = float(row["final"]) if (row.get("final") or "").strip() else float(score)
    lines = [f"# Lab 6: feedback for {markdown(name)}", ""]

    collected = manifest_row is not None and bool(manifest_row.commit)
    facts = []
    if manifest_row is not None:
        commit = manifest_row.commit or ""
        if collected:
            shown = f"`{commit}`" if _SHA.fullmatch(commit) else markdown(commit, 80)
            facts.append(f"- **Commit graded:** {shown}")
            when = markdown(manifest_row.pushed_at, 80)
            how = ("pushed {} (GitHub's push time)" if manifest_row.time_source == manifest.GITHUB_PUSH
                   else "committed {} (the commit's date)")
            deadline = markdown(manifest_row.deadline, 80)
            facts.append(f"- **When:** {how.format(when)}; your deadline: {deadline}")
        else:
            facts.append("- **Commit graded:** none: nothing was collected from your repository "
                         f"({markdown(manifest_row.problems or 'no repository', 400)})")
    elif known.manifest is not None:
        facts.append("- **Commit graded:** not recorded (your folder is not in collect's manifest)")
    else:
        facts.append("- **Commit graded:** not recorded (the submission was not collected with `collect`)")
    facts.append(f"- **Autograded checks:** {score} / {result.max_score}")
    if answers is not None:
        written = row.get("written") or "0"
        facts.append(f"- **Written answers:** {number(written) if _is_number(written) else markdown(written, 40)}"
                     f" / {rubric.written.points}"
                     + ("" if row.get("written_status") != "missing"
                        else " (no notebook of yours reached nbgrader's gradebook)"))
    if "minutes_late" in known.header:
        penalty = float(row.get("late_penalty") or 0) if _is_number(row.get("late_penalty") or "0") else 0.0
        minutes = row.get("minutes_late") or ""
        if not collected:
            late = "no penalty: nothing was collected"
        elif _is_number(minutes):
            late = (rubric.late.describe(float(minutes)) if rubric.late
                    else f"{number(minutes)} minutes late, no late policy")
            late = f"{number(penalty)} points ({late})" if penalty else f"none ({late})"
        else:
            late = "none"
        facts.append(f"- **Late penalty:** {markdown(late, 300)}")
    facts.append(f"- **Final grade:** **{number(final)} / {known.out_of}**")
    lines += facts + ["", "This is your grade after the deadline: every check counts, the hidden ones too, and the "
                          "message of every test that failed is below.", ""]

    lines += ["## Checks", "", "| check | visibility | points |", "|---|---|---|"]
    for check in result.checks:
        lines.append(f"| {markdown(check.title, 200)} ({markdown(check.id, 60)}) | {markdown(check.visibility, 20)}"
                     f" | {check.score} / {check.points} |")
    lines.append("")

    failing = [(check, test) for check in result.checks for test in check.tests if test.status != "passed"]
    messages = {clean(test.message) for _, test in failing}
    if score == 0 and len(failing) == len(result.tests) and len(messages) == 1 \
            and clean(failing[0][1].message) in map(clean, result.notes):
        lines += ["## Why nothing was graded", "", fenced(failing[0][1].message), ""]   # the zero Result
        notes = [note for note in result.notes if clean(note) not in messages]
    else:
        if failing:
            lines += ["## What failed", ""]
        for check in result.checks:
            tests = [test for test in check.tests if test.status != "passed"]
            if not tests:
                continue
            lines += [f"### {markdown(check.title, 200)}: {check.score} / {check.points} "
                      f"({markdown(check.visibility, 20)} check)", ""]
            for test in tests:
                lines += [f"**{markdown(test.name, 200)}**: {markdown(test.status, 20)}, 0 of {test.max_score} "
                          f"point{'s' if test.max_score != 1 else ''}", "", fenced(test.message), ""]
        notes = list(result.notes)

    if answers is not None:
        lines += ["## Written answers", ""]
        if not answers:
            lines += ["Your notebook is not in nbgrader's gradebook: the written answers count 0.", ""]
        several = len({a.notebook for a in answers}) > 1
        for answer in answers:
            label = f"{answer.notebook} / {answer.name}" if several else answer.name
            lines += [f"### {markdown(label, 200)}: {number(answer.score)} / {number(answer.max_score)}", ""]
            lines += [fenced(answer.comment) if answer.comment.strip() else "No comment.", ""]

    if notes:
        lines += ["## Notes", ""]
        for note in notes:
            lines += [fenced(note), ""]

    parts = [f"{score}"]
    if answers is not None:
        parts.append(f"+ {number(row.get('written') or 0) if _is_number(row.get('written') or '0') else '?'}")
    if "late_penalty" in known.header and _is_number(row.get("late_penalty") or "0") \
            and float(row.get("late_penalty") or 0):
        parts.append(f"- {number(row['late_penalty'])}")
    summary = " ".join(parts) + f" = {number(final)} / {known.out_of}" if len(parts) > 1 \
        else f"{number(final)} / {known.out_of}"
    if manifest_row is not None and not collected:
        summary += " (nothing collected)"
    return "\n".join(lines).rstrip("\n") + "\n", summary


def _is_number(text):
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


# ---------------------------------------------------------------- pushing

def push(name, url, text, graded_commit, timeout):
    """Commit ``text`` as FEEDBACK.md on the branch ``feedback`` of ``url``; (status, detail).

    status: "pushed" (detail: the new commit), "unchanged" (the branch already holds exactly this file),
    "failed" (detail: one sentence).  Never raises.
    """
    from autograder.semester import collect

    work = tempfile.mkdtemp(prefix="lab6-feedback-")
    try:
        git = collect.Git(timeout)
        git.env.update(IDENTITY)
        git("init", "--quiet", work)
        try:
            out = git("ls-remote", "--heads", url)
        except collect.GitFailed as err:
            raise collect.Problem(f"cannot read the repository (missing, private, or no access?): "
                                  f"{collect.condense(err.stderr)}") from None
        heads = {}
        for line in out.splitlines():
            sha, _, ref = line.partition("\t")
            if ref.startswith("refs/heads/"):
                heads[ref[len("refs/heads/"):]] = sha
        if not heads:
            raise collect.Problem("the repository is empty: not pushed (a first branch would become its default)")
        parent = None
        if BRANCH in heads:
            git("fetch", "--quiet", "--no-tags", "--depth", "1", url,
                f"+refs/heads/{BRANCH}:refs/remotes/origin/{BRANCH}", cwd=work)
            parent = git("rev-parse", "--verify", f"refs/remotes/origin/{BRANCH}^{{commit}}", cwd=work).strip()
        with open(os.path.join(work, FILE), "w", encoding="utf-8", newline="") as f:
            f.write(text)
        blob = git("hash-object", "-w", "--no-filters", FILE, cwd=work).strip()
        git("update-index", "--add", "--cacheinfo", f"100644,{blob},{FILE}", cwd=work)
        tree = git("write-tree", cwd=work).strip()
        if parent and git("rev-parse", f"{parent}^{{tree}}", cwd=work).strip() == tree:
            return "unchanged", parent
        message = "Feedback on Lab 6" + (f"\n\nThe commit graded: {graded_commit}" if graded_commit else "")
        commit = git("commit-tree", "--no-gpg-sign", tree, *(["-p", parent] if parent else []), "-m", message,
                     cwd=work).strip()
        try:
            git("push", "--quiet", "--no-verify", url, f"{commit}:refs/heads/{BRANCH}", cwd=work)
        except collect.GitFailed as err:
            raise collect.Problem(f"push refused: {collect.condense(err.stderr)}") from None
        return "pushed", commit
    except collect.Problem as err:
        return "failed", str(err)
    except Exception as err:  # noqa: BLE001 - one student's surprise must not stop the others
        return "failed", f"internal error: {type(err).__name__}: {collect.mask(str(err))[:200]}"
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------- the class

def students_of(grades_dir):
    """The student folders of GRADES_DIR/students, sorted (names as the file system gives them)."""
    folder = os.path.join(grades_dir, "students")
    return sorted(d for d in os.listdir(folder)
                  if not d.startswith(".") and os.path.isdir(os.path.join(folder, d))
                  and not os.path.islink(os.path.join(folder, d)))


def run_feedback(args):
    start = time.perf_counter()
    known = load_class(args)
    names = students_of(known.grades_dir)
    if not names:
        raise UsageError(f"{known.grades_dir}/students has no students: run grade-all first")
    os.makedirs(known.out, exist_ok=True)
    width = min(24, max(len(one_line(n, 24)) for n in names))
    print(f"Feedback for {len(names)} students into {args.out.rstrip('/') or '/'}/:")

    from autograder.files import write_text

    built, problems, seen = [], [], {}
    for name in names:
        path = None
        if not safe_name(name):
            student = Student(name, why="refused: the name is not safe as a file name or branch ref (letters, "
                                        "digits and . _ - @ + only)")
        elif name.lower() in seen:
            student = Student(name, why=f"refused: differs from {seen[name.lower()]} only in case (one file on "
                                        f"some systems)")
        else:
            seen[name.lower()] = name
            path = os.path.join(known.out, f"{name}.md")
            student = build(name, known)
        if student.text is not None:
            write_text(path, student.text)
            built.append(student)
            print(f"  {one_line(name, 24):<{width}}  written  {student.summary}")
        else:
            if path and (os.path.islink(path) or os.path.isfile(path)):
                os.remove(path)   # an earlier run's file is not this grade
            problems.append(name)
            print(f"  {one_line(name, 24):<{width}}  skipped  {one_line(student.why, 400)}")
    if known.roster is not None:
        missing = sorted(set(known.roster) - set(names))
        for name in missing:
            problems.append(name)
            print(f"  {one_line(name, 24):<{width}}  skipped  in the roster, but not in {args.grades}: not graded")

    pushed = unchanged = failed = skipped = 0
    if args.push and built:
        from autograder.semester import collect

        collect._stopping.clear()
        print(f"Pushing {FILE} to the branch '{BRANCH}' of {len(built)} repositories, {args.jobs} at a time:")
        jobs = {}
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs)
        try:
            for student in built:
                entry = known.roster.get(student.name)
                if entry is None:
                    jobs[pool.submit(lambda: ("failed", "not in the roster"))] = student.name
                    continue
                if not entry.url:  # nobody to push to (a missing student): said, but not a failure
                    jobs[pool.submit(lambda: ("skipped", "no repository in the roster: nothing to push to; "
                                                         "send them their file yourself"))] = student.name
                    continue
                listed = (known.manifest or {}).get(student.name)
                commit = (listed.commit or "") if listed is not None else ""
                jobs[pool.submit(push, student.name, entry.url, student.text,
                                 commit if _SHA.fullmatch(commit) else "", args.timeout)] = student.name
            for done, future in enumerate(concurrent.futures.as_completed(jobs), 1):
                name, (status, detail) = jobs[future], future.result()
                if status == "pushed":
                    pushed += 1
                    said = f"pushed {detail[:10]}"
                elif status == "unchanged":
                    unchanged += 1
                    said = f"unchanged (its branch {BRANCH} already holds this {FILE})"
                elif status == "skipped":
                    skipped += 1
                    said = f"not pushed: {detail}"
                else:
                    failed += 1
                    problems.append(name)
                    said = f"not pushed: {detail}"
                print(f"[{done}/{len(jobs)}] {one_line(name, 120)}: {one_line(said, 400)}", flush=True)
        except KeyboardInterrupt:
            collect.stop_all()
            pool.shutdown(wait=True, cancel_futures=True)
            print("interrupted: run the same command again (pushing is idempotent)", file=sys.stderr)
            return 130
        pool.shutdown()

    elapsed = time.perf_counter() - start
    said = f"Wrote {len(built)} of {len(names)} files"
    if args.push:
        said += f"; pushed {pushed}, {unchanged} unchanged, {failed} failed" + (
            f", {skipped} without a repository" if skipped else "")
    print(f"{said}, in {elapsed:.1f} s.")
    if problems:
        print(f"{len(set(problems))} student(s) without their feedback {'pushed' if args.push else 'written'} "
              f"(see above): {', '.join(one_line(n, 60) for n in sorted(set(problems)))}", file=sys.stderr)
        return 1
    return 0
