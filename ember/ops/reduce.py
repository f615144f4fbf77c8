"""Reduction Functions: sums, extrema, and the fused softmax family.

``axis`` is always a tuple of non-negative ints (the Tensor layer normalises
``dim``); backward re-inserts reduced axes when ``keepdim`` was False.
"""

from __future__ import annotations

from ember.buffer import Buffer
from ember.function import Function


def _unsqueeze_reduced(grad: Buffer, shape: tuple[int, ...], axis: tuple[int, ...], keepdim: bool) -> Buffer:
    """Give ``grad`` size-1 entries at the reduced axes so it broadcasts against the input."""
    if keepdim:
        return grad
    kept = tuple(1 if i in axis else n for i, n in enumerate(shape))
    return grad.reshape(kept)


class Sum(Function):
    """z = sum of x over ``axis``;  dz/dx = 1 broadcast back."""

    def forward(self, x: Buffer, axis: tuple[int, ...], keepdim: bool = False) -> Buffer:
        self.shape, self.axis, self.keepdim = x.shape, axis, keepdim
        return x.sum(axis, keepdims=keepdim)

    def backward(self, grad: Buffer) -> Buffer:
        return _unsqueeze_reduced(grad, self.shape, self.axis, self.keepdim).expand(self.shape)


class Amax(Function):
    """z = max of x over ``axis``; ties share the gradient evenly (``amax``)."""

    def forward(self, x: Buffer, axis: tuple[int, ...], keepdim: bool = False) -> Buffer:
        self.x, self.axis, self.keepdim = x, axis, keepdim
        self.out = x.max(axis, keepdims=True)
        return self.out if keepdim else self.out.reshape(tuple(n for i, n in enumerate(x.shape) if i not in axis))

    def backward(self, grad: Buffer) -> Buffer:
        return _spread_to_extrema(self, grad)


class Amin(Function):
    """z = min of x over ``axis``; ties share the gradient evenly (``amin``)."""

    def forward(self, x: Buffer, axis: tuple[int, ...], keepdim: bool = False) -> Buffer:
        self.x, self.axis, self.keepdim = x, axis, keepdim
        self.out = x.min(axis, keepdims=True)
        return self.out if keepdim else self.out.reshape(tuple(n for i, n in enumerate(x.shape) if i not in axis))

    def backward(self, grad: Buffer) -> Buffer:
        return _spread_to_extrema(self, grad)


def _spread_to_extrema(fn: Amax | Amin, grad: Buffer, ) -> Buffer:
    hit = fn.x.eq(fn.out)
    count = hit.sum(fn.axis, keepdims=True)
    g = _unsqueeze_reduced(grad, fn.x.shape, fn.axis, fn.keepdim)
    return hit.where(g / count, 0).cast(fn.x.dtype)
