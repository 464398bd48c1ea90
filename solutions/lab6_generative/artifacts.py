"""What a run leaves on disk: image grids, the loss curve, the history and the weights.

    samples.png, reconstructions.png   save_pictures (tiled by save_grid)
    loss_curve.png                     save_loss_curve
    history.json                       save_history
    vae.safetensors                    save_weights (read back by load_weights)

Nothing here draws on the screen: the plots use matplotlib's ``Figure``
directly (no pyplot, so no GUI back end), and the slow imports (matplotlib,
PIL, safetensors) happen inside the function that needs them.  With one seed,
two runs write the same history (apart from its timings) and the same
weights, byte for byte.
"""
import json
import os

import torch

from .vae import VAE


def save_grid(images, path, nrow=8, padding=2, pad_value=0.0):
    """Save images (N, 1, H, W) in [0, 1] as one PNG, ``nrow`` to a row.

    The same picture as ``torchvision.utils.save_image``, without importing
    torchvision (over a second) just to tile a few images.
    """
    from PIL import Image

    n, _, h, w = images.shape
    rows = -(-n // nrow)
    grid = torch.full((padding + rows * (h + padding), padding + nrow * (w + padding)), float(pad_value))
    for i, image in enumerate(images.detach().cpu()):
        top, left = padding + (i // nrow) * (h + padding), padding + (i % nrow) * (w + padding)
        grid[top:top + h, left:left + w] = image[0]
    Image.fromarray(grid.mul(255).add(0.5).clamp(0, 255).to(torch.uint8).numpy()).save(path)


@torch.no_grad()
def save_pictures(model, test_x, out_dir, seed):
    """Write samples.png and reconstructions.png into ``out_dir``; return the decoded samples.

    samples.png: 64 images decode(z) with z ~ N(0, I) drawn from a generator
    seeded with ``seed``.  reconstructions.png: up to 32 test images, in
    rows of 8 (fewer when there are fewer), each row of originals above the
    row of their reconstructions decode(mu(x)).
    """
    model.eval()
    z = torch.randn(64, model.z, generator=torch.Generator().manual_seed(seed)).to(test_x.device)
    samples = model.decode(z)
    save_grid(samples, os.path.join(out_dir, "samples.png"))
    per_row = min(8, len(test_x))
    originals = test_x[: min(32, len(test_x)) // per_row * per_row]  # whole rows only
    recon = model.decode(model.encode(originals)[0])  # decode the posterior mean
    rows = [part for start in range(0, len(originals), per_row)
            for part in (originals[start:start + per_row], recon[start:start + per_row])]
    save_grid(torch.cat(rows), os.path.join(out_dir, "reconstructions.png"), nrow=per_row)
    return samples


def save_loss_curve(history, path):
    """Reconstruction, KL and total loss per epoch (left) and beta (right)."""
    from matplotlib.figure import Figure  # no pyplot: no GUI back end needed

    epochs = [row["epoch"] for row in history]
    fig = Figure(figsize=(9, 3.5), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=(2, 1))
    for key, label in (("loss", "total (recon + beta*KL)"), ("recon", "reconstruction"), ("kl", "KL")):
        left.plot(epochs, [row[key] for row in history], marker="o", label=label)
    left.set(xlabel="epoch", ylabel="nats per image (batch mean)", title="Loss terms")
    left.legend()
    right.plot(epochs, [row["beta"] for row in history], marker="o", color="tab:purple")
    right.set(xlabel="epoch", ylabel="beta", title="KL weight (warm-up)", ylim=(-0.05, None))
    for ax in (left, right):
        ax.set_xticks(epochs)
        ax.grid(alpha=0.3)
    fig.savefig(path, dpi=100)


def save_history(path, history, config, acceptance, diagnostics):
    """history.json: the epochs of ``train``, the settings, and the checks of ``diagnostics.py``."""
    with open(path, "w") as f:
        json.dump({"epochs": history, "config": config, "acceptance": acceptance,
                   "diagnostics": diagnostics}, f, indent=2)
        f.write("\n")


def save_weights(model, path, **metadata):
    """The weights as safetensors (a format that cannot run code when loaded).

    The metadata goes in as one sorted JSON string: safetensors stores a
    metadata dict in no fixed order, and the same run must give the same bytes.
    """
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, path, metadata={"lab6": json.dumps({k: str(v) for k, v in metadata.items()}, sort_keys=True)})


def load_weights(path, device="cpu"):
    """A VAE rebuilt from ``save_weights``'s file; also returns its metadata."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(path, framework="pt") as f:
        metadata = json.loads((f.metadata() or {}).get("lab6", "{}"))
    model = VAE(z=int(metadata.get("z", 16)))
    model.load_state_dict(load_file(path, device="cpu"))
    return model.to(device), metadata
