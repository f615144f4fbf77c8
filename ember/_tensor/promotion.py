"""Operand preparation for the Tensor layer: PyTorch's type promotion and broadcast checks.

Every binary method calls ``binary_operands`` before its Function runs: Python
scalars become 0-d tensors of the promoted dtype, tensors of another dtype are cast
(a differentiable ``Cast``), and shapes are checked for broadcasting, so the
Functions below only ever see valid operands of one dtype.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ember import dtypes
from ember._tensor.core import TensorCore, _make
from ember.backend import DEFAULT as _Buf
from ember.ops import elementwise as E

if TYPE_CHECKING:
    from ember._tensor import Tensor

_number = (int, float, bool)


def broadcast_shapes(a: tuple[int, ...], b: tuple[int, ...], op: str) -> tuple[int, ...]:
    """The broadcast shape of ``a`` and ``b``, or a RuntimeError naming ``op``."""
    if a == b:
        return a
    n = max(len(a), len(b))
    pa = (1,) * (n - len(a)) + tuple(a)
    pb = (1,) * (n - len(b)) + tuple(b)
    out = []
    for x, y in zip(pa, pb):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            raise RuntimeError(f"{op}: shapes {tuple(a)} and {tuple(b)} are not broadcastable")
    return tuple(out)


def scalar_value(x: Any) -> int | float | bool | None:
    """``x`` as a Python number if it is one (NumPy scalars included), else None."""
    if isinstance(x, _number):
        return x
    if getattr(x, "ndim", None) == 0 and hasattr(x, "item") and not isinstance(x, TensorCore):
        v = x.item()  # a NumPy scalar counts as the Python number it holds, as in PyTorch
        return v if isinstance(v, _number) else None
    return None


def _operand(x: Any, op: str) -> Any:
    """A Tensor or a Python number; arrays become tensors, anything else is a TypeError."""
    if isinstance(x, TensorCore):
        return x
    v = scalar_value(x)
    if v is not None:
        return v
    if hasattr(x, "__array_interface__"):
        return _make(_Buf.from_data(x), None)
    raise TypeError(f"{op}: unsupported operand type {type(x).__name__}; expected a Tensor or a number")


def _key(x: Any) -> tuple[dtypes.dtype, int]:
    # promotion priority: 2 a tensor with dimensions, 1 a 0-d tensor, 0 a Python number
    if isinstance(x, TensorCore):
        return x._buf.dtype, (2 if x._buf.shape else 1)
    return dtypes.scalar_dtype(x), 0


def result_dtype(*xs: Any) -> dtypes.dtype:
    """The dtype PyTorch gives an operation on ``xs`` (Tensors and Python numbers; None skipped)."""
    return dtypes.result_type([_key(x) for x in xs if x is not None])


def coerce(x: Any, target: dtypes.dtype) -> Tensor:
    """A Tensor or Python number as a Tensor of dtype ``target`` (differentiable for tensors)."""
    if isinstance(x, TensorCore):
        if x._buf.dtype is target:
            return x  # type: ignore[return-value]
        return E.Cast.apply(x, dtype=target)  # type: ignore[arg-type]
    return _make(_Buf.scalar(dtypes.fit_scalar(x, target), target), None)


def binary_operands(a: Any, b: Any, op: str, broadcast: bool = True) -> tuple[Tensor, Tensor]:
    """Return ``a`` and ``b`` as Tensors of their promoted dtype, checked for broadcasting."""
    if a.__class__ is b.__class__ and isinstance(a, TensorCore):
        ab, bb = a._buf, b._buf
        if ab.dtype is bb.dtype:
            if broadcast and ab.shape != bb.shape:
                broadcast_shapes(ab.shape, bb.shape, op)
            return a, b  # type: ignore[return-value]
    # fast path: a floating tensor with a Python float or int, e.g. ``x * 0.5``, ``1 - x``
    bc = b.__class__
    if bc is float or bc is int:
        if isinstance(a, TensorCore):
            d = a._buf.dtype
            if d.is_floating_point:
                return a, _make(_Buf.scalar(b, d), None)  # type: ignore[return-value]
    else:
        ac = a.__class__
        if (ac is float or ac is int) and isinstance(b, TensorCore):
            d = b._buf.dtype
            if d.is_floating_point:
                return _make(_Buf.scalar(a, d), None), b  # type: ignore[return-value]
    # slow path: mixed dtypes, integer tensors with scalars, NumPy scalars
    a = _operand(a, op)
    b = _operand(b, op)
    target = result_dtype(a, b)
    ta = coerce(a, target)
    tb = coerce(b, target)
    if broadcast and ta._buf.shape != tb._buf.shape:
        broadcast_shapes(ta._buf.shape, tb._buf.shape, op)
    return ta, tb


def floating(x: Tensor) -> Tensor:
    """Integer and bool inputs of float-valued ops become the default float, as in PyTorch."""
    if x._buf.dtype.is_floating_point:
        return x
    return E.Cast.apply(x, dtype=dtypes.get_default_dtype())


def as_tensor(x: Any, op: str) -> Tensor:
    """``x`` if it is a Tensor, a 0-d tensor if it is a number, else a TypeError naming ``op``."""
    if isinstance(x, TensorCore):
        return x  # type: ignore[return-value]
    v = scalar_value(x)
    if v is not None:
        return _make(_Buf.scalar(v, dtypes.scalar_dtype(v)), None)
    raise TypeError(f"{op}: expected a Tensor or a Python number, got {type(x).__name__}")


def require_floating(x: TensorCore, op: str) -> None:
    """Raise PyTorch's NotImplementedError for float-only kernels given integer or bool input."""
    d = x._buf.dtype
    if not d.is_floating_point:
        raise NotImplementedError(f"{op}: not implemented for {d!r} tensors; convert with .float() first")


def method_function(name: str) -> Any:
    """The module-level form of ``Tensor.<name>`` (``ember.exp(x)`` calls ``x.exp()``)."""

    def fn(input: Any, *args: Any, **kwargs: Any) -> Any:
        return getattr(as_tensor(input, name), name)(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Functional form of ``Tensor.{name}``."
    return fn
