"""The audit's report for people (autograder/audit/report.markdown), from a hand-made audit: no grading."""
import copy

from autograder.audit import report

CHECKS = ["kl_analytic", "warmup"]


def _row(mid, status, cells, score, **extra):
    row = {"id": mid, "status": status, "cells": dict(zip(CHECKS, cells)), "score": score, "max_score": 40,
           "description": f"{mid} changed", "operator": "core/NumberReplacer", "messages": {}, "diff": f"-old {mid}\n+new",
           "after": "x | y`", "line": 7, "graded": True, "reason": "", "only": None, "graded_with": None}
    row.update(extra)
    return row


def _audit():
    rows = [
        _row("m1", "killed", ["killed", "passed"], 15),
        _row("m2", "survived", ["passed", "unreached"], 40, messages={"kl_analytic": "a  long\nmessage | with pipe"}),
        _row("m3", "equivalent", ["passed", "passed"], 40, reason="same for valid inputs", graded=False),
        _row("m4", "equivalent-killed", ["weak", "passed"], 30, reason="claimed equal"),
    ]
    return {
        "score": {"percent": 50.0, "killed": 1, "non_equivalent": 2, "fail_under": 90.0, "passed": False},
        "mutants": {"generated": 9, "functions": ["kl_divergence", "kl_warmup"], "sample": 4, "graded": 4,
                    "by_status": {"killed": 1, "survived": 1, "equivalent": 1, "weak": 0}, "dropped": {"duplicate": 2}},
        "reference": "solutions", "release": "assignment", "isolation": "bwrap",
        "timing": {"seconds": 12.5, "grading_seconds": 10.0, "submissions_graded": 4, "jobs": 2,
                   "mutants_per_minute": 19.2},
        "failures": ["mutation score 50% is under 90%"],
        "mutant_results": rows,
        "checks": [{"id": "kl_analytic", "points": 25, "visibility": "public", "kills": 1, "sole_kills": 1,
                    "dead_weight": False},
                   {"id": "warmup", "points": 15, "visibility": "public", "kills": 0, "sole_kills": 0,
                    "dead_weight": True}],
        "checks_order": CHECKS,
        "selection": {"kl_warmup": {"reached_by": ["warmup"], "graded_with": "warmup"},
                      "kl_divergence": {"reached_by": [], "graded_with": "every check"}},
        "equivalent": {"file": "autograder/audit/equivalent.yml",
                       "stale": [{"function": "kl_warmup", "before": "a`b", "after": "c|d"}]},
        "catalogues": [
            {"kind": "correct", "name": "reference", "score": 100, "max_score": 100, "ok": True, "lost": []},
            {"kind": "alternative", "name": "logvar", "score": 90, "max_score": 100, "ok": False,
             "lost": ["kl_analytic 15/25", "warmup 0/15"]},
            {"kind": "bug", "name": "sign", "function": "kl_divergence", "check": "kl_analytic",
             "lost": ["kl_analytic"], "expect": "sign", "expect_found": True, "message": "the | sign\nis flipped"},
            {"kind": "bug", "name": "quiet", "function": "kl_warmup", "check": "warmup", "lost": [],
             "expect": "warm", "expect_found": False, "message": ""},
        ],
        "operators": [{"family": "numbers", "operator": "core/NumberReplacer", "library": "cosmic-ray",
                       "mutants": 5}],
    }


def _section(md, heading):
    """The lines of ``md`` from ``heading`` to the next ## heading."""
    lines = md.splitlines()
    start = lines.index(heading)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return lines[start + 1:end]


def test_the_summary_says_score_threshold_verdict_and_counts():
    md = report.markdown(_audit())
    assert md.startswith("# Audit of the checks: mutation testing\n\n**Mutation score: 50%** (1 killed / 2 "
                         "non-equivalent mutants), threshold 90%: **FAILED**.\n")
    assert ("- Mutants: 9 generated from the functions with a solution region (kl_divergence, kl_warmup) of "
            "`solutions`, a deterministic sample of 4; 1 killed, 1 survived, 1 equivalent (1 equivalent not "
            "graded: `--grade-equivalents`).") in md, "a zero count is left out"
    assert "- Dropped before grading: 2 duplicate." in md
    assert "- Time: 12.5 s in all (10 s grading 4 submissions with 2 grading processes), 19.2 mutants per minute." in md
    assert _section(md, "## What fails the audit") == ["", "- mutation score 50% is under 90%", ""]


