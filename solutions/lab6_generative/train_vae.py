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
from epoch 0; samples.png exists; the KL term never negative and the loss
never below zero) and the two classic failure modes: KL collapse and all-gray
samples.

Read it top to bottom: ``set_seed`` makes a run repeatable, ``train`` is
the training loop, ``main`` is the program (options, data, training, then
what to save and check).  The files are written by ``artifacts.py``, the
checks live in ``diagnostics.py``, and the options and one-line errors that
``anomaly.py`` shares are in ``cli.py``.
"""
import os
import random
import sys
import time

import numpy as np
import torch

from . import artifacts, cli, diagnostics
from .data import batches, num_batches, to_float
from .schedules import kl_warmup
from .vae import KLValueError, VAE

__all__ = ["VAE", "set_seed", "train", "main"]


def set_seed(seed=42):
    """Seed python, numpy and torch and make torch use deterministic algorithms.

    ``PYTHONHASHSEED`` is not set here: Python reads it once, when it starts,
    to fix the hashing of strings, so changing it in a running program has no
    effect.  Nothing in this lab depends on hash order; to fix it anyway, set
    it in the shell before starting Python.
    """
    random.seed(seed)
    np.random.seed(seed)
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


def main(argv=None):
    args = cli.build_parser("python -m lab6_generative.train_vae", __doc__.splitlines()[0]).parse_args(argv)
    device = cli.pick_device(args.device)
    cli.make_out_dir(args.out_dir)
    set_seed(args.seed)
    images, _ = cli.load_split(args.data_dir, train=True)
    test_images, _ = cli.load_split(args.data_dir, train=False)
    if args.subset > len(images):
        cli.fail(f"--subset {args.subset} is larger than the training set ({len(images)} images)", code=2)
    if args.batch_size > args.subset:
        cli.fail(f"--batch-size {args.batch_size} is larger than --subset {args.subset}: no full batch", code=2)
    x = to_float(images[: args.subset]).to(device)
    test_x = to_float(test_images[:256]).to(device)

    print(f"Training a VAE (z={args.z}) on {len(x)} images for {args.epochs} epochs on {device}; "
          f"KL warm-up over {args.warmup_epochs} epochs to beta={args.beta}.")
    model = VAE(z=args.z).to(device)
    try:
        history = train(model, x, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                        beta=args.beta, warmup_epochs=args.warmup_epochs, seed=args.seed, log=print)
    except NotImplementedError as err:
        cli.fail(cli.unfinished_todo(err))
    except KLValueError as err:  # VAE.forward found a KL it cannot train on, and says why
        cli.fail(f"{err}; pytest shows more")

    samples = artifacts.save_pictures(model, test_x, args.out_dir, args.seed)
    artifacts.save_loss_curve(history, os.path.join(args.out_dir, "loss_curve.png"))
    artifacts.save_weights(model, os.path.join(args.out_dir, "vae.safetensors"), z=args.z, seed=args.seed)
    checks = diagnostics.acceptance(history, os.path.join(args.out_dir, "samples.png"))
    report = diagnostics.diagnose(model, x[:1024], samples)
    config = {k: v for k, v in vars(args).items() if k not in ("data_dir", "out_dir")}
    artifacts.save_history(os.path.join(args.out_dir, "history.json"), history, config, checks, report)

    print(f"Wrote samples.png, reconstructions.png, loss_curve.png, history.json and "
          f"vae.safetensors to {args.out_dir}/")
    if checks["objective_problem"]:
        print(f"Acceptance: FAIL: {checks['objective_problem']}.")
    else:
        verdict = "PASS" if checks["passed"] else "FAIL"
        print(f"Acceptance: {verdict}: loss fell {100 * checks['loss_drop']:.1f}% from epoch 0 "
              f"(needs >= {100 * diagnostics.ACCEPTANCE_DROP:.0f}%); samples.png "
              f"{'written' if checks['samples_png'] else 'MISSING'}.")
    print(f"Latent space: {report['active_units']} of {args.z} dimensions active.")
    for warning in report["warnings"]:
        print(f"Warning: {warning}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
