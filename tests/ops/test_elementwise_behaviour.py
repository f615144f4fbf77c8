"""Elementwise behaviour that is not a table row: errors, in-place rules, comparisons, NumPy
scalars, random broadcasting (hypothesis) and the float32 accuracy of GELU's erf."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from optest import Case, check_case

import ember
from ember.backend import NumpyBuffer

# ---- errors name the op and the operands ---------------------------------------------------


@pytest.mark.parametrize("op, fn", [
    ("add", lambda a, b: a + b), ("sub", lambda a, b: a - b), ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / b), ("pow", lambda a, b: a**b), ("maximum", ember.maximum),
    ("minimum", ember.minimum), ("lt", lambda a, b: a < b), ("eq", lambda a, b: a == b),
    ("remainder", lambda a, b: a % b), ("floor_divide", lambda a, b: a // b), ("fmod", ember.fmod),
    ("where", lambda a, b: ember.where(a > 0, a, b)),
])
def test_broadcast_mismatch(op, fn):
    a, b = ember.ones(2, 3), ember.ones(4)
    with pytest.raises(RuntimeError, match=rf"^{op}: shapes \(2, 3\) and \(4,\) are not broadcastable"):
        fn(a, b)


def test_mixed_dtype_broadcast_mismatch_is_checked_before_casting():
    with pytest.raises(RuntimeError, match=r"add: shapes \(2, 3\) and \(2,\) are not broadcastable"):
        ember.ones(2, 3) + ember.ones(2, dtype=ember.int64)


@pytest.mark.parametrize("expr, exc, match", [
    (lambda: ember.tensor([True]) - ember.tensor([True]), RuntimeError,
     "sub: subtraction with a bool tensor"),
    (lambda: 1 - ember.tensor([True]), RuntimeError, "sub: subtraction with a bool tensor"),
    (lambda: ember.ones(2) - ember.tensor([True, False]), RuntimeError,
     "sub: subtraction with a bool tensor"),
    (lambda: -ember.tensor([True]), RuntimeError, "neg: negation of a bool tensor"),
    (lambda: ember.tensor([2, 3]) ** -1, RuntimeError,
     r"pow: integers to negative integer powers.*ember.int64"),
    (lambda: ember.tensor([4, 5]) // ember.tensor([1, 0]), RuntimeError,
     "floor_divide: integer division by zero"),
    (lambda: ember.tensor([4, 5]) % 0, RuntimeError, "remainder: integer division by zero"),
    (lambda: ember.tensor([4, 5]).fmod(0), RuntimeError, "fmod: integer division by zero"),
    (lambda: ember.tensor([True]) // ember.tensor([True]), NotImplementedError,
     "floor_divide: not implemented for bool"),
    (lambda: ember.tensor([1, 2]).gelu(), NotImplementedError, "gelu: not implemented for ember.int64"),
    (lambda: ember.tensor([1, 2]).silu(), NotImplementedError, "silu: not implemented"),
    (lambda: ember.tensor([1, 2]).softplus(), NotImplementedError, "softplus: not implemented"),
    (lambda: ember.tensor([1, 2]).elu(), NotImplementedError, "elu: not implemented"),
    (lambda: ember.tensor([1, 2]).leaky_relu(), NotImplementedError, "leaky_relu: not implemented"),
    (lambda: ember.tensor([True]).relu(), RuntimeError, "relu: boolean inputs are not supported"),
    (lambda: abs(ember.tensor([True])), NotImplementedError, "abs: not implemented for bool"),
    (lambda: ember.tensor([1, 2]).lerp(ember.tensor([3, 4]), 0.5), NotImplementedError,
     "lerp: not implemented"),
    (lambda: ember.ones(2).lerp(ember.ones(2, dtype=ember.float64), 0.5), RuntimeError,
     r"lerp: expected dtype ember.float32 for 'end' but got ember.float64"),
    (lambda: ember.ones(2).lerp(ember.ones(3), 0.5), RuntimeError, r"lerp: shapes \(2,\) and \(3,\)"),
    (lambda: ember.ones(2).masked_fill(ember.ones(2), 0), RuntimeError,
     "masked_fill: only supports boolean masks.*float32"),
    (lambda: ember.ones(2).masked_fill(ember.ones(2) > 0, ember.ones(2)), RuntimeError,
     r"masked_fill: only supports a 0-dimensional value tensor.*\(2,\)"),
    (lambda: ember.ones(2).masked_fill(ember.ones(3, 2) > 0, 1.0), RuntimeError,
     r"masked_fill: mask of shape \(3, 2\) does not broadcast to the tensor's shape \(2,\)"),
    (lambda: ember.where(ember.ones(2), 1.0, 0.0), RuntimeError,
     "where: expected condition to be a bool tensor"),
    (lambda: ember.ones(2).clamp(), RuntimeError, "clamp: at least one of 'min' or 'max'"),
    (lambda: ember.ones(2).clamp(ember.ones(3)), RuntimeError, r"clamp: shapes \(2,\) and \(3,\)"),
    (lambda: ember.ones(2) + "a", TypeError, "add: unsupported operand type str"),
    (lambda: ember.ones(2).div(2, rounding_mode="round"), ValueError, "div: rounding_mode must be"),
    (lambda: ember.ones(2).gelu(approximate="fast"), ValueError,
     "gelu: approximate must be 'none' or 'tanh'"),
    (lambda: ~ember.ones(2), TypeError, "bitwise_not: only bool tensors"),
])
def test_error_messages(expr, exc, match):
    with pytest.raises(exc, match=match):
        expr()


def test_int_pow_negative_tensor_exponent_truncates_like_torch():
    base, exp = [2, 1, -1, -1, 0], [-1, -3, -3, -2, 3]
    want = torch.tensor(base) ** torch.tensor(exp)
    assert (ember.tensor(base) ** ember.tensor(exp)).tolist() == want.tolist()


# ---- comparisons: bool results, no graph ---------------------------------------------------------


@pytest.mark.parametrize("cmp", ["__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"])
def test_comparisons_are_bool_and_record_no_graph(cmp):
    x = ember.randn(3, requires_grad=True)
    out = getattr(x, cmp)(0.0)
    assert out.dtype is ember.bool and not out.requires_grad and out.grad_fn is None


def test_comparison_with_none():
    x = ember.ones(2)
    assert (x == None) is False  # noqa: E711
    assert (x != None) is True  # noqa: E711


# ---- NumPy scalars behave as the Python numbers they hold -------------------------------------------


@pytest.mark.parametrize("scalar", [np.float64(2.5), np.float32(2.5), np.int64(3), np.int32(3)])
def test_numpy_scalars_on_either_side(scalar):
    for lib in (torch, ember):
        t = lib.tensor([1.0, 2.0])
        for out in (t * scalar, scalar * t, t + scalar, scalar - t):
            assert isinstance(out, lib.Tensor), type(out)
            assert str(out.dtype).endswith("float32")
    assert (ember.tensor([1, 2]) * np.float64(2.5)).dtype is ember.float32


# ---- in-place arithmetic -----------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["__iadd__", "__isub__", "__imul__", "__itruediv__"])
@pytest.mark.parametrize("other", [2.5, 3, "tensor", "row", "int_tensor"])
def test_inplace_matches_torch(op, other):
    results = []
    for lib in (torch, ember):
        x = lib.tensor([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]])
        o = {"tensor": lib.tensor([[2.0, 1.0, 4.0], [1.0, 2.0, -2.0]]), "row": lib.tensor([1.0, 2.0, 4.0]),
             "int_tensor": lib.tensor([1, 2, 4])}.get(other, other)
        alias = x
        x = getattr(x, op)(o)
        assert x is alias  # in place: the same object comes back
        results.append(np.asarray(x.numpy()))
    np.testing.assert_allclose(results[1], results[0], rtol=1e-6)


def test_inplace_methods_with_alpha():
    for lib in (torch, ember):
        x = lib.ones(3)
        x.add_(lib.tensor([1.0, 2.0, 3.0]), alpha=2).sub_(1, alpha=0.5).mul_(2).div_(4)
        assert x.tolist() == pytest.approx([1.25, 2.25, 3.25])


def test_inplace_on_data_of_a_tensor_that_requires_grad():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    w.data += 1
    w.data *= 2
    assert w.tolist() == [4.0, 6.0] and w.requires_grad and w.is_leaf


def test_inplace_under_no_grad_updates_a_leaf():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    with ember.no_grad():
        w -= 0.5
    assert w.tolist() == [0.5, 1.5] and w.requires_grad


def test_inplace_on_a_leaf_that_requires_grad_raises():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(
        RuntimeError, match="add_: a leaf Variable that requires grad is being used in an in-place"
    ):
        w += 1
    assert w.tolist() == [1.0, 2.0]  # nothing changed


@pytest.mark.parametrize("expr, match", [
    (lambda: ember.tensor([1, 2]).__iadd__(1.5),
     r"add_: result type ember.float32 can't be cast to .*ember.int64"),
    (lambda: ember.tensor([1, 2]).__itruediv__(2), r"div_: result type ember.float32 can't be cast"),
    (lambda: ember.tensor([True]).__iadd__(1),
     r"add_: result type ember.int64 can't be cast to .*ember.bool"),
    (lambda: ember.tensor([1, 2]).__imul__(ember.tensor([1.5, 2.0])), "mul_: result type ember.float32"),
    (lambda: ember.ones(1).__iadd__(ember.ones(2)),
     r"add_: output with shape \(1,\) doesn't match the broadcast shape \(2,\)"),
    (lambda: ember.ones(2).copy_(ember.ones(3)), r"copy_: shapes \(2,\) and \(3,\) are not broadcastable"),
])
def test_inplace_errors(expr, match):
    with pytest.raises(RuntimeError, match=match):
        expr()


def test_inplace_integer_scalars_wrap_like_torch():
    for lib in (torch, ember):
        x = lib.tensor([1, 250], dtype=lib.uint8)
        x += 10
        x -= 300
        assert x.tolist() == [223, 216]


def test_fill_copy_clamp_masked_fill_in_place():
    x = ember.zeros(2, 3)
    x.fill_(2.5)
    assert x.tolist() == [[2.5] * 3] * 2
    x.copy_(ember.tensor([1.0, -2.0, 3.0]))
    assert x.tolist() == [[1.0, -2.0, 3.0]] * 2
    x.clamp_(-1, 2)
    assert x.tolist() == [[1.0, -1.0, 2.0]] * 2
    x.masked_fill_(x < 0, 9.0)
    assert x.tolist() == [[1.0, 9.0, 2.0]] * 2
    x.zero_()
    assert x.tolist() == [[0.0] * 3] * 2


# ---- random broadcastable shapes (hypothesis) ------------------------------------------------------


@st.composite
def broadcast_pair(draw):
    """Two shapes that broadcast: a random shape, and a copy with some dims set to 1 or dropped."""
    shape = draw(st.lists(st.integers(1, 4), min_size=0, max_size=4))
    other = [1 if draw(st.booleans()) else n for n in shape]
    other = other[draw(st.integers(0, len(other))):]
    return (tuple(shape), tuple(other)) if draw(st.booleans()) else (tuple(other), tuple(shape))


_BINARY = {
    "add": lambda L, a, b: a + b, "mul": lambda L, a, b: a * b, "sub": lambda L, a, b: a - b,
    "maximum": lambda L, a, b: L.maximum(a, b), "where": lambda L, a, b: L.where(a > b, a, b * 2),
    "div": lambda L, a, b: a / (b * b + 1),
}


@settings(max_examples=60, deadline=None)
@given(pair=broadcast_pair(), op=st.sampled_from(sorted(_BINARY)))
def test_random_broadcasting_matches_torch(pair, op):
    check_case(Case(f"hyp_{op}_{pair}", _BINARY[op], list(pair)))


# ---- GELU's float32 erf ---------------------------------------------------------------------------


def test_erf_float32_against_torch_over_a_wide_range():
    x = np.linspace(-10, 10, 400001, dtype=np.float32)
    ours = NumpyBuffer(x).erf().data
    assert ours.dtype == np.float32
    theirs = torch.erf(torch.from_numpy(x)).numpy()
    # absolute error of the rational approximation: a few float32 ulps of 1
    assert np.abs(ours - theirs).max() < 5e-7


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_float32_accuracy(approximate):
    """GELU agrees with torch to float32 tolerance and is about as accurate as torch's float32."""
    x = np.linspace(-12, 12, 200001, dtype=np.float32)
    ours = ember.from_numpy(x).gelu(approximate=approximate).numpy().astype(np.float64)
    theirs = torch.nn.functional.gelu(torch.from_numpy(x), approximate=approximate).numpy().astype(np.float64)
    np.testing.assert_allclose(ours, theirs, rtol=1.3e-6, atol=1e-5)
    x64 = x.astype(np.float64)
    if approximate == "none":
        truth = x64 * 0.5 * np.array([math.erfc(-v / math.sqrt(2)) for v in x64.tolist()])
    else:
        truth = 0.5 * x64 * (1 + np.tanh(math.sqrt(2 / math.pi) * (x64 + 0.044715 * x64**3)))
    # measured against float64 truth, ember's error is no larger than torch's own float32 error
    ours_err = np.abs(ours - truth).max()
    theirs_err = np.abs(theirs - truth).max()
    assert ours_err <= 1.25 * theirs_err + 1e-8, (ours_err, theirs_err)


