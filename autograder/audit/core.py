"""One audit: generate the mutants, build every submission, grade them all, judge the results.

``run(options)`` returns the audit as a plain, JSON-ready dict (see
report.py for how it is written out).  Everything in it except the
``timing`` section depends only on the reference, the release, the checks,
the rubric, the catalogues and the equivalence file: the same inputs give
the same audit.

Which checks a mutant is graded with.  Before the mutants, each target
function is graded once as a *tripwire*: its body replaced by ``raise
RuntimeError``, everything else the reference.  A check that still earns
all its points never calls that function (every probe turns the student's
exception into a failure, and no check expects a RuntimeError), so no
mutant of the function can change its verdict: its cell reads "unreached".
Two uses, both sound by that argument and by the checks being deterministic:

- a function that exactly one check calls (kl_warmup: warmup) has its
  mutants graded with that check only (``only=``), and so have the
  catalogued bugs of that function that name that check;
- such a one-check item *rides along* in the submission of a full-grade
  mutant of another function when neither function is called by a check
  of the other (the mutant of reparameterize and the mutant of kl_warmup
  share one submission: warmup's verdict is the second's, every other
  check's the first's).  One worker start instead of two: the worker's
  start (a Python process importing torch) is most of a one-check grade.
  A shared grade that shows a crash, a time-out, an import failure, a
  refused reply, a test not run or an internal error (its tests' reasons,
  ``DISTURBING``) is graded again as two submissions.

Otherwise every check runs (the engine runs either one check or all of
them).  ``--all-checks`` turns all of this off: every mutant and bug is
then its own submission graded with every check (bugs: with their check).
The selection needs the ``def`` line itself to do nothing but define the
function, so it is used only when every default argument is a literal.
"""
import ast
import dataclasses
import os
import shutil
import tempfile
import time

from autograder import rubric as rubric_mod
from autograder.errors import UsageError
from autograder.facts import PACKAGE
from autograder.audit import (
    equivalent as equivalent_mod,
    mutants as mutants_mod,
    operators,
    runner,
    submissions,
)

TRIPWIRE = 'raise RuntimeError("audit tripwire: this function was called")'
# Why a check's first failure counts as the check killing a mutant (results.REASONS): it failed on the
# mutant's behaviour (a wrong answer, an exception, the stub, a time-out, a crash, a refused reply, an import
# that failed), never because the test did not run or the grader failed (``not_run``, ``internal``).
TEACHING = ("wrong", "raised", "not_implemented", "timeout", "crashed", "bad_result", "import_failed")
# Why a test's failure may come from the other item of a shared grade: the worker was killed or never
# usable, the time budget ran out, a test did not run, the grader failed.  A shared grade with one of these
# (or an internal error) is graded again as two submissions.
DISTURBING = ("timeout", "crashed", "bad_result", "import_failed", "not_run", "internal")


@dataclasses.dataclass
class Options:
    """What to audit and how (the command line's arguments)."""

    out: str = os.path.join("outputs", "audit")
    jobs: int = 2
    fail_under: float = 100.0
    sample: int = None                  # grade a deterministic subset of this many mutants
    functions: tuple = None             # only these functions' mutants
    catalogues: bool = True
    all_checks: bool = False
    grade_equivalents: bool = False     # also grade the listed equivalent mutants (they must keep every point)
    reference: str = submissions.REFERENCE
    release: str = submissions.RELEASE
    catalogue_dir: str = submissions.CATALOGUES
    equivalent_file: str = equivalent_mod.PATH
    rubric_path: str = None
    checks_dirs: tuple = ()
    isolation: str = None
    quiet: bool = False


@dataclasses.dataclass(frozen=True)
class CatalogueEntry:
    """A catalogue submission: ``kind`` correct, alternative or bug; ``bodies`` {function: body} for the stubs;
    ``only`` the check a bug is graded with (None: every check)."""

    kind: str
    name: str
    bodies: dict
    only: str = None

    @property
    def id(self):
        return f"{self.kind}:{self.name}"

    @property
    def function(self):
        """The function a bug's one body is for."""
        return next(iter(self.bodies))


@dataclasses.dataclass(frozen=True)
class Item:
    """A mutant or bug to grade: ``function`` the one function it changes (None: a bug that cannot ride along),
    ``check`` the one check it is graded with (None: every check), the stubs' ``bodies``, the replaced ``defs``."""

    id: str
    function: str
    check: str
    bodies: dict
    defs: dict


def teaches(reason):
    """True when a failure of this reason (results.REASONS) is the check's own verdict on the code
    graded: a test that did not run or an internal error of the grader kills nothing."""
    return reason in TEACHING


