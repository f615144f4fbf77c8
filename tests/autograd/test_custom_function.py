"""User-defined Functions: the SPEC's ``Abs`` joins the graph, passes gradcheck, matches torch;
wrong backwards fail loudly and name the Function; the walkthrough example runs."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

import ember

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class Abs(ember.Function):
    """z = |x|;  dz/dx = sign(x)."""

    def forward(self, x):
        self.x = x
        return x.abs()

    def backward(self, grad):
        return grad * self.x.sign()


class ScaledAdd(ember.Function):
    """z = x + alpha y, with an option passed by keyword."""

    def forward(self, x, y, alpha=1.0):
        self.alpha = alpha
        return x + y * alpha

    def backward(self, grad):
        nx, ny = self.needs_input_grad
        return (grad if nx else None), (grad * self.alpha if ny else None)


def test_abs_joins_the_graph():
    x = ember.tensor([-2.0, 3.0], requires_grad=True)
    y = Abs.apply(x)
    assert isinstance(y.grad_fn, Abs) and y.requires_grad and not y.is_leaf
    z = (y * 2).sum()
    assert isinstance(z.grad_fn.next_functions[0].next_functions[0], Abs)
    z.backward()
    assert x.grad.tolist() == [-2.0, 2.0]


def test_abs_matches_torch_inside_a_larger_graph():
    data = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    w_data = np.random.default_rng(1).standard_normal(4).astype(np.float32)
    x = ember.tensor(data, requires_grad=True)
    w = ember.tensor(w_data, requires_grad=True)
    ((Abs.apply(x) * w).exp().sum() + Abs.apply(x).mean()).backward()
    tx = torch.tensor(data, requires_grad=True)
    tw = torch.tensor(w_data, requires_grad=True)
    ((tx.abs() * tw).exp().sum() + tx.abs().mean()).backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_abs_passes_gradcheck():
    x = ember.tensor([[-1.5, 0.7, 2.0], [0.3, -0.4, 1.1]], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(Abs.apply, (x,))


def test_options_and_needs_input_grad():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = ember.tensor([3.0, 4.0])
    out = ScaledAdd.apply(x, y, alpha=2.0)
    assert out.tolist() == [7.0, 10.0]
    assert out.grad_fn.needs_input_grad == (True, False)
    out.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0] and y.grad is None
    x64 = ember.tensor([1.0, 2.0], dtype=ember.float64, requires_grad=True)
    y64 = ember.tensor([3.0, 4.0], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda a, b: ScaledAdd.apply(a, b, alpha=-0.5), (x64, y64))


def test_custom_function_records_nothing_without_grad():
    y = Abs.apply(ember.tensor([-1.0]))
    assert y.grad_fn is None and not y.requires_grad
    with ember.no_grad():
        y = Abs.apply(ember.tensor([-1.0], requires_grad=True))
    assert y.grad_fn is None


def test_non_differentiable_custom_function():
    class Floor(ember.Function):
        differentiable = False

        def forward(self, x):
            return x.floor()

    y = Floor.apply(ember.tensor([1.5, -0.5], requires_grad=True))
    assert y.tolist() == [1.0, -1.0] and not y.requires_grad and y.grad_fn is None


def test_wrong_gradient_shape_names_the_function():
    class BadShape(Abs):
        def backward(self, grad):
            return (grad * self.x.sign()).sum((0,))

    x = ember.randn(3, 4, requires_grad=True)
    expected = r"BadShape.backward returned a gradient of shape \(4,\) for input 0, which has shape \(3, 4\)"
    with pytest.raises(RuntimeError, match=expected):
        BadShape.apply(x).sum().backward()


def test_wrong_number_of_gradients_names_the_function():
    class TwoGrads(Abs):
        def backward(self, grad):
            return grad, grad

    x = ember.randn(3, requires_grad=True)
    with pytest.raises(
        RuntimeError, match="TwoGrads.backward returned 2 gradients, but the operation has 1 inputs"
    ):
        TwoGrads.apply(x).sum().backward()


def test_missing_backward_names_the_function():
    class NoBackward(ember.Function):
        def forward(self, x):
            return x * 2

    with pytest.raises(NotImplementedError, match="NoBackward must implement backward"):
        NoBackward.apply(ember.ones(2, requires_grad=True)).sum().backward()


def test_custom_op_example_runs(capsys):
    spec = importlib.util.spec_from_file_location("custom_op", EXAMPLES / "custom_op.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    result = mod.main()
    assert result["same_as_builtin"] and result["gradcheck"]
    assert "AbsWithABug.backward returned a gradient of shape (4,)" in result["error"]
    assert "gradcheck: True" in capsys.readouterr().out
