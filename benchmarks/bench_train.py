"""How fast is the lab's training program, against the original lab script?

    .venv/bin/python benchmarks/bench_train.py [--runs 5] [--data-dir DIR]

Three measurements, each the median of ``--runs`` runs, with every ratio
computed from runs taken side by side (interleaved), so that a busy machine
slows both sides alike:

1. end to end: the original script (taken from the handout) against
   ``python -m lab6_generative.train_vae`` with the same defaults (10,000
   images, 5 epochs, batch 128), as separate processes;
2. the data pipeline, one epoch: torchvision ``ToTensor`` + ``DataLoader``
   (the original) against ``data.batches`` over the decoded tensor;
3. the training loop, one epoch: ``train_vae.train`` against a bare loop over
   the same model on pre-batched tensors.

Without ``--data-dir`` it writes a full-size Fashion-MNIST look-alike (60,000
+ 10,000 images in the real file format) to a temporary folder: these
machines cannot download the real set, and speed does not depend on the pixels.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
HANDOUT = ROOT.parent / "shared" / "original" / "lab6-handout.md"
sys.path[:0] = [str(ROOT), str(SOLUTIONS)]


def original_script():
    """The handout's 'Full working example' code block, or None if the handout is not here."""
    if not HANDOUT.exists():
        return None
    text = HANDOUT.read_text(encoding="utf-8")
    match = re.search(r"```python\n(# lab6_generative/train_vae\.py\n.*?)```", text, re.S)
    return match.group(1) if match else None


def wall(cmd, cwd):
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"benchmark command failed: {' '.join(map(str, cmd))}\n{proc.stderr[-2000:]}")
    return elapsed


def end_to_end(data_dir, runs, work):
    script = original_script()
    ours = [sys.executable, "-m", "lab6_generative.train_vae", "--data-dir", str(data_dir),
            "--out-dir", str(work / "ours"), "--device", "cpu"]
    cache = Path(data_dir) / "FashionMNIST" / "lab6-cache"
    shutil.rmtree(cache, ignore_errors=True)
    cold = wall(ours, SOLUTIONS)  # the first run decodes through torchvision and fills the cache
    if script is None:
        print(f"(the handout is not at {HANDOUT}: skipping the original script)")
        times = [wall(ours, SOLUTIONS) for _ in range(runs)]
        return {"ours_s": statistics.median(times), "ours_first_run_s": cold}
    orig_dir = work / "original"
    orig_dir.mkdir()
    (orig_dir / "train_vae.py").write_text(script)
    os.symlink(os.path.abspath(data_dir), orig_dir / ".data")
    original, mine, ratios = [], [], []
    for _ in range(runs):
        a = wall([sys.executable, "train_vae.py"], orig_dir)
        b = wall(ours, SOLUTIONS)
        original.append(a)
        mine.append(b)
        ratios.append(a / b)
    return {"original_s": statistics.median(original), "ours_s": statistics.median(mine),
            "speedup": statistics.median(ratios), "ours_first_run_s": cold}


def data_pipeline(data_dir, runs):
    import torch
    from torch.utils.data import DataLoader, Subset
    from torchvision import datasets, transforms

    from lab6_generative.data import batches, load_fashion_mnist, to_float

    torch.manual_seed(0)
    dataset = Subset(datasets.FashionMNIST(str(data_dir), train=True, transform=transforms.ToTensor()),
                     list(range(10000)))
    loader = DataLoader(dataset, batch_size=128, shuffle=True, num_workers=0, drop_last=True)
    images, _ = load_fashion_mnist(str(data_dir))
    x = to_float(images[:10000])
    generator = torch.Generator().manual_seed(0)
    original, mine, ratios = [], [], []
    for _ in range(runs):
        start = time.perf_counter()
        for xb, _ in loader:
            pass
        a = time.perf_counter() - start
        start = time.perf_counter()
        for xb in batches(x, 128, generator):
            pass
        b = time.perf_counter() - start
        original.append(a)
        mine.append(b)
        ratios.append(a / b)
    return {"original_epoch_s": statistics.median(original), "ours_epoch_s": statistics.median(mine),
            "speedup": statistics.median(ratios)}


def training_loop(data_dir, runs):
    import torch

    from lab6_generative.data import load_fashion_mnist, to_float
    from lab6_generative.train_vae import VAE, train

    images, _ = load_fashion_mnist(str(data_dir))
    x = to_float(images[:10000])
    prebatched = list(x[: 78 * 128].split(128))
    bare, mine, ratios = [], [], []
    for _ in range(runs):
        torch.manual_seed(0)
        model = VAE(z=16)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        start = time.perf_counter()
        for xb in prebatched:
            optimizer.zero_grad()
            _, loss, _, _ = model(xb, beta=1.0)
            loss.backward()
            optimizer.step()
        a = time.perf_counter() - start
        torch.manual_seed(0)
        model = VAE(z=16)
        start = time.perf_counter()
        train(model, x, epochs=1, warmup_epochs=0, progress=False)
        b = time.perf_counter() - start
        bare.append(a)
        mine.append(b)
        ratios.append(a / b)
    return {"bare_epoch_s": statistics.median(bare), "ours_epoch_s": statistics.median(mine),
            "speed_vs_bare": statistics.median(ratios)}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--data-dir", help="a folder with FashionMNIST/raw (default: write a look-alike)")
    p.add_argument("--json", help="also write the figures here")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data_dir = args.data_dir
        if data_dir is None:
            from autograder.checks.fakedata import write_fashion_mnist

            data_dir = str(work / "data")
            print("writing a full-size Fashion-MNIST look-alike (60,000 + 10,000 images) ...", flush=True)
            write_fashion_mnist(data_dir, n_train=60000, n_test=10000, compress=False)
        results = {"runs": args.runs, "cpu_count": os.cpu_count()}
        results["end_to_end"] = end_to_end(data_dir, args.runs, work)
        print("end to end:", json.dumps(results["end_to_end"]), flush=True)
        results["data_pipeline"] = data_pipeline(data_dir, args.runs)
        print("data pipeline:", json.dumps(results["data_pipeline"]), flush=True)
        results["training_loop"] = training_loop(data_dir, args.runs)
        print("training loop:", json.dumps(results["training_loop"]), flush=True)
    e, d, t = results["end_to_end"], results["data_pipeline"], results["training_loop"]
    print(f"\n| measurement (median of {args.runs}) | original | ours | ratio | target |")
    print("|---|---|---|---|---|")
    if "original_s" in e:
        print(f"| default 5-epoch run, end to end | {e['original_s']:.2f} s | {e['ours_s']:.2f} s "
              f"| {e['speedup']:.2f}x faster | >= 2x |")
    print(f"| first run (fills the decoded-data cache) | | {e['ours_first_run_s']:.2f} s | | |")
    print(f"| data pipeline, one epoch of 10,000 | {1000 * d['original_epoch_s']:.0f} ms "
          f"| {1000 * d['ours_epoch_s']:.1f} ms | {d['speedup']:.0f}x faster | >= 10x |")
    print(f"| training loop, one epoch, vs bare loop | {1000 * t['bare_epoch_s']:.0f} ms (bare) "
          f"| {1000 * t['ours_epoch_s']:.0f} ms | {100 * t['speed_vs_bare']:.0f}% of bare speed | >= 80% |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
