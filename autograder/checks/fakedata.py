"""Deterministic Fashion-MNIST look-alikes, in memory or as real IDX files.

The grader trains on data of its own so that grading needs no network and is
the same everywhere; this repository's tests and benchmarks write the same
images as gzip'd IDX files (the real format and magic numbers) so the lab's
real torchvision loader is exercised.  Each of the 10 classes is a silhouette
in the spirit of its Fashion-MNIST class (two bars for trousers, an L for an
ankle boot, ...) with random size, position, brightness and texture.
"""
import gzip
import os
import struct

import numpy as np

IMAGE_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions
LABEL_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension
FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

_Y, _X = np.mgrid[0:28, 0:28]


def _box(cy, cx, h, w):
    return (np.abs(_Y - cy) <= h / 2) & (np.abs(_X - cx) <= w / 2)


def _silhouette(label, rng):
    """Boolean 28x28 mask of one item of class ``label`` with jittered geometry."""
    cy, cx = 14 + rng.uniform(-1.5, 1.5, size=2)
    s = rng.uniform(0.85, 1.1)
    if label == 0:  # T-shirt: body and short sleeves
        return _box(cy + 1, cx, 16 * s, 12 * s) | _box(cy - 5, cx, 5 * s, 22 * s)
    if label == 1:  # trouser: two legs and a waistband
        return _box(cy, cx - 3 * s, 22 * s, 4 * s) | _box(cy, cx + 3 * s, 22 * s, 4 * s) | _box(cy - 10 * s, cx, 3, 11 * s)
    if label == 2:  # pullover: body and long sleeves
        return _box(cy, cx, 18 * s, 12 * s) | _box(cy - 1, cx - 8 * s, 16 * s, 3.5) | _box(cy - 1, cx + 8 * s, 16 * s, 3.5)
    if label == 3:  # dress: widening towards the hem
        width = 6 + (_Y - (cy - 11 * s)) * 0.6 * s
        return (np.abs(_X - cx) <= width / 2) & (np.abs(_Y - cy) <= 11 * s)
    if label == 4:  # coat: long body, long sleeves, open front
        body = _box(cy, cx, 22 * s, 13 * s) | _box(cy, cx - 8.5 * s, 20 * s, 3.5) | _box(cy, cx + 8.5 * s, 20 * s, 3.5)
        return body & ~_box(cy + 2, cx, 18 * s, 1)
    if label == 5:  # sandal: straps over a sole
        sole = _box(cy + 5, cx, 3, 22 * s)
        straps = (_box(cy, cx, 9 * s, 20 * s) & ((_X.astype(int) % 4) < 2))
        return sole | straps
    if label == 6:  # shirt: body, sleeves and a collar notch
        return (_box(cy, cx, 18 * s, 12 * s) | _box(cy - 2, cx, 4 * s, 24 * s)) & ~_box(cy - 8 * s, cx, 3, 3)
    if label == 7:  # sneaker: low and wide, toe up
        return _box(cy + 3, cx, 7 * s, 22 * s) | _box(cy - 1, cx - 5 * s, 5 * s, 10 * s)
    if label == 8:  # bag: a box with a handle
        handle = _box(cy - 8 * s, cx, 5 * s, 10 * s) & ~_box(cy - 7 * s, cx, 4 * s, 6 * s)
        return _box(cy + 2, cx, 14 * s, 18 * s) | handle
    if label == 9:  # ankle boot: an L
        return _box(cy - 2, cx - 4 * s, 18 * s, 9 * s) | _box(cy + 6 * s, cx + 1, 6 * s, 20 * s)
    raise ValueError(f"label must be 0..9, got {label}")


def make_images(n, seed=0):
    """n images (uint8, shape (n, 28, 28)) and labels (uint8, shape (n,)), classes balanced."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % 10).astype(np.uint8)
    rng.shuffle(labels)
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    for i, label in enumerate(labels):
        mask = _silhouette(int(label), rng)
        brightness = rng.uniform(120, 250)
        texture = rng.normal(0, 18, size=(28, 28)) + 12 * np.sin(_Y * rng.uniform(0.3, 1.2))
        images[i] = np.clip(mask * (brightness + texture), 0, 255).astype(np.uint8)
    return images, labels


def _idx_bytes(magic, array):
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_fashion_mnist(data_dir, n_train=200, n_test=100, seed=0, compress=True):
    """Write a Fashion-MNIST-format data set into ``<data_dir>/FashionMNIST/raw``.

    The four files have the official names (with ``.gz`` when ``compress``),
    so ``torchvision.datasets.FashionMNIST(data_dir)`` reads them as it would
    read the real ones.  Returns the raw folder.
    """
    raw = os.path.join(data_dir, "FashionMNIST", "raw")
    os.makedirs(raw, exist_ok=True)
    for train, n, split_seed in ((True, n_train, seed), (False, n_test, seed + 1)):
        images, labels = make_images(n, split_seed)
        for name, magic, array in zip(FILES[train], (IMAGE_MAGIC, LABEL_MAGIC), (images, labels)):
            data = _idx_bytes(magic, array)
            if compress:
                with gzip.GzipFile(os.path.join(raw, name + ".gz"), "wb", mtime=0) as f:
                    f.write(data)
            else:
                with open(os.path.join(raw, name), "wb") as f:
                    f.write(data)
    return raw
