"""The checks' diagnoses, without a worker: a known mistake is named only when it is the explanation.

``autograder/checks/support.py`` matches candidate mistakes at the test's own
tolerance and only where they differ from the correct value; these tests pin
the cases issue 15 found (a hint at d = 1 or at mu = logvar = 0 that was not
the explanation), the shape diagnoses for mu of shape (..., d), the guard
against a broken training objective, and the message form.
"""
import pytest
import torch

from autograder import errors
from autograder.checks import support

pytestmark = pytest.mark.slow


def _pair(batch=4, latent=3, dtype="float64"):
    return support.random_pair(batch, latent, dtype, seed=3)


def _diagnosis(got, mu, logvar, dtype="float64"):
    return support.kl_diagnosis(got, mu, logvar, dtype)


def test_each_classic_kl_mistake_gets_its_diagnosis():
    mu, logvar = _pair()
    expected, _ = support.kl_reference(mu, logvar)
    d = mu.shape[-1]
    as_std = 0.5 * (mu ** 2 + (2 * logvar).exp() - 1 - 2 * logvar).sum(-1)
    for got, words in ((-expected, "sign is flipped"), (2 * expected, "factor 0.5 is missing"),
                       (expected / d, "averages over the latent dimensions"), (expected + 0.5 * d, "'- 1' term"),
                       (expected - 0.5 * d, "subtracts 1 twice"), (as_std, "exp(logvar) as the standard deviation")):
        assert words in _diagnosis(got, mu, logvar)[0]
    assert _diagnosis(expected * 1.1, mu, logvar) == support.KL_GENERIC


def test_no_hint_where_the_mistake_gives_the_correct_value():
    # d = 1: "averages over the latent dimensions" computes the correct value, so it explains no error
    mu, logvar = _pair(latent=1)
    expected, _ = support.kl_reference(mu, logvar)
    close_but_wrong = expected * (1 + 1e-7)  # a float32 computation of a float64 KL
    assert _diagnosis(close_but_wrong, mu, logvar) == support.KL_GENERIC
    # mu = logvar = 0: "the sign is flipped" gives 0, the correct value
    zero = torch.zeros(1, 3, dtype=torch.float64)
    assert _diagnosis(torch.tensor([-1.5e-8], dtype=torch.float64), zero, zero) == support.KL_GENERIC
    # and a flipped sign at the prior is no error at all
    assert support.mismatch(torch.tensor([-0.0], dtype=torch.float64), torch.zeros(1, dtype=torch.float64),
                            support.kl_tolerance(torch.tensor([1.5]), "float64")) is None


def test_a_mistake_is_matched_at_the_tests_own_tolerance():
    mu, logvar = _pair()
    expected, size = support.kl_reference(mu, logvar)
    tol = support.kl_tolerance(size, "float64")
    nearly_flipped = -expected * (1 + 1e-4)  # within the old 1e-3 matching, far outside the test's tolerance
    assert _diagnosis(nearly_flipped, mu, logvar) == support.KL_GENERIC
    assert support.explains(-expected + tol / 2, -expected, expected, tol)
    assert not support.explains(expected, -expected, expected, tol)  # nothing wrong, nothing to explain
    assert not support.explains(torch.zeros(3), torch.zeros(1), torch.zeros(3), 1e-9)  # never broadcast


@pytest.mark.parametrize("got, mu_shape, reduction, words", [
    ((2, 5), (2, 3, 5), "none", "it sums over a fixed dim=1"),
    ((2, 3, 5), (2, 3, 5), "none", "'none' gives one value per element"),
    ((), (2, 3, 5), "none", "'none' does not give one value per example"),
    ((3,), (2, 3, 5), "mean", "'mean' reduces the first dimension only (dim=0)"),
    ((3,), (2, 3, 5), None, "'mean' reduces the first dimension only (dim=0)"),
    ((2, 3), (2, 3, 5), "sum", "'sum' gives one value per example"),
    ((4,), (6, 5), "mean", "'mean' does not give a scalar"),
])
def test_kl_shape_diagnoses(got, mu_shape, reduction, words):
    wrong, todo = support.kl_shape_problem(got, mu_shape, reduction)
    assert wrong.startswith(words) and todo


