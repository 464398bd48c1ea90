"""Check `shapes`: shapes, dtypes and devices of reparameterize, kl_divergence and the VAE.

Batch and latent sizes are drawn by hypothesis (1, odd sizes such as 97, ...);
every call also verifies that the inputs were not modified in place.  Both
functions are also called on mu of shape (..., d) with zero to three leading
dimensions, as their docstrings allow.
"""
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from autograder.checks.support import (calling, images, kl_shape_problem, leading_failure, random_pair, says, shape,
                                       tensor_of, untouched)

BATCH = st.sampled_from([1, 2, 3, 97]) | st.integers(1, 130)
LATENT = st.sampled_from([1, 2, 16]) | st.integers(1, 33)
DTYPE = st.sampled_from(["float32", "float64"])
SEED = st.integers(0, 2**16)


def _expect_like(desc, z, reference, what):
    if tuple(z.shape) != tuple(reference.shape):
        raise AssertionError(says(
            "z does not have the shape of mu",
            "draw eps with torch.randn_like(mu): one noise value per element, for mu of any shape (..., d)",
            what, f"shape {shape(z)}", f"shape {shape(reference)}"))
    if desc["dtype"] != str(reference.dtype):
        raise AssertionError(says(
            "z does not have the dtype of mu",
            "create new tensors with torch.randn_like(...) or pass dtype=/device= explicitly",
            what, f"dtype {desc['dtype']}", str(reference.dtype)))
    if desc["device"] != str(reference.device):
        raise AssertionError(says("z is not on the device of mu", "create eps with torch.randn_like(mu)",
                                  what, f"a tensor on {desc['device']}", str(reference.device)))


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
    _expect_kl(out, kl, mu, logvar, reduction, what)
    untouched(out, mu, logvar, what)


def _expect_kl(out, kl, mu, logvar, reduction, what):
    expected = tuple(mu.shape[:-1]) if reduction == "none" else ()
    problem = kl_shape_problem(kl.shape, mu.shape, reduction)
    if problem:
        raise AssertionError(says(*problem, what, f"shape {shape(kl)}", f"shape {shape(expected)}"))
    if out["out"]["dtype"] != str(mu.dtype):
        raise AssertionError(says(
            "the KL does not have the dtype of mu",
            "compute it with torch operations on mu and logvar (no .item(), no torch.tensor(...) of a number)",
            what, f"dtype {out['out']['dtype']}", str(mu.dtype)))
    if out["out"]["device"] != "cpu":
        raise AssertionError(says("the KL is not on the device of mu",
                                  "compute it with torch operations on mu and logvar", what,
                                  f"a tensor on {out['out']['device']}", "cpu"))


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
        if tuple(t.shape) != (batch, latent):
            raise AssertionError(says("VAE.encode does not give one row per image", "keep the VAE class as given",
                                      f"{what}: encode(x)", f"{name} of shape {shape(t)}",
                                      shape((batch, latent))))
    decoded = tensor_of(out["decoded"], f"{what}: decode(z)")
    if tuple(decoded.shape) != (batch, 1, 28, 28):
        raise AssertionError(says("VAE.decode does not give images", "keep the VAE class as given",
                                  f"{what}: decode(z) for z of shape {shape(z)}", f"shape {shape(decoded)}",
                                  shape((batch, 1, 28, 28))))
    forward = out["forward"][0]
    x_hat = tensor_of(forward["x_hat"], f"{what}: forward(x)")
    if tuple(x_hat.shape) != tuple(x.shape):
        raise AssertionError(says("VAE.forward does not give x_hat of the images' shape",
                                  "keep VAE.forward as given", f"{what}: forward(x)",
                                  f"x_hat of shape {shape(x_hat)}", shape(x)))
    loss = tensor_of(forward["loss"], f"{what}: forward(x)")
    if loss.shape != ():
        raise AssertionError(says(
            "the loss is not a scalar", "kl_divergence's default reduction, 'mean', gives a scalar",
            f"{what}: forward(x)", f"a loss of shape {shape(loss)}", "a scalar"))
    if not forward["loss"]["requires_grad"]:
        raise AssertionError(says(
            "the loss has no gradient, so training cannot call backward() on it",
            "compute reparameterize and kl_divergence with torch operations (no .item(), numpy or .detach())",
            f"{what}: forward(x)", "a loss without grad_fn"))
    for name in ("recon", "kl"):
        if not forward[name]["is_real"]:
            raise AssertionError(says(f"VAE.forward's {name} is not a number", "keep VAE.forward as given",
                                      f"{what}: forward(x)", f"{name} as {forward[name]['type']}",
                                      "a Python float"))
    if not torch.equal(out["x_after"], x):
        raise AssertionError(says("the images x changed in place", "compute new tensors instead (no +=)",
                                  f"{what}: forward(x)", "modified images"))


LEADING = st.lists(st.integers(1, 5), min_size=0, max_size=3)


@settings(max_examples=8)
@given(leading=LEADING, latent=st.integers(1, 7), dtype=DTYPE,
       reduction=st.sampled_from(["none", "sum", "mean"]))
@example(leading=[2, 3], latent=5, dtype="float32", reduction="none")
@example(leading=[], latent=4, dtype="float64", reduction="none")
@example(leading=[4, 1, 2], latent=3, dtype="float64", reduction="none")
@example(leading=[2, 3], latent=5, dtype="float64", reduction="mean")
@example(leading=[2, 3], latent=5, dtype="float64", reduction="sum")
def test_kl_divergence_any_leading_dimensions(worker, leading, latent, dtype, reduction):
    """kl_divergence sums over the last dimension only and reduces every leading one, whatever their number"""
    g = torch.Generator().manual_seed(len(leading) * 100 + latent)
    size = (*leading, latent)
    mu = torch.randn(size, generator=g, dtype=torch.float64).to(getattr(torch, dtype))
    logvar = torch.randn(size, generator=g, dtype=torch.float64).to(getattr(torch, dtype))
    what = (f"kl_divergence(mu, logvar, reduction={reduction!r}) for mu, logvar of shape {shape(mu)} "
            f"and dtype {dtype}")
    out = calling(worker, "kl", what, *leading_failure("kl_divergence", leading), mu=mu, logvar=logvar,
                  kwargs={"reduction": reduction})
    kl = tensor_of(out["out"], what)
    _expect_kl(out, kl, mu, logvar, reduction, what)
    untouched(out, mu, logvar, what)


@settings(max_examples=8)
@given(leading=LEADING, latent=st.integers(1, 7), dtype=DTYPE)
@example(leading=[2, 3], latent=5, dtype="float32")
@example(leading=[], latent=4, dtype="float64")
@example(leading=[4, 1, 2], latent=3, dtype="float64")
def test_reparameterize_any_leading_dimensions(worker, leading, latent, dtype):
    """reparameterize keeps the shape, dtype and device of mu, whatever the number of leading dimensions"""
    g = torch.Generator().manual_seed(len(leading) * 100 + latent)
    size = (*leading, latent)
    mu = torch.randn(size, generator=g, dtype=torch.float64).to(getattr(torch, dtype))
    logvar = torch.randn(size, generator=g, dtype=torch.float64).to(getattr(torch, dtype))
    what = f"reparameterize(mu, logvar) for mu, logvar of shape {shape(mu)} and dtype {dtype}"
    out = calling(worker, "reparameterize", what, *leading_failure("reparameterize", leading), mu=mu,
                  logvar=logvar, seed=len(leading))
    desc = out["outs"][0]
    _expect_like(desc, tensor_of(desc, what), mu, what)
    untouched(out, mu, logvar, what)
