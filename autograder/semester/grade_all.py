"""Grade a whole class: ``python -m autograder grade-all SUBMISSIONS_DIR --jobs N --out DIR``.

SUBMISSIONS_DIR holds one folder per student, named by the student, each a
student's repository (with ``lab6_generative/`` inside, at the top or one
level down).  Every student is graded by its own ``python -m autograder
grade`` process, ``--jobs`` at a time, so one submission can never stop or
slow down the others' grading beyond its own time limits.  Into DIR go:

    students/<name>/autograder-result.json   the student's stored Result (results.to_dict):
                                   what grades.csv, the report and --only merges are built from
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
import subprocess
import sys
import time

from autograder.semester import final_grades, resume, written
from autograder import reporters, results, rubric as rubric_mod, sandbox
from autograder.sandbox import safefs
from autograder.semester.class_report import NO_PACKAGE_REASON
from autograder.cli import add_sandbox_option
from autograder.errors import UsageError
from autograder.reporters import result as stored
from autograder.submission import PACKAGE, find_package
from autograder.text import one_line

STUDENT_TIMEOUT = 600  # seconds: a backstop far above the engine's own limits
RESULT_FILE = "autograder-result.json"   # the stored Result of each student
REPORT_FILE = "results.json"             # the same, in Gradescope's format, for people to read
# What each student's grading came to (the progress lines; class_report turns them into grades.csv's
# status column): "graded", "unchanged" (graded by an earlier run), and, with a zero or an empty row,
# "missing" (on collect's manifest, nothing collected), "no package", "refused" (over a limit),
# "internal error" (the grader's fault: empty row), "grader failed" (the process died: empty row).
WHY_SHOWN = ("missing", "no package", "refused", "internal error", "grader failed")
# The only variables a grading process inherits: never the instructor's tokens.
KEPT_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ", "VIRTUAL_ENV",
            "AUTOGRADER_WORKER_USER")


def grading_environment():
    """The environment of each student's ``grade`` process: a few plain variables, no secrets."""
    return {key: os.environ[key] for key in KEPT_ENV if key in os.environ}


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
                                         os.path.join(_repo_root(), "autograder"), self.checks_dirs)

    def grade_command(self, root, report_args):
        """``python -m autograder grade`` for one submission with this run's settings."""
        cmd = [sys.executable, "-m", "autograder", "grade", os.path.abspath(root), *report_args]
        if self.rubric_path:
            cmd += ["--rubric", self.rubric_path]
        for d in self.checks_dirs:
            cmd += ["--checks-dir", d]
        if self.only:
            cmd += ["--only", self.only]
        return cmd + ["--sandbox", self.sandbox]


