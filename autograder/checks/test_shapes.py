"""Check `shapes`: shapes, dtypes and devices of reparameterize, kl_divergence and the VAE.

Batch and latent sizes are drawn by hypothesis (1, odd sizes such as 97, ...);
every call also verifies that the inputs were not modified in place.  The KL
is also called on mu of shape (..., d) with zero to three leading dimensions,
as its docstring allows.
"""
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from autograder.checks.support import images, random_pair, shape, tensor_of, untouched

BATCH = st.sampled_from([1, 2, 3, 97]) | st.integers(1, 130)
LATENT = st.sampled_from([1, 2, 16]) | st.integers(1, 33)
DTYPE = st.sampled_from(["float32", "float64"])
SEED = st.integers(0, 2**16)


def _expect_like(desc, z, reference, what):
    assert tuple(z.shape) == tuple(reference.shape), (
        f"{what} returned shape {shape(z)}, expected {shape(reference)}")
    assert desc["dtype"] == str(reference.dtype), (
        f"{what} returned dtype {desc['dtype']}, expected {reference.dtype} (the dtype of its input): "
        "create new tensors with torch.randn_like(...) or pass dtype=/device= explicitly")
    assert desc["device"] == str(reference.device), (
        f"{what} returned a tensor on {desc['device']}, expected {reference.device} (the device of its input)")


@given(batch=BATCH, latent=LATENT, dtype=DTYPE, seed=SEED)
@example(batch=1, latent=1, dtype="float32", seed=0)
@example(batch=97, latent=3, dtype="float64", seed=1)
def test_reparameterize(worker, batch, latent, dtype, seed):
    """reparameterize keeps the shape, dtype and device of mu"""
    mu, logvar = random_pair(batch, latent, dtype, seed)
    what = f"reparameterize(mu, logvar) for mu, logvar of shape {shape(mu)} and dtype {dtype}"
    out = worker.call("reparameterize", what=what, mu=mu, logvar=logvar, seed=seed)
    desc = out["outs"][0]
    _expect_like(desc, tensor_of(desc, what), mu, what)
    untouched(out, mu, logvar, what)


@given(batch=BATCH, latent=LATENT, dtype=DTYPE, seed=SEED,
       reduction=st.sampled_from(["none", "sum", "mean", None]))
@example(batch=1, latent=1, dtype="float32", seed=0, reduction="none")
@example(batch=97, latent=5, dtype="float64", seed=1, reduction=None)
def test_kl_divergence(worker, batch, latent, dtype, seed, reduction):
    """kl_divergence gives one value per example for 'none' and a scalar for 'sum', 'mean' and the default"""
    mu, logvar = random_pair(batch, latent, dtype, seed)
    kwargs = {} if reduction is None else {"reduction": reduction}
    arg = "" if reduction is None else f", reduction={reduction!r}"
    what = f"kl_divergence(mu, logvar{arg}) for mu, logvar of shape {shape(mu)} and dtype {dtype}"
    out = worker.call("kl", what=what, mu=mu, logvar=logvar, kwargs=kwargs)
    kl = tensor_of(out["out"], what)
    expected = (batch,) if reduction == "none" else ()
    hint = ("one value per example: sum over the last (latent) dimension only" if reduction == "none"
            else "a scalar: reduce the per-example values over the batch")
    assert tuple(kl.shape) == expected, f"{what} returned shape {shape(kl)}, expected {shape(expected)}: {hint}"
    assert out["out"]["dtype"] == str(mu.dtype), (
        f"{what} returned dtype {out['out']['dtype']}, expected {mu.dtype} (the dtype of mu)")
    assert out["out"]["device"] == "cpu", f"{what} returned a tensor on {out['out']['device']}, expected cpu"
    untouched(out, mu, logvar, what)