def first_failure_reason(check):
    """The reason of the first test of ``check`` (a runner dict) that did not pass, or None."""
    return next((t["reason"] for t in check["tests"] if t["status"] != "passed"), None)


def validate(options):
    """UsageError (one sentence) for anything unusable; returns (rubric, targets)."""
    if options.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {options.jobs}")
    if not 0 <= options.fail_under <= 100:
        raise UsageError(f"--fail-under must be a score between 0 and 100, got {options.fail_under:g}")
    if options.sample is not None and options.sample < 1:
        raise UsageError(f"--sample must be at least 1 mutant, got {options.sample}")
    if os.path.exists(options.out) and not os.path.isdir(options.out):
        raise UsageError(f"--out {options.out} is a file: give a folder for the report")
    for what, folder in (("--reference", options.reference), ("--release", options.release)):
        if not os.path.isdir(os.path.join(folder, submissions.PACKAGE)):
            raise UsageError(f"{what} {folder} has no {submissions.PACKAGE}/ folder")
    targets = mutants_mod.targets(options.reference)
    if not targets:
        raise UsageError(f"--reference {options.reference}: no function has a ### BEGIN SOLUTION region")
    names = [t.function for t in targets]
    for name in options.functions or ():
        if name not in names:
            raise UsageError(f"--function {name}: not a function with a solution region ({', '.join(names)})")
    stubbed = submissions.stubbed(options.release)
    missing = [n for n in names if n not in stubbed]
    if missing:
        raise UsageError(f"--release {options.release} has no stub for {', '.join(missing)}: "
                         "regenerate it with make release")
    if options.catalogues and not os.path.isfile(os.path.join(options.catalogue_dir, "correct.yml")):
        raise UsageError(f"--catalogues {options.catalogue_dir} has no correct.yml (or pass --no-catalogues)")
    rubric = rubric_mod.load(options.rubric_path) if options.rubric_path else rubric_mod.load()
    rubric_mod.locate(rubric, options.checks_dirs)
    return rubric, targets


def _literal_defaults(function_code):
    fn = ast.parse(function_code).body[0]
    values = list(fn.args.defaults) + [d for d in fn.args.kw_defaults if d is not None]
    try:
        for value in values:
            ast.literal_eval(value)
    except ValueError:
        return False
    return True


def run(options, progress=None, while_warming=None):
    """Audit the checks; the audit as a dict (see the module docstring).

    ``while_warming``: a callable run in this thread once the arguments are valid, while the grading
    processes start (the command line imports what its report needs)."""
    started = time.perf_counter()
    rubric, targets = validate(options)
    with runner.Pool(options.jobs, options.rubric_path, options.checks_dirs, options.isolation,
                     progress) as pool:
        pool.warm()     # the grading processes import torch and the engine while this thread goes on
        if while_warming is not None:
            while_warming()
        return _run(options, rubric, targets, pool, started)


