"""Pooling against torch: max/avg/adaptive pooling values, indices and gradients, ties and NaN,
float64 finite differences, hypothesis sweeps, the layers, and errors."""

import importlib

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from optest import Case, check_case, gradcheck_case

import ember
from ember.ops.pool import AdaptiveAvgPool, AvgPool, MaxPool, MaxPoolIndices


def F(L):
    """The library's functional namespace (ember's re-export once it exists)."""
    if L is torch:
        return torch.nn.functional
    try:
        fn = importlib.import_module("ember.nn.functional")
    except ImportError:
        fn = None
    return fn if hasattr(fn, "max_pool2d") else importlib.import_module("ember.nn._conv")


def maxp2(*a, **kw):
    return lambda L, x: F(L).max_pool2d(x, *a, **kw)


def avgp2(*a, **kw):
    return lambda L, x: F(L).avg_pool2d(x, *a, **kw)


def adap2(size):
    return lambda L, x: F(L).adaptive_avg_pool2d(x, size)


M, MI, A, AA = (MaxPool,), (MaxPool, MaxPoolIndices), (AvgPool,), (AdaptiveAvgPool,)

# Random float32 inputs have no ties, so every window's maximum is unique.
TABLE = [
    Case("max2x2", maxp2(2), [(2, 3, 8, 6)], M, gradcheck=False),
    Case("max2x2_odd", maxp2(2), [(2, 3, 7, 5)], M, gradcheck=False),
    Case("max2x2_noncontig", maxp2(2), [(2, 3, 6, 8)], M, noncontig=True, gradcheck=False),
    Case("max3_stride2", maxp2(3, 2), [(2, 2, 9, 8)], M, gradcheck=False),
    Case("max3_stride1_pad1", maxp2(3, 1, 1), [(1, 3, 5, 6)], M, gradcheck=False),
    Case("max_rect", maxp2((2, 3), (1, 2)), [(2, 2, 6, 7)], M, gradcheck=False),
    Case("max_dilation", maxp2(2, 1, 0, 2), [(1, 2, 6, 6)], M, gradcheck=False),
    Case("max_dilation_pad", maxp2(3, 2, 1, 2), [(1, 2, 7, 8)], M, gradcheck=False),
    Case("max_ceil", maxp2(2, ceil_mode=True), [(2, 2, 5, 7)], M, gradcheck=False),
    Case("max_ceil_pad", maxp2(3, 2, 1, ceil_mode=True), [(1, 2, 6, 8)], M, gradcheck=False),
    Case("max_unbatched", maxp2(2), [(3, 6, 6)], M, gradcheck=False),
    Case("max_indices", maxp2(3, 2, 1, return_indices=True), [(2, 2, 7, 6)], MI, gradcheck=False),
    Case("max_indices_dil_ceil", maxp2(2, 2, 1, 2, ceil_mode=True, return_indices=True), [(1, 2, 6, 7)], MI,
         gradcheck=False),
    Case("max_after_relu_conv", lambda L, x, w: F(L).max_pool2d(F(L).conv2d(x, w).relu() + 0.5, 2),
         [(2, 2, 8, 8), (3, 2, 3, 3)], M, gradcheck=False),
    Case("max1d", lambda L, x: F(L).max_pool1d(x, 3, 2, 1), [(2, 3, 10)], M, gradcheck=False),
    Case("max1d_indices", lambda L, x: F(L).max_pool1d(x, 2, return_indices=True), [(2, 3, 9)], MI,
         gradcheck=False),
    Case("avg2x2", avgp2(2), [(2, 3, 8, 6)], A, gradcheck=False),
    Case("avg2x2_odd", avgp2(2), [(2, 3, 7, 5)], A, gradcheck=False),
    Case("avg3_stride2_pad1", avgp2(3, 2, 1), [(2, 2, 7, 8)], A, gradcheck=False),
    Case("avg_pad_exclude", avgp2(3, 2, 1, count_include_pad=False), [(2, 2, 7, 8)], A, gradcheck=False),
    Case("avg_ceil", avgp2(3, 2, 1, ceil_mode=True), [(1, 2, 6, 8)], A, gradcheck=False),
    Case("avg_ceil_exclude", avgp2(2, ceil_mode=True, count_include_pad=False), [(1, 2, 5, 7)], A,
         gradcheck=False),
    Case("avg_divisor", avgp2((2, 3), 2, divisor_override=5), [(1, 2, 6, 7)], A, gradcheck=False),
    Case("avg_noncontig", avgp2(2, 1), [(2, 3, 5, 6)], A, noncontig=True, gradcheck=False),
    Case("avg_unbatched", avgp2(2), [(3, 4, 4)], A, gradcheck=False),
    Case("avg1d", lambda L, x: F(L).avg_pool1d(x, 3, 2, 1), [(2, 3, 10)], A, gradcheck=False),
    Case("adaptive_global", adap2(1), [(2, 3, 5, 7)], AA, gradcheck=False),
    Case("adaptive_divisible", adap2((2, 3)), [(2, 3, 6, 9)], AA, gradcheck=False),
    Case("adaptive_uneven", adap2(3), [(2, 2, 7, 5)], AA, gradcheck=False),
    Case("adaptive_upsample", adap2((4, 5)), [(1, 2, 3, 3)], AA, gradcheck=False),
    Case("adaptive_none", adap2((None, 2)), [(1, 2, 4, 5)], AA, gradcheck=False),
    Case("adaptive_unbatched", adap2(2), [(3, 5, 5)], AA, gradcheck=False),
    Case("adaptive_noncontig", adap2(3), [(2, 3, 7, 6)], AA, noncontig=True, gradcheck=False),
    Case("adaptive1d", lambda L, x: F(L).adaptive_avg_pool1d(x, 4), [(2, 3, 10)], AA, gradcheck=False),
    # float64 finite differences on small shapes (the full Jacobian)
    Case("gc_max", maxp2(3, 2, 1), [(1, 2, 5, 5)], M),
    Case("gc_max2x2", maxp2(2), [(1, 2, 4, 5)], M),
    Case("gc_avg", avgp2(3, 2, 1, ceil_mode=True, count_include_pad=False), [(1, 2, 6, 5)], A),
    Case("gc_adaptive", adap2((2, 3)), [(1, 2, 5, 4)], AA),
]


