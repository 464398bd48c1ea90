"""The command line shared by ``train_vae`` and ``anomaly``: options, device, one-line errors.

A mistyped option, a folder without the data, a GPU the machine does not
have: each ends the program with one line on stderr saying what is wrong and
what to do, never with a traceback.  The exit status says whose fault it is:

    0   the run finished
    1   the run failed: no data, a damaged data file, an unfinished TODO
    2   the command was wrong: a bad option or number, --device cuda without
        a GPU, an --out-dir that cannot be written
"""
import argparse
import os
import sys
import traceback

import numpy as np
import torch

from .data import DataUnavailable, load_fashion_mnist


class Parser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose errors are one line instead of the usage dump."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def number(kind, low, inclusive=True, high=None):
    """An argparse ``type``: text -> ``kind`` (int or float) with ``low <= value <= high``.

    ``inclusive=False`` makes the lower bound strict (``value > low``).  NaN
    and infinities are refused too, so ``--lr nan`` fails here and not, much
    later, as a diverged training run.
    """
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


def build_parser(prog, description):
    """The options every program of the lab takes, with the lab's defaults."""
    p = Parser(prog=prog, description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--epochs", type=number(int, 1), default=5, help="training epochs")
    p.add_argument("--subset", type=number(int, 1), default=10000,
                   help="train on the first N training images (0 < N <= 60000)")
    p.add_argument("--batch-size", type=number(int, 1), default=128, help="mini-batch size")
    p.add_argument("--z", type=number(int, 1), default=16, help="latent dimensions")
    p.add_argument("--lr", type=number(float, 0, inclusive=False), default=1e-3, help="Adam learning rate")
    p.add_argument("--beta", type=number(float, 0), default=1.0, help="final KL weight (beta-VAE)")
    p.add_argument("--warmup-epochs", type=number(int, 0), default=3,
                   help="epochs of linear KL warm-up (0: none)")
    p.add_argument("--seed", type=number(int, 0, high=2**32 - 1), default=42, help="random seed")
    p.add_argument("--data-dir", default=".data", help="where FashionMNIST/raw/ is (or is downloaded to)")
    p.add_argument("--out-dir", default="outputs", help="where the pictures, history and weights go")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="auto: cuda when available, else cpu")
    return p


def fail(message, code=1):
    """Print ``error: message`` to stderr and exit with ``code``."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


def pick_device(name):
    """'auto' -> cuda if available, else cpu.  Asking for cuda without a GPU exits with status 2."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        fail("--device cuda was asked for but torch sees no CUDA GPU; use --device cpu", code=2)
    return torch.device(name)


def make_out_dir(path):
    """Create the output folder now, so that a bad --out-dir fails before training, not after it."""
    try:
        os.makedirs(path, exist_ok=True)
        probe = os.path.join(path, ".write-test")
        with open(probe, "w"):
            pass
        os.remove(probe)
    except OSError as err:
        fail(f"cannot write to --out-dir {path}: {err.strerror or err}", code=2)


def load_split(data_dir, train):
    """``load_fashion_mnist(data_dir, train)``: (uint8 images, labels), or exit saying what is missing."""
    try:
        return load_fashion_mnist(data_dir, train=train)
    except DataUnavailable as err:
        fail(str(err))


def unfinished_todo(err):
    """The one-line message for a ``NotImplementedError`` from a TODO: which function, in which file.

    The deepest frame of the traceback is the stub that raised, e.g.
    "kl_warmup() in lab6_generative/schedules.py is not implemented yet: ...".
    """
    where = traceback.extract_tb(err.__traceback__)[-1]
    return (f"{where.name}() in {os.path.relpath(where.filename)} is not implemented yet: "
            "fill in its TODO, then run pytest")
