"""Public tests for kl_divergence(mu, logvar, reduction).  Run: pytest tests/test_kl_divergence.py"""
import math

import pytest
import torch

from lab6_generative.vae import kl_divergence


def kl_of(mu, logvar, reduction="none"):
    return kl_divergence(torch.tensor(mu, dtype=torch.float64), torch.tensor(logvar, dtype=torch.float64),
                         reduction=reduction)


def test_zero_at_the_prior():
    kl = kl_of([[0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0]])
    assert torch.allclose(kl, torch.zeros(1, dtype=torch.float64)), (
        f"KL(N(0, I) || N(0, I)) came back as {kl.tolist()}, expected [0.0]: q equal to the prior "
        "has KL 0; check the '- 1' term")


@pytest.mark.parametrize("mu, logvar, expected, hint", [
    ([[1.0, 1.0]], [[0.0, 0.0]], 1.0, "mu = 1, logvar = 0 gives 0.5 per dimension; sum over the 2 dimensions"),
    ([[0.5]], [[0.0]], 0.125, "0.5 * mu^2 = 0.125; a negative value means a flipped sign"),
    ([[0.0]], [[math.log(4.0)]], 0.5 * (4.0 - 1.0 - math.log(4.0)),
     "for mu = 0, logvar = log 4: 0.5 * (exp(logvar) - 1 - logvar)"),
])
def test_known_values(mu, logvar, expected, hint):
    kl = kl_of(mu, logvar)
    assert kl.shape == (1,), f"reduction='none' on a batch of 1 returned shape {tuple(kl.shape)}, expected (1,)"
    assert kl.item() == pytest.approx(expected, rel=1e-6), (
        f"kl_divergence(mu={mu}, logvar={logvar}, reduction='none') = {kl.item():.6f}, "
        f"expected {expected:.6f}. Hint: {hint}")


def test_never_negative():
    torch.manual_seed(0)
    mu, logvar = torch.randn(64, 5) * 2, torch.randn(64, 5) * 2
    kl = kl_divergence(mu, logvar, reduction="none")
    assert (kl >= -1e-6).all(), (
        f"KL came back negative ({kl.min().item():.4f}) for some inputs: a KL divergence is never "
        "negative; check the sign of each term")


def test_reductions():
    torch.manual_seed(0)
    mu, logvar = torch.randn(6, 4), torch.randn(6, 4)
    per_example = kl_divergence(mu, logvar, reduction="none")
    assert per_example.shape == (6,), (
        f"reduction='none' for mu of shape (6, 4) returned shape {tuple(per_example.shape)}, "
        "expected (6,): one value per example, summed over the 4 latent dimensions")
    total = kl_divergence(mu, logvar, reduction="sum")
    mean = kl_divergence(mu, logvar, reduction="mean")
    assert total.shape == () and mean.shape == (), "'sum' and 'mean' must return scalars (shape ())"
    assert torch.allclose(total, per_example.sum()), (
        f"reduction='sum' gave {total.item():.4f}, expected the total of the per-example values "
        f"{per_example.sum().item():.4f}")
    assert torch.allclose(mean, per_example.mean()), (
        f"reduction='mean' gave {mean.item():.4f}, expected the batch average {per_example.mean().item():.4f} "
        "(divide by the batch size, not by batch size * latent size)")
    assert torch.allclose(kl_divergence(mu, logvar), mean), "the default reduction must be 'mean'"


def test_sums_over_latent_dimensions():
    one = kl_of([[1.0]], [[0.0]])
    four = kl_of([[1.0, 1.0, 1.0, 1.0]], [[0.0, 0.0, 0.0, 0.0]])
    assert four.item() == pytest.approx(4 * one.item()), (
        f"4 identical latent dimensions gave {four.item():.4f}, one gave {one.item():.4f}: "
        "the KL of independent dimensions adds up, so sum over the last dimension (not mean)")


def test_unknown_reduction_raises_value_error():
    with pytest.raises(ValueError, match="none|sum|mean"):
        kl_divergence(torch.zeros(2, 3), torch.zeros(2, 3), reduction="average")


def test_gradients():
    mu = torch.tensor([[0.3, -2.0]], dtype=torch.float64, requires_grad=True)
    logvar = torch.tensor([[0.5, -1.0]], dtype=torch.float64, requires_grad=True)
    kl_divergence(mu, logvar, reduction="sum").backward()
    assert torch.allclose(mu.grad, mu.detach()), f"dKL/dmu = {mu.grad.tolist()}, expected mu = {mu.tolist()}"
    expected = 0.5 * (logvar.detach().exp() - 1)
    assert torch.allclose(logvar.grad, expected), (
        f"dKL/dlogvar = {logvar.grad.tolist()}, expected 0.5 * (exp(logvar) - 1) = {expected.tolist()}")
