"""Worker replies are untrusted input: rewritten probes, forged replies and reply bombs earn nothing.

The worker's interpreter belongs to the student once their package is
imported, so everything it sends is checked in the grader (autograder/grading/replies.py)
and every verdict is computed there.  The fast tests call the validators
directly; the end-to-end ones grade hostile submissions from
autograder/audit/catalogues/hostile.yml under both sandboxes and look at the result
from outside (score, messages, internal errors, the grader's memory peak).
"""
import json
import os
import subprocess
import sys

import pytest
import torch

from autograder import errors, rubric
from autograder.grading import replies
from autograder.checks import support
from autograder.grading.engine import grade
from support import ROOT
from support.submissions import build_submission, failures, load, rubric_copy

pytestmark = pytest.mark.slow

HOSTILE = load("hostile")


# --- fast: the validators on their own ---------------------------------------------------------

def _desc(t, **claims):
    d = {"tensor": t, "type": "Tensor", "dtype": str(t.dtype), "device": "cpu", "shape": list(t.shape),
         "requires_grad": False, "has_grad_fn": False}
    d.update(claims)
    return d


def test_an_internal_reply_after_import_is_refused():
    with pytest.raises(errors.BadResult, match="not an answer the grader accepts"):
        replies.envelope({"internal": "the sandbox broke"})
    with pytest.raises(errors.BadResult):
        replies.envelope({"ok": 1, "raised": {}})
    with pytest.raises(errors.BadResult):
        replies.envelope(["ok"])


def test_exception_descriptions_are_cleaned_and_bounded():
    kind, info = replies.envelope({"raised": {"type": "Value\udce9Error", "mro": ["X"] * 1000,
                                              "message": "m" * 10**6, "where": 5}})
    assert kind == "raised" and len(info["mro"]) == 64 and len(info["message"]) <= 2100
    assert info["where"] is None and info["type"].encode("utf-8")


def test_claims_that_disagree_with_the_tensor_are_refused():
    mu = torch.zeros(4, 3)
    with pytest.raises(errors.BadResult, match="rewritten probe"):
        replies.described(_desc(torch.zeros(()), shape=[4, 3], dtype="torch.float32"), "z", 12)
    with pytest.raises(errors.BadResult, match="gradient flags"):
        replies.described(_desc(mu, requires_grad="yes"), "z", 12)
    assert replies.described(_desc(mu), "z", 12)["shape"] == [4, 3]


def test_tensors_are_bounded_by_their_inputs():
    mu = torch.zeros(1, 4)
    sent = {"mu": mu, "logvar": mu, "kwargs": {"reduction": "none"}}
    huge = {"out": _desc(torch.ones(16000, 1)), "mu_after": mu, "logvar_after": mu}
    with pytest.raises(errors.BadResult, match=r"\(16000, 1\) \(16000 values\), more than the 4"):
        replies.check("kl", sent, huge, "kl_divergence(...)")
    odd = {"out": _desc(torch.zeros(1, dtype=torch.complex64)), "mu_after": mu, "logvar_after": mu}
    with pytest.raises(errors.BadResult, match="dtype torch.complex64"):
        replies.check("kl", sent, odd, "kl_divergence(...)")


def test_counts_must_equal_what_was_asked():
    with pytest.raises(errors.BadResult, match="3 results were asked for, the reply holds 0"):
        replies.check("warmup", {"calls": [[[0, 3], {}]] * 3}, [], "kl_warmup(0, 3)")
    mu = torch.zeros(2, 2)
    with pytest.raises(errors.BadResult, match="2 results were asked for, the reply holds 1"):
        replies.check("reparameterize", {"mu": mu, "logvar": mu, "repeat": 2},
                      {"outs": [_desc(mu)], "mu_after": mu, "logvar_after": mu}, "reparameterize")


def test_inputs_and_gradients_must_come_back_as_sent():
    mu = torch.zeros(2, 2, dtype=torch.float64)
    reply = {"outs": [_desc(mu)], "mu_after": mu.float(), "logvar_after": mu}
    with pytest.raises(errors.BadResult, match="mu after the call came back"):
        replies.check("reparameterize", {"mu": mu, "logvar": mu}, reply, "reparameterize")
    reply = {"outs": [_desc(mu)], "mu_after": mu, "logvar_after": mu, "grad_mu": torch.ones(1), "grad_logvar": None}
    with pytest.raises(errors.BadResult, match="gradient mu"):
        replies.check("reparameterize", {"mu": mu, "logvar": mu, "grad_weight": mu}, reply, "reparameterize")


