"""The programs students run, end to end on the tiny offline Fashion-MNIST."""
import json

import pytest

from support import ASSIGNMENT, SOLUTIONS, run_module

pytestmark = pytest.mark.slow

TRAIN = "lab6_generative.train_vae"
ARTIFACTS = ("samples.png", "reconstructions.png", "loss_curve.png", "history.json", "vae.safetensors")


def train(out_dir, data_dir, *extra, tree=SOLUTIONS):
    return run_module(tree, TRAIN, "--data-dir", data_dir, "--subset", 512, "--epochs", 3,
                      "--out-dir", out_dir, "--device", "cpu", *extra)


@pytest.fixture(scope="module")
def two_runs(fake_data_dir, tmp_path_factory):
    """The training command run twice with the same seed."""
    runs = []
    for name in ("first", "second"):
        out = tmp_path_factory.mktemp(name)
        runs.append((train(out, fake_data_dir), out))
    return runs


def test_training_writes_every_artifact_and_reports_acceptance(two_runs):
    proc, out = two_runs[0]
    assert proc.returncode == 0, proc.stderr
    for name in ARTIFACTS:
        assert (out / name).stat().st_size > 0, f"{name} missing"
    history = json.loads((out / "history.json").read_text())
    assert [row["epoch"] for row in history["epochs"]] == [0, 1, 2]
    assert set(history["epochs"][0]) == {"epoch", "loss", "recon", "kl", "beta", "seconds"}
    assert [row["beta"] for row in history["epochs"]] == pytest.approx([0, 1 / 3, 2 / 3])
    for row in history["epochs"]:
        assert row["loss"] == pytest.approx(row["recon"] + row["beta"] * row["kl"], rel=1e-4)
    # one line per epoch, as the original lab prints them
    assert [line.split(":")[0] for line in proc.stdout.splitlines() if line.startswith("ep")] == ["ep0", "ep1", "ep2"]
    drop = history["acceptance"]["loss_drop"]
    assert "Acceptance: PASS" in proc.stdout and drop >= 0.2
    assert f"{100 * drop:.1f}%" in proc.stdout


def test_same_seed_same_history(two_runs):
    (first, out1), (second, out2) = two_runs
    assert first.returncode == second.returncode == 0

    def without_timings(out):
        history = json.loads((out / "history.json").read_text())
        for row in history["epochs"]:
            row.pop("seconds")
        return history

    assert without_timings(out1) == without_timings(out2)
    assert (out1 / "vae.safetensors").read_bytes() == (out2 / "vae.safetensors").read_bytes()


def test_another_seed_gives_another_history(two_runs, fake_data_dir, tmp_path):
    proc = train(tmp_path, fake_data_dir, "--seed", 7, "--epochs", 1)
    assert proc.returncode == 0, proc.stderr
    other = json.loads((tmp_path / "history.json").read_text())["epochs"][0]["loss"]
    first = json.loads((two_runs[0][1] / "history.json").read_text())["epochs"][0]["loss"]
    assert other != first


def test_a_flipped_kl_fails_acceptance_and_the_message_names_the_kl_term(fake_data_dir, tmp_path):
    """A KL whose sign is flipped drives the loss far below zero: that is no acceptance."""
    import shutil

    tree = tmp_path / "flipped"
    shutil.copytree(SOLUTIONS, tree, ignore=shutil.ignore_patterns("__pycache__", ".data", "outputs"))
    vae = tree / "lab6_generative" / "vae.py"
    source = vae.read_text()
    old = "per_example = 0.5 * torch.sum("
    assert old in source
    vae.write_text(source.replace(old, "per_example = -0.5 * torch.sum("))
    proc = train(tmp_path / "out", fake_data_dir, tree=tree)
    assert proc.returncode == 0, proc.stderr
    verdict = next(line for line in proc.stdout.splitlines() if line.startswith("Acceptance:"))
    assert verdict.startswith("Acceptance: FAIL: the KL term was negative"), verdict
    assert "sign in kl_divergence" in verdict and "PASS" not in proc.stdout
    history = json.loads((tmp_path / "out" / "history.json").read_text())
    assert history["acceptance"]["passed"] is False and "KL" in history["acceptance"]["objective_problem"]


def exits(capsys, code, main, argv):
    """``main(argv)`` run in this process must exit with ``code`` after one line on stderr, which is returned.

    The programs' errors are tested in process (each subprocess costs a torch
    import); ``test_stubs_say_what_is_missing`` runs one error case as the
    student does, through ``python -m``.
    """
    with pytest.raises(SystemExit) as stop:
        main([str(arg) for arg in argv])
    assert stop.value.code == code
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    return lines[0], captured.out


