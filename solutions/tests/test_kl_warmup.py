"""Public tests for kl_warmup(epoch, warmup_epochs, beta_max).  Run: pytest tests/test_kl_warmup.py"""
import pytest

from lab6_generative.schedules import kl_warmup


@pytest.mark.parametrize("epoch, expected", [(0, 0.0), (1, 1 / 3), (2, 2 / 3), (3, 1.0), (4, 1.0), (10, 1.0)])
def test_matches_the_original_lab(epoch, expected):
    beta = kl_warmup(epoch, 3)
    diagnosis = "it does not follow the linear warm-up: beta = beta_max * min(1, epoch / warmup_epochs)"
    if beta == pytest.approx(min(1, (epoch + 1) / 3)) and epoch < 3:
        diagnosis = "it is off by one, (epoch + 1) / warmup_epochs: epochs count from 0 and beta is 0 at epoch 0"
    elif beta == pytest.approx(epoch / 3) and epoch > 3:
        diagnosis = "beta keeps growing after the warm-up: clamp it, after the warm-up beta stays at beta_max"
    assert beta == pytest.approx(expected), (
        f"{diagnosis}. kl_warmup({epoch}, 3) gave {beta}, expected min(1, {epoch}/3) = {expected:.4f}")


def test_beta_max_scales_the_schedule():
    assert kl_warmup(1, 2, beta_max=4.0) == pytest.approx(2.0), "halfway through the warm-up beta is beta_max / 2"
    assert kl_warmup(7, 2, beta_max=0.5) == pytest.approx(0.5), "after the warm-up beta is beta_max"


def test_no_warmup():
    for epoch in (0, 1, 5):
        try:
            beta = kl_warmup(epoch, 0, beta_max=0.7)
        except ZeroDivisionError:
            beta = ZeroDivisionError
        if beta is ZeroDivisionError:   # failed outside the except: one message, no chained traceback
            pytest.fail(f"kl_warmup({epoch}, 0, beta_max=0.7) divides by zero: warmup_epochs == 0 means no "
                        "warm-up, so return beta_max before dividing by warmup_epochs", pytrace=False)
        assert beta == pytest.approx(0.7), (
            "with warmup_epochs = 0 beta is not beta_max: warmup_epochs == 0 means no warm-up (and no division "
            f"by zero). kl_warmup({epoch}, 0, beta_max=0.7) gave {beta}, expected 0.7")


def test_returns_a_number():
    beta = kl_warmup(1, 4)
    assert isinstance(beta, (int, float)) or hasattr(beta, "__float__"), (
        f"kl_warmup returned {type(beta).__name__}, expected a float")


@pytest.mark.parametrize("args, negative", [((-1, 3), "epoch"), ((2, -1), "warmup_epochs"),
                                             ((2, 3, -1.0), "beta_max")], ids=["epoch", "warmup_epochs", "beta_max"])
def test_negative_arguments_raise(args, negative):
    try:
        beta = kl_warmup(*args)
    except ValueError:
        return
    call = f"kl_warmup({', '.join(map(repr, args))})"
    pytest.fail(f"{call} returned {beta!r}: a negative {negative} must raise ValueError "
                "(check every argument before computing beta)", pytrace=False)
