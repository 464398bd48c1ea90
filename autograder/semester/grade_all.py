"""Grade a whole class: ``python -m autograder grade-all SUBMISSIONS_DIR --jobs N --out DIR``.

SUBMISSIONS_DIR holds one folder per student, named by the student, each a
student's repository (with ``lab6_generative/`` inside, at the top or one
level down).  The grading pool (``grading.pool``) grades ``--jobs``
students at a time in long-lived grading processes (torch, pytest and the
checks loaded once); each student's code runs in a fresh sandboxed worker, so
one submission can never stop or slow down the others' grading beyond its own
time limits.  The Results come back in memory: the class report and
``--only`` merges are built from them, and each is written once, for resume
and for reading.  Into DIR go:

    students/<name>/autograder-result.json   the student's stored Result (results.to_dict):
                                   what the next run resumes from
    students/<name>/results.json   the student's full report (Gradescope format), for reading
    students/<name>/source.sha256  what was graded, for resuming (see resume.py)
    grades.csv                     student, status, score, points per rubric check, isolation, reason
    report.md, scores.png, checks.png   the class report (see class_report.py)

Student folders are hostile data: this process reads them only through
``safefs`` (never following links, never opening pipes or devices, bounded by
the rubric's ``limits.submission_mb``, ``submission_files`` and
``submission_depth``).  A student over a limit gets the zero Result saying
which limit, status "refused"; pipes, devices and sockets are left out and
named in a note of the student's Result; the class run goes on.

Run it again and it resumes: a student whose results exist for the same
submission files and the same grader (rubric and check files) is not graded
again (``--regrade`` grades everyone).  ``--only ID`` regrades one check
for everyone and merges it into their results.  This
run is the authoritative grade: students control their own repositories and
workflows, so the on-push run is feedback.
"""
import concurrent.futures
import dataclasses
import os
import sys
import time

from autograder import facts, files, reporters, results, rubric as rubric_mod, sandbox
from autograder.cli import add_sandbox_option
from autograder.errors import UsageError
from autograder.grading.pool import Pool
from autograder.reporters import result as stored
from autograder.sandbox import safefs
from autograder.semester import final_grades, manifest as manifest_mod, resume, written
from autograder.semester.class_report import NO_PACKAGE_REASON
from autograder.submission import IN_A_STUDENT_FOLDER, PACKAGE, find_package
from autograder.text import one_line

RESULT_FILE = facts.RESULT_FILE          # the stored Result of each student
REPORT_FILE = facts.GRADESCOPE_FILE      # the same, in Gradescope's format, for people to read
# What each student's grading came to (the progress lines; class_report turns them into grades.csv's
# status column): "graded", "unchanged" (graded by an earlier run), and, with a zero or an empty row,
# "missing" (on collect's manifest, nothing collected), "no package", "refused" (over a limit),
# "internal error" (the grader's fault, its grading process included: empty row).
WHY_SHOWN = ("missing", "no package", "refused", "internal error")


def register(subparsers):
    p = subparsers.add_parser("grade-all", help="grade every submission in a folder",
                              description="Grade every student folder in SUBMISSIONS_DIR, in parallel.")
    p.add_argument("submissions", metavar="SUBMISSIONS_DIR", help="one folder per student, named by the student")
    p.add_argument("--out", required=True, metavar="DIR", help="where results, grades.csv and the report go")
    p.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2) // 2), metavar="N",
                   help="students graded at once (default: half the CPU cores)")
    p.add_argument("--rubric", metavar="FILE", help="the rubric (default: grading.yml of this repository)")
    p.add_argument("--checks-dir", action="append", default=[], metavar="DIR",
                   help="extra folder with check files, as for grade; repeatable")
    p.add_argument("--only", metavar="ID",
                   help="regrade just this rubric check and merge it into each student's results")
    p.add_argument("--regrade", action="store_true", help="grade everyone again, even unchanged submissions")
    p.add_argument("--gradebook", metavar="FILE",
                   help="nbgrader's gradebook.db with the written answers (default: the rubric's written.gradebook)")
    add_sandbox_option(p)
    p.add_argument("--allow-unsandboxed", action="store_true",
                   help="grade even where no sandbox works (student code can then touch your files)")
    p.set_defaults(run=run_grade_all)


