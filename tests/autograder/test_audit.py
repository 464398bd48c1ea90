"""The audit (python -m autograder audit): mutants, equivalences, submissions, reports, and a CI-sized run.

The full audit (every mutant) is `make audit`; here a fixed, stratified
sample of mutants (one per function and operator family) and the catalogues
of autograder/audit/catalogues/ are graded with the threshold at 100, through the
command line, and the report files are checked.
"""
import json
import math
import os
import shutil
import subprocess
import sys
import threading
import types

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder import cli
from autograder.audit import core, equivalent, mutants, operators, report, submissions
from autograder.errors import UsageError
from support import ROOT

SAMPLE = 15          # one mutant per (function, family) group of the current lab
MUTANTS, DROPPED = mutants.generate(str(ROOT / "solutions"))
TARGETS = mutants.targets(str(ROOT / "solutions"))


# --- operators and mutants -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(operators.OWN))
def test_own_operators_do_what_their_examples_say(name):
    from cosmic_ray.mutating import mutate_code

    cls = operators.OWN[name]
    for ex in cls.examples():
        assert mutate_code(ex.pre_mutation_code, cls(), ex.occurrence) == ex.post_mutation_code


def test_every_operator_is_known_to_cosmic_ray():
    for listed in operators.OPERATORS:
        assert operators.get(listed.name) is not None


def test_mutants_of_every_solution_function_and_family():
    assert {t.function for t in TARGETS} == {"reparameterize", "kl_divergence", "kl_warmup"}
    assert 60 <= len(MUTANTS) <= 150
    assert {m.function for m in MUTANTS} == {t.function for t in TARGETS}
    assert {m.family for m in MUTANTS} == set(operators.FAMILIES)
    assert len({m.id for m in MUTANTS}) == len(MUTANTS)
    assert any(m.operator.startswith("core/") for m in MUTANTS) and any(m.operator.startswith("lab6/") for m in MUTANTS)
    changes = {(m.function, m.after) for m in MUTANTS}
    for expected in [("reparameterize", "eps = torch.rand_like(std)"), ("reparameterize", "eps = torch.zeros_like(std)"),
                     ("reparameterize", "std = torch.sqrt(0.5 * logvar)"),
                     ("kl_warmup", "return float(beta_max) * max(1.0, epoch / warmup_epochs)"),
                     ("kl_divergence", 'def kl_divergence(mu, logvar, reduction="sum"):'),
                     ("kl_warmup", "def kl_warmup(epoch, warmup_epochs, beta_max= 2.0):"),
                     ("kl_divergence", "per_example = 0.5 * torch.mean(mu.pow(2) + logvar.exp() - 1.0 - logvar, dim=-1)"),
                     ("kl_divergence", "per_example = 0.5 * torch.sum(mu.pow(2) + logvar.exp() - 1.0 - logvar)"),
                     ("kl_divergence", "per_example = 0.5 * torch.sum(mu.pow(2) + logvar.exp() - 1.0 - logvar, dim=1)"),
                     ("kl_divergence", "per_example = 0.5 * torch.sum(mu.pow(2) + logvar.exp() - 1.0 - logvar, dim=0)"),
                     ("reparameterize", "pass")]:
        assert expected in changes, expected


def test_each_mutant_changes_its_function_only_and_compiles():
    for m in MUTANTS:
        compile(m.module_text, m.path, "exec")
        assert mutants.normal_form(m.source) != mutants.normal_form(m.reference), m.id
        target = next(t for t in TARGETS if t.function == m.function)
        before, after = m.reference_text.splitlines(), m.module_text.splitlines()
        span = len(after) - len(before)
        assert before[:target.first - 1] == after[:target.first - 1], m.id
        assert before[target.last:] == after[target.last + span:], m.id


@pytest.mark.slow
def test_generation_is_deterministic():
    again, dropped = mutants.generate(str(ROOT / "solutions"))
    assert [(m.id, m.source) for m in again] == [(m.id, m.source) for m in MUTANTS] and dropped == DROPPED


def test_the_sample_is_deterministic_and_covers_every_function_and_family():
    picked = mutants.sample(MUTANTS, SAMPLE)
    assert [m.id for m in picked] == [m.id for m in mutants.sample(list(MUTANTS), SAMPLE)]
    assert len(picked) == SAMPLE
    assert {(m.function, m.family) for m in picked} == {(m.function, m.family) for m in MUTANTS}


# --- submissions -----------------------------------------------------------------------------------------

