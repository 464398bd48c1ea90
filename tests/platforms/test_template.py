"""The student template (make template OUT=DIR) and its on-push grading workflow.

The template is built by the real command, its workflow is linted with
actionlint, and its `run:` steps are executed in order, as a GitHub runner
would, on the stubs, on the reference solutions, and with the hidden checks
checked out, using a Python that cannot see this repository's own grader.
"""
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from pathlib import Path

from platforms import common
from support import platform_tools as testing

ROOT = Path(common.ROOT)          # the course repository the platforms are built from
HOME = Path(common.HERE).parent   # where the platforms package lives (the same folder)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    out = testing.build_platform("platforms.template", tmp_path_factory.mktemp("template") / "lab6-template")
    return out


@pytest.fixture
def repo(template, tmp_path):
    """A fresh copy of the template, as a student would clone it."""
    dst = tmp_path / "student-repo"
    shutil.copytree(template, dst)
    return dst


def rubric():
    return common.load_rubric()


def points(visibility=None):
    return sum(c.points for c in rubric() if visibility in (None, c.visibility))


# --- content --------------------------------------------------------------

def test_template_has_the_student_release_and_the_grading_workflow(template):
    for rel in ("lab6_generative/vae.py", "lab6_generative/schedules.py", "tests", "pytest.ini",
                "requirements.txt", "README.md", ".gitignore", ".github/workflows/grade.yml", "ci/grade.sh",
                "ci/torch-cpu.txt", ".grader/autograder/__main__.py", ".grader/grading.yml",
                ".grader/requirements.txt"):
        assert (template / rel).exists(), f"{rel} missing from the template"
    assert os.access(template / "ci/grade.sh", os.X_OK)
    for folder in common.INSTRUCTOR_ONLY:  # e.g. the audit: the instructor's checkout only
        assert not (template / ".grader" / "autograder" / folder).exists(), f"{folder} shipped to students"
    # Everything in assignment/ is there, unchanged.
    for rel, text in testing.text_files(ROOT / "assignment").items():
        if set(Path(rel).parts) & common.EXCLUDE_DIRS or rel.endswith(".pyc"):
            continue
        shipped = (template / rel).read_text(encoding="utf-8", errors="replace")
        if rel == "README.md":  # the release's README, then how grading works on GitHub
            assert shipped.startswith(text.rstrip("\n")) and len(shipped) > len(text)
        else:
            assert shipped == text, f"{rel} differs"
    torch_cpu = (template / "ci/torch-cpu.txt").read_text()
    assert "--index-url https://download.pytorch.org/whl/cpu" in torch_cpu
    for req in common.torch_requirements():
        assert req in torch_cpu.splitlines()
    readme = (template / "README.md").read_text()
    for word in ("git clone", "pytest", "git push", "Summary", "Actions"):
        assert word in readme, f"the student README does not mention {word!r}"
    for check in rubric():
        assert f"`{check.id}`" in readme, f"the README's rubric lacks {check.id}"


def test_template_ships_public_checks_only(template):
    checks = template / ".grader/autograder/checks"
    shipped = {common.check_file_id(p.name) for p in checks.glob("test_*.py")}
    public = set(common.check_ids(visibility="public"))
    hidden = set(common.check_ids(visibility="hidden"))
    assert hidden, "the rubric has no hidden check: nothing to keep out"
    assert shipped == public & {common.check_file_id(p.name)
                                for p in (ROOT / "autograder/checks").glob("test_*.py")}
    files = testing.text_files(template)
    for cid in hidden:
        assert not [rel for rel in files if f"test_{cid}.py" in rel], f"hidden check {cid} shipped"
    # No line of a hidden check file shows up, unless the public grader or release has it too.
    public_text = "\n".join([text for rel, text in testing.text_files(ROOT / "autograder").items()
                             if common.check_file_id(os.path.basename(rel)) not in hidden]
                            + list(testing.text_files(ROOT / "assignment").values()))
    everything = "\n".join(files.values())
    for hidden_file in common.hidden_check_files():
        with open(hidden_file, encoding="utf-8") as f:
            lines = {line.strip() for line in f if len(line.strip()) >= 30}
        leaked = [line for line in lines if line not in public_text and line in everything]
        assert not leaked, f"lines of {hidden_file} in the template: {leaked[:3]}"


