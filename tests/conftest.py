"""Fixtures shared by this repository's tests.

No test needs the network: ``fake_data_dir`` writes a tiny Fashion-MNIST in the
real format (gzip'd IDX files with the official names and magic numbers) that
the lab's real torchvision loader reads.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
ASSIGNMENT = ROOT / "assignment"
sys.path.insert(0, str(ROOT))

from autograder.fakedata import write_fashion_mnist  # noqa: E402


@pytest.fixture(scope="session")
def fake_data_dir(tmp_path_factory):
    """A data dir with 600 training and 300 test images in FashionMNIST/raw/*.gz."""
    data_dir = tmp_path_factory.mktemp("fashion")
    write_fashion_mnist(str(data_dir), n_train=600, n_test=300, seed=0)
    return data_dir


def offline_env(**extra):
    """The environment for a subprocess that must not reach the network."""
    env = dict(os.environ, https_proxy="http://127.0.0.1:9", http_proxy="http://127.0.0.1:9",
               HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9", no_proxy="",
               PYTHONDONTWRITEBYTECODE="1", MPLBACKEND="Agg")
    env.update(extra)
    return env


def run_module(tree, module, *args, timeout=300):
    """Run ``python -m module args`` from the root of ``tree`` (solutions/ or assignment/), offline."""
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=tree, env=offline_env(),
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def lab(monkeypatch):
    """Import the reference package ``lab6_generative`` from solutions/."""
    monkeypatch.syspath_prepend(str(SOLUTIONS))
    for name in [m for m in sys.modules if m == "lab6_generative" or m.startswith("lab6_generative.")]:
        monkeypatch.delitem(sys.modules, name)
    import lab6_generative.anomaly
    import lab6_generative.train_vae
    return lab6_generative


@pytest.fixture(scope="session")
def clean_python(tmp_path_factory):
    """A Python that sees this venv's packages but not this repository's autograder (platforms/testing.py)."""
    from platforms import testing

    return testing.clean_python(str(tmp_path_factory.mktemp("python") / "venv"))
