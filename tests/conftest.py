"""Fixtures shared by this repository's tests.

No test needs the network: ``fake_data_dir`` writes a tiny Fashion-MNIST in the
real format (gzip'd IDX files with the official names and magic numbers) that
the lab's real torchvision loader reads.
"""
import sys

import pytest

from support import ROOT, SOLUTIONS

sys.path.insert(0, str(ROOT))  # the repository's packages (autograder, platforms, release)

from autograder.checks.fakedata import write_fashion_mnist  # noqa: E402


@pytest.fixture(scope="session")
def fake_data_dir(tmp_path_factory):
    """A data dir with 600 training and 300 test images in FashionMNIST/raw/*.gz."""
    data_dir = tmp_path_factory.mktemp("fashion")
    write_fashion_mnist(str(data_dir), n_train=600, n_test=300, seed=0)
    return data_dir


@pytest.fixture
def lab(monkeypatch):
    """Import the reference package ``lab6_generative`` from solutions/."""
    monkeypatch.syspath_prepend(str(SOLUTIONS))
    for name in [m for m in sys.modules if m == "lab6_generative" or m.startswith("lab6_generative.")]:
        monkeypatch.delitem(sys.modules, name)
    import lab6_generative.anomaly
    import lab6_generative.artifacts
    import lab6_generative.cli
    import lab6_generative.diagnostics
    import lab6_generative.train_vae
    return lab6_generative


@pytest.fixture(scope="session")
def clean_python(tmp_path_factory):
    """A Python that sees this venv's packages but not this repository's autograder (support/platform_tools.py)."""
    from support import platform_tools

    return platform_tools.clean_python(str(tmp_path_factory.mktemp("python") / "venv"))
