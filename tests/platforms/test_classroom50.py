"""The Classroom 50 bundle (make classroom50 OUT=DIR): built, then run as the
Classroom 50 runner runs it (student checkout as working directory, the
bundle in $CLASSROOM50_BUNDLE_DIR, the runner's environment variables)."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from platforms import common
from support import platform_tools as testing

pytestmark = pytest.mark.slow

ROOT = Path(common.ROOT)
LIMIT = 10 * 1000 * 1000


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = testing.build_platform("classroom50", tmp_path_factory.mktemp("c50") / "lab6_generative")
    return out


def runner_env(bundle, **extra):
    return testing.offline_env(
        CLASSROOM50_BUNDLE_DIR=str(bundle), CLASSROOM="ml-fall", ASSIGNMENT="lab6_generative",
        SUBMISSION_TAG="submit/2026-11-24T10-00-00Z-abc1234", OWNER="alice", USERNAME="alice",
        ASSIGNMENT_TYPE="individual", COMMIT_URL="https://github.com/ml-fall/lab6-alice/commit/abc1234",
        RELEASE_URL="https://github.com/ml-fall/lab6-alice/releases/tag/submit%2Fx",
        PIP_DRY_RUN="1", **extra)


def student_checkout(tmp_path, solutions):
    """A student's repository: the release's files, committed with git."""
    repo = tmp_path / "checkout"
    shutil.copytree(ROOT / "assignment", repo, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    if solutions:
        testing.copy_solutions_into(str(repo))
    git = ["git", "-c", "user.name=Alice", "-c", "user.email=alice@example.com"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "work", "--date", "2026-11-20T12:00:00Z"], cwd=repo, check=True,
                   env=dict(os.environ, GIT_COMMITTER_DATE="2026-11-20T12:00:00+00:00"))
    return repo


def run_autograder(bundle, checkout, python, **env):
    return subprocess.run([python, str(bundle / "autograder.py")], cwd=checkout, env=runner_env(bundle, **env),
                          capture_output=True, text=True, timeout=600)


def check_schema(result):
    assert result["schema"] == "classroom50/result/v1"
    for key in ("classroom", "assignment", "submission", "commit", "release", "review", "datetime"):
        assert isinstance(result[key], str) and result[key], key
    assert type(result["score"]) is int and type(result["max-score"]) is int
    assert result["score"] == sum(t["score"] for t in result["tests"])
    assert result["max-score"] == sum(t["max-score"] for t in result["tests"])
    for t in result["tests"]:
        assert isinstance(t["test-name"], str) and type(t["passed"]) is bool
        assert type(t["score"]) is int and type(t["max-score"]) is int and 0 <= t["score"] <= t["max-score"]
        assert t["passed"] == (t["score"] == t["max-score"])


def test_bundle_content_and_size(bundle):
    assert (bundle / "autograder.py").is_file() and (bundle / "grader/grading.yml").is_file()
    shipped = {p.name for p in (bundle / "grader/autograder/checks").glob("test_*.py")}
    assert shipped == {common.check_file(c) for c in common.load_rubric()}, "all checks, hidden included"
    assert "--index-url https://download.pytorch.org/whl/cpu" in (bundle / "grader/torch-cpu.txt").read_text()
    assert testing.HYPOTHESIS_PIN in (bundle / "grader/requirements.txt").read_text().splitlines(), "the examples tried"
    runtime = json.loads((bundle / "runtime.json").read_text())
    assert runtime["python"] and runtime["runs-on"] == "ubuntu-latest"
    readme = (bundle / "README.md").read_text()
    assert "public" in readme and "unchangeable, not unreadable" in readme and "3.12" in readme
    from platforms.classroom50.build import bundle_tar_size

    assert common.tree_size(bundle) < LIMIT and bundle_tar_size(bundle) < LIMIT
    files = testing.text_files(bundle)
    assert not [rel for rel in files if rel.split(os.sep)[0] in ("solutions", "assignment")]
    # Instructor-side bundles carry the hidden checks (whose hints may quote a line of
    # the solution) but nothing from solutions/: no solution region, no nbgrader marker.
    everything = "\n".join(files.values())
    assert not [m for m in testing.SOLUTION_MARKERS if m in everything]
    assert not [r for r in testing.solution_regions().values() if "\n".join(r) in everything]


def test_stubs_grade_to_zero_with_one_row_per_check(bundle, tmp_path, clean_python):
    checkout = student_checkout(tmp_path, solutions=False)
    proc = run_autograder(bundle, checkout, clean_python)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads((checkout / "result.json").read_text())
    check_schema(result)
    assert result["score"] == 0 and result["max-score"] == 100
    assert [t["test-name"] for t in result["tests"]] == common.check_ids()
    assert result["classroom"] == "ml-fall" and result["submission"].startswith("submit/")
    assert result["datetime"] == "2026-11-20T12:00:00Z"  # the graded commit's committer date
    assert (checkout / "release-body.md").read_text().startswith("## Lab 6: 0/100")


def test_points_add_up_per_check(bundle, tmp_path, clean_python):
    # Only the warm-up done: its check earns all its points, every other check none.
    checkout = student_checkout(tmp_path, solutions=False)
    shutil.copyfile(ROOT / "solutions/lab6_generative/schedules.py", checkout / "lab6_generative/schedules.py")
    proc = run_autograder(bundle, checkout, clean_python)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads((checkout / "result.json").read_text())
    check_schema(result)
    rows = {t["test-name"]: t for t in result["tests"]}
    warmup = next(c for c in common.load_rubric() if c.id == "warmup")
    assert rows["warmup"]["passed"] and rows["warmup"]["score"] == warmup.points
    assert result["score"] == warmup.points and result["max-score"] == 100
    assert not any(t["passed"] for name, t in rows.items() if name != "warmup")
    assert not rows["kl_analytic"]["passed"] and rows["kl_analytic"]["score"] == 0


def test_a_repository_without_the_package_gets_a_zero_not_an_error(bundle, tmp_path, clean_python):
    checkout = tmp_path / "empty"
    checkout.mkdir()
    (checkout / "README.md").write_text("nothing here\n")
    proc = run_autograder(bundle, checkout, clean_python)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads((checkout / "result.json").read_text())
    check_schema(result)
    assert result["score"] == 0 and result["max-score"] == 100


def test_a_broken_grader_is_an_infrastructure_error(bundle, tmp_path, clean_python):
    broken = tmp_path / "bundle"
    shutil.copytree(bundle, broken)
    (broken / "grader/grading.yml").write_text("total: 100\nchecks: []\n")
    checkout = student_checkout(tmp_path, solutions=True)
    proc = run_autograder(broken, checkout, clean_python)
    assert proc.returncode != 0
    assert not (checkout / "result.json").exists()
