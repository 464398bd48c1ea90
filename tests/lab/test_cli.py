"""The command-line helpers both programs share (lab6_generative/cli.py): one line, the right exit status."""
import argparse

import pytest
import torch

pytestmark = pytest.mark.slow


def exits(capsys, code, call, *args):
    """Run ``call(*args)``; it must exit with ``code`` after one line on stderr, which is returned."""
    with pytest.raises(SystemExit) as stop:
        call(*args)
    assert stop.value.code == code
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_fail_prints_one_line_and_exits(lab, capsys):
    assert exits(capsys, 1, lab.cli.fail, "no data") == "error: no data\n"
    assert exits(capsys, 2, lab.cli.fail, "bad option", 2) == "error: bad option\n"


def test_numbers_are_checked_against_their_bounds(lab):
    positive = lab.cli.number(float, 0, inclusive=False)
    assert positive("1e-3") == 1e-3
    for text, message in (("0", "must be > 0, got 0"), ("nan", "must be > 0, got nan"),
                          ("inf", "must be > 0, got inf"), ("fast", "expected a number, got 'fast'")):
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            positive(text)
    seed = lab.cli.number(int, 0, high=9)
    assert seed("0") == 0 and seed("9") == 9
    with pytest.raises(argparse.ArgumentTypeError, match="must be <= 9, got 10"):
        seed("10")
    with pytest.raises(argparse.ArgumentTypeError, match="expected an integer, got '1.5'"):
        seed("1.5")


def test_parser_errors_are_one_line_with_exit_2(lab, capsys):
    parser = lab.cli.build_parser("prog", "A program.")
    assert parser.parse_args([]).epochs == 5 and parser.parse_args([]).device == "auto"
    err = exits(capsys, 2, parser.parse_args, ["--z", "0"])
    assert err == "prog: error: argument --z: must be >= 1, got 0 (see --help)\n"


def test_cuda_without_a_gpu_exits_2(lab, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert lab.cli.pick_device("auto") == torch.device("cpu")
    assert lab.cli.pick_device("cpu") == torch.device("cpu")
    assert "--device cuda was asked for but torch sees no CUDA GPU" in exits(capsys, 2, lab.cli.pick_device, "cuda")


def test_out_dir_is_created_and_checked_before_training(lab, capsys, tmp_path):
    lab.cli.make_out_dir(str(tmp_path / "runs" / "a"))
    assert (tmp_path / "runs" / "a").is_dir() and not list((tmp_path / "runs" / "a").iterdir())
    (tmp_path / "file").write_text("")
    assert "cannot write to --out-dir" in exits(capsys, 2, lab.cli.make_out_dir, str(tmp_path / "file"))


def test_missing_data_exits_1_naming_the_folder(lab, capsys, tmp_path, monkeypatch):
    import functools

    # the real loader, but never the network (load_split would download the missing files)
    monkeypatch.setattr(lab.cli, "load_fashion_mnist", functools.partial(lab.data.load_fashion_mnist, download=False))
    err = exits(capsys, 1, lab.cli.load_split, str(tmp_path), False)
    assert str(tmp_path / "FashionMNIST" / "raw") in err and "t10k-images-idx3-ubyte.gz" in err


def test_unfinished_todo_names_the_stub_and_its_file(lab):
    def kl_warmup(epoch, warmup_epochs, beta_max=1.0):  # a stub, as the release has it
        raise NotImplementedError()

    with pytest.raises(NotImplementedError) as raised:
        kl_warmup(0, 3)
    message = lab.cli.unfinished_todo(raised.value)
    assert message.startswith("kl_warmup() in ") and "test_cli.py is not implemented yet" in message
    assert message.endswith(": fill in its TODO, then run pytest")
