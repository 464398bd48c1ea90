"""Check `kl_analytic`: kl_divergence is the closed-form KL(N(mu, exp(logvar)) || N(0, I)).

Values are compared per example (reduction='none') with the formula computed
in float64, within a tolerance relative to the size of the terms (so float32
rounding never fails a correct answer and the classic mistakes always do).
A classic mistake is named only when it explains the value at that same
tolerance (``support.kl_diagnosis``); mu of shape (..., d) with zero to three
leading dimensions must give what the same rows give as a (batch, d) batch.
"""
import math

import numpy as np
import torch
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from autograder.checks.support import (KL_FORMULA, KL_GENERIC, calling, explains, fmt, fmt_pair, kl_diagnosis,
                                       kl_reference, kl_shape_problem, kl_tolerance, leading_failure, literal,
                                       mismatch, num, random_like, random_pair, says, shape, tensor_of)


def _dtype(t):
    return str(t.dtype)[6:]


def _call(mu, logvar, reduction="none"):
    """The call, with its inputs written out when they are small enough to read."""
    if mu.numel() <= 8:
        return f"kl_divergence(mu={literal(mu)}, logvar={literal(logvar)}, reduction={reduction!r})"
    return (f"kl_divergence(mu, logvar, reduction={reduction!r}) for mu, logvar of shape {shape(mu)} "
            f"({_dtype(mu)})")


def _per_example(worker, mu, logvar, grad=False, leading=None):
    what = _call(mu, logvar)
    kwargs = dict(mu=mu, logvar=logvar, kwargs={"reduction": "none"}, grad=grad)
    out = (worker.call("kl", what=what, **kwargs) if leading is None
           else calling(worker, "kl", what, *leading_failure("kl_divergence", leading), **kwargs))
    kl = tensor_of(out["out"], what)
    problem = kl_shape_problem(kl.shape, mu.shape, "none")
    if problem:
        raise AssertionError(says(*problem, what, f"shape {shape(kl)}", f"shape {shape(mu.shape[:-1])}"))
    return kl, out, what


def _evidence(what, kl, expected, bad, mu, logvar, tol):
    """(call, got, want) for the first wrong example ``bad``, with enough digits to see the difference."""
    got, want = fmt_pair(kl[bad].item(), expected[bad].item())
    if num(kl[bad].item()) == num(expected[bad].item()):
        want += f" (to within {num(float(tol[bad]), 2)})"
    if mu.numel() <= 8:
        return what, got + (f" for example {bad[0]}" if kl.numel() > 1 else ""), want
    return f"{what}, for example {bad[0]} (mu = {fmt(mu[bad])}, logvar = {fmt(logvar[bad])}),", got, want


def _expect_formula(worker, mu, logvar):
    kl, _, what = _per_example(worker, mu, logvar)
    expected, size = kl_reference(mu, logvar)
    tol = kl_tolerance(size, _dtype(mu))
    bad = mismatch(kl, expected, tol)
    if bad is not None:
        wrong, todo = kl_diagnosis(kl, mu, logvar, _dtype(mu))
        raise AssertionError(says(wrong, todo, *_evidence(what, kl, expected, bad, mu, logvar, tol)))


@given(batch=st.integers(1, 64), latent=st.integers(1, 32), dtype=st.sampled_from(["float32", "float64"]),
       seed=st.integers(0, 2**16), scale=st.sampled_from([0.1, 1.0, 3.0]))
@example(batch=2, latent=3, dtype="float64", seed=0, scale=1.0)
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
    tol = kl_tolerance(size, "float64")
    bad = mismatch(kl, expected, tol)
    if bad is not None:
        wrong, todo = kl_diagnosis(kl, mu, logvar, "float64")
        call, got, want = _evidence(what, kl, expected, bad, mu, logvar, tol)
        raise AssertionError(says(wrong, todo, call, got, f"{want}, what torch.distributions.kl_divergence("
                                  "Normal(mu, exp(0.5 * logvar)), Normal(0, 1)).sum(-1) gives"))


KNOWN = [  # mu, logvar, the KL, how it follows from the formula
    ([[0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0]], 0.0, "q equal to the prior N(0, I) has KL 0"),
    ([[1.0, 1.0]], [[0.0, 0.0]], 1.0, "mu = 1, logvar = 0 gives 0.5 per latent dimension, summed over the 2"),
    ([[0.5]], [[0.0]], 0.125, "with logvar = 0 the KL is 0.5 * mu^2 = 0.125"),
    ([[0.0]], [[math.log(4.0)]], 0.5 * (3.0 - math.log(4.0)),
     "with mu = 0 the KL is 0.5 * (exp(logvar) - 1 - logvar) = 0.5 * (4 - 1 - log 4)"),
    ([[0.0, 2.0]], [[-2.0, 1.0]], 0.5 * (math.exp(-2) + 1) + 0.5 * (4 + math.e - 2),
     "each latent dimension contributes 0.5 * (mu^2 + exp(logvar) - 1 - logvar)"),
]