def _run(options, rubric, targets, pool, started):
    check_ids = [c.id for c in rubric.checks]
    entries = equivalent_mod.load(options.equivalent_file)
    chosen = set(options.functions) if options.functions else None
    generated, skipped = mutants_mod.generate(options.reference, chosen)
    equivalents, stale = equivalent_mod.match(
        [e for e in entries if chosen is None or e["function"] in chosen], generated)
    picked = mutants_mod.sample(generated, options.sample) if options.sample else list(generated)
    graded = [m for m in picked if options.grade_equivalents or m.id not in equivalents]
    reference_defs = {t.function: t.source for t in targets}
    catalogue = _load_catalogues(options) if options.catalogues else None

    with tempfile.TemporaryDirectory(prefix="audit-") as tmp:
        release = os.path.join(tmp, "release")        # one snapshot: every submission from the same files
        shutil.copytree(os.path.join(options.release, submissions.PACKAGE),
                        os.path.join(release, submissions.PACKAGE),
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        counter = iter(range(10**6))

        def task(task_id, only=None, bodies=None, defs=None, reference=True):
            """A submission: the stubs get ``bodies``, ``defs``, and the reference (or correct.yml) otherwise."""
            merged = dict(reference_defs) if reference else {}
            merged.update(defs or {})
            for function in bodies or {}:
                merged.pop(function, None)
            folder = submissions.build(os.path.join(tmp, "s", f"{next(counter):04d}"), bodies=bodies,
                                       defs=merged, release=release, catalogues=options.catalogue_dir)
            return runner.Task(task_id, folder, only=only)

        # 1. Tripwires, and the catalogue's full-mark submissions (independent of the tripwires).
        reached = {f: list(check_ids) for f in reference_defs}
        selection = not options.all_checks
        called = {m.function for m in graded} | {e.function for e in catalogue or () if e.only}
        trips = [task(f"tripwire:{f}", bodies={f: TRIPWIRE}) for f in reference_defs if f in called] \
            if selection else []
        full_catalogue = [task(e.id, bodies=e.bodies, reference=False) for e in catalogue or () if e.only is None]
        pool.submit(trips + full_catalogue)
        tripwire_results = pool.wait([t.id for t in trips])
        for f in (reference_defs if selection else ()):
            if f in called:
                reached[f] = [c["id"] for c in tripwire_results[f"tripwire:{f}"]["checks"]
                              if c["score"] < c["points"]]

        # 2. The mutants (and the bugs), each graded with every check or with the one check that calls its
        #    function; a one-check item rides along with a full-grade mutant of another function when
        #    neither function is called by a check of the other.
        def single(function, source=None):
            if not selection or len(reached[function]) != 1:
                return None
            return reached[function][0] if source is None or _literal_defaults(source) else None

        items = []
        for m in graded:
            items.append(Item(m.id, m.function, single(m.function, m.source), None, {m.function: m.source}))
        for e in catalogue or ():
            if e.only is not None:
                rides = single(e.function) == e.only
                items.append(Item(e.id, e.function if rides else None, e.only, e.bodies, None))
        hosts = [i for i in items if i.check is None and i.function is not None]
        riders = [i for i in items if i.check is not None and i.function is not None and single(i.function) == i.check]
        alone = [i for i in items if i not in hosts and i not in riders]
        pairs = []
        for host in hosts:
            rider = next((r for r in riders if r.function != host.function and r.check not in reached[host.function]),
                         None)
            if rider is not None:
                riders.remove(rider)
            pairs.append((host, rider))
        alone = riders + alone

        def submit_item(item, only):
            return task(item.id, only=only, bodies=item.bodies, defs=item.defs, reference=item.defs is not None)

        def submit_pair(host, rider):
            defs = dict(host.defs)
            defs.update(rider.defs or {})
            return task(f"pair:{host.id}+{rider.id}", bodies=rider.bodies, defs=defs)

        grading_started = time.perf_counter()
        first = [submit_pair(h, r) if r else submit_item(h, None) for h, r in pairs]
        rest = [submit_item(i, i.check) for i in alone]
        pool.submit(first + rest)
        done = pool.wait([t.id for t in first + rest] + [t.id for t in full_catalogue])
        results, again = {}, []
        for host, rider in pairs:
            if rider is None:
                results[host.id] = done[host.id]
                continue
            combined = done[f"pair:{host.id}+{rider.id}"]
            if _disturbed(combined):      # a crash, a timeout or an internal error: grade each on its own
                again += [submit_item(host, None), submit_item(rider, rider.check)]
            else:
                results[host.id] = _part(combined, host.id, exclude=rider.check, with_=rider.id)
                results[rider.id] = _part(combined, rider.id, only=rider.check, with_=host.id)
        if again:
            pool.submit(again)
            results.update(pool.wait([t.id for t in again]))
        for t in rest + full_catalogue:
            results[t.id] = done[t.id]
        grading_seconds = time.perf_counter() - grading_started
        calls = len(trips) + len(full_catalogue) + len(first) + len(rest) + len(again)

    mutant_rows = [_judge_mutant(m, results.get(m.id), check_ids, equivalents.get(m.id)) for m in picked]
    catalogue_rows = _judge_catalogues(catalogue, results) if catalogue else None
    audit = _summarise(options, rubric, generated, skipped, picked, mutant_rows, equivalents, stale,
                       catalogue_rows, reached, tripwire_results, results)
    total = time.perf_counter() - started
    audit["timing"] = {
        "seconds": round(total, 1),
        "grading_seconds": round(grading_seconds, 1),
        "jobs": options.jobs,
        "submissions_graded": calls,
        "mutants_per_minute": round(60 * len(picked) / total, 1) if total else None,
        "per_submission": {k: round(v["seconds"], 2) for k, v in sorted(results.items())},
    }
    return audit


def _disturbed(result):
    """True when a grade may not split cleanly: an internal error, a crash, a timeout, an import failure."""
    return bool(result["internal_errors"]) or any(
        t["status"] != "passed" and t["reason"] in DISTURBING for c in result["checks"] for t in c["tests"])


def _part(result, item_id, exclude=None, only=None, with_=None):
    """The part of a combined grade that belongs to one item: its checks, re-added up."""
    checks = [c for c in result["checks"] if (only is None or c["id"] == only) and c["id"] != exclude]
    return {**result, "id": item_id, "only": only, "checks": checks, "graded_with": with_,
            "score": sum(c["score"] for c in checks), "max_score": sum(c["points"] for c in checks)}


def _load_catalogues(options):
    """[CatalogueEntry]: correct, each alternative, each bug (graded on its own check)."""
    items = [CatalogueEntry("correct", "reference", {})]
    for name, bodies in sorted(submissions.load("alternatives", options.catalogue_dir).items()):
        items.append(CatalogueEntry("alternative", name, bodies))
    for bug in submissions.load("bugs", options.catalogue_dir):
        items.append(CatalogueEntry("bug", bug["name"], {bug["function"]: bug["body"]}, bug["check"]))
    return items


def _judge_mutant(m, result, check_ids, entry):
    if result is None:      # an equivalent mutant, not graded (see --grade-equivalents)
        result = {"checks": [], "internal_errors": [], "score": None, "max_score": None, "only": None}
    cells, messages, reasons = {}, {}, {}
    by_id = {c["id"]: c for c in result["checks"]}
    for cid in check_ids:
        c = by_id.get(cid)
        if c is None:
            cells[cid] = "unreached"
        elif c["score"] < c["points"]:
            cells[cid] = "killed" if teaches(first_failure_reason(c)) else "weak"
            messages[cid] = c["first_failure"]
            reasons[cid] = first_failure_reason(c)
        else:
            cells[cid] = "passed"
    killed_by = [cid for cid in check_ids if cells[cid] == "killed"]
    lost = [cid for cid in check_ids if cells[cid] in ("killed", "weak")]
    if result["internal_errors"]:
        status = "error"
    elif entry is not None:
        status = "equivalent-killed" if lost else "equivalent"
    elif killed_by:
        status = "killed"
    elif lost:
        status = "weak"
    else:
        status = "survived"
    row = {
        "id": m.id, "function": m.function, "family": m.family, "operator": m.operator,
        "library": "cosmic-ray" if m.operator.startswith("core/") else "own",
        "also": list(m.also), "path": m.path, "occurrence": m.occurrence, "start": list(m.start),
        "end": list(m.end), "line": m.line, "before": m.before, "after": m.after,
        "description": mutants_mod.describe(m), "status": status, "killed_by": killed_by,
        "score": result["score"], "max_score": result["max_score"], "only": result["only"],
        "cells": cells, "messages": messages, "reasons": reasons, "diff": m.diff(),
        "graded_with": result.get("graded_with"),
        "graded": result["score"] is not None,
        "internal_errors": [str(e) for e in result["internal_errors"]],
    }
    if entry is not None:
        row["reason"] = entry["reason"]
    return row


def _judge_catalogues(catalogue, results):
    rows = []
    bugs = {}
    for entry in catalogue:
        result = results[entry.id]
        row = {"kind": entry.kind, "name": entry.name, "score": result["score"], "max_score": result["max_score"],
               "internal_errors": [str(e) for e in result["internal_errors"]],
               "graded_with": result.get("graded_with")}
        if entry.kind == "bug":
            bugs[entry.name] = row
            (check,) = [c for c in result["checks"] if c["id"] == entry.only] or [None]
            row["check"] = entry.only
            row["function"] = entry.function
            row["lost"] = bool(check and check["score"] < check["points"])
            row["message"] = check["first_failure"] if check else ""
            row["ok"] = row["lost"] and not result["internal_errors"]
        else:
            lost = [f"{c['id']}: {c['first_failure']}" for c in result["checks"] if c["score"] < c["points"]]
            row["lost"] = lost
            row["ok"] = not lost and result["score"] == result["max_score"] and not result["internal_errors"]
        rows.append(row)
    return rows


def _bug_expectations(rows, options):
    return {b["name"]: b for b in submissions.load("bugs", options.catalogue_dir)}


def _bug_verdict(bug, result):
    """What is wrong with a bug's grade beyond losing points, or '': its check's first failure must
    contain ``expect``, no failure of the check may contain a ``reject`` phrase, and exactly
    ``failing_tests`` of its tests fail when the catalogue says how many."""
    (check,) = [c for c in result["checks"] if c["id"] == bug["check"]] or [None]
    if check is None:
        return f"{bug['check']} was not graded"
    if bug["expect"].lower() not in check["first_failure"].lower():
        return f"its first failure in {bug['check']} does not contain {bug['expect']!r}"
    text = "\n".join(t["message"] for t in check["tests"] if t["status"] != "passed").lower()
    wrong = [p for p in bug.get("reject", []) if p.lower() in text]
    if wrong:
        return f"a failure message of {bug['check']} contains {wrong[0]!r}, a wrong diagnosis"
    failed = sum(t["status"] != "passed" for t in check["tests"])
    if "failing_tests" in bug and failed != bug["failing_tests"]:
        return f"{failed} tests of {bug['check']} fail, the catalogue says {bug['failing_tests']}"
    return ""


def _summarise(options, rubric, generated, skipped, graded, rows, equivalents, stale, catalogue_rows,
               reached, tripwire_results, results):
    check_ids = [c.id for c in rubric.checks]
    considered = [r for r in rows if r["status"] not in ("equivalent", "equivalent-killed")]
    killed = [r for r in considered if r["status"] == "killed"]
    percent = round(100.0 * len(killed) / len(considered), 2) if considered else 100.0
    checks = []
    for c in rubric.checks:
        kills = [r["id"] for r in considered if c.id in r["killed_by"]]
        sole = [r["id"] for r in considered if r["killed_by"] == [c.id]]
        checks.append({"id": c.id, "points": c.points, "visibility": c.visibility, "kills": len(kills),
                       "sole_kills": len(sole), "dead_weight": not kills})
    operators_used = {}
    for m in generated:
        key = m.operator
        entry = operators_used.setdefault(key, {"operator": key, "family": m.family,
                                                "library": "cosmic-ray" if key.startswith("core/") else "own",
                                                "mutants": 0})
        entry["mutants"] += 1
    failures = []
    if percent < options.fail_under:
        failures.append(f"mutation score {percent:g}% is below --fail-under {options.fail_under:g}%")
    for r in rows:
        if r["status"] == "equivalent-killed":
            failures.append(f"{r['id']} is listed as equivalent but lost points in "
                            f"{', '.join(k for k, v in r['cells'].items() if v in ('killed', 'weak'))}: "
                            "the claim is wrong, or a check rejects correct code")
        elif r["status"] == "error":
            failures.append(f"{r['id']}: internal grader errors: {'; '.join(r['internal_errors'])[:300]}")
    if catalogue_rows is not None:
        expects = _bug_expectations(catalogue_rows, options)
        for row in catalogue_rows:
            if row["kind"] == "bug":
                bug = expects[row["name"]]
                row["expect"] = bug["expect"]
                problem = _bug_verdict(bug, results[f"bug:{row['name']}"])
                row["expect_found"] = not problem
                row["ok"] = row["ok"] and row["expect_found"]
                if not row["ok"]:
                    failures.append(f"bug {row['name']} was not caught by {row['check']} with a message "
                                    f"containing {row['expect']!r}" + (f" ({problem})" if problem else ""))
            elif not row["ok"]:
                failures.append(f"{row['kind']} {row['name']} lost points: {'; '.join(row['lost'])[:300]}"
                                + (f" (internal errors: {row['internal_errors']})" if row["internal_errors"] else ""))
    isolation = sorted({r["isolation"] for r in results.values() if r.get("isolation")})
    return {
        "version": 1,
        "reference": os.path.relpath(options.reference, submissions.ROOT),
        "release": os.path.relpath(options.release, submissions.ROOT),
        "isolation": ", ".join(isolation),
        "checks_order": check_ids,
        "score": {"killed": len(killed), "non_equivalent": len(considered), "percent": percent,
                  "fail_under": options.fail_under, "passed": not failures},
        "mutants": {
            "generated": len(generated), "graded": len(graded), "sample": options.sample,
            "functions": sorted({m.function for m in generated}),
            "dropped": skipped,
            "by_status": {s: sum(1 for r in rows if r["status"] == s)
                          for s in ("killed", "survived", "weak", "equivalent", "equivalent-killed", "error")},
        },
        "selection": {f: {"reached_by": reached[f],
                          "graded_with": (reached[f][0] if len(reached[f]) == 1 and not options.all_checks
                                          else "every check")}
                      for f in sorted(reached)},
        "operators": sorted(operators_used.values(), key=lambda e: (operators.FAMILIES.index(e["family"]),
                                                                     e["operator"])),
        "checks": checks,
        "mutant_results": rows,
        "survivors": [r["id"] for r in rows if r["status"] in ("survived", "weak")],
        "equivalent": {
            "file": os.path.relpath(options.equivalent_file, submissions.ROOT),
            "matched": sorted(equivalents),
            "stale": stale,
        },
        "catalogues": catalogue_rows,
        "failures": failures,
    }