@dataclasses.dataclass(frozen=True)
class ClassRun:
    """One class run's settings, checked once; every path absolute (grading runs from the repository root)."""

    submissions: str
    out: str
    jobs: int
    rubric: object              # the loaded rubric.Rubric
    rubric_path: str = None     # as given with --rubric (None: the default grading.yml)
    checks_dirs: tuple = ()
    only: str = None
    regrade: bool = False
    sandbox: str = "none"       # the mechanism chosen for this machine
    gradebook: str = None

    @classmethod
    def from_args(cls, args):
        """Validate the command line; UsageError (one sentence) for anything wrong."""
        if not os.path.isdir(args.submissions):
            raise UsageError(f"submissions folder {args.submissions} does not exist")
        if args.jobs < 1:
            raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
        if os.path.exists(args.out) and not os.path.isdir(args.out):
            raise UsageError(f"--out {args.out} is a file: give a folder for the results")
        rubric_path = os.path.abspath(args.rubric) if args.rubric else None
        rubric = rubric_mod.load(rubric_path) if rubric_path else rubric_mod.load()
        if args.only and args.only not in [c.id for c in rubric.checks]:
            raise UsageError(f"--only {args.only}: no such check in the rubric "
                             f"({', '.join(c.id for c in rubric.checks)})")
        if args.gradebook and not rubric.written:
            raise UsageError(f"--gradebook given, but {rubric.path} has no written: entry to say what to read")
        mechanism = sandbox.choose(args.sandbox)
        if mechanism == "none" and not args.allow_unsandboxed:
            raise UsageError("no sandbox works on this machine (see `python -m autograder doctor`): student code "
                             "would run with your rights; grade inside a Linux container (README), or pass "
                             "--allow-unsandboxed if you trust every submission")
        return cls(submissions=args.submissions, out=os.path.abspath(args.out), jobs=args.jobs, rubric=rubric,
                   rubric_path=rubric_path, checks_dirs=tuple(os.path.abspath(d) for d in args.checks_dir),
                   only=args.only, regrade=args.regrade, sandbox=mechanism, gradebook=args.gradebook)

    def grader_fingerprint(self):
        """The grader's fingerprint (rubric, grader package, extra check folders): a change regrades everyone."""
        return resume.grader_fingerprint(self.rubric_path or rubric_mod.DEFAULT_PATH,
                                         facts.GRADER_DIR, self.checks_dirs)


@dataclasses.dataclass
class Student:
    """One student of the run: what to grade, or what came of it before any grading."""

    name: str
    root: str = None            # the folder holding the package, when there is one to grade
    source: str = ""            # the resume stamp of what is graded (submission files + grader)
    note: str = ""              # what was left out of the submission (pipes, devices, sockets)
    status: str = None          # decided without grading: "unchanged", "no package", "refused", "missing"
    why: str = ""
    result: object = None       # the Result, when this run made one
    seconds: float = 0.0        # how long grading it took
    only: str = None            # --only: the one check to regrade (None: every check, also when no
                                # Result this grader reads is stored to merge it into)


def _installed(distribution):
    """The installed version of ``distribution``, or None."""
    import importlib.metadata

    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def hypothesis_warning(installed):
    """One line for the instructor when this environment's hypothesis is not the one the course pins, else None.

    Each Result graded here would try other inputs than the students' own grader (on push, Gradescope,
    Classroom 50), and say so in its notes.
    """
    if installed == facts.HYPOTHESIS_VERSION:
        return None
    has = f"hypothesis {one_line(str(installed), 40)}" if installed else "no hypothesis"
    return (f"warning: this environment has {has}, not "
            f"{facts.HYPOTHESIS_VERSION} as pyproject.toml pins: the checks may try other inputs than the "
            f"students' own grader did, and every Result says so: pip install hypothesis=={facts.HYPOTHESIS_VERSION}")


