"""Export the student template: a ready-to-push repository for students.

    python -m autograder build template --out DIR [--grader-repo OWNER/NAME] [--checks-path PATH]
    make template OUT=DIR

DIR receives:

    lab6_generative/, tests/, pytest.ini,    everything in assignment/ (the student release:
    requirements*.txt, notebook              stubs, public tests, notebook if any)
    README.md                                assignment/README.md (or a student guide) + how grading works
                                             (the rubric, the written answers, the late policy and partial
                                             credit, every number from grading.yml)
    .github/workflows/grade.yml              the on-push grading workflow
    ci/grade.sh, ci/torch-cpu.txt            the workflow's steps, runnable locally
    .grader/                                 the autograder, grading.yml and the PUBLIC checks only
    .gitignore

Never: solutions/, hidden check files, instructor material.  The hidden
checks are fetched at run time from the instructor's private repository
(``--grader-repo``, default ``<the student repo's owner>/lab6-grader``; the
checks in its folder ``--checks-path``, default ``autograder/checks``) when
the student repository or its organisation has the secret GRADER_TOKEN.
``python -m autograder build grader-repo --out DIR`` builds that private repository.
"""
import os
import re
import subprocess
import sys

from platforms import common

GITHUB = os.path.join(common.HERE, "github")
DEFAULT_GRADER_REPO = "${{ github.repository_owner }}/lab6-grader"
DEFAULT_CHECKS_PATH = "autograder/checks"

GITIGNORE = """\
__pycache__/
*.pyc
.venv/
.data/
outputs/
runs/
results.json
.grader-private/
.hypothesis/
.pytest_cache/
.ipynb_checkpoints/
"""


def render_workflow(grader_repo, checks_path):
    with open(os.path.join(GITHUB, "grade.yml"), encoding="utf-8") as f:
        text = f.read()
    return text.replace("@GRADER_REPO@", grader_repo).replace("@GRADER_CHECKS_PATH@", checks_path)


def full_rubric(root=None):
    """The whole rubric (checks, late policy, written answers) through its one reader."""
    from autograder import rubric

    try:
        return rubric.load(common.path("grading.yml", root=root))
    except rubric.RubricError as err:
        raise common.BuildError(str(err)) from None


def tests_per_check(rubric, root=None):
    """{check id: number of tests} as the engine collects them (a check's points are shared by its tests)."""
    folder = common.checks_dir(root)
    files = {c.file: c.id for c in rubric.checks}
    present = sorted(name for name in files if os.path.isfile(os.path.join(folder, name)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in [common.path(root=root), env.get("PYTHONPATH", "")] if p)
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "--noconftest", "-p", "autograder.checks.conftest", "-c", os.devnull,
                           "--rootdir", folder, "--import-mode=importlib", *present],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    counts = {c.id: 0 for c in rubric.checks}
    for line in proc.stdout.splitlines():
        name = line.split("::", 1)[0]
        if "::" in line and name in files:
            counts[files[name]] += 1
    missing = [cid for cid, n in counts.items() if n == 0]
    if proc.returncode != 0 or missing:
        raise common.BuildError(f"could not count the tests of the checks {missing or ''} "
                                f"(pytest --collect-only exited {proc.returncode}): {proc.stdout[-500:]}{proc.stderr[-500:]}")
    return counts


def _points(n):
    return f"{n:g} point{'' if n == 1 else 's'}"


def _and(items):
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def partial_credit_lines(rubric, counts):
    """One line per check: its tests and what each earns (``results.split_points``, as the engine shares them)."""
    from autograder.results import split_points

    lines = []
    for check in rubric.checks:
        shares = split_points(check.points, counts[check.id])
        if len(shares) == 1:
            each = f"1 test of {_points(shares[0])}: all or nothing"
        elif len(set(shares)) == 1:
            each = f"{len(shares)} tests of {_points(shares[0])} each"
        else:
            each = f"{len(shares)} tests, worth {_and([f'{n:g}' for n in shares])} points"
        lines.append(f"- `{check.id}` ({_points(check.points)}, {check.visibility}): {each}.")
    return "\n".join(lines)


def late_text(late):
    if late is None:
        return "Your instructor sets the late policy."
    days = f"{late.max_days:g} day{'' if late.max_days == 1 else 's'}"
    return (f"Work pushed up to {late.grace_minutes:g} minutes after the deadline counts as on time. "
            f"After that, every started day late (24 hours from the deadline) costs "
            f"{_points(late.penalty_per_day)} of the final grade, and work more than {days} late gets 0.")


def notebook_name(assignment):
    """The release's notebook at its top (the one students submit with their code), or ""."""
    names = sorted(n for n in os.listdir(assignment) if n.endswith(".ipynb"))
    return names[0] if names else ""


RELEASE_POINTER = "to read your score are in your repository on GitHub, whose README goes on from here."
TEMPLATE_POINTER = "to read your score on GitHub follow below."


