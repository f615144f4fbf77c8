"""Tensor methods for elementwise operations: arithmetic operators, math, clamp, where, lerp.

Every binary method goes through ``binary_operands`` (``promotion.py``), which applies
PyTorch's type promotion and checks broadcasting once, so the Functions see valid
operands. ``ElementwiseMixin`` gathers the family's smaller mixins: comparisons
(``compare.py``), activations (``activation.py``), in-place updates (``inplace.py``)
and dtype conversion (``conversion.py``); their functional forms are exported here.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ember import dtypes
from ember._tensor.activation import ActivationMixin, relu
from ember._tensor.compare import (
    CompareMixin,
    allclose,
    eq,
    equal,
    ge,
    gt,
    isclose,
    isfinite,
    isinf,
    isnan,
    le,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    ne,
)
from ember._tensor.conversion import ConversionMixin
from ember._tensor.core import TensorCore, _make
from ember._tensor.inplace import InplaceMixin
from ember._tensor.inplace import check_inplace as _check_inplace  # noqa: F401 - used by other mixins
from ember._tensor.promotion import (
    as_tensor,
    binary_operands,
    broadcast_shapes,
    coerce,
    floating,
    method_function,
    require_floating,
    result_dtype,
    scalar_value,
)
from ember.ops import elementwise as E

if TYPE_CHECKING:
    from ember._tensor import Tensor

Scalar = int | float | bool
_PLAIN = (float, int, type(None))  # bounds a floating tensor's clamp takes as they are
_as_tensor = as_tensor  # the name other mixins import

__all__ = [
    "abs", "add", "allclose", "arctan2", "atan2", "ceil", "clamp", "clip", "cos", "div", "divide", "eq",
    "equal", "erf", "erfc", "exp", "floor", "floor_divide", "fmod", "ge", "gt", "isclose", "isfinite",
    "isinf", "isnan", "le", "lerp", "log", "log1p", "log2", "logical_and", "logical_not", "logical_or",
    "logical_xor", "lt", "masked_fill", "maximum", "minimum", "mul", "multiply", "nan_to_num", "ne", "neg",
    "negative", "pow", "promote_types", "reciprocal", "relu",
    "remainder", "result_type", "round", "rsqrt", "sigmoid", "sign", "sin", "sqrt", "square", "sub",
    "subtract", "tanh", "true_divide", "trunc", "where",
]  # fmt: skip


_BOOL_SUB = "subtraction with a bool tensor is not supported; use ^ (logical_xor) or ~ (logical_not)"


def _no_bool(x: Any, op: str, message: str) -> None:
    if isinstance(x, TensorCore) and x._buf.dtype is dtypes.bool_:
        raise RuntimeError(f"{op}: {message}")


def _int_pow(a: Tensor, b: Tensor) -> Tensor:
    """``a ** b`` for integer tensors; a negative exponent gives 0 unless |a| == 1, as in PyTorch."""
    if not bool((b._buf < 0).any().item()):  # type: ignore[attr-defined, operator]
        return E.Pow.apply(a, b)
    out = E.Pow.apply(a, E.Abs.apply(b))
    keep = (b >= 0).logical_or(abs(a) == 1)  # type: ignore[attr-defined]
    return where(keep, out, 0)


def _pow(a: Tensor, b: Tensor) -> Tensor:
    if a._buf.dtype.is_floating_point:
        return E.Pow.apply(a, b)
    return _int_pow(a, b)


def _check_int_divisor(b: Tensor, op: str) -> None:
    d = b._buf.dtype
    if d is dtypes.bool_:
        raise NotImplementedError(f"{op}: not implemented for bool tensors")
    if not d.is_floating_point and bool(b._buf.eq(0).any().item()):  # type: ignore[attr-defined]
        raise RuntimeError(f"{op}: integer division by zero (divisor of shape {tuple(b._buf.shape)})")


def _int_div_op(a: Any, b: Any, op: str) -> tuple[Tensor, Tensor]:
    ta, tb = binary_operands(a, b, op)
    _check_int_divisor(tb, op)
    return ta, tb


class ElementwiseMixin(CompareMixin, ActivationMixin, InplaceMixin, ConversionMixin):
    """Operators and elementwise math on Tensors."""

    __slots__ = ()
    # NumPy defers to our reflected operators: np.float64(2) * t is a Tensor, as in PyTorch
    __array_priority__ = 1000

    # ---- arithmetic operators ------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        return E.Add.apply(*binary_operands(self, other, "add"))

    def __radd__(self, other: Any) -> Tensor:
        return E.Add.apply(*binary_operands(other, self, "add"))

    def __sub__(self, other: Any) -> Tensor:
        _no_bool(self, "sub", _BOOL_SUB)
        _no_bool(other, "sub", _BOOL_SUB)
        return E.Sub.apply(*binary_operands(self, other, "sub"))

    def __rsub__(self, other: Any) -> Tensor:
        _no_bool(self, "sub", _BOOL_SUB)
        return E.Sub.apply(*binary_operands(other, self, "sub"))

    def __mul__(self, other: Any) -> Tensor:
        return E.Mul.apply(*binary_operands(self, other, "mul"))

    def __rmul__(self, other: Any) -> Tensor:
        return E.Mul.apply(*binary_operands(other, self, "mul"))

    def __truediv__(self, other: Any) -> Tensor:
        a, b = binary_operands(self, other, "div")
        if a._buf.dtype.is_floating_point:
            return E.Div.apply(a, b)
        return E.Div.apply(floating(a), floating(b))

    def __rtruediv__(self, other: Any) -> Tensor:
        a, b = binary_operands(other, self, "div")
        return E.Div.apply(floating(a), floating(b))

    def __floordiv__(self, other: Any) -> Tensor:
        return E.FloorDivide.apply(*_int_div_op(self, other, "floor_divide"))

    def __rfloordiv__(self, other: Any) -> Tensor:
        return E.FloorDivide.apply(*_int_div_op(other, self, "floor_divide"))

    def __mod__(self, other: Any) -> Tensor:
        return E.Remainder.apply(*_int_div_op(self, other, "remainder"))

    def __rmod__(self, other: Any) -> Tensor:
        return E.Remainder.apply(*_int_div_op(other, self, "remainder"))

    def __pow__(self, other: Any) -> Tensor:
        if other.__class__ is int or other.__class__ is float:
            x = self
            d = self._buf.dtype  # type: ignore[attr-defined]
            if not d.is_floating_point:
                if other.__class__ is float:
                    x = floating(self)  # type: ignore[arg-type]
                elif other < 0:
                    raise RuntimeError(
                        f"pow: integers to negative integer powers are not allowed (tensor of dtype {d!r}, "
                        f"exponent {other})"
                    )
                elif d is dtypes.bool_:
                    x = E.Cast.apply(self, dtype=dtypes.int64)  # type: ignore[arg-type]
            return E.PowScalar.apply(x, exponent=other)  # type: ignore[arg-type]
        return _pow(*binary_operands(self, other, "pow"))

    def __rpow__(self, other: Any) -> Tensor:
        res = result_dtype(other, self)
        if res.is_floating_point and (other.__class__ is int or other.__class__ is float):
            return E.RPowScalar.apply(coerce(self, res), base=other)
        return _pow(*binary_operands(other, self, "pow"))

    def __neg__(self) -> Tensor:
        _no_bool(self, "neg", "negation of a bool tensor is not supported; use ~ or logical_not()")
        return E.Neg.apply(self)  # type: ignore[arg-type]

    def __pos__(self) -> Tensor:
        return self  # type: ignore[return-value]

    def __abs__(self) -> Tensor:
        return self.abs()

    # ---- named arithmetic ------------------------------------------------------------
    def add(self, other: Any, alpha: Scalar = 1) -> Tensor:
        """Return ``self + alpha * other`` (``other`` a tensor or a number, broadcast)."""
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other: Any, alpha: Scalar = 1) -> Tensor:
        """Return ``self - alpha * other`` (also ``subtract``)."""
        return self - (other if alpha == 1 else other * alpha)

    subtract = sub

    def mul(self, other: Any) -> Tensor:
        """Return ``self * other`` elementwise, broadcast (also ``multiply``)."""
        return self * other

    multiply = mul

    def div(self, other: Any, rounding_mode: str | None = None) -> Tensor:
        """Return ``self / other``, rounded toward -inf with ``'floor'`` or toward zero with ``'trunc'``."""
        if rounding_mode is None:
            return self / other
        if rounding_mode == "floor":
            return self // other
        if rounding_mode == "trunc":
            a, b = _int_div_op(self, other, "div")
            if a._buf.dtype.is_floating_point:
                return _make((a._buf / b._buf).trunc(), None)  # type: ignore[operator]
            # exact for integers: x - fmod(x, y) is a multiple of y
            return E.FloorDivide.apply(a - E.Fmod.apply(a, b), b)
        raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")

    divide = true_divide = div

    def pow(self, exponent: Any) -> Tensor:
        """Return ``self ** exponent`` elementwise (the exponent a number or a tensor)."""
        return self**exponent

    def neg(self) -> Tensor:
        """Return ``-self`` (also ``negative``)."""
        return -self  # type: ignore[operator]

    negative = neg

    def floor_divide(self, other: Any) -> Tensor:
        """Return ``self // other``: the quotient rounded toward -inf."""
        return self // other

    def remainder(self, other: Any) -> Tensor:
        """Return the remainder with the sign of the divisor (Python's ``%``)."""
        return self % other

    def fmod(self, other: Any) -> Tensor:
        """Return the remainder with the sign of the dividend (C's ``fmod``)."""
        return E.Fmod.apply(*_int_div_op(self, other, "fmod"))

    # ---- unary math ------------------------------------------------------------------
    def exp(self) -> Tensor:
        """Return ``e ** x`` elementwise (integer tensors give float32)."""
        return E.Exp.apply(floating(self))  # type: ignore[arg-type]

    def log(self) -> Tensor:
        """Return the natural logarithm elementwise."""
        return E.Log.apply(floating(self))  # type: ignore[arg-type]

    def log2(self) -> Tensor:
        """Return the base-2 logarithm elementwise."""
        return E.Log2.apply(floating(self))  # type: ignore[arg-type]

    def erf(self) -> Tensor:
        """Return the error function ``2 / sqrt(pi) * integral of exp(-t^2) from 0 to x``."""
        return E.Erf.apply(floating(self))  # type: ignore[arg-type]

    def erfc(self) -> Tensor:
        """Return ``1 - erf(x)``."""
        return 1.0 - self.erf()

    def atan2(self, other: Any) -> Tensor:
        """Return the angle of the point (other, self) in [-pi, pi], elementwise (broadcast)."""
        a, b = binary_operands(self, other, "atan2")
        return E.Atan2.apply(floating(a), floating(b))

    arctan2 = atan2

    def nan_to_num(
        self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
    ) -> Tensor:
        """Replace NaN by ``nan`` and infinities by ``posinf``/``neginf``.

        The infinities default to the dtype's largest and lowest finite values; the
        gradient flows where the input was finite.
        """
        d = self._buf.dtype  # type: ignore[attr-defined]
        if not d.is_floating_point:
            return self.clone()  # type: ignore[attr-defined]
        big = dtypes.finfo(d).max
        hi, lo = (big if posinf is None else posinf), (-big if neginf is None else neginf)
        out = self.masked_fill(self.isnan(), nan)
        out = out.masked_fill(self == math.inf, hi)
        return out.masked_fill(self == -math.inf, lo)

    def log1p(self) -> Tensor:
        """Return ``log(1 + x)`` elementwise, accurate for small ``x``."""
        return E.Log1p.apply(floating(self))  # type: ignore[arg-type]

    def sqrt(self) -> Tensor:
        """Return the square root elementwise."""
        return E.Sqrt.apply(floating(self))  # type: ignore[arg-type]

    def rsqrt(self) -> Tensor:
        """Return ``1 / sqrt(x)`` elementwise."""
        return E.Rsqrt.apply(floating(self))  # type: ignore[arg-type]

    def sin(self) -> Tensor:
        """Return the sine elementwise (radians)."""
        return E.Sin.apply(floating(self))  # type: ignore[arg-type]

    def cos(self) -> Tensor:
        """Return the cosine elementwise (radians)."""
        return E.Cos.apply(floating(self))  # type: ignore[arg-type]

    def tanh(self) -> Tensor:
        """Return the hyperbolic tangent elementwise."""
        return E.Tanh.apply(floating(self))  # type: ignore[arg-type]

    def sigmoid(self) -> Tensor:
        """Return ``1 / (1 + exp(-x))`` elementwise."""
        return E.Sigmoid.apply(floating(self))  # type: ignore[arg-type]

    def abs(self) -> Tensor:
        """Return the absolute value elementwise (also ``absolute``)."""
        if self._buf.dtype is dtypes.bool_:  # type: ignore[attr-defined]
            raise NotImplementedError("abs: not implemented for bool tensors")
        return E.Abs.apply(self)  # type: ignore[arg-type]

    absolute = abs

    def sign(self) -> Tensor:
        """Return -1, 0 or 1 according to the sign of each element."""
        if self._buf.dtype is dtypes.bool_:  # type: ignore[attr-defined]
            return _make(self._buf.copy(), None)  # type: ignore[attr-defined]
        return E.Sign.apply(self)  # type: ignore[arg-type]

    def reciprocal(self) -> Tensor:
        """Return ``1 / x`` elementwise."""
        return E.Reciprocal.apply(floating(self))  # type: ignore[arg-type]

    def square(self) -> Tensor:
        """Return ``x * x`` elementwise."""
        x = self if self._buf.dtype is not dtypes.bool_ else self.long()  # type: ignore[attr-defined]
        return E.PowScalar.apply(x, exponent=2)  # type: ignore[arg-type]

    # rounding: piecewise constant, so no gradient is recorded
    def floor(self) -> Tensor:
        """Return the largest integer <= x elementwise (piecewise constant: no gradient is recorded)."""
        return _make(self._buf.floor(), None)  # type: ignore[attr-defined]

    def ceil(self) -> Tensor:
        """Return the smallest integer >= x elementwise (no gradient is recorded)."""
        return _make(self._buf.ceil(), None)  # type: ignore[attr-defined]

    def round(self) -> Tensor:
        """Return x rounded to the nearest integer, halves to even (no gradient is recorded)."""
        return _make(self._buf.round(), None)  # type: ignore[attr-defined]

    def trunc(self) -> Tensor:
        """Return x rounded toward zero (no gradient is recorded)."""
        return _make(self._buf.trunc(), None)  # type: ignore[attr-defined]

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        """Limit values to ``[min, max]``; either bound may be None, a number or a Tensor."""
        if min is None and max is None:
            raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
        floating_self = self._buf.dtype.is_floating_point  # type: ignore[attr-defined]
        if floating_self and min.__class__ in _PLAIN and max.__class__ in _PLAIN:  # the common case
            return E.Clamp.apply(self, min=min, max=max)  # type: ignore[arg-type]
        res = result_dtype(self, min, max)
        x = coerce(self, res)
        if not isinstance(min, TensorCore) and not isinstance(max, TensorCore):
            lo = None if min is None else dtypes.fit_scalar(min, res)
            hi = None if max is None else dtypes.fit_scalar(max, res)
            return E.Clamp.apply(x, min=lo, max=hi)
        shape = x._buf.shape
        for b in (min, max):
            if isinstance(b, TensorCore):
                shape = broadcast_shapes(shape, b._buf.shape, "clamp")
        if not res.is_floating_point:  # integers carry no gradient: a plain max/min is exact
            out = x if min is None else E.Maximum.apply(x, coerce(min, res))
            return out if max is None else E.Minimum.apply(out, coerce(max, res))
        lo = coerce(-math.inf if min is None else min, res)
        hi = coerce(math.inf if max is None else max, res)
        return E.ClampTensor.apply(x, lo, hi)

    clip = clamp

    def maximum(self, other: Any) -> Tensor:
        """Return the elementwise maximum of ``self`` and ``other`` (broadcast)."""
        return E.Maximum.apply(*binary_operands(self, other, "maximum"))

    def minimum(self, other: Any) -> Tensor:
        """Return the elementwise minimum of ``self`` and ``other`` (broadcast)."""
        return E.Minimum.apply(*binary_operands(self, other, "minimum"))

    def lerp(self, end: Any, weight: Any) -> Tensor:
        """Return ``self + weight * (end - self)`` (floating tensors of one dtype)."""
        require_floating(self, "lerp")  # type: ignore[arg-type]
        d = self._buf.dtype  # type: ignore[attr-defined]
        for name, t in (("end", end), ("weight", weight)):
            if isinstance(t, TensorCore) and t._buf.dtype is not d:
                raise RuntimeError(f"lerp: expected dtype {d!r} for '{name}' but got {t._buf.dtype!r}")
        if not isinstance(end, TensorCore):
            raise TypeError(f"lerp: 'end' must be a Tensor, got {type(end).__name__}")
        shape = broadcast_shapes(self._buf.shape, end._buf.shape, "lerp")  # type: ignore[attr-defined]
        if isinstance(weight, TensorCore):
            broadcast_shapes(shape, weight._buf.shape, "lerp")
        return self + weight * (end - self)  # type: ignore[operator]

    def where(self, condition: Any, other: Any) -> Tensor:
        """Return ``self`` where ``condition`` is True, else ``other`` (as ``ember.where``)."""
        return where(condition, self, other)

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        """Replace entries where ``mask`` is True with ``value`` (a number or a 0-d tensor)."""
        buf = self._buf  # type: ignore[attr-defined]
        if not isinstance(mask, TensorCore) or mask._buf.dtype is not dtypes.bool_:
            got = mask._buf.dtype if isinstance(mask, TensorCore) else type(mask).__name__
            raise RuntimeError(f"masked_fill: only supports boolean masks, but got mask of {got!r}")
        out_shape = broadcast_shapes(buf.shape, mask._buf.shape, "masked_fill")
        if out_shape != buf.shape:
            raise RuntimeError(
                f"masked_fill: mask of shape {tuple(mask.shape)} does not broadcast to the tensor's shape "
                f"{tuple(buf.shape)}"
            )
        if isinstance(value, TensorCore):
            if value._buf.shape:
                raise RuntimeError(
                    "masked_fill: only supports a 0-dimensional value tensor, got one of shape "
                    f"{tuple(value._buf.shape)}"
                )
            value = coerce(value, buf.dtype)
        else:
            v = scalar_value(value)
            if v is None:
                raise TypeError(
                    f"masked_fill: value must be a number or a 0-d tensor, got {type(value).__name__}"
                )
            value = coerce(v, buf.dtype)
        return E.Where.apply(mask, value, self)  # type: ignore[arg-type]