@pytest.mark.parametrize("case", TABLE, ids=str)
def test_against_torch(case):
    check_case(case)


@pytest.mark.parametrize("case", [c for c in TABLE if c.gradcheck], ids=str)
def test_gradcheck(case):
    gradcheck_case(case)


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(1, 9), w=st.integers(1, 9), k=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)), data=st.data(), ceil_mode=st.booleans(),
)
def test_max_pool2d_hypothesis(h, w, k, stride, dilation, data, ceil_mode):
    pad = tuple(data.draw(st.integers(0, kk // 2)) for kk in k)
    if any(d * (kk - 1) + 1 > n + 2 * p for d, kk, n, p in zip(dilation, k, (h, w), pad)):
        return
    if torch.nn.functional.max_pool2d(
        torch.zeros(1, 1, h, w), k, stride, pad, dilation, ceil_mode
    ).isinf().any():
        return  # a dilated window that only touches padding: PyTorch returns -inf and a meaningless index
    check_case(Case(f"hyp_max_{h}_{w}_{k}_{stride}_{dilation}_{pad}_{ceil_mode}", maxp2(
        k, stride, pad, dilation, ceil_mode=ceil_mode, return_indices=True), [(2, 2, h, w)], MI))


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(1, 9), w=st.integers(1, 9), k=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)), data=st.data(), ceil_mode=st.booleans(),
    include=st.booleans(),
)
def test_avg_pool2d_hypothesis(h, w, k, stride, data, ceil_mode, include):
    pad = tuple(data.draw(st.integers(0, kk // 2)) for kk in k)
    if any(kk > n + 2 * p for kk, n, p in zip(k, (h, w), pad)):
        return
    check_case(Case(f"hyp_avg_{h}_{w}_{k}_{stride}_{pad}_{ceil_mode}_{include}", avgp2(
        k, stride, pad, ceil_mode=ceil_mode, count_include_pad=include), [(2, 2, h, w)], A))


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 9), w=st.integers(1, 9), oh=st.integers(1, 6), ow=st.integers(1, 6))
def test_adaptive_avg_pool2d_hypothesis(h, w, oh, ow):
    check_case(Case(f"hyp_adaptive_{h}_{w}_{oh}_{ow}", adap2((oh, ow)), [(2, 2, h, w)], AA))


@pytest.mark.parametrize("kwargs", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1},
                                    {"kernel_size": 2, "stride": 1}])
