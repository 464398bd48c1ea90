"""``python -m autograder audit``: mutation testing of the checks, with the catalogues.

    python -m autograder audit [--jobs N] [--out DIR] [--fail-under SCORE] [--sample N]
                               [--function NAME] [--no-catalogues] [--all-checks] [--grade-equivalents]
                               [--reference DIR] [--release DIR] [--catalogues DIR] [--equivalent FILE]
                               [--rubric FILE] [--checks-dir DIR] [--sandbox auto|bwrap|landlock|none]

Exit codes: 0 the audit passed; 1 it failed (score below --fail-under, a
correct submission or an equivalent mutant lost points, a catalogued bug
not caught, a grader error); 2 usage error (one sentence).
"""
import os
import sys


DEFAULT_OUT = os.path.join("outputs", "audit")


def register(subparsers):
    """Add the ``audit`` command (nothing heavy is imported until it runs: grading never needs cosmic-ray)."""
    from autograder.cli import add_sandbox_option
    from autograder.audit import equivalent, submissions
    p = subparsers.add_parser(
        "audit", help="mutation-test the checks (and grade the catalogues of autograder/audit/catalogues/)",
        description="Grade machine-made mutants of every function with a solution region, and the "
                    "catalogued correct and buggy submissions; report which checks catch what.")
    p.add_argument("--jobs", type=int, default=max(1, os.cpu_count() or 1), metavar="N",
                   help="grading processes (default: the number of CPU cores)")
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                   help=f"folder for report.md, report.json, kill-matrix.png, session.sqlite (default: {DEFAULT_OUT})")
    p.add_argument("--fail-under", type=float, default=100.0, metavar="SCORE",
                   help="exit 1 when the mutation score (percent) is below this (default: 100)")
    p.add_argument("--sample", type=int, metavar="N",
                   help="grade a deterministic, stratified sample of N mutants (default: all)")
    p.add_argument("--function", action="append", dest="functions", metavar="NAME",
                   help="mutate only this function; repeatable")
    p.add_argument("--no-catalogues", action="store_true", help="do not grade autograder/audit/catalogues/")
    p.add_argument("--all-checks", action="store_true",
                   help="grade every mutant with every check, even checks that never call its function")
    p.add_argument("--grade-equivalents", action="store_true",
                   help="also grade the mutants listed as equivalent (each must keep every point)")
    p.add_argument("--reference", default=submissions.REFERENCE, metavar="DIR", help="the reference (default: solutions/)")
    p.add_argument("--release", default=submissions.RELEASE, metavar="DIR",
                   help="the student release the submissions are built from (default: assignment/)")
    p.add_argument("--catalogues", default=submissions.CATALOGUES, metavar="DIR",
                   help="correct.yml, alternatives.yml, bugs.yml (default: autograder/audit/catalogues/)")
    p.add_argument("--equivalent", default=equivalent.PATH, metavar="FILE",
                   help="the reviewed equivalent mutants (default: autograder/audit/equivalent.yml)")
    p.add_argument("--rubric", metavar="FILE", help="the rubric (default: grading.yml of this repository)")
    p.add_argument("--checks-dir", action="append", default=[], metavar="DIR",
                   help="extra folder with check files, as for grade; repeatable")
    add_sandbox_option(p)
    p.set_defaults(run=run_audit)


def run_audit(args):
    from autograder.errors import UsageError

    try:
        import cosmic_ray  # noqa: F401
    except ImportError:
        raise UsageError("the audit needs cosmic-ray, from the dev extra: pip install -e '.[dev]'") from None
    from autograder.audit import core, report, runner

    options = core.Options(
        out=args.out, jobs=args.jobs, fail_under=args.fail_under, sample=args.sample,
        functions=tuple(args.functions) if args.functions else None, catalogues=not args.no_catalogues,
        all_checks=args.all_checks, grade_equivalents=args.grade_equivalents, reference=os.path.abspath(args.reference),
        release=os.path.abspath(args.release), catalogue_dir=os.path.abspath(args.catalogues),
        equivalent_file=os.path.abspath(args.equivalent),
        rubric_path=os.path.abspath(args.rubric) if args.rubric else None,
        checks_dirs=tuple(os.path.abspath(d) for d in args.checks_dir), isolation=args.sandbox)
    # matplotlib is imported while the grading processes start, in this thread: an import in a thread of
    # its own raced this thread's parsing (CPython 3.11's AST constructor is not thread-safe: "SystemError:
    # AST constructor recursion depth mismatch"), and a failed import of matplotlib stays broken.
    audit = core.run(options, progress=runner.print_progress, while_warming=report.preload)
    paths = report.write(audit, options.out)
    print(summary(audit, paths["markdown"]))
    for entry in audit["equivalent"]["stale"]:
        print(f"warning: stale equivalence entry ({entry['function']}: {entry['before']!r} -> "
              f"{entry['after']!r}) matches no mutant", file=sys.stderr)
    return 0 if audit["score"]["passed"] else 1


def summary(audit, where):
    s, t = audit["score"], audit["timing"]
    lines = [f"Mutation score {s['percent']:g}% ({s['killed']} killed / {s['non_equivalent']} non-equivalent; "
             f"{audit['mutants']['by_status']['equivalent']} equivalent), threshold {s['fail_under']:g}%"]
    if audit["survivors"]:
        lines.append("Survivors: " + ", ".join(audit["survivors"]))
    cat = audit["catalogues"]
    if cat is not None:
        ok = sum(1 for r in cat if r["ok"])
        lines.append(f"Catalogues: {ok}/{len(cat)} as expected (correct and alternatives full marks, "
                     "every bug caught in its check)")
    lines += [f"- {f}" for f in audit["failures"]]
    lines.append(f"{'PASSED' if s['passed'] else 'FAILED'} in {t['seconds']:g} s "
                 f"({t['mutants_per_minute']:g} mutants per minute); report: {where}")
    return "\n".join(lines)
