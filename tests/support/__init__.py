"""Helpers shared by this repository's tests (never shipped: nothing under tests/ is installed).

    support              paths of the repository, offline subprocess environments
    support.submissions  submissions built from autograder/audit/catalogues/*.yml
    support.platform_tools   a clean Python, workflow steps run locally, solution text to look for

Test files import them as ``from support import ...``: pytest puts ``tests/``
on ``sys.path`` because ``tests/conftest.py`` lives there.
"""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions"
ASSIGNMENT = ROOT / "assignment"

OFFLINE = {"https_proxy": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9",
           "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "no_proxy": "",
           "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg", "PIP_NO_INPUT": "1"}


def offline_env(**extra):
    """This process's environment for a subprocess: offline, without an outer CI run's GitHub variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_", "PYTEST_"))}
    env.pop("PYTHONPATH", None)
    env.update(OFFLINE)
    env.update(extra)
    return env


def run_module(tree, module, *args, timeout=300):
    """Run ``python -m module args`` from the root of ``tree`` (solutions/ or assignment/), offline."""
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=tree, env=offline_env(),
                          capture_output=True, text=True, timeout=timeout)
