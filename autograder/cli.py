"""The command line: ``python -m autograder COMMAND ...``.

    python -m autograder grade SUBMISSION [--report NAME[=DEST] ...] [--rubric FILE] [--checks-dir DIR]
                                          [--public-only] [--only ID] [--sandbox auto|bwrap|landlock|none]
                                          [--public-tests JUNIT.xml] [--fail-on-lost-points]
    python -m autograder doctor

``python -m autograder`` is the one command line of the lab's tools: these two,
and ``grade-all``, ``collect``, ``export`` (their modules), and in the
instructor's checkout ``audit``, ``written``, ``feedback``, ``release``,
``build NAME`` and ``lint-workflows`` (autograder/tools.py).

``grade`` sends its Result to every reporter asked for by ``--report`` (see
autograder/reporters/: console, gradescope, classroom50, github, result, and
any reporter file added there), its only output option.  The console table
always goes to stdout, and Gradescope's results.json is always written (to
results.json unless ``--report gradescope=FILE`` says where).  The older
flags still work, each with a one-line notice on stderr of its new spelling
(they go in the next release): ``--results F`` = ``--report gradescope=F``,
``--classroom50 F`` = ``--report classroom50=F``, ``--github`` = ``--report github``.

Each subcommand lives in a module with a ``register(subparsers)`` function
that adds its parser and sets ``run`` (args -> exit code); ``SUBCOMMANDS``
lists those modules, so adding a command is one line there.

Exit codes of ``grade``: 0 grading completed (whatever the score); 2 usage
error (one line on stderr, no traceback); 3 grading completed but a check hit
an internal grader error (reports written, that test scored 0); 1 the grader
itself crashed; 4, only with ``--fail-on-lost-points``, grading completed and
something that ran lost points (a check short of its points, or a failing public
test of ``--public-tests``): what the student template's ``ci/grade.sh grade``
uses, so that a push is green exactly when everything that ran passed.

``--public-tests FILE`` reads the JUnit XML report of the student's own run of
the public tests (``pytest --junitxml=FILE``, run by ``ci/grade.sh`` outside the
grader): every report lists its failures, they earn no points, and they count
for ``--fail-on-lost-points`` and the grading reporter's status.
"""
import argparse
import importlib
import importlib.util
import sys

from autograder.errors import UsageError

# Modules with register(subparsers).  Instructor-only ones (audit) are left out of the
# graders shipped to platforms (platforms/common.py), so their absence is not an error.
SUBCOMMANDS = ("autograder.cli", "autograder.semester.grade_all", "autograder.semester.exports.cli", "autograder.semester.collect")
INSTRUCTOR_SUBCOMMANDS = ("autograder.audit.cli", "autograder.semester.written_prepare", "autograder.semester.feedback",
                          "autograder.tools")