@pytest.mark.parametrize("args, message", [
    (["--epochs", "-1"], "--epochs: must be >= 1, got -1"),
    (["--epochs", "two"], "--epochs: expected an integer, got 'two'"),
    (["--device", "tpu"], "invalid choice: 'tpu'"),
    (["--lr", "0"], "--lr: must be > 0"),
    (["--batch-sise", "64"], "unrecognized arguments: --batch-sise"),
    (["--seed", "5000000000"], "--seed: must be <= 4294967295"),
])
def test_bad_arguments_get_one_line_and_exit_2(lab, capsys, tmp_path, args, message):
    line, _ = exits(capsys, 2, lab.train_vae.main, ["--out-dir", tmp_path, *args])
    assert message in line
    assert not list(tmp_path.iterdir()), "a bad option writes nothing"


def test_missing_data_offline_names_the_files_and_the_folder(lab, capsys, tmp_path):
    data_dir = tmp_path / "nowhere"
    line, _ = exits(capsys, 1, lab.train_vae.main, ["--data-dir", data_dir, "--out-dir", tmp_path / "out"])
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        assert name in line
    assert str(data_dir / "FashionMNIST" / "raw") in line
    assert not data_dir.exists(), "a mistyped --data-dir leaves no empty folders behind"


def test_unwritable_out_dir_fails_before_training(lab, capsys, tmp_path, fake_data_dir):
    not_a_folder = tmp_path / "results.txt"
    not_a_folder.write_text("")
    line, out = exits(capsys, 2, lab.train_vae.main,
                      ["--data-dir", fake_data_dir, "--subset", 512, "--out-dir", not_a_folder])
    assert f"cannot write to --out-dir {not_a_folder}" in line
    assert "ep0" not in out, "it must fail before training"


def test_damaged_data_file_is_reported(lab, capsys, tmp_path, fake_data_dir):
    import shutil

    data_dir = tmp_path / "data"
    shutil.copytree(fake_data_dir, data_dir)
    raw = data_dir / "FashionMNIST" / "raw"
    (raw / "train-images-idx3-ubyte.gz").unlink()
    (raw / "train-images-idx3-ubyte").write_bytes(b"not an idx file")
    line, _ = exits(capsys, 1, lab.train_vae.main, ["--data-dir", data_dir, "--out-dir", tmp_path / "out"])
    assert "could not be read" in line


def test_batch_larger_than_subset_is_refused(lab, capsys, tmp_path, fake_data_dir):
    line, out = exits(capsys, 2, lab.train_vae.main, ["--data-dir", fake_data_dir, "--subset", 512,
                                                      "--batch-size", 1024, "--out-dir", tmp_path])
    assert "--batch-size 1024 is larger than --subset 512" in line
    assert "ep0" not in out


@pytest.mark.parametrize("program, mistake", [("train_vae", "per_example"), ("anomaly", "per_example"),
                                              ("train_vae", "float"), ("train_vae", "none")])
def test_a_kl_training_cannot_use_is_one_sentence_not_a_traceback(lab, capsys, monkeypatch, tmp_path,
                                                                   fake_data_dir, program, mistake):
    """A kl_divergence that ignores its reduction (the per-example values), returns a Python float or returns
    nothing: before, VAE.forward raised "a Tensor with 128 elements cannot be converted to Scalar" (or "'float'
    object has no attribute 'item'", or a TypeError) from deep inside training."""
    honest = lab.vae.kl_divergence

    def wrong(mu, logvar, reduction="mean"):
        if mistake == "none":     # computed, never returned
            honest(mu, logvar)
            return None
        return honest(mu, logvar, reduction="none") if mistake == "per_example" else honest(mu, logvar).item()

    monkeypatch.setattr(lab.vae, "kl_divergence", wrong)
    argv = ["--data-dir", fake_data_dir, "--subset", 512, "--epochs", 1, "--out-dir", tmp_path]
    if program == "anomaly":
        argv += ["--holdout-class", 1]
    line, out = exits(capsys, 1, getattr(lab, program).main, argv)
    assert line == {
        "per_example": "error: kl_divergence(mu, logvar) gave a tensor of shape (128,), not one number: its default "
                       "reduction, 'mean', averages the examples' KL over the batch; pytest shows more",
        "float": "error: kl_divergence(mu, logvar) gave a float, not a tensor: the loss needs its gradient, so "
                 "return the torch result (no .item() or float()); pytest shows more",
        "none": "error: kl_divergence(mu, logvar) returned None: it needs a return statement; pytest shows more",
    }[mistake], line
    assert "ep0" not in out and not list(tmp_path.glob("*.json")), "it stops in the first batch, before any result"


