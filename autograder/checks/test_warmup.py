"""Check `warmup`: kl_warmup(epoch, warmup_epochs, beta_max) = beta_max * min(1, epoch / warmup_epochs).

Hypothesis draws epochs, warm-up lengths and beta_max (with two decimals, so
every call reads as it was made); each test lists a simple call first, so the
first failure shown has simple inputs.  Any real number type (float, int,
numpy float, ...) is accepted as the result.  Only test_no_warmup uses
warmup_epochs = 0: a missing no-warm-up case costs that test alone.
"""
from hypothesis import example, given
from hypothesis import strategies as st

from autograder.checks.support import fmt_pair, num, raised, says

WARMUP = st.integers(1, 50)
BETA_MAX = st.sampled_from([1.0, 0.5, 4.0]) | st.integers(0, 1000).map(lambda k: k / 100)
FORMULA = "beta = beta_max * min(1, epoch / warmup_epochs)"
ZERO_CASE = ("with warmup_epochs = 0 it divides by zero",
             "warmup_epochs = 0 means no warm-up: return beta_max without dividing")


def _arg(value):
    text = repr(value)
    return text if len(text) <= 10 else num(value)


def _call(args):
    return f"kl_warmup({', '.join(_arg(a) for a in args)})"


def _values(worker, calls):
    """kl_warmup(*args) for each args tuple; floats, or AssertionError saying what went wrong."""
    results = worker.call("warmup", what=_call(calls[0]), calls=[[list(a), {}] for a in calls])
    values = []
    for args, result in zip(calls, results):
        if "raised" in result:
            info = result["raised"]
            wrong, todo = (ZERO_CASE if info["type"] == "ZeroDivisionError" else
                           ("it raises for valid arguments", f"{FORMULA}; only negative arguments raise ValueError"))
            raise AssertionError(says(wrong, todo, _call(args), raised(info), "a number", verb="raised"))
        number = result["ok"]
        if not number["is_real"]:
            raise AssertionError(says("it does not return a real number", "return a float (use float(...))",
                                      _call(args), f"{number['type']} {number['repr']}",
                                      "a real number such as a float"))
        values.append(number["value"])
    return values


def _expect(worker, calls, expected, diagnose):
    """Each call gives its expected value; ``diagnose(args, got)`` gives (what is wrong, what to do)."""
    for args, got, want in zip(calls, _values(worker, calls), expected):
        if not abs(got - want) <= 1e-6 * (1 + abs(want)):
            got_text, want_text = fmt_pair(got, want)
            raise AssertionError(says(*diagnose(args, got), _call(args), got_text, want_text))


def _close(a, b):
    return abs(a - b) <= 1e-6 * (1 + abs(b))


def _diagnose(args, got):
    """The known mistake that explains ``got`` (it gives got, the correct schedule does not), else the formula."""
    epoch, warmup, beta_max = (list(args) + [1.0])[:3]
    want = beta_max if warmup == 0 else beta_max * min(1, epoch / warmup)
    if warmup:
        for value, mistake in (
                (beta_max * min(1, (epoch + 1) / warmup),
                 ("it is off by one: (epoch + 1) / warmup_epochs",
                  "epochs count from 0, and beta must be 0 at epoch 0 and beta_max at epoch warmup_epochs")),
                (beta_max * epoch / warmup,
                 ("beta keeps growing after the warm-up",
                  "clamp it: after warmup_epochs epochs beta stays at beta_max (min(1, epoch / warmup_epochs))"))):
            if _close(got, value) and not _close(value, want):
                return mistake
    return "it does not follow the linear warm-up", f"{FORMULA} (and beta_max when warmup_epochs = 0)"


@given(warmup=WARMUP, beta_max=BETA_MAX)
@example(warmup=3, beta_max=1.0)
def test_zero_at_epoch_zero(worker, warmup, beta_max):
    """beta is 0 at epoch 0"""
    _expect(worker, [(0, warmup, beta_max)], [0.0], _diagnose)


