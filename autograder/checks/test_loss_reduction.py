"""Check `loss_reduction`: kl_divergence's reductions, and how VAE.forward combines the two terms.

"none" is one KL per example, "sum" their total and "mean" their average
over every leading dimension (the batch size for (batch, d), not batch *
latent size); the KL sums over latent dimensions; an unknown reduction raises
ValueError; and VAE.forward's loss is recon + beta * kl with the batch-mean KL.
A classic mistake is named only when it explains the value at the test's
own tolerance (``support.explains``).
"""
import torch

from autograder.checks.support import (calling, explains, fmt, fmt_pair, images, kl_diagnosis, kl_mistakes,
                                       kl_reference, kl_shape_problem, kl_tolerance, leading_failure, mismatch,
                                       random_like, random_pair, raised, says, shape, tensor_of)

MU, LOGVAR = random_pair(6, 5, "float64", seed=21)
RTOL = 1e-9  # reductions in float64


def _kl(worker, mu, logvar, reduction, leading=None):
    arg = "" if reduction is None else f", reduction={reduction!r}"
    what = f"kl_divergence(mu, logvar{arg}) for mu, logvar of shape {shape(mu)}"
    kwargs = {} if reduction is None else {"reduction": reduction}
    if leading is None:
        out = worker.call("kl", what=what, mu=mu, logvar=logvar, kwargs=kwargs)
    else:
        out = calling(worker, "kl", what, *leading_failure("kl_divergence", leading), mu=mu, logvar=logvar,
                      kwargs=kwargs)
    got = tensor_of(out["out"], what).to(torch.float64)
    problem = kl_shape_problem(got.shape, mu.shape, reduction)
    if problem:
        expected = mu.shape[:-1] if reduction == "none" else ()
        raise AssertionError(says(*problem, what, f"shape {shape(got)}", f"shape {shape(expected)}"))
    return got, what


def _tol(value):
    return RTOL * (1 + value.abs())


def _close(a, b):
    """Equal within 1e-9 relative, and of the same shape (two returned shapes are never broadcast)."""
    return a.shape == b.shape and bool(((a - b).abs() <= _tol(b)).all())


def _diagnosis(got, expected, reduce, reductions=()):
    """(what is wrong, what to do) that explains a reduced KL ``got``: one of ``reductions`` (value, wrong,
    todo), or a mistake in the per-example KL (reduced with ``reduce``), or None."""
    for value, wrong, todo in reductions:
        if explains(got, value, expected, _tol(expected), _tol(value)):
            return wrong, todo
    for value, _, wrong, todo in kl_mistakes(MU, LOGVAR):
        value = reduce(value)
        if explains(got, value, expected, _tol(expected), _tol(value)):
            return wrong, todo
    return None


def test_none_is_per_example(worker):
    """reduction='none' gives one KL per example"""
    kl, what = _kl(worker, MU, LOGVAR, "none")
    expected, size = kl_reference(MU, LOGVAR)
    bad = mismatch(kl, expected, kl_tolerance(size, "float64"))
    if bad is not None:
        wrong, todo = kl_diagnosis(kl, MU, LOGVAR, "float64")
        raise AssertionError(says(wrong, todo, what, fmt(kl), f"the per-example KL {fmt(expected)}"))


def test_sum_is_the_total(worker):
    """reduction='sum' is the total over the batch"""
    total, what = _kl(worker, MU, LOGVAR, "sum")
    per_example = kl_reference(MU, LOGVAR)[0]
    expected = per_example.sum()
    if not _close(total, expected):
        wrong, todo = _diagnosis(total, expected, torch.sum, [
            (per_example.mean(), "'sum' gives the batch mean",
             "that is the batch mean; 'sum' adds up the per-example values (per_example.sum())")]) or (
            "'sum' is not the total of the per-example KL values", "add them up: per_example.sum()")
        got, want = fmt_pair(total.item(), expected.item())
        raise AssertionError(says(wrong, todo, what, got, f"the batch total {want}"))


