"""The lab notebook (solutions/lab6_vae.ipynb): its content, a full run, and `nbgrader validate`.

The runs use the tiny offline Fashion-MNIST (``fake_data_dir``) through
LAB6_DATA_DIR and shrink the training with LAB6_FAST=1, in a temporary copy of
solutions/ so that nothing (outputs/, caches) is written into the repository.
"""
import os
import re
import shutil
import subprocess
import sys
import time

import nbformat
import pytest

from support import SOLUTIONS, offline_env

pytestmark = pytest.mark.slow

NOTEBOOK = SOLUTIONS / "lab6_vae.ipynb"
TEST_CELLS = {"test_reparameterize": "reparameterize", "test_kl_divergence": "kl_divergence",
              "test_kl_warmup": "kl_warmup"}
ANSWER_CELLS = ("q1_answer", "q2_answer", "q3_answer")


def notebook_env(data_dir):
    bindir = os.path.dirname(sys.executable)
    return offline_env(LAB6_DATA_DIR=str(data_dir), LAB6_FAST="1",
                       PATH=bindir + os.pathsep + os.environ.get("PATH", ""))


def lab_copy(tmp_path):
    work = tmp_path / "lab"
    shutil.copytree(SOLUTIONS, work, ignore=shutil.ignore_patterns("__pycache__", ".data", "outputs",
                                                                    ".pytest_cache", ".ipynb_checkpoints"))
    return work


@pytest.fixture(scope="module")
def nb():
    return nbformat.read(NOTEBOOK, as_version=4)


def cells_by_id(nb):
    return {cell.id: cell for cell in nb.cells}


def test_notebook_is_valid_and_stored_without_outputs(nb):
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"cell {cell.id} has stored outputs"


def test_notebook_covers_the_handout(nb):
    text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    for needle in ("Objectives", "ELBO", "reparameterization trick", "β-VAE", "KL warm-up", "KL collapse",
                   r"z = \mu + \sigma \odot \varepsilon", r"\operatorname{KL}(x) = \frac12",
                   r"\beta_e = \beta_{\max}\cdot\min", "AUROC", "interpolation", "deepfake",
                   "denoising autoencoder", "diffusion model", "Fashion-MNIST", "MIT License"):
        assert needle in text, f"the notebook's text should cover {needle!r}"
    code = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    for needle in ("from lab6_generative", "train(", 'os.environ.get("LAB6_DATA_DIR", ".data")', "roc_auc_score",
                   "roc_curve", "interpolate(", "BETAS = (0.5, 1.0, 4.0)", '("no warm-up", 0)', "HOLDOUT",
                   "FancyArrowPatch"):
        assert needle in code, f"the notebook's code should contain {needle!r}"


def test_nbgrader_cells(nb):
    cells = cells_by_id(nb)
    total = 0
    for grade_id, function in TEST_CELLS.items():
        meta = cells[grade_id].metadata.nbgrader
        assert meta["grade"] and not meta["solution"] and meta["locked"] and meta["grade_id"] == grade_id
        assert meta["points"] > 0
        total += meta["points"]
        source = cells[grade_id].source
        assert "from lab6_generative" in source and f"import {function}" in source, (
            f"{grade_id} must test the package's {function}")
        public, hidden = source.split("### BEGIN HIDDEN TESTS")
        assert "assert" in public and "assert" in hidden and "### END HIDDEN TESTS" in hidden
        # nbgrader keeps points in a test cell's metadata (above), but only grading.yml's checks grade the
        # code: the cell must not tell students it is worth points of its own.
        first = source.splitlines()[0]
        assert "no points" in first and not re.search(r"\d\s*points?", first), (
            f"{grade_id}'s first line must say the cell earns no points, not claim some")
    for grade_id in ANSWER_CELLS:
        cell = cells[grade_id]
        meta = cell.metadata.nbgrader
        assert cell.cell_type == "markdown" and meta["grade"] and meta["solution"] and meta["points"] > 0
        assert len(cell.source) > 300, f"{grade_id} should hold a model answer for the graders"
    assert total == 8
    ids = [cell.metadata.nbgrader["grade_id"] for cell in nb.cells if "nbgrader" in cell.metadata]
    assert len(ids) == len(set(ids)), "grade ids must be unique"
    # The test cells come before the first training, so they grade even if a later cell fails.
    order = [cell.id for cell in nb.cells]
    assert max(order.index(g) for g in TEST_CELLS) < order.index("train")


@pytest.fixture(scope="module")
def executed(tmp_path_factory, fake_data_dir):
    """The solution notebook run top to bottom with nbclient, as a student runs it."""
    from nbclient import NotebookClient

    work = lab_copy(tmp_path_factory.mktemp("notebook"))
    nb = nbformat.read(work / "lab6_vae.ipynb", as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(work)}}).execute(env=notebook_env(fake_data_dir))
    return nb, work, time.perf_counter() - start


def outputs_of(cell, kind):
    if kind == "image":
        return [o for o in cell.outputs if "image/png" in o.get("data", {})]
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def test_notebook_runs_top_to_bottom_on_the_offline_data(executed):
    nb, work, seconds = executed
    errors = [(c.id, o.ename) for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors, errors
    assert seconds < 120, f"the notebook took {seconds:.0f} s on the tiny data"
    cells = cells_by_id(nb)
    for cell_id in ("diagram", "curves", "pictures", "beta", "warmup", "anomaly", "interpolation"):
        assert outputs_of(cells[cell_id], "image"), f"cell {cell_id} should show a figure"
    for grade_id, function in TEST_CELLS.items():
        assert f"{function}: public checks passed" in outputs_of(cells[grade_id], "text")
    assert "FAST = True" in outputs_of(cells["setup"], "text")
    assert (work / "outputs" / "samples.png").stat().st_size > 1000


def test_notebook_reports_the_experiments(executed):
    nb, _, _ = executed
    cells = cells_by_id(nb)
    beta_table = outputs_of(cells["beta"], "text").splitlines()
    assert [line.split()[0] for line in beta_table[1:4]] == ["0.5", "1.0", "4.0"]
    kl = [float(line.split()[2]) for line in beta_table[1:4]]
    assert kl[0] > kl[2], f"a larger beta should give a smaller KL on the test images: {beta_table}"
    anomaly = outputs_of(cells["anomaly"], "text")
    assert "held-out class 9 (Ankle boot)" in anomaly
    aurocs = [float(part.split("= ")[1]) for part in anomaly.strip().split(": ", 1)[1].split(", ")]
    assert len(aurocs) == 2 and all(0.0 <= value <= 1.0 for value in aurocs)
    assert "no warm-up" in outputs_of(cells["warmup"], "text")


def test_nbgrader_validate_passes_on_the_solution_notebook(tmp_path, fake_data_dir):
    work = lab_copy(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "validate", "lab6_vae.ipynb"], cwd=work,
                          env=notebook_env(fake_data_dir), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Success! Your notebook passes all the tests." in proc.stdout, proc.stdout[-3000:]