def _function_in(folder, module, name):
    with open(os.path.join(folder, "lab6_generative", f"{module}.py"), encoding="utf-8") as f:
        return mutants.function_source(f.read(), name)


def test_a_mutant_submission_is_the_reference_with_one_function_mutated(tmp_path):
    m = next(m for m in MUTANTS if m.function == "kl_divergence" and m.family == "constant" and "def " in m.after)
    defs = {t.function: t.source for t in TARGETS}
    defs[m.function] = m.source
    folder = submissions.build(str(tmp_path / "s"), defs=defs)
    assert _function_in(folder, "vae", "kl_divergence") == m.source
    for t in TARGETS:
        if t.function != m.function:
            assert _function_in(folder, t.module, t.function) == t.source
    with open(os.path.join(folder, "lab6_generative", "train_vae.py"), encoding="utf-8") as f:
        assert f.read() == (ROOT / "assignment" / "lab6_generative" / "train_vae.py").read_text(encoding="utf-8")


def test_tests_support_builds_through_the_audit_package(tmp_path):
    from support import submissions as helpers

    assert helpers.MODULE_OF == {"kl_warmup": "schedules", "reparameterize": "vae", "kl_divergence": "vae"}
    folder = helpers.build_submission(tmp_path, {"kl_warmup": "return 0.0"})
    text = (folder / "lab6_generative" / "schedules.py").read_text(encoding="utf-8")
    assert "    return 0.0\n" in text and submissions.STUB not in text
    stubs = helpers.build_submission(tmp_path / "stubs", stubs=True)
    assert (stubs / "lab6_generative" / "vae.py").read_text(encoding="utf-8").count(submissions.STUB) == 2


# --- equivalences ----------------------------------------------------------------------------------------

ENTRIES = equivalent.load()


def test_every_equivalence_matches_a_mutant_and_has_a_one_line_reason():
    found, stale = equivalent.match(ENTRIES, MUTANTS)
    assert not stale
    assert len(found) == len(ENTRIES)
    assert all(e["reason"].strip() and "\n" not in e["reason"].strip() for e in ENTRIES)


def test_an_entry_that_matches_nothing_is_stale():
    entry = {"function": "kl_warmup", "before": "return 1", "after": "return 2", "reason": "none"}
    found, stale = equivalent.match(ENTRIES + [entry], MUTANTS)
    assert stale == [entry] and len(found) == len(ENTRIES)


def test_a_malformed_equivalence_file_is_a_usage_error(tmp_path):
    path = tmp_path / "eq.yml"
    path.write_text("- function: kl_warmup\n  before: x\n", encoding="utf-8")
    with pytest.raises(UsageError, match="exactly the keys"):
        equivalent.load(str(path))


def _load(text, name):
    module = types.ModuleType(name)
    exec(compile(text, name, "exec"), module.__dict__)  # our own reference, mutated: not student code
    return module


def _pair(entry):
    (m,) = [m for m in MUTANTS if equivalent.matches(entry, m)]
    return _load(m.reference_text, "reference"), _load(m.module_text, "mutant"), m


@st.composite
def _tensors(draw):
    """(mu, logvar) of any shape (..., d) with 0-3 leading dimensions, float32 or float64."""
    dims = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    seed = draw(st.integers(0, 2**16))
    scale = draw(st.sampled_from([0.1, 1.0, 5.0, 20.0]))
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(dims, generator=g, dtype=torch.float64).mul(scale).to(dtype),
            torch.randn(dims, generator=g, dtype=torch.float64).mul(scale).to(dtype))


def _outcome(fn, *args, **kwargs):
    try:
        return ("value", fn(*args, **kwargs))
    except Exception as exc:  # noqa: BLE001 - the exception is the outcome
        return ("raised", type(exc), str(exc))


def _same(a, b):
    if a[0] != b[0]:
        return False
    if a[0] == "raised":
        return a[1:] == b[1:]
    x, y = a[1], b[1]
    if isinstance(x, torch.Tensor):
        return x.shape == y.shape and x.dtype == y.dtype and torch.equal(x, y)
    return type(x) is type(y) and (x == y or (math.isnan(x) and math.isnan(y)))


NUMBERS = st.one_of(st.integers(-3, 30), st.floats(-3, 30, allow_nan=False), st.just(0), st.just(0.0))


