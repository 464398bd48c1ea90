#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
# It installs Python, CPU-only torch/torchvision (PyTorch's CPU wheel index:
# no CUDA libraries), the grader's requirements, and creates the unprivileged
# user that runs student code.
#
# Choose the base image "Ubuntu 24.04" (Python 3.12) in Gradescope's
# autograder settings.  Paths can be moved for a local try-out:
#   AUTOGRADER_DIR (default /autograder), LAB6_VENV (default $AUTOGRADER_DIR/venv),
#   LAB6_SKIP_APT=1 (no apt-get), LAB6_STUDENT_USER (default student; "" for none).
set -euo pipefail
AUTOGRADER_DIR="${AUTOGRADER_DIR:-/autograder}"
SOURCE="$AUTOGRADER_DIR/source"
VENV="${LAB6_VENV:-$AUTOGRADER_DIR/venv}"
STUDENT_USER="${LAB6_STUDENT_USER-student}"

if [ "${LAB6_SKIP_APT:-0}" != 1 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends python3 python3-venv python3-pip
fi

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --disable-pip-version-check -r "$SOURCE/requirements/torch-cpu.txt"
"$VENV/bin/python" -m pip install --disable-pip-version-check -r "$SOURCE/requirements/grader.txt"
"$VENV/bin/python" -c "import torch, torchvision, yaml; print('torch', torch.__version__, 'torchvision', torchvision.__version__)"

if [ -n "$STUDENT_USER" ] && ! id -u "$STUDENT_USER" >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$STUDENT_USER"
fi