@settings(max_examples=6)
@given(batch=st.sampled_from([1, 2, 97]) | st.integers(1, 64), latent=st.sampled_from([1, 2, 16]) | st.integers(1, 20))
@example(batch=1, latent=1)
@example(batch=97, latent=16)
def test_vae(worker, batch, latent):
    """VAE.encode, VAE.decode and VAE.forward return the documented shapes"""
    x = images(batch, seed=batch)
    z = torch.randn(batch, latent, generator=torch.Generator().manual_seed(latent))
    what = f"VAE(z={latent}) on a batch of {batch} images"
    out = worker.call("vae", what=what, z_dim=latent, x=x, seed=0, betas=[1.0], decode_z=z)
    for name in ("mu", "logvar"):
        t = tensor_of(out[name], f"{what}: encode(x)")
        assert tuple(t.shape) == (batch, latent), (
            f"{what}: encode(x) returned {name} of shape {shape(t)}, expected {shape((batch, latent))}")
    decoded = tensor_of(out["decoded"], f"{what}: decode(z)")
    assert tuple(decoded.shape) == (batch, 1, 28, 28), (
        f"{what}: decode(z) for z of shape {shape(z)} returned shape {shape(decoded)}, "
        f"expected {shape((batch, 1, 28, 28))}")
    forward = out["forward"][0]
    x_hat = tensor_of(forward["x_hat"], f"{what}: forward(x)")
    assert tuple(x_hat.shape) == tuple(x.shape), (
        f"{what}: forward(x) returned x_hat of shape {shape(x_hat)}, expected {shape(x)}")
    loss = tensor_of(forward["loss"], f"{what}: forward(x)")
    assert loss.shape == (), f"{what}: forward(x) returned a loss of shape {shape(loss)}, expected a scalar"
    assert forward["loss"]["requires_grad"], (
        f"{what}: the loss returned by forward(x) has no gradient, so training cannot call backward() on it")
    for name in ("recon", "kl"):
        assert forward[name]["is_real"], (
            f"{what}: forward(x) returned {name} as {forward[name]['type']}, expected a Python float")
    assert torch.equal(out["x_after"], x), f"{what}: forward(x) changed the images x in place"


LEADING = st.lists(st.integers(1, 5), min_size=0, max_size=3)


@settings(max_examples=8)
@given(leading=LEADING, latent=st.integers(1, 7), dtype=DTYPE,
       reduction=st.sampled_from(["none", "sum", "mean"]))
@example(leading=[2, 3], latent=5, dtype="float32", reduction="none")
@example(leading=[], latent=4, dtype="float64", reduction="none")
@example(leading=[4, 1, 2], latent=3, dtype="float64", reduction="none")
def test_kl_divergence_any_leading_dimensions(worker, leading, latent, dtype, reduction):
    """kl_divergence sums over the last dimension only, whatever the number of leading dimensions"""
    g = torch.Generator().manual_seed(len(leading) * 100 + latent)
    size = (*leading, latent)
    mu = torch.randn(size, generator=g, dtype=torch.float64).to(getattr(torch, dtype))
    logvar = torch.randn(size, generator=g, dtype=torch.float64).to(getattr(torch, dtype))
    what = (f"kl_divergence(mu, logvar, reduction={reduction!r}) for mu, logvar of shape {shape(mu)} "
            f"and dtype {dtype}")
    out = worker.call("kl", what=what, mu=mu, logvar=logvar, kwargs={"reduction": reduction})
    kl = tensor_of(out["out"], what)
    expected = tuple(leading) if reduction == "none" else ()
    assert tuple(kl.shape) == expected, (
        f"{what} returned shape {shape(kl)}, expected {shape(expected)}: the latent dimension is the last "
        "one: sum over dim=-1, not a fixed dim=1, so that mu of shape (..., d) gives one value per leading "
        "index" + ("" if reduction == "none" else ", and 'sum' and 'mean' reduce those to a scalar"))
    assert out["out"]["dtype"] == str(mu.dtype), (
        f"{what} returned dtype {out['out']['dtype']}, expected {mu.dtype} (the dtype of mu)")
    untouched(out, mu, logvar, what)