# The old output flags of grade and their --report spelling (for the notice they print).
ALIASES = {"results": "--report gradescope={}", "classroom50": "--report classroom50={}", "github": "--report github"}


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of argparse's usage dump
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def register(subparsers):
    """Add the ``grade`` command."""
    p = subparsers.add_parser("grade", help="grade one submission",
                              description="Grade one submission: a folder containing lab6_generative/.")
    p.add_argument("submission", help="folder containing the package lab6_generative/")
    p.add_argument("--report", action="append", default=[], metavar="NAME[=DEST]", type=_report_spec,
                   help="also send the result to reporter NAME (console, gradescope, classroom50, github, "
                        "result, ...), written to DEST or the reporter's default; repeatable")
    # The old spellings of --report: they still work, saying so (help hidden).
    p.add_argument("--results", metavar="FILE", help=argparse.SUPPRESS)
    p.add_argument("--classroom50", metavar="FILE", help=argparse.SUPPRESS)
    p.add_argument("--github", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--rubric", metavar="FILE", help="the rubric (default: grading.yml of this repository)")
    p.add_argument("--checks-dir", action="append", default=[], metavar="DIR",
                   help="folder with check files (test_<id>.py), searched before autograder/checks/; "
                        "repeatable")
    p.add_argument("--public-only", action="store_true", help="skip the hidden checks")
    p.add_argument("--only", metavar="ID", help="grade just this rubric check")
    p.add_argument("--public-tests", metavar="JUNIT.xml",
                   help="the JUnit XML report of the student's run of the public tests (pytest --junitxml): "
                        "its failures are listed in every report and count as lost points")
    p.add_argument("--fail-on-lost-points", action="store_true",
                   help="exit 4 when something that ran lost points (a check, or a public test); "
                        "0 only when everything that ran passed")
    add_sandbox_option(p)
    p.set_defaults(run=run_grade)

    d = subparsers.add_parser("doctor", help="what isolation this machine supports, and why",
                              description="Probe bubblewrap, Landlock + seccomp; say which one grading uses.")
    d.set_defaults(run=run_doctor)


def add_sandbox_option(parser):
    parser.add_argument("--sandbox", choices=("auto", "bwrap", "landlock", "none"), default=None,
                        help="how student code is isolated (default: $AUTOGRADER_SANDBOX, else auto: "
                             "the strongest this machine supports; see `doctor`)")


def run_doctor(args):
    from autograder import sandbox

    print("Isolation for student code on this machine:")
    for line in sandbox.doctor():
        print(line)
    return 0


def _report_spec(text):
    """``NAME`` or ``NAME=DEST`` -> (name, dest or None)."""
    name, sep, dest = text.partition("=")
    if not name.strip() or (sep and not dest.strip()):
        raise argparse.ArgumentTypeError(f"--report {text!r}: expected NAME or NAME=DESTINATION")
    return name.strip(), (dest if sep else None)


def report_list(args):
    """Every (reporter, destination) this ``grade`` run writes, in order: the aliases folded in."""
    wanted = [("console", None)] + list(args.report)
    if args.classroom50:
        wanted.append(("classroom50", args.classroom50))
    if args.github:
        wanted.append(("github", None))
    if args.results or not any(name == "gradescope" for name, _ in wanted):
        wanted.append(("gradescope", args.results))
    seen, out = set(), []
    for item in wanted:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def run_grade(args):
    """Grade, then hand the Result to every requested reporter."""
    from autograder import reporters, rubric as rubric_mod
    from autograder.grading.pool import Pool

    for flag, spelling in ALIASES.items():
        value = getattr(args, flag)
        if value:
            new = spelling.format(value) if value is not True else spelling
            print(f"note: --{flag}{'' if value is True else ' ' + value} is now {new}; the old spelling goes in "
                  "the next release", file=sys.stderr)
    wanted = report_list(args)
    for name, _ in wanted:
        reporters.get(name)  # an unknown reporter is a usage error before any grading
    rubric = rubric_mod.load(args.rubric) if args.rubric else rubric_mod.load()
    limit_own_memory(rubric.limits.grader_memory_mb)
    pool = Pool(0, rubric, checks_dirs=args.checks_dir, public_only=args.public_only, isolation=args.sandbox)
    result = pool.grade(args.submission, only=args.only)   # a pool of one: graded in this process
    if args.public_tests:
        from autograder.reporters import junit

        result.public_tests = junit.read(args.public_tests)   # shown by the reporters, never stored
    for name, destination in wanted:
        reporters.write(result, name, destination)
    for problem in result.internal_errors:
        print(f"internal error of the grader: {problem}", file=sys.stderr)
    if result.internal_errors:
        return 3
    if args.fail_on_lost_points and not reporters.everything_passed(result):
        return 4
    return 0


def limit_own_memory(megabytes):
    """Bound this grading process's address space (``limits.grader_memory_mb``): whatever a reply
    makes it compute, it fails with MemoryError instead of taking the machine down."""
    import resource

    wanted = int(megabytes * 2**20)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if soft == resource.RLIM_INFINITY or soft > wanted:
        resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))


def build_parser():
    parser = _Parser(prog="python -m autograder", description="The Lab 6 autograder.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    parser.commands = subparsers.choices      # name -> its parser
    for name in SUBCOMMANDS:
        importlib.import_module(name).register(subparsers)
    for name in INSTRUCTOR_SUBCOMMANDS:
        try:
            present = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:  # its package is absent from a shipped grader
            present = False
        if present:
            importlib.import_module(name).register(subparsers)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    command = parser.commands.get(argv[0]) if argv else None
    if command is not None and command.get_default("raw_arguments"):   # a tool with its own parser (tools.py)
        return command.get_default("raw_arguments")(argv[1:])
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