def test_no_float64_by_accident():
    x = ember.randn(3, requires_grad=True)
    outs = [x * 2.5, 2.5 * x, x / 3, x**2.5, 2.0**x, x.clamp(0.1, 0.2), x.lerp(x * 2, 0.3), x.gelu(),
            x.softplus(beta=2.0), x.leaky_relu(0.2), x.elu(0.5), x.log2(), x + np.float64(1.0),
            x.masked_fill(x > 0, 1e-300), ember.where(x > 0, x, 0.5), x.sigmoid(), x.silu(),
            x.gelu(approximate="tanh")]
    for o in outs:
        assert o.dtype is ember.float32, o
    sum(o.sum() for o in outs).backward()
    assert x.grad.dtype is ember.float32


def test_nan_and_inf_arrive_silently_as_in_torch():
    """0/0, log(0), overflow: PyTorch returns nan/inf without a warning, and so does ember (a
    fresh process: pytest resets warning filters set while it imports); NumPy's own still warn."""
    import subprocess
    import sys

    script = """
import warnings, numpy as np, ember
x = ember.tensor([0.0, 1.0, 1e30], requires_grad=True)
with warnings.catch_warnings(record=True) as caught:
    outs = [x / 0, x.log(), x * 1e30, x.exp(), x ** -1.0, x.sqrt() * float("inf"), x.rsqrt()]
    sum(o.sum() for o in outs).backward()
    ember.tensor([]).mean()
    print("ember", len(caught))
    np.log(np.zeros(1))
    print("numpy", len(caught))
print([o.tolist() for o in outs] + [x.grad.tolist()])
"""
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    lines = res.stdout.splitlines()
    assert lines[:2] == ["ember 0", "numpy 1"], res.stdout + res.stderr
    t = torch.tensor([0.0, 1.0, 1e30], requires_grad=True)
    t_outs = [t / 0, t.log(), t * 1e30, t.exp(), t ** -1.0, t.sqrt() * float("inf"), t.rsqrt()]
    sum(o.sum() for o in t_outs).backward()
    ours = eval(lines[2], {"nan": math.nan, "inf": math.inf})
    np.testing.assert_allclose(ours, [o.tolist() for o in t_outs] + [t.grad.tolist()], rtol=1e-6)
