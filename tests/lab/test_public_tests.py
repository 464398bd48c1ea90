"""The public tests (solutions/tests/, shipped as assignment/tests/) against both trees."""
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from support import ASSIGNMENT, SOLUTIONS, offline_env

pytestmark = pytest.mark.slow

ORIGINAL_LAB_TEST = '''
def test_vae_shapes():
    from lab6_generative.train_vae import VAE
    import torch
    m=VAE(z=8); x=torch.rand(4,1,28,28)
    xr, loss, r, k = m(x, beta=1.0)
    assert xr.shape==(4,1,28,28)
'''


def run_pytest(tree, tmp_path, *args):
    """Run pytest as a student would (from the tree's root); return {test id: outcome}."""
    report = tmp_path / f"{tree.name}.xml"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", f"--junitxml={report}", *args],
                          cwd=tree, env=offline_env(), capture_output=True, text=True, timeout=300)
    outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        outcomes[f"{case.get('classname')}::{case.get('name')}"] = kinds[0] if kinds else "passed"
    return proc, outcomes


def test_original_lab_test_passes_unchanged_on_solutions(tmp_path):
    test_file = tmp_path / "test_original.py"
    test_file.write_text(ORIGINAL_LAB_TEST)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
                          cwd=SOLUTIONS, env=offline_env(PYTHONPATH=str(SOLUTIONS)),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def on_solutions(tmp_path_factory):
    """The public tests run once on solutions/: (process, {test id: outcome})."""
    return run_pytest(SOLUTIONS, tmp_path_factory.mktemp("solutions"))


def test_every_public_test_passes_on_solutions(on_solutions):
    proc, outcomes = on_solutions
    assert len(outcomes) >= 20, f"expected the public test suite, found {len(outcomes)} tests"
    assert set(outcomes.values()) == {"passed"}, proc.stdout[-3000:]


def test_every_public_test_fails_cleanly_on_the_stubs(tmp_path, on_solutions):
    proc, outcomes = run_pytest(ASSIGNMENT, tmp_path)
    _, solution_outcomes = on_solutions
    assert set(outcomes) == set(solution_outcomes), "the release must ship the same public tests"
    not_failed = {test: outcome for test, outcome in outcomes.items() if outcome != "failure"}
    assert not not_failed, f"on the stubs every test must fail (not pass, error or skip): {not_failed}"
    assert "NotImplementedError" in proc.stdout


@pytest.mark.parametrize("test_file", sorted(p.name for p in (SOLUTIONS / "tests").glob("test_*.py")))
def test_public_tests_catch_a_wrong_implementation(tmp_path, test_file):
    """Each public test file fails on the solutions with its TODO broken in a typical way."""
    import shutil

    tree = tmp_path / "broken"
    shutil.copytree(SOLUTIONS, tree, ignore=shutil.ignore_patterns("__pycache__", ".data", "outputs"))
    bugs = {  # a classic mistake for each TODO, as a text substitution in the reference
        "test_reparameterize.py": ("vae.py", "std = torch.exp(0.5 * logvar)", "std = torch.exp(logvar)"),
        "test_kl_divergence.py": ("vae.py", "dim=-1)\n", "dim=-1) / mu.shape[-1]\n"),
        "test_kl_warmup.py": ("schedules.py", "min(1.0, epoch / warmup_epochs)", "(epoch + 1) / warmup_epochs"),
        "test_shapes.py": ("vae.py", "return self.dec(z).view(-1, 1, 28, 28)", "return self.dec(z)"),
    }
    module, old, new = bugs[test_file]
    path = tree / "lab6_generative" / module
    source = path.read_text()
    assert old in source, f"the bug for {test_file} no longer applies to {module}"
    path.write_text(source.replace(old, new))
    _, outcomes = run_pytest(tree, tmp_path, f"tests/{test_file}")
    assert "failure" in outcomes.values(), f"{test_file} did not notice: {outcomes}"