def grade_student(name, folder, run, grader):
    """Grade one student in a subprocess. Returns (name, status, seconds, why); never raises.

    ``grader`` is ``run.grader_fingerprint()``: a stored Result is kept only
    while both the student's files and the grader are unchanged.  With
    ``--only`` the one check is regraded and merged into the stored Result.
    A submission over the rubric's limits (or unreadable) gets the zero Result
    saying why, without a grading process: status "refused".
    """
    student_dir = os.path.join(run.out, "students", name)
    os.makedirs(student_dir, exist_ok=True)
    stored_file = os.path.join(student_dir, RESULT_FILE)
    try:
        root = find_package(folder, max_depth=1, limits=run.rubric.limits)
        if root is not None:
            fingerprint, scanned = resume.submission_fingerprint(root, run.rubric.limits)
    except (safefs.TooLarge, OSError) as err:
        why = err.reason if isinstance(err, safefs.TooLarge) else \
            f"its folder could not be read ({safefs.shown(str(err), 200)})"
        _publish(student_dir, results.nothing_to_grade(run.rubric, folder, f"{name}: not graded: {why}."))
        _forget_stamp(student_dir)
        return name, "refused", 0.0, why
    if root is None:
        _publish(student_dir, results.nothing_to_grade(
            run.rubric, folder, f"{name}: no {PACKAGE}/ folder found in the submission."))
        _forget_stamp(student_dir)
        return name, "no package", 0.0, NO_PACKAGE_REASON
    note = scanned.note(PACKAGE)
    source = resume.stamp(fingerprint, grader)
    if not run.regrade and not run.only and resume.is_current(student_dir, source, stored_file):
        return name, "unchanged", 0.0, ""
    if run.only and not _readable(stored_file):  # none stored, or an older grader's: every check, not one
        run = dataclasses.replace(run, only=None)
    if run.only:
        partial = os.path.join(student_dir, f"partial-{run.only}.json")
        reports = ["--results", os.devnull, "--report", f"result={partial}"]
        stale = [partial]
    else:
        partial = stored_file
        reports = ["--results", os.path.join(student_dir, REPORT_FILE), "--report", f"result={stored_file}"]
        stale = [stored_file, os.path.join(student_dir, REPORT_FILE), os.path.join(student_dir, resume.STAMP)]
    for path in stale:
        if os.path.exists(path):
            os.remove(path)
    start = time.perf_counter()
    try:
        proc = subprocess.run(run.grade_command(root, reports), cwd=_repo_root(), capture_output=True, text=True,
                              timeout=STUDENT_TIMEOUT, env=grading_environment(), stdin=subprocess.DEVNULL)
        status = "graded" if proc.returncode in (0, 3) and os.path.exists(partial) else "grader failed"
        if status != "graded":
            _write_log(student_dir, proc.stdout + proc.stderr)
            failure = f"the grading process exited with code {proc.returncode} without a result (see its grader.log)"
    except subprocess.TimeoutExpired:
        status = "grader failed"
        _write_log(student_dir, f"grading took longer than {STUDENT_TIMEOUT} s")
        failure = f"grading took longer than {STUDENT_TIMEOUT} s (see its grader.log)"
    if status == "grader failed":
        return name, status, time.perf_counter() - start, failure
    if status == "graded" and run.only:
        _merge_check(student_dir, partial, run.only)
    if status == "graded" and _internal_errors(stored_file):
        # The grader failed on its side: never a zero for the student, never reused (no stamp).
        _write_log(student_dir, proc.stdout + proc.stderr)
        return name, "internal error", time.perf_counter() - start, _internal_errors(stored_file)[0]
    if status == "graded":
        _add_note(student_dir, note)
    if status == "graded" and not run.only:
        reporters.write_text(os.path.join(student_dir, resume.STAMP), source + "\n")
    return name, status, time.perf_counter() - start, note


def _internal_errors(stored_file):
    """The internal errors of a stored Result (the grader's faults) as text, [] when none or unreadable."""
    try:
        return [str(e) for e in stored.read(stored_file).internal_errors]
    except (OSError, ValueError):
        return []


def _readable(stored_file):
    """True when ``stored_file`` holds a Result this grader reads (not missing, not an older grader's)."""
    try:
        stored.read(stored_file)
    except (OSError, ValueError):
        return False
    return True


def _forget_stamp(student_dir):
    """A zero Result written here replaces any earlier grade: the next run must not call it unchanged."""
    path = os.path.join(student_dir, resume.STAMP)
    if os.path.lexists(path):
        os.remove(path)


def _add_note(student_dir, note):
    """Add ``note`` (what was left out of the submission) to the stored Result, once."""
    if not note:
        return
    stored_file = os.path.join(student_dir, RESULT_FILE)
    try:
        result = stored.read(stored_file)
    except (OSError, ValueError):
        return
    if note not in result.notes:
        _publish(student_dir, dataclasses.replace(result, notes=[*result.notes, note]))


