"""Gradescope entry point for Lab 6 (called by run_autograder).

Grades Gradescope's submission folder with the Lab 6 engine and writes
Gradescope's results.json.  Paths default to Gradescope's layout and can be
moved with environment variables (this is how the repository's tests run it):

    AUTOGRADER_DIR     /autograder            (the root of everything below)
    source             $AUTOGRADER_DIR/source        this zip, unpacked
    submission         $AUTOGRADER_DIR/submission    the student's files
    results            $AUTOGRADER_DIR/results/results.json
    LAB6_STUDENT_USER  student   the unprivileged account that runs student
                                 code when this runs as root ("" to disable)

Students may submit their GitHub repository or upload files: the package
folder ``lab6_generative/`` is found at the top of the submission or below
it; loose ``vae.py`` / ``schedules.py`` uploads are laid over the student
release's package (shipped in ``base/``).
"""
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile

# The grader shipped in this zip (source/grader): the same engine, rubric reader and reporters as everywhere.
sys.path.insert(0, os.path.join(os.environ.get("AUTOGRADER_DIR", "/autograder"), "source", "grader"))
from autograder.submission import PACKAGE, find_package  # noqa: E402
GRADE_TIMEOUT = 20 * 60  # seconds; Gradescope's own limit is set in its settings (default 10 min)


def log(message):
    print(f"[lab6 autograder] {message}", flush=True)


def paths():
    root = os.environ.get("AUTOGRADER_DIR", "/autograder")
    return {
        "root": root,
        "source": os.path.join(root, "source"),
        "submission": os.path.join(root, "submission"),
        "results": os.path.join(root, "results", "results.json"),
    }


def loose_modules(submission, base_package):
    """{module file name: path} of uploaded files that replace modules of the package."""
    wanted = {n for n in os.listdir(base_package) if n.endswith(".py")}
    found = {}
    for folder, dirs, files in os.walk(submission):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = os.path.join(folder, name)
            if name in wanted and name not in found and not os.path.islink(path):  # never follow a link
                found[name] = path
    return found


def assemble(submission, source, work):
    """A folder containing the submission's ``lab6_generative/``; None if there is nothing to grade.

    The copy lives in ``work`` (readable by everyone, writable by the grader
    only), so student code never runs from Gradescope's own folders.
    """
    target = os.path.join(work, "submission")
    top = find_package(submission, max_depth=3)
    if top is not None:
        log(f"found {os.path.relpath(os.path.join(top, PACKAGE), submission)}/ in the submission")
        # Links are copied as links, never followed: this runs as root, and a link to
        # /autograder/source would otherwise copy the hidden checks within the student's reach.
        shutil.copytree(os.path.join(top, PACKAGE), os.path.join(target, PACKAGE), symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    else:
        base = os.path.join(source, "base", PACKAGE)
        modules = loose_modules(submission, base)
        if not modules:
            return None
        log(f"no {PACKAGE}/ folder; using the uploaded {', '.join(sorted(modules))} "
            "with the rest of the student release")
        shutil.copytree(base, os.path.join(target, PACKAGE))
        for name, src in modules.items():
            shutil.copyfile(src, os.path.join(target, PACKAGE, name))
    for folder, dirs, files in os.walk(work):
        os.chmod(folder, 0o755)
        for name in files:
            if not os.path.islink(os.path.join(folder, name)):
                os.chmod(os.path.join(folder, name), 0o644)
    return target


def nothing_to_grade(results_file, source):
    """results.json for a submission without the package: the engine's zero Result, through its reporter."""
    from autograder import reporters, results, rubric

    message = (f"No {PACKAGE}/ folder (and no vae.py or schedules.py) in your submission. Submit your "
               f"GitHub repository, or upload the folder {PACKAGE}/ or the files vae.py and schedules.py.")
    loaded = rubric.load(os.path.join(source, "grader", "grading.yml"))
    reporters.write(results.nothing_to_grade(loaded, paths()["submission"], message), "gradescope", results_file)


def student_user():
    """The account student code runs as, or None (not root, or disabled)."""
    name = os.environ.get("LAB6_STUDENT_USER", "student")
    if not name or os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(name)
    except KeyError:
        raise SystemExit(f"user {name!r} does not exist: setup.sh creates it (useradd)") from None
    return name


def main():
    p = paths()
    log(f"Python {sys.version.split()[0]}; grading {p['submission']}")
    user = student_user()
    env = dict(os.environ)
    if user:
        # The engine starts its worker (the process that imports the student's
        # code) as this user; the grader itself stays root, so the student's
        # code can neither signal it nor write the results.
        env["AUTOGRADER_WORKER_USER"] = user
        log(f"student code runs as the unprivileged user {user!r}")
        # The grader (root) alone reads its source, the hidden checks and the
        # results: the worker gets its own copy of what it needs (sandbox.Box),
        # and the sandbox (Landlock + seccomp here: Docker forbids bubblewrap's
        # namespaces) hides the rest of the file system besides.
        for folder in (p["source"], os.path.dirname(p["results"])):
            os.makedirs(folder, exist_ok=True)
            os.chmod(folder, 0o700)
    work = tempfile.mkdtemp(prefix="lab6-gradescope-")
    os.chmod(work, 0o755)
    try:
        submission = assemble(p["submission"], p["source"], work)
        if submission is None:
            log("nothing to grade")
            nothing_to_grade(p["results"], p["source"])
            return 0
        os.makedirs(os.path.dirname(p["results"]), exist_ok=True)
        if os.path.exists(p["results"]):
            os.remove(p["results"])
        cmd = [sys.executable, "-m", "autograder", "grade", submission, "--results", p["results"]]
        proc = subprocess.run(cmd, cwd=os.path.join(p["source"], "grader"), env=env, timeout=GRADE_TIMEOUT)
        if proc.returncode == 3 and os.path.exists(p["results"]):
            log("warning: a check hit an internal grader error (it scored 0); see the log above")
        elif proc.returncode != 0 or not os.path.exists(p["results"]):
            log(f"the autograder failed (exit status {proc.returncode}); no results written")
            return 1
        with open(p["results"], encoding="utf-8") as f:
            score = json.load(f).get("score")
        log(f"score {score}; wrote {p['results']}")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
