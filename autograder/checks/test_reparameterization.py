"""Check `reparameterization`: z = mu + eps * exp(0.5 * logvar) with fresh standard normal eps.

The statistical tests use fixed seeds and bounds of 5 standard errors of the
statistic (or the KS statistic's 1e-6 tail), so a correct implementation, with
whatever random stream it draws from, never fails, and the classic mistakes
(std = exp(logvar), no noise, uniform noise, shared noise ...) are far outside.
"""
import math

import torch

from autograder.checks.support import fmt, normal_cdf, tensor_of

N = 20000
STD_CANDIDATES = (
    ("exp(logvar)", lambda lv: lv.exp()),
    ("logvar", lambda lv: lv.abs()),
    ("1 (the noise is not scaled by std)", lambda lv: torch.ones_like(lv)),
    ("exp(-0.5 * logvar)", lambda lv: (-0.5 * lv).exp()),
    ("0.5 * exp(logvar)", lambda lv: 0.5 * lv.exp()),
    ("exp(logvar) ** 2", lambda lv: (2 * lv).exp()),
)


def _draw(worker, mu, logvar, seed, what, repeat=1):
    out = worker.call("reparameterize", what=what, mu=mu, logvar=logvar, seed=seed, repeat=repeat)
    zs = [tensor_of(desc, what).to(torch.float64) for desc in out["outs"]]
    for z in zs:
        assert z.shape == mu.shape, f"{what} returned shape {tuple(z.shape)}, expected {tuple(mu.shape)}"
    return zs


def test_gradients(worker):
    """dz/dmu is 1 and dz/dlogvar is 0.5 * (z - mu)"""
    g = torch.Generator().manual_seed(5)
    mu = torch.randn(64, 6, generator=g, dtype=torch.float64)
    logvar = torch.randn(64, 6, generator=g, dtype=torch.float64) * 1.5
    weight = torch.rand(64, 6, generator=g, dtype=torch.float64) + 0.5
    what = "reparameterize(mu, logvar) followed by sum(w * z).backward()"
    out = worker.call("reparameterize", what=what, mu=mu, logvar=logvar, seed=3, grad_weight=weight)
    desc = out["outs"][0]
    z = tensor_of(desc, what)
    assert z.shape == mu.shape, f"{what}: z has shape {tuple(z.shape)}, expected {tuple(mu.shape)} (the shape of mu)"
    z = z.to(mu.dtype)
    assert desc["requires_grad"], (
        "z = reparameterize(mu, logvar) does not require grad although mu and logvar do, so no gradient "
        "reaches the encoder: .detach(), torch.no_grad() or numpy cut the graph; write z = mu + eps * std")
    grad_mu, grad_logvar = out["grad_mu"], out["grad_logvar"]
    assert grad_mu is not None, (
        f"after {what}, mu.grad is None: z must be computed from mu with torch operations (z = mu + eps * std)")
    assert grad_logvar is not None, (
        f"after {what}, logvar.grad is None: no gradient reaches logvar; build std = exp(0.5 * logvar) "
        "with torch operations (no .detach(), .item() or torch.no_grad())")
    if bool((grad_mu == 0).all()):
        raise AssertionError(
            f"after {what}, dz/dmu is 0 everywhere, expected 1: sampling with torch.normal(mu, std) gives "
            "no gradient (that is the problem the reparameterization trick solves); write z = mu + eps * std "
            "with eps = torch.randn_like(std)")
    assert torch.allclose(grad_mu, weight, rtol=1e-9, atol=1e-12), (
        f"after {what}, dz/dmu * w = {fmt(grad_mu)}, expected w = {fmt(weight)}: z = mu + eps * std has dz/dmu = 1")
    expected = 0.5 * weight * (z - mu)
    hint = ""
    if bool((grad_logvar == 0).all()):
        hint = (": no gradient reaches logvar; build std = exp(0.5 * logvar) with torch operations "
                "(no .detach(), .item() or torch.no_grad())")
    elif torch.allclose(grad_logvar, 2 * expected, rtol=1e-6, atol=1e-12):
        hint = ": it is twice that, as if std = exp(logvar); std is exp(0.5 * logvar)"
    assert torch.allclose(grad_logvar, expected, rtol=1e-7, atol=1e-12), (
        f"after {what}, dz/dlogvar * w = {fmt(grad_logvar)}, expected 0.5 * (z - mu) * w = {fmt(expected)}{hint}")


def test_sample_mean_and_std(worker):
    """over 20000 draws the sample mean is mu and the sample std is exp(0.5 * logvar)"""
    mu_row = torch.tensor([3.0, -1.5, 0.0, 0.5, 10.0, -4.0])
    logvar_row = torch.tensor([0.7, -2.0, 1.5, 0.0, -0.5, 2.5])
    mu, logvar = mu_row.expand(N, 6).contiguous(), logvar_row.expand(N, 6).contiguous()
    what = f"reparameterize(mu, logvar) for {N} rows of mu = {fmt(mu_row)}, logvar = {fmt(logvar_row)}"
    z = _draw(worker, mu, logvar, 0, what)[0]
    mean, std = z.mean(0), z.std(0)
    true_std = (0.5 * logvar_row.double()).exp()
    if bool((std == 0).all()):
        raise AssertionError(f"{what}: z never varies (it equals {fmt(z[0])} in every row): the noise is "
                             "missing; z = mu + eps * std with eps = torch.randn_like(std)")
    mean_ok = (mean - mu_row.double()).abs() <= 5 * true_std / math.sqrt(N)
    std_ok = (std - true_std).abs() <= 5 * true_std / math.sqrt(2 * N)
    if not bool(std_ok.all()):
        hint = next((f": it looks like std = {name}" for name, f in STD_CANDIDATES
                     if bool(((std - f(logvar_row.double())).abs() <= 0.05 * f(logvar_row.double()) + 1e-3).all())),
                    "")
        raise AssertionError(f"{what}: the sample std per column is {fmt(std)}, expected exp(0.5 * logvar) = "
                             f"{fmt(true_std)} (within 5 standard errors){hint}")
    assert bool(mean_ok.all()), (
        f"{what}: the sample mean per column is {fmt(mean)}, expected mu = {fmt(mu_row)} (within 5 standard "
        "errors): z = mu + eps * std with eps of mean 0")


