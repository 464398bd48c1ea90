"""Check `warmup`: kl_warmup(epoch, warmup_epochs, beta_max) = beta_max * min(1, epoch / warmup_epochs).

Hypothesis draws epochs, warm-up lengths and beta_max; any real number type
(float, int, numpy float, ...) is accepted as the result.
"""
from hypothesis import example, given
from hypothesis import strategies as st

from autograder.checks.support import fmt, raised

WARMUP = st.integers(1, 50)
BETA_MAX = st.sampled_from([1.0, 0.5, 4.0]) | st.floats(0.0, 10.0)


def _call(args):
    shown = ", ".join(repr(a) for a in args)
    return f"kl_warmup({shown})"


def _values(worker, calls):
    """kl_warmup(*args) for each args tuple; floats, or AssertionError saying what went wrong."""
    results = worker.call("warmup", what=_call(calls[0]), calls=[[list(a), {}] for a in calls])
    values = []
    for args, result in zip(calls, results):
        if "raised" in result:
            info = result["raised"]
            raise AssertionError(f"{_call(args)} raised {raised(info)}"
                                 + (" (with warmup_epochs = 0 there is no warm-up: return beta_max without "
                                    "dividing)" if info["type"] == "ZeroDivisionError" else ""))
        number = result["ok"]
        if not number["is_real"]:
            raise AssertionError(f"{_call(args)} returned {number['type']} {number['repr']}, "
                                 "expected a real number such as a float (use float(...))")
        values.append(number["value"])
    return values


def _expect(worker, calls, expected, hint):
    for args, got, want in zip(calls, _values(worker, calls), expected):
        if not abs(got - want) <= 1e-6 * (1 + abs(want)):
            raise AssertionError(f"{_call(args)} = {fmt(got)}, expected {fmt(want)}: {hint(args, got)}")


def _off_by_one(args, got):
    epoch, warmup, beta_max = args
    if warmup and abs(got - beta_max * min(1, (epoch + 1) / warmup)) <= 1e-6 * (1 + beta_max):
        return "it looks like (epoch + 1) / warmup_epochs: epochs count from 0 and beta must be 0 at epoch 0"
    return "beta_max * min(1, epoch / warmup_epochs)"


@given(warmup=WARMUP, beta_max=BETA_MAX)
@example(warmup=3, beta_max=1.0)
def test_zero_at_epoch_zero(worker, warmup, beta_max):
    """beta is 0 at epoch 0"""
    _expect(worker, [(0, warmup, beta_max)], [0.0], _off_by_one)


@given(warmup=st.integers(0, 50), extra=st.integers(0, 100), beta_max=BETA_MAX)
@example(warmup=3, extra=7, beta_max=1.0)
def test_beta_max_from_warmup_epochs_on(worker, warmup, extra, beta_max):
    """beta is beta_max from epoch warmup_epochs on"""
    def hint(args, got):
        if got > beta_max:
            return "after the warm-up beta stays at beta_max: clamp it (min(1, epoch / warmup_epochs))"
        return "at and after epoch warmup_epochs beta equals beta_max"
    _expect(worker, [(warmup + extra, warmup, beta_max)], [beta_max], hint)


@given(warmup=WARMUP, step=st.integers(0, 1000), beta_max=BETA_MAX)
@example(warmup=4, step=1, beta_max=2.0)
def test_linear_during_warmup(worker, warmup, step, beta_max):
    """beta rises linearly: beta_max * epoch / warmup_epochs"""
    epoch = step % (warmup + 1)
    _expect(worker, [(epoch, warmup, beta_max)], [beta_max * epoch / warmup], _off_by_one)


@given(warmup=st.integers(0, 20), beta_max=BETA_MAX)
@example(warmup=3, beta_max=1.0)
def test_monotone(worker, warmup, beta_max):
    """beta never decreases from one epoch to the next"""
    calls = [(epoch, warmup, beta_max) for epoch in range(warmup + 4)]
    values = _values(worker, calls)
    for (args, a), b in zip(zip(calls, values), values[1:]):
        assert b >= a - 1e-9, f"{_call(args)} = {fmt(a)} but the next epoch gives {fmt(b)}: beta must never decrease"


def test_no_warmup(worker):
    """warmup_epochs = 0 means no warm-up: beta is beta_max from the start"""
    calls = [(0, 0, 0.7), (1, 0, 0.7), (5, 0, 2.0), (0, 0, 1.0)]
    _expect(worker, calls, [0.7, 0.7, 2.0, 1.0],
            lambda args, got: "with warmup_epochs = 0 beta is beta_max at every epoch")


def test_negative_arguments_raise_value_error(worker):
    """a negative epoch, warmup_epochs or beta_max raises ValueError"""
    cases = [(-1, 3), (2, -1), (2, 3, -1.0), (-0.5, 3, 1.0), (0, 0, -2.0), (-7, -2, -0.1)]
    results = worker.call("warmup", what=_call(cases[0]), calls=[[list(c), {}] for c in cases])
    for args, result in zip(cases, results):
        if "ok" in result:
            raise AssertionError(f"{_call(args)} returned {result['ok']['repr']}, expected ValueError: "
                                 "negative arguments are invalid")
        info = result["raised"]
        assert "ValueError" in info["mro"], f"{_call(args)} raised {raised(info)}, expected ValueError"


def test_original_lab_schedule(worker):
    """kl_warmup(epoch, 3) reproduces the original lab's min(1, epoch / 3)"""
    calls = [(epoch, 3) for epoch in range(10)]
    values = _values(worker, calls)
    for args, got in zip(calls, values):
        want = min(1.0, args[0] / 3)
        if not abs(got - want) <= 1e-6:
            hint = _off_by_one((args[0], 3, 1.0), got)
            if got > 1:
                hint = "after the warm-up beta stays at beta_max: clamp it"
            raise AssertionError(f"{_call(args)} = {fmt(got)}, expected min(1, {args[0]}/3) = {fmt(want)}: {hint}")


def test_returns_a_real_number(worker):
    """the result is a real number (float, int, numpy float, ...)"""
    calls = [(1, 4), (0, 2, 1.0), (10, 2, 0.5), (1.5, 3, 2.0)]
    values = _values(worker, calls)
    for args, value in zip(calls, values):
        assert value == value and abs(value) != float("inf"), f"{_call(args)} = {value}, expected a finite number"