@given(warmup=WARMUP, extra=st.integers(0, 100), beta_max=BETA_MAX)
@example(warmup=3, extra=0, beta_max=1.0)
@example(warmup=3, extra=7, beta_max=1.0)
def test_beta_max_from_warmup_epochs_on(worker, warmup, extra, beta_max):
    """beta is beta_max from epoch warmup_epochs on"""
    _expect(worker, [(warmup + extra, warmup, beta_max)], [beta_max], _diagnose)


@given(warmup=WARMUP, step=st.integers(0, 1000), beta_max=BETA_MAX)
@example(warmup=4, step=1, beta_max=2.0)
def test_linear_during_warmup(worker, warmup, step, beta_max):
    """beta rises linearly: beta_max * epoch / warmup_epochs"""
    epoch = step % (warmup + 1)
    _expect(worker, [(epoch, warmup, beta_max)], [beta_max * epoch / warmup], _diagnose)


@given(warmup=st.integers(1, 20), beta_max=BETA_MAX)
@example(warmup=3, beta_max=1.0)
def test_monotone(worker, warmup, beta_max):
    """beta never decreases from one epoch to the next"""
    calls = [(epoch, warmup, beta_max) for epoch in range(warmup + 4)]
    values = _values(worker, calls)
    for (args, a), b in zip(zip(calls, values), values[1:]):
        if not b >= a - 1e-9:
            raise AssertionError(says("beta decreases from one epoch to the next", f"{FORMULA} never decreases",
                                      f"{_call(args)} and the next epoch", f"{num(a)} then {num(b)}",
                                      "a value at least as large"))


def test_no_warmup(worker):
    """warmup_epochs = 0 means no warm-up: beta is beta_max from the start"""
    calls = [(0, 0, 0.7), (1, 0, 0.7), (5, 0, 2.0), (0, 0, 1.0)]
    _expect(worker, calls, [0.7, 0.7, 2.0, 1.0],
            lambda args, got: ("with warmup_epochs = 0 beta is not beta_max",
                               "warmup_epochs = 0 means no warm-up: beta is beta_max at every epoch"))


def test_negative_arguments_raise_value_error(worker):
    """a negative epoch, warmup_epochs or beta_max raises ValueError"""
    cases = [(-1, 3), (2, -1), (2, 3, -1.0), (-0.5, 3, 1.0), (0, 0, -2.0), (-7, -2, -0.1)]
    results = worker.call("warmup", what=_call(cases[0]), calls=[[list(c), {}] for c in cases])
    for args, result in zip(cases, results):
        if "ok" in result:
            raise AssertionError(says("a negative argument is accepted",
                                      "negative arguments are invalid: raise ValueError",
                                      _call(args), result["ok"]["repr"], "ValueError"))
        info = result["raised"]
        if "ValueError" not in info["mro"]:
            raise AssertionError(says("a negative argument raises the wrong exception", "raise ValueError",
                                      _call(args), raised(info), "ValueError", verb="raised"))


def test_original_lab_schedule(worker):
    """kl_warmup(epoch, 3) reproduces the original lab's min(1, epoch / 3)"""
    calls = [(epoch, 3) for epoch in range(10)]
    values = _values(worker, calls)
    for args, got in zip(calls, values):
        want = min(1.0, args[0] / 3)
        if not abs(got - want) <= 1e-6:
            got_text, want_text = fmt_pair(got, want)
            raise AssertionError(says(*_diagnose(args, got), _call(args), got_text,
                                      f"min(1, {args[0]}/3) = {want_text}"))


def test_returns_a_real_number(worker):
    """the result is a real number (float, int, numpy float, ...)"""
    calls = [(1, 4), (0, 2, 1.0), (10, 2, 0.5), (1.5, 3, 2.0)]
    values = _values(worker, calls)
    for args, value in zip(calls, values):
        if not (value == value and abs(value) != float("inf")):
            raise AssertionError(says("it does not return a finite number", FORMULA, _call(args), num(value),
                                      "a finite number"))
