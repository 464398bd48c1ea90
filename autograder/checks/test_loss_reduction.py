"""Check `loss_reduction`: kl_divergence's reductions, and how VAE.forward combines the two terms.

"none" is one KL per example, "sum" their total and "mean" their batch
average (by the batch size, not batch * latent size); the KL sums over
latent dimensions; an unknown reduction raises ValueError; and
VAE.forward's loss is recon + beta * kl with the batch-mean KL.
"""
import torch

from autograder.checks.support import fmt, images, kl_reference, raised, random_pair, shape, tensor_of

MU, LOGVAR = random_pair(6, 5, "float64", seed=21)


def _kl(worker, mu, logvar, reduction):
    arg = "" if reduction is None else f", reduction={reduction!r}"
    what = f"kl_divergence(mu, logvar{arg}) for mu, logvar of shape {shape(mu)}"
    kwargs = {} if reduction is None else {"reduction": reduction}
    out = worker.call("kl", what=what, mu=mu, logvar=logvar, kwargs=kwargs)
    return tensor_of(out["out"], what).to(torch.float64), what


def _close(a, b):
    """Equal within 1e-9 relative, and of the same shape (two returned shapes are never broadcast)."""
    return a.shape == b.shape and bool(((a - b).abs() <= 1e-9 * (1 + b.abs())).all())


def test_none_is_per_example(worker):
    """reduction='none' gives one KL per example"""
    kl, what = _kl(worker, MU, LOGVAR, "none")
    expected, _ = kl_reference(MU, LOGVAR)
    if kl.shape == MU.shape:
        raise AssertionError(f"{what} returned shape {shape(kl)}, one value per element: "
                             "sum over the latent dimension (dim=-1) to get one value per example")
    assert kl.shape == expected.shape, (
        f"{what} returned shape {shape(kl)}, expected {shape(expected)}: one value per example")
    assert _close(kl, expected), f"{what} returned {fmt(kl)}, expected the per-example KL {fmt(expected)}"


def test_sum_is_the_total(worker):
    """reduction='sum' is the total over the batch"""
    total, what = _kl(worker, MU, LOGVAR, "sum")
    expected = kl_reference(MU, LOGVAR)[0].sum()
    assert total.shape == (), f"{what} returned shape {shape(total)}, expected a scalar"
    hint = ""
    if _close(total, expected / MU.shape[0]):
        hint = ": that is the batch mean; 'sum' must add up the examples"
    assert _close(total, expected), f"{what} = {fmt(total.item())}, expected the batch total {fmt(expected.item())}{hint}"


def test_mean_is_the_batch_average(worker):
    """reduction='mean' (the default) is the batch average: duplicating the batch keeps it and doubles 'sum'"""
    per_example = kl_reference(MU, LOGVAR)[0]
    batch, latent = MU.shape
    for reduction in ("mean", None):
        mean, what = _kl(worker, MU, LOGVAR, reduction)
        assert mean.shape == (), f"{what} returned shape {shape(mean)}, expected a scalar"
        hint = ""
        if _close(mean, per_example.sum() / (batch * latent)):
            hint = (": that divides by batch * latent size (.mean() over every element); "
                    "sum over the latent dimensions, then average over the batch")
        elif _close(mean, per_example.sum()):
            hint = ": that is the batch total; 'mean' divides it by the batch size"
        assert _close(mean, per_example.mean()), (
            f"{what} = {fmt(mean.item())}, expected the batch average {fmt(per_example.mean().item())}{hint}")
    double_mu, double_logvar = torch.cat([MU, MU]), torch.cat([LOGVAR, LOGVAR])
    mean2, what = _kl(worker, double_mu, double_logvar, "mean")
    assert mean2.shape == (), f"{what} returned shape {shape(mean2)}, expected a scalar"
    assert _close(mean2, per_example.mean()), (
        f"{what} (the batch of 6 twice) = {fmt(mean2.item())}, expected the same mean as for one copy, "
        f"{fmt(per_example.mean().item())}")
    sum2, what = _kl(worker, double_mu, double_logvar, "sum")
    assert sum2.shape == (), f"{what} returned shape {shape(sum2)}, expected a scalar"
    assert _close(sum2, 2 * per_example.sum()), (
        f"{what} (the batch of 6 twice) = {fmt(sum2.item())}, expected twice the total of one copy, "
        f"{fmt(2 * per_example.sum().item())}")


