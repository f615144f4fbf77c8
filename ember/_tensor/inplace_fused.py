"""Fused in-place updates on Tensors: ``addcmul_``, ``addcdiv_``, ``lerp_``, ``sqrt_``.

Each is one backend primitive that writes into the tensor's own memory (with no
temporary array left behind), the building blocks of optimizer rules written at the
Tensor level. Like every in-place method, they refuse tensors that require grad while
grad mode is on, and they bump the buffer's version. ``addcmul``/``addcdiv`` are the
out-of-place, differentiable forms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ember._tensor.core import TensorCore
from ember._tensor.inplace import check_inplace
from ember._tensor.promotion import as_tensor, broadcast_shapes, scalar_value
from ember.buffer import Buffer

if TYPE_CHECKING:
    from ember._tensor import Tensor
    from ember._tensor.core import TensorCore as _TensorBase
else:
    _TensorBase = object  # the mixins are typed as Tensors, built as plain classes

__all__ = ["addcdiv", "addcmul"]


def _operands(t: TensorCore, op: str, *others: Any) -> list[Buffer]:
    """Check an in-place update of ``t`` by ``others``; return their buffers in ``t``'s dtype."""
    check_inplace(t, op)
    from ember.autograd.grad_mode import state

    if state.enabled and any(isinstance(o, TensorCore) and o.requires_grad for o in others):
        raise RuntimeError(
            f"{op}: an operand requires grad, and this in-place update is not recorded in the graph; "
            f"use the out-of-place form ({op.rstrip('_')}) or ember.no_grad()"
        )
    buf = t._buf
    d = buf.dtype
    if not d.is_floating_point:
        raise RuntimeError(f"{op}: only floating-point tensors can be updated in place, got {d!r}")
    out = []
    for o in others:
        ot = as_tensor(o, op)
        shape = broadcast_shapes(buf.shape, ot._buf.shape, op)
        if shape != buf.shape:
            raise RuntimeError(
                f"{op}: output with shape {tuple(buf.shape)} doesn't match the broadcast shape {shape}"
            )
        out.append(ot._buf if ot._buf.dtype is d else ot._buf.cast(d))
    return out


def _number(value: Any, op: str) -> float:
    v = scalar_value(value)
    if v is None:
        raise TypeError(f"{op}: value must be a number, got {type(value).__name__}")
    return float(v)


class FusedInplaceMixin(_TensorBase):
    """Fused in-place updates (``self += value * a * b`` and friends)."""

    __slots__ = ()

    def addcmul_(self, tensor1: Any, tensor2: Any, *, value: float = 1) -> Tensor:
        """Add ``value * tensor1 * tensor2`` to this tensor in place and return it."""
        v = _number(value, "addcmul_")
        a, b = _operands(self, "addcmul_", tensor1, tensor2)  # type: ignore[arg-type]
        self._buf.addcmul_(a, b, v)  # type: ignore[attr-defined]
        return self  # type: ignore[return-value]

    def addcdiv_(self, tensor1: Any, tensor2: Any, *, value: float = 1) -> Tensor:
        """Add ``value * tensor1 / tensor2`` to this tensor in place and return it."""
        v = _number(value, "addcdiv_")
        a, b = _operands(self, "addcdiv_", tensor1, tensor2)  # type: ignore[arg-type]
        self._buf.addcdiv_(a, b, v)  # type: ignore[attr-defined]
        return self  # type: ignore[return-value]

    def lerp_(self, end: Any, weight: Any) -> Tensor:
        """Move this tensor toward ``end`` in place, ``self += weight * (end - self)``, and return it."""
        if isinstance(weight, TensorCore):
            e, w = _operands(self, "lerp_", end, weight)  # type: ignore[arg-type]
            self._buf.lerp_(e, w)  # type: ignore[attr-defined]
        else:
            wv = _number(weight, "lerp_")
            (e,) = _operands(self, "lerp_", end)  # type: ignore[arg-type]
            self._buf.lerp_(e, wv)  # type: ignore[attr-defined]
        return self  # type: ignore[return-value]

    def sqrt_(self) -> Tensor:
        """Replace every element by its square root in place and return this tensor."""
        _operands(self, "sqrt_")  # type: ignore[arg-type]
        self._buf.sqrt_()  # type: ignore[attr-defined]
        return self  # type: ignore[return-value]

    def addcmul(self, tensor1: Any, tensor2: Any, *, value: float = 1) -> Tensor:
        """Return ``self + value * tensor1 * tensor2`` (differentiable)."""
        v = _number(value, "addcmul")
        return self + (tensor1 * v if v != 1 else tensor1) * tensor2  # type: ignore[operator,return-value]

    def addcdiv(self, tensor1: Any, tensor2: Any, *, value: float = 1) -> Tensor:
        """Return ``self + value * tensor1 / tensor2`` (differentiable)."""
        v = _number(value, "addcdiv")
        return self + (tensor1 * v if v != 1 else tensor1) / tensor2  # type: ignore[operator,return-value]


def addcmul(input: Tensor, tensor1: Any, tensor2: Any, *, value: float = 1) -> Tensor:
    """Return ``input + value * tensor1 * tensor2``."""
    return FusedInplaceMixin.addcmul(as_tensor(input, "addcmul"), tensor1, tensor2, value=value)  # type: ignore[arg-type]


def addcdiv(input: Tensor, tensor1: Any, tensor2: Any, *, value: float = 1) -> Tensor:
    """Return ``input + value * tensor1 / tensor2``."""
    return FusedInplaceMixin.addcdiv(as_tensor(input, "addcdiv"), tensor1, tensor2, value=value)  # type: ignore[arg-type]
