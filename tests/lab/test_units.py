"""The given parts of the lab package: data pipeline, model contract, training, diagnostics, artifacts."""
import pytest
import torch

pytestmark = pytest.mark.slow


def test_loader_reads_the_gzip_idx_files_through_torchvision(lab, fake_data_dir):
    from torchvision import datasets, transforms

    from autograder.checks.fakedata import make_images

    images, labels = lab.data.load_fashion_mnist(str(fake_data_dir), train=True, download=False)
    assert images.dtype == torch.uint8 and images.shape == (600, 28, 28)
    assert labels.dtype == torch.int64 and labels.shape == (600,)
    expected_images, expected_labels = make_images(600, seed=0)
    assert torch.equal(images, torch.from_numpy(expected_images))
    assert torch.equal(labels, torch.from_numpy(expected_labels).long())
    # decoded once, the floats are exactly what the original per-image ToTensor pipeline gives
    original = datasets.FashionMNIST(str(fake_data_dir), train=True, transform=transforms.ToTensor())
    x = lab.data.to_float(images)
    for i in (0, 1, 599):
        assert torch.equal(x[i], original[i][0])


def test_test_split_and_missing_files(lab, fake_data_dir, tmp_path):
    images, _ = lab.data.load_fashion_mnist(str(fake_data_dir), train=False, download=False)
    assert images.shape == (300, 28, 28)
    with pytest.raises(lab.data.DataUnavailable, match="t10k-labels-idx1-ubyte.gz"):
        lab.data.load_fashion_mnist(str(tmp_path), download=False)


