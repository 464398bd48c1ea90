"""Fashion-MNIST, loaded once through torchvision and batched by slicing.

    images, labels = load_fashion_mnist(".data", train=True)   # uint8 (60000, 28, 28), int64 (60000,)
    x = to_float(images)                                       # float32 (60000, 1, 28, 28) in [0, 1]
    for xb in batches(x, 128, torch.Generator().manual_seed(0)):
        ...                                                    # (128, 1, 28, 28), a new order each epoch

torchvision's usual pipeline (``transforms.ToTensor`` + ``DataLoader``) turns
every image into a PIL image and back, one at a time, every epoch.  For 28x28
images that costs more than the model itself.  Here we decode the whole set
once into a single uint8 tensor, convert it to floats in [0, 1] once (exactly
what ``ToTensor`` computes), and make each batch by indexing with a seeded
random permutation.

torchvision itself is slow to import (over a second), so after the first
load the decoded tensors are kept in ``<data_dir>/FashionMNIST/lab6-cache/``
and later runs skip torchvision; ``_cache.py`` holds that part.
"""
import contextlib
import gzip
import io
import os
import shutil

import torch

from . import _cache

CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
RAW_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
SOURCE = "https://github.com/zalandoresearch/fashion-mnist (folder data/fashion)"


class DataUnavailable(RuntimeError):
    """Fashion-MNIST could be neither found on disk nor downloaded."""


def load_fashion_mnist(data_dir=".data", train=True, download=True):
    """Load one split of Fashion-MNIST with ``torchvision.datasets.FashionMNIST``.

    The first load of a split goes through torchvision (downloading when the
    files are missing and ``download`` is true); later loads read the decoded
    tensors from the cache (see ``_cache.py``), which is rebuilt whenever a
    raw file changes.

    Returns:
        (images, labels): a uint8 tensor of shape (N, 28, 28) and an int64
        tensor of shape (N,) with class indices 0..9 (names in ``CLASSES``).

    Raises:
        DataUnavailable: with a message naming the files and the folder when
        the data is neither on disk nor downloadable, or a file is damaged.
    """
    folder = raw_folder(data_dir)
    names = RAW_FILES[:2] if train else RAW_FILES[2:]  # this split's images and labels
    cached = _cache.read(data_dir, train, folder, names)
    if cached is not None:
        return cached
    from torchvision import datasets  # imported here: it is slow to import

    created = _missing_folders(folder)  # what a failed download would leave behind
    if os.path.isdir(folder):
        try:
            _unpack_gz_files(folder)
        except (OSError, EOFError) as err:
            raise DataUnavailable(f"could not unpack a file in {folder}: {err}") from None
    try:
        # torchvision prints one line per download attempt; keep them quiet.
        with contextlib.redirect_stdout(io.StringIO()):
            dataset = datasets.FashionMNIST(data_dir, train=train, download=download)
    except Exception as err:  # no network, or "Dataset not found"
        if _all_present(folder):
            raise DataUnavailable(
                f"the Fashion-MNIST files in {folder} could not be read ({err}); "
                "delete them and download them again"
            ) from None
        for path in created:  # remove the empty folders torchvision made, deepest first
            try:
                os.rmdir(path)
            except OSError:
                break
        reason = "download switched off" if not download else "the download failed: is this machine offline?"
        raise DataUnavailable(_missing_message(data_dir, reason)) from None
    _cache.write(data_dir, train, folder, names, dataset.data, dataset.targets)
    return dataset.data, dataset.targets


def to_float(images):
    """uint8 images (N, 28, 28) -> float32 (N, 1, 28, 28) in [0, 1], as ``ToTensor`` does."""
    return images.unsqueeze(1).to(torch.float32).div_(255)


def batches(x, batch_size, generator=None, shuffle=True, drop_last=True):
    """Yield mini-batches of ``x`` along its first dimension.

    With ``shuffle`` the order is a random permutation drawn from
    ``generator`` (a seeded ``torch.Generator`` gives the same batches every
    run).  ``drop_last`` skips a final batch smaller than ``batch_size``, as
    the original lab's DataLoader did.
    """
    n = x.shape[0]
    order = torch.randperm(n, generator=generator) if shuffle else None
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        if order is None:
            yield x[start:start + batch_size]
        else:
            yield x[order[start:start + batch_size]]


def num_batches(n, batch_size, drop_last=True):
    """How many batches ``batches`` yields for n examples."""
    return n // batch_size if drop_last else -(-n // batch_size)


# ----------------------------------------------------------------------------
# Helpers of load_fashion_mnist: where the raw files are, and what to say when they are not
# ----------------------------------------------------------------------------

def raw_folder(data_dir):
    """Where torchvision looks for the four files: ``<data_dir>/FashionMNIST/raw``."""
    return os.path.join(data_dir, "FashionMNIST", "raw")


def _unpack_gz_files(folder):
    """Unpack ``X.gz`` to ``X`` next to it when only the archive is there.

    torchvision reads the unpacked files; if it finds only archives it tries
    to download them again (their checksums differ from the official ones when
    they are not the official files).  Unpacking them here lets a student drop
    the four downloaded ``.gz`` files into the folder and go.
    """
    for name in RAW_FILES:
        archive = os.path.join(folder, name)
        target = archive[: -len(".gz")]
        if os.path.exists(archive) and not os.path.exists(target):
            with gzip.open(archive, "rb") as src, open(target + ".part", "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.replace(target + ".part", target)


def _missing_folders(folder):
    """The folders on the way to ``folder`` that do not exist yet, deepest first."""
    missing = []
    path = os.path.abspath(folder)
    while not os.path.exists(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return missing


def _all_present(folder):
    """Whether all four unpacked files are in ``folder`` (then a failure means a damaged file)."""
    return all(os.path.exists(os.path.join(folder, name[: -len(".gz")])) for name in RAW_FILES)


def _missing_message(data_dir, reason):
    """The one-line error when the data is missing: which four files, which folder, where to get them."""
    files = ", ".join(RAW_FILES)
    return (
        f"Fashion-MNIST is not in {raw_folder(data_dir)} and could not be downloaded ({reason}). "
        f"Put the four files {files} into {raw_folder(data_dir)}/ "
        f"(get them from {SOURCE}) or point --data-dir at a folder that has them."
    )
