"""A variational autoencoder (VAE) with MLP encoder and decoder, for 28x28 images.

The model::

    x --Encoder--> (mu, logvar) --reparameterize--> z --Decoder--> x_hat

The encoder outputs the parameters of q(z|x) = N(mu, diag(exp(logvar))).  We
train by maximising the evidence lower bound (ELBO), i.e. by minimising

    loss = reconstruction + beta * KL
         = -E_q[log p(x|z)] + beta * KL(q(z|x) || N(0, I))

where the reconstruction term is the binary cross-entropy between x_hat and x
summed over the 784 pixels, and the KL term is summed over the latent
dimensions.  Both are averaged over the batch.  beta = 1 gives the ELBO; beta
other than 1 is the beta-VAE (beta > 1: a smoother, more disentangled latent
space but blurrier images; beta < 1: sharper reconstructions, a less regular
latent space).

You implement ``reparameterize`` and ``kl_divergence``; everything else is
given.  ``VAE.forward`` calls both, so your code is what trains the model.
"""
import torch
import torch.nn.functional as F
from torch import nn

REDUCTIONS = ("none", "sum", "mean")


def _reduce(per_example, reduction):
    """Reduce one value per example to the batch total or mean (or keep them)."""
    if reduction == "none":
        return per_example
    if reduction == "sum":
        return per_example.sum()
    if reduction == "mean":
        return per_example.mean()
    raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def reparameterize(mu, logvar):
    """Draw z ~ N(mu, diag(exp(logvar))) so that gradients flow to mu and logvar.

    The reparameterization trick writes the random sample as a deterministic,
    differentiable function of the parameters and of noise that does not
    depend on them:

        std = exp(0.5 * logvar)          # logvar = log(sigma^2), so sigma = exp(logvar / 2)
        eps ~ N(0, I)                    # same shape as mu
        z   = mu + eps * std

    Then dz/dmu = 1 and dz/dlogvar = 0.5 * eps * std = 0.5 * (z - mu).

    Args:
        mu: tensor of shape (..., z_dim), the means.
        logvar: tensor of the same shape, the log-variances.

    Returns:
        z, a tensor with the same shape, dtype and device as ``mu``.

    Rules:
        - Draw eps from torch's global random generator (``torch.randn_like``
          is the simplest), so that ``torch.manual_seed`` makes z reproducible.
          Draw fresh noise on every call, one value per element: do not reuse
          one noise value for the whole batch or for every latent dimension.
        - Do not modify ``mu`` or ``logvar`` in place.

    Classic mistakes:
        - std = exp(logvar) (that is the variance) or std = logvar: the
          standard deviation is exp(0.5 * logvar).
        - Sampling with ``torch.normal(mu, std)``: its result has no gradient
          to mu and logvar, so the encoder never learns.  That is exactly the
          problem the trick solves.
        - Forgetting the noise (z = mu) turns the VAE into a plain autoencoder.
    """
    ### BEGIN SOLUTION
    std = torch.exp(0.5 * logvar)
    eps = torch.randn_like(std)
    return mu + eps * std
    ### END SOLUTION


def kl_divergence(mu, logvar, reduction="mean"):
    """KL divergence KL(N(mu, diag(exp(logvar))) || N(0, I)), summed over latent dims.

    For one example with latent size d the closed form is

        KL = 0.5 * sum_{j=1..d} ( mu_j^2 + exp(logvar_j) - 1 - logvar_j )

    It is 0 exactly when mu = 0 and logvar = 0 (q is the prior) and positive
    otherwise; for example mu_j = 1, logvar_j = 0 contributes 0.5.

    Args:
        mu: tensor of shape (..., d), usually (batch, d).
        logvar: tensor of the same shape.
        reduction: what to do with the per-example values (shape ``mu.shape[:-1]``):
            ``"none"`` returns them, ``"sum"`` returns their total and
            ``"mean"`` (the default, used for the training loss) their average
            over every leading dimension: over the batch for mu of shape
            (batch, d), over all a * b values for mu of shape (a, b, d).
            Anything else raises ``ValueError`` naming the allowed values
            ``"none"``, ``"sum"``, ``"mean"``.

    Returns:
        A tensor: shape ``mu.shape[:-1]`` for ``"none"``, a scalar otherwise.

    Classic mistakes:
        - Averaging over the latent dimensions instead of summing: the KL of
          independent dimensions adds up.
        - "mean" dividing by batch * d (``.mean()`` over every element)
          instead of by the batch size, or by ``mu.size(0)`` only (wrong as
          soon as mu has more than one leading dimension).
        - Summing over a fixed ``dim=1``: the latent dimension is the last one.
        - A flipped sign or a missing 0.5: the KL can never be negative, and
          mu = 1, logvar = 0 must give 0.5 per dimension.
    """
    ### BEGIN SOLUTION
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    per_example = 0.5 * torch.sum(mu.pow(2) + logvar.exp() - 1.0 - logvar, dim=-1)
    return _reduce(per_example, reduction)
    ### END SOLUTION