def test_batches_visit_each_image_once_per_epoch(lab):
    x = torch.arange(10)
    gen = torch.Generator().manual_seed(0)
    epoch1 = list(lab.data.batches(x, 4, gen))
    epoch2 = list(lab.data.batches(x, 4, gen))
    assert [len(b) for b in epoch1] == [4, 4] == [len(b) for b in epoch2]  # drop_last
    assert len(set(torch.cat(epoch1).tolist())) == 8
    assert not torch.equal(torch.cat(epoch1), torch.cat(epoch2)), "each epoch has a new order"
    again = list(lab.data.batches(x, 4, torch.Generator().manual_seed(0)))
    assert all(torch.equal(a, b) for a, b in zip(epoch1, again)), "same seed, same batches"
    assert [b.tolist() for b in lab.data.batches(x, 4, shuffle=False, drop_last=False)] == [
        [0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert lab.data.num_batches(10, 4) == 2 and lab.data.num_batches(10, 4, drop_last=False) == 3


def test_forward_matches_the_original_lab(lab):
    torch.manual_seed(0)
    model = lab.vae.VAE(z=8)
    x = torch.rand(5, 1, 28, 28)
    torch.manual_seed(1)
    x_hat, loss, recon, kl = model(x, beta=0.5)
    # the original lab's formulas, written out
    torch.manual_seed(1)
    h = model.enc(x)
    mu, logv = model.mu(h), model.logvar(h)
    z = mu + torch.randn_like(mu) * torch.exp(0.5 * logv)
    xrec = model.dec(z).view(-1, 1, 28, 28)
    r = torch.nn.functional.binary_cross_entropy(xrec, x, reduction="sum") / x.size(0)
    k = -0.5 * torch.sum(1 + logv - mu.pow(2) - logv.exp()) / x.size(0)
    assert torch.allclose(x_hat, xrec)
    assert isinstance(recon, float) and isinstance(kl, float)
    assert recon == pytest.approx(r.item(), rel=1e-5) and kl == pytest.approx(k.item(), rel=1e-5)
    assert torch.allclose(loss, r + 0.5 * k, rtol=1e-5)


def test_forward_calls_the_module_level_functions(lab, monkeypatch):
    calls = []
    monkeypatch.setattr(lab.vae, "reparameterize", lambda mu, logvar: calls.append("z") or mu)
    monkeypatch.setattr(lab.vae, "kl_divergence", lambda mu, logvar: calls.append("kl") or mu.sum() * 0)
    lab.train_vae.VAE(z=4)(torch.rand(2, 1, 28, 28))
    assert calls == ["z", "kl"]


def test_reconstruction_loss_reductions(lab):
    x_hat, x = torch.full((3, 1, 28, 28), 0.5), torch.rand(3, 1, 28, 28).round()
    per_image = lab.vae.reconstruction_loss(x_hat, x, reduction="none")
    assert per_image.shape == (3,)
    assert torch.allclose(per_image, torch.full((3,), 784 * torch.log(torch.tensor(2.0)).item()))
    assert torch.allclose(lab.vae.reconstruction_loss(x_hat, x, "sum"), per_image.sum())
    assert torch.allclose(lab.vae.reconstruction_loss(x_hat, x), per_image.mean())
    with pytest.raises(ValueError, match="'none', 'sum', 'mean'"):
        lab.vae.reconstruction_loss(x_hat, x, reduction="avg")


def test_train_returns_history_and_lowers_the_loss(lab):
    from autograder.checks.fakedata import make_images

    images, _ = make_images(512, seed=3)
    x = lab.data.to_float(torch.from_numpy(images))
    lab.train_vae.set_seed(0)
    model = lab.vae.VAE(z=4)
    lines = []
    history = lab.train_vae.train(model, x, epochs=3, batch_size=64, warmup_epochs=2, seed=0, log=lines.append)
    assert [row["beta"] for row in history] == [0.0, 0.5, 1.0]
    assert history[-1]["loss"] < 0.8 * history[0]["loss"]
    assert len(lines) == 3 and lines[0].startswith("ep0: loss")
    with pytest.raises(ValueError, match="at least one full batch"):
        lab.train_vae.train(model, x[:10], batch_size=64)


def test_acceptance_fails_a_broken_objective_and_names_the_kl_term(lab, tmp_path):
    samples = tmp_path / "samples.png"
    samples.write_bytes(b"png")

    def history(*rows):
        return [{"epoch": e, "loss": loss, "recon": loss, "kl": kl, "beta": 1.0} for e, (loss, kl) in enumerate(rows)]

    healthy = lab.diagnostics.acceptance(history((500.0, 10.0), (300.0, 12.0)), str(samples))
    assert healthy["passed"] and healthy["objective_problem"] is None
    # the KL's sign flipped: the loss falls without bound, far more than 20%
    flipped = lab.diagnostics.acceptance(history((440.0, -25.0), (-1e23, -4.8e23)), str(samples))
    assert flipped["loss_dropped_enough"] and not flipped["passed"]
    assert "KL term was negative" in flipped["objective_problem"] and "sign" in flipped["objective_problem"]
    assert "epoch 1" in flipped["objective_problem"]
    for rows, words in ((((500.0, 10.0), (300.0, float("nan"))), "KL term became nan"),
                        (((500.0, 10.0), (300.0, float("inf"))), "KL term became inf"),
                        (((500.0, 0.0), (-5.0, 0.0)), "the loss was -5")):
        verdict = lab.diagnostics.acceptance(history(*rows), str(samples))
        assert not verdict["passed"] and words in verdict["objective_problem"], verdict
        assert "KL" in verdict["objective_problem"]
    # rounding: a collapsed posterior's KL may be a hair below 0
    assert lab.diagnostics.acceptance(history((500.0, 1e-7), (300.0, -1e-7)), str(samples))["passed"]


def test_diagnose_flags_kl_collapse_and_gray_samples(lab):
    torch.manual_seed(0)
    model = lab.vae.VAE(z=8)
    x = torch.rand(256, 1, 28, 28)
    healthy = lab.diagnostics.diagnose(model, x, torch.rand(64, 1, 28, 28))
    assert len(healthy["kl_per_dim"]) == 8
    # a collapsed encoder: q(z|x) = N(0, I) for every x
    for head in (model.mu, model.logvar):
        torch.nn.init.zeros_(head.weight)
        torch.nn.init.zeros_(head.bias)
    collapsed = lab.diagnostics.diagnose(model, x, torch.full((64, 1, 28, 28), 0.5))
    assert collapsed["active_units"] == 0
    assert collapsed["kl_per_dim"] == pytest.approx([0.0] * 8)
    text = " ".join(collapsed["warnings"])
    assert "KL collapse" in text and "--warmup-epochs" in text and "--beta 0.5" in text
    assert "All-gray samples" in text and "--lr" in text and "--epochs" in text
    assert not any("gray" in w for w in healthy["warnings"])


def test_set_seed_makes_sampling_repeatable(lab, monkeypatch):
    import os

    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    lab.train_vae.set_seed(5)
    assert "PYTHONHASHSEED" not in os.environ, "read only at interpreter start: setting it at run time does nothing"
    a = torch.randn(3)
    lab.train_vae.set_seed(5)
    assert torch.equal(a, torch.randn(3))
    assert torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(False)


def test_decoded_cache_skips_torchvision_and_follows_the_raw_files(tmp_path, fake_data_dir):
    import os
    import shutil
    import subprocess
    import sys

    from support import SOLUTIONS, offline_env

    data_dir = tmp_path / "data"
    shutil.copytree(fake_data_dir / "FashionMNIST" / "raw", data_dir / "FashionMNIST" / "raw")
    probe = ("import sys; from lab6_generative.data import load_fashion_mnist as load; "
             f"x, y = load({str(data_dir)!r}, download=False); "
             "print(int(x.sum()), int(y.sum()), 'torchvision' in sys.modules)")

    def load():
        proc = subprocess.run([sys.executable, "-c", probe], cwd=SOLUTIONS, env=offline_env(),
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.split()

    first = load()
    assert first[2] == "True", "the first load goes through torchvision"
    assert (data_dir / "FashionMNIST" / "lab6-cache" / "train.safetensors").exists()
    second = load()
    assert second == first[:2] + ["False"], "the second load reads the cache, without torchvision"
    # replace the raw images: the cache must notice and decode again
    from autograder.checks.fakedata import write_fashion_mnist

    other = tmp_path / "other"
    write_fashion_mnist(str(other), n_train=600, n_test=300, seed=9, compress=False)
    raw = data_dir / "FashionMNIST" / "raw" / "train-images-idx3-ubyte"
    shutil.copyfile(other / "FashionMNIST" / "raw" / "train-images-idx3-ubyte", raw)
    os.utime(raw, ns=(1, 1))
    third = load()
    assert third[2] == "True" and third[0] != first[0]


def test_pictures_from_a_small_test_split(lab, tmp_path):
    from PIL import Image

    model = lab.vae.VAE(z=4)
    samples = lab.artifacts.save_pictures(model, torch.rand(20, 1, 28, 28), str(tmp_path), seed=0)
    assert samples.shape == (64, 1, 28, 28)
    assert Image.open(tmp_path / "samples.png").size == (8 * 30 + 2, 8 * 30 + 2)
    # 20 test images: two whole rows of 8 originals, each above its reconstructions
    assert Image.open(tmp_path / "reconstructions.png").size == (8 * 30 + 2, 4 * 30 + 2)
    lab.artifacts.save_pictures(model, torch.rand(3, 1, 28, 28), str(tmp_path), seed=0)
    assert Image.open(tmp_path / "reconstructions.png").size == (3 * 30 + 2, 2 * 30 + 2)
