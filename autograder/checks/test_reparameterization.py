"""Check `reparameterization`: z = mu + eps * exp(0.5 * logvar) with fresh standard normal eps.

The statistical tests use fixed seeds and bounds of 5 standard errors of the
statistic (or the KS statistic's 1e-6 tail), so a correct implementation, with
whatever random stream it draws from, never fails, and the classic mistakes
(std = exp(logvar), no noise, uniform noise, shared noise ...) are far outside.
Every test draws with logvar away from 0, where the classic mistakes differ
from each other (at logvar = 0, z = mu + eps * logvar and z = mu look alike),
and looks for the mistakes that explain what it sees before its own verdict,
so one mistake gets one diagnosis wherever it shows.
"""
import math

import torch

from autograder.checks.support import (calling, explains, fmt, leading_failure, mismatch, normal_cdf, says, shape,
                                       tensor_of)

N = 20000
STD = "std = exp(0.5 * logvar)"
NO_NOISE = ("the noise is missing: z equals mu", "write z = mu + eps * std with eps = torch.randn_like(std)")
STD_CANDIDATES = (  # what a mistaken std computes, and the diagnosis
    (lambda lv: lv.exp(), "it uses std = exp(logvar)", f"exp(logvar) is the variance; the standard deviation is {STD}"),
    (lambda lv: lv.abs(), "it uses std = logvar",
     f"logvar is the log-variance, so eps * logvar is not the noise; the standard deviation is {STD}"),
    (lambda lv: torch.ones_like(lv), "the noise is not scaled by std", f"z = mu + eps * std with {STD}"),
    (lambda lv: (-0.5 * lv).exp(), "it uses std = exp(-0.5 * logvar)", f"the sign is wrong: {STD}"),
    (lambda lv: 0.5 * lv.exp(), "it uses std = 0.5 * exp(logvar)", f"the 0.5 goes inside the exp: {STD}"),
    (lambda lv: (2 * lv).exp(), "it uses std = exp(logvar) ** 2", f"that is the variance squared: {STD}"),
)


def _draw(worker, mu, logvar, seed, what, repeat=1, leading=None):
    kwargs = dict(mu=mu, logvar=logvar, seed=seed, repeat=repeat)
    out = (worker.call("reparameterize", what=what, **kwargs) if leading is None
           else calling(worker, "reparameterize", what, *leading_failure("reparameterize", leading), **kwargs))
    zs = [tensor_of(desc, what).to(torch.float64) for desc in out["outs"]]
    for z in zs:
        if z.shape != mu.shape:
            raise AssertionError(says("z does not have the shape of mu",
                                      "draw eps with torch.randn_like(mu): one noise value per element",
                                      what, f"shape {shape(z)}", f"shape {shape(mu)}"))
    return zs


def _constant_along(eps, dim):
    """True when eps is the same (up to the rounding of (z - mu) / std) for every index of ``dim``."""
    dim = dim % eps.dim()
    return bool(((eps - eps.narrow(dim, 0, 1)).abs() <= 1e-4).all())


def _noise_problem(z, mu, std):
    """(what is wrong, what to do) when the noise eps = (z - mu) / std of draws z (one row per example)
    shows a classic mistake, or None."""
    if bool((z == mu.to(torch.float64)).all()):
        return NO_NOISE
    eps = (z - mu.to(torch.float64)) / std.to(torch.float64)
    if bool(((eps >= 0) & (eps < 1)).all()):
        return ("the noise is uniform: every eps = (z - mu) / std lies in [0, 1)",
                "draw eps from N(0, 1) with torch.randn_like, not torch.rand_like")
    if eps.shape[0] > 1 and _constant_along(eps, 0):
        return ("the noise is shared across the batch: every row gets the same eps",
                "draw one value per element with torch.randn_like(mu)")
    if eps.shape[-1] > 1 and _constant_along(eps, -1):
        return ("the noise is shared across the latent dimensions: every dimension gets the same eps",
                "draw one value per element with torch.randn_like(mu)")
    return None