@pytest.mark.slow
@pytest.mark.parametrize("entry", ENTRIES, ids=[f"{e['function']}: {e['after']}" for e in ENTRIES])
def test_each_equivalence_claim_holds_for_valid_inputs_of_any_shape(entry):
    """Deterministic functions: same value or same exception; reparameterize: the same law, by coupling."""
    reference, mutant, m = _pair(entry)
    ref, mut = getattr(reference, m.function), getattr(mutant, m.function)

    if m.function == "kl_divergence":
        @settings(max_examples=150, derandomize=True, database=None, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])   # a loaded machine draws slowly
        @given(pair=_tensors(), reduction=st.one_of(st.sampled_from(["none", "sum", "mean", None, "", "MEAN"]),
                                                    st.text(max_size=5), st.integers()))
        def check(pair, reduction):
            kwargs = {} if reduction is None else {"reduction": reduction}
            assert _same(_outcome(ref, *pair, **kwargs), _outcome(mut, *pair, **kwargs))
    elif m.function == "kl_warmup":
        @settings(max_examples=400, derandomize=True, database=None, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])   # a loaded machine draws slowly
        @given(epoch=NUMBERS, warmup=NUMBERS, beta_max=st.one_of(st.none(), NUMBERS))
        def check(epoch, warmup, beta_max):
            args = (epoch, warmup) if beta_max is None else (epoch, warmup, beta_max)
            assert _same(_outcome(ref, *args), _outcome(mut, *args))
    elif m.function == "reparameterize":
        # The same seed draws the same eps: the mutant's z is the reference's with eps -> -eps, i.e.
        # 2 * mu - z; eps and -eps have the same law N(0, I), and the gradients keep their contract.
        @settings(max_examples=60, derandomize=True, database=None, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])   # a loaded machine draws slowly
        @given(pair=_tensors(), seed=st.integers(0, 2**16))
        def check(pair, seed):
            mu, logvar = (t.clone().requires_grad_(True) for t in pair)
            torch.manual_seed(seed)
            z_ref = ref(*pair)
            torch.manual_seed(seed)
            z = mut(mu, logvar)
            assert z.shape == z_ref.shape and z.dtype == z_ref.dtype
            tol = {torch.float32: 1e-5, torch.float64: 1e-12}[z.dtype]
            assert torch.allclose(z, 2 * pair[0] - z_ref, rtol=tol, atol=tol * (1 + pair[0].abs().max().item()))
            z.sum().backward()
            assert torch.equal(mu.grad, torch.ones_like(mu))
            assert torch.allclose(logvar.grad, 0.5 * (z - mu).detach(), rtol=tol, atol=tol)
    else:
        pytest.fail(f"no property test for equivalences of {m.function}: add one here")
    check()


# --- the command line ------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, says", [
    (["--jobs", "0"], "--jobs must be at least 1"),
    (["--fail-under", "120"], "--fail-under must be a score between 0 and 100"),
    (["--sample", "0"], "--sample must be at least 1"),
    (["--function", "decode"], "--function decode: not a function with a solution region"),
    (["--reference", "/nonexistent"], "has no lab6_generative/ folder"),
    (["--catalogues", "/tmp"], "has no correct.yml"),
    (["--jobs", "two"], "invalid int value"),
])
def test_bad_arguments_are_one_sentence_and_exit_2(capsys, args, says):
    threads = set(threading.enumerate())
    try:
        code = cli.main(["audit", *args])
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2 and says in err and len(err.strip().splitlines()) == 1, err
    # nothing left running: a thread importing matplotlib once raced the caller's parsing and broke it
    assert set(threading.enumerate()) <= threads


def test_out_must_be_a_folder(tmp_path, capsys):
    path = tmp_path / "file"
    path.write_text("x", encoding="utf-8")
    assert cli.main(["audit", "--out", str(path)]) == 2
    assert "--out" in capsys.readouterr().err


def test_a_kill_is_a_failure_of_the_code_graded_never_a_test_not_run_or_the_graders():
    from autograder import results

    assert set(core.TEACHING) | {"passed", "not_run", "internal"} == set(results.REASONS)
    for reason in ("wrong", "raised", "not_implemented", "timeout", "crashed", "bad_result", "import_failed"):
        assert core.teaches(reason), reason
    for reason in ("not_run", "internal", "passed", None):
        assert not core.teaches(reason), reason
    assert set(core.DISTURBING) <= set(results.REASONS)


