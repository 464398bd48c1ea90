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
from autograder.sandbox import safefs# noqa: E402
from autograder.submission import IN_AN_UPLOAD, PACKAGE, find_package  # noqa: E402
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


def loose_modules(submission, base_package, limits):
    """{module file name: path} of uploaded regular files that replace modules of the package.

    The upload is hostile data read as root: ``safefs.walk`` never follows a
    link, never opens a pipe or device, and stops at the rubric's limits.
    """
    wanted = {n for n in os.listdir(base_package) if n.endswith(".py")}
    found = {}
    for entry in safefs.walk(submission, limits):
        name = entry.rel.rsplit("/", 1)[-1]
        if entry.kind == "file" and name in wanted and name not in found and not any(
                part.startswith(".") for part in entry.rel.split("/")[:-1]):
            found[name] = entry.path
    return found


def _copy_module(src, target, limit):
    """Copy one uploaded regular file (never a link, pipe or device; at most ``limit`` bytes)."""
    fd, info = safefs.open_regular(src)
    try:
        if info.st_size > limit:
            raise safefs.TooLarge(f"{os.path.basename(src)} is larger than {limit // 2**20} MB", "submission_mb")
        data, left = [], info.st_size
        while left > 0:
            chunk = os.read(fd, min(left, 2**20))
            if not chunk:
                break
            data.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    with open(target, "wb") as f:
        f.write(b"".join(data))


def assemble(submission, source, work, limits):
    """A folder containing the submission's ``lab6_generative/``; None if there is nothing to grade.

    The copy lives in ``work`` (readable by everyone, writable by the grader
    only), so student code never runs from Gradescope's own folders.  Raises
    ``safefs.TooLarge`` when the submission is over the rubric's limits.
    """
    target = os.path.join(work, "submission")
    top = find_package(submission, max_depth=IN_AN_UPLOAD, limits=limits)
    if top is not None:
        log(f"found {os.path.relpath(os.path.join(top, PACKAGE), submission)}/ in the submission")
        # Links are copied as links, never followed: this runs as root, and a link to
        # /autograder/source would otherwise copy the hidden checks within the student's reach.
        safefs.copy_tree(os.path.join(top, PACKAGE), os.path.join(target, PACKAGE), limits)
    else:
        base = os.path.join(source, "base", PACKAGE)
        modules = loose_modules(submission, base, limits)
        if not modules:
            return None
        log(f"no {PACKAGE}/ folder; using the uploaded {', '.join(sorted(modules))} "
            "with the rest of the student release")
        shutil.copytree(base, os.path.join(target, PACKAGE))   # our own release: trusted
        for name, src in modules.items():
            _copy_module(src, os.path.join(target, PACKAGE, name), int(limits.submission_mb * 2**20))
    for entry in [safefs.Entry(work, "", "dir", 0, 0), *safefs.walk(work, limits)]:
        if entry.kind == "dir":
            os.chmod(entry.path, 0o755)
        elif entry.kind == "file":
            os.chmod(entry.path, 0o644)
    return target


def nothing_to_grade(results_file, source, message=None):
    """results.json for a submission without the package: the engine's zero Result, through its reporter."""
    from autograder import reporters, results, rubric

    message = message or (f"No {PACKAGE}/ folder (and no vae.py or schedules.py) in your submission. Submit "
                          f"your GitHub repository, or upload the folder {PACKAGE}/ or the files vae.py and "
                          "schedules.py.")
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
        from autograder import rubric

        limits = rubric.load(os.path.join(p["source"], "grader", "grading.yml")).limits
        try:
            submission = assemble(p["submission"], p["source"], work, limits)
        except safefs.TooLarge as err:
            log(f"not graded: {err.reason}")
            nothing_to_grade(p["results"], p["source"], f"Not graded: {err.reason}.")
            return 0
        if submission is None:
            log("nothing to grade")
            nothing_to_grade(p["results"], p["source"])
            return 0
        os.makedirs(os.path.dirname(p["results"]), exist_ok=True)
        if os.path.exists(p["results"]):
            os.remove(p["results"])
        cmd = [sys.executable, "-m", "autograder", "grade", submission, "--report", f"gradescope={p['results']}"]
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
