"""Helpers for the platform tests (tests/platforms/): a clean Python,
the workflow's run steps executed locally, and the solution text to look for.
"""
import base64
import os
import re
import shlex
import shutil
import site
import subprocess
import sys

import yaml

from autograder import facts
from platforms import common
from support import offline_env

# What every platform's grader must install: the hypothesis the course pins, so that the checks try the
# same examples on push, on Gradescope, in Classroom 50 and in grade-all (tests/unit/test_pins_unit.py
# checks that pyproject.toml, autograder/facts.py and this venv agree).
HYPOTHESIS_PIN = f"hypothesis=={facts.HYPOTHESIS_VERSION}"
SOLUTION_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
def base_python_for(user):
    """A base interpreter of this Python version that ``user`` can run, or None.

    The venv's own base (e.g. under /root/.pyenv) may be unreadable for an
    unprivileged account; the distribution's /usr/bin/pythonX.Y of the same
    version has the same ABI, so this venv's packages work with it.
    """
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (getattr(sys, "_base_executable", sys.executable), f"/usr/bin/python{version}"):
        if not candidate or not os.path.exists(candidate):
            continue
        try:
            proc = subprocess.run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                  user=user, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            continue
        if proc.returncode == 0 and proc.stdout.strip() == version:
            return candidate
    return None


def clean_python(folder, base=None):
    """A Python with this interpreter's installed packages but NOT this repository's ones.

    A venv whose only addition is a .pth line pointing at the current
    site-packages: torch & co. import, but the editable install of this
    repository's ``autograder`` (a meta-path finder registered by a .pth file
    that a plain path line does not run) is invisible, as on a GitHub runner
    or in Gradescope's image where only the shipped grader exists.
    ``base``: the interpreter to base the venv on (default: this one's base).
    """
    python = os.path.join(folder, "bin", "python")
    if os.path.exists(python):
        return python
    subprocess.run([base or sys.executable, "-m", "venv", "--without-pip", folder], check=True)
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    with open(os.path.join(purelib, "lab6_deps.pth"), "w") as f:
        f.write("\n".join(site.getsitepackages()) + "\n")
    check = subprocess.run([python, "-c", "import torch, yaml, pytest\n"
                            "try:\n import autograder\nexcept ImportError:\n pass\n"
                            "else:\n raise SystemExit('autograder importable: ' + autograder.__file__)"],
                           capture_output=True, text=True, cwd=folder)
    if check.returncode != 0:
        raise RuntimeError(f"clean python in {folder} is not clean: {check.stderr}")
    return python


def load_workflow(file):
    with open(file, encoding="utf-8") as f:
        workflow = yaml.safe_load(f)
    # YAML 1.1 reads the key `on` as True.
    if True in workflow and "on" not in workflow:
        workflow["on"] = workflow.pop(True)
    return workflow


def the_job(workflow):
    (job_id, job), = workflow["jobs"].items()
    return job_id, job


def run_steps(workflow):
    """The workflow's steps that run commands (``run:``), in order."""
    _, job = the_job(workflow)
    return [s for s in job["steps"] if "run" in s]


class StepResult:
    def __init__(self, step, proc):
        self.step, self.proc = step, proc
        self.id = step.get("id")
        self.returncode = proc.returncode
        self.output = proc.stdout + proc.stderr


def run_workflow_locally(repo, python, github_dir, extra_env=None, step_env=None, timeout=600):
    """Run every ``run:`` step of repo's .github/workflows/grade.yml in order, like a runner would.

    Each step runs through ``bash -e -c`` in the repository with the job's
    and the step's plain environment variables (no ``${{ }}`` expressions may
    appear in a run step), GITHUB_STEP_SUMMARY / GITHUB_OUTPUT files in
    ``github_dir``, and PYTHON set to ``python``.  pip runs in dry-run mode:
    the test environment already has everything, and nothing is downloaded.
    ``extra_env`` is added to every step, ``step_env[step id]`` to that step.
    A failing step stops the run unless it has ``continue-on-error``.
    Returns (list of StepResult, {step id: {output: value}}).
    """
    workflow = load_workflow(os.path.join(repo, ".github", "workflows", "grade.yml"))
    _, job = the_job(workflow)
    os.makedirs(github_dir, exist_ok=True)
    summary = os.path.join(github_dir, "summary.md")
    results, outputs = [], {}
    for step in run_steps(workflow):
        script = step["run"]
        if "${{" in script:
            raise AssertionError(f"step {step.get('name')!r} has an expression in its command")
        if "if" in step:
            raise AssertionError(f"run step {step.get('name')!r} has a condition the local runner cannot evaluate")
        out_file = os.path.join(github_dir, f"output-{len(results)}")
        open(out_file, "w").close()
        env = offline_env(PYTHON=python, PIP_DRY_RUN="1", GITHUB_ACTIONS="true", CI="true",
                          GITHUB_STEP_SUMMARY=summary, GITHUB_OUTPUT=out_file, GITHUB_WORKSPACE=repo)
        for scope in (job.get("env") or {}, step.get("env") or {}):
            for key, value in scope.items():
                if isinstance(value, str) and "${{" in value:
                    continue  # secrets/expressions: absent locally, like a repository without the secret
                env[key] = str(value)
        env.update(extra_env or {})
        env.update((step_env or {}).get(step.get("id"), {}))
        proc = subprocess.run(["bash", "-e", "-c", script], cwd=repo, env=env, capture_output=True,
                              text=True, timeout=timeout)
        result = StepResult(step, proc)
        results.append(result)
        if result.id:
            outputs[result.id] = parse_github_output(out_file)
        if proc.returncode != 0 and not step.get("continue-on-error"):
            break
    return results, outputs