def test_max_pool_ties_go_to_the_first_maximum(kwargs):
    # constant planes and ReLU zeros tie everywhere; PyTorch routes each gradient to the first
    x = np.zeros((2, 2, 6, 6), np.float32)
    x[0, 0, 2:4, 1:5] = 1.0
    x[1] = np.arange(36, dtype=np.float32).reshape(6, 6) // 4
    tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    to, ti = torch.nn.functional.max_pool2d(tx, return_indices=True, **kwargs)
    eo, ei = F(ember).max_pool2d(ex, return_indices=True, **kwargs)
    np.testing.assert_array_equal(eo.detach().numpy(), to.detach().numpy())
    np.testing.assert_array_equal(ei.numpy(), ti.numpy())
    g = np.random.default_rng(0).standard_normal(tuple(to.shape)).astype(np.float32)
    to.backward(torch.tensor(g))
    eo.backward(ember.tensor(g))
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-6)


def test_max_pool_nan_wins():
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    x[0, 0, 1, 0] = np.nan
    tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    to, ti = torch.nn.functional.max_pool2d(tx, 2, return_indices=True)
    eo, ei = F(ember).max_pool2d(ex, 2, return_indices=True)
    np.testing.assert_array_equal(eo.detach().numpy(), to.detach().numpy())
    np.testing.assert_array_equal(ei.numpy(), ti.numpy())
    to.sum().backward()
    eo.sum().backward()
    np.testing.assert_array_equal(ex.grad.numpy(), tx.grad.numpy())


@pytest.mark.parametrize("dtype", ["int64", "int32"])
def test_integer_pooling(dtype):
    x = np.random.default_rng(0).integers(-9, 10, (2, 3, 7, 6)).astype(dtype)
    tx, ex = torch.tensor(x), ember.tensor(x)
    calls = [("max_pool2d", {"kernel_size": 3, "stride": 2, "padding": 1})]
    if dtype == "int64":  # PyTorch averages int64 (truncating) but not int32
        calls.append(("avg_pool2d",
                      {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}))
    for fn, kw in calls:
        to, eo = getattr(torch.nn.functional, fn)(tx, **kw), getattr(F(ember), fn)(ex, **kw)
        assert str(eo.dtype).replace("ember.", "") == str(to.dtype).replace("torch.", "")
        np.testing.assert_array_equal(eo.numpy(), to.numpy(), err_msg=fn)


# ---- layers -------------------------------------------------------------------------------


def layer(kind):
    """ember.nn's layer class (from its own module until ember.nn exports it)."""
    from ember.nn.modules import pooling

    return getattr(ember.nn, kind, None) or getattr(pooling, kind)


@pytest.mark.parametrize("kind,args,kwargs", [
    ("MaxPool2d", (2,), {}), ("MaxPool2d", (3, 2, 1), {"ceil_mode": True}),
    ("MaxPool1d", (3,), {"stride": 1}), ("AvgPool2d", (3,), {"stride": 2, "padding": 1}),
    ("AvgPool1d", (2,), {}), ("AdaptiveAvgPool2d", ((2, 3),), {}), ("AdaptiveAvgPool2d", (1,), {}),
    ("AdaptiveAvgPool1d", (3,), {}),
])
def test_layers(kind, args, kwargs):
    tm, em = getattr(torch.nn, kind)(*args, **kwargs), layer(kind)(*args, **kwargs)
    assert repr(em) == repr(tm)
    assert list(em.parameters()) == []
    shape = (2, 3, 9) if kind.endswith("1d") else (2, 3, 7, 8)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(em(ember.tensor(x)).numpy(), tm(torch.tensor(x)).numpy(), rtol=1e-6, atol=1e-6)


