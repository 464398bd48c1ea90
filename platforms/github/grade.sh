#!/usr/bin/env bash
# The steps of the grading workflow (.github/workflows/grade.yml), one
# subcommand each, so that they run the same on your machine as on GitHub:
#
#   bash ci/grade.sh install   # CPU-only torch + torchvision, then requirements.txt
#   bash ci/grade.sh sandbox   # let the grader's sandbox (bubblewrap) run, and say which one will
#   bash ci/grade.sh test      # the public tests (pytest)
#   bash ci/grade.sh grade     # the autograder: score table, results.json
#
# PYTHON selects the interpreter (default: python).  `grade` grades the public
# checks, plus the hidden ones when the workflow checked them out into
# .grader-private/ (GRADER_CHECKS_PATH inside it).  In GitHub Actions it also
# writes the job summary, the annotations and the `result` output.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PYTHON="${PYTHON:-python}"
PRIVATE_DIR="${GRADER_PRIVATE_DIR:-.grader-private}"
CHECKS_PATH="${GRADER_CHECKS_PATH:-autograder/checks}"

usage() {
    echo "usage: bash ci/grade.sh install|sandbox|test|grade" >&2
    exit 2
}

case "${1:-}" in
    install)
        # PyTorch's CPU wheel index: the default Linux wheels carry several
        # GB of CUDA libraries that grading never uses.
        "$PYTHON" -m pip install -r ci/torch-cpu.txt
        "$PYTHON" -m pip install -r requirements.txt -r .grader/requirements.txt
        ;;
    sandbox)
        # Ubuntu 24.04 (GitHub's runners) lets only programs with an AppArmor
        # profile create user namespaces, which bubblewrap needs; lift that.
        # Elsewhere there is nothing to do: the grader falls back to
        # Landlock + seccomp on its own.
        if [ "$(cat /proc/sys/kernel/apparmor_restrict_unprivileged_userns 2>/dev/null || echo 0)" = 1 ]; then
            sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0
        fi
        cd .grader
        "$PYTHON" -m autograder doctor
        ;;
    test)
        "$PYTHON" -m pytest
        ;;
    grade)
        args=(grade "$ROOT" --results "$ROOT/results.json")
        if [ -n "${GITHUB_STEP_SUMMARY:-}" ] || [ -n "${GITHUB_OUTPUT:-}" ]; then
            args+=(--github)
        fi
        if [ -d "$PRIVATE_DIR/$CHECKS_PATH" ]; then
            args+=(--checks-dir "$ROOT/$PRIVATE_DIR/$CHECKS_PATH")
        else
            if [ -d "$PRIVATE_DIR" ]; then
                echo "::warning title=Hidden checks missing::$PRIVATE_DIR has no folder $CHECKS_PATH; grading the public checks only"
            else
                echo "::notice title=Public checks only::No GRADER_TOKEN secret in this repository: grading the public checks only; your final grade also includes hidden checks"
            fi
            args+=(--public-only)
        fi
        # Run from .grader/, the folder holding the autograder and grading.yml.
        cd .grader
        exec "$PYTHON" -m autograder "${args[@]}"
        ;;
    *)
        usage
        ;;
esac