def test_survivors_list_the_holes_with_their_messages_and_diffs():
    lines = _section(report.markdown(_audit()), "## Survivors")
    assert "### m2 (**SURVIVED**)" in lines and "### m4 (**equivalent but lost points**)" in lines
    assert "### m1 (killed)" not in lines and not any(line.startswith("### m3") for line in lines)
    assert "- kl_analytic: a long message \\| with pipe" in lines, "one line, pipes escaped"
    assert lines[lines.index("### m2 (**SURVIVED**)") + 2] == "m2 changed (core/NumberReplacer). Score 40/40."
    diff = lines.index("```diff")
    assert lines[diff + 1:diff + 4] == ["-old m2", "+new", "```"]


def test_no_survivor_says_so():
    audit = _audit()
    audit["mutant_results"] = [r for r in audit["mutant_results"] if r["status"] in ("killed", "equivalent")]
    lines = _section(report.markdown(audit), "## Survivors")
    assert lines[1].startswith("None: every non-equivalent mutant lost points") and "###" not in "".join(lines)


def test_per_check_marks_dead_weight_and_the_selection():
    lines = _section(report.markdown(_audit()), "## Per check")
    assert "| kl_analytic | 25 | public | 1 | 1 |" in lines
    assert "| warmup | 15 | public | 0 (**kills nothing: dead weight** in this sample) | 0 |" in lines
    assert "- kl_warmup: warmup (mutants graded with warmup)" in lines
    assert "- kl_divergence: no check (mutants graded with every check)" in lines
    audit = _audit()
    audit["mutants"]["sample"] = 0
    assert "| warmup | 15 | public | 0 (**kills nothing: dead weight**) | 0 |" in report.markdown(audit)


def test_equivalents_and_stale_entries():
    lines = _section(report.markdown(_audit()), "## Equivalent mutants")
    assert "- m3: m3 changed: same for valid inputs (not graded; `--grade-equivalents` grades it)" in lines
    assert "- m4: m4 changed: claimed equal **(lost points!)**" in lines
    assert "- kl_warmup: `a'b` -> `c\\|d`" in lines, "code cells: no backtick or bare pipe of the mutant's"


def test_catalogue_tables():
    lines = _section(report.markdown(_audit()), "## Catalogues (autograder/audit/catalogues/)")
    assert "| correct reference | 100/100 | full marks |" in lines
    assert "| alternative logvar | 90/100 | **lost points**: kl_analytic 15/25; warmup 0/15 |" in lines
    assert "| sign | kl_divergence | kl_analytic | yes | yes: `sign` | the \\| sign is flipped |" in lines
    assert "| quiet | kl_warmup | warmup | **no** | **no**: `warm` |  |" in lines
    audit = _audit()
    audit["catalogues"] = None
    assert _section(report.markdown(audit), "## Catalogues (autograder/audit/catalogues/)") == ["", "Not run (--no-catalogues).", ""]


def test_the_kill_matrix_has_one_row_per_mutant():
    lines = _section(report.markdown(_audit()), "## Kill matrix")
    assert "| mutant | change | kl_analytic | warmup | score | status |" in lines
    rows = lines[lines.index("|---|---|---|---|---|---|") + 1:-1]
    assert rows == ["| m1 | `x \\| y'` (line 7) | X | . | 15/40 | killed |",
                    "| m2 | `x \\| y'` (line 7) | . | - | 40/40 | survived |",
                    "| m3 | `x \\| y'` (line 7) | . | . | 40/40 | equivalent |",
                    "| m4 | `x \\| y'` (line 7) | w | . | 30/40 | equivalent-killed |"]


def test_a_passed_audit_without_timing_or_failures():
    audit = _audit()
    audit["score"].update(percent=100, killed=2, passed=True)
    del audit["timing"]
    audit["failures"] = []
    md = report.markdown(audit)
    assert "threshold 90%: **PASSED**." in md and "- Time:" not in md and "## What fails the audit" not in md
    assert report.markdown(copy.deepcopy(audit)) == md, "the same audit gives the same text"
    assert md.endswith("| numbers | core/NumberReplacer | cosmic-ray | 5 |\n")