def scan_student(name, folder, run, grader):
    """What to do with one student's folder (hostile data, read through safefs only); never raises.

    ``grader`` is ``run.grader_fingerprint()``: a stored Result is kept only
    while both the student's files and the grader are unchanged.  A submission
    over the rubric's limits (or unreadable) gets the zero Result saying why,
    with no grading: status "refused".
    """
    student_dir = os.path.join(run.out, "students", name)
    os.makedirs(student_dir, exist_ok=True)
    try:
        root = find_package(folder, max_depth=IN_A_STUDENT_FOLDER, limits=run.rubric.limits)
        if root is not None:
            fingerprint, scanned = resume.submission_fingerprint(root, run.rubric.limits)
    except (safefs.TooLarge, OSError) as err:
        why = err.reason if isinstance(err, safefs.TooLarge) else \
            f"its folder could not be read ({safefs.shown(str(err), 200)})"
        return Student(name, status="refused", why=why, result=_publish_zero(
            student_dir, results.nothing_to_grade(run.rubric, folder, f"{name}: not graded: {why}.")))
    if root is None:
        return Student(name, status="no package", why=NO_PACKAGE_REASON, result=_publish_zero(
            student_dir, results.nothing_to_grade(run.rubric, folder, f"{name}: no {PACKAGE}/ folder found in "
                                                  "the submission.")))
    source = resume.stamp(fingerprint, grader)
    if not run.regrade and not run.only and resume.is_current(student_dir, source, os.path.join(student_dir,
                                                                                               RESULT_FILE)):
        return Student(name, status="unchanged")
    only = run.only if run.only and _readable(os.path.join(student_dir, RESULT_FILE)) else None
    return Student(name, root=root, source=source, note=scanned.note(PACKAGE), only=only)


def finish_student(student, result, run):
    """Store what grading ``student`` gave (once), and its status: graded, or internal error."""
    student_dir = os.path.join(run.out, "students", student.name)
    stamp_file = os.path.join(student_dir, resume.STAMP)
    student.seconds = result.seconds
    if not student.only and os.path.lexists(stamp_file):
        os.remove(stamp_file)   # until this grade is stored, an earlier one is not current
    if student.only:   # one check regraded: merged into the stored Result by check id
        result = results.merge(stored.read(os.path.join(student_dir, RESULT_FILE)), result, student.only)
    if student.note and student.note not in result.notes:
        result = dataclasses.replace(result, notes=[*result.notes, student.note])
    _publish(student_dir, result)
    student.result = result
    if result.internal_errors:
        # The grader failed on its side: never a zero for the student, never reused (no stamp).
        _write_log(student_dir, "\n".join(f"internal error of the grader: {e}" for e in result.internal_errors))
        student.status, student.why = "internal error", str(result.internal_errors[0])
        return student
    student.status, student.why = "graded", student.note
    if not student.only:
        files.write_text(stamp_file, student.source + "\n")
    return student


def _publish_zero(student_dir, result):
    """Store a zero Result that replaces any earlier grade: its stamp goes, so the next run looks again."""
    _publish(student_dir, result)
    stamp_file = os.path.join(student_dir, resume.STAMP)
    if os.path.lexists(stamp_file):
        os.remove(stamp_file)
    return result


def _readable(stored_file):
    """True when ``stored_file`` holds a Result this grader reads (not missing, not an older grader's)."""
    try:
        stored.read(stored_file)
    except (OSError, ValueError):
        return False
    return True


def not_collected(name, row, run):
    """The zero Result for a student on collect's manifest with nothing collected: status "missing".

    ``why`` is the manifest's reason.  Whatever an earlier run left in the
    student's folder is not graded: it is not what stood at this deadline.
    """
    student_dir = os.path.join(run.out, "students", name)
    os.makedirs(student_dir, exist_ok=True)
    if row.nothing_collected or row.problems.strip() or row.commit is None:
        why = final_grades.missing_reason(row)
    else:
        why = f"collect collected commit {one_line(row.commit, 12)}, but its folder is not in {run.submissions}"
    return Student(name, status="missing", why=why, result=_publish_zero(
        student_dir, results.nothing_to_grade(run.rubric, name, f"{name}: nothing was collected ({why}).")))


