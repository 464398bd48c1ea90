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


def same_shape(a, b, what):
    """Refuse to broadcast two returned tensors of different shapes (an (n, 1) and a (1, n) make n * n)."""
    if a.shape != b.shape:
        raise AssertionError(f"{what}: got shapes {shape(a)} and {shape(b)} where both must be the same")


def kl_terms(mu, logvar):
    """The closed-form KL terms 0.5 * (mu^2 + exp(logvar) - 1 - logvar), in float64."""
    same_shape(mu, logvar, "mu and logvar")
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
    same_shape(got, expected, "the value returned and the value expected")
    bad = ~((got.to(torch.float64) - expected).abs() <= tol)
    if not bool(bad.any()):
        return None
    return tuple(int(i) for i in bad.nonzero()[0])


def normal_cdf(x):
    """Phi(x) for a float64 tensor."""
    return 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


# ---------------------------------------------------------------------------
# The grader's own copy of the lab's VAE, to verify a training run from its weights
# ---------------------------------------------------------------------------

EVAL_IMAGES = 512   # the grader's loss of a training run is measured on (at most) this many of its images


def layers(z_dim):
    """The lab's VAE as (state_dict name prefix, (out, in)) in construction order."""
    return (("enc.1", (256, 784)), ("enc.3", (128, 256)), ("mu", (z_dim, 128)), ("logvar", (z_dim, 128)),
            ("dec.0", (128, z_dim)), ("dec.2", (256, 128)), ("dec.4", (784, 256)))


def initial_weights(seed, z_dim):
    """The weights VAE(z=z_dim) starts from after torch.manual_seed(seed) (same layers, same order),
    made without touching the grader's own random state."""
    weights = {}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for name, (n_out, n_in) in layers(z_dim):
            layer = torch.nn.Linear(n_in, n_out)
            weights[f"{name}.weight"], weights[f"{name}.bias"] = layer.weight.detach(), layer.bias.detach()
    return weights


def architecture_problem(weights, z_dim):
    """Why ``weights`` (a returned state_dict) are not the lab's VAE(z=z_dim), or ''."""
    expected = {}
    for name, (n_out, n_in) in layers(z_dim):
        expected[f"{name}.weight"], expected[f"{name}.bias"] = (n_out, n_in), (n_out,)
    if set(weights) != set(expected):
        extra, missing = sorted(set(weights) - set(expected)), sorted(set(expected) - set(weights))
        return ("the trained model's parameters are not the lab's VAE layers"
                + (f" (unexpected: {', '.join(extra[:4])})" if extra else "")
                + (f" (missing: {', '.join(missing[:4])})" if missing else "")
                + ": keep the VAE class as given")
    for key, want in expected.items():
        if tuple(weights[key].shape) != want or not weights[key].is_floating_point():
            return (f"the trained model's {key} has shape {shape(weights[key])} ({weights[key].dtype}), "
                    f"the lab's VAE has {shape(want)}: keep the VAE class as given")
    return ""


def reference_decode(weights, z):
    """decode(z) of the lab's VAE with these weights, in float64: images (n, 1, 28, 28)."""
    w = {k: v.to(torch.float64) for k, v in weights.items()}
    h = torch.relu(torch.nn.functional.linear(z.to(torch.float64), w["dec.0.weight"], w["dec.0.bias"]))
    h = torch.relu(torch.nn.functional.linear(h, w["dec.2.weight"], w["dec.2.bias"]))
    return torch.sigmoid(torch.nn.functional.linear(h, w["dec.4.weight"], w["dec.4.bias"])).view(-1, 1, 28, 28)


def reference_loss(weights, x):
    """The lab's loss at beta = 1 (BCE summed over pixels + KL, batch means) of these weights on the
    images ``x``, evaluated deterministically (z = mu), by the grader's own code (float32 layers, as
    the lab trains; the sums in float64)."""
    w = {k: v.to(torch.float32) for k, v in weights.items()}
    flat = x.to(torch.float32).flatten(1)
    h = torch.relu(torch.nn.functional.linear(flat, w["enc.1.weight"], w["enc.1.bias"]))
    h = torch.relu(torch.nn.functional.linear(h, w["enc.3.weight"], w["enc.3.bias"]))
    mu = torch.nn.functional.linear(h, w["mu.weight"], w["mu.bias"])
    logvar = torch.nn.functional.linear(h, w["logvar.weight"], w["logvar.bias"])
    h = torch.relu(torch.nn.functional.linear(mu, w["dec.0.weight"], w["dec.0.bias"]))
    h = torch.relu(torch.nn.functional.linear(h, w["dec.2.weight"], w["dec.2.bias"]))
    logits = torch.nn.functional.linear(h, w["dec.4.weight"], w["dec.4.bias"])
    recon = torch.nn.functional.binary_cross_entropy_with_logits(logits, flat, reduction="none")
    kl = 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar)
    return float(recon.to(torch.float64).sum(1).mean() + kl.to(torch.float64).sum(1).mean())


def verified_training(run, x, seed, z_dim, prior_z, what):
    """Check a training run's reply against the grader's own evaluation; (loss before, loss after).

    The worker's reported losses are the student's process talking; the
    trained weights are evidence: the grader evaluates them with its own copy
    of the lab's VAE on its own images, compares them with the weights
    training started from, and checks that the samples are decode(prior_z)
    of those weights.  AssertionError says what does not hold.
    """
    if "_verified" not in run:  # the run dict is the grader's own (replies.py built it): cache on it
        try:
            run["_verified"] = _verify_training(run, x, seed, z_dim, prior_z, what)
        except AssertionError as err:
            run["_verified"] = err
    if isinstance(run["_verified"], AssertionError):
        raise AssertionError(str(run["_verified"]))
    return run["_verified"]


def _verify_training(run, x, seed, z_dim, prior_z, what):
    weights = run["weights"]
    problem = architecture_problem(weights, z_dim)
    if problem:
        raise AssertionError(f"{what}: {problem}")
    broken = next((k for k, v in weights.items() if not bool(torch.isfinite(v).all())), None)
    if broken:
        raise AssertionError(f"{what}: the trained weights hold NaN or infinite values ({broken}): the loss "
                             "blew up; a KL with a flipped sign lets logvar grow without bound")
    start = initial_weights(seed, z_dim)
    if all(torch.equal(weights[k].to(v.dtype), v) for k, v in start.items()):
        raise AssertionError(f"{what}: the weights did not change during training: the loss returned by "
                             "forward has no gradient that reaches the model's parameters")
    samples = tensor_of(run["samples"], f"{what}: decode(z) after training")
    expected = reference_decode(weights, prior_z)
    if tuple(samples.shape) != tuple(expected.shape) or not bool(
            ((samples.to(torch.float64) - expected).abs() <= 1e-4).all()):
        raise AssertionError(f"{what}: the samples sent back are not decode(z) of the trained weights "
                             f"(shape {shape(samples)}; expected {shape(expected)}): keep VAE.decode as given")
    x = x[:EVAL_IMAGES]
    return reference_loss(start, x), reference_loss(weights, x)