def test_noise_is_standard_normal(worker):
    """the noise eps = (z - mu) / std is standard normal"""
    mu = torch.zeros(N, 8)
    what = f"reparameterize(mu, logvar) with mu = logvar = 0 of shape ({N}, 8)"
    eps = _draw(worker, mu, torch.zeros(N, 8), 1, what)[0].flatten()
    n = eps.numel()
    assert bool(torch.isfinite(eps).all()), f"{what} returned NaN or infinite values"
    if bool(((eps >= 0) & (eps < 1)).all()):
        raise AssertionError(f"{what}: every value of z lies in [0, 1): the noise looks uniform "
                             "(torch.rand_like); draw it from N(0, 1) with torch.randn_like")
    mean, var = eps.mean().item(), eps.var().item()
    assert abs(mean) <= 5 / math.sqrt(n), f"{what}: the noise has mean {mean:.4f}, expected 0"
    assert abs(var - 1) <= 5 * math.sqrt(2 / n), f"{what}: the noise has variance {var:.4f}, expected 1"
    ordered = eps.sort().values
    cdf = normal_cdf(ordered)
    ranks = torch.arange(1, n + 1, dtype=torch.float64) / n
    ks = torch.maximum((ranks - cdf).abs(), (cdf - (ranks - 1 / n)).abs()).max().item()
    assert ks <= 2.7 / math.sqrt(n), (
        f"{what}: the noise does not look standard normal (Kolmogorov-Smirnov distance {ks:.4f}, "
        f"more than {2.7 / math.sqrt(n):.4f}): draw eps with torch.randn_like")


def test_noise_is_independent(worker):
    """the noise is independent across batch rows and latent dimensions"""
    n, d = 8000, 8
    what = f"reparameterize(mu, logvar) with mu = logvar = 0 of shape ({n}, {d})"
    z = _draw(worker, torch.zeros(n, d), torch.zeros(n, d), 2, what)[0]
    if bool((z == z[:1]).all()):
        raise AssertionError(f"{what}: every row of z is the same: the noise is shared across the batch; "
                             "draw one value per element with torch.randn_like(mu)")
    if bool((z == z[:, :1]).all()):
        raise AssertionError(f"{what}: every latent dimension of z is the same: the noise is shared across "
                             "latent dimensions; draw one value per element with torch.randn_like(mu)")
    corr = torch.corrcoef(z.T)
    off = (corr - torch.eye(d, dtype=corr.dtype)).abs()
    worst = off.max().item()
    assert worst <= 5 / math.sqrt(n), (
        f"{what}: latent dimensions are correlated (|r| up to {worst:.3f}); the noise of different "
        "dimensions must be independent")
    pairs = torch.stack([z[0::2].flatten(), z[1::2].flatten()])
    r = torch.corrcoef(pairs)[0, 1].item()
    assert abs(r) <= 5 / math.sqrt(pairs.shape[1]), (
        f"{what}: neighbouring rows are correlated (r = {r:.3f}); each example needs its own noise")


def test_fresh_noise_each_call(worker):
    """two calls in a row draw different noise"""
    mu, logvar = torch.zeros(4, 8), torch.zeros(4, 8)
    what = "two calls of reparameterize(mu, logvar) in a row (one torch.manual_seed before them)"
    first, second = _draw(worker, mu, logvar, 4, what, repeat=2)
    assert not torch.equal(first, second), (
        f"{what} returned the same z twice: draw fresh noise on every call from torch's global generator "
        "(no torch.manual_seed or fixed torch.Generator inside reparameterize, no cached eps)")


def test_finite_for_extreme_logvar(worker):
    """z stays finite for logvar between -60 and 60"""
    logvar_row = torch.tensor([-60.0, -30.0, -10.0, 0.0, 10.0, 30.0, 60.0])
    for dtype in (torch.float32, torch.float64):
        logvar = logvar_row.to(dtype).expand(16, 7).contiguous()
        mu = torch.linspace(-100, 100, 16, dtype=dtype).unsqueeze(1).expand(16, 7).contiguous()
        what = f"reparameterize(mu, logvar) for logvar = {fmt(logvar_row, 7)} ({str(dtype)[6:]})"
        z = _draw(worker, mu, logvar, 5, what)[0]
        bad = ~torch.isfinite(z)
        if bool(bad.any()):
            col = int(bad.nonzero()[0][1])
            raise AssertionError(f"{what}: z is {fmt(z[bad][0].item())} for logvar = {logvar_row[col].item():g}: "
                                 "compute std = exp(0.5 * logvar) directly (exp(logvar) ** 2 or "
                                 "1 / exp(-logvar) overflow)")