def test_mean_is_the_batch_average(worker):
    """reduction='mean' (the default) is the batch average: duplicating the batch keeps it and doubles 'sum'"""
    per_example = kl_reference(MU, LOGVAR)[0]
    batch, latent = MU.shape
    expected = per_example.mean()
    for reduction in ("mean", None):
        mean, what = _kl(worker, MU, LOGVAR, reduction)
        if not _close(mean, expected):
            wrong, todo = _diagnosis(mean, expected, torch.mean, [
                (per_example.sum() / (batch * latent), "'mean' divides by batch * latent size",
                 ".mean() over every element divides by both: sum over the latent dimensions, then average "
                 "over the batch (per_example.mean())"),
                (per_example.sum(), "'mean' gives the batch total",
                 "that is the batch total; 'mean' divides it by the batch size (per_example.mean())")]) or (
                "'mean' is not the batch average of the per-example KL values",
                "average them over the batch: per_example.mean()")
            got, want = fmt_pair(mean.item(), expected.item())
            raise AssertionError(says(wrong, todo, what, got, f"the batch average {want}"))
    double_mu, double_logvar = torch.cat([MU, MU]), torch.cat([LOGVAR, LOGVAR])
    mean2, what = _kl(worker, double_mu, double_logvar, "mean")
    if not _close(mean2, expected):
        got, want = fmt_pair(mean2.item(), expected.item())
        raise AssertionError(says(
            "'mean' changes when the batch is repeated", "the batch average of the same examples twice is their "
            "average once: divide the total by the batch size", f"{what} (the batch of 6 twice)", got, want))
    sum2, what = _kl(worker, double_mu, double_logvar, "sum")
    if not _close(sum2, 2 * per_example.sum()):
        got, want = fmt_pair(sum2.item(), 2 * per_example.sum().item())
        raise AssertionError(says(
            "'sum' does not double when the batch is repeated", "the total of the same examples twice is twice "
            "their total: per_example.sum()", f"{what} (the batch of 6 twice)", got, want))


def test_sums_over_latent_dimensions(worker):
    """the KL adds up over the latent dimensions (a sum, not a mean)"""
    one, _ = _kl(worker, torch.tensor([[1.0]], dtype=torch.float64), torch.tensor([[0.5]], dtype=torch.float64),
                 "none")
    four, what = _kl(worker, torch.ones(1, 4, dtype=torch.float64), torch.full((1, 4), 0.5, dtype=torch.float64),
                     "none")
    if not _close(four, 4 * one):
        wrong, todo = ("the KL does not add up over the latent dimensions",
                       "the KL of independent dimensions is the sum of theirs: sum over the last dimension")
        if explains(four, one, 4 * one, _tol(4 * one), _tol(one)):
            wrong, todo = "it averages over the latent dimensions", "sum over them instead"
        raise AssertionError(says(wrong, todo, f"{what} for 4 identical latent dimensions", fmt(four),
                                  f"4 times the KL of one of them, {fmt(4 * one)}"))


def test_unknown_reduction_raises_value_error(worker):
    """an unknown reduction raises ValueError"""
    for reduction in ("average", "batchmean", ""):
        what = f"kl_divergence(mu, logvar, reduction={reduction!r})"
        err = worker.call_raises("kl", what=what, mu=MU, logvar=LOGVAR, kwargs={"reduction": reduction})
        if err is None:
            raise AssertionError(says("an unknown reduction is accepted",
                                      "only 'none', 'sum' and 'mean' are allowed: raise ValueError for any other",
                                      what, "a value", "ValueError"))
        if not err.is_a("ValueError"):
            raise AssertionError(says("an unknown reduction raises the wrong exception",
                                      "raise ValueError naming the allowed values 'none', 'sum', 'mean'",
                                      what, f"{raised(err.info)}", "ValueError", verb="raised"))


LEADING = ([2, 3], [], [2, 1, 3])  # (..., d) with zero to three leading dimensions; one is (batch, d)


def test_reductions_any_leading_dimensions(worker):
    """'sum' and 'mean' reduce every leading dimension of mu (..., d): the same results as the same rows as a batch"""
    for leading in LEADING:
        mu, logvar = random_like((*leading, 4), "float64", seed=30 + len(leading))
        flat_mu, flat_logvar = mu.reshape(-1, 4), logvar.reshape(-1, 4)
        n = flat_mu.shape[0]
        total, _ = _kl(worker, flat_mu, flat_logvar, "sum")
        for reduction in ("mean", "sum"):
            got, what = _kl(worker, mu, logvar, reduction, leading=leading)
            want, _ = _kl(worker, flat_mu, flat_logvar, reduction)
            if _close(got, want):
                continue
            first = mu.shape[0]
            wrong, todo = (f"'{reduction}' of mu (..., d) is not what it is for the same {n} examples as a batch",
                           f"{'average' if reduction == 'mean' else 'add up'} the per-example values over every "
                           f"leading dimension (per_example.{reduction}() with no dim)")
            if reduction == "mean":
                for value, name, what_to_do in (
                        (total / first, f"'mean' divides by mu.size(0) = {first}, not by the number of "
                                        f"examples, {n}",
                         "average over every leading dimension: per_example.mean() with no dim"),
                        (total / (n * 4), "'mean' divides by every element, latent dimensions included",
                         "sum over the latent dimension, then average over every leading one"),
                        (total, "'mean' gives the total", "divide it by the number of examples")):
                    if explains(got, value, want, _tol(want), _tol(value)):
                        wrong, todo = name, what_to_do
                        break
            got_text, want_text = fmt_pair(got.item(), want.item())
            raise AssertionError(says(wrong, todo, what, got_text,
                                      f"{want_text}, what it gives for them as a batch of shape {shape(flat_mu)}"))