def _graded(*checks, internal=()):
    """A runner dict: each check (id, [(status, reason, message)]), scored from its tests (one point each)."""
    out = []
    for cid, tests in checks:
        rows = [{"name": f"t{i}", "status": s, "reason": r, "message": m, "points": 1}
                for i, (s, r, m) in enumerate(tests)]
        out.append({"id": cid, "points": len(rows), "score": sum(t["status"] == "passed" for t in rows),
                    "first_failure": next((t["message"] for t in rows if t["status"] != "passed"), ""),
                    "tests": rows})
    return {"checks": out, "internal_errors": list(internal), "score": sum(c["score"] for c in out),
            "max_score": sum(c["points"] for c in out), "only": None}


PASS = ("passed", "passed", "")


def test_a_mutants_cells_follow_the_reason_of_each_checks_first_failure():
    """killed: the first failure is the check's verdict (whatever its words); weak: it did not run or was the
    grader's; the words of a message no longer decide ("not run" killing, "timed out" as a wrong answer)."""
    m = MUTANTS[0]
    result = _graded(
        ("a", [PASS, ("failed", "wrong", "a check failed")]),
        ("b", [("failed", "timeout", "not run: the grading time budget of 150 s was used up"),
               ("failed", "not_run", "not run: ...")]),
        ("c", [("failed", "not_run", "timed out: this reads like a verdict"), ("failed", "wrong", "off by one")]),
        ("d", [("failed", "internal", "kl_warmup(0, 3) = 1, expected 0")]),
        ("e", [PASS]))
    row = core._judge_mutant(m, result, ["a", "b", "c", "d", "e", "f"], None)
    assert row["cells"] == {"a": "killed", "b": "killed", "c": "weak", "d": "weak", "e": "passed", "f": "unreached"}
    assert row["reasons"] == {"a": "wrong", "b": "timeout", "c": "not_run", "d": "internal"}
    assert row["killed_by"] == ["a", "b"] and row["status"] == "killed"
    errored = core._judge_mutant(m, _graded(("a", [("failed", "internal", "x")]),
                                            internal=[results_error("a", "test_a.py::t0: boom")]), ["a"], None)
    assert errored["status"] == "error" and errored["internal_errors"] == ["test_a.py::t0: boom"]
    json.dumps(errored)     # the report is JSON: internal errors as text


def results_error(check, message):
    from autograder.results import InternalError

    return InternalError(check, message)


@pytest.mark.parametrize("reason, disturbed", [
    ("wrong", False), ("raised", False), ("not_implemented", False),
    ("timeout", True), ("crashed", True), ("bad_result", True), ("import_failed", True), ("not_run", True),
    ("internal", True),
])
def test_a_shared_grade_is_split_only_when_no_test_was_disturbed(reason, disturbed):
    """By the reason, never the words: a wrong answer that reads "timed out" does not disturb a grade."""
    words = "timed out: the process importing your package could not read lab6_generative: internal error"
    assert core._disturbed(_graded(("a", [PASS, ("failed", reason, words)]))) is disturbed
    assert not core._disturbed(_graded(("a", [PASS]), ("b", [PASS])))
    assert core._disturbed(_graded(("a", [PASS]), internal=[results_error(None, "pytest could not run")]))


def test_a_bug_is_judged_by_its_checks_first_failure():
    """As tests/autograder/test_submissions.py: `expect` in the first failure, no `reject` phrase in any,
    exactly `failing_tests` tests failed."""
    bug = {"name": "b", "check": "c", "expect": "sign", "reject": ["uniform"], "failing_tests": 1}

    def result(*messages):
        tests = [{"status": "failed" if m else "passed", "message": m} for m in messages]
        return {"checks": [{"id": "c", "first_failure": next((m for m in messages if m), ""), "tests": tests}]}

    assert core._bug_verdict(bug, result("", "the sign is flipped: ...")) == ""
    assert "does not contain 'sign'" in core._bug_verdict(bug, result("off by one", "the sign is flipped"))
    assert "'uniform', a wrong diagnosis" in core._bug_verdict({**bug, "failing_tests": 2},
                                                               result("the sign is flipped", "looks uniform"))
    assert "2 tests of c fail" in core._bug_verdict(bug, result("the sign is flipped", "sign again"))
    assert "was not graded" in core._bug_verdict({**bug, "check": "d"}, result("sign"))


# --- a CI-sized audit, through the command line ----------------------------------------------------------

