"""Schedules for the KL weight beta.

Early in training the decoder is poor and the cheapest way to lower the loss is
to make q(z|x) equal to the prior for every x, which sets the KL term to 0 and
leaves the latent code carrying no information: "KL collapse" (also called
posterior collapse).  KL warm-up avoids it by starting with beta = 0, so the
model first learns to reconstruct, and raising beta linearly to its final
value over the first few epochs.
"""


def kl_warmup(epoch, warmup_epochs, beta_max=1.0):
    """The KL weight beta for a given epoch under a linear warm-up.

        beta(epoch) = beta_max * min(1, epoch / warmup_epochs)

    so beta is 0 at epoch 0, rises by beta_max / warmup_epochs per epoch,
    reaches beta_max at ``epoch == warmup_epochs`` and stays there.  With
    ``warmup_epochs == 0`` there is no warm-up: beta is ``beta_max`` from the
    start.  The original lab's ``min(1.0, ep / 3)`` is ``kl_warmup(ep, 3)``.

    Args:
        epoch: the epoch number, counted from 0 (an int; a float also works).
        warmup_epochs: how many epochs the warm-up lasts (0 for none).
        beta_max: the final weight (1.0 is the plain ELBO).

    Returns:
        beta as a float.

    Raises:
        ValueError: if any argument is negative.

    Classic mistakes:
        - Off by one: beta must be exactly 0 at epoch 0 and exactly beta_max at
          epoch == warmup_epochs (``(epoch + 1) / warmup_epochs`` is wrong).
        - Forgetting to clamp: after the warm-up beta stays at beta_max, it
          does not keep growing.
        - Dividing by zero when warmup_epochs == 0.
    """
    ### BEGIN SOLUTION
    for name, value in (("epoch", epoch), ("warmup_epochs", warmup_epochs), ("beta_max", beta_max)):
        if value < 0:
            raise ValueError(f"{name} must be non-negative, got {value}")
    if warmup_epochs == 0:
        return float(beta_max)
    return float(beta_max) * min(1.0, epoch / warmup_epochs)
    ### END SOLUTION