def test_known_values(worker):
    """known values: 0 at the prior, 0.5 per dimension at mu = 1 and logvar = 0, and others"""
    for mu_list, logvar_list, value, derivation in KNOWN:
        mu = torch.tensor(mu_list, dtype=torch.float64)
        logvar = torch.tensor(logvar_list, dtype=torch.float64)
        kl, _, what = _per_example(worker, mu, logvar)
        _, size = kl_reference(mu, logvar)
        expected = torch.tensor([value], dtype=torch.float64)
        tol = kl_tolerance(size, "float64")
        bad = mismatch(kl, expected, tol)
        if bad is not None:
            wrong, todo = kl_diagnosis(kl, mu, logvar, "float64")
            if (wrong, todo) == KL_GENERIC:  # no known mistake explains it: say how the value follows
                todo = derivation
            got, want = fmt_pair(kl.item(), value)
            raise AssertionError(says(wrong, todo, what, got, want))


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
    kl, _, what = _per_example(worker, mu, logvar)
    _, size = kl_reference(mu, logvar)
    bad = ~(kl.to(torch.float64) >= -kl_tolerance(size, dtype))
    if bool(bad.any()):
        i = int(bad.nonzero()[0])
        wrong, todo = kl_diagnosis(kl, mu, logvar, dtype)
        if (wrong, todo) == KL_GENERIC:
            wrong, todo = "the KL is negative", f"a KL divergence is never negative: {KL_FORMULA}"
        call = what if mu.numel() <= 8 else f"{what}, example {i} (mu = {fmt(mu[i])}, logvar = {fmt(logvar[i])}),"
        raise AssertionError(says(wrong, todo, call, num(kl[i].item()), "a value >= 0"))


def test_gradients(worker):
    """dKL/dmu = mu and dKL/dlogvar = 0.5 * (exp(logvar) - 1)"""
    mu, logvar = random_pair(8, 5, "float64", seed=11)
    kl, out, what = _per_example(worker, mu, logvar, grad=True)
    grad_mu, grad_logvar = out["grad_mu"], out["grad_logvar"]
    call = f"{what}, then .sum().backward():"
    if not (out["out"]["requires_grad"] and grad_mu is not None and grad_logvar is not None):
        raise AssertionError(says(
            "the KL has no gradient with respect to mu and logvar",
            "compute it with torch operations on mu and logvar (no .item(), numpy, .detach() or torch.no_grad())",
            call, "no gradient", "gradients"))
    tol_mu = 1e-12 + 1e-9 * mu.abs()
    if mismatch(grad_mu, mu, tol_mu) is not None:
        wrong, todo = "dKL/dmu is not mu", "the KL's mu-terms are 0.5 * mu^2 per latent dimension"
        for candidate, name, what_to_do in ((-mu, "the KL's sign is flipped", "a KL divergence is never negative: "
                                             + KL_FORMULA), (2 * mu, "the factor 0.5 is missing", KL_FORMULA)):
            if explains(grad_mu, candidate, mu, tol_mu):
                wrong, todo = name, what_to_do
                break
        raise AssertionError(says(wrong, todo, f"{call} dKL/dmu", fmt(grad_mu), f"mu = {fmt(mu)}"))
    expected = 0.5 * (logvar.exp() - 1)
    tol = 1e-12 + 1e-9 * expected.abs()
    if mismatch(grad_logvar, expected, tol) is not None:
        wrong, todo = ("dKL/dlogvar is not 0.5 * (exp(logvar) - 1)",
                       "the KL's logvar-terms are 0.5 * (exp(logvar) - 1 - logvar) per latent dimension")
        for candidate, name, what_to_do in (
                (-expected, "the KL's sign is flipped", "a KL divergence is never negative: " + KL_FORMULA),
                (2 * expected, "the factor 0.5 is missing", KL_FORMULA),
                ((2 * logvar).exp() - 1, "it uses exp(logvar) as the standard deviation",
                 "exp(logvar) is the variance: " + KL_FORMULA)):
            if explains(grad_logvar, candidate, expected, tol, 1e-12 + 1e-9 * candidate.abs()):
                wrong, todo = name, what_to_do
                break
        raise AssertionError(says(wrong, todo, f"{call} dKL/dlogvar", fmt(grad_logvar),
                                  f"0.5 * (exp(logvar) - 1) = {fmt(expected)}"))


LEADING = ([2, 3], [], [3, 1, 4])


def test_any_leading_dimensions(worker):
    """for mu of shape (..., d), zero to three leading dimensions, each row's KL is what it is in a (batch, d) batch"""
    for leading in LEADING:
        for dtype in ("float64", "float32"):
            mu, logvar = random_like((*leading, 5), dtype, seed=len(leading))
            kl, _, what = _per_example(worker, mu, logvar, leading=leading)
            flat_mu, flat_logvar = mu.reshape(-1, 5), logvar.reshape(-1, 5)
            as_batch, _, _ = _per_example(worker, flat_mu, flat_logvar)
            _, size = kl_reference(flat_mu, flat_logvar)
            tol = kl_tolerance(size, dtype)
            bad = mismatch(kl.reshape(-1), as_batch, tol)
            if bad is not None:
                index = tuple(int(i) for i in np.unravel_index(bad[0], tuple(leading))) if leading else ()
                got, want = fmt_pair(kl.reshape(-1)[bad].item(), as_batch[bad].item())
                raise AssertionError(says(
                    "it gives another KL for mu of shape (..., d) than for the same rows as a (batch, d) batch",
                    "sum over the last dimension (dim=-1) and keep every leading dimension",
                    f"{what}, at index {index},", got,
                    f"{want}, what it gives for that row in a batch of shape {shape(flat_mu)}"))
