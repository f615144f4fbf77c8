"""Tensor-level fused in-place updates (addcmul_, addcdiv_, lerp_, sqrt_) and their backend primitives."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from ember._tensor.inplace_fused import FusedInplaceMixin, addcdiv, addcmul

METHODS = ("addcmul_", "addcdiv_", "lerp_", "sqrt_", "addcmul", "addcdiv")


def call(t, name, *args, **kwargs):
    """``t.name(...)``; for ember through the mixin, whether or not Tensor has it yet."""
    if isinstance(t, torch.Tensor):
        return getattr(t, name)(*args, **kwargs)
    return getattr(FusedInplaceMixin, name)(t, *args, **kwargs)


def arrays(*shapes, low=0.5, high=2.0, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(low, high, s).astype(np.float32) for s in shapes]


# (name, self shape, operand shapes, keyword arguments or positional weight)
CASES = [
    ("addcmul_", (3, 4), [(3, 4), (3, 4)], {}),
    ("addcmul_", (3, 4), [(4,), (3, 1)], {"value": -0.5}),
    ("addcmul_", (), [(), ()], {"value": 2}),
    ("addcdiv_", (3, 4), [(3, 4), (3, 4)], {}),
    ("addcdiv_", (2, 3, 4), [(3, 4), (1,)], {"value": 0.25}),
    ("lerp_", (3, 4), [(3, 4)], 0.1),
    ("lerp_", (3, 4), [(4,)], 0.75),
    ("lerp_", (3, 4), [(3, 4), (3, 1)], None),  # tensor weight
    ("sqrt_", (5,), [], None),
    ("addcmul", (3, 4), [(3, 4), (4,)], {"value": 3.0}),
    ("addcdiv", (3, 1), [(3, 4), (3, 4)], {"value": -1.0}),
]


@pytest.mark.parametrize("name,shape,shapes,extra", CASES, ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CASES])
@pytest.mark.parametrize("noncontig", [False, True])
def test_matches_torch(name, shape, shapes, extra, noncontig):
    base, *ops = arrays(shape, *shapes)
    results = []
    for lib in (ember, torch):
        if noncontig and len(shape) == 2 and min(shape) > 1:
            t = lib.from_numpy(np.ascontiguousarray(base.T)).transpose(0, 1)  # values == base
            assert not t.is_contiguous()
        else:
            t = lib.tensor(base.copy())
        args = [lib.tensor(o) for o in ops]
        if isinstance(extra, dict):
            out = call(t, name, *args, **extra)
        elif extra is None:
            out = call(t, name, *args)
        else:
            out = call(t, name, *args, extra)
        if name.endswith("_"):
            assert out is t
        results.append(out.numpy() if lib is ember else out.detach().numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6, atol=1e-7)


def test_in_place_writes_the_same_memory_and_bumps_the_version():
    t = ember.ones(3)
    arr = t._buf.data
    view = t.data
    version = t._buf.version
    call(t, "addcmul_", ember.full((3,), 2.0), ember.full((3,), 3.0), value=0.5)
    assert t._buf.data is arr and t._buf.version > version
    assert view.tolist() == [4.0, 4.0, 4.0]


def test_out_of_place_forms_are_differentiable():
    for lib in (ember, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        a = lib.tensor([3.0, 4.0], requires_grad=True)
        b = lib.tensor([2.0, 8.0], requires_grad=True)
        (call(x, "addcdiv", a, b, value=2.0) * lib.tensor([1.0, -1.0])).sum().backward()
        grads = [x.grad.tolist(), a.grad.tolist(), b.grad.tolist()]
        if lib is ember:
            ours = grads
    np.testing.assert_allclose(ours, grads, rtol=1e-6)
    assert addcmul(ember.ones(2), ember.ones(2), ember.full((2,), 3.0), value=2).tolist() == [7.0, 7.0]
    assert addcdiv(ember.ones(2), ember.ones(2), ember.full((2,), 4.0)).tolist() == [1.25, 1.25]


def test_errors():
    w = ember.ones(2, 3, requires_grad=True)
    with pytest.raises(
        RuntimeError, match="addcmul_: a leaf Variable that requires grad is being used in an in-place"
    ):
        call(w, "addcmul_", ember.ones(2, 3), ember.ones(2, 3))
    with ember.no_grad():
        call(w, "addcmul_", ember.ones(2, 3), ember.ones(2, 3))  # allowed, as optimizers do
    t = ember.ones(3)
    with pytest.raises(
        RuntimeError, match=r"addcdiv_: output with shape \(3,\) doesn't match the broadcast shape \(2, 3\)"
    ):
        call(t, "addcdiv_", ember.ones(2, 3), ember.ones(3))
    with pytest.raises(RuntimeError, match=r"lerp_: shapes \(3,\) and \(4,\) are not broadcastable"):
        call(t, "lerp_", ember.ones(4), 0.5)
    with pytest.raises(
        RuntimeError, match="sqrt_: only floating-point tensors can be updated in place, got ember.int64"
    ):
        call(ember.tensor([4, 9]), "sqrt_")
    with pytest.raises(TypeError, match="addcmul_: value must be a number, got str"):
        call(t, "addcmul_", t, t, value="2")
    with pytest.raises(TypeError, match="lerp_: expected a Tensor or a Python number, got list"):
        call(t, "lerp_", [1.0, 2.0, 3.0], 0.5)
    assert t.tolist() == [1.0, 1.0, 1.0]


def test_wired_into_tensor():
    if not hasattr(ember.Tensor, "addcdiv_"):
        pytest.skip("FusedInplaceMixin is not yet among Tensor's bases (the lead wires it in)")
    t = ember.ones(2)
    assert t.addcdiv_(ember.full((2,), 3.0), ember.full((2,), 2.0), value=2).tolist() == [4.0, 4.0]
    assert t.sqrt_().tolist() == [2.0, 2.0]
    assert t.lerp_(ember.zeros(2), 0.25).tolist() == [1.5, 1.5]
    assert t.addcmul_(t, t, value=-1).tolist() == [-0.75, -0.75]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_backend_primitives_keep_the_dtype_and_accept_numpy_scalars(dtype):
    from ember.backend import NumpyBuffer

    b = NumpyBuffer(np.ones(4, dtype))
    b.add_(NumpyBuffer(np.full(4, 2, dtype)), np.float64(0.5))
    b.addcmul_(b, b, np.float64(1.0))
    b.lerp_(NumpyBuffer(np.zeros(4, dtype)), 0.5)
    b.maximum_(NumpyBuffer(np.full(4, 3, dtype)))
    assert b.data.dtype == dtype
    np.testing.assert_allclose(b.data, np.full(4, 3.0))
    s = NumpyBuffer(np.float32(4.0))  # a NumPy scalar (0-d results) becomes an owned array
    s.sqrt_()
    assert float(s.data) == 2.0
