"""Grade a whole class: ``python -m autograder grade-all SUBMISSIONS_DIR --jobs N --out DIR``.

SUBMISSIONS_DIR holds one folder per student, named by the student, each a
student's repository (with ``lab6_generative/`` inside, at the top or one
level down).  Every student is graded by its own ``python -m autograder
grade`` process, ``--jobs`` at a time, so one submission can never stop or
slow down the others' grading beyond its own time limits.  Into DIR go:

    students/<name>/results.json   the student's full report (Gradescope format)
    students/<name>/source.sha256  what was graded, for --resume
    grades.csv                     student, score, points per rubric check (for an LMS)
    report.md, scores.png, checks.png   the class report (see class_report.py)

Run it again and it resumes: a student whose results exist for the same
submission files and the same grader (rubric and check files) is not graded
again (``--regrade`` grades everyone).  ``--only ID`` regrades one check
for everyone and merges it into their results.  This
run is the authoritative grade: students control their own repositories and
workflows, so the on-push run is feedback.
"""
import concurrent.futures
import hashlib
import json
import os
import subprocess
import sys
import time

from . import gradebook, rubric as rubric_mod, sandbox, written
from .cli import add_sandbox_option
from .errors import UsageError

PACKAGE = "lab6_generative"
STUDENT_TIMEOUT = 600  # seconds: a backstop far above the engine's own limits
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


def find_package_root(folder):
    """The folder holding ``lab6_generative/``: ``folder`` itself or a single subfolder of it."""
    if os.path.isdir(os.path.join(folder, PACKAGE)):
        return folder
    inner = [os.path.join(folder, d) for d in sorted(os.listdir(folder))
             if os.path.isdir(os.path.join(folder, d, PACKAGE))]
    return inner[0] if len(inner) == 1 else None


def fingerprint(folder):
    """sha256 over the names and bytes of the submission's Python files."""
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(root, name)
                digest.update(os.path.relpath(path, folder).encode() + b"\0")
                with open(path, "rb") as f:
                    digest.update(f.read() + b"\0")
    return digest.hexdigest()


def grader_fingerprint(args):
    """sha256 over the rubric and every check file that can run: a change regrades everyone."""
    digest = hashlib.sha256()
    rubric_path = args.rubric or rubric_mod.DEFAULT_PATH
    with open(rubric_path, "rb") as f:
        digest.update(f.read())
    for folder in [os.path.join(_repo_root(), "autograder")] + list(args.checks_dir):
        digest.update(fingerprint(folder).encode())
    return digest.hexdigest()


def grade_student(name, folder, out_dir, args, grader):
    """Grade one student in a subprocess. Returns (name, status, seconds); never raises.

    ``grader`` is ``grader_fingerprint(args)``: results are kept only while
    both the student's files and the grader are unchanged.  With ``--only``
    the one check is regraded and merged into the student's full results.
    """
    student_dir = os.path.join(out_dir, "students", name)
    os.makedirs(student_dir, exist_ok=True)
    results = os.path.join(student_dir, "results.json")
    stamp = os.path.join(student_dir, "source.sha256")
    root = find_package_root(folder)
    if root is None:
        _write_missing(results, name)
        return name, "no package", 0.0
    source = f"{fingerprint(root)} {grader}"
    if not args.regrade and not args.only and os.path.exists(results) and _read(stamp) == source:
        return name, "unchanged", 0.0
    target = os.path.join(student_dir, f"results-{args.only}.json") if args.only else results
    for stale in (target,) if args.only else (results, stamp):
        if os.path.exists(stale):
            os.remove(stale)
    cmd = [sys.executable, "-m", "autograder", "grade", os.path.abspath(root), "--results", target]
    if args.rubric:
        cmd += ["--rubric", args.rubric]
    for d in args.checks_dir:
        cmd += ["--checks-dir", d]
    if args.only:
        cmd += ["--only", args.only]
    cmd += ["--sandbox", args.sandbox]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=_repo_root(), capture_output=True, text=True, timeout=STUDENT_TIMEOUT,
                              env=grading_environment(), stdin=subprocess.DEVNULL)
        status = "graded" if proc.returncode in (0, 3) and os.path.exists(target) else "grader failed"
        if status != "graded":
            _write_log(student_dir, proc.stdout + proc.stderr)
    except subprocess.TimeoutExpired:
        status = "grader failed"
        _write_log(student_dir, f"grading took longer than {STUDENT_TIMEOUT} s")
    if status == "graded" and args.only:
        _merge_check(results, target, args.only)
    elif status == "graded":
        _write_atomic(stamp, source + "\n")
    return name, status, time.perf_counter() - start