def parse_github_output(file):
    """key=value lines and key<<DELIM heredocs of a $GITHUB_OUTPUT file."""
    values = {}
    with open(file, encoding="utf-8") as f:
        lines = f.read().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^([\w-]+)<<(.+)$", line)
        if m:
            end = lines.index(m.group(2), i + 1)
            values[m.group(1)] = "\n".join(lines[i + 1:end])
            i = end + 1
            continue
        if "=" in line:
            key, value = line.split("=", 1)
            values[key] = value
        i += 1
    return values


def decode_result(value):
    import json

    return json.loads(base64.b64decode(value).decode("utf-8"))


def solution_regions(root=None):
    """{file: [lines inside ### BEGIN/END SOLUTION regions]} for the reference's .py files."""
    regions = {}
    for folder, dirs, files in os.walk(common.path("solutions", root=root)):
        dirs[:] = [d for d in dirs if d not in common.EXCLUDE_DIRS]
        for name in files:
            if not name.endswith((".py", ".ipynb")):
                continue
            file = os.path.join(folder, name)
            with open(file, encoding="utf-8") as f:
                text = f.read()
            if name.endswith(".ipynb"):
                text = notebook_source(text)
            inside, lines = False, []
            for line in text.splitlines():
                if "BEGIN SOLUTION" in line:
                    inside = True
                elif "END SOLUTION" in line:
                    inside = False
                elif inside:
                    lines.append(line)
            if lines:
                regions[file] = lines
    return regions


def notebook_source(text):
    import json

    nb = json.loads(text)
    return "\n".join("".join(c.get("source", "")) if isinstance(c.get("source"), list) else c.get("source", "")
                     for c in nb.get("cells", []))


def distinctive_solution_lines(root=None):
    """Solution lines that appear nowhere in the reference outside the solution regions.

    Lines that are also given code (e.g. a ``raise ValueError`` that a helper
    has too) and short lines (``else:``) would prove nothing.
    """
    given = set()
    for folder, dirs, files in os.walk(common.path("solutions", root=root)):
        dirs[:] = [d for d in dirs if d not in common.EXCLUDE_DIRS]
        for name in files:
            if name.endswith(".py"):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    inside = False
                    for line in f:
                        if "BEGIN SOLUTION" in line:
                            inside = True
                        elif "END SOLUTION" in line:
                            inside = False
                        elif not inside:
                            given.add(line.strip())
    out = set()
    for lines in solution_regions(root).values():
        for line in lines:
            s = line.strip()
            if len(s) >= 12 and not s.startswith("#") and s not in given:
                out.add(s)
    return sorted(out)


def text_files(folder):
    """{relative path: text} of every file under ``folder`` (binary files decoded leniently)."""
    out = {}
    for dirpath, dirs, files in os.walk(folder):
        for name in files:
            full = os.path.join(dirpath, name)
            with open(full, "rb") as f:
                out[os.path.relpath(full, folder)] = f.read().decode("utf-8", "replace")
    return out


def copy_solutions_into(repo, root=None):
    """Copy the reference's package .py files over the stubs in ``repo`` (what a perfect student does)."""
    src = common.path("solutions", common.PACKAGE, root=root)
    for name in os.listdir(src):
        if name.endswith(".py"):
            shutil.copyfile(os.path.join(src, name), os.path.join(repo, common.PACKAGE, name))


def command_words(script):
    return shlex.split(script)


def build_platform(name, out, *args):
    """Build a platform (``python -m autograder build NAME --out OUT ...``) as an instructor would; return ``out``."""
    proc = subprocess.run([sys.executable, "-m", "autograder", "build", name, "--out", str(out), *map(str, args)],
                          cwd=common.ROOT,
                          env=offline_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out