def _publish(student_dir, result):
    """Store ``result`` and write its readable report, as the grading process does."""
    reporters.write(result, "result", os.path.join(student_dir, RESULT_FILE))
    reporters.write(result, "gradescope", os.path.join(student_dir, REPORT_FILE))


def _write_log(student_dir, text):
    files.write_text(os.path.join(student_dir, "grader.log"), text[-20000:])


def run_grade_all(args):
    from autograder.semester import class_report

    run = ClassRun.from_args(args)
    sandbox.harden_grader()
    try:  # before anyone is graded: a broken sandbox or interpreter is the instructor's to fix
        sandbox.verify(run.sandbox, run.rubric.limits)
    except sandbox.SandboxBroken as err:
        print(f"error: nobody was graded: the grader could not start its sandbox: {err}", file=sys.stderr)
        return 3
    grader = run.grader_fingerprint()
    students = sorted(d for d in os.listdir(run.submissions)
                      if os.path.isdir(os.path.join(run.submissions, d)) and not d.startswith("."))
    rubric = run.rubric
    manifest = manifest_mod.read(run.submissions)
    if not students and not manifest:
        raise UsageError(f"{run.submissions} has no student folders")
    # A student on collect's manifest with nothing collected (no folder, or no commit: an earlier run's
    # folder is not this deadline's work) still gets a row: status missing, 0, and the manifest's reason.
    missing = sorted(name for name, row in (manifest or {}).items()
                     if name not in students or row.nothing_collected)
    students = sorted(set(students) | set(missing))
    book = final_grades.gradebook_path(rubric, run.gradebook)
    written_scores = written.read(book, rubric.written, students) if (rubric.written and book) else None
    os.makedirs(run.out, exist_ok=True)
    print(f"Grading {len(students)} submissions, {run.jobs} at a time, into {run.out}/; "
          f"isolation: {sandbox.DESCRIPTIONS[run.sandbox]}")
    drift = hypothesis_warning(_installed("hypothesis"))
    if drift:
        print(drift, file=sys.stderr)
    start = time.perf_counter()
    statuses, reasons, graded = {}, {}, {}
    done = 0

    def report(student, seconds=0.0):
        nonlocal done
        done += 1
        statuses[student.name], reasons[student.name] = student.status, student.why
        if student.result is not None:
            graded[student.name] = student.result
        print(f"[{done}/{len(students)}] {one_line(student.name, 120)}: {student.status}"
              + (f" ({seconds:.1f} s)" if seconds else "")
              + (f": {one_line(student.why, 400)}" if student.why and student.status in WHY_SHOWN else ""),
              flush=True)

    with Pool(run.jobs, rubric, rubric_path=run.rubric_path, checks_dirs=run.checks_dirs,
              isolation=run.sandbox) as pool:
        waiting = {}
        for name in students:
            if name in missing:
                report(not_collected(name, manifest[name], run))
                continue
            student = scan_student(name, os.path.join(run.submissions, name), run, grader)
            if student.status:
                report(student)
                continue
            # A grading process starts with each of the first --jobs submissions, while the other
            # folders are scanned: a resumed run that regrades one student starts one.
            waiting[pool.submit(student.root, only=student.only)] = student
        for future in concurrent.futures.as_completed(waiting):
            student = finish_student(waiting[future], future.result(), run)
            report(student, student.seconds)
    elapsed = time.perf_counter() - start
    summary = class_report.write(run.out, students, rubric, statuses, manifest, written_scores, reasons,
                                 results=graded)
    failed = [one_line(name, 120) for name, status in statuses.items()
              if status in ("grader failed", "internal error")]
    absent = sum(status == "missing" for status in statuses.values())
    counted = (f"mean score {summary['mean']:.1f} / {rubric.total} over {summary['counted']} student(s)"
               if summary["counted"] else "no student was graded")
    print(f"Done in {elapsed:.0f} s: {counted}" + (f" ({absent} missing, not counted)" if absent else "")
          + f"; wrote grades.csv, report.md, scores.png, checks.png to {run.out}/")
    if failed:
        print(f"The grader failed for {len(failed)} student(s) ({', '.join(failed)}): "
              f"see students/<name>/grader.log; their rows in grades.csv are empty.", file=sys.stderr)
        return 3
    return 0
