"""Helpers for the checks: inputs, reference values, known mistakes, and failure messages.

Every failure message leads with the diagnosis and then shows the evidence:

    <what is wrong>: <what to do>. <call> gave <got>, expected <want>.

A known mistake is named only when it is the explanation: what it computes
matches what came back at the test's own tolerance, and differs from the
correct value wherever the answer was wrong (``explains``).  Otherwise the
message says what was expected without guessing.
"""
import functools
import math

import torch

FLOAT_TOL = {"float32": 2e-5, "float64": 1e-10}  # relative to the size of the terms


def shape(t):
    """'(3, 4)' for a tensor or a shape list."""
    dims = list(t.shape) if isinstance(t, torch.Tensor) else list(t)
    return "(" + ", ".join(map(str, dims)) + ("," if len(dims) == 1 else "") + ")"


def num(value, digits=6):
    """A number as a person writes it: 2, 0.5, -1.5e-08 (``digits`` significant digits at most)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    text = f"{value:.{digits}g}"
    return text if len(repr(value)) > len(text) else repr(value)


def fmt(value, n=6):
    """A short, readable rendering of a number or tensor (first ``n`` values)."""
    if isinstance(value, torch.Tensor):
        if value.dim() == 0:
            return num(value.item())
        flat = value.detach().flatten().tolist()
        body = ", ".join(num(v) for v in flat[:n])
        return f"[{body}{', ...' if len(flat) > n else ''}]"
    if isinstance(value, float):
        return num(value)
    return str(value)


def literal(t):
    """A small tensor as the nested list that makes it: [[0.5, -1], [0, 2]]."""
    if t.dim() == 0:
        return num(t.item())
    return "[" + ", ".join(literal(row) for row in t) + "]"


def fmt_pair(got, want):
    """Two numbers with just enough digits to show that they differ."""
    for digits in (6, 8, 10, 12, 15, 17):
        a, b = num(got, digits), num(want, digits)
        if a != b:
            return a, b
    return a, b


def says(wrong, todo, call, got, want=None, verb="gave"):
    """The failure message: '<what is wrong>: <what to do>. <call> gave <got>, expected <want>.'
    (``verb`` 'raised' for an exception)."""
    text = f"{wrong}: {todo}. {call} {verb} {got}"
    return text + (f", expected {want}" if want is not None else "")


def calling(worker, probe, what, wrong, todo, **kwargs):
    """``worker.call``, with an exception raised by the student's code reported as
    '<wrong>: <todo>. <what> raised ...' (the stubs' NotImplementedError and import failures as usual)."""
    from autograder import errors

    try:
        return worker.call(probe, what=what, **kwargs)
    except errors.NotImplementedYet:
        raise
    except errors.StudentError as err:
        if err.info.get("during_import"):
            raise
        raise AssertionError(f"{wrong}: {todo}. {err}") from None


LEADING_WRONG = "it fails for mu of shape (..., d) with {n} leading dimension{s}"
LEADING_TODO = {"reparameterize": "the contract is any shape (..., d), not only (batch, d): draw eps with "
                                  "torch.randn_like(mu) and use no fixed dimension",
                "kl_divergence": "the contract is any shape (..., d), not only (batch, d): sum over the last "
                                 "dimension (dim=-1) and reduce every leading one"}


def leading_failure(function, leading):
    """(wrong, todo) for ``calling`` when ``function`` raises on mu with ``leading`` leading dimensions."""
    n = len(leading)
    return LEADING_WRONG.format(n=n, s="" if n == 1 else "s"), LEADING_TODO[function]


def random_pair(batch, latent, dtype="float32", seed=0, mu_scale=2.0, logvar_scale=1.5):
    """Deterministic (mu, logvar) of shape (batch, latent), values rounded to 2 decimals (readable)."""
    return random_like((batch, latent), dtype, seed, mu_scale, logvar_scale)


def random_like(size, dtype="float32", seed=0, mu_scale=2.0, logvar_scale=1.5):
    """Deterministic (mu, logvar) of any shape ``size``, values rounded to 2 decimals."""
    g = torch.Generator().manual_seed(seed)
    dt = getattr(torch, dtype)
    mu = (torch.randn(size, generator=g, dtype=torch.float64) * mu_scale * 100).round() / 100
    logvar = ((torch.randn(size, generator=g, dtype=torch.float64) * logvar_scale).clamp(-10, 10) * 100).round() / 100
    return mu.to(dt), logvar.to(dt)


def images(n, seed=0):
    """n float32 images (n, 1, 28, 28) in [0, 1] from the grader's own data (a fresh copy each call)."""
    return _images(n, seed).clone()


@functools.lru_cache(maxsize=16)
def _images(n, seed):
    """Made once per grading process (a pool's process grades many submissions; the check files are
    imported again for each)."""
    from autograder.checks.fakedata import make_images

    raw, _ = make_images(n, seed)
    return torch.from_numpy(raw).unsqueeze(1).to(torch.float32) / 255


def tensor_of(desc, what):
    """The tensor a probe described, or an AssertionError saying what came back instead."""
    if desc.get("tensor") is None:
        raise AssertionError(f"it must return a torch.Tensor: {what} returned {desc.get('type')} "
                             f"{desc.get('repr', '')}".rstrip())
    return desc["tensor"]


def raised(info):
    """'ValueError: the message' (or just 'MemoryError') for an exception description."""
    message = (info.get("message") or "").strip()
    return f"{info.get('type')}: {message}" if message else str(info.get("type"))


def untouched(out, mu, logvar, what):
    """Assert the probe's inputs came back unmodified."""
    for name, sent, after in (("mu", mu, out["mu_after"]), ("logvar", logvar, out["logvar_after"])):
        if not torch.equal(sent, after):
            raise AssertionError(f"it changes {name} in place: compute new tensors instead (no +=, no .mul_(), "
                                 f"no .exp_()). After {what}, {name} was no longer what was passed in")


def same_shape(a, b, what):
    """Refuse to broadcast two returned tensors of different shapes (an (n, 1) and a (1, n) make n * n)."""
    if a.shape != b.shape:
        raise AssertionError(f"{what}: got shapes {shape(a)} and {shape(b)} where both must be the same")


def explains(got, candidate, expected, tol, candidate_tol=None):
    """True when a known mistake, which computes ``candidate``, is the explanation of ``got``.

    ``got`` must equal ``candidate`` within ``candidate_tol`` (the test's own
    tolerance, for the size of the candidate's terms) everywhere, and the
    candidate must differ from ``expected`` by more than ``tol`` wherever ``got``
    does: a mistake that gives the correct value there (averaging over d = 1
    latent dimension, flipping the sign of 0) explains nothing.
    """
    if not (got.shape == candidate.shape == expected.shape):
        return False
    got, candidate, expected = (t.to(torch.float64) for t in (got, candidate, expected))
    if candidate_tol is None:
        candidate_tol = tol
    if not bool(((got - candidate).abs() <= candidate_tol).all()):
        return False
    wrong = ~((got - expected).abs() <= tol)
    if not bool(wrong.any()):
        return False
    differs = (candidate - expected).abs() > tol
    if not isinstance(differs, torch.Tensor) or differs.dim() == 0:
        return bool(differs)
    return bool(differs[wrong].all())


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


KL_FORMULA = "KL = 0.5 * sum(mu^2 + exp(logvar) - 1 - logvar) over the last dimension"
KL_GENERIC = ("kl_divergence does not give the closed-form KL",
              "compute 0.5 * sum(mu^2 + exp(logvar) - 1 - logvar) over the last dimension (dim=-1)")


def kl_mistakes(mu, logvar):
    """The classic KL mistakes as (per-example value, size of its terms, what is wrong, what to do)."""
    expected, size = kl_reference(mu, logvar)
    m, lv = mu.to(torch.float64), logvar.to(torch.float64)
    d = mu.shape[-1]
    as_std = 0.5 * (m ** 2 + (2 * lv).exp() - 1 - 2 * lv)
    as_std_size = 0.5 * (m ** 2 + (2 * lv).exp() + 1 + 2 * lv.abs())
    return [
        (-expected, size, "the KL's sign is flipped", f"a KL divergence is never negative: {KL_FORMULA}"),
        (2 * expected, 2 * size, "the factor 0.5 is missing", KL_FORMULA),
        (expected / d, size / d, "it averages over the latent dimensions",
         "sum over them instead: the KL of independent dimensions adds up"),
        (expected + 0.5 * d, size + 0.5 * d, "the '- 1' term is missing",
         "each latent dimension contributes 0.5 * (mu^2 + exp(logvar) - 1 - logvar)"),
        (expected - 0.5 * d, size + 0.5 * d, "it subtracts 1 twice (or adds '- 1' outside the sum)",
         "each latent dimension contributes 0.5 * (mu^2 + exp(logvar) - 1 - logvar), with one '- 1'"),
        (as_std.sum(-1), as_std_size.sum(-1), "it uses exp(logvar) as the standard deviation",
         f"exp(logvar) is the variance: {KL_FORMULA}"),
    ]


def kl_diagnosis(got, mu, logvar, dtype):
    """(what is wrong, what to do) for per-example KL values ``got``: a known mistake when one is the
    explanation at the tolerance of ``dtype``, else the closed form itself."""
    expected, size = kl_reference(mu, logvar)
    tol = kl_tolerance(size, dtype)
    for value, value_size, wrong, todo in kl_mistakes(mu, logvar):
        if explains(got, value, expected, tol, kl_tolerance(value_size, dtype)):
            return wrong, todo
    return KL_GENERIC


def kl_shape_problem(got, mu_shape, reduction):
    """(what is wrong, what to do) when kl_divergence returned shape ``got`` for mu of ``mu_shape``, or None.

    ``reduction`` is 'none', 'sum', 'mean' or None (the default, 'mean').
    """
    got, full = tuple(got), tuple(mu_shape)
    lead = full[:-1]
    if reduction == "none":
        if got == lead:
            return None
        if got == full:
            return ("'none' gives one value per element",
                    "sum over the latent dimension (dim=-1) to get one value per example")
        if len(full) >= 3 and got == full[:1] + full[2:]:
            return ("it sums over a fixed dim=1",
                    "the latent dimension is the last one: sum over dim=-1, not a fixed dim=1, so that mu of "
                    "shape (..., d) gives one value per leading index")
        return ("'none' does not give one value per example",
                "sum over the last dimension only (dim=-1): mu of shape (..., d) gives shape mu.shape[:-1]")
    if got == ():
        return None
    name = reduction or "mean"
    verb = "average" if name == "mean" else "add up"
    if len(lead) >= 2 and got == lead[1:]:
        return (f"'{name}' reduces the first dimension only (dim=0)",
                f"it must {verb} the per-example values over every leading dimension, to a scalar "
                f"(per_example.{'mean' if name == 'mean' else 'sum'}() with no dim)")
    if got == lead:
        return (f"'{name}' gives one value per example", f"it must {verb} them to a scalar")
    return (f"'{name}' does not give a scalar",
            f"{verb} the per-example values (shape mu.shape[:-1]) over every leading dimension")


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
        raise AssertionError(f"{problem}. {what} gave these weights")
    broken = next((k for k, v in weights.items() if not bool(torch.isfinite(v).all())), None)
    if broken:
        raise AssertionError(says("the trained weights hold NaN or infinite values: the loss blew up",
                                  "check reparameterize and kl_divergence for overflow", what,
                                  f"NaN or infinite values in {broken}", "finite weights"))
    start = initial_weights(seed, z_dim)
    if all(torch.equal(weights[k].to(v.dtype), v) for k, v in start.items()):
        raise AssertionError(says("the weights did not change during training",
                                  "the loss returned by forward has no gradient that reaches the model's parameters: "
                                  "compute reparameterize and kl_divergence with torch operations", what,
                                  "the starting weights", "trained weights"))
    samples = tensor_of(run["samples"], f"{what}: decode(z) after training")
    expected = reference_decode(weights, prior_z)
    if tuple(samples.shape) != tuple(expected.shape) or not bool(
            ((samples.to(torch.float64) - expected).abs() <= 1e-4).all()):
        raise AssertionError(says("the samples sent back are not decode(z) of the trained weights",
                                  "keep VAE.decode as given", f"{what}: decode(z)",
                                  f"samples of shape {shape(samples)}", f"decode(z), shape {shape(expected)}"))
    x = x[:EVAL_IMAGES]
    return reference_loss(start, x), reference_loss(weights, x)


KL_SLACK = 1e-3   # nats: a batch-mean KL this far below 0 is no rounding error (its terms are each >= 0)


def objective_problem(losses, kls):
    """Why a training run's objective is broken, as (what is wrong, what to do), or None.

    ``losses`` and ``kls`` are the run's per-epoch batch means of the loss and of
    the KL term that VAE.forward reported.  Both terms of the loss, the
    reconstruction (a binary cross-entropy) and the KL, are never negative, so
    a negative or non-finite KL, or a loss below zero, means the objective
    itself is wrong: training then drives the loss down without fitting the images.
    """
    kls, losses = [float(v) for v in kls], [float(v) for v in losses]
    for epoch, kl in enumerate(kls):
        if not math.isfinite(kl):
            return (f"the KL term became {kl} (epoch {epoch})",
                    "for finite mu and logvar the KL is a finite number >= 0, so training diverged through it: "
                    "check kl_divergence, its sign first")
    negative = [(epoch, kl) for epoch, kl in enumerate(kls) if kl < -KL_SLACK]
    if negative:
        epoch, kl = min(negative, key=lambda pair: pair[1])
        return (f"the KL term is negative (down to {num(kl, 3)} in epoch {epoch})",
                "a KL divergence is never negative, and with a negative KL training makes it ever more negative "
                "instead of fitting the images: check the sign in kl_divergence")
    below = [(epoch, loss) for epoch, loss in enumerate(losses) if loss < 0]
    if below:
        epoch, loss = min(below, key=lambda pair: pair[1])
        return (f"the loss fell below zero ({num(loss, 3)} in epoch {epoch})",
                "both of its terms, the reconstruction and the KL term, are never negative: check the sign in "
                "kl_divergence")
    return None