def _lead(z, mu, std, wrong, todo):
    """The diagnosis of a failed test: a classic noise mistake when the draws show one, else (wrong, todo)."""
    return _noise_problem(z, mu, std) or (wrong, todo)


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
    if z.shape != mu.shape:
        raise AssertionError(says("z does not have the shape of mu", "draw eps with torch.randn_like(mu)",
                                  what, f"z of shape {shape(z)}", f"shape {shape(mu)}"))
    z = z.to(mu.dtype)
    grad_mu, grad_logvar = out["grad_mu"], out["grad_logvar"]
    if not desc["requires_grad"] or grad_mu is None:
        sampled = not desc["requires_grad"]
        raise AssertionError(says(
            "z has no gradient with respect to mu" if sampled else "no gradient reaches mu",
            "sampling with torch.normal(mu, std), .detach(), torch.no_grad() or numpy cuts the graph; write "
            "z = mu + eps * std with eps = torch.randn_like(std)", what,
            "z without grad_fn" if sampled else "mu.grad = None", "a z that mu and logvar reach"))
    if grad_logvar is None:
        raise AssertionError(says(
            "no gradient reaches logvar", f"build {STD} with torch operations (no .detach(), .item() or "
            "torch.no_grad())", what, "logvar.grad = None", "0.5 * (z - mu) * w"))
    if bool((grad_mu == 0).all()):
        raise AssertionError(says(
            "dz/dmu is 0 everywhere", "sampling with torch.normal(mu, std) gives no gradient (that is the "
            "problem the reparameterization trick solves): write z = mu + eps * std with eps = torch.randn_like(std)",
            f"after {what}, dz/dmu * w", fmt(grad_mu), f"w = {fmt(weight)}"))
    if mismatch(grad_mu, weight, 1e-12 + 1e-9 * weight.abs()) is not None:
        raise AssertionError(says("dz/dmu is not 1", "z = mu + eps * std adds mu itself, unscaled",
                                  f"after {what}, dz/dmu * w", fmt(grad_mu), f"w = {fmt(weight)}"))
    expected = 0.5 * weight * (z - mu)
    tol = 1e-12 + 1e-7 * expected.abs()
    if mismatch(grad_logvar, expected, tol) is not None:
        wrong, todo = ("dz/dlogvar is not 0.5 * (z - mu)",
                       f"z = mu + eps * std with {STD} has dz/dlogvar = 0.5 * eps * std")
        if bool((grad_logvar == 0).all()):
            wrong, todo = "no gradient reaches logvar", (f"build {STD} with torch operations (no .detach(), "
                                                         ".item() or torch.no_grad())")
        elif explains(grad_logvar, 2 * expected, expected, tol, 2 * tol):
            wrong, todo = STD_CANDIDATES[0][1:]
        else:
            away = logvar.abs() > 0.05  # z = mu + eps * logvar has dz/dlogvar = eps = (z - mu) / logvar
            as_logvar = weight[away] * (z - mu)[away] / logvar[away]
            if explains(grad_logvar[away], as_logvar, expected[away], tol[away], 1e-12 + 1e-7 * as_logvar.abs()):
                wrong, todo = STD_CANDIDATES[1][1:]
        raise AssertionError(says(wrong, todo, f"after {what}, dz/dlogvar * w", fmt(grad_logvar),
                                  f"0.5 * (z - mu) * w = {fmt(expected)}"))


def _std_problem(sample_std, logvar_row, n):
    """(what is wrong, what to do) for a sample std per column that a mistaken std explains, at the test's
    own bound of 5 standard errors, or None."""
    lv = logvar_row.to(torch.float64)
    true_std = (0.5 * lv).exp()
    for f, wrong, todo in STD_CANDIDATES:
        candidate = f(lv)
        if explains(sample_std, candidate, true_std, 5 * true_std / math.sqrt(2 * n), 5 * candidate / math.sqrt(2 * n)):
            return wrong, todo
    return None


def test_sample_mean_and_std(worker):
    """over 20000 draws the sample mean is mu and the sample std is exp(0.5 * logvar)"""
    mu_row = torch.tensor([3.0, -1.5, 0.0, 0.5, 10.0, -4.0])
    logvar_row = torch.tensor([0.7, -2.0, 1.5, 0.4, -0.5, 2.5])
    mu, logvar = mu_row.expand(N, 6).contiguous(), logvar_row.expand(N, 6).contiguous()
    what = f"reparameterize(mu, logvar) for {N} rows of mu = {fmt(mu_row)}, logvar = {fmt(logvar_row)}"
    z = _draw(worker, mu, logvar, 0, what)[0]
    true_std = (0.5 * logvar_row.double()).exp()
    mean, std = z.mean(0), z.std(0)
    mean_ok = (mean - mu_row.double()).abs() <= 5 * true_std / math.sqrt(N)
    std_ok = (std - true_std).abs() <= 5 * true_std / math.sqrt(2 * N)
    if not bool(std_ok.all()):
        wrong, todo = _noise_problem(z, mu, true_std) or _std_problem(std, logvar_row, N) or (
            "the spread of z is not std = exp(0.5 * logvar)", f"z = mu + eps * std with {STD} and eps ~ N(0, 1)")
        raise AssertionError(says(wrong, todo, f"{what}: the sample std per column", fmt(std),
                                  f"exp(0.5 * logvar) = {fmt(true_std)} (within 5 standard errors)"))
    if not bool(mean_ok.all()):
        raise AssertionError(says(*_lead(z, mu, true_std, "the mean of z is not mu",
                                         "z = mu + eps * std with eps of mean 0"),
                                  f"{what}: the sample mean per column", fmt(mean),
                                  f"mu = {fmt(mu_row)} (within 5 standard errors)"))