def test_correct_kl_shapes_have_no_problem():
    for mu_shape in ((5,), (6, 5), (2, 3, 5), (4, 1, 2, 3)):
        assert support.kl_shape_problem(mu_shape[:-1], mu_shape, "none") is None
        for reduction in ("sum", "mean", None):
            assert support.kl_shape_problem((), mu_shape, reduction) is None


def test_a_broken_objective_names_the_kl_term():
    assert support.objective_problem([500.0, 300.0], [10.0, 12.0]) is None
    assert support.objective_problem([500.0, 300.0], [1e-6, -1e-6]) is None  # rounding at a collapsed posterior
    wrong, todo = support.objective_problem([442.0, 287.0, -1.2e15], [-25.1, -65.0, -1.8e15])
    assert wrong == "the KL term is negative (down to -1.8e+15 in epoch 2)" and "sign in kl_divergence" in todo
    wrong, _ = support.objective_problem([500.0, float("nan")], [10.0, float("nan")])
    assert wrong == "the KL term became nan (epoch 1)"
    wrong, todo = support.objective_problem([500.0, -3.0], [10.0, 0.5])
    assert wrong == "the loss fell below zero (-3 in epoch 1)" and "KL term" in todo


def test_messages_lead_with_the_diagnosis_and_show_readable_values():
    text = support.says("the KL's sign is flipped", "a KL divergence is never negative",
                        "kl_divergence(mu=[[0.5]], logvar=[[0]], reduction='none')", "-0.125", "0.125")
    assert text == ("the KL's sign is flipped: a KL divergence is never negative. "
                    "kl_divergence(mu=[[0.5]], logvar=[[0]], reduction='none') gave -0.125, expected 0.125")
    assert support.literal(torch.tensor([[0.5, -1.0], [0.0, 2.25]])) == "[[0.5, -1], [0, 2.25]]"
    assert support.num(5.2158682831320045) == "5.21587" and support.num(0.1) == "0.1" and support.num(3) == "3"
    assert support.fmt_pair(14.809523, 14.8095219) == ("14.809523", "14.809522")
    assert support.fmt_pair(1.0, 2.0) == ("1", "2")
    a, b = support.random_pair(2, 3)
    assert torch.equal(a, (a.double() * 100).round().float() / 100)  # inputs a person can read


def test_a_students_exception_is_reported_after_the_diagnosis():
    class Worker:
        def call(self, probe, what=None, **kwargs):
            raise errors.student_error({"type": "ValueError", "mro": ["ValueError"],
                                        "message": "too many values to unpack (expected 2)"}, what)

    with pytest.raises(AssertionError) as err:
        support.calling(Worker(), "reparameterize", "reparameterize(mu, logvar) for mu of shape (2, 3, 5)",
                        *support.leading_failure("reparameterize", [2, 3]))
    assert str(err.value).startswith("it fails for mu of shape (..., d) with 2 leading dimensions: the contract")
    assert str(err.value).endswith("reparameterize(mu, logvar) for mu of shape (2, 3, 5) raised ValueError: "
                                   "too many values to unpack (expected 2)")

    class Stub:
        def call(self, probe, what=None, **kwargs):
            raise errors.student_error({"type": "NotImplementedError", "mro": ["NotImplementedError"]}, what)

    with pytest.raises(errors.NotImplementedYet):  # the stubs still say "not implemented yet"
        support.calling(Stub(), "kl", "kl_divergence(...)", "wrong", "todo")


def test_the_warmup_hints_only_explain():
    from autograder.checks.test_warmup import _diagnose

    assert "off by one" in _diagnose((0, 3, 1.0), 1 / 3)[0]
    assert "keeps growing" in _diagnose((10, 3, 1.0), 10 / 3)[0]
    # at epoch >= warmup_epochs, (epoch + 1) / warmup_epochs clamps to the correct value: not the explanation
    assert _diagnose((5, 3, 2.0), 7.0)[0] == "it does not follow the linear warm-up"