def test_a_training_reply_holds_one_loss_and_one_kl_term_per_epoch():
    x, prior_z = torch.zeros(64, 1, 28, 28), torch.zeros(3, 4)
    sent = {"x": x, "prior_z": prior_z, "epochs": 2}
    weights = support.initial_weights(0, 4)
    good = {"losses": torch.tensor([500.0, 300.0], dtype=torch.float64),
            "kls": torch.tensor([10.0, 12.0], dtype=torch.float64),
            "samples": _desc(torch.zeros(3, 1, 28, 28)), "weights": weights}
    checked = replies.check("train", sent, good, "training")
    assert torch.equal(checked["kls"], good["kls"]) and torch.equal(checked["losses"], good["losses"])
    with pytest.raises(errors.BadResult, match="lacks kls"):
        replies.check("train", sent, {k: v for k, v in good.items() if k != "kls"}, "training")
    for kls in (torch.tensor([10.0], dtype=torch.float64), torch.tensor([10.0, 12.0])):
        with pytest.raises(errors.BadResult, match="epoch KL terms"):
            replies.check("train", sent, {**good, "kls": kls}, "training")


def test_numbers_must_be_what_they_claim():
    with pytest.raises(errors.BadResult, match="claims a real number"):
        replies.number({"is_real": True, "value": "1.0", "type": "str", "repr": "'1.0'"}, "kl_warmup")
    assert replies.number({"is_real": False, "value": 3.0, "type": "str", "repr": "x"}, "w")["value"] is None


def test_malformed_values_are_bad_results_never_internal_errors():
    from autograder.grading import wire

    with pytest.raises(errors.BadResult, match="too large for a float"):
        replies.number({"is_real": True, "value": 10**400, "type": "int", "repr": "1e400"}, "kl_warmup")
    with pytest.raises(wire.WireError):
        wire.decode(json.dumps({"ok": {"__tensor__": ["t0"]}}).encode(), b"")
    with pytest.raises(wire.WireError):
        wire.decode(json.dumps({"ok": {"__tensor__": "t9"}}).encode(), b"")
    forged = replies.raised_info({"type": "X", "mro": ["X"], "message": "m",
                                  "during_import": "not graded: the grader failed on its side, not yours"})
    assert forged["during_import"] is None
    assert replies.raised_info({"type": "X", "during_import": "lab6_generative.vae"})["during_import"] == \
        "lab6_generative.vae"


def test_the_grader_never_broadcasts_two_returned_shapes():
    with pytest.raises(AssertionError, match=r"\(4, 1\) and \(1, 4\)"):
        support.mismatch(torch.zeros(4, 1), torch.zeros(1, 4), 1e-6)
    with pytest.raises(AssertionError, match="mu and logvar"):
        support.kl_reference(torch.zeros(5, 1), torch.zeros(1, 5))


def test_a_training_run_is_verified_from_its_weights_not_its_losses():
    x = support.images(64, seed=1)
    prior_z = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
    start = support.initial_weights(0, 4)
    moved = {k: v + 0.01 for k, v in start.items()}
    losses = torch.tensor([500.0, 100.0], dtype=torch.float64)

    def run(weights, samples):
        return {"losses": losses, "weights": weights, "samples": _desc(samples)}

    with pytest.raises(AssertionError, match="did not change during training"):
        support.verified_training(run(start, support.reference_decode(start, prior_z).float()), x, 0, 4, prior_z,
                                  "run")
    with pytest.raises(AssertionError, match="not decode"):
        support.verified_training(run(moved, torch.full((3, 1, 28, 28), 0.5)), x, 0, 4, prior_z, "run")
    with pytest.raises(AssertionError, match="unexpected: extra.weight"):
        support.verified_training(run({**moved, "extra.weight": torch.zeros(1)}, torch.zeros(3, 1, 28, 28)),
                                  x, 0, 4, prior_z, "run")
    with pytest.raises(AssertionError, match="NaN or infinite"):
        support.verified_training(run({**moved, "mu.bias": torch.full((4,), float("nan"))},
                                      torch.zeros(3, 1, 28, 28)), x, 0, 4, prior_z, "run")
    honest = run(moved, support.reference_decode(moved, prior_z).float())
    before, after = support.verified_training(honest, x, 0, 4, prior_z, "run")
    assert before == support.reference_loss(start, x) and after == support.reference_loss(moved, x)
    assert support.verified_training(honest, x, 0, 4, prior_z, "run") == (before, after)  # measured once


# --- end to end: hostile submissions under both sandboxes ---------------------------------------