LOGVAR_ROW = torch.tensor([0.5, -1.0, 1.5, -2.0, 1.0, -0.5, 2.0, -1.5])  # away from 0, where mistakes differ


def _centred(worker, n, seed, what):
    """Draws z for mu = 0 and logvar = LOGVAR_ROW in each of n rows: (z, z / std, what)."""
    mu, logvar = torch.zeros(n, 8), LOGVAR_ROW.expand(n, 8).contiguous()
    what = f"{what} for mu = 0 and logvar = {fmt(LOGVAR_ROW, 8)} in each of {n} rows"
    z = _draw(worker, mu, logvar, seed, what)[0]
    if not bool(torch.isfinite(z).all()):
        raise AssertionError(says("z holds NaN or infinite values", f"z = mu + eps * std with {STD}",
                                  what, fmt(z[~torch.isfinite(z)]), "finite values"))
    return z, z / (0.5 * LOGVAR_ROW.double()).exp(), what


def test_noise_is_standard_normal(worker):
    """the noise eps = (z - mu) / std is normal with mean 0"""
    z, eps, what = _centred(worker, N, 1, "reparameterize(mu, logvar)")
    std = (0.5 * LOGVAR_ROW.double()).exp()
    n = eps.numel()
    spread = eps.std(0)
    mean = eps.mean().item()
    bound = 5 * spread.mean().item() / math.sqrt(n)
    if not abs(mean) <= bound:
        raise AssertionError(says(*_lead(z, torch.zeros(8), std, "the noise does not have mean 0",
                                         "draw eps from N(0, 1) with torch.randn_like"),
                                  f"{what}: the mean of eps = (z - mu) / std", f"{mean:.4f}",
                                  f"0 (within {bound:.4f})"))
    standard = (eps / spread).flatten()  # the shape of the law, whatever its scale (test_sample_mean_and_std's)
    ordered = standard.sort().values
    cdf = normal_cdf(ordered)
    ranks = torch.arange(1, n + 1, dtype=torch.float64) / n
    ks = torch.maximum((ranks - cdf).abs(), (cdf - (ranks - 1 / n)).abs()).max().item()
    if not ks <= 2.7 / math.sqrt(n):
        raise AssertionError(says(
            *_lead(z, torch.zeros(8), std, "the noise is not normal", "draw eps with torch.randn_like (a standard "
                   "normal)"),
            f"{what}: eps = (z - mu) / std has a Kolmogorov-Smirnov distance to a normal law of", f"{ks:.4f}",
            f"at most {2.7 / math.sqrt(n):.4f}"))


def test_noise_is_independent(worker):
    """the noise is independent across batch rows and latent dimensions"""
    n, d = 8000, 8
    z, eps, what = _centred(worker, n, 2, "reparameterize(mu, logvar)")
    std = (0.5 * LOGVAR_ROW.double()).exp()
    corr = torch.corrcoef(eps.T)
    off = (corr - torch.eye(d, dtype=corr.dtype)).abs()
    worst = off.max().item()
    if not worst <= 5 / math.sqrt(n):
        raise AssertionError(says(*_lead(z, torch.zeros(d), std, "the noise of different latent dimensions is "
                                         "correlated", "draw one independent value per element with "
                                         "torch.randn_like(mu)"),
                                  f"{what}: |r| between latent dimensions", f"up to {worst:.3f}",
                                  f"at most {5 / math.sqrt(n):.3f}"))
    pairs = torch.stack([eps[0::2].flatten(), eps[1::2].flatten()])
    r = torch.corrcoef(pairs)[0, 1].item()
    if not abs(r) <= 5 / math.sqrt(pairs.shape[1]):
        raise AssertionError(says(*_lead(z, torch.zeros(d), std, "neighbouring rows get correlated noise",
                                         "each example needs its own noise: draw one value per element with "
                                         "torch.randn_like(mu)"),
                                  f"{what}: the correlation of neighbouring rows", f"r = {r:.3f}",
                                  f"|r| at most {5 / math.sqrt(pairs.shape[1]):.3f}"))