def render_readme(rubric, release_readme=None, counts=None, notebook=""):
    """The student README: the release's own (if any) followed by the grading section.

    ``rubric`` is the whole rubric (``autograder.rubric.Rubric``); every number in the
    grading section comes from it: the checks, the written answers, the late policy,
    and (with ``counts``, the tests per check) the partial credit of each check.
    """
    def read(name):
        with open(os.path.join(GITHUB, name), encoding="utf-8") as f:
            return f.read()

    checks = list(rubric.checks)
    public = sum(c.points for c in checks if not c.hidden)
    written = rubric.written.points if rubric.written else 0
    values = {
        "@RUBRIC@": common.rubric_table(checks),
        "@TOTAL@": f"{rubric.total:g}",
        "@PUBLIC_POINTS@": f"{public:g}",
        "@HIDDEN_POINTS@": f"{rubric.total - public:g}",
        "@WRITTEN_POINTS@": f"{written:g}",
        "@FINAL_TOTAL@": f"{rubric.final_total:g}",
        "@LATE@": late_text(rubric.late),
        "@PARTIAL@": partial_credit_lines(rubric, counts) if counts else "",
        "@NOTEBOOK@": notebook or "the notebook",
        "@CHECKS@": str(len(checks)),
    }
    grading = read("STUDENT_GRADING.md")
    for key, value in values.items():
        grading = grading.replace(key, value)
    if release_readme is None:
        return read("STUDENT_README.md").replace("@GRADING@", grading)
    # The release's README (also read without this section, e.g. from nbgrader) points to the repository
    # on GitHub; here, in that repository, the section follows at once.
    release_readme = release_readme.replace(RELEASE_POINTER, TEMPLATE_POINTER)
    return release_readme.rstrip("\n") + "\n\n" + grading


def render_script(rubric, notebook):
    with open(os.path.join(GITHUB, "grade.sh"), encoding="utf-8") as f:
        text = f.read()
    written = rubric.written.points if rubric.written else 0
    return text.replace("@NOTEBOOK@", notebook).replace("@WRITTEN_POINTS@", f"{written:g}")


def build(out, grader_repo=DEFAULT_GRADER_REPO, checks_path=DEFAULT_CHECKS_PATH, root=None):
    """Write the template into ``out`` (replacing it).  Returns ``out``."""
    if not re.fullmatch(r"[\w.-]+/[\w.-]+|\$\{\{ github\.repository_owner \}\}/[\w.-]+", grader_repo):
        raise common.BuildError(f"--grader-repo must be OWNER/NAME, got {grader_repo!r}")
    if not re.fullmatch(r"[\w.-]+(/[\w.-]+)*", checks_path) or ".." in checks_path.split("/"):
        raise common.BuildError(f"--checks-path must be a relative folder path, got {checks_path!r}")
    assignment = common.path("assignment", root=root)
    if not os.path.isdir(os.path.join(assignment, common.PACKAGE)):
        raise common.BuildError(f"{assignment}/{common.PACKAGE} not found: run make release first")
    out = common.prepare_out(out)

    common.copy_tree(assignment, out)
    common.copy_grader(os.path.join(out, ".grader"), include_hidden=False, root=root)
    rubric = full_rubric(root)
    notebook = notebook_name(assignment)
    common.write(os.path.join(out, ".grader", "requirements.txt"), common.grader_requirements_text(root))
    readme = os.path.join(out, "README.md")
    release_readme = None
    if os.path.exists(readme):
        with open(readme, encoding="utf-8") as f:
            release_readme = f.read()
    common.write(readme, render_readme(rubric, release_readme, tests_per_check(rubric, root), notebook))
    common.write(os.path.join(out, ".github", "workflows", "grade.yml"), render_workflow(grader_repo, checks_path))
    common.write(os.path.join(out, "ci", "grade.sh"), render_script(rubric, notebook), mode=0o755)
    common.write(os.path.join(out, "ci", "torch-cpu.txt"), common.torch_cpu_requirements_text(root))
    if not os.path.exists(os.path.join(out, ".gitignore")):
        common.write(os.path.join(out, ".gitignore"), GITIGNORE)
    return out


def main(argv=None, prog=None):
    options = [(("--grader-repo",), {"default": DEFAULT_GRADER_REPO, "help": (
                   "OWNER/NAME of the instructor's private repository with the hidden checks "
                   "(default: the student repository's owner/lab6-grader)")}),
               (("--checks-path",), {"default": DEFAULT_CHECKS_PATH, "help": (
                   "the folder of the check files inside that repository (default: autograder/checks)")})]
    return common.run_build(
        "platforms.template", __doc__,
        lambda a: build(a.out, a.grader_repo, a.checks_path, root=a.root),
        lambda out: f"wrote the student template to {out}/ (push it as the assignment's template repository)",
        argv, options, prog)


if __name__ == "__main__":
    sys.exit(common.old_entry_point("platforms.template", main))
