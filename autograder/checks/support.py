"""Helpers for the checks: inputs, reference values, and readable failure messages.

Every failure message says what was called, what came back, what was
expected and, when a known mistake fits what came back, that mistake.
"""
import math

import torch

FLOAT_TOL = {"float32": 2e-5, "float64": 1e-10}  # relative to the size of the terms


def shape(t):
    """'(3, 4)' for a tensor or a shape list."""
    dims = list(t.shape) if isinstance(t, torch.Tensor) else list(t)
    return "(" + ", ".join(map(str, dims)) + ("," if len(dims) == 1 else "") + ")"


def fmt(value, n=6):
    """A short, readable rendering of a number or tensor (first ``n`` values)."""
    if isinstance(value, torch.Tensor):
        flat = value.detach().flatten().tolist()
        body = ", ".join(fmt(v) for v in flat[:n])
        return f"[{body}{', ...' if len(flat) > n else ''}]"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def random_pair(batch, latent, dtype="float32", seed=0, mu_scale=2.0, logvar_scale=1.5):
    """Deterministic (mu, logvar) of shape (batch, latent)."""
    g = torch.Generator().manual_seed(seed)
    dt = getattr(torch, dtype)
    mu = torch.randn(batch, latent, generator=g, dtype=torch.float64) * mu_scale
    logvar = (torch.randn(batch, latent, generator=g, dtype=torch.float64) * logvar_scale).clamp(-10, 10)
    return mu.to(dt), logvar.to(dt)


def images(n, seed=0):
    """n float32 images (n, 1, 28, 28) in [0, 1] from the grader's own data."""
    from autograder.fakedata import make_images

    raw, _ = make_images(n, seed)
    return torch.from_numpy(raw).unsqueeze(1).to(torch.float32) / 255


def tensor_of(desc, what):
    """The tensor a probe described, or an AssertionError saying what came back instead."""
    if desc.get("tensor") is None:
        raise AssertionError(f"{what} returned {desc.get('type')} {desc.get('repr', '')}, "
                             "expected a torch.Tensor")
    return desc["tensor"]


def raised(info):
    """'ValueError: the message' (or just 'MemoryError') for an exception description."""
    message = (info.get("message") or "").strip()
    return f"{info.get('type')}: {message}" if message else str(info.get("type"))


def number_of(desc, what):
    """The float value of a returned number, or an AssertionError."""
    if not desc.get("is_real"):
        raise AssertionError(f"{what} returned {desc.get('type')} {desc.get('repr')}, "
                             "expected a real number (a Python float, say)")
    return desc["value"]


def untouched(out, mu, logvar, what):
    """Assert the probe's inputs came back unmodified."""
    for name, sent, after in (("mu", mu, out["mu_after"]), ("logvar", logvar, out["logvar_after"])):
        if not torch.equal(sent, after):
            raise AssertionError(f"{what} changed {name} in place: compute new tensors instead "
                                 "(no +=, no .mul_(), no .exp_())")


def kl_terms(mu, logvar):
    """The closed-form KL terms 0.5 * (mu^2 + exp(logvar) - 1 - logvar), in float64."""
    mu, logvar = mu.to(torch.float64), logvar.to(torch.float64)
    return 0.5 * (mu ** 2 + logvar.exp() - 1.0 - logvar)


def kl_reference(mu, logvar):
    """Per-example KL (summed over the last dim) and the per-example size of its terms."""
    terms = kl_terms(mu, logvar)
    size = 0.5 * (mu.to(torch.float64) ** 2 + logvar.to(torch.float64).exp() + 1.0
                  + logvar.to(torch.float64).abs())
    return terms.sum(-1), size.sum(-1)


def kl_tolerance(size, dtype):
    """Allowed error of a KL computed in ``dtype`` whose terms add up to ``size``."""
    return FLOAT_TOL[dtype] * (1.0 + size)


def kl_hint(got, mu, logvar):
    """Name the known mistake that explains ``got`` (per-example KL values), or ''."""
    expected, size = kl_reference(mu, logvar)
    got = got.to(torch.float64)
    tol = 1e-3 * (1.0 + size)
    d = mu.shape[-1]
    candidates = [
        (-expected, "the sign is flipped: KL = 0.5 * sum(mu^2 + exp(logvar) - 1 - logvar) is never negative"),
        (2 * expected, "the factor 0.5 is missing"),
        (expected / d, "it averages over the latent dimensions; sum over them instead"),
        (expected + 0.5 * d, "the '- 1' term is missing"),
        (expected - 0.5 * d, "it subtracts 1 twice (or adds '- 1' outside the sum)"),
        (0.5 * (mu.double() ** 2 + logvar.double().exp() ** 2 - 1 - 2 * logvar.double()).sum(-1),
         "it uses exp(logvar) as the standard deviation: exp(logvar) is the variance"),
    ]
    for value, hint in candidates:
        if got.shape == value.shape and bool(((got - value).abs() <= tol).all()):
            return hint
    return ""


def mismatch(got, expected, tol):
    """Index of the first element outside ``tol`` (NaN counts), or None."""
    bad = ~((got.to(torch.float64) - expected).abs() <= tol)
    if not bool(bad.any()):
        return None
    return tuple(int(i) for i in bad.nonzero()[0])


def normal_cdf(x):
    """Phi(x) for a float64 tensor."""
    return 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))
