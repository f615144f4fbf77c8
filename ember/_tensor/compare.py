"""Tensor methods for comparisons and logical ops: bool results, no gradient, no graph node."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ember import dtypes
from ember._tensor.core import _make
from ember._tensor.promotion import as_tensor, binary_operands, method_function
from ember.ops import compare as C

if TYPE_CHECKING:
    from ember._tensor import Tensor
    from ember._tensor.core import TensorCore as _TensorBase
else:
    _TensorBase = object  # the mixins are typed as Tensors, built as plain classes

__all__ = [
    "allclose", "eq", "equal", "ge", "gt", "isclose", "isfinite", "isinf", "isnan", "le", "logical_and",
    "logical_not", "logical_or", "logical_xor", "lt", "ne",
]  # fmt: skip


class CompareMixin(_TensorBase):
    """Comparison operators and logical ops on Tensors."""

    __slots__ = ()

    # ---- operators ------------------------------------------------------------------
    def __lt__(self, other: Any) -> Tensor:
        return C.Less.apply(*binary_operands(self, other, "lt"))

    def __le__(self, other: Any) -> Tensor:
        return C.LessEqual.apply(*binary_operands(self, other, "le"))

    def __gt__(self, other: Any) -> Tensor:
        return C.Greater.apply(*binary_operands(self, other, "gt"))

    def __ge__(self, other: Any) -> Tensor:
        return C.GreaterEqual.apply(*binary_operands(self, other, "ge"))

    def __eq__(self, other: object) -> Tensor:  # type: ignore[override]
        if other is None:
            return False  # type: ignore[return-value]
        return C.Eq.apply(*binary_operands(self, other, "eq"))

    def __ne__(self, other: object) -> Tensor:  # type: ignore[override]
        if other is None:
            return True  # type: ignore[return-value]
        return C.NotEqual.apply(*binary_operands(self, other, "ne"))

    def __and__(self, other: Any) -> Tensor:
        return C.LogicalAnd.apply(*binary_operands(self, other, "logical_and"))

    def __or__(self, other: Any) -> Tensor:
        return C.LogicalOr.apply(*binary_operands(self, other, "logical_or"))

    def __xor__(self, other: Any) -> Tensor:
        return C.LogicalXor.apply(*binary_operands(self, other, "logical_xor"))

    __rand__ = __and__
    __ror__ = __or__
    __rxor__ = __xor__

    def __invert__(self) -> Tensor:
        if self._buf.dtype is not dtypes.bool_:  # type: ignore[attr-defined]
            got = self._buf.dtype  # type: ignore[attr-defined]
            raise TypeError(f"bitwise_not: only bool tensors are supported, got {got!r}")
        return C.LogicalNot.apply(self)  # type: ignore[arg-type]

    # ---- named forms ----------------------------------------------------------------
    def eq(self, other: Any) -> Tensor:
        """Return ``self == other`` elementwise as a bool tensor."""
        return self == other

    def ne(self, other: Any) -> Tensor:
        """Return ``self != other`` elementwise as a bool tensor."""
        return self != other

    def lt(self, other: Any) -> Tensor:
        """Return ``self < other`` elementwise as a bool tensor (also ``less``)."""
        return self < other

    less = lt

    def le(self, other: Any) -> Tensor:
        """Return ``self <= other`` elementwise as a bool tensor."""
        return self <= other

    def gt(self, other: Any) -> Tensor:
        """Return ``self > other`` elementwise as a bool tensor (also ``greater``)."""
        return self > other

    greater = gt

    def ge(self, other: Any) -> Tensor:
        """Return ``self >= other`` elementwise as a bool tensor."""
        return self >= other

    def logical_and(self, other: Any) -> Tensor:
        """Return the elementwise logical AND (non-zero is True) as a bool tensor."""
        return C.LogicalAnd.apply(*binary_operands(self, other, "logical_and"))

    def logical_or(self, other: Any) -> Tensor:
        """Return the elementwise logical OR (non-zero is True) as a bool tensor."""
        return C.LogicalOr.apply(*binary_operands(self, other, "logical_or"))

    def logical_xor(self, other: Any) -> Tensor:
        """Return the elementwise logical XOR (non-zero is True) as a bool tensor."""
        return C.LogicalXor.apply(*binary_operands(self, other, "logical_xor"))

    def logical_not(self) -> Tensor:
        """Return the elementwise logical NOT (zero becomes True) as a bool tensor."""
        return C.LogicalNot.apply(self.bool())  # type: ignore[attr-defined]

    def isnan(self) -> Tensor:
        """Return a bool tensor that is True where the value is NaN."""
        return _make(self._buf.isnan(), None)  # type: ignore[attr-defined]

    def isinf(self) -> Tensor:
        """Return a bool tensor that is True where the value is +inf or -inf."""
        return _make(self._buf.isinf(), None)  # type: ignore[attr-defined]

    def isfinite(self) -> Tensor:
        """Return a bool tensor that is True where the value is neither inf nor NaN."""
        return _make(self._buf.isfinite(), None)  # type: ignore[attr-defined]

    def equal(self, other: Any) -> bool:
        """Return True if both tensors have the same shape and values."""
        a, b = self._buf, as_tensor(other, "equal")._buf  # type: ignore[attr-defined]
        return a.shape == b.shape and bool(a.eq(b).all().item())

    def isclose(self, other: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> Tensor:
        """Return where ``|self - other| <= atol + rtol * |other|``, as a bool tensor (broadcast).

        Equal infinities are close; NaNs only with ``equal_nan``.
        """
        a, b = binary_operands(self, as_tensor(other, "isclose"), "isclose")
        if a._buf.dtype is dtypes.bool_:
            a, b = a.long(), b.long()
        x, y = a._buf, b._buf
        ok = x.eq(y)  # exact equality, infinities included
        if x.dtype.is_floating_point or rtol or atol:
            finite = x.isfinite().logical_and(y.isfinite())
            ok = ok.logical_or(finite.logical_and((x - y).abs() <= (y.abs() * rtol + atol)))
        if equal_nan:
            ok = ok.logical_or(x.isnan().logical_and(y.isnan()))
        return _make(ok, None)

    def allclose(self, other: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:
        """Return True if ``|self - other| <= atol + rtol * |other|`` everywhere (see ``isclose``)."""
        return bool(self.isclose(other, rtol, atol, equal_nan)._buf.all().item())  # type: ignore[attr-defined]


eq = method_function("eq")
ne = method_function("ne")
lt = method_function("lt")
le = method_function("le")
gt = method_function("gt")
ge = method_function("ge")
logical_and = method_function("logical_and")
logical_or = method_function("logical_or")
logical_not = method_function("logical_not")
logical_xor = method_function("logical_xor")
isnan = method_function("isnan")
isinf = method_function("isinf")
isfinite = method_function("isfinite")
equal = method_function("equal")
allclose = method_function("allclose")
isclose = method_function("isclose")