BETAS = [0.0, 0.5, 1.0, 4.0]


FORWARD_BATCH, FORWARD_LATENT = 16, 8


def _forward(worker):
    x = images(FORWARD_BATCH, seed=3)
    what = f"VAE(z={FORWARD_LATENT}).forward(x, beta) on {FORWARD_BATCH} images for beta in {BETAS}"
    out = worker.call("vae", what=what, z_dim=FORWARD_LATENT, x=x, seed=1, betas=BETAS)
    mu, logvar = tensor_of(out["mu"], what), tensor_of(out["logvar"], what)
    rows = []
    for beta, row in zip(BETAS, out["forward"]):
        loss = tensor_of(row["loss"], what).to(torch.float64).reshape(-1)
        if loss.numel() != 1:
            raise AssertionError(says("the loss is not a scalar",
                                      "kl_divergence's default reduction, 'mean', gives a scalar",
                                      f"{what}: forward(x, beta={beta})", f"a loss of shape {shape(loss)}",
                                      "a scalar"))
        for name in ("recon", "kl"):
            if not row[name]["is_real"]:
                raise AssertionError(says(f"VAE.forward's {name} is not a number", "keep VAE.forward as given",
                                          what, f"{name} as {row[name]['type']}", "a Python float"))
        rows.append((beta, loss.item(), row["recon"]["value"], row["kl"]["value"]))
    return rows, mu, logvar, what


def test_forward_loss_is_recon_plus_beta_kl(worker):
    """VAE.forward's loss is recon + beta * kl for several beta, with the batch-mean KL"""
    rows, mu, logvar, what = _forward(worker)
    for name, t in (("mu", mu), ("logvar", logvar)):   # before any arithmetic on them
        if tuple(t.shape) != (FORWARD_BATCH, FORWARD_LATENT):
            raise AssertionError(says("VAE.encode does not give one row per image", "keep the VAE class as given",
                                      f"{what}: encode(x)", f"{name} of shape {shape(t)}",
                                      shape((FORWARD_BATCH, FORWARD_LATENT))))
    per_example = kl_reference(mu, logvar)[0]
    expected = per_example.mean()
    tol = 1e-4 * (1 + expected.abs())
    for beta, loss, recon, kl in rows:
        got = torch.tensor(kl, dtype=torch.float64)
        if not bool((got - expected).abs() <= tol):
            wrong, todo = ("VAE.forward's kl is not the batch mean of the KL of its encoder's mu and logvar",
                           "kl_divergence(mu, logvar), with its default reduction 'mean', must sum over the latent "
                           "dimensions and average over the batch")
            candidates = [(per_example.sum(), "the default reduction gives the batch total",
                           "kl_divergence's default, 'mean', averages over the batch")]
            candidates += [(value.mean(), name, todo_) for value, _, name, todo_ in kl_mistakes(mu, logvar)]
            for value, name, todo_ in candidates:
                if explains(got, value, expected, tol, 1e-4 * (1 + value.abs())):
                    wrong, todo = name, todo_
                    break
            got_text, want_text = fmt_pair(kl, expected.item())
            raise AssertionError(says(wrong, todo, f"{what}: forward", f"kl = {got_text}",
                                      f"kl = {want_text}, the batch mean of kl_divergence(mu, logvar) for its "
                                      "encoder's mu and logvar"))
        target = recon + beta * kl
        if not abs(loss - target) <= 1e-4 * (1 + abs(target)):
            raise AssertionError(says(
                "the loss is not recon + beta * kl", "keep VAE.forward as given",
                f"{what}: for beta = {beta}, forward", f"a loss of {fmt(loss)}",
                f"recon + beta * kl = {fmt(recon)} + {beta} * {fmt(kl)} = {fmt(target)}"))


def test_beta_zero_gives_recon_alone(worker):
    """with beta = 0 the loss is the reconstruction term alone"""
    rows, _, _, what = _forward(worker)
    beta, loss, recon, kl = rows[0]
    if not abs(loss - recon) <= 1e-4 * (1 + abs(recon)):
        raise AssertionError(says(
            "with beta = 0 the loss is not the reconstruction term alone",
            f"the KL must be a finite number so that 0 * kl = 0 (it was {fmt(kl)})",
            f"{what}: for beta = 0, forward", f"a loss of {fmt(loss)}", f"the reconstruction term {fmt(recon)}"))
