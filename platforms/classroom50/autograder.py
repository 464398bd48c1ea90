"""Classroom 50 autograder for Lab 6 (CLASSROOM/autograders/lab6_generative/autograder.py).

The Classroom 50 runner starts this script once per submission with the
student's checkout as the working directory and this folder (the bundle) in
$CLASSROOM50_BUNDLE_DIR.  It

1. installs CPU-only torch/torchvision and the grader's requirements into the
   runner's Python (skipped when LAB6_SKIP_INSTALL=1);
2. grades the checkout with the Lab 6 autograder from the bundle
   (grader/autograder + grader/grading.yml: public AND hidden checks), the
   student's code running in the engine's isolated worker;
3. writes ./result.json (schema classroom50/result/v1: integer score and
   max-score equal to the sums over tests, one row per rubric check) and
   ./release-body.md (the score table, for the submission's Release).

Exit 0 whenever grading ran, whatever the score; non-zero only when the
grading itself could not run (the runner then records status=error).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PACKAGE = "lab6_generative"
GRADE_TIMEOUT = 12 * 60  # seconds; the runner's job has 15 minutes in all


def log(message):
    print(f"[lab6 autograder] {message}", flush=True)


def bundle_dir():
    return Path(os.environ.get("CLASSROOM50_BUNDLE_DIR") or Path(__file__).resolve().parent).resolve()


def install(bundle):
    """pip install CPU torch, then the grader's requirements (no-ops when already satisfied)."""
    if os.environ.get("LAB6_SKIP_INSTALL") == "1":
        log("LAB6_SKIP_INSTALL=1: using the packages already installed")
        return
    for requirements in ("torch-cpu.txt", "requirements.txt"):
        cmd = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check",
               "-r", str(bundle / "grader" / requirements)]
        log(" ".join(cmd[2:]))
        subprocess.run(cmd, check=True)


def grade(bundle, checkout, work):
    """Run the engine on the checkout; it writes ./result.json itself. Returns the summary markdown.

    The engine's Classroom 50 reporter writes one row per rubric check and,
    under the runner (``CLASSROOM`` set), the identity fields.  Raises when
    the grader itself failed (any non-zero exit but 3: the checkout was
    checked to contain the package, so a usage error is the grader's fault).
    """
    grader = bundle / "grader"
    env = dict(os.environ)
    # The engine's GitHub reporter writes here; the runner makes its own
    # summary and outputs from result.json, so keep ours apart.
    env["GITHUB_STEP_SUMMARY"] = str(work / "summary.md")
    env["GITHUB_OUTPUT"] = str(work / "github_output")
    cmd = [sys.executable, "-m", "autograder", "grade", str(checkout),
           "--report", f"classroom50={checkout / 'result.json'}", "--report", "github",
           "--report", f"gradescope={work / 'results.json'}"]
    log(f"grading {checkout} with the autograder in {grader}")
    proc = subprocess.run(cmd, cwd=grader, env=env, timeout=GRADE_TIMEOUT)
    if proc.returncode == 3:
        # Grading completed, but some test hit an internal grader error (it scored 0).
        log("warning: a check hit an internal grader error; see the log above")
    elif proc.returncode != 0:
        raise RuntimeError(f"the autograder exited with status {proc.returncode}")
    return (work / "summary.md").read_text(encoding="utf-8") if (work / "summary.md").exists() else ""


def write_zero_result(bundle, checkout, message):
    """./result.json for a checkout without the package: the engine's zero Result, through its reporter."""
    sys.path.insert(0, str(bundle / "grader"))
    from autograder import reporters, results, rubric

    loaded = rubric.load(str(bundle / "grader" / "grading.yml"))
    reporters.write(results.nothing_to_grade(loaded, str(checkout), message), "classroom50", "result.json")


def has_package(bundle, checkout):
    """Whether the checkout holds the package at its top (the engine's own finder decides)."""
    sys.path.insert(0, str(bundle / "grader"))
    from autograder.submission import AT_THE_TOP, find_package

    return find_package(str(checkout), max_depth=AT_THE_TOP) is not None


def main():
    bundle, checkout = bundle_dir(), Path.cwd()
    log(f"bundle {bundle}; student checkout {checkout}; Python {sys.version.split()[0]}")
    try:
        install(bundle)
    except subprocess.CalledProcessError as err:
        log(f"installing the grader's requirements failed ({err}); nothing graded")
        return 1
    work = Path(tempfile.mkdtemp(prefix="lab6-grade-"))
    try:
        if not has_package(bundle, checkout):
            # Nothing to grade is a grade (0), not an infrastructure error.
            log(f"no {PACKAGE}/ folder at the top of the repository: every check scores 0")
            write_zero_result(bundle, checkout, f"No {PACKAGE}/ folder at the top of the repository: "
                                                "nothing to grade.")
            summary = f"No `{PACKAGE}/` folder at the top of the repository: nothing to grade."
        else:
            try:
                summary = grade(bundle, checkout, work)
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as err:
                log(f"grading failed: {err}")
                return 1
        result = json.loads(Path("result.json").read_text(encoding="utf-8"))
        body = [f"## Lab 6: {result['score']}/{result['max-score']} points", "", summary.strip()]
        Path("release-body.md").write_text("\n".join(body).strip() + "\n", encoding="utf-8")
        log(f"score {result['score']}/{result['max-score']}; wrote result.json and release-body.md")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