def reconstruction_loss(x_hat, x, reduction="mean"):
    """Binary cross-entropy between x_hat and x, summed over the pixels of each image.

        recon(x) = -sum_pixels [ x * log(x_hat) + (1 - x) * log(1 - x_hat) ]

    This is -log p(x|z) for a Bernoulli decoder.  ``reduction`` follows the
    same rules as in ``kl_divergence``: per image ("none", shape (batch,)),
    total ("sum") or batch average ("mean").
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    per_pixel = F.binary_cross_entropy(x_hat, x.reshape(x_hat.shape), reduction="none")
    return _reduce(per_pixel.flatten(1).sum(dim=1), reduction)


class KLValueError(ValueError):
    """VAE.forward's error when kl_divergence gives a value the loss cannot be trained on (it says why)."""


def _check_trainable_kl(kl):
    """Raise KLValueError unless ``kl`` is what the loss needs: a tensor holding one number.

    A Python float has no gradient (the KL would not be trained), and a tensor
    of several values is not one loss (``.item()`` and ``backward()`` would
    fail with messages that do not say why).
    """
    what = "kl_divergence(mu, logvar)"
    if kl is None:
        raise KLValueError(f"{what} returned None: it needs a return statement")
    if not torch.is_tensor(kl):
        raise KLValueError(f"{what} gave a {type(kl).__name__}, not a tensor: the loss needs its gradient, "
                           "so return the torch result (no .item() or float())")
    if kl.numel() != 1:
        raise KLValueError(f"{what} gave a tensor of shape {tuple(kl.shape)}, not one number: its default "
                           "reduction, 'mean', averages the examples' KL over the batch")


class VAE(nn.Module):
    """The MLP VAE of the lab: 784-256-128 encoder, z-dimensional latent, 128-256-784 decoder."""

    def __init__(self, z=16):
        super().__init__()
        self.z = z
        self.enc = nn.Sequential(
            nn.Flatten(),
            nn.Linear(28 * 28, 256), nn.ReLU(),
            nn.Linear(256, 128), nn.ReLU(),
        )
        self.mu = nn.Linear(128, z)
        self.logvar = nn.Linear(128, z)
        self.dec = nn.Sequential(
            nn.Linear(z, 128), nn.ReLU(),
            nn.Linear(128, 256), nn.ReLU(),
            nn.Linear(256, 28 * 28), nn.Sigmoid(),
        )

    def encode(self, x):
        """Images (B, 1, 28, 28) or (B, 784) -> (mu, logvar), each (B, z)."""
        h = self.enc(x)
        return self.mu(h), self.logvar(h)

    def decode(self, z):
        """Latent codes (B, z) -> images x_hat (B, 1, 28, 28) with pixels in [0, 1]."""
        return self.dec(z).view(-1, 1, 28, 28)

    def forward(self, x, beta=1.0):
        """Returns (x_hat, loss, recon, kl).

        ``loss`` is the tensor recon + beta * kl to call ``backward()`` on;
        ``recon`` and ``kl`` are its two terms as Python floats for logging.
        All three are averages over the batch.
        """
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar)
        x_hat = self.decode(z)
        recon = reconstruction_loss(x_hat, x)
        kl = kl_divergence(mu, logvar)
        _check_trainable_kl(kl)
        loss = recon + beta * kl
        return x_hat, loss, recon.item(), kl.item()