# ---- module-level functions (ember.add, ember.where, ...) --------------------------------
def where(condition: Any, input: Any = None, other: Any = None) -> Any:
    """Pick ``input`` where ``condition`` is True, else ``other`` (all broadcast together).

    ``where(condition)`` alone is ``condition.nonzero(as_tuple=True)``.
    """
    if input is None and other is None and isinstance(condition, TensorCore):
        return condition.nonzero(as_tuple=True)  # type: ignore[attr-defined]
    if not isinstance(condition, TensorCore) or condition._buf.dtype is not dtypes.bool_:
        got = condition._buf.dtype if isinstance(condition, TensorCore) else type(condition).__name__
        raise RuntimeError(f"where: expected condition to be a bool tensor, got {got!r}")
    a, b = binary_operands(input, other, "where", broadcast=False)
    broadcast_shapes(condition._buf.shape, broadcast_shapes(a._buf.shape, b._buf.shape, "where"), "where")
    return E.Where.apply(condition, a, b)  # type: ignore[arg-type]


add = method_function("add")
sub = method_function("sub")
subtract = method_function("subtract")
mul = method_function("mul")
multiply = method_function("multiply")
div = method_function("div")
divide = method_function("divide")
true_divide = method_function("true_divide")
pow = method_function("pow")
neg = method_function("neg")
negative = method_function("negative")
exp = method_function("exp")
log = method_function("log")
log2 = method_function("log2")
log1p = method_function("log1p")
erf = method_function("erf")
erfc = method_function("erfc")
atan2 = method_function("atan2")
arctan2 = method_function("atan2")
nan_to_num = method_function("nan_to_num")
sqrt = method_function("sqrt")
rsqrt = method_function("rsqrt")
sin = method_function("sin")
cos = method_function("cos")
tanh = method_function("tanh")
sigmoid = method_function("sigmoid")
abs = method_function("abs")
sign = method_function("sign")
reciprocal = method_function("reciprocal")
square = method_function("square")
clamp = method_function("clamp")
clip = method_function("clip")
maximum = method_function("maximum")
minimum = method_function("minimum")
lerp = method_function("lerp")
masked_fill = method_function("masked_fill")
floor = method_function("floor")
ceil = method_function("ceil")
round = method_function("round")
trunc = method_function("trunc")
floor_divide = method_function("floor_divide")
remainder = method_function("remainder")
fmod = method_function("fmod")


def result_type(tensor: Any, other: Any) -> dtypes.dtype:
    """Return the dtype an operation on ``tensor`` and ``other`` produces (PyTorch's promotion)."""
    return result_dtype(tensor, other)


promote_types = dtypes.promote_types