def test_sums_over_latent_dimensions(worker):
    """the KL adds up over the latent dimensions (a sum, not a mean)"""
    one, _ = _kl(worker, torch.tensor([[1.0]], dtype=torch.float64), torch.tensor([[0.5]], dtype=torch.float64), "none")
    four, what = _kl(worker, torch.ones(1, 4, dtype=torch.float64), torch.full((1, 4), 0.5, dtype=torch.float64), "none")
    for got, latent in ((one, 1), (four, 4)):
        assert got.shape == (1,), (
            f"kl_divergence(mu, logvar, reduction='none') for mu of shape (1, {latent}) returned shape "
            f"{shape(got)}, expected (1,): one value per example")
    hint = ": it averages over the latent dimensions; sum over them" if _close(four, one) else ""
    assert _close(four, 4 * one), (
        f"{what} for 4 identical latent dimensions = {fmt(four)}, expected 4 times the KL of one "
        f"dimension ({fmt(4 * one)}): the KL of independent dimensions adds up{hint}")


def test_unknown_reduction_raises_value_error(worker):
    """an unknown reduction raises ValueError"""
    for reduction in ("average", "batchmean", ""):
        what = f"kl_divergence(mu, logvar, reduction={reduction!r})"
        err = worker.call_raises("kl", what=what, mu=MU, logvar=LOGVAR, kwargs={"reduction": reduction})
        assert err is not None, (
            f"{what} returned a value, expected ValueError: only 'none', 'sum' and 'mean' are allowed")
        assert err.is_a("ValueError"), (
            f"{what} raised {raised(err.info)}, expected ValueError naming the allowed values "
            "'none', 'sum', 'mean'")


BETAS = [0.0, 0.5, 1.0, 4.0]


def _forward(worker):
    x = images(16, seed=3)
    what = f"VAE(z=8).forward(x, beta) on 16 images for beta in {BETAS}"
    out = worker.call("vae", what=what, z_dim=8, x=x, seed=1, betas=BETAS)
    mu, logvar = tensor_of(out["mu"], what), tensor_of(out["logvar"], what)
    rows = []
    for beta, row in zip(BETAS, out["forward"]):
        loss = tensor_of(row["loss"], what).to(torch.float64).reshape(-1)
        assert loss.numel() == 1, f"{what}: forward(x, beta={beta}) returned a loss of shape {shape(loss)}"
        for name in ("recon", "kl"):
            assert row[name]["is_real"], f"{what}: forward returned {name} as {row[name]['type']}, expected a float"
        rows.append((beta, loss.item(), row["recon"]["value"], row["kl"]["value"]))
    return rows, mu, logvar, what


def test_forward_loss_is_recon_plus_beta_kl(worker):
    """VAE.forward's loss is recon + beta * kl for several beta, with the batch-mean KL"""
    rows, mu, logvar, what = _forward(worker)
    expected_kl = kl_reference(mu, logvar)[0].mean().item()
    for beta, loss, recon, kl in rows:
        assert abs(kl - expected_kl) <= 1e-4 * (1 + abs(expected_kl)), (
            f"{what}: forward reported kl = {fmt(kl)}, but the batch mean of the KL of its encoder's "
            f"mu and logvar is {fmt(expected_kl)}: kl_divergence(mu, logvar) must sum over latent "
            "dimensions and average over the batch")
        target = recon + beta * kl
        assert abs(loss - target) <= 1e-4 * (1 + abs(target)), (
            f"{what}: for beta = {beta} the loss is {fmt(loss)}, expected recon + beta * kl = "
            f"{fmt(recon)} + {beta} * {fmt(kl)} = {fmt(target)}")


def test_beta_zero_gives_recon_alone(worker):
    """with beta = 0 the loss is the reconstruction term alone"""
    rows, _, _, what = _forward(worker)
    beta, loss, recon, kl = rows[0]
    assert abs(loss - recon) <= 1e-4 * (1 + abs(recon)), (
        f"{what}: for beta = 0 the loss is {fmt(loss)}, expected the reconstruction term {fmt(recon)} "
        f"(the KL, {fmt(kl)}, must be finite so that 0 * kl = 0)")
