"""Public tests for kl_divergence(mu, logvar, reduction).  Run: pytest tests/test_kl_divergence.py

Each failure message says what is wrong and what to do (a classic mistake only
when it explains the value), then what was called, what came back and what
was expected.
"""
import math

import pytest
import torch

from lab6_generative.vae import kl_divergence

FORMULA = "KL = 0.5 * sum(mu^2 + exp(logvar) - 1 - logvar) over the last dimension"


def kl_of(mu, logvar, reduction="none"):
    return kl_divergence(torch.tensor(mu, dtype=torch.float64), torch.tensor(logvar, dtype=torch.float64),
                         reduction=reduction)


def diagnosis(got, expected, d):
    """The classic mistake whose value is ``got`` where the KL is ``expected`` (d latent dimensions)."""
    for value, mistake in ((-expected, "the KL's sign is flipped: a KL divergence is never negative"),
                           (2 * expected, "the factor 0.5 is missing"),
                           (expected / d, "it averages over the latent dimensions: sum over them instead"),
                           (expected + 0.5 * d, "the '- 1' term is missing")):
        if got == pytest.approx(value, rel=1e-6, abs=1e-12) and value != pytest.approx(expected, rel=1e-6, abs=1e-12):
            return mistake
    return f"it is not the closed-form KL: {FORMULA}"


def test_zero_at_the_prior():
    kl = kl_of([[0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0]])
    assert torch.allclose(kl, torch.zeros(1, dtype=torch.float64), atol=1e-12), (
        f"{diagnosis(kl.sum().item(), 0.0, 3)}. KL(N(0, I) || N(0, I)), kl_divergence(mu=[[0, 0, 0]], "
        f"logvar=[[0, 0, 0]], reduction='none'), gave {kl.tolist()}, expected [0.0]: q equal to the prior has KL 0")


@pytest.mark.parametrize("mu, logvar, expected, derivation", [
    ([[1.0, 1.0]], [[0.0, 0.0]], 1.0, "mu = 1, logvar = 0 gives 0.5 per dimension, summed over the 2 dimensions"),
    ([[0.5]], [[0.0]], 0.125, "with logvar = 0 the KL is 0.5 * mu^2 = 0.125"),
    ([[0.0]], [[math.log(4.0)]], 0.5 * (4.0 - 1.0 - math.log(4.0)),
     "with mu = 0, logvar = log 4: 0.5 * (exp(logvar) - 1 - logvar)"),
])
def test_known_values(mu, logvar, expected, derivation):
    kl = kl_of(mu, logvar)
    assert kl.shape == (1,), (
        "'none' does not give one value per example: sum over the last dimension only. "
        f"reduction='none' on a batch of 1 gave shape {tuple(kl.shape)}, expected (1,)")
    assert kl.item() == pytest.approx(expected, rel=1e-6), (
        f"{diagnosis(kl.item(), expected, len(mu[0]))}. kl_divergence(mu={mu}, logvar={logvar}, reduction='none') "
        f"gave {kl.item():.6f}, expected {expected:.6f} ({derivation})")


def test_never_negative():
    torch.manual_seed(0)
    mu, logvar = torch.randn(64, 5) * 2, torch.randn(64, 5) * 2
    kl = kl_divergence(mu, logvar, reduction="none")
    assert (kl >= -1e-6).all(), (
        f"the KL is negative: a KL divergence is never negative ({FORMULA}). For random mu and logvar it gave "
        f"{kl.min().item():.4f}, expected values >= 0")


