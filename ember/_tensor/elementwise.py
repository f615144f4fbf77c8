"""Tensor methods for elementwise operations: operators, math, activations, comparisons.

Every binary method goes through ``binary_operands``, which applies PyTorch's type
promotion and checks broadcasting once, so the Functions see valid operands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ember import dtypes
from ember._tensor.core import TensorCore, _make
from ember.backend import DEFAULT as _Buf
from ember.ops import elementwise as E

if TYPE_CHECKING:
    from ember._tensor import Tensor

Scalar = int | float | bool
_number = (int, float, bool)

__all__ = [
    "add", "sub", "mul", "div", "true_divide", "pow", "neg", "exp", "log", "log2", "sqrt", "rsqrt",
    "sin", "cos", "tanh", "sigmoid", "relu", "abs", "sign", "reciprocal", "square", "clamp", "clip",
    "maximum", "minimum", "where", "lerp", "eq", "ne", "lt", "le", "gt", "ge", "logical_and",
    "logical_or", "logical_not", "logical_xor", "isnan", "isinf", "isfinite", "floor_divide",
    "remainder", "result_type", "promote_types",
]


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


def _as_tensor(x: Any, op: str) -> Tensor:
    if isinstance(x, TensorCore):
        return x  # type: ignore[return-value]
    if isinstance(x, _number):
        return _make(_Buf.scalar(x, dtypes.scalar_dtype(x)), None)
    raise TypeError(f"{op}: expected a Tensor or a Python number, got {type(x).__name__}")


def binary_operands(a: Any, b: Any, op: str, broadcast: bool = True) -> tuple[Tensor, Tensor]:
    """Return ``a`` and ``b`` as Tensors of their promoted dtype, checked for broadcasting."""
    if a.__class__ is b.__class__ and isinstance(a, TensorCore):
        ab, bb = a._buf, b._buf
        if ab.dtype is bb.dtype:
            if broadcast and ab.shape != bb.shape:
                broadcast_shapes(ab.shape, bb.shape, op)
            return a, b
    # slow path: Python scalars, mixed dtypes
    ops = []
    for x in (a, b):
        if isinstance(x, TensorCore):
            ops.append((x.dtype, 2 if x.ndim else 1))
        elif isinstance(x, _number):
            ops.append((dtypes.scalar_dtype(x), 0))
        else:
            raise TypeError(f"{op}: unsupported operand type {type(x).__name__}")
    target = dtypes.result_type(ops)
    ta = _coerce(a, target)
    tb = _coerce(b, target)
    if broadcast and ta._buf.shape != tb._buf.shape:
        broadcast_shapes(ta._buf.shape, tb._buf.shape, op)
    return ta, tb


def _coerce(x: Any, target: dtypes.dtype) -> Tensor:
    if isinstance(x, TensorCore):
        return x if x.dtype is target else E.Cast.apply(x, dtype=target)  # type: ignore[return-value]
    return _make(_Buf.scalar(x, target), None)


def _floating(x: Tensor) -> Tensor:
    """Integer and bool inputs of float-valued ops become the default float, as in PyTorch."""
    if x._buf.dtype.is_floating_point:
        return x
    return E.Cast.apply(x, dtype=dtypes.get_default_dtype())


def _check_inplace(t: TensorCore, op: str) -> None:
    from ember.autograd.grad_mode import state

    if t.requires_grad and state.enabled:
        kind = "a leaf Variable" if t._ctx is None else "a tensor"
        raise RuntimeError(
            f"{op}: {kind} that requires grad is being used in an in-place operation; "
            "wrap it in ember.no_grad() or change .data instead"
        )


class ElementwiseMixin:
    """Operators and elementwise math on Tensors."""

    __slots__ = ()

    # ---- arithmetic operators ------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        return E.Add.apply(*binary_operands(self, other, "add"))

    def __radd__(self, other: Any) -> Tensor:
        return E.Add.apply(*binary_operands(other, self, "add"))

    def __sub__(self, other: Any) -> Tensor:
        return E.Sub.apply(*binary_operands(self, other, "sub"))

    def __rsub__(self, other: Any) -> Tensor:
        return E.Sub.apply(*binary_operands(other, self, "sub"))

    def __mul__(self, other: Any) -> Tensor:
        return E.Mul.apply(*binary_operands(self, other, "mul"))

    def __rmul__(self, other: Any) -> Tensor:
        return E.Mul.apply(*binary_operands(other, self, "mul"))

    def __truediv__(self, other: Any) -> Tensor:
        a, b = binary_operands(self, other, "div")
        return E.Div.apply(_floating(a), _floating(b))

    def __rtruediv__(self, other: Any) -> Tensor:
        a, b = binary_operands(other, self, "div")
        return E.Div.apply(_floating(a), _floating(b))

    def __floordiv__(self, other: Any) -> Tensor:
        return E.FloorDivide.apply(*binary_operands(self, other, "floor_divide"))

    def __rfloordiv__(self, other: Any) -> Tensor:
        return E.FloorDivide.apply(*binary_operands(other, self, "floor_divide"))

    def __mod__(self, other: Any) -> Tensor:
        return E.Remainder.apply(*binary_operands(self, other, "remainder"))

    def __rmod__(self, other: Any) -> Tensor:
        return E.Remainder.apply(*binary_operands(other, self, "remainder"))

    def __pow__(self, other: Any) -> Tensor:
        if isinstance(other, _number) and not isinstance(other, bool):
            x = self if (self.dtype.is_floating_point or isinstance(other, int)) else _floating(self)  # type: ignore[attr-defined]
            return E.PowScalar.apply(x, exponent=other)
        return E.Pow.apply(*binary_operands(self, other, "pow"))

    def __rpow__(self, other: Any) -> Tensor:
        if isinstance(other, _number) and not isinstance(other, bool):
            return E.RPowScalar.apply(_floating(self), base=other)  # type: ignore[arg-type]
        return E.Pow.apply(*binary_operands(other, self, "pow"))

    def __neg__(self) -> Tensor:
        return E.Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self  # type: ignore[return-value]

    def __abs__(self) -> Tensor:
        return E.Abs.apply(self)

    # ---- comparisons (bool results, no grad) ---------------------------------------
    def __lt__(self, other: Any) -> Tensor:
        return E.Less.apply(*binary_operands(self, other, "lt"))

    def __le__(self, other: Any) -> Tensor:
        return E.LessEqual.apply(*binary_operands(self, other, "le"))

    def __gt__(self, other: Any) -> Tensor:
        return E.Greater.apply(*binary_operands(self, other, "gt"))

    def __ge__(self, other: Any) -> Tensor:
        return E.GreaterEqual.apply(*binary_operands(self, other, "ge"))

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        if other is None:
            return False  # type: ignore[return-value]
        return E.Eq.apply(*binary_operands(self, other, "eq"))

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        if other is None:
            return True  # type: ignore[return-value]
        return E.NotEqual.apply(*binary_operands(self, other, "ne"))

    def __and__(self, other: Any) -> Tensor:
        return E.LogicalAnd.apply(*binary_operands(self, other, "logical_and"))

    def __or__(self, other: Any) -> Tensor:
        return E.LogicalOr.apply(*binary_operands(self, other, "logical_or"))

    def __xor__(self, other: Any) -> Tensor:
        return E.LogicalXor.apply(*binary_operands(self, other, "logical_xor"))

    def __invert__(self) -> Tensor:
        if self.dtype is not dtypes.bool_:  # type: ignore[attr-defined]
            raise TypeError(f"bitwise_not: only bool tensors are supported, got {self.dtype!r}")  # type: ignore[attr-defined]
        return E.LogicalNot.apply(self)

    # ---- in-place (tensors that do not require grad, and .data) ---------------------
    def _inplace(self, other: Any, op: str, prim: str) -> Tensor:
        _check_inplace(self, op)  # type: ignore[arg-type]
        o = other._buf if isinstance(other, TensorCore) else other
        if isinstance(other, TensorCore):
            out = broadcast_shapes(self._buf.shape, other._buf.shape, op)  # type: ignore[attr-defined]
            if out != self._buf.shape:  # type: ignore[attr-defined]
                raise RuntimeError(
                    f"{op}: output with shape {tuple(self._buf.shape)} doesn't match the broadcast "  # type: ignore[attr-defined]
                    f"shape {out}"
                )
            if other.dtype.is_floating_point and not self._buf.dtype.is_floating_point:  # type: ignore[attr-defined]
                raise RuntimeError(
                    f"{op}: result type {other.dtype!r} can't be cast to the desired output type "
                    f"{self._buf.dtype!r}"  # type: ignore[attr-defined]
                )
        getattr(self._buf, prim)(o)  # type: ignore[attr-defined]
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
        return self._inplace(other if alpha == 1 else other * alpha, "add_", "iadd_")

    def sub_(self, other: Any, alpha: Scalar = 1) -> Tensor:
        return self._inplace(other if alpha == 1 else other * alpha, "sub_", "isub_")

    def mul_(self, other: Any) -> Tensor:
        return self._inplace(other, "mul_", "imul_")

    def div_(self, other: Any) -> Tensor:
        return self._inplace(other, "div_", "idiv_")

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_(self, value: Any) -> Tensor:
        _check_inplace(self, "fill_")  # type: ignore[arg-type]
        self._buf.assign_(value._buf if isinstance(value, TensorCore) else value)  # type: ignore[attr-defined]
        return self  # type: ignore[return-value]

    def copy_(self, src: Any) -> Tensor:
        _check_inplace(self, "copy_")  # type: ignore[arg-type]
        src = _as_tensor(src, "copy_")
        broadcast_shapes(self._buf.shape, src._buf.shape, "copy_")  # type: ignore[attr-defined]
        self._buf.assign_(src._buf)  # type: ignore[attr-defined]
        return self  # type: ignore[return-value]

    def clamp_(self, min: Scalar | None = None, max: Scalar | None = None) -> Tensor:  # noqa: A002
        _check_inplace(self, "clamp_")  # type: ignore[arg-type]
        self._buf.assign_(self._buf.clip(min, max))  # type: ignore[attr-defined]
        return self  # type: ignore[return-value]

    # ---- named arithmetic ------------------------------------------------------------
    def add(self, other: Any, alpha: Scalar = 1) -> Tensor:
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other: Any, alpha: Scalar = 1) -> Tensor:
        return self - (other if alpha == 1 else other * alpha)

    subtract = sub

    def mul(self, other: Any) -> Tensor:
        return self * other

    multiply = mul

    def div(self, other: Any, rounding_mode: str | None = None) -> Tensor:
        if rounding_mode is None:
            return self / other
        if rounding_mode == "floor":
            return self // other
        if rounding_mode == "trunc":
            q = self / other
            return q.sign() * q.abs().floor()  # type: ignore[attr-defined]
        raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")

    divide = true_divide = div

    def pow(self, exponent: Any) -> Tensor:
        return self**exponent

    def neg(self) -> Tensor:
        return E.Neg.apply(self)

    negative = neg

    def floor_divide(self, other: Any) -> Tensor:
        return self // other

    def remainder(self, other: Any) -> Tensor:
        return self % other

    fmod = remainder

    # ---- unary math ------------------------------------------------------------------
    def exp(self) -> Tensor:
        return E.Exp.apply(_floating(self))  # type: ignore[arg-type]

    def log(self) -> Tensor:
        return E.Log.apply(_floating(self))  # type: ignore[arg-type]

    def log2(self) -> Tensor:
        return E.Log2.apply(_floating(self))  # type: ignore[arg-type]

    def log1p(self) -> Tensor:
        return (self + 1).log()

    def sqrt(self) -> Tensor:
        return E.Sqrt.apply(_floating(self))  # type: ignore[arg-type]

    def rsqrt(self) -> Tensor:
        return E.Rsqrt.apply(_floating(self))  # type: ignore[arg-type]

    def sin(self) -> Tensor:
        return E.Sin.apply(_floating(self))  # type: ignore[arg-type]

    def cos(self) -> Tensor:
        return E.Cos.apply(_floating(self))  # type: ignore[arg-type]

    def tanh(self) -> Tensor:
        return E.Tanh.apply(_floating(self))  # type: ignore[arg-type]

    def sigmoid(self) -> Tensor:
        return E.Sigmoid.apply(_floating(self))  # type: ignore[arg-type]

    def relu(self) -> Tensor:
        return E.Relu.apply(self)

    def abs(self) -> Tensor:
        return E.Abs.apply(self)

    absolute = abs

    def sign(self) -> Tensor:
        return E.Sign.apply(self)

    def reciprocal(self) -> Tensor:
        return E.Reciprocal.apply(_floating(self))  # type: ignore[arg-type]

    def square(self) -> Tensor:
        return E.PowScalar.apply(self, exponent=2)

    def floor(self) -> Tensor:
        return _make(self._buf.floor(), None)  # type: ignore[attr-defined]

    def ceil(self) -> Tensor:
        return _make(self._buf.ceil(), None)  # type: ignore[attr-defined]

    def round(self) -> Tensor:
        return _make(self._buf.round(), None)  # type: ignore[attr-defined]

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        """Limit values to ``[min, max]``; either bound may be None or a Tensor."""
        if min is None and max is None:
            raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
        if isinstance(min, TensorCore) or isinstance(max, TensorCore):
            out = self
            if min is not None:
                out = out.maximum(min)  # type: ignore[attr-defined]
            if max is not None:
                out = out.minimum(max)  # type: ignore[attr-defined]
            return out  # type: ignore[return-value]
        return E.Clamp.apply(self, min=min, max=max)

    clip = clamp

    def maximum(self, other: Any) -> Tensor:
        return E.Maximum.apply(*binary_operands(self, other, "maximum"))

    def minimum(self, other: Any) -> Tensor:
        return E.Minimum.apply(*binary_operands(self, other, "minimum"))

    def lerp(self, end: Any, weight: Any) -> Tensor:
        """Return ``self + weight * (end - self)``."""
        return self + weight * (end - self)

    def where(self, condition: Any, other: Any) -> Tensor:
        return where(condition, self, other)

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        """Replace entries where ``mask`` is True with ``value``."""
        if not isinstance(mask, TensorCore) or mask.dtype is not dtypes.bool_:
            raise TypeError("masked_fill: mask must be a bool tensor")
        out_shape = broadcast_shapes(self._buf.shape, mask._buf.shape, "masked_fill")  # type: ignore[attr-defined]
        if out_shape != self._buf.shape:  # type: ignore[attr-defined]
            raise RuntimeError(
                f"masked_fill: mask of shape {tuple(mask.shape)} does not broadcast to the tensor's shape "
                f"{tuple(self._buf.shape)}"  # type: ignore[attr-defined]
            )
        if isinstance(value, TensorCore):
            value = value.to(self.dtype)  # type: ignore[attr-defined]
        else:
            value = _make(_Buf.scalar(value, self.dtype), None)  # type: ignore[attr-defined]
        return E.Where.apply(mask, value, self)

    def masked_fill_(self, mask: Any, value: Any) -> Tensor:
        _check_inplace(self, "masked_fill_")  # type: ignore[arg-type]
        self._buf.assign_(self.masked_fill(mask, value)._buf)  # type: ignore[attr-defined]
        return self  # type: ignore[return-value]

    def eq(self, other: Any) -> Tensor:
        return self == other

    def ne(self, other: Any) -> Tensor:
        return self != other

    def lt(self, other: Any) -> Tensor:
        return self < other

    less = lt

    def le(self, other: Any) -> Tensor:
        return self <= other

    def gt(self, other: Any) -> Tensor:
        return self > other

    greater = gt

    def ge(self, other: Any) -> Tensor:
        return self >= other

    def logical_and(self, other: Any) -> Tensor:
        return E.LogicalAnd.apply(*binary_operands(self, other, "logical_and"))

    def logical_or(self, other: Any) -> Tensor:
        return E.LogicalOr.apply(*binary_operands(self, other, "logical_or"))

    def logical_xor(self, other: Any) -> Tensor:
        return E.LogicalXor.apply(*binary_operands(self, other, "logical_xor"))

    def logical_not(self) -> Tensor:
        return E.LogicalNot.apply(self.bool())  # type: ignore[attr-defined]

    def isnan(self) -> Tensor:
        return _make(self._buf.isnan(), None)  # type: ignore[attr-defined]

    def isinf(self) -> Tensor:
        return _make(self._buf.isinf(), None)  # type: ignore[attr-defined]

    def isfinite(self) -> Tensor:
        return _make(self._buf.isfinite(), None)  # type: ignore[attr-defined]

    def equal(self, other: Any) -> bool:
        """True when both tensors have the same shape and values."""
        return tuple(self.shape) == tuple(other.shape) and bool((self == other).all())  # type: ignore[attr-defined]

    def allclose(self, other: Any, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
        diff = (self - other).abs()
        return bool((diff <= atol + rtol * other.abs()).all())  # type: ignore[attr-defined]

    # ---- dtype conversion ------------------------------------------------------------
    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """Convert to a dtype (and/or device); ``to(other)`` takes other's dtype."""
        dtype = kwargs.get("dtype")
        for a in args:
            if isinstance(a, TensorCore):
                dtype = a.dtype
            elif isinstance(a, dtypes.dtype):
                dtype = a
            elif isinstance(a, str) and a in dtypes.BY_NAME:
                dtype = dtypes.BY_NAME[a]
            else:
                from ember._tensor.core import device

                device(a)  # validates: only devices ember has
        if kwargs.get("device") is not None:
            from ember._tensor.core import device

            device(kwargs["device"])
        if dtype is None or dtypes.to_dtype(dtype) is self.dtype:  # type: ignore[attr-defined]
            return self  # type: ignore[return-value]
        target = dtypes.to_dtype(dtype)
        if self.requires_grad and not target.is_floating_point:  # type: ignore[attr-defined]
            return _make(self._buf.cast(target), None)  # type: ignore[attr-defined]
        return E.Cast.apply(self, dtype=target)

    def type(self, dtype: Any = None) -> Any:
        if dtype is None:
            return f"ember.{self.dtype.name.capitalize()}Tensor"  # type: ignore[attr-defined]
        return self.to(dtypes.to_dtype(dtype))

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def float(self) -> Tensor:
        return self.to(dtypes.float32)

    def double(self) -> Tensor:
        return self.to(dtypes.float64)

    def half(self) -> Tensor:
        return self.to(dtypes.float16)

    def long(self) -> Tensor:
        return self.to(dtypes.int64)

    def int(self) -> Tensor:
        return self.to(dtypes.int32)

    def bool(self) -> Tensor:
        return self.to(dtypes.bool_)

    def cpu(self) -> Tensor:
        return self  # type: ignore[return-value]

    def clone(self) -> Tensor:
        return E.Clone.apply(self)

    def contiguous(self) -> Tensor:
        if self._buf.is_contiguous():  # type: ignore[attr-defined]
            return self  # type: ignore[return-value]
        return E.Contiguous.apply(self)

    def is_contiguous(self) -> bool:
        return self._buf.is_contiguous()  # type: ignore[attr-defined]

    # ---- activations (also in nn.functional) ------------------------------------------
    def gelu(self, approximate: str = "none") -> Tensor:
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        return E.Gelu.apply(self, approximate=approximate)

    def silu(self) -> Tensor:
        return E.Silu.apply(self)

    def softplus(self, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
        return E.Softplus.apply(self, beta=beta, threshold=threshold)

    def leaky_relu(self, negative_slope: float = 0.01) -> Tensor:
        return E.LeakyRelu.apply(self, negative_slope=negative_slope)

    def elu(self, alpha: float = 1.0) -> Tensor:
        return E.Elu.apply(self, alpha=alpha)


# ---- module-level functions (ember.add, ember.where, ...) --------------------------------
def where(condition: Any, input: Any, other: Any) -> Tensor:  # noqa: A002
    """Pick ``input`` where ``condition`` is True, else ``other`` (all broadcast together)."""
    if not isinstance(condition, TensorCore) or condition.dtype is not dtypes.bool_:
        raise TypeError("where: condition must be a bool tensor")
    a, b = binary_operands(input, other, "where")
    broadcast_shapes(condition._buf.shape, broadcast_shapes(a._buf.shape, b._buf.shape, "where"), "where")
    return E.Where.apply(condition, a, b)


def _method(name: str) -> Any:
    def fn(input: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
        return getattr(_as_tensor(input, name), name)(*args, **kwargs)

    fn.__name__ = name
    fn.__doc__ = f"Functional form of ``Tensor.{name}``."
    return fn


for _n in __all__:
    if _n not in ("where", "result_type", "promote_types"):
        globals()[_n] = _method(_n if _n != "true_divide" else "div")


def result_type(a: Any, b: Any) -> dtypes.dtype:
    """The dtype an operation on ``a`` and ``b`` produces (PyTorch's promotion)."""
    ops = []
    for x in (a, b):
        if isinstance(x, TensorCore):
            ops.append((x.dtype, 2 if x.ndim else 1))
        else:
            ops.append((dtypes.scalar_dtype(x), 0))
    return dtypes.result_type(ops)


promote_types = dtypes.promote_types