def test_max_pool_layer_return_indices():
    x = np.random.default_rng(0).standard_normal((1, 2, 6, 6)).astype(np.float32)
    _out, idx = layer("MaxPool2d")(2, return_indices=True)(ember.tensor(x))
    _t_out, t_idx = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(idx.numpy(), t_idx.numpy())
    assert idx.dtype == ember.int64


# ---- errors ---------------------------------------------------------------------------------

x4 = ember.ones(1, 2, 5, 5)
ERRORS = [
    (lambda f: f.max_pool2d(ember.ones(5, 5), 2), RuntimeError,
     r"max_pool2d: expected a 3-d \(unbatched\) or 4-d \(batched\) input, got shape \(5, 5\)"),
    (lambda f: f.max_pool1d(ember.ones(5), 2), RuntimeError,
     r"max_pool1d: expected a 2-d .* got shape \(5,\)"),
    (lambda f: f.max_pool2d(x4, 0), RuntimeError, r"max_pool2d: kernel_size must be positive"),
    (lambda f: f.max_pool2d(x4, 2, stride=(1, 0)), RuntimeError, r"max_pool2d: stride must be positive"),
    (lambda f: f.max_pool2d(x4, (2, 2, 2)), RuntimeError,
     r"max_pool2d: expected kernel_size to be a single integer value or a list of 2 values"),
    (lambda f: f.max_pool2d(x4, 2, padding=2), RuntimeError,
     r"max_pool2d: pad should be at most half of kernel size, "
     r"but got padding=\(2, 2\) and kernel_size=\(2, 2\)"),
    (lambda f: f.max_pool2d(x4, 2, dilation=0), RuntimeError, r"max_pool2d: dilation must be positive"),
    (lambda f: f.max_pool2d(ember.ones(1, 1, 1, 1), 2), RuntimeError,
     r"max_pool2d: output size \(0, 0\) is too small for input shape \(1, 1, 1, 1\)"),
    (lambda f: f.avg_pool2d(x4, 2, padding=(0, 2)), RuntimeError, r"avg_pool2d: pad should be at most half"),
    (lambda f: f.avg_pool2d(x4, 6), RuntimeError, r"avg_pool2d: output size \(0, 0\) is too small"),
    (lambda f: f.avg_pool2d(x4, 2, divisor_override=0), RuntimeError,
     r"avg_pool2d: divisor must be a non-zero integer, got divisor_override=0"),
    (lambda f: f.avg_pool2d([1.0], 2), TypeError, r"avg_pool2d: input must be a Tensor, got list"),
    (lambda f: f.adaptive_avg_pool2d(x4, 0), RuntimeError,
     r"adaptive_avg_pool2d: output_size must be positive"),
    (lambda f: f.adaptive_avg_pool2d(x4, (1, 2, 3)), RuntimeError,
     r"adaptive_avg_pool2d: expected output_size to be a single integer value or a list of 2 values"),
    (lambda f: f.adaptive_avg_pool2d(x4, (1.5, 2)), RuntimeError,
     r"adaptive_avg_pool2d: output_size must hold"),
    (lambda f: f.adaptive_avg_pool2d(ember.ones(2, 3, 4, 4, 4), 2), RuntimeError,
     r"adaptive_avg_pool2d: expected a 3-d \(unbatched\) or 4-d \(batched\) input"),
    (lambda f: f.adaptive_avg_pool2d(ember.ones(1, 2, 4, 4, dtype=ember.int64), 2), RuntimeError,
     r"adaptive_avg_pool2d: expected a floating point input, got dtype"),
]


@pytest.mark.parametrize("call,exc,match", ERRORS)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call(F(ember))
