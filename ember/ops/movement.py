"""Movement Functions: reshape, permute, expand and friends. Backward moves the gradient back."""

from __future__ import annotations

from ember.buffer import Buffer
from ember.function import Function


class Reshape(Function):
    """z = x with a new shape (same elements, row-major order)."""

    def forward(self, x: Buffer, shape: tuple[int, ...]) -> Buffer:
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, grad: Buffer) -> Buffer:
        return grad.reshape(self.shape)


class Permute(Function):
    """z = x with its axes reordered by ``dims``; backward applies the inverse order."""

    def forward(self, x: Buffer, dims: tuple[int, ...]) -> Buffer:
        self.inverse = tuple(sorted(range(len(dims)), key=dims.__getitem__))
        return x.permute(dims)

    def backward(self, grad: Buffer) -> Buffer:
        return grad.permute(self.inverse)


class Expand(Function):
    """z = x broadcast to ``shape`` (no copy); backward sums over the expanded axes."""

    def forward(self, x: Buffer, shape: tuple[int, ...]) -> Buffer:
        return x.expand(shape)

    def backward(self, grad: Buffer) -> Buffer:
        return grad  # the engine sums it back to the input's shape