@pytest.fixture(params=["bwrap", "landlock"])
def isolation(request, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_SANDBOX", request.param)
    return request.param


def _build(tmp_path, name):
    spec = HOSTILE[name]
    return build_submission(tmp_path / name, spec.get("bodies"), spec.get("module_code"),
                            stubs=spec.get("stubs", False))


@pytest.mark.slow
def test_a_stub_whose_every_probe_is_rewritten_earns_zero(tmp_path, isolation):
    result = grade(str(_build(tmp_path, "forged_probes")))
    assert result.score == 0, [(t.name, t.message) for t in result.tests if t.status == "passed"]
    assert not result.internal_errors and result.isolation == isolation
    text = failures(result)
    assert "were asked for, the reply holds 0" in text             # warm-up: zip over nothing
    assert "rewritten probe" in text                                # claims that disagree with tensors
    assert "not an answer the grader accepts" in text               # the forged internal reply
    assert "not decode(z) of the trained weights" in text           # made-up training run
    reasons = {t.reason for t in result.tests}
    assert "internal" not in reasons and "passed" not in reasons
    assert all(t.reason == "bad_result" for t in result.tests if "not an answer the grader accepts" in t.message)


@pytest.mark.slow
def test_a_forged_internal_reply_at_import_is_not_an_internal_error(tmp_path, isolation):
    result = grade(str(_build(tmp_path, "forged_internal_at_import")), only="warmup")
    assert result.score == 0 and not result.internal_errors
    assert "did not give the grader's answer" in failures(result)
    assert {t.reason for t in result.tests} == {"import_failed"}


@pytest.mark.slow
def test_a_reply_bomb_stays_small_in_the_grader(tmp_path):
    """kl_divergence answering (60000, 1) then (1, 60000): refused before any arithmetic."""
    submission = _build(tmp_path, "kl_broadcast_bomb")
    fast = rubric_copy(tmp_path, limits={"grader_memory_mb": 8192})
    peak = tmp_path / "peak.txt"
    # VmHWM: ru_maxrss would carry pytest's own over.  Read in an exit handler: python -m autograder
    # ends with os._exit once its exit handlers ran (quick_exit.py).
    code = ("import atexit, runpy, sys\n"
            "def peak():\n    own = next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:'))\n"
            f"    open({str(peak)!r}, 'w').write(own)\n"
            "atexit.register(peak)\n"
            f"sys.argv = ['autograder', 'grade', {str(submission)!r}, '--only', 'loss_reduction', "
            f"'--rubric', {str(fast)!r}, '--report', {'gradescope=' + str(tmp_path / 'r.json')!r}]\n"
            "runpy.run_module('autograder', run_name='__main__')\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    peak_mb = int(peak.read_text()) / 1024
    assert peak_mb < 1500, f"the grading process peaked at {peak_mb:.0f} MB"
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["score"] == 0
    assert "more than the" in json.dumps(data["tests"])


def test_the_grading_process_limits_its_own_memory(tmp_path):
    """``grade`` sets RLIMIT_AS from limits.grader_memory_mb before grading (checked from outside)."""
    code = ("import resource; from autograder import cli; cli.limit_own_memory(5000); "
            "print(resource.getrlimit(resource.RLIMIT_AS)[0])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert int(out.stdout) == 5000 * 2**20
    assert rubric.load().limits.grader_memory_mb >= 4096


@pytest.mark.slow
def test_shapes_that_change_with_the_input_lose_points_without_internal_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_SANDBOX", "bwrap")
    result = grade(str(_build(tmp_path, "kl_empty_when_one_latent")), only="loss_reduction")
    assert not result.internal_errors and result.score < 15
    text = failures(result)
    assert "'none' does not give one value per example" in text and "gave shape (0,), expected shape (1,)" in text


@pytest.mark.slow
@pytest.mark.parametrize("name", ["encoder_of_scalars", "encoder_of_mismatched_shapes"])
def test_an_encoder_of_odd_shapes_loses_points_never_an_internal_error(tmp_path, monkeypatch, name):
    """What a check computes from the student's mu and logvar waits for their shapes to be checked: an
    exception there would be the grader's (an empty row, graded again), which a submission could choose."""
    monkeypatch.setenv("AUTOGRADER_SANDBOX", "bwrap")
    result = grade(str(_build(tmp_path, name)), only="loss_reduction")
    assert not result.internal_errors, result.internal_errors
    forward = next(t for t in result.tests if t.name.startswith("VAE.forward's loss is recon + beta * kl"))
    assert forward.status == "failed" and forward.reason == "wrong", (forward.reason, forward.message)
    assert "VAE.encode does not give one row per image" in forward.message, forward.message
