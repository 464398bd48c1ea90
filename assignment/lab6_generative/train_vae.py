"""Train the VAE on Fashion-MNIST and look at what it learned.

    python -m lab6_generative.train_vae                 # the lab's defaults
    python -m lab6_generative.train_vae --beta 4 --epochs 10 --out-dir runs/beta4

Each epoch prints the average loss, its two terms and the KL weight beta.
At the end it writes into ``--out-dir``:

    samples.png          64 images decoded from z ~ N(0, I), the prior
    reconstructions.png  test images (odd rows) above their reconstructions
    loss_curve.png       reconstruction, KL, total loss and beta per epoch
    history.json         the same numbers, the settings, the checks below
    vae.safetensors      the trained weights

and checks the lab's acceptance criterion (the loss fell by at least 20%
from epoch 0; samples.png exists) and the two classic failure modes: KL
collapse and all-gray samples.
"""
import argparse
import json
import os
import random
import sys
import time
import traceback

import numpy as np
import torch

from .data import DataUnavailable, batches, load_fashion_mnist, num_batches, to_float
from .schedules import kl_warmup
from .vae import VAE, kl_divergence

__all__ = ["VAE", "set_seed", "train", "diagnose", "main"]

ACCEPTANCE_DROP = 0.20      # the loss must fall by 20% from epoch 0
ACTIVE_VARIANCE = 0.01      # a latent unit is active if Var_x(mu_j) > 0.01 (Burda et al., 2016)
GRAY_PIXEL_STD = 0.05       # samples whose pixels barely vary are "all gray"


def set_seed(seed=42):
    """Seed python, numpy and torch and make torch use deterministic algorithms."""
    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # needed for determinism on CUDA
    torch.manual_seed(seed)
    # torch.use_deterministic_algorithms(True) also sets a flag of torch.compile's
    # back end, and importing that back end takes about a second.  This lab never
    # compiles, so we set only the switch that ordinary operations read.
    set_flag = getattr(torch._C, "_set_deterministic_algorithms", None)
    if set_flag is not None:
        set_flag(True)
    else:  # a torch without the private switch
        torch.use_deterministic_algorithms(True)


def train(model, x, *, epochs=5, batch_size=128, lr=1e-3, beta=1.0, warmup_epochs=3,
          seed=42, progress=None, log=None):
    """Train ``model`` on the images ``x`` (float, (N, 1, 28, 28), in [0, 1]) with Adam.

    Each epoch visits the images in a new random order drawn from a
    ``torch.Generator`` seeded with ``seed`` and skips the last incomplete
    batch.  The KL weight of epoch e is ``kl_warmup(e, warmup_epochs, beta)``.

    Args:
        progress: show a tqdm bar (None: only when writing to a terminal).
        log: called with one line of text per epoch (e.g. ``print``).

    Returns:
        The history: one dict per epoch with the batch-averaged ``loss``,
        ``recon`` and ``kl``, the ``beta`` used and the ``seconds`` it took.
    """
    from tqdm import tqdm

    if len(x) < batch_size:
        raise ValueError(f"need at least one full batch: {len(x)} images < batch size {batch_size}")
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    order = torch.Generator().manual_seed(seed)
    steps = num_batches(len(x), batch_size)
    history = []
    for epoch in range(epochs):
        beta_now = kl_warmup(epoch, warmup_epochs, beta)
        model.train()
        start = time.perf_counter()
        total = recon_sum = kl_sum = 0.0
        bar = tqdm(batches(x, batch_size, order), total=steps, desc=f"epoch {epoch}",
                   disable=None if progress is None else not progress, leave=False, file=sys.stderr)
        for xb in bar:
            optimizer.zero_grad(set_to_none=True)
            _, loss, recon, kl = model(xb, beta=beta_now)
            loss.backward()
            optimizer.step()
            total += loss.item()
            recon_sum += recon
            kl_sum += kl
        row = {"epoch": epoch, "loss": total / steps, "recon": recon_sum / steps,
               "kl": kl_sum / steps, "beta": beta_now, "seconds": time.perf_counter() - start}
        history.append(row)
        if log:
            log(f"ep{epoch}: loss {row['loss']:.2f} recon {row['recon']:.2f} "
                f"kl {row['kl']:.2f} beta {beta_now:.3f}")
    return history


@torch.no_grad()
def diagnose(model, x, samples):
    """Look for the lab's two failure modes.

    KL collapse: q(z|x) equals the prior for every x, so z carries nothing.
    Seen as a KL near 0 in most latent dimensions and few *active units*
    (dimensions whose posterior mean varies across images).

    All-gray samples: the decoder saturates and draws the same flat image for
    every z.  Seen as prior samples whose pixels barely vary.

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


def acceptance(history, samples_path):
    """The lab's acceptance criterion: loss fell >= 20% from epoch 0, and samples.png exists."""
    first, last = history[0]["loss"], history[-1]["loss"]
    drop = (first - last) / first if first else 0.0
    result = {"loss_drop": drop, "loss_dropped_enough": bool(drop >= ACCEPTANCE_DROP),
              "samples_png": os.path.exists(samples_path)}
    result["passed"] = result["loss_dropped_enough"] and result["samples_png"]
    return result


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
    """Write samples.png and reconstructions.png; return the decoded samples."""
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