def _small_catalogues(folder):
    """The catalogues cut to the reference, one alternative and the first bug of each check they name.

    Every catalogued submission is graded, under both sandboxes, by test_submissions.py; here the
    audit's own handling of each kind (full grades, one-check grades riding with mutants, verdicts,
    the report's section) needs one of each, not all 42 again."""
    import yaml

    folder.mkdir()
    shutil.copy(os.path.join(submissions.CATALOGUES, "correct.yml"), folder / "correct.yml")
    alternatives = submissions.load("alternatives")
    first = sorted(alternatives)[0]
    (folder / "alternatives.yml").write_text(yaml.safe_dump({first: alternatives[first]}), encoding="utf-8")
    bugs = {}
    for bug in submissions.load("bugs"):
        bugs.setdefault(bug["check"], bug)
    (folder / "bugs.yml").write_text(yaml.safe_dump(list(bugs.values())), encoding="utf-8")
    return len(bugs)


@pytest.fixture(scope="module")
def ci_audit(tmp_path_factory):
    out = tmp_path_factory.mktemp("audit")
    catalogues = tmp_path_factory.mktemp("catalogues") / "small"
    bugs = _small_catalogues(catalogues)
    proc = subprocess.run([sys.executable, "-m", "autograder", "audit", "--sample", str(SAMPLE), "--jobs", "2",
                           "--catalogues", str(catalogues), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=1800)
    return proc, out, bugs


@pytest.mark.slow
def test_the_ci_audit_scores_100_and_the_catalogues_pass(ci_audit):
    proc, out, bugs = ci_audit
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert data["score"]["percent"] == 100 and data["score"]["passed"] and not data["failures"]
    assert data["mutants"]["graded"] == SAMPLE and data["mutants"]["generated"] == len(MUTANTS)
    assert not data["survivors"] and not data["equivalent"]["stale"]
    kinds = [r["kind"] for r in data["catalogues"]]
    assert kinds.count("correct") == 1 and kinds.count("alternative") == 1 and kinds.count("bug") == bugs >= 6
    assert all(r["ok"] for r in data["catalogues"])
    assert "Mutation score 100%" in proc.stdout and "PASSED" in proc.stdout


@pytest.mark.slow
def test_the_report_files_are_well_formed(ci_audit):
    _, out, _ = ci_audit
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    checks = data["checks_order"]
    assert checks == ["shapes", "reparameterization", "kl_analytic", "loss_reduction", "warmup", "determinism",
                      "training"]
    for row in data["mutant_results"]:
        assert set(row["cells"]) == set(checks) and set(row["cells"].values()) <= set(report.CELL)
        assert row["diff"].startswith("--- a/lab6_generative/") and row["status"] in (
            "killed", "equivalent")
        if row["status"] == "killed":
            assert row["killed_by"] and all(core.teaches(row["reasons"][c]) for c in row["killed_by"])
    assert {c["id"] for c in data["checks"]} == set(checks)
    assert data["timing"]["seconds"] > 0 and data["timing"]["mutants_per_minute"] > 0

    text = (out / "report.md").read_text(encoding="utf-8")
    for heading in ("# Audit of the checks", "## Survivors", "## Per check", "## Equivalent mutants",
                    "## Catalogues", "## Kill matrix", "## Operators"):
        assert heading in text, heading
    matrix = [line for line in text.splitlines() if line.startswith("| ") and line.count("|") == len(checks) + 5]
    assert len(matrix) == SAMPLE + 1         # the header and one row per mutant

    png = (out / "kill-matrix.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    image = matplotlib.image.imread(str(out / "kill-matrix.png"))
    assert image.shape[0] > 300 and image.shape[1] > 600

    from cosmic_ray.work_db import WorkDB, use_db

    with use_db(str(out / "session.sqlite"), WorkDB.Mode.open) as db:
        assert db.num_work_items == SAMPLE and db.num_results == SAMPLE


@pytest.mark.slow
def test_same_inputs_give_the_same_report(tmp_path):
    """Everything but the timing is the same in two runs, one and two grading processes (a small run:
    kl_warmup's mutants)."""
    runs = []
    for name, jobs in (("a", 1), ("b", 2)):
        options = core.Options(out=str(tmp_path / name), jobs=jobs, sample=4, functions=("kl_warmup",),
                               catalogues=False)
        audit = core.run(options)
        report.write(audit, options.out)
        runs.append(audit)
    for audit in runs:
        audit.pop("timing")
    assert runs[0] == runs[1]
    assert runs[0]["score"]["percent"] == 100
    assert report.markdown(runs[0]) == report.markdown(runs[1])
    assert (tmp_path / "a" / "kill-matrix.png").read_bytes() == (tmp_path / "b" / "kill-matrix.png").read_bytes()
