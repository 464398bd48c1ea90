"""Public tests for reparameterize(mu, logvar).  Run: pytest tests/test_reparameterize.py

Each failure message says what is wrong and what to do, then what was called,
what came back and what was expected.  The autograder runs more checks of the
same kind, with the same diagnoses.
"""
import math

import torch

from lab6_generative.vae import reparameterize

STD = "the standard deviation is std = exp(0.5 * logvar)"


def which_std(got, logvar):
    """The mistaken std that explains a spread ``got`` (per element of ``logvar``), or None."""
    for name, candidate in (("exp(logvar)", logvar.exp()), ("logvar", logvar.abs())):
        correct = (0.5 * logvar).exp()
        if torch.allclose(got, candidate, rtol=0.05, atol=1e-3) and not torch.allclose(candidate, correct, rtol=0.05):
            return f"it uses std = {name}: {STD}"
    return None


def test_shape_dtype_and_inputs_untouched():
    mu, logvar = torch.zeros(5, 3), torch.zeros(5, 3)
    z = reparameterize(mu, logvar)
    assert isinstance(z, torch.Tensor), f"it must return a torch.Tensor: reparameterize returned {type(z).__name__}"
    assert z.shape == mu.shape, (
        "z does not have the shape of mu: draw eps with torch.randn_like(mu). "
        f"reparameterize(mu of shape (5, 3), ...) gave shape {tuple(z.shape)}, expected (5, 3)")
    assert z.dtype == mu.dtype, (
        f"z does not have the dtype of mu: use torch.randn_like. z has dtype {z.dtype}, expected {mu.dtype}")
    assert torch.equal(mu, torch.zeros(5, 3)) and torch.equal(logvar, torch.zeros(5, 3)), (
        "it changes mu or logvar in place: compute new tensors instead (no +=, no .mul_())")


def test_it_samples_rather_than_returning_mu():
    torch.manual_seed(0)
    mu, logvar = torch.zeros(4, 8), torch.full((4, 8), math.log(4.0))  # std = 2
    z = reparameterize(mu, logvar)
    assert not torch.equal(z, mu), (
        "the noise is missing: z equals mu: write z = mu + eps * std, drawing eps with torch.randn_like(std). "
        f"reparameterize(zeros, log 4) gave z = mu = 0 everywhere, expected random values")
    assert len(torch.unique(z)) == z.numel(), (
        "some entries of z are equal: draw one noise value per element (torch.randn_like(mu)), "
        "not one for the whole batch or for all latent dimensions")


def test_sample_mean_and_std():
    torch.manual_seed(0)
    n = 20000
    mu = torch.full((n, 2), 3.0)
    logvar = torch.tensor([math.log(4.0), math.log(0.25)]).expand(n, 2)  # std 2 and 0.5
    z = reparameterize(mu, logvar)
    mean, std = z.mean(0), z.std(0)
    missing = "the noise is missing: z equals mu: write z = mu + eps * std" if bool((std == 0).all()) else None
    assert torch.allclose(std, torch.tensor([2.0, 0.5]), rtol=0.05), (
        (missing or which_std(std, logvar[0])
         or f"the spread of z is not std = exp(0.5 * logvar): z = mu + eps * std, {STD}")
        + f". Over {n} draws for logvar = [log 4, log 0.25], the sample std was {std.tolist()}, expected [2.0, 0.5]")
    assert torch.allclose(mean, torch.tensor([3.0, 3.0]), atol=0.05), (
        "the mean of z is not mu: z = mu + eps * std with eps of mean 0 (torch.randn_like). "
        f"Over {n} draws the sample mean was {mean.tolist()}, expected mu = [3.0, 3.0]")


def test_reproducible_with_manual_seed():
    mu, logvar = torch.zeros(3, 4), torch.ones(3, 4)
    torch.manual_seed(123)
    a = reparameterize(mu, logvar)
    torch.manual_seed(123)
    b = reparameterize(mu, logvar)
    assert torch.equal(a, b), (
        "the same seed gives different z: draw eps from torch's global random generator "
        "(torch.randn_like), not from numpy or Python's random. Two calls after torch.manual_seed(123) differed")


def test_gradients_flow_to_mu_and_logvar():
    torch.manual_seed(0)
    mu = torch.tensor([[0.5, -1.0, 2.0]], requires_grad=True)
    logvar = torch.tensor([[0.5, 1.0, -1.5]], requires_grad=True)
    z = reparameterize(mu, logvar)
    assert z.requires_grad, (
        "z has no gradient: torch.normal(...) and .detach() cut the graph; write z = mu + eps * std")
    z.sum().backward()
    assert mu.grad is None or bool(mu.grad.any()), (
        "dz/dmu is 0: z carries no gradient to mu. torch.normal(mu, std) samples without one (autograd gives "
        "0), as does a z built from mu.detach(); write z = mu + eps * std, with eps drawn by torch.randn_like")
    assert mu.grad is not None and torch.allclose(mu.grad, torch.ones(1, 3)), (
        "dz/dmu is not 1: z = mu + eps * std adds mu itself. "
        f"dz/dmu gave {None if mu.grad is None else mu.grad.tolist()}, expected [[1.0, 1.0, 1.0]]")
    assert logvar.grad is not None, (
        "no gradient reaches logvar: build std = exp(0.5 * logvar) from logvar with torch operations "
        "(no .detach(), .item() or torch.no_grad())")
    noise = z.detach() - mu.detach()
    expected = 0.5 * noise
    if not torch.allclose(logvar.grad, expected, atol=1e-6):
        diagnosis = "dz/dlogvar is not 0.5 * (z - mu): z = mu + eps * std with std = exp(0.5 * logvar)"
        if torch.allclose(logvar.grad, noise, atol=1e-6):
            diagnosis = f"it uses std = exp(logvar): {STD}"
        elif torch.allclose(logvar.grad * logvar.detach(), noise, atol=1e-6):
            diagnosis = f"it uses std = logvar: {STD}"
        raise AssertionError(f"{diagnosis}. dz/dlogvar gave {logvar.grad.tolist()}, expected 0.5 * (z - mu) = "
                             f"{expected.tolist()}")
