"""Public tests for reparameterize(mu, logvar).  Run: pytest tests/test_reparameterize.py

Each failure message says what was called, what came back, what was expected
and the most likely mistake.  The autograder runs more checks of the same kind.
"""
import torch

from lab6_generative.vae import reparameterize


def test_shape_dtype_and_inputs_untouched():
    mu, logvar = torch.zeros(5, 3), torch.zeros(5, 3)
    z = reparameterize(mu, logvar)
    assert isinstance(z, torch.Tensor), f"reparameterize returned {type(z).__name__}, expected a torch.Tensor"
    assert z.shape == mu.shape, f"reparameterize(mu of shape (5, 3), ...) returned shape {tuple(z.shape)}, expected (5, 3)"
    assert z.dtype == mu.dtype, f"z has dtype {z.dtype}, expected the dtype of mu ({mu.dtype})"
    assert torch.equal(mu, torch.zeros(5, 3)) and torch.equal(logvar, torch.zeros(5, 3)), (
        "reparameterize changed mu or logvar in place; compute new tensors instead (no +=, no .mul_())")


def test_it_samples_rather_than_returning_mu():
    torch.manual_seed(0)
    mu, logvar = torch.zeros(4, 8), torch.zeros(4, 8)
    z = reparameterize(mu, logvar)
    assert not torch.equal(z, mu), "z == mu exactly: the noise eps * std is missing, so nothing is sampled"
    assert len(torch.unique(z)) == z.numel(), (
        "some entries of z are equal: draw one noise value per element (torch.randn_like(mu)), "
        "not one for the whole batch or for all latent dimensions")


def test_sample_mean_and_std():
    torch.manual_seed(0)
    n = 20000
    mu = torch.full((n, 2), 3.0)
    logvar = torch.tensor([0.0, 2.0 * torch.log(torch.tensor(0.5)).item()]).expand(n, 2)  # std 1 and 0.5
    z = reparameterize(mu, logvar)
    mean, std = z.mean(0), z.std(0)
    assert torch.allclose(mean, torch.tensor([3.0, 3.0]), atol=0.05), (
        f"sample mean over {n} draws is {mean.tolist()}, expected mu = [3.0, 3.0]: z should be mu + eps * std")
    assert torch.allclose(std, torch.tensor([1.0, 0.5]), atol=0.03), (
        f"sample std for logvar = [0, log 0.25] is {std.tolist()}, expected [1.0, 0.5]: "
        "std is exp(0.5 * logvar), not exp(logvar) or logvar")


def test_reproducible_with_manual_seed():
    mu, logvar = torch.zeros(3, 4), torch.zeros(3, 4)
    torch.manual_seed(123)
    a = reparameterize(mu, logvar)
    torch.manual_seed(123)
    b = reparameterize(mu, logvar)
    assert torch.equal(a, b), (
        "two calls after torch.manual_seed(123) gave different z: draw eps from torch's global "
        "random generator (torch.randn_like), not from numpy or Python's random")


def test_gradients_flow_to_mu_and_logvar():
    torch.manual_seed(0)
    mu = torch.tensor([[0.5, -1.0]], requires_grad=True)
    logvar = torch.tensor([[0.0, 1.0]], requires_grad=True)
    z = reparameterize(mu, logvar)
    assert z.requires_grad, (
        "z has no gradient: torch.normal(...) and .detach() cut the graph; write z = mu + eps * std")
    z.sum().backward()
    assert mu.grad is not None and torch.allclose(mu.grad, torch.ones(1, 2)), (
        f"dz/dmu = {None if mu.grad is None else mu.grad.tolist()}, expected [[1.0, 1.0]]")
    expected = 0.5 * (z.detach() - mu.detach())
    assert logvar.grad is not None and torch.allclose(logvar.grad, expected, atol=1e-6), (
        f"dz/dlogvar = {None if logvar.grad is None else logvar.grad.tolist()}, expected "
        f"0.5 * (z - mu) = {expected.tolist()}: check that std = exp(0.5 * logvar) is built from logvar "
        "without .detach()")
