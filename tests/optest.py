"""The one op-test helper: run the same lambda on torch and on ember, compare everything.

A ``Case`` is a row of an op table: a lambda ``fn(lib, *inputs)`` written once for
both libraries (``lib`` is the ``torch`` or ``ember`` module), the input shapes, and
the Function classes it exercises. ``check_case`` compares forward values, output
dtype and shape, then runs backward with a random upstream gradient and compares
every input's gradient. ``gradcheck_case`` checks the same lambda against central
finite differences in float64. Each op-table test module parametrises both over its
table; ``tests/test_op_tables.py`` fails if some Function has no row.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

import ember

TOL = {  # (rtol, atol) per dtype, as torch.testing.assert_close's defaults
    "float32": (1.3e-6, 1e-5),
    "float64": (1e-7, 1e-7),
    "float16": (1e-3, 1e-5),
}


@dataclass
class Case:
    """One row of an op table.

    Attributes:
        name: test id.
        fn: ``fn(lib, *inputs)`` using only API shared by torch and ember.
        shapes: one shape per tensor input.
        ops: the ember Function classes this row exercises (for the coverage test).
        dtypes: one dtype name per input ("float32", "int64", "bool", ...); default all float32.
        low, high: the range inputs are drawn from (keep it away from kinks and poles).
        grad: whether to compare gradients (False for non-differentiable ops).
        gradcheck: whether to run the float64 finite-difference check.
        noncontig: make float inputs non-contiguous (transposed views).
        rtol, atol: loosened tolerances; say why in a comment on the row.
        make: optional ``make(rng) -> list[np.ndarray]`` for inputs needing structure
            (indices in range, distinct values for sort, ...); overrides shapes/dtypes.
    """

    name: str
    fn: Callable[..., Any]
    shapes: list[tuple[int, ...]] = field(default_factory=list)
    ops: tuple[type, ...] = ()
    dtypes: list[str] | None = None
    low: float = -2.0
    high: float = 2.0
    grad: bool = True
    gradcheck: bool = True
    noncontig: bool = False
    rtol: float | None = None
    atol: float | None = None
    make: Callable[[np.random.Generator], list[np.ndarray]] | None = None

    def __str__(self) -> str:
        return self.name


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def make_inputs(case: Case, dtype_override: str | None = None) -> list[np.ndarray]:
    rng = _rng(case.name)
    if case.make is not None:
        arrays = case.make(rng)
    else:
        arrays = []
        dts = case.dtypes or ["float32"] * len(case.shapes)
        for shape, dt in zip(case.shapes, dts):
            if dt == "bool":
                arrays.append(rng.random(shape) > 0.5)
            elif dt.startswith("int") or dt == "uint8":
                arrays.append(rng.integers(int(case.low), int(case.high) + 1, size=shape).astype(dt))
            else:
                arrays.append(rng.uniform(case.low, case.high, size=shape).astype(dt))
    if dtype_override is not None:
        arrays = [a.astype(dtype_override) if a.dtype.kind == "f" else a for a in arrays]
    return [np.asarray(a) for a in arrays]


def _to_lib(lib: Any, arr: np.ndarray, noncontig: bool) -> Any:
    requires = arr.dtype.kind == "f"
    if noncontig and arr.ndim >= 2 and requires:
        # a transposed view of a contiguous array holding the transpose
        base = np.ascontiguousarray(np.swapaxes(arr, -1, -2))
        view = np.swapaxes(base, -1, -2)
        t = lib.from_numpy(view) if lib is ember else torch.from_numpy(base).transpose(-1, -2)
    else:
        t = lib.from_numpy(arr.copy()) if lib is ember else torch.from_numpy(arr.copy())
    if requires:
        t.requires_grad_(True)
    return t


def _outputs(out: Any) -> list[Any]:
    if isinstance(out, (tuple, list)):
        return [o for o in out if o is not None]
    if not isinstance(out, torch.Tensor) and hasattr(out, "values") and hasattr(out, "indices"):
        return [out.values, out.indices]  # (values, indices) results of max, topk, sort
    return [out]


def _np(t: Any) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    return np.asarray(t.detach().numpy())


def assert_close(actual: np.ndarray, expected: np.ndarray, rtol: float, atol: float, what: str) -> None:
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != torch's {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what, equal_nan=True)


def check_case(case: Case, dtype: str | None = None) -> None:
    """Compare ember with torch on ``case``: values, dtype and every input's gradient."""
    arrays = make_inputs(case, dtype)
    t_in = [_to_lib(torch, a, case.noncontig) for a in arrays]
    e_in = [_to_lib(ember, a, case.noncontig) for a in arrays]
    t_out = _outputs(case.fn(torch, *t_in))
    e_out = _outputs(case.fn(ember, *e_in))
    assert len(t_out) == len(e_out), f"{case.name}: {len(e_out)} outputs, torch has {len(t_out)}"
    for k, (to, eo) in enumerate(zip(t_out, e_out)):
        assert str(eo.dtype).replace("ember.", "") == str(to.dtype).replace("torch.", ""), (
            f"{case.name}: output {k} dtype {eo.dtype} != torch's {to.dtype}"
        )
        rt, at = TOL.get(str(to.dtype).replace("torch.", ""), (0, 0))
        assert_close(_np(eo), _np(to), case.rtol or rt, case.atol or at, f"{case.name} output {k}")
    if not case.grad:
        return
    rng = _rng(case.name + "/grad")
    t_roots, e_roots, grads_t, grads_e = [], [], [], []
    for to, eo in zip(t_out, e_out):
        if not to.requires_grad:
            continue
        assert eo.requires_grad, f"{case.name}: ember output does not require grad but torch's does"
        g = rng.standard_normal(tuple(to.shape)).astype(str(to.dtype).replace("torch.", ""))
        t_roots.append(to)
        e_roots.append(eo)
        grads_t.append(torch.from_numpy(g))
        grads_e.append(ember.from_numpy(g.copy()))
    if not t_roots:
        return
    torch.autograd.backward(t_roots, grads_t)
    ember.autograd.backward(e_roots, grads_e)
    for i, (ti, ei) in enumerate(zip(t_in, e_in)):
        if not ti.requires_grad:
            continue
        if ti.grad is None:
            assert ei.grad is None or not _np(ei.grad).any(), (
                f"{case.name}: input {i} has a grad, torch's has none"
            )
            continue
        assert ei.grad is not None, f"{case.name}: input {i} got no gradient"
        assert ei.grad.dtype == ei.dtype, f"{case.name}: input {i} grad dtype {ei.grad.dtype} != {ei.dtype}"
        rt, at = TOL.get(str(ti.dtype).replace("torch.", ""), (0, 0))
        rt, at = case.rtol or rt, case.atol or at
        want = _np(ti.grad)
        # a gradient entry is often a sum of many terms (a bias: over batch and positions) that
        # cancel: its rounding error scales with the gradient's largest entries, not with itself
        if want.dtype.kind == "f":
            at = max(at, rt * float(np.abs(want[np.isfinite(want)]).max(initial=0.0)))
        assert_close(_np(ei.grad), want, rt, at, f"{case.name} grad of input {i}")


def gradcheck_case(case: Case) -> None:
    """Check ``case``'s gradients against central finite differences in float64."""
    arrays = make_inputs(case, "float64")
    ins = [_to_lib(ember, a, False) for a in arrays]

    def fn(*xs: Any) -> Any:
        out = _outputs(case.fn(ember, *xs))
        return [o for o in out if o.dtype.is_floating_point]

    assert ember.autograd.gradcheck(fn, ins, eps=1e-6, atol=1e-5, rtol=1e-3)
