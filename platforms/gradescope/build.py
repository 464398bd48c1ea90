"""Build the Gradescope autograder for Lab 6.

    python -m autograder build gradescope --out DIR    (python -m platforms.gradescope.build: the old spelling)
    make gradescope OUT=DIR

Writes DIR/autograder.zip, to upload in the assignment's "Configure
Autograder" page (base image: Ubuntu 24.04).  Its content:

    setup.sh                    installs Python, CPU torch/torchvision, the grader; creates the user "student"
    run_autograder              grades /autograder/submission -> /autograder/results/results.json
    grade_submission.py         what run_autograder runs
    grader/autograder/, grader/grading.yml    the engine with ALL checks (public and hidden)
    requirements/torch-cpu.txt, requirements/grader.txt
    base/lab6_generative/       the student release's package, for uploads of loose files
    README.md
"""
import os
import shutil
import stat
import sys
import tempfile
import zipfile

from platforms import common

HERE = os.path.dirname(os.path.abspath(__file__))
EXECUTABLES = ("setup.sh", "run_autograder")


def stage(folder, root=None):
    """Lay out the zip's content in ``folder``."""
    for name in EXECUTABLES + ("grade_submission.py", "README.md"):
        shutil.copy2(os.path.join(HERE, name), os.path.join(folder, name))
    common.copy_grader(os.path.join(folder, "grader"), include_hidden=True, root=root)
    common.write(os.path.join(folder, "requirements", "torch-cpu.txt"), common.torch_cpu_requirements_text(root))
    common.write(os.path.join(folder, "requirements", "grader.txt"), common.grader_requirements_text(root))
    package = common.path("assignment", common.PACKAGE, root=root)
    if not os.path.isdir(package):
        raise common.BuildError(f"{package} not found: run make release first")
    common.copy_tree(package, os.path.join(folder, "base", common.PACKAGE))


def write_zip(folder, zip_path):
    """Zip ``folder``'s content (files at the zip's root), executables marked 0755."""
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for dirpath, dirs, files in os.walk(folder):
            dirs.sort()
            for name in sorted(files):
                full = os.path.join(dirpath, name)
                arc = os.path.relpath(full, folder).replace(os.sep, "/")
                info = zipfile.ZipInfo(arc, date_time=(2020, 1, 1, 0, 0, 0))
                mode = 0o755 if arc in EXECUTABLES else 0o644
                info.external_attr = (stat.S_IFREG | mode) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                with open(full, "rb") as f:
                    zf.writestr(info, f.read())


def build(out, root=None):
    out = common.prepare_out(out)
    zip_path = os.path.join(out, "autograder.zip")
    with tempfile.TemporaryDirectory(prefix="lab6-gradescope-build-") as tmp:
        stage(tmp, root)
        write_zip(tmp, zip_path)
    return zip_path


def main(argv=None, prog=None):
    return common.run_build(
        "platforms.gradescope.build", __doc__, lambda a: build(a.out, root=a.root),
        lambda zip_path: f"wrote {zip_path} ({os.path.getsize(zip_path) / 1e3:.0f} kB): upload it in Gradescope's "
                         "Configure Autograder page (base image Ubuntu 24.04)", argv, prog=prog)


if __name__ == "__main__":
    sys.exit(common.old_entry_point("platforms.gradescope.build", main))