@pytest.mark.parametrize("old, new, diagnosis, wrong", [
    # z = mu + eps * logvar: one diagnosis, the grader's ("it uses std = logvar"), never "the noise is missing"
    ("    std = torch.exp(0.5 * logvar)\n    eps = torch.randn_like(std)\n    return mu + eps * std",
     "    eps = torch.randn_like(mu)\n    return mu + eps * logvar", "it uses std = logvar",
     ("noise is missing", "uniform", "shared")),
    ("std = torch.exp(0.5 * logvar)", "std = torch.exp(logvar)", "it uses std = exp(logvar)",
     ("noise is missing", "std = logvar")),
])
def test_public_tests_give_the_graders_diagnosis(tmp_path, old, new, diagnosis, wrong):
    """Every public test that fails on a classic reparameterize mistake names it as the grader does."""
    import shutil

    tree = tmp_path / "broken"
    shutil.copytree(SOLUTIONS, tree, ignore=shutil.ignore_patterns("__pycache__", ".data", "outputs"))
    path = tree / "lab6_generative" / "vae.py"
    source = path.read_text()
    assert old in source
    path.write_text(source.replace(old, new))
    proc, outcomes = run_pytest(tree, tmp_path, "tests/test_reparameterize.py")
    failed = [test for test, outcome in outcomes.items() if outcome == "failure"]
    assert failed, outcomes
    report = ET.parse(tmp_path / "broken.xml").getroot()
    messages = [child.get("message") or "" for case in report.iter("testcase") for child in case
                if child.tag == "failure"]
    assert len(messages) == len(failed)
    for message in messages:
        assert diagnosis in message, message
        assert not any(w in message for w in wrong), message


def test_public_tests_say_in_one_sentence_what_is_wrong_where_pytest_alone_would_not(tmp_path):
    """Mistakes that make pytest print its own words (ZeroDivisionError, DID NOT RAISE, Regex pattern did not
    match) or a puzzling gradient get a sentence naming the call and the fix: one run, four mistakes."""
    import shutil

    tree = tmp_path / "mistaken"
    shutil.copytree(SOLUTIONS, tree, ignore=shutil.ignore_patterns("__pycache__", ".data", "outputs"))
    mistakes = {
        "schedules.py": [("raise ValueError(f\"{name} must be non-negative, got {value}\")", "pass"),
                         ("    if warmup_epochs == 0:\n        return float(beta_max)\n", "")],
        "vae.py": [("    std = torch.exp(0.5 * logvar)\n    eps = torch.randn_like(std)\n    return mu + eps * std",
                    "    return torch.normal(mu, torch.exp(0.5 * logvar))"),
                   ('raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")',
                    "return mu.sum()")],
    }
    for module, edits in mistakes.items():
        path = tree / "lab6_generative" / module
        source = path.read_text()
        for old, new in edits:
            assert old in source, f"the mistake no longer applies to {module}: {old!r}"
            source = source.replace(old, new)
        path.write_text(source)
    run_pytest(tree, tmp_path, "tests/test_kl_warmup.py", "tests/test_kl_divergence.py", "tests/test_reparameterize.py")
    cases = ET.parse(tmp_path / "mistaken.xml").getroot().iter("testcase")
    failures = {case.get("name"): child.get("message") or "" for case in cases
                for child in case if child.tag in ("failure", "error")}
    expected = {
        "test_no_warmup": "kl_warmup(0, 0, beta_max=0.7) divides by zero: warmup_epochs == 0 means no warm-up",
        "test_negative_arguments_raise[epoch]": "kl_warmup(-1, 3) returned -0.333",
        "test_negative_arguments_raise[warmup_epochs]": "a negative warmup_epochs must raise ValueError",
        "test_negative_arguments_raise[beta_max]": "a negative beta_max must raise ValueError",
        "test_unknown_reduction_raises_value_error": "returned Tensor instead of raising ValueError",
        "test_gradients_flow_to_mu_and_logvar": "torch.normal(mu, std) samples without one",
    }
    for test, words in expected.items():
        assert words in failures.get(test, "(passed)"), (test, failures.get(test))
    for test, message in failures.items():
        assert not any(w in message for w in ("DID NOT RAISE", "Regex pattern", "ZeroDivisionError")), (test, message)
