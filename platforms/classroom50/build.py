"""Build the Classroom 50 autograder bundle for Lab 6.

    python -m autograder build classroom50 --out DIR   (python -m platforms.classroom50.build: the old spelling)
    make classroom50 OUT=DIR

DIR is what goes into the config repository's
``CLASSROOM/autograders/lab6_generative/``:

    autograder.py          the entry point the Classroom 50 runner calls
    grader/autograder/     the grading engine with ALL its checks (public and hidden)
    grader/grading.yml     the rubric
    grader/torch-cpu.txt   CPU-only torch/torchvision pins (PyTorch's CPU index)
    grader/requirements.txt  the grader's other requirements
    runtime.json           the assignment's `runtime` block to set (Python version)
    README.md              how to install it, and what "hidden" means here

The bundle must stay under Classroom 50's 10 MB fetch limit; the build fails
if it does not.
"""
import io
import json
import os
import shutil
import sys
import tarfile

from platforms import common

HERE = os.path.dirname(os.path.abspath(__file__))
LIMIT = 10 * 1000 * 1000  # Classroom 50's bundle fetch limit (10 MB)
PYTHON_VERSION = "3.12"
RUNTIME = {"runs-on": "ubuntu-latest", "python": PYTHON_VERSION}


def bundle_tar_size(folder):
    """Size in bytes of the folder as a gzip'd tar (how the bundle is served)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(folder, arcname=os.path.basename(os.path.normpath(folder)) or "bundle")
    return buf.tell()


def build(out, root=None):
    out = common.prepare_out(out)
    shutil.copy2(os.path.join(HERE, "autograder.py"), os.path.join(out, "autograder.py"))
    grader = os.path.join(out, "grader")
    common.copy_grader(grader, include_hidden=True, root=root)
    common.write(os.path.join(grader, "torch-cpu.txt"), common.torch_cpu_requirements_text(root))
    common.write(os.path.join(grader, "requirements.txt"), common.grader_requirements_text(root))
    common.write(os.path.join(out, "runtime.json"), json.dumps(RUNTIME, indent=2) + "\n")
    shutil.copy2(os.path.join(HERE, "README.md"), os.path.join(out, "README.md"))
    size, packed = common.tree_size(out), bundle_tar_size(out)
    if max(size, packed) >= LIMIT:
        raise common.BuildError(f"the bundle is {size} bytes ({packed} packed): over Classroom 50's 10 MB limit")
    return out, size, packed


def main(argv=None, prog=None):
    return common.run_build(
        "platforms.classroom50.build", __doc__, lambda a: build(a.out, root=a.root),
        lambda b: f"wrote the Classroom 50 bundle to {b[0]}/ ({b[1] / 1e6:.2f} MB, {b[2] / 1e6:.2f} MB packed); "
                  "copy it to CLASSROOM/autograders/lab6_generative/ in your classroom50 repository", argv, prog=prog)


if __name__ == "__main__":
    sys.exit(common.old_entry_point("platforms.classroom50.build", main))
