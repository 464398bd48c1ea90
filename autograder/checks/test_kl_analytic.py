"""Check `kl_analytic`: kl_divergence is the closed-form KL(N(mu, exp(logvar)) || N(0, I)).

Values are compared per example (reduction='none') with the formula computed
in float64, within a tolerance relative to the size of the terms (so float32
rounding never fails a correct answer and the classic mistakes always do).
"""
import math

import numpy as np
import torch
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from autograder.checks.support import (fmt, kl_hint, kl_reference, kl_tolerance, mismatch,
                                       random_pair, shape, tensor_of)


def _per_example(worker, mu, logvar, grad=False):
    what = f"kl_divergence(mu, logvar, reduction='none') for mu, logvar of shape {shape(mu)} ({str(mu.dtype)[6:]})"
    out = worker.call("kl", what=what, mu=mu, logvar=logvar, kwargs={"reduction": "none"}, grad=grad)
    kl = tensor_of(out["out"], what)
    assert tuple(kl.shape) == tuple(mu.shape[:-1]), (
        f"{what} returned shape {shape(kl)}, expected {shape(mu.shape[:-1])}: one value per example")
    return kl, out, what


def _expect_formula(worker, mu, logvar):
    kl, _, what = _per_example(worker, mu, logvar)
    expected, size = kl_reference(mu, logvar)
    bad = mismatch(kl, expected, kl_tolerance(size, str(mu.dtype)[6:]))
    if bad is not None:
        hint = kl_hint(kl, mu, logvar)
        raise AssertionError(
            f"{what}: example {bad[0]} (mu = {fmt(mu[bad])}, logvar = {fmt(logvar[bad])}) gave "
            f"{fmt(kl[bad].item())}, expected 0.5 * sum(mu^2 + exp(logvar) - 1 - logvar) = "
            f"{fmt(expected[bad].item())}" + (f": {hint}" if hint else ""))


@given(batch=st.integers(1, 64), latent=st.integers(1, 32), dtype=st.sampled_from(["float32", "float64"]),
       seed=st.integers(0, 2**16), scale=st.sampled_from([0.1, 1.0, 3.0]))
@example(batch=3, latent=4, dtype="float32", seed=0, scale=1.0)
@example(batch=1, latent=1, dtype="float64", seed=1, scale=3.0)
def test_matches_closed_form(worker, batch, latent, dtype, seed, scale):
    """kl_divergence equals 0.5 * sum(mu^2 + exp(logvar) - 1 - logvar) over the latent dims (float32 and float64)"""
    mu, logvar = random_pair(batch, latent, dtype, seed, mu_scale=2 * scale, logvar_scale=scale)
    _expect_formula(worker, mu, logvar)


def test_agrees_with_torch_distributions(worker):
    """kl_divergence agrees with torch.distributions.kl_divergence summed over the latent dims"""
    mu, logvar = random_pair(32, 10, "float64", seed=7)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    expected = torch.distributions.kl_divergence(q, p).sum(-1)
    kl, _, what = _per_example(worker, mu, logvar)
    _, size = kl_reference(mu, logvar)
    bad = mismatch(kl, expected, kl_tolerance(size, "float64"))
    if bad is not None:
        hint = kl_hint(kl, mu, logvar)
        raise AssertionError(
            f"{what}: example {bad[0]} gave {fmt(kl[bad].item())}, but "
            f"torch.distributions.kl_divergence(Normal(mu, exp(0.5 * logvar)), Normal(0, 1)).sum(-1) "
            f"gives {fmt(expected[bad].item())}" + (f": {hint}" if hint else ""))


KNOWN = [
    ([[0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0]], 0.0, "q equal to the prior N(0, I) has KL 0; check the '- 1' term"),
    ([[1.0, 1.0]], [[0.0, 0.0]], 1.0, "mu = 1, logvar = 0 gives 0.5 per dimension; sum over the 2 dimensions"),
    ([[0.5]], [[0.0]], 0.125, "0.5 * mu^2 = 0.125; a negative value means a flipped sign"),
    ([[0.0]], [[math.log(4.0)]], 0.5 * (3.0 - math.log(4.0)), "for mu = 0: 0.5 * (exp(logvar) - 1 - logvar)"),
    ([[0.0, 2.0]], [[-2.0, 1.0]], 0.5 * (math.exp(-2) + 1) + 0.5 * (4 + math.e - 2),
     "each dimension contributes 0.5 * (mu^2 + exp(logvar) - 1 - logvar)"),
]


