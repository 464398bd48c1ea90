#!/usr/bin/env bash
# The steps of the grading workflow (.github/workflows/grade.yml), one
# subcommand each, so that they run the same on your machine as on GitHub:
#
#   bash ci/grade.sh install   # CPU-only torch + torchvision, then requirements.txt and the grader's
#   bash ci/grade.sh sandbox   # let the grader's sandbox (bubblewrap) run, and say which one will
#   bash ci/grade.sh test      # the public tests (pytest)
#   bash ci/grade.sh grade     # the public tests, then the autograder: score table, results.json
#
# `grade` exits 0 exactly when everything that ran passed (every public test,
# every check that ran at full points), non-zero otherwise.  It grades the
# public checks, plus the hidden ones when the workflow checked them out into
# .grader-private/ (GRADER_CHECKS_PATH inside it); without them the score says
# so ("public checks X/Y; the hidden checks (Z points) are graded by your
# instructor").  In GitHub Actions (GITHUB_ACTIONS=true) it also writes the job
# summary, the annotations and the `result` output; on your machine it prints
# the same table and no workflow commands.
#
# PYTHON selects the interpreter (default: python).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PYTHON="${PYTHON:-python}"
PRIVATE_DIR="${GRADER_PRIVATE_DIR:-.grader-private}"
CHECKS_PATH="${GRADER_CHECKS_PATH:-autograder/checks}"
NOTEBOOK="@NOTEBOOK@"                 # graded by hand (its written answers), not by the autograder
WRITTEN_POINTS="@WRITTEN_POINTS@"

usage() {
    echo "usage: bash ci/grade.sh install|sandbox|test|grade" >&2
    exit 2
}

in_actions() {
    [ "${GITHUB_ACTIONS:-}" = true ]
}

# say KIND TITLE MESSAGE: a workflow command in GitHub Actions, a plain line elsewhere.
say() {
    if in_actions; then
        echo "::$1 title=$2::$3"
    else
        echo "$1: $3"
    fi
}

NOTEBOOK_PROBLEM=""

check_notebook() {
    # The notebook is part of the submission (its written answers are graded by hand): a warning, no points.
    [ -n "$NOTEBOOK" ] || return 0
    if [ ! -f "$NOTEBOOK" ]; then
        NOTEBOOK_PROBLEM="$NOTEBOOK is not in your repository"
    elif git rev-parse --is-inside-work-tree >/dev/null 2>&1 && \
            ! git ls-files --error-unmatch -- "$NOTEBOOK" >/dev/null 2>&1; then
        NOTEBOOK_PROBLEM="$NOTEBOOK is not committed yet"
    fi
    if [ -n "$NOTEBOOK_PROBLEM" ]; then
        say warning "Notebook missing" "$NOTEBOOK_PROBLEM: commit and push it (git add $NOTEBOOK); its written answers ($WRITTEN_POINTS points) are graded from it"
    fi
}

summarize_notebook() {
    # Below the score table on the run's Summary page.
    if [ -n "$NOTEBOOK_PROBLEM" ] && in_actions && [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
        printf '\n> **Warning:** %s: commit and push it (`git add %s`); its written answers (%s points) are graded from it.\n' \
            "$NOTEBOOK_PROBLEM" "$NOTEBOOK" "$WRITTEN_POINTS" >> "$GITHUB_STEP_SUMMARY"
    fi
}

case "${1:-}" in
    install)
        # PyTorch's CPU wheel index: the default Linux wheels carry several
        # GB of CUDA libraries that grading never uses.  Two commands: the
        # index in ci/torch-cpu.txt must not apply to the other packages.
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
        check_notebook
        reports="$(mktemp -d)"
        trap 'rm -rf "$reports"' EXIT
        # 1. The public tests, as `pytest` runs them; their report goes to the autograder.
        echo "Public tests (pytest):"
        set +e
        "$PYTHON" -m pytest --junitxml="$reports/public-tests.xml"
        set -e
        echo
        # 2. The autograder (from .grader/, the folder holding it and grading.yml).
        args=(grade "$ROOT")
        if in_actions; then
            args+=(--report github)
        fi
        args+=(--report "gradescope=$ROOT/results.json" --public-tests "$reports/public-tests.xml"
               --fail-on-lost-points)
        if [ -d "$PRIVATE_DIR/$CHECKS_PATH" ]; then
            args+=(--checks-dir "$ROOT/$PRIVATE_DIR/$CHECKS_PATH")
        else
            if [ -d "$PRIVATE_DIR" ]; then
                say warning "Hidden checks missing" "$PRIVATE_DIR has no folder $CHECKS_PATH: grading the public checks only"
            elif in_actions; then
                say notice "Public checks only" "this repository has no GRADER_TOKEN secret, so only the public checks ran; the hidden checks are graded by your instructor"
            fi
            args+=(--public-only)
        fi
        # Exit status: 0 everything that ran passed, 4 something lost points (the table says what),
        # 3 an internal error of the grader, 2 a usage error (e.g. no lab6_generative/ folder).
        status=0
        (cd .grader && "$PYTHON" -m autograder "${args[@]}") || status=$?
        summarize_notebook
        exit "$status"
        ;;
    *)
        usage
        ;;
esac