def test_fresh_noise_each_call(worker):
    """two calls in a row draw different noise"""
    mu, logvar = torch.zeros(4, 8), torch.ones(4, 8)
    what = "two calls of reparameterize(mu, logvar) in a row (one torch.manual_seed before them), mu = 0, logvar = 1"
    first, second = _draw(worker, mu, logvar, 4, what, repeat=2)
    if torch.equal(first, second):
        raise AssertionError(says(
            *_lead(first, mu, torch.full((8,), math.exp(0.5)), "it draws the same noise on every call",
                   "draw fresh noise on every call from torch's global generator (no torch.manual_seed or fixed "
                   "torch.Generator inside reparameterize, no cached eps)"),
            what, f"the same z twice ({fmt(first[0])} in the first row)", "two different draws"))


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
            raise AssertionError(says(
                "z overflows for large |logvar|", f"compute {STD} directly (exp(logvar) ** 2 or 1 / exp(-logvar) "
                "overflow)", f"{what}, at logvar = {logvar_row[col].item():g},", fmt(z[bad][0].item()),
                "a finite value"))


SHAPES = ((4096,), (16, 8, 32), (4, 8, 16, 8))  # zero, two and three leading dimensions; 4096 values each


def _moments(eps):
    """Mean, variance and their standard errors of the values of eps (any law)."""
    e = eps.flatten()
    n = e.numel()
    mean, var = e.mean(), e.var()
    fourth = ((e - mean) ** 4).mean()
    return mean.item(), var.item(), math.sqrt(var.item() / n), math.sqrt(max(fourth.item() - var.item() ** 2, 0) / n)


def test_any_leading_dimensions(worker):
    """for mu of shape (..., d) with zero to three leading dimensions, z has the law it has for a (batch, d) batch"""
    for size in SHAPES:
        g = torch.Generator().manual_seed(len(size))
        mu = (torch.randn(size, generator=g, dtype=torch.float64) * 200).round() / 100
        logvar = (torch.rand(size, generator=g, dtype=torch.float64) * 400 - 200).round() / 100
        std = (0.5 * logvar).exp()
        d = size[-1]
        what = f"reparameterize(mu, logvar) for mu, logvar of shape {shape(size)}"
        z = _draw(worker, mu, logvar, 10 + len(size), what, leading=list(size[:-1]))[0]
        batch_what = f"reparameterize(mu, logvar) for the same values as a batch of shape {shape((mu.numel() // d, d))}"
        z2 = _draw(worker, mu.reshape(-1, d), logvar.reshape(-1, d), 20 + len(size), batch_what)[0]
        if not bool(torch.isfinite(z).all()):
            raise AssertionError(says(*leading_failure("reparameterize", size[:-1]), what, "NaN or infinite values",
                                      "finite values"))
        eps, eps2 = (z - mu) / std, ((z2 - mu.reshape(-1, d)) / std.reshape(-1, d))
        if bool((z == mu).all()) and not bool((z2 == mu.reshape(-1, d)).all()):
            raise AssertionError(says(*NO_NOISE, what, f"z = mu = {fmt(mu)}", "mu + eps * std"))
        for dim in range(len(size)):
            if size[dim] > 1 and _constant_along(eps, dim):
                as_batch = 0 if dim < len(size) - 1 else 1  # the batch's rows or its latent dimensions
                if not _constant_along(eps2, as_batch):
                    raise AssertionError(says(
                        f"the noise is shared along dimension {dim} of mu", "draw one value per element with "
                        "torch.randn_like(mu), for mu of any shape (..., d)", what,
                        f"the same eps for every index of dimension {dim}", "independent noise"))
        mean, var, se_mean, se_var = _moments(eps)
        mean2, var2, se_mean2, se_var2 = _moments(eps2)
        if not (abs(mean - mean2) <= 5 * math.hypot(se_mean, se_mean2) + 1e-12
                and abs(var - var2) <= 5 * math.hypot(se_var, se_var2) + 1e-12):
            raise AssertionError(says(
                "z does not have the same law for mu of shape (..., d) as for a (batch, d) batch",
                "draw eps with torch.randn_like(mu) and pair each element of mu with its own std", what,
                f"eps = (z - mu) / std of mean {mean:.4f} and variance {var:.4f}",
                f"what a batch gives, mean {mean2:.4f} and variance {var2:.4f} (within 5 standard errors)"))
