"""Movement Functions: reshape, permute, expand, pad, shrink, flip, roll, concatenate, tril/triu.

Each backward moves the gradient back to where its elements came from: reshape
undoes the reshape, a pad's backward shrinks, a shrink's backward pads, a
concatenation's backward splits. The Tensor layer validates every argument, so
options arrive normalised (non-negative axes, in-range sizes).
"""

from __future__ import annotations

from ember.autograd.engine import Padded
from ember.buffer import Buffer
from ember.function import Function

Grads = tuple[Buffer | None, ...]


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


class Pad(Function):
    """z = x surrounded by ``value``; ``widths`` holds a (before, after) pair per axis, all >= 0.

    dz/dx = grad with the padding cut off (a view).
    """

    def forward(self, x: Buffer, widths: tuple[tuple[int, int], ...], value: float = 0.0) -> Buffer:
        self.crop = tuple(slice(a, a + n) for (a, _), n in zip(widths, x.shape))
        return x.pad(widths, value)

    def backward(self, grad: Buffer) -> Buffer:
        return grad.getitem(self.crop)


class Shrink(Function):
    """z = x[a0:b0, a1:b1, ...], one (start, stop) pair per axis (a view, no copy).

    dz/dx = grad padded with zeros back to x's shape, a ``Padded`` gradient: the engine adds
    it into that region of x's gradient, so the pieces of a split add up without padding.
    """

    def forward(self, x: Buffer, bounds: tuple[tuple[int, int], ...]) -> Buffer:
        self.widths = tuple((a, n - b) for (a, b), n in zip(bounds, x.shape))
        return x.getitem(tuple(slice(a, b) for a, b in bounds))

    def backward(self, grad: Buffer) -> Padded:
        return Padded(grad, self.widths)


class Flip(Function):
    """z = x reversed along ``axes``;  dz/dx = grad reversed along the same axes."""

    def forward(self, x: Buffer, axes: tuple[int, ...]) -> Buffer:
        self.axes = axes
        return x.flip(axes)

    def backward(self, grad: Buffer) -> Buffer:
        return grad.flip(self.axes)


class Roll(Function):
    """z = x shifted cyclically by ``shifts`` along ``axes`` (None: the flattened x).

    dz/dx = grad rolled back.
    """

    def forward(self, x: Buffer, shifts: tuple[int, ...], axes: tuple[int, ...] | None) -> Buffer:
        self.shifts, self.axes = shifts, axes
        if axes is None:
            return x.reshape((-1,)).roll(shifts[0], 0).reshape(x.shape)
        return x.roll(shifts, axes)

    def backward(self, grad: Buffer) -> Buffer:
        back = tuple(-s for s in self.shifts)
        if self.axes is None:
            return grad.reshape((-1,)).roll(back[0], 0).reshape(grad.shape)
        return grad.roll(back, self.axes)


class Concatenate(Function):
    """z = [x0, x1, ...] joined along ``axis``;  dz/dxi = the slice of grad where xi landed."""

    def forward(self, *xs: Buffer, axis: int) -> Buffer:
        self.axis = axis
        self.bounds = []
        start = 0
        for x in xs:
            self.bounds.append((start, start + x.shape[axis]))
            start += x.shape[axis]
        return type(xs[0]).concatenate(list(xs), axis)

    def backward(self, grad: Buffer) -> Grads:
        lead = (slice(None),) * self.axis
        return tuple(
            grad.getitem(lead + (slice(a, b),)) if need else None
            for (a, b), need in zip(self.bounds, self.needs_input_grad)
        )


class Tril(Function):
    """z = x with the entries above diagonal ``k`` zeroed (last two axes);  dz/dx = tril(grad)."""

    def forward(self, x: Buffer, k: int) -> Buffer:
        self.k = k
        return x.tril(k)

    def backward(self, grad: Buffer) -> Buffer:
        return grad.tril(self.k)


class Triu(Function):
    """z = x with the entries below diagonal ``k`` zeroed (last two axes);  dz/dx = triu(grad)."""

    def forward(self, x: Buffer, k: int) -> Buffer:
        self.k = k
        return x.triu(k)

    def backward(self, grad: Buffer) -> Buffer:
        return grad.triu(self.k)
