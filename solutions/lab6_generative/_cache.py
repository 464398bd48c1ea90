"""The decoded-data cache behind ``data.load_fashion_mnist`` (nothing to change here for the lab).

torchvision takes over a second to import, which is a good part of a short
training run.  After the first load of a split, its decoded tensors are kept
in ``<data_dir>/FashionMNIST/lab6-cache/{train,test}.safetensors``, so later
runs read them without importing torchvision at all.

Each cache file records where it came from: the name, size and modification
time of the split's two raw files, as one string in the file's metadata.  A
cache whose record no longer matches the raw files (one was replaced,
changed or removed) is ignored and rebuilt, and so is a damaged one.  A data
folder that cannot be written simply gets no cache.
"""
import os


def _cache_file(data_dir, train):
    return os.path.join(data_dir, "FashionMNIST", "lab6-cache", f"{'train' if train else 'test'}.safetensors")


def _fingerprint(raw_folder, names):
    """'name:size:mtime_ns' of each raw file, joined by ';' ('' if one is missing).

    ``names`` are the archive names (``*.gz``) of ``data.RAW_FILES``; what is
    measured is the unpacked file next to each, the one torchvision reads.
    """
    parts = []
    for name in names:
        path = os.path.join(raw_folder, name[: -len(".gz")])
        if not os.path.exists(path):
            return ""
        stat = os.stat(path)
        parts.append(f"{name}:{stat.st_size}:{stat.st_mtime_ns}")
    return ";".join(parts)


def read(data_dir, train, raw_folder, names):
    """(images, labels) from the cache of one split, or None when there is no valid cache."""
    from safetensors import SafetensorError, safe_open

    path, fingerprint = _cache_file(data_dir, train), _fingerprint(raw_folder, names)
    if not fingerprint or not os.path.exists(path):
        return None
    try:
        with safe_open(path, framework="pt") as f:
            if (f.metadata() or {}).get("source") != fingerprint:
                return None
            return f.get_tensor("images"), f.get_tensor("labels")
    except (OSError, SafetensorError):
        return None  # damaged: rebuild it


def write(data_dir, train, raw_folder, names, images, labels):
    """Keep the decoded tensors of one split; silently do nothing when the folder is read-only."""
    from safetensors.torch import save_file

    path = _cache_file(data_dir, train)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        save_file({"images": images.contiguous(), "labels": labels.contiguous()}, path + ".part",
                  metadata={"source": _fingerprint(raw_folder, names)})
        os.replace(path + ".part", path)
    except OSError:
        pass  # a read-only data folder: no cache, load through torchvision every time
