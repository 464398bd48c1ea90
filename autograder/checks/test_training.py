"""Check `training`: a short training run on the grader's own data learns something.

The original lab's acceptance criterion: the loss of the last epoch is at
least 20% below the loss of epoch 0.  Plus: no NaN, and decoded prior
samples are valid pixel values in [0, 1].
"""
import pytest
import torch

from autograder.checks.support import fmt, images, tensor_of

EPOCHS = 5
WHAT = f"a {EPOCHS}-epoch training run of VAE(z=16) on the grader's 1024 images (batch 64, Adam, lr 1e-3)"


@pytest.fixture(scope="module")
def run(worker):
    """One training run shared by this check's tests."""
    return worker.call("train", what=WHAT, x=images(1024, seed=2024), epochs=EPOCHS, batch_size=64,
                       lr=1e-3, seed=0, z_dim=16, warmup_epochs=3, n_samples=64)


def test_no_nan(run):
    """the loss stays finite (no NaN)"""
    losses = run["losses"]
    assert bool(torch.isfinite(losses).all()), (
        f"{WHAT}: the loss per epoch was {losses.tolist()}: NaN or infinite values mean the KL or the "
        "sampling blows up (a flipped KL sign lets logvar grow without bound)")


def test_loss_falls_by_20_percent(run):
    """the loss of the last epoch is at least 20% below epoch 0"""
    losses = run["losses"].tolist()
    first, last = losses[0], losses[-1]
    assert first == first and last == last and last <= 0.8 * first, (
        f"{WHAT}: the loss per epoch was {[round(v, 2) for v in losses]}; the last epoch must be at least "
        f"20% below epoch 0 ({fmt(0.8 * first)}), the original lab's acceptance criterion")


def test_prior_samples_in_unit_interval(run):
    """decoded prior samples lie in [0, 1]"""
    samples = tensor_of(run["samples"], "VAE.decode(z) for z ~ N(0, I)")
    assert bool(((samples >= 0) & (samples <= 1)).all()), (
        f"after {WHAT}, decoded prior samples range over [{fmt(samples.min().item())}, "
        f"{fmt(samples.max().item())}], expected pixel values in [0, 1]")