def _merge_check(results, partial, check_id):
    """Replace check ``check_id``'s tests in ``results`` by those in ``partial`` (Gradescope format)."""
    with open(partial) as f:
        new = [t for t in json.load(f)["tests"] if check_id in t.get("tags", [])]
    try:
        with open(results) as f:
            data = json.load(f)
    except (OSError, ValueError):
        os.replace(partial, results)
        return
    data["tests"] = [t for t in data.get("tests", []) if check_id not in t.get("tags", [])] + new
    data["score"] = sum(t["score"] for t in data["tests"])
    _write_atomic(results, json.dumps(data, indent=2))
    os.remove(partial)


def _repo_root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _write_atomic(path, text):
    with open(f"{path}.tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(f"{path}.tmp", path)


def _write_log(student_dir, text):
    _write_atomic(os.path.join(student_dir, "grader.log"), text[-20000:])


def _write_missing(path, name):
    """A zero report for a folder without the package, in the same format as every other."""
    _write_atomic(path, json.dumps({"score": 0, "execution_time": 0, "tests": [],
                                    "output": f"{name}: no {PACKAGE}/ folder found in the submission."}, indent=2))


def run_grade_all(args):
    from . import class_report

    if not os.path.isdir(args.submissions):
        raise UsageError(f"submissions folder {args.submissions} does not exist")
    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise UsageError(f"--out {args.out} is a file: give a folder for the results")
    # The grading processes run from the repository root: hand them absolute paths.
    args.out = os.path.abspath(args.out)
    args.rubric = os.path.abspath(args.rubric) if args.rubric else None
    args.checks_dir = [os.path.abspath(d) for d in args.checks_dir]
    rubric = rubric_mod.load(args.rubric) if args.rubric else rubric_mod.load()
    if args.only and args.only not in [c.id for c in rubric.checks]:
        raise UsageError(f"--only {args.only}: no such check in the rubric "
                         f"({', '.join(c.id for c in rubric.checks)})")
    args.sandbox = sandbox.choose(args.sandbox)
    if args.sandbox == "none" and not args.allow_unsandboxed:
        raise UsageError("no sandbox works on this machine (see `python -m autograder doctor`): student code "
                         "would run with your rights; grade inside a Linux container (README), or pass "
                         "--allow-unsandboxed if you trust every submission")
    sandbox.harden_grader()
    grader = grader_fingerprint(args)
    students = sorted(d for d in os.listdir(args.submissions)
                      if os.path.isdir(os.path.join(args.submissions, d)) and not d.startswith("."))
    if not students:
        raise UsageError(f"{args.submissions} has no student folders")
    manifest = gradebook.read_manifest(args.submissions)
    book = gradebook.gradebook_path(rubric, args.gradebook)
    if args.gradebook and not rubric.written:
        raise UsageError(f"--gradebook given, but {rubric.path} has no written: entry to say what to read")
    written_scores = written.read(book, rubric.written, students) if (rubric.written and book) else None
    os.makedirs(args.out, exist_ok=True)
    print(f"Grading {len(students)} submissions, {args.jobs} at a time, into {args.out}/; "
          f"isolation: {sandbox.DESCRIPTIONS[args.sandbox]}")
    start = time.perf_counter()
    statuses = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(grade_student, name, os.path.join(args.submissions, name), args.out, args, grader)
                   for name in students]
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            name, status, seconds = future.result()
            statuses[name] = status
            print(f"[{done}/{len(students)}] {name}: {status}" + (f" ({seconds:.1f} s)" if seconds else ""),
                  flush=True)
    elapsed = time.perf_counter() - start
    summary = class_report.write(args.out, students, rubric, statuses, manifest, written_scores)
    failed = [name for name, status in statuses.items() if status == "grader failed"]
    print(f"Done in {elapsed:.0f} s: mean score {summary['mean']:.1f} / {rubric.total}; "
          f"wrote grades.csv, report.md, scores.png, checks.png to {args.out}/")
    if failed:
        print(f"The grader failed for {len(failed)} student(s) ({', '.join(failed)}): "
              f"see students/<name>/grader.log; their rows in grades.csv are empty.", file=sys.stderr)
        return 3
    return 0
