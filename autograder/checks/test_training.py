"""Check `training`: a short training run on the grader's own data learns something.

The original lab's acceptance criterion: the loss falls by at least 20%.  The
run happens in the worker (it is the student's model), so the grader does
not take the reported losses on trust: it evaluates the trained weights
itself, with its own copy of the lab's VAE and its own loss, on its own
images, against the weights training started from (``support.verified_training``).
Plus: no NaN, and decoded prior samples are valid pixel values in [0, 1]
and really are decode(z) of the trained weights.

A broken objective makes the whole run meaningless, so every test fails on
it first (``support.objective_problem``): a negative or non-finite KL term,
or a loss below zero (both of its terms are never negative).
"""
import pytest
import torch

from autograder.checks.support import fmt, images, objective_problem, says, tensor_of, verified_training

EPOCHS = 5
Z_DIM = 16
WHAT = f"a {EPOCHS}-epoch training run of VAE(z={Z_DIM}) on the grader's 1024 images (batch 64, Adam, lr 1e-3)"
X = images(1024, seed=2024)
PRIOR_Z = torch.randn(64, Z_DIM, generator=torch.Generator().manual_seed(99))


def _per_epoch(values):
    return "[" + ", ".join(fmt(v) for v in values.tolist()) + "]"


@pytest.fixture(scope="module")
def run(worker):
    """One training run shared by this check's tests, whose objective must be sound."""
    return worker.call("train", what=WHAT, x=X, epochs=EPOCHS, batch_size=64, lr=1e-3, seed=0, z_dim=Z_DIM,
                       warmup_epochs=3, prior_z=PRIOR_Z)


def _sound(run):
    problem = objective_problem(run["losses"], run["kls"])
    if problem:
        raise AssertionError(says(*problem, f"In {WHAT}, VAE.forward", f"kl = {_per_epoch(run['kls'])} and "
                                  f"loss = {_per_epoch(run['losses'])} per epoch",
                                  "a KL term >= 0 and a loss >= 0 in every epoch"))


def test_no_nan(run):
    """the loss stays finite (no NaN)"""
    _sound(run)
    losses = run["losses"]
    if not bool(torch.isfinite(losses).all()):
        raise AssertionError(says("the loss became NaN or infinite",
                                  "the KL or the sampling blows up: check reparameterize and kl_divergence "
                                  "for overflow", f"{WHAT}: the loss per epoch", _per_epoch(losses), "finite values"))
    before, after = verified_training(run, X, 0, Z_DIM, PRIOR_Z, WHAT)
    if not (after == after and abs(after) != float("inf")):
        raise AssertionError(says("the trained weights give a NaN or infinite loss",
                                  "check reparameterize and kl_divergence for overflow",
                                  f"{WHAT}: the grader's loss of the trained weights", fmt(after), "a finite loss"))


def test_loss_falls_by_20_percent(run):
    """the loss falls by at least 20% (measured by the grader on the trained weights)"""
    _sound(run)
    before, after = verified_training(run, X, 0, Z_DIM, PRIOR_Z, WHAT)
    if not after <= 0.8 * before:
        raise AssertionError(says(
            "training did not lower the loss by 20%", "the original lab's acceptance criterion: check that "
            "reparameterize and kl_divergence pass their own checks first",
            f"{WHAT}: the grader's loss (reconstruction + KL at beta = 1) of the trained weights",
            f"{fmt(after)}, from {fmt(before)} for the starting weights (your run reported "
            f"{_per_epoch(run['losses'])} per epoch)", f"at most {fmt(0.8 * before)}"))


def test_prior_samples_in_unit_interval(run):
    """decoded prior samples lie in [0, 1]"""
    _sound(run)
    verified_training(run, X, 0, Z_DIM, PRIOR_Z, WHAT)
    samples = tensor_of(run["samples"], "VAE.decode(z) for z ~ N(0, I)")
    if not bool(((samples >= 0) & (samples <= 1)).all()):
        raise AssertionError(says("decoded samples are not pixel values", "keep VAE.decode (and its sigmoid) as given",
                                  f"after {WHAT}, decoded prior samples range over",
                                  f"[{fmt(samples.min().item())}, {fmt(samples.max().item())}]", "[0, 1]"))
