"""What every check file gets: the ``worker`` fixture and the hypothesis profile.

The engine loads this module as a pytest plugin (``-p autograder.checks.conftest``)
for check files wherever they live (autograder/checks/ or a --checks-dir).

Hypothesis runs derandomized, with no example database, no deadline and no
shrinking (each example is a round trip to the worker), so every run tries
the same examples and a grading run is bounded in time.  Ten generated
examples per test (after its explicit ones, which come first and name the
classic mistakes): the checks' mistakes all show on the explicit examples or
on the first generated ones (the audit's mutants and the bug catalogue say
so; a derandomized run's first ten examples are the first ten of a longer
run), and each example costs a round trip; a test that needs fewer says so
with ``@settings(max_examples=...)``.

The examples depend on the checks' source and hypothesis' version only.
Hypothesis (6.13x and later) draws about 5% of its numbers and strings from
pools of constants, one of its own and one of the constants written in
whatever "local" modules (outside site-packages and the standard library,
test files excepted) are imported in the process at that moment: in a
grader, our own modules.  Which of them are loaded differs between ``grade``,
``grade-all``'s pool, the audit and a grading run inside the test suite, and
their constants change with any edit of a message; the same submission could
then be tried on other inputs and get another grade.  While the checks run,
that pool of local constants is empty (``_pin_constants``); hypothesis' own
constants (0, -0.0, the float limits...) are drawn as before.  Hypothesis is
pinned in pyproject.toml, so every platform generates the same examples, and
a grade under another release says so in its notes (``engine.version_note``).

The checks' own computations (reference values, statistics, the evaluation of
a training run's weights) run on one torch thread, as the worker does: they
are small, and torch's thread pool in a grader that shares its cores with the
worker (or with other graders) costs far more than it saves: the evaluation
of a training run took 0.5 s on two threads and 0.02 s on one on a busy
2-core machine.  The grader's previous setting is restored afterwards.
"""
import pytest
import torch
from hypothesis import HealthCheck, Phase, settings
from hypothesis.internal.conjecture import providers as _providers

from autograder.grading.collector import ENGINE_KEY

PROFILE = "autograder"
settings.register_profile(
    PROFILE,
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=10,
    phases=(Phase.explicit, Phase.generate),
    report_multiple_bugs=False,
    print_blob=False,
    suppress_health_check=list(HealthCheck),
)
_previous = []
_threads = []
_local_constants = []


def _no_local_constants():
    """What hypothesis draws from instead of the constants of the process's local modules: nothing."""
    return _providers.Constants()


def _pin_constants(on):
    """Empty hypothesis' pool of local constants (``on``), or give it back; either way its cache of
    the constants allowed per strategy, filled from the pool before, is cleared."""
    if on:
        _local_constants.append(_providers._get_local_constants)
        _providers._get_local_constants = _no_local_constants
    elif _local_constants:
        _providers._get_local_constants = _local_constants.pop()
    _providers.CONSTANTS_CACHE.cache.clear()


def pytest_configure(config):
    _previous.append(settings._current_profile)
    settings.load_profile(PROFILE)
    _pin_constants(True)
    _threads.append(torch.get_num_threads())
    torch.set_num_threads(1)


def pytest_unconfigure(config):
    _pin_constants(False)
    if _previous:  # leave hypothesis as we found it (grading may run inside another pytest)
        settings.load_profile(_previous.pop())
    if _threads:  # and torch's thread pool as it was
        torch.set_num_threads(_threads.pop())


@pytest.fixture(scope="module")
def worker(request):
    """The check's handle on the worker: ``worker.call(probe, what=..., **inputs)``."""
    engine = request.config.stash.get(ENGINE_KEY, None)
    if engine is None:
        pytest.fail("run the checks through the grader: python -m autograder grade SUBMISSION")
    return engine.handle_for(request.node.path)