def not_collected(name, row, run):
    """The zero Result for a student on collect's manifest with nothing collected: status "missing".

    Returns (name, status, seconds, why), ``why`` the manifest's reason.  Whatever an
    earlier run left in the student's folder is not graded: it is not what stood at this deadline.
    """
    student_dir = os.path.join(run.out, "students", name)
    os.makedirs(student_dir, exist_ok=True)
    if final_grades.nothing_collected(row) or (row.get("problems") or "").strip() or "commit" not in row:
        why = final_grades.missing_reason(row)
    else:
        why = f"collect collected commit {one_line(row.get('commit'), 12)}, but its folder is not in {run.submissions}"
    _publish(student_dir, results.nothing_to_grade(run.rubric, name, f"{name}: nothing was collected ({why})."))
    _forget_stamp(student_dir)
    return name, "missing", 0.0, why


def _publish(student_dir, result):
    """Store ``result`` and write its readable report, as the grading process does."""
    reporters.write(result, "result", os.path.join(student_dir, RESULT_FILE))
    reporters.write(result, "gradescope", os.path.join(student_dir, REPORT_FILE))


def _merge_check(student_dir, partial_file, check_id):
    """Replace check ``check_id`` of the stored Result by the one in ``partial_file``."""
    partial = stored.read(partial_file)
    try:
        base = stored.read(os.path.join(student_dir, RESULT_FILE))
    except (OSError, ValueError):
        base = partial  # nothing stored yet: the regraded check is all there is
    _publish(student_dir, results.merge(base, partial, check_id))
    os.remove(partial_file)


def _repo_root():
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _write_log(student_dir, text):
    reporters.write_text(os.path.join(student_dir, "grader.log"), text[-20000:])


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
    manifest = final_grades.read_manifest(run.submissions)
    if not students and not manifest:
        raise UsageError(f"{run.submissions} has no student folders")
    # A student on collect's manifest with nothing collected (no folder, or no commit: an earlier run's
    # folder is not this deadline's work) still gets a row: status missing, 0, and the manifest's reason.
    missing = sorted(name for name, row in (manifest or {}).items()
                     if name not in students or final_grades.nothing_collected(row))
    students = sorted(set(students) | set(missing))
    book = final_grades.gradebook_path(rubric, run.gradebook)
    written_scores = written.read(book, rubric.written, students) if (rubric.written and book) else None
    os.makedirs(run.out, exist_ok=True)
    print(f"Grading {len(students)} submissions, {run.jobs} at a time, into {run.out}/; "
          f"isolation: {sandbox.DESCRIPTIONS[run.sandbox]}")
    start = time.perf_counter()
    statuses, reasons = {}, {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=run.jobs) as pool:
        futures = [pool.submit(grade_student, name, os.path.join(run.submissions, name), run, grader)
                   if name not in missing else pool.submit(not_collected, name, manifest[name], run)
                   for name in students]
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            name, status, seconds, why = future.result()
            statuses[name], reasons[name] = status, why
            print(f"[{done}/{len(students)}] {one_line(name, 120)}: {status}"
                  + (f" ({seconds:.1f} s)" if seconds else "")
                  + (f": {one_line(why, 400)}" if why and status in WHY_SHOWN else ""),
                  flush=True)
    elapsed = time.perf_counter() - start
    summary = class_report.write(run.out, students, rubric, statuses, manifest, written_scores, reasons)
    failed = [one_line(name, 120) for name, status in statuses.items()
              if status in ("grader failed", "internal error")]
    absent = sum(status == "missing" for status in statuses.values())
    print(f"Done in {elapsed:.0f} s: mean score {summary['mean']:.1f} / {rubric.total} over {summary['counted']} "
          f"student(s)" + (f" ({absent} missing, not counted)" if absent else "")
          + f"; wrote grades.csv, report.md, scores.png, checks.png to {run.out}/")
    if failed:
        print(f"The grader failed for {len(failed)} student(s) ({', '.join(failed)}): "
              f"see students/<name>/grader.log; their rows in grades.csv are empty.", file=sys.stderr)
        return 3
    return 0
