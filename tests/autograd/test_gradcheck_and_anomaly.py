"""``ember.autograd.gradcheck`` (passes on right gradients, fails on wrong ones) and
``ember.autograd.detect_anomaly`` (names the first Function that made NaN or inf)."""

import pytest

import ember
from ember.autograd.grad_mode import state


def _f64(*values, requires_grad=True):
    return ember.tensor(list(values), dtype=ember.float64, requires_grad=requires_grad)


class WrongSquare(ember.Function):
    """z = x^2 with a deliberately wrong derivative (x instead of 2x)."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, grad):
        return grad * self.x


@pytest.mark.parametrize("fn, n", [
    (lambda x: (x * x).sum(), 1),
    (lambda x: x.exp() * x.sin(), 1),
    (lambda x, y: x / y + x * y, 2),
    (lambda x, y: ember.maximum(x, y).tanh(), 2),
    (lambda x: [x.sigmoid(), x.square().sum()], 1),  # several outputs
])
def test_gradcheck_passes_on_correct_ops(fn, n):
    ins = [_f64(0.3, -1.2, 2.0), _f64(1.5, 0.7, -0.9)][:n]
    assert ember.autograd.gradcheck(fn, ins)


def test_gradcheck_fails_on_a_wrong_function():
    x = _f64(0.5, -1.0, 2.0)
    with pytest.raises(
        RuntimeError, match=r"gradcheck: Jacobian mismatch for output 0 with respect to input 0"
    ):
        ember.autograd.gradcheck(WrongSquare.apply, (x,))
    assert ember.autograd.gradcheck(WrongSquare.apply, (x,), raise_exception=False) is False


def test_gradcheck_skips_inputs_without_grad_and_non_tensor_args():
    x, c = _f64(0.5, 2.0), _f64(3.0, 4.0, requires_grad=False)
    assert ember.autograd.gradcheck(lambda a, b, k: a * b * k, (x, c, 2.0))


def test_gradcheck_needs_float64():
    with pytest.raises(
        TypeError, match="gradcheck: input 0 has dtype ember.float32; gradcheck needs float64"
    ):
        ember.autograd.gradcheck(lambda x: x * 2, (ember.ones(2, requires_grad=True),))


def test_gradcheck_leaves_grad_untouched():
    x = _f64(1.0, 2.0)
    ember.autograd.gradcheck(lambda t: (t * t).sum(), (x,))
    assert x.grad is None


# ---- detect_anomaly ----------------------------------------------------------------------------


def test_anomaly_names_the_first_function_that_made_nan():
    x = ember.tensor([-1.0, 2.0], requires_grad=True)
    expected = r"detect_anomaly: Log produced NaN or inf in its forward output of shape \(2,\)"
    with ember.autograd.detect_anomaly(), pytest.raises(RuntimeError, match=expected):
        ((x * 2).log() * 3).exp().sum()


def test_anomaly_in_backward_names_the_function():
    x = ember.tensor([0.0, 4.0], requires_grad=True)
    with ember.autograd.detect_anomaly():
        y = x.sqrt().sum()  # fine forward; d sqrt/dx = inf at 0
        expected = r"detect_anomaly: Sqrt.backward produced NaN or inf in the gradient of input 0"
        with pytest.raises(RuntimeError, match=expected):
            y.backward()


def test_anomaly_names_a_user_function():
    class BadLog(ember.Function):
        def forward(self, x):
            return x.log()

        def backward(self, grad):
            return grad

    with ember.autograd.detect_anomaly(), pytest.raises(RuntimeError, match="anomaly: BadLog produced"):
        BadLog.apply(ember.tensor([-1.0], requires_grad=True))


def test_without_anomaly_detection_nan_just_propagates():
    x = ember.tensor([-1.0, 2.0], requires_grad=True)
    y = x.log().sum()
    y.backward()
    assert y.isnan().item() and x.grad.tolist() == [-1.0, 0.5]


def test_anomaly_mode_is_restored():
    assert state.anomaly is False
    with pytest.raises(RuntimeError), ember.autograd.detect_anomaly():
        assert state.anomaly is True
        ember.tensor([-1.0], requires_grad=True).log()
    assert state.anomaly is False
    with ember.autograd.detect_anomaly(check_nan=False):
        ember.tensor([-1.0]).log()  # checks off: no error
