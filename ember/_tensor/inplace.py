"""Tensor methods that change a tensor in place: ``+= -= *= /=``, ``add_``, ``fill_``, ``copy_``, ...

Each one writes into the tensor's memory and bumps the buffer's version, so a backward
that still needs the old values raises instead of silently using the new ones. With
grad mode on, a change of a non-leaf tensor (or one by an operand that requires grad,
``h += x``) is recorded: the out-of-place operation runs on a copy of the old value, the
result is written into the tensor's memory, and the tensor becomes that node's output,
as PyTorch's in-place ops rebase ``grad_fn``. Leaves that require grad refuse, as in
PyTorch, and so do tensors whose memory other arrays look into (views), whose graph
ember cannot rewrite.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ember import dtypes
from ember._tensor.core import TensorCore, _make
from ember._tensor.promotion import as_tensor, broadcast_shapes, result_dtype, scalar_value
from ember.backend import DEFAULT as _Buf

if TYPE_CHECKING:
    from ember._tensor import Tensor
    from ember._tensor.core import TensorCore as _TensorBase
else:
    _TensorBase = object  # the mixins are typed as Tensors, built as plain classes

Scalar = int | float | bool


def check_inplace(t: TensorCore, op: str) -> None:
    """Refuse an in-place change that is not recorded in the graph of a tensor that requires grad,
    while grad mode is on (the optimizers' fused updates, ``bernoulli_``)."""
    from ember.autograd.grad_mode import state

    if t.requires_grad and state.enabled:
        kind = "a leaf Variable" if t._ctx is None else "a tensor"
        raise RuntimeError(
            f"{op}: {kind} that requires grad is being used in an in-place operation; "
            "wrap it in ember.no_grad() or change .data instead"
        )


def records(t: TensorCore, op: str, *others: Any) -> bool:
    """Whether the in-place ``op`` on ``t`` must be recorded in the graph (see the module docstring)."""
    from ember.autograd.grad_mode import state

    if not state.enabled:
        return False
    if t.requires_grad and t._ctx is None:
        raise RuntimeError(
            f"{op}: a leaf Variable that requires grad is being used in an in-place operation; "
            "wrap it in ember.no_grad() or change .data instead"
        )
    if not t.requires_grad and not any(isinstance(o, TensorCore) and o.requires_grad for o in others):
        return False
    if not t._buf.memory_is_private():  # type: ignore[attr-defined]
        raise RuntimeError(
            f"{op}: in place on a tensor in the autograd graph whose memory is shared with another tensor "
            f"or array (a view or slice of it, or it a view of another, or a NumPy array from .numpy()) "
            f"is not supported; use the out-of-place form, e.g. x = x + y"
        )
    return True


def rebase(t: TensorCore, op: str, compute: Any) -> Tensor:
    """Write ``compute(old)`` into ``t``'s memory and make ``t`` its graph node's output.

    ``old`` is a copy of ``t``'s value in ``t``'s place in the graph, so the operation may
    save it for backward while ``t``'s memory takes the new value.
    """
    old = _make(t._buf.copy(), t._ctx)  # type: ignore[attr-defined]
    old.requires_grad = t.requires_grad
    out = compute(old)
    d = t._buf.dtype  # type: ignore[attr-defined]
    _check_castable(out._buf.dtype, d, op)
    if out._buf.dtype is not d:
        out = out.to(d)
    t._buf.assign_(out._buf)  # type: ignore[attr-defined]
    t._ctx = out._ctx
    t.requires_grad = out.requires_grad
    return t  # type: ignore[return-value]


def _check_castable(res: dtypes.dtype, d: dtypes.dtype, op: str) -> None:
    # PyTorch refuses in-place results that would lose their kind: float into int, int into bool
    if res._category > d._category:
        raise RuntimeError(f"{op}: result type {res!r} can't be cast to the desired output type {d!r}")


class InplaceMixin(_TensorBase):
    """In-place arithmetic and fills on Tensors."""

    __slots__ = ()

    def _inplace(self, other: Any, op: str, prim: str) -> Tensor:
        if (self.requires_grad or (isinstance(other, TensorCore) and other.requires_grad)) and records(  # type: ignore[attr-defined]
                self, op, other):  # type: ignore[arg-type]
            return rebase(self, op, lambda old: _OUT_OF_PLACE[prim](old, other))
        buf = self._buf  # type: ignore[attr-defined]
        d = buf.dtype
        if other.__class__ is self.__class__:
            ob = other._buf  # type: ignore[attr-defined]
            if ob.dtype is d and ob.shape == buf.shape and (d.is_floating_point or prim != "idiv_"):
                getattr(buf, prim)(ob)  # the optimizer's hot path: same dtype, same shape
                return self  # type: ignore[return-value]
        if isinstance(other, TensorCore):
            out = broadcast_shapes(buf.shape, other._buf.shape, op)
            if out != buf.shape:
                raise RuntimeError(
                    f"{op}: output with shape {tuple(buf.shape)} doesn't match the broadcast shape {out}"
                )
            res = result_dtype(self, other)
        else:
            v = scalar_value(other)
            if v is None:
                raise TypeError(f"{op}: expected a Tensor or a number, got {type(other).__name__}")
            other = v
            res = result_dtype(self, v)
        if prim == "idiv_" and not res.is_floating_point:
            res = dtypes.get_default_dtype()  # true division always gives floats
        _check_castable(res, d, op)
        if isinstance(other, TensorCore):
            o = other._buf if other._buf.dtype is res else other._buf.cast(res)  # type: ignore[attr-defined]
        else:
            o = _Buf.scalar(dtypes.fit_scalar(other, res), res)
        getattr(buf, prim)(o)
        return self  # type: ignore[return-value]

    def __iadd__(self, other: Any) -> Tensor:
        return self._inplace(other, "add_", "iadd_")

    def __isub__(self, other: Any) -> Tensor:
        return self._inplace(other, "sub_", "isub_")

    def __imul__(self, other: Any) -> Tensor:
        return self._inplace(other, "mul_", "imul_")

    def __itruediv__(self, other: Any) -> Tensor:
        return self._inplace(other, "div_", "idiv_")

    def add_(self, other: Any, alpha: Scalar = 1) -> Tensor:
        """Add ``alpha * other`` to this tensor in place (``+=``) and return it."""
        return self._inplace(other if alpha == 1 else other * alpha, "add_", "iadd_")

    def sub_(self, other: Any, alpha: Scalar = 1) -> Tensor:
        """Subtract ``alpha * other`` from this tensor in place (``-=``) and return it."""
        return self._inplace(other if alpha == 1 else other * alpha, "sub_", "isub_")

    def mul_(self, other: Any) -> Tensor:
        """Multiply this tensor by ``other`` in place (``*=``) and return it."""
        return self._inplace(other, "mul_", "imul_")

    def div_(self, other: Any) -> Tensor:
        """Divide this tensor by ``other`` in place (``/=``; integer tensors refuse) and return it."""
        return self._inplace(other, "div_", "idiv_")

    def _fill_recorded(self, value: Any) -> Tensor:
        if isinstance(value, TensorCore):
            if value._buf.shape:
                raise RuntimeError(
                    f"fill_: only supports a 0-dimensional value tensor, got shape {tuple(value._buf.shape)}"
                )
        elif scalar_value(value) is None:
            raise TypeError(f"fill_: expected a number, got {type(value).__name__}")
        return rebase(self, "fill_", lambda old: _everywhere(old, value))  # type: ignore[arg-type]

    def zero_(self) -> Tensor:
        """Set every element to zero in place and return this tensor."""
        return self.fill_(0)

    def fill_(self, value: Any) -> Tensor:
        """Set every element to ``value`` (a number or a 0-d tensor)."""
        if records(self, "fill_", value):  # type: ignore[arg-type]
            return self._fill_recorded(value)
        buf = self._buf  # type: ignore[attr-defined]
        if isinstance(value, TensorCore):
            if value._buf.shape:
                raise RuntimeError(
                    f"fill_: only supports a 0-dimensional value tensor, got shape {tuple(value._buf.shape)}"
                )
            value = value._buf.item()  # type: ignore[attr-defined]
        v = scalar_value(value)
        if v is None:
            raise TypeError(f"fill_: expected a number, got {type(value).__name__}")
        buf.assign_(dtypes.fit_scalar(v, buf.dtype))
        return self  # type: ignore[return-value]

    def copy_(self, src: Any) -> Tensor:
        """Copy ``src``'s values (broadcast, and cast to this tensor's dtype) into this tensor."""
        src = as_tensor(src, "copy_")
        out = broadcast_shapes(self._buf.shape, src._buf.shape, "copy_")  # type: ignore[attr-defined]
        if out != self._buf.shape:  # type: ignore[attr-defined]
            raise RuntimeError(
                f"copy_: source of shape {tuple(src.shape)} doesn't broadcast to the destination's shape "
                f"{tuple(self._buf.shape)}"  # type: ignore[attr-defined]
            )
        if records(self, "copy_", src):  # type: ignore[arg-type]
            d = self.dtype  # type: ignore[attr-defined]
            # the old value is replaced everywhere, so it gets no gradient
            return rebase(self, "copy_", lambda old: _everywhere(old, src.to(d)))
        self._buf.assign_(src._buf)  # type: ignore[attr-defined]
        return self  # type: ignore[return-value]

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        """Limit the values to ``[min, max]`` in place (also ``clip_``) and return this tensor."""
        if records(self, "clamp_", min, max):  # type: ignore[arg-type]
            return rebase(self, "clamp_", lambda old: old.clamp(min, max))
        out = self.clamp(min, max)  # type: ignore[attr-defined]
        _check_castable(out._buf.dtype, self._buf.dtype, "clamp_")  # type: ignore[attr-defined]
        self._buf.assign_(out._buf)  # type: ignore[attr-defined]
        return self  # type: ignore[return-value]

    clip_ = clamp_

    def masked_fill_(self, mask: Any, value: Any) -> Tensor:
        """Set the entries where ``mask`` is True to ``value`` in place and return this tensor."""
        if records(self, "masked_fill_", value):  # type: ignore[arg-type]
            return rebase(self, "masked_fill_", lambda old: old.masked_fill(mask, value))
        self._buf.assign_(self.masked_fill(mask, value)._buf)  # type: ignore[attr-defined]
        return self  # type: ignore[return-value]


# the out-of-place form of each in-place primitive, for recorded in-place ops
_OUT_OF_PLACE = {
    "iadd_": lambda a, b: a + b,
    "isub_": lambda a, b: a - b,
    "imul_": lambda a, b: a * b,
    "idiv_": lambda a, b: a / b,
}


def _everywhere(old: Tensor, value: Any) -> Tensor:
    """``value`` broadcast to ``old``'s shape, as a graph node in which ``old`` gets a zero gradient."""
    from ember._tensor.creation import ones
    from ember._tensor.elementwise import where

    return where(ones(tuple(old.shape), dtype=dtypes.bool_), value, old)