# ----------------------------------------------------------------------------
# The command line
# ----------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of argparse's usage dump
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _number(kind, low, inclusive=True, high=None):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got {text!r}")
        if not np.isfinite(value) or value < low or (value == low and not inclusive):
            bound = f">= {low}" if inclusive else f"> {low}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {text}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"must be <= {high}, got {text}")
        return value
    return parse


def build_parser(prog="python -m lab6_generative.train_vae", description=None):
    """The options shared by every program of the lab, with the lab's defaults."""
    p = _Parser(prog=prog, description=description or __doc__.splitlines()[0],
                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--epochs", type=_number(int, 1), default=5, help="training epochs")
    p.add_argument("--subset", type=_number(int, 1), default=10000,
                   help="train on the first N training images (0 < N <= 60000)")
    p.add_argument("--batch-size", type=_number(int, 1), default=128, help="mini-batch size")
    p.add_argument("--z", type=_number(int, 1), default=16, help="latent dimensions")
    p.add_argument("--lr", type=_number(float, 0, inclusive=False), default=1e-3, help="Adam learning rate")
    p.add_argument("--beta", type=_number(float, 0), default=1.0, help="final KL weight (beta-VAE)")
    p.add_argument("--warmup-epochs", type=_number(int, 0), default=3,
                   help="epochs of linear KL warm-up (0: none)")
    p.add_argument("--seed", type=_number(int, 0, high=2**32 - 1), default=42, help="random seed")
    p.add_argument("--data-dir", default=".data", help="where FashionMNIST/raw/ is (or is downloaded to)")
    p.add_argument("--out-dir", default="outputs", help="where the pictures, history and weights go")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="auto: cuda when available, else cpu")
    return p


def pick_device(name):
    """'auto' -> cuda if available else cpu; 'cuda' without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for but torch sees no CUDA GPU; use --device cpu")
    return torch.device(name)


def fail(message, code=1):
    """Print one line to stderr and exit: bad input never ends in a traceback."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


def load_split(args, train):
    """Images of one split as floats on the chosen device, or exit with the reason."""
    try:
        images, labels = load_fashion_mnist(args.data_dir, train=train)
    except DataUnavailable as err:
        fail(str(err))
    return images, labels


def make_out_dir(path):
    """Create the output folder now, so a bad --out-dir fails before training, not after."""
    try:
        os.makedirs(path, exist_ok=True)
        probe = os.path.join(path, ".write-test")
        with open(probe, "w"):
            pass
        os.remove(probe)
    except OSError as err:
        fail(f"cannot write to --out-dir {path}: {err.strerror or err}", code=2)


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        device = pick_device(args.device)
    except RuntimeError as err:
        fail(str(err), code=2)
    make_out_dir(args.out_dir)
    set_seed(args.seed)
    images, _ = load_split(args, train=True)
    test_images, _ = load_split(args, train=False)
    if args.subset > len(images):
        fail(f"--subset {args.subset} is larger than the training set ({len(images)} images)", code=2)
    if args.batch_size > args.subset:
        fail(f"--batch-size {args.batch_size} is larger than --subset {args.subset}: no full batch", code=2)
    x = to_float(images[: args.subset]).to(device)
    test_x = to_float(test_images[:256]).to(device)

    print(f"Training a VAE (z={args.z}) on {len(x)} images for {args.epochs} epochs on {device}; "
          f"KL warm-up over {args.warmup_epochs} epochs to beta={args.beta}.")
    model = VAE(z=args.z).to(device)
    try:
        history = train(model, x, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                        beta=args.beta, warmup_epochs=args.warmup_epochs, seed=args.seed, log=print)
    except NotImplementedError as err:
        where = traceback.extract_tb(err.__traceback__)[-1]
        fail(f"{where.name}() in {os.path.relpath(where.filename)} is not implemented yet: "
             "fill in its TODO, then run pytest")

    samples = save_pictures(model, test_x, args.out_dir, args.seed)
    save_loss_curve(history, os.path.join(args.out_dir, "loss_curve.png"))
    save_weights(model, os.path.join(args.out_dir, "vae.safetensors"), z=args.z, seed=args.seed)
    checks = acceptance(history, os.path.join(args.out_dir, "samples.png"))
    diagnostics = diagnose(model, x[:1024], samples)
    config = {k: v for k, v in vars(args).items() if k not in ("data_dir", "out_dir")}
    with open(os.path.join(args.out_dir, "history.json"), "w") as f:
        json.dump({"epochs": history, "config": config, "acceptance": checks,
                   "diagnostics": diagnostics}, f, indent=2)
        f.write("\n")

    print(f"Wrote samples.png, reconstructions.png, loss_curve.png, history.json and "
          f"vae.safetensors to {args.out_dir}/")
    verdict = "PASS" if checks["passed"] else "FAIL"
    print(f"Acceptance: {verdict}: loss fell {100 * checks['loss_drop']:.1f}% from epoch 0 "
          f"(needs >= {100 * ACCEPTANCE_DROP:.0f}%); samples.png "
          f"{'written' if checks['samples_png'] else 'MISSING'}.")
    print(f"Latent space: {diagnostics['active_units']} of {args.z} dimensions active.")
    for warning in diagnostics["warnings"]:
        print(f"Warning: {warning}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