def test_a_kl_of_one_element_still_trains(lab, monkeypatch, tmp_path, fake_data_dir, capsys):
    """A KL of shape (1,) where a scalar is due trains as before: the grader charges it in its shape checks
    only, not again in the training and determinism checks, which train through VAE.forward."""
    honest = lab.vae.kl_divergence
    monkeypatch.setattr(lab.vae, "kl_divergence", lambda mu, logvar, reduction="mean": honest(mu, logvar).reshape(1))
    assert lab.train_vae.main([str(a) for a in ("--data-dir", fake_data_dir, "--subset", 512, "--epochs", 1,
                                                "--out-dir", tmp_path)]) == 0
    assert "ep0" in capsys.readouterr().out and (tmp_path / "history.json").exists()


def test_any_other_error_in_training_keeps_its_traceback(lab, monkeypatch, tmp_path, fake_data_dir):
    """Only VAE.forward's own KLValueError becomes one sentence: another ValueError from the student's code (here
    a kl_warmup that refuses epoch 0) keeps its traceback, which shows where it came from."""
    def refusing(epoch, warmup_epochs, beta_max=1.0):
        raise ValueError("epoch must be positive")

    monkeypatch.setattr(lab.train_vae, "kl_warmup", refusing)
    with pytest.raises(ValueError, match="epoch must be positive") as raised:
        lab.train_vae.main([str(a) for a in ("--data-dir", fake_data_dir, "--subset", 512, "--epochs", 1,
                                             "--out-dir", tmp_path)])
    assert not isinstance(raised.value, lab.vae.KLValueError)


def test_stubs_say_what_is_missing(tmp_path, fake_data_dir):
    """The one error case run as the student runs it: ``python -m`` on the released stubs."""
    proc = train(tmp_path, fake_data_dir, tree=ASSIGNMENT)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "kl_warmup() in lab6_generative/schedules.py is not implemented yet" in proc.stderr


def test_anomaly_holdout_writes_auroc_plots_and_interpolation(lab, capsys, tmp_path, fake_data_dir):
    """Trained in process; the saved model is then scored again as a student runs it, with ``python -m``."""
    assert lab.anomaly.main([str(a) for a in ("--holdout-class", 1, "--data-dir", fake_data_dir,
                                             "--subset", 512, "--epochs", 2, "--out-dir", tmp_path)]) == 0
    printed = capsys.readouterr()
    assert not printed.err, printed.err
    result = json.loads((tmp_path / "anomaly.json").read_text())["results"][0]
    assert result["holdout_class"] == 1 and result["class_name"] == "Trouser"
    assert set(result["auroc"]) == {"reconstruction", "neg_elbo"}
    assert all(0.0 <= v <= 1.0 for v in result["auroc"].values())
    for name in ("anomaly_class1.png", "interpolation.png", "vae_holdout1.safetensors"):
        assert (tmp_path / name).stat().st_size > 0
    assert f"{result['auroc']['reconstruction']:.3f}" in printed.out

    # the saved model can be scored again without training, with the same result
    again = run_module(SOLUTIONS, "lab6_generative.anomaly", "--holdout-class", 1, "--data-dir", fake_data_dir,
                       "--model", tmp_path / "vae_holdout1.safetensors", "--out-dir", tmp_path / "again")
    assert again.returncode == 0, again.stderr
    rescored = json.loads((tmp_path / "again" / "anomaly.json").read_text())["results"][0]
    assert rescored["auroc"] == result["auroc"]
    assert "Note:" not in again.stdout  # trained with this very class held out


def test_anomaly_all_classes_prints_a_table(lab, capsys, tmp_path, fake_data_dir):
    assert lab.anomaly.main([str(a) for a in ("--all-classes", "--data-dir", fake_data_dir, "--subset", 256,
                                             "--epochs", 1, "--out-dir", tmp_path)]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line[:1].isdigit()]
    assert [int(row.split()[0]) for row in rows] == list(range(10))
    assert len(json.loads((tmp_path / "anomaly.json").read_text())["results"]) == 10
    assert sorted(p.name for p in tmp_path.glob("anomaly_class*.png")) == [f"anomaly_class{c}.png" for c in range(10)]
    assert not (tmp_path / "interpolation.png").exists()


@pytest.mark.parametrize("args, message", [
    (["--holdout-class", "12"], "invalid choice"),
    ([], "one of the arguments --holdout-class --all-classes is required"),
    (["--holdout-class", "1", "--model", "nope.safetensors"], "could not load nope.safetensors"),
    (["--all-classes", "--model", "nope.safetensors"], "--model scores one saved model"),
])
def test_anomaly_bad_arguments(lab, capsys, tmp_path, fake_data_dir, args, message):
    line, _ = exits(capsys, 2, lab.anomaly.main, ["--data-dir", fake_data_dir, "--out-dir", tmp_path, *args])
    assert message in line