def test_template_has_no_solution_text(template):
    files = testing.text_files(template)
    for rel, text in files.items():
        for marker in testing.SOLUTION_MARKERS:
            assert marker not in text, f"{rel} contains {marker!r}"
    lines = testing.distinctive_solution_lines()
    assert len(lines) >= 5, "expected the reference's solution lines"
    everything = "\n".join(files.values())
    leaked = [line for line in lines if line in everything]
    assert not leaked, f"solution lines in the template: {leaked}"
    assert not [rel for rel in files if rel.split(os.sep)[0] in ("solutions", "release", "platforms")]


def test_template_refuses_to_overwrite_the_repository():
    proc = subprocess.run([sys.executable, "-m", "platforms.template", "--out", str(ROOT)], cwd=HOME,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "refusing" in proc.stderr
    assert (ROOT / "solutions").is_dir()


# --- the workflow: static checks ------------------------------------------

def test_workflow_passes_actionlint(template):
    from platforms.lint import actionlint

    code, output = actionlint.lint([str(template / ".github/workflows/grade.yml")])
    assert code == 0, output


def test_actionlint_catches_a_broken_workflow(template, tmp_path):
    from platforms.lint import actionlint

    text = (template / ".github/workflows/grade.yml").read_text()
    broken = text.replace("if: env.HAS_GRADER_TOKEN == 'true'", "if: secrets.GRADER_TOKEN != ''")
    assert broken != text
    bad = tmp_path / "grade.yml"
    bad.write_text(broken)
    code, output = actionlint.lint([str(bad)])
    assert code == 1 and "secrets" in output, output


def test_workflow_shape(template):
    workflow = testing.load_workflow(template / ".github/workflows/grade.yml")
    assert workflow["name"] == "Autograding Tests"  # what GitHub Classroom's reporter looks for
    assert set(workflow["on"]) == {"push", "workflow_dispatch"}
    job_id, job = testing.the_job(workflow)
    assert job_id == "run-autograding-tests"
    assert 0 < job["timeout-minutes"] <= 15
    steps = job["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert uses[0].startswith("actions/checkout@")
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python@"))
    assert python["with"]["cache"] == "pip"
    assert "ci/torch-cpu.txt" in python["with"]["cache-dependency-path"]
    hidden = [s for s in steps if s.get("uses", "").startswith("actions/checkout@") and "repository" in s.get("with", {})]
    assert len(hidden) == 1
    assert hidden[0]["with"]["token"] == "${{ secrets.GRADER_TOKEN }}"
    assert hidden[0]["with"]["path"] == ".grader-private"
    assert hidden[0]["if"] == "env.HAS_GRADER_TOKEN == 'true'"
    assert "secrets.GRADER_TOKEN" in job["env"]["HAS_GRADER_TOKEN"]
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["path"] == "results.json" and "cancelled()" in upload["if"]
    reporter = next(s for s in steps if s.get("uses", "").startswith("classroom-resources/autograding-grading-reporter@"))
    assert reporter["with"]["runners"] == "autograder"
    assert reporter["env"]["AUTOGRADER_RESULTS"] == "${{ steps.autograder.outputs.result }}"
    # Every command is one of ci/grade.sh's subcommands, which the tests below run.
    commands = [s["run"].strip() for s in testing.run_steps(workflow)]
    assert commands == ["bash ci/grade.sh install", "bash ci/grade.sh sandbox", "bash ci/grade.sh test",
                        "bash ci/grade.sh grade"]
    grade = next(s for s in steps if s.get("id") == "autograder")
    assert grade["run"].strip() == "bash ci/grade.sh grade"


def test_grader_repo_is_configurable(tmp_path):
    out = tmp_path / "t"
    proc = subprocess.run([sys.executable, "-m", "platforms.template", "--out", str(out), "--grader-repo",
                           "my-course/lab6-private", "--checks-path", "grader/checks"], cwd=HOME,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    job = testing.the_job(testing.load_workflow(out / ".github/workflows/grade.yml"))[1]
    hidden = next(s for s in job["steps"] if "repository" in s.get("with", {}))
    assert hidden["with"]["repository"] == "my-course/lab6-private"
    assert hidden["with"]["sparse-checkout"] == "grader/checks"
    assert job["env"]["GRADER_CHECKS_PATH"] == "grader/checks"
    bad = subprocess.run([sys.executable, "-m", "platforms.template", "--out", str(tmp_path / "u"),
                          "--grader-repo", "not a repo"], cwd=HOME, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2


# --- the workflow, run ----------------------------------------------------

def junit_outcomes(report):
    outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        bad = [child for child in case if child.tag in ("failure", "error")]
        outcomes[f"{case.get('classname')}::{case.get('name')}"] = (bad[0].tag, bad[0].get("message", "")) if bad else ("passed", "")
    return outcomes


def test_workflow_on_the_stubs_public_checks_only(repo, clean_python, tmp_path):
    report = tmp_path / "public.xml"
    steps, outputs = testing.run_workflow_locally(
        str(repo), clean_python, str(tmp_path / "gh"), step_env={"public-tests": {"PYTEST_ADDOPTS": f"--junitxml={report}"}})
    install, sandbox_step, public_tests, grade = steps
    assert install.returncode == 0, install.output[-2000:]
    assert sandbox_step.returncode == 0 and "grading here uses: bwrap" in sandbox_step.output, sandbox_step.output
    assert "Would install" not in install.output, "the pinned requirements do not match the environment"
    # The public tests fail, cleanly: every test fails with NotImplementedError, nothing errors.
    assert public_tests.returncode == 1, public_tests.output[-2000:]
    outcomes = junit_outcomes(report)
    assert len(outcomes) >= 20
    assert all(kind == "failure" and "NotImplementedError" in msg for kind, msg in outcomes.values()), outcomes
    # The autograder ran on the public checks only, and says so.
    assert grade.returncode == 0, grade.output[-3000:]
    assert "public checks only" in grade.output.lower()
    results = json.loads((repo / "results.json").read_text())
    assert results["score"] == 0
    hidden = set(common.check_ids(visibility="hidden"))
    for t in results["tests"]:
        if t["tags"][0] in hidden:  # reported, not run
            assert t["score"] == 0 and "not run" in t["output"], t
        else:
            assert "not implemented" in t["output"], t
    assert {t["tags"][0] for t in results["tests"]} == set(common.check_ids())
    summary = (tmp_path / "gh" / "summary.md").read_text()
    assert f"{points('hidden')} points are in hidden checks that were not run" in summary, summary
    reporter = testing.decode_result(outputs["autograder"]["result"])
    assert reporter["max_score"] == points()
    assert sum(t["score"] for t in reporter["tests"]) == 0
    assert reporter["status"] == "fail"
    assert "::error" in grade.output  # annotations


def test_workflow_on_the_solutions_with_the_hidden_checks(repo, clean_python, tmp_path):
    testing.copy_solutions_into(str(repo))
    # What actions/checkout of the private grader repository (make grader-repo) puts there.
    grader_repo = tmp_path / "lab6-grader"
    proc = subprocess.run([sys.executable, "-m", "platforms.grader_repo", "--out", str(grader_repo)], cwd=HOME,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    job = testing.the_job(testing.load_workflow(repo / ".github/workflows/grade.yml"))[1]
    shipped = sorted(p.name for p in (grader_repo / job["env"]["GRADER_CHECKS_PATH"]).iterdir())
    assert shipped == sorted(os.path.basename(f) for f in common.hidden_check_files())
    shutil.copytree(grader_repo, repo / ".grader-private")
    steps, outputs = testing.run_workflow_locally(str(repo), clean_python, str(tmp_path / "gh"))
    install, sandbox_step, public_tests, grade = steps
    assert public_tests.returncode == 0, public_tests.output[-3000:]
    assert grade.returncode == 0, grade.output[-3000:]
    assert "public checks only" not in grade.output.lower()
    results = json.loads((repo / "results.json").read_text())
    assert results["score"] == points() == 100, json.dumps(results, indent=1)[:3000]
    tagged = {tag for t in results["tests"] for tag in t.get("tags", [])}
    assert tagged == set(common.check_ids())
    reporter = testing.decode_result(outputs["autograder"]["result"])
    assert reporter["max_score"] == 100 and sum(t["score"] for t in reporter["tests"]) == 100
    assert reporter["status"] == "pass"
