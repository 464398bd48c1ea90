"""What every check file gets: the ``worker`` fixture and the hypothesis profile.

The engine loads this module as a pytest plugin (``-p autograder.checks.conftest``)
for check files wherever they live (autograder/checks/ or a --checks-dir).

Hypothesis runs derandomized, with no example database, no deadline and no
shrinking (each example is a round trip to the worker), so every run tries
the same examples and a grading run is bounded in time.
"""
import pytest
from hypothesis import HealthCheck, Phase, settings

from autograder.grading.engine import ENGINE_KEY

PROFILE = "autograder"
settings.register_profile(
    PROFILE,
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=25,
    phases=(Phase.explicit, Phase.generate),
    report_multiple_bugs=False,
    print_blob=False,
    suppress_health_check=list(HealthCheck),
)
_previous = []


def pytest_configure(config):
    _previous.append(settings._current_profile)
    settings.load_profile(PROFILE)


def pytest_unconfigure(config):
    if _previous:  # leave hypothesis as we found it (grading may run inside another pytest)
        settings.load_profile(_previous.pop())


@pytest.fixture(scope="module")
def worker(request):
    """The check's handle on the worker: ``worker.call(probe, what=..., **inputs)``."""
    engine = request.config.stash.get(ENGINE_KEY, None)
    if engine is None:
        pytest.fail("run the checks through the grader: python -m autograder grade SUBMISSION")
    return engine.handle_for(request.node.path)
