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
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SCHEMA = "classroom50/result/v1"
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


def committer_date(checkout):
    """The graded commit's committer date in UTC (ISO 8601, Z), or None outside git."""
    try:
        out = subprocess.run(["git", "-C", str(checkout), "log", "-1", "--format=%ct"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0 or not out.stdout.strip().isdigit():
        return None
    when = datetime.datetime.fromtimestamp(int(out.stdout.strip()), datetime.timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def rows_per_check(gradescope_result):
    """One classroom50 row per rubric check from the engine's results.json.

    The engine reports every test of a check (tagged with the check id); the
    rubric's unit is the check, so its tests' points are added up.  Raises
    ValueError when the file is not usable.
    """
    tests = gradescope_result.get("tests")
    if not isinstance(tests, list) or not tests:
        raise ValueError("the engine's results.json has no tests")
    rows = {}
    for t in tests:
        tags = t.get("tags") or []
        if not tags:
            raise ValueError(f"a test has no check id tag: {t.get('name')!r}")
        row = rows.setdefault(tags[0], {"test-name": tags[0], "passed": True, "score": 0, "max-score": 0})
        score, max_score = int(round(t.get("score") or 0)), int(round(t["max_score"]))
        row["score"] += score
        row["max-score"] += max_score
        if score < max_score and "message" not in row:
            row["message"] = f"{t.get('name', '')}: {t.get('output', '')}"[:500]
    for row in rows.values():
        row["passed"] = row["score"] == row["max-score"]
    return list(rows.values())


def identity(checkout):
    """The submission's identity fields, from the runner's environment."""
    env = os.environ
    commit = env.get("COMMIT_URL", "")
    fields = {
        "classroom": env.get("CLASSROOM", ""),
        "assignment": env.get("ASSIGNMENT", "lab6_generative"),
        "submission": env.get("SUBMISSION_TAG", ""),
        "commit": commit,
        "release": env.get("RELEASE_URL", ""),
        "review": env.get("REVIEW_URL") or commit,
        "datetime": committer_date(checkout) or now(),
        "graded_at": now(),
    }
    return fields


def grade(bundle, checkout, work):
    """Run the engine on the checkout; returns (classroom50 rows, summary markdown).

    Raises when the grader itself failed (any non-zero exit: the checkout was
    checked to contain the package, so a usage error is the grader's fault).
    """
    grader = bundle / "grader"
    out_gs = work / "results.json"  # the engine's Gradescope-format report: one entry per test
    env = dict(os.environ)
    # The engine's GitHub reporter writes here; the runner makes its own
    # summary and outputs from result.json, so keep ours apart.
    env["GITHUB_STEP_SUMMARY"] = str(work / "summary.md")
    env["GITHUB_OUTPUT"] = str(work / "github_output")
    cmd = [sys.executable, "-m", "autograder", "grade", str(checkout),
           "--results", str(out_gs), "--github"]
    log(f"grading {checkout} with the autograder in {grader}")
    proc = subprocess.run(cmd, cwd=grader, env=env, timeout=GRADE_TIMEOUT)
    if proc.returncode == 3:
        # Grading completed, but some test hit an internal grader error (it scored 0).
        log("warning: a check hit an internal grader error; see the log above")
    elif proc.returncode != 0:
        raise RuntimeError(f"the autograder exited with status {proc.returncode}")
    with open(out_gs, encoding="utf-8") as f:
        rows = rows_per_check(json.load(f))
    summary = (work / "summary.md").read_text(encoding="utf-8") if (work / "summary.md").exists() else ""
    return rows, summary


def empty_rows(bundle):
    """One failed row per rubric check (for a submission without the package)."""
    import yaml  # installed with the grader's requirements

    with open(bundle / "grader" / "grading.yml", encoding="utf-8") as f:
        rubric = yaml.safe_load(f)
    checks = rubric["checks"]
    if isinstance(checks, dict):
        checks = [dict(v or {}, id=k) for k, v in checks.items()]
    return [{"test-name": c["id"], "passed": False, "score": 0, "max-score": int(c.get("points", 0)),
             "message": f"no {PACKAGE}/ folder in the repository"} for c in checks]


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
        if not (checkout / PACKAGE).is_dir():
            # Nothing to grade is a grade (0), not an infrastructure error.
            log(f"no {PACKAGE}/ folder at the top of the repository: every check scores 0")
            rows = empty_rows(bundle)
            summary = f"No `{PACKAGE}/` folder at the top of the repository: nothing to grade."
        else:
            try:
                rows, summary = grade(bundle, checkout, work)
            except (RuntimeError, ValueError, KeyError, OSError, subprocess.TimeoutExpired) as err:
                log(f"grading failed: {err}")
                return 1
        result = {"schema": SCHEMA, **identity(checkout),
                  "score": sum(r["score"] for r in rows),
                  "max-score": sum(r["max-score"] for r in rows),
                  "tests": rows}
        Path("result.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        body = [f"## Lab 6: {result['score']}/{result['max-score']} points", "", summary.strip()]
        Path("release-body.md").write_text("\n".join(body).strip() + "\n", encoding="utf-8")
        log(f"score {result['score']}/{result['max-score']}; wrote result.json and release-body.md")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