def test_reductions():
    torch.manual_seed(0)
    mu, logvar = torch.randn(6, 4), torch.randn(6, 4)
    per_example = kl_divergence(mu, logvar, reduction="none")
    assert per_example.shape == (6,), (
        "'none' does not give one value per example: sum over the 4 latent dimensions only. "
        f"reduction='none' for mu of shape (6, 4) gave shape {tuple(per_example.shape)}, expected (6,)")
    total = kl_divergence(mu, logvar, reduction="sum")
    mean = kl_divergence(mu, logvar, reduction="mean")
    assert total.shape == () and mean.shape == (), "'sum' and 'mean' must return scalars (shape ())"
    assert torch.allclose(total, per_example.sum()), (
        "'sum' is not the total of the per-example values: per_example.sum(). "
        f"reduction='sum' gave {total.item():.4f}, expected {per_example.sum().item():.4f}")
    hint = "'mean' is not the batch average of the per-example values: per_example.mean()"
    if torch.allclose(mean, per_example.sum() / 24):
        hint = "'mean' divides by batch size * latent size: divide by the batch size only (per_example.mean())"
    elif torch.allclose(mean, per_example.sum()):
        hint = "'mean' gives the batch total: divide it by the batch size (per_example.mean())"
    assert torch.allclose(mean, per_example.mean()), (
        f"{hint}. reduction='mean' gave {mean.item():.4f}, expected {per_example.mean().item():.4f}")
    assert torch.allclose(kl_divergence(mu, logvar), mean), "the default reduction must be 'mean'"


def test_mean_averages_over_every_leading_dimension():
    torch.manual_seed(0)
    mu, logvar = torch.randn(2, 3, 4), torch.randn(2, 3, 4)
    per_example = kl_divergence(mu, logvar, reduction="none")
    assert per_example.shape == (2, 3), (
        "'none' does not keep the leading dimensions: sum over the last dimension (dim=-1) only. "
        f"reduction='none' for mu of shape (2, 3, 4) gave shape {tuple(per_example.shape)}, expected (2, 3)")
    mean = kl_divergence(mu, logvar, reduction="mean")
    assert mean.shape == () and torch.allclose(mean, per_example.mean()), (
        "'mean' does not average over every leading dimension: per_example.mean() with no dim. "
        f"reduction='mean' for mu of shape (2, 3, 4) gave {mean.tolist()}, expected {per_example.mean().item():.4f}")


def test_sums_over_latent_dimensions():
    one = kl_of([[1.0]], [[0.0]])
    four = kl_of([[1.0, 1.0, 1.0, 1.0]], [[0.0, 0.0, 0.0, 0.0]])
    assert four.item() == pytest.approx(4 * one.item()), (
        ("it averages over the latent dimensions: sum over them" if four.item() == pytest.approx(one.item())
         else "the KL does not add up over the latent dimensions: sum over the last dimension")
        + f". 4 identical latent dimensions gave {four.item():.4f}, one gave {one.item():.4f}, expected 4 times it")


def test_unknown_reduction_raises_value_error():
    try:
        got = kl_divergence(torch.zeros(2, 3), torch.zeros(2, 3), reduction="average")
    except ValueError as err:
        assert any(name in str(err) for name in ("none", "sum", "mean")), (
            f"the ValueError should name the allowed reductions 'none', 'sum' and 'mean'; it said: {err}")
        return
    pytest.fail(f"kl_divergence(mu, logvar, reduction='average') returned {type(got).__name__} instead of "
                "raising ValueError: check reduction first and raise ValueError naming 'none', 'sum' and 'mean'",
                pytrace=False)


def test_gradients():
    mu = torch.tensor([[0.3, -2.0]], dtype=torch.float64, requires_grad=True)
    logvar = torch.tensor([[0.5, -1.0]], dtype=torch.float64, requires_grad=True)
    kl_divergence(mu, logvar, reduction="sum").backward()
    assert torch.allclose(mu.grad, mu.detach()), (
        f"dKL/dmu is not mu: the mu-terms are 0.5 * mu^2. dKL/dmu gave {mu.grad.tolist()}, expected {mu.tolist()}")
    expected = 0.5 * (logvar.detach().exp() - 1)
    assert torch.allclose(logvar.grad, expected), (
        "dKL/dlogvar is not 0.5 * (exp(logvar) - 1): the logvar-terms are 0.5 * (exp(logvar) - 1 - logvar). "
        f"dKL/dlogvar gave {logvar.grad.tolist()}, expected {expected.tolist()}")
