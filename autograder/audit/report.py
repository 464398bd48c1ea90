"""Write an audit (core.run's dict) to a folder.

    report.md          for people: score, survivors with their diffs, per-check kills,
                       equivalences, catalogues, the kill matrix, time taken
    report.json        the same data for programs (``timing`` is the only part
                       that changes between two runs on the same inputs)
    kill-matrix.png    the kill matrix and the per-check kill counts
    session.sqlite     a cosmic-ray session (``cr-report``, ``cr-html`` read it): one
                       work item per mutant, its outcome and diff

Every file is written to a temporary name and renamed into place.
"""
import json
import os

from autograder.files import atomic, write_text
from autograder.text import one_line

CELL = {"killed": "X", "weak": "w", "passed": ".", "unreached": "-"}
STATUS_WORD = {"killed": "killed", "survived": "**SURVIVED**", "weak": "**killed without a teaching message**",
               "equivalent": "equivalent", "equivalent-killed": "**equivalent but lost points**",
               "error": "**grader error**"}


def preload():
    """Import what writing the report needs (matplotlib, cosmic-ray's database), ahead of time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import cosmic_ray.work_db  # noqa: F401


def write(audit, out):
    """Write every report file of ``audit`` into folder ``out``; the paths written."""
    os.makedirs(out, exist_ok=True)
    paths = {
        "markdown": _atomic(os.path.join(out, "report.md"), markdown(audit)),
        "json": _atomic(os.path.join(out, "report.json"),
                        json.dumps(audit, indent=2, sort_keys=True, ensure_ascii=False) + "\n"),
        "png": _png(audit, os.path.join(out, "kill-matrix.png")),
        "session": _session(audit, os.path.join(out, "session.sqlite")),
    }
    return paths


def _atomic(path, text):
    write_text(path, text)
    return path


def _code(text):
    return "`" + text.replace("`", "'").replace("|", "\\|").replace("\n", " / ") + "`"


def _cell_text(text, limit=160):
    return one_line(text, limit).replace("|", "\\|")


def markdown(audit):
    """The report for people."""
    s, m = audit["score"], audit["mutants"]
    ungraded = sum(1 for r in audit["mutant_results"] if not r["graded"])
    lines = ["# Audit of the checks: mutation testing", ""]
    verdict = "PASSED" if s["passed"] else "FAILED"
    lines += [
        f"**Mutation score: {s['percent']:g}%** ({s['killed']} killed / {s['non_equivalent']} non-equivalent "
        f"mutants), threshold {s['fail_under']:g}%: **{verdict}**.", "",
        f"- Mutants: {m['generated']} generated from the functions with a solution region "
        f"({', '.join(m['functions'])}) of `{audit['reference']}`"
        + (f", a deterministic sample of {m['graded']}" if m["sample"] else "")
        + "; " + ", ".join(f"{v} {k}" for k, v in m["by_status"].items() if v)
        + (f" ({ungraded} equivalent not graded: `--grade-equivalents`)" if ungraded else "") + ".",
        "- Dropped before grading: " + ", ".join(f"{v} {k}" for k, v in m["dropped"].items()) + ".",
        f"- Each mutant is a submission: the release `{audit['release']}` with the reference for every other "
        f"function and this one mutated, graded by the engine (isolation: {audit['isolation'] or 'n/a'}); "
        "a mutant graded with one check may share it with a mutant of a function that check never calls "
        "(see Per check).",
    ]
    t = audit.get("timing")
    if t:
        lines.append(f"- Time: {t['seconds']:g} s in all ({t['grading_seconds']:g} s grading "
                     f"{t['submissions_graded']} submissions with {t['jobs']} grading processes), "
                     f"{t['mutants_per_minute']:g} mutants per minute.")
    if audit["failures"]:
        lines += ["", "## What fails the audit", ""] + [f"- {f}" for f in audit["failures"]]

    rows = audit["mutant_results"]
    survivors = [r for r in rows if r["status"] in ("survived", "weak", "error", "equivalent-killed")]
    lines += ["", "## Survivors", ""]
    if not survivors:
        lines.append("None: every non-equivalent mutant lost points in some check, with a message that "
                     "says what is wrong.")
    for r in survivors:
        lines += [f"### {r['id']} ({STATUS_WORD[r['status']]})", "",
                  f"{r['description']} ({r['operator']}). Score {r['score']}/{r['max_score']}.", ""]
        for cid, msg in r["messages"].items():
            lines.append(f"- {cid}: {_cell_text(msg, 400)}")
        lines += ["", "```diff", r["diff"], "```", ""]
    if survivors:
        lines += ["A survivor is a hole in the checks: a student could make this mistake and keep the points. "
                  "Add a test to the check that owns the clause of the contract it breaks (a message that "
                  "names the mistake), or, if it computes the same thing for every valid input, add it to "
                  f"`{audit['equivalent']['file']}` with the reason.", ""]

    lines += ["", "## Per check", "",
              "| check | points | visibility | mutants killed | only this check kills |", "|---|---|---|---|---|"]
    for c in audit["checks"]:
        dead = (" (**kills nothing: dead weight**" + (" in this sample)" if m["sample"] else ")")
                if c["dead_weight"] else "")
        lines.append(f"| {c['id']} | {c['points']} | {c['visibility']} | {c['kills']}{dead} | {c['sole_kills']} |")
    sel = audit["selection"]
    if sel:
        riders = sum(1 for r in rows if r.get("graded_with") and r.get("only"))
        riders += sum(1 for r in audit["catalogues"] or () if r.get("graded_with"))
        lines += ["", "Checks that call each function (found by grading it with a tripwire body that raises); "
                  "a function called by one check only has its mutants graded with that check, "
                  f"and {riders} such one-check items rode along in the submission of a full-grade mutant of "
                  "another function that no check of theirs calls (`graded_with` in report.json):", ""]
        for f, v in sel.items():
            lines.append(f"- {f}: {', '.join(v['reached_by']) or 'no check'} (mutants graded with "
                         f"{v['graded_with']})")

    eq = audit["equivalent"]
    lines += ["", "## Equivalent mutants", "", f"Reviewed in `{eq['file']}`; tests/autograder/test_audit.py tests "
              "each claim on valid inputs of every shape; with `--grade-equivalents` each is graded too and must "
              "keep every point.", ""]
    eq_rows = [r for r in rows if r["status"] in ("equivalent", "equivalent-killed")]
    for r in eq_rows:
        lines.append(f"- {r['id']}: {r['description']}: {r['reason']}"
                     + (" **(lost points!)**" if r["status"] == "equivalent-killed" else "")
                     + ("" if r["graded"] else " (not graded; `--grade-equivalents` grades it)"))
    if not eq_rows:
        lines.append("None graded.")
    if eq["stale"]:
        lines += ["", "Stale entries (they match no generated mutant: review or remove them):", ""]
        lines += [f"- {e['function']}: {_code(e['before'])} -> {_code(e['after'])}" for e in eq["stale"]]

    cat = audit["catalogues"]
    lines += ["", "## Catalogues (autograder/audit/catalogues/)", ""]
    if cat is None:
        lines.append("Not run (--no-catalogues).")
    else:
        lines += ["| submission | score | result |", "|---|---|---|"]
        for row in cat:
            if row["kind"] != "bug":
                result = "full marks" if row["ok"] else "**lost points**: " + _cell_text("; ".join(row["lost"]))
                lines.append(f"| {row['kind']} {row['name']} | {row['score']}/{row['max_score']} | {result} |")
        lines += ["", "| bug | function | check | caught | first failure contains (and no wrong diagnosis) | first failure |",
                  "|---|---|---|---|---|---|"]
        for row in cat:
            if row["kind"] == "bug":
                lines.append(f"| {row['name']} | {row['function']} | {row['check']} | "
                             f"{'yes' if row['lost'] else '**no**'} | "
                             f"{'yes' if row.get('expect_found') else '**no**'}: {_code(row['expect'])} | "
                             f"{_cell_text(row['message'])} |")

    ids = audit["checks_order"]
    lines += ["", "## Kill matrix", "",
              "X: the check took points off with a message; w: it took points off with no useful message; "
              ".: full marks; -: not run (the check never calls the function).", "",
              "| mutant | change | " + " | ".join(ids) + " | score | status |",
              "|---|---|" + "---|" * len(ids) + "---|---|"]
    for r in rows:
        cells = " | ".join(CELL[r["cells"][c]] for c in ids)
        lines.append(f"| {r['id']} | {_code(r['after'])} (line {r['line']}) | {cells} | "
                     f"{r['score']}/{r['max_score']} | {r['status']} |")

    lines += ["", "## Operators", "",
              "| family | operator | from | mutants |", "|---|---|---|---|"]
    for o in audit["operators"]:
        lines.append(f"| {o['family']} | {o['operator']} | {o['library']} | {o['mutants']} |")
    return "\n".join(lines) + "\n"


def _png(audit, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    rows = audit["mutant_results"]
    ids = audit["checks_order"]
    code = {"unreached": 0, "passed": 1, "weak": 2, "killed": 3}
    grid = [[code[r["cells"][c]] for c in ids] for r in rows] or [[0] * len(ids)]
    height = max(4.0, 0.13 * len(rows) + 1.5)
    fig, (ax, bar) = plt.subplots(1, 2, figsize=(11, height), gridspec_kw={"width_ratios": [3, 2]})
    cmap = ListedColormap(["#eeeeee", "#fbe3d6", "#f2b134", "#2d6a4f"])
    ax.imshow(grid, aspect="auto", cmap=cmap, vmin=0, vmax=3, interpolation="nearest")
    ax.set_xticks(range(len(ids)), ids, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), [r["id"] + ("  (equivalent)" if r["status"].startswith("equivalent") else "")
                                     + ("  SURVIVED" if r["status"] in ("survived", "weak") else "")
                                     for r in rows], fontsize=5)
    ax.set_title("kill matrix (green: killed, pale: full marks, grey: not run)", fontsize=9)
    kills = [c["kills"] for c in audit["checks"]]
    bar.barh(range(len(ids)), kills, color="#2d6a4f")
    bar.set_yticks(range(len(ids)), ids, fontsize=8)
    bar.invert_yaxis()
    bar.set_xlabel("mutants killed")
    for i, k in enumerate(kills):
        bar.text(k, i, f" {k}", va="center", fontsize=8)
    s = audit["score"]
    fig.suptitle(f"Mutation score {s['percent']:g}% ({s['killed']}/{s['non_equivalent']} non-equivalent "
                 "mutants killed)", fontsize=11)
    fig.tight_layout()
    with atomic(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return path


def _session(audit, path):
    """A cosmic-ray session database with one work item and result per graded mutant."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import MutationSpec, TestOutcome, WorkItem, WorkResult, WorkerOutcome

    with atomic(path) as tmp, use_db(tmp, WorkDB.Mode.create) as db:
        items, outcomes = [], []
        for r in audit["mutant_results"]:
            spec = MutationSpec(module_path=os.path.join(audit["reference"], r["path"]),
                                operator_name=r["operator"], occurrence=r["occurrence"],
                                start_pos=tuple(r["start"]), end_pos=tuple(r["end"]),
                                definition_name=r["function"])
            items.append(WorkItem.single(r["id"], spec))
            if r["status"] in ("equivalent", "equivalent-killed"):
                result = WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output=f"equivalent: {r['reason']}",
                                    diff=r["diff"])
            else:
                outcome = TestOutcome.KILLED if r["status"] == "killed" else TestOutcome.SURVIVED
                output = "\n".join(f"{k}: {v}" for k, v in r["messages"].items())
                result = WorkResult(worker_outcome=WorkerOutcome.NORMAL, test_outcome=outcome, output=output,
                                    diff=r["diff"])
            outcomes.append((r["id"], result))
        db.add_work_items(items)
        for job_id, result in outcomes:
            db.set_result(job_id, result)
    return path