def test_known_values(worker):
    """known values: 0 at the prior, 0.5 per dimension at mu = 1 and logvar = 0, and others"""
    for mu_list, logvar_list, expected, hint in KNOWN:
        mu = torch.tensor(mu_list, dtype=torch.float64)
        logvar = torch.tensor(logvar_list, dtype=torch.float64)
        kl, _, _ = _per_example(worker, mu, logvar)
        if not abs(kl.item() - expected) <= 1e-9 * (1 + abs(expected)):
            mistake = kl_hint(kl, mu, logvar)
            raise AssertionError(
                f"kl_divergence(mu={mu_list}, logvar={[[round(v, 4) for v in row] for row in logvar_list]}, "
                f"reduction='none') = {fmt(kl.item())}, expected {fmt(expected)}: {mistake or hint}")


@st.composite
def _pairs(draw):
    """(mu, logvar) float64 arrays of one small shape, values in [-20, 20]."""
    dims = draw(st.tuples(st.integers(1, 4), st.integers(1, 4)))
    values = st.floats(-20, 20, allow_nan=False, allow_infinity=False)
    return draw(arrays("float64", dims, elements=values)), draw(arrays("float64", dims, elements=values))


@given(pair=_pairs(), dtype=st.sampled_from(["float32", "float64"]))
@example(pair=(np.array([[0.5]]), np.array([[0.0]])), dtype="float32")
@example(pair=(np.array([[0.0, 1.0]]), np.array([[2.0, -3.0]])), dtype="float64")
def test_never_negative(worker, pair, dtype):
    """the KL is never negative (e.g. for mu = 0.5, logvar = 0)"""
    mu, logvar = (torch.from_numpy(a).to(getattr(torch, dtype)) for a in pair)
    kl, _, _ = _per_example(worker, mu, logvar)
    _, size = kl_reference(mu, logvar)
    bad = ~(kl.to(torch.float64) >= -kl_tolerance(size, dtype))
    if bool(bad.any()):
        i = int(bad.nonzero()[0])
        raise AssertionError(
            f"KL is negative ({fmt(kl[i].item())}) for mu = {fmt(mu[i])}, logvar = {fmt(logvar[i])}: "
            "a KL divergence is never negative; check the sign of each term")


def test_gradients(worker):
    """dKL/dmu = mu and dKL/dlogvar = 0.5 * (exp(logvar) - 1)"""
    mu, logvar = random_pair(8, 5, "float64", seed=11)
    kl, out, what = _per_example(worker, mu, logvar, grad=True)
    grad_mu, grad_logvar = out["grad_mu"], out["grad_logvar"]
    assert out["out"]["requires_grad"] and grad_mu is not None and grad_logvar is not None, (
        f"{what}: the KL has no gradient with respect to mu and logvar: compute it with torch "
        "operations on mu and logvar (no .item(), numpy, .detach() or torch.no_grad())")
    sign = ": the sign of the KL is flipped" if torch.allclose(grad_mu, -mu, rtol=1e-6, atol=1e-9) else ""
    assert torch.allclose(grad_mu, mu, rtol=1e-9, atol=1e-12), (
        f"{what}: dKL/dmu = {fmt(grad_mu)}, expected mu = {fmt(mu)}{sign}")
    expected = 0.5 * (logvar.exp() - 1)
    hint = ""
    if torch.allclose(grad_logvar, -expected, rtol=1e-6, atol=1e-9):
        hint = ": the sign of the KL is flipped"
    elif torch.allclose(grad_logvar, 2 * expected, rtol=1e-6, atol=1e-9):
        hint = ": the factor 0.5 is missing"
    assert torch.allclose(grad_logvar, expected, rtol=1e-9, atol=1e-12), (
        f"{what}: dKL/dlogvar = {fmt(grad_logvar)}, expected 0.5 * (exp(logvar) - 1) = {fmt(expected)}{hint}")
