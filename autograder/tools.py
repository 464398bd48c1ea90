"""The instructor's tools outside ``autograder/``, as commands of ``python -m autograder``.

    python -m autograder release [--source solutions] [--out assignment] [--config FILE] [--course-dir DIR] [-v]
    python -m autograder build {template,grader-repo,classroom50,gradescope} --out DIR [OPTIONS] [--root DIR]
    python -m autograder lint-workflows [FILE ...]     (default: platforms/github/grade.yml)

``release`` is ``release/build.py`` (solutions/ -> assignment/ with nbgrader),
``build NAME`` the platform builders of ``platforms/`` and ``lint-workflows``
actionlint (``platforms/lint/``): each takes its own options, parsed by its
own parser (``python -m autograder build template --help``), so they are the
same here and under the tools' own modules.  The old spellings
(``python -m release.build``, ``python -m platforms.template``, ...) still work
for one release and print a one-line notice naming the command here.

The tools live in this repository, not in the grader: this module is
instructor-only (``platforms.common.INSTRUCTOR_ONLY``), never shipped to a
platform, and it imports a tool only when its command runs.
"""
import argparse
import importlib
import sys

from autograder.facts import ROOT

# build NAME -> the builder's module (each has main(argv, prog)).
BUILDERS = {"template": "platforms.template", "grader-repo": "platforms.grader_repo",
            "classroom50": "platforms.classroom50.build", "gradescope": "platforms.gradescope.build"}
RELEASE = "release.build"
LINT = "platforms.lint.actionlint"
WORKFLOWS = ("platforms/github/grade.yml",)     # what lint-workflows checks by default, relative to ROOT
# The old module entry points and the command that replaces each (for their notice).
NEW_SPELLING = {module: f"build {name}" for name, module in BUILDERS.items()}
NEW_SPELLING.update({RELEASE: "release", LINT: "lint-workflows"})


def register(subparsers):
    """Add ``release``, ``build`` and ``lint-workflows``: each hands its arguments to the tool's own parser."""
    for name, help_text, run in (
            ("release", "regenerate assignment/ from solutions/ with nbgrader (release/build.py)", run_release),
            ("build", "build a platform: template, grader-repo, classroom50 or gradescope (platforms/)", run_build),
            ("lint-workflows", "actionlint on the student workflow (platforms/github/grade.yml)", run_lint)):
        p = subparsers.add_parser(name, help=help_text, add_help=False, description=help_text)
        p.add_argument("arguments", nargs=argparse.REMAINDER, help="the tool's own options (see its --help)")
        p.set_defaults(run=lambda args, run=run: run(args.arguments), raw_arguments=run)


def _tool(module):
    """Import one of this repository's tools (release/, platforms/): the repository first on sys.path, as
    ``written`` does, so that a course folder's own ``release/`` (nbgrader's) is never taken for ours."""
    if sys.path[:1] != [ROOT]:
        sys.path.insert(0, ROOT)
    return importlib.import_module(module)


def run_release(argv):
    return _tool(RELEASE).main(argv, prog="python -m autograder release")


def run_build(argv):
    from autograder.cli import _Parser   # one-line usage errors, as every command

    p = _Parser(prog="python -m autograder build",
                description="Build what a platform needs from assignment/ and the grader.")
    p.add_argument("platform", choices=sorted(BUILDERS), help="what to build")
    p.add_argument("arguments", nargs=argparse.REMAINDER,
                   help="the builder's options: --out DIR, ... (python -m autograder build NAME --help)")
    args = p.parse_args(argv)
    return _tool(BUILDERS[args.platform]).main(args.arguments, prog=f"python -m autograder build {args.platform}")


def run_lint(argv):
    if argv[:1] in (["-h"], ["--help"]):
        print("usage: python -m autograder lint-workflows [FILE ...]\n\nactionlint on GitHub workflow files "
              f"(default: {', '.join(WORKFLOWS)}); exit 0 when it finds no problem.")
        return 0
    import os

    return _tool(LINT).main(list(argv) or [os.path.join(ROOT, f) for f in WORKFLOWS])


def moved(module):
    """The one-line notice an old entry point prints (on stderr) before doing what it always did."""
    print(f"note: `python -m {module}` is now `python -m autograder {NEW_SPELLING[module]}`; "
          "the old spelling goes in the next release", file=sys.stderr)
