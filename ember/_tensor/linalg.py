"""Tensor methods for linear algebra: matmul and its named forms."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ember._tensor.elementwise import binary_operands, broadcast_shapes
from ember.ops import linalg as L

if TYPE_CHECKING:
    from ember._tensor import Tensor

__all__ = ["matmul"]


def _matmul_shapes(a: tuple[int, ...], b: tuple[int, ...], op: str) -> None:
    if not a or not b:
        raise RuntimeError(f"{op}: both arguments need at least 1 dimension, got shapes {a} and {b}")
    k_a = a[-1]
    k_b = b[0] if len(b) == 1 else b[-2]
    if k_a != k_b:
        raise RuntimeError(f"{op}: {a} @ {b}: inner dimensions {k_a} and {k_b} differ")
    if len(a) > 2 or len(b) > 2:
        try:
            broadcast_shapes(a[:-2], b[:-2], op)
        except RuntimeError:
            raise RuntimeError(
                f"{op}: {a} @ {b}: batch dimensions {a[:-2]} and {b[:-2]} are not broadcastable"
            ) from None


class LinalgMixin:
    __slots__ = ()

    def matmul(self, other: Tensor) -> Tensor:
        """Matrix product with batching and broadcasting; 1-d operands act as vectors."""
        a, b = binary_operands(self, other, "matmul", broadcast=False)
        _matmul_shapes(a._buf.shape, b._buf.shape, "matmul")
        return L.MatMul.apply(a, b)

    def __matmul__(self, other: Tensor) -> Tensor:
        return self.matmul(other)

    def __rmatmul__(self, other: Tensor) -> Tensor:
        return LinalgMixin.matmul(other, self)  # type: ignore[arg-type]


def matmul(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    """Matrix product of two tensors (see ``Tensor.matmul``)."""
    return input.matmul(other)
