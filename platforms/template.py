"""Export the student template: a ready-to-push repository for students.

    python -m platforms.template --out DIR [--grader-repo OWNER/NAME] [--checks-path PATH]
    make template OUT=DIR

DIR receives:

    lab6_generative/, tests/, pytest.ini,    everything in assignment/ (the student release:
    requirements.txt, notebook               stubs, public tests, notebook if any)
    README.md                                assignment/README.md (or a student guide) + how grading works
    .github/workflows/grade.yml              the on-push grading workflow
    ci/grade.sh, ci/torch-cpu.txt            the workflow's steps, runnable locally
    .grader/                                 the autograder, grading.yml and the PUBLIC checks only
    .gitignore

Never: solutions/, hidden check files, instructor material.  The hidden
checks are fetched at run time from the instructor's private repository
(``--grader-repo``, default ``<the student repo's owner>/lab6-grader``; the
checks in its folder ``--checks-path``, default ``autograder/checks``) when
the student repository or its organisation has the secret GRADER_TOKEN.
``python -m platforms.grader_repo --out DIR`` builds that private repository.
"""
import os
import re
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


def render_readme(rubric, release_readme=None):
    """The student README: the release's own (if any) followed by the grading section."""
    def read(name):
        with open(os.path.join(GITHUB, name), encoding="utf-8") as f:
            return f.read()

    grading = read("STUDENT_GRADING.md").replace("@RUBRIC@", common.rubric_table(rubric))
    if release_readme is None:
        return read("STUDENT_README.md").replace("@GRADING@", grading)
    return release_readme.rstrip("\n") + "\n\n" + grading


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
    rubric = common.copy_grader(os.path.join(out, ".grader"), include_hidden=False, root=root)
    common.write(os.path.join(out, ".grader", "requirements.txt"), common.grader_requirements_text(root))
    readme = os.path.join(out, "README.md")
    release_readme = None
    if os.path.exists(readme):
        with open(readme, encoding="utf-8") as f:
            release_readme = f.read()
    common.write(readme, render_readme(rubric, release_readme))
    common.write(os.path.join(out, ".github", "workflows", "grade.yml"), render_workflow(grader_repo, checks_path))
    with open(os.path.join(GITHUB, "grade.sh"), encoding="utf-8") as f:
        common.write(os.path.join(out, "ci", "grade.sh"), f.read(), mode=0o755)
    common.write(os.path.join(out, "ci", "torch-cpu.txt"), common.torch_cpu_requirements_text(root))
    if not os.path.exists(os.path.join(out, ".gitignore")):
        common.write(os.path.join(out, ".gitignore"), GITIGNORE)
    return out


def main(argv=None):
    options = [(("--grader-repo",), {"default": DEFAULT_GRADER_REPO, "help": (
                   "OWNER/NAME of the instructor's private repository with the hidden checks "
                   "(default: the student repository's owner/lab6-grader)")}),
               (("--checks-path",), {"default": DEFAULT_CHECKS_PATH, "help": (
                   "the folder of the check files inside that repository (default: autograder/checks)")})]
    return common.run_build(
        "platforms.template", __doc__,
        lambda a: build(a.out, a.grader_repo, a.checks_path, root=a.root),
        lambda out: f"wrote the student template to {out}/ (push it as the assignment's template repository)",
        argv, options)


if __name__ == "__main__":
    sys.exit(main())
