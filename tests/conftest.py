"""Fixtures shared by this repository's tests, and the two tiers.

No test needs the network: ``fake_data_dir`` writes a tiny Fashion-MNIST in the
real format (gzip'd IDX files with the official names and magic numbers) that
the lab's real torchvision loader reads.

Tiers: a test that starts a process of any kind (a grading worker, a sandbox,
nbgrader, git, a training run) or needs torch is marked ``slow``; the rest
(``make test-fast``, ``pytest -m "not slow"``) are pure functions on hand-made
data.  With ``-m "not slow"`` a file marked slow as a whole (a top-level
``pytestmark = pytest.mark.slow``) is not even imported: the fast tier does
not wait for what those files import (torch, nbgrader) or build at import time.

In parallel (``make test``: pytest-xdist with ``--dist loadfile``) each file
runs in one worker, so that a module-scoped fixture (one graded class, one
release, one training run) is built once, not once per worker.  (Grouping
only those tests, ``xdist_group`` + ``--dist loadgroup``, would balance
better, but pytest-xdist 3.8 cannot attach the group under pytest 9.2's node
ids: the marks are silently ignored, pytest-dev/pytest-xdist#1386.)
"""
import re
import sys

import pytest

from support import ROOT, SOLUTIONS

sys.path.insert(0, str(ROOT))  # the repository's packages (autograder, platforms, release)

from autograder.checks.fakedata import write_fashion_mnist  # noqa: E402

_WHOLE_FILE_SLOW = re.compile(rb"^pytestmark\s*=\s*\[?\s*pytest\.mark\.slow\b", re.M)


def pytest_ignore_collect(collection_path, config):
    """Under exactly ``-m "not slow"``, skip the files whose every test is slow, unimported."""
    if (config.getoption("markexpr") or "").split() != ["not", "slow"]:
        return None
    if collection_path.suffix == ".py" and collection_path.name.startswith("test_"):
        if _WHOLE_FILE_SLOW.search(collection_path.read_bytes()):
            return True
    return None


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


@pytest.fixture(scope="session")
def template_for():
    """``template_for(mechanism)``: one verified template process per sandbox for this test process.

    Tests that grade many submissions in process (the catalogues) fork their
    workers from it, as the pool's grading processes do, instead of paying a
    Python and an import of torch per submission.  A forked worker grades
    exactly as a fresh one (tests/autograder/test_template_process.py and
    ``benchmarks/grade_snapshot.py --pool``); the fresh path keeps its own tests.
    """
    from autograder import rubric, sandbox
    from autograder.grading.template import Template, TemplateFailure

    made = {}

    def template_for(mechanism):
        """The template, or None where none can be used (the workers then start from nothing)."""
        if mechanism not in made:
            limits = rubric.load().limits
            try:
                made[mechanism] = Template(mechanism, limits)
            except (TemplateFailure, OSError):
                made[mechanism] = None
            else:
                try:
                    sandbox.verify_template(made[mechanism], limits)
                except sandbox.SandboxBroken:
                    made.pop(mechanism).close()
                    made[mechanism] = None
        return made[mechanism]

    yield template_for
    for template in made.values():
        if template is not None:
            template.close()
