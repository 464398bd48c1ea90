"""Did the run work?  The lab's acceptance criterion and its two classic failure modes.

Acceptance: the average loss of the last epoch is at least 20% below that of
epoch 0, and the prior samples were written to samples.png.  A broken
objective fails it whatever the loss did: the loss is reconstruction + beta *
KL, and both terms are never negative, so a negative or non-finite KL term, or
a loss below zero, means the KL is computed wrongly (usually its sign), and a
falling loss then measures nothing.

KL collapse (posterior collapse): q(z|x) equals the prior N(0, I) for every
x, so the KL term is 0 and z tells the decoder nothing about the image.  It
shows in two numbers computed from the posterior means mu(x) and
log-variances logvar(x) of a batch of real images:

    KL_j          = mean over x of 0.5 * (mu_j^2 + exp(logvar_j) - 1 - logvar_j)
                    (the KL of latent dimension j alone: near 0 when it is unused)
    active units  = #{ j : Var_x(mu_j(x)) > 0.01 }
                    (Burda et al., 2016: a dimension whose mean does not move
                    with x carries no information about x)

All-gray samples: the decoder has saturated and draws the same flat image for
every z.  It shows as prior samples whose pixels barely vary: the standard
deviation over the 784 pixels of each sample, averaged over the samples, is
below 0.05.
"""
import math
import os

import torch

from .vae import kl_divergence

ACCEPTANCE_DROP = 0.20      # the loss must fall by 20% from epoch 0
ACTIVE_VARIANCE = 0.01      # a latent unit is active if Var_x(mu_j) > 0.01 (Burda et al., 2016)
GRAY_PIXEL_STD = 0.05       # samples whose pixels barely vary are "all gray"
KL_SLACK = 1e-3             # nats: a batch-mean KL this far below 0 is no rounding error


def objective_problem(history):
    """Why the objective of a run is broken, as one sentence naming the KL term, or None.

    Both terms of the loss are never negative: the reconstruction is a binary
    cross-entropy, the KL a divergence.  So a KL term that is negative, NaN or
    infinite, or a loss below zero, in any epoch, means the objective is wrong.
    """
    where = "lab6_generative/vae.py"
    for row in history:
        if not math.isfinite(row["kl"]):
            return (f"the KL term became {row['kl']} in epoch {row['epoch']}: for finite mu and logvar the KL "
                    f"is a finite number >= 0; check kl_divergence in {where}")
    negative = [row for row in history if row["kl"] < -KL_SLACK]
    if negative:
        row = min(negative, key=lambda r: r["kl"])
        return (f"the KL term was negative ({row['kl']:.4g} in epoch {row['epoch']}): a KL divergence is never "
                f"negative, so training made it ever more negative instead of fitting the images; check the sign "
                f"in kl_divergence ({where})")
    below = [row for row in history if row["loss"] < 0]
    if below:
        row = min(below, key=lambda r: r["loss"])
        return (f"the loss was {row['loss']:.4g} in epoch {row['epoch']}, but both of its terms, the "
                f"reconstruction and the KL term, are never negative: check kl_divergence ({where})")
    return None


def acceptance(history, samples_path):
    """The lab's acceptance criterion: loss fell >= 20% from epoch 0, samples.png exists, and the
    objective is sound (no negative or non-finite KL term, no loss below zero).

    Returns a dict with ``loss_drop`` (the fraction, (first - last) / first),
    ``loss_dropped_enough``, ``samples_png``, ``objective_problem`` (None, or
    the sentence saying what is wrong with the KL term) and ``passed`` (all hold).
    """
    first, last = history[0]["loss"], history[-1]["loss"]
    drop = (first - last) / first if first else 0.0
    problem = objective_problem(history)
    result = {"loss_drop": drop, "loss_dropped_enough": bool(drop >= ACCEPTANCE_DROP),
              "samples_png": os.path.exists(samples_path), "objective_problem": problem}
    result["passed"] = result["loss_dropped_enough"] and result["samples_png"] and problem is None
    return result


@torch.no_grad()
def diagnose(model, x, samples):
    """Look for the lab's two failure modes (see the top of this file).

    Collapse is reported when fewer than a quarter of the latent dimensions
    are active; a NaN or an infinity anywhere is reported as divergence instead.

    Args:
        x: a batch of real images to encode.
        samples: decoded prior samples, (B, 1, 28, 28).

    Returns:
        A dict with ``kl_per_dim``, ``active_units``, ``sample_pixel_std``
        and ``warnings`` (a list of sentences saying what went wrong and what
        to try).
    """
    model.eval()
    mu, logvar = model.encode(x)
    # The KL of each latent dimension on its own: treat it as a 1-d latent.
    kl_per_dim = kl_divergence(mu.unsqueeze(-1), logvar.unsqueeze(-1), reduction="none").mean(0)
    active = int((mu.var(dim=0) > ACTIVE_VARIANCE).sum())
    pixel_std = float(samples.flatten(1).std(dim=1).mean())
    z_dim = mu.shape[1]
    warnings = []
    if not torch.isfinite(kl_per_dim).all() or not torch.isfinite(samples).all():
        warnings.append("NaN or infinite values: training diverged; lower the learning rate (--lr 5e-4).")
    elif active < max(1, z_dim // 4):
        warnings.append(
            f"KL collapse: only {active} of {z_dim} latent dimensions are active "
            f"(mean KL per dimension {float(kl_per_dim.mean()):.3f} nats), so the decoder ignores z. "
            "Use a KL warm-up (--warmup-epochs 3) or a smaller beta (--beta 0.5).")
    if pixel_std < GRAY_PIXEL_STD:
        warnings.append(
            f"All-gray samples: the pixels of the prior samples barely vary (std {pixel_std:.3f}); "
            "the decoder has saturated. Lower the learning rate (--lr 5e-4) or train longer (--epochs 10).")
    return {"kl_per_dim": [float(v) for v in kl_per_dim], "active_units": active,
            "sample_pixel_std": pixel_std, "warnings": warnings}
