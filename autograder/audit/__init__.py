"""The audit: mutation testing of the autograder's own checks (``python -m autograder audit``, ``make audit``).

Mutation testing grades deliberately broken copies of the reference; a check
suite that lets one keep every point has a hole a student can fall through.

    operators.py    the mutation operators: cosmic-ray's, plus tensor-library swaps, dim, reductions,
                    reduction names, membership and dropped statements as cosmic-ray operators
    mutants.py      single-point mutants of each function with a ### BEGIN SOLUTION region
    submissions.py  submissions from the release: stubs filled with bodies, or whole defs replaced
                    (the one builder; tests/support/submissions.py uses it)
    equivalent.py   equivalent.yml, the reviewed equivalent mutants, and stale entries
    runner.py       long-lived grading processes calling engine.grade one submission after another
    core.py         one audit: tripwires, mutants, catalogues, verdicts, score
    report.py       report.md, report.json, kill-matrix.png, session.sqlite
    cli.py          the command line

What cosmic-ray (8.x) does here, and what it does not.  Used: its operators
(``cosmic_ray.operators``), its ``Operator`` interface for ours (registered
as the provider ``lab6``), its parso-based mutation machinery
(``cosmic_ray.mutating.mutate_code`` and its occurrence numbering), and its
session database (``WorkDB``: ``cr-report outputs/audit/session.sqlite``
and ``cr-html`` read our results).  Not used: its execution
(``cosmic-ray exec`` and its distributors), for three reasons, tried for
real on this lab (benchmarks/bench_audit.py ``--cosmic-ray N`` repeats it):

1. it runs the test command as a new subprocess for every mutant
   (``cosmic_ray.testing.run_tests``): here a cold ``python -m autograder
   grade``, which pays the interpreter, torch, the engine and pytest every
   time: about 10 s per mutant on this machine, and the local distributor is
   serial by design (it mutates the one file in place, ``use_mutation``), so
   ~80 mutants plus the catalogues take 15 minutes or more against a target
   of 5; the http distributor parallelises only with one working copy per
   worker, still one cold subprocess per mutant;
2. its verdict is that command's exit code, killed or survived: no outcome
   per check, so no kill matrix and no failure messages to judge;
3. it mutates whole modules; the restriction to the functions with a
   solution region, signature included, is ours (its filters go by operator,
   pragma, line ranges of a single module, or git diff).

So the audit keeps cosmic-ray's operators and bookkeeping and grades with
its own runner: a few processes that stay up and call ``engine.grade``
(the sandboxed worker, as for any submission) for one mutant after another.
"""
