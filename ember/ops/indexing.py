"""Indexing Functions: basic and advanced ``x[index]``, ``x[index] = v``, gather and scatter.

The Tensor layer (``ember/_tensor/indexing.py``) turns a user's index into a
backend index tuple and checks every bound first, so these Functions only move
data. Every backward is a scatter: it writes or adds the gradient into zeros at
the positions the forward read from, so repeated indices accumulate.
"""

from __future__ import annotations

from typing import Any

from ember.buffer import Buffer
from ember.function import Function

Grads = tuple[Buffer | None, ...]


class BasicIndex(Function):
    """z = x[index] for ints, slices, None and Ellipsis (a view, no copy).

    dz/dx = zeros of x's shape with grad written at ``index``.
    """

    def forward(self, x: Buffer, index: tuple) -> Buffer:
        self.shape, self.index = x.shape, index
        return x.getitem(index)

    def backward(self, grad: Buffer) -> Buffer:
        g = type(grad).full(self.shape, 0, grad.dtype)
        g.assign_(grad, self.index)
        return g


class AdvancedIndex(Function):
    """z = x[index] where ``index`` holds integer or bool arrays (a gather, which copies).

    ``shape`` (optional) reshapes the backend's result to PyTorch's layout, dropping
    size-1 axes that stood for integer indices. dz/dx = zeros of x's shape with grad
    added at ``index``, repeated indices summing (``accumulate``; a plain write when
    no index can repeat, as for a lone bool mask).
    """

    def forward(self, x: Buffer, index: tuple, shape: tuple[int, ...] | None = None,
                accumulate: bool = True) -> Buffer:
        self.in_shape, self.index, self.accumulate = x.shape, index, accumulate
        out = x.getitem(index)
        self.out_shape = out.shape
        return out if shape is None or shape == out.shape else out.reshape(shape)

    def backward(self, grad: Buffer) -> Buffer:
        if grad.shape != self.out_shape:
            grad = grad.reshape(self.out_shape)
        g = type(grad).full(self.in_shape, 0, grad.dtype)
        if self.accumulate:
            g.index_add_(self.index, grad)
        else:
            g.assign_(grad, self.index)
        return g


class IndexPut(Function):
    """x[index] = v, written into x's own memory (``__setitem__`` on a graph); z is x afterwards.

    ``v`` arrives broadcastable to ``x[index]``. dz/dx = grad with zeros at ``index``
    (those entries were overwritten); dz/dv = grad[index] (the engine sums it to v's shape).
    """

    def forward(self, x: Buffer, v: Buffer, index: tuple) -> Buffer:
        self.index = index
        x.assign_(v, index)
        return x

    def backward(self, grad: Buffer) -> Grads:
        nx, nv = self.needs_input_grad
        gx = gv = None
        if nx:
            gx = grad.copy()
            gx.assign_(0, self.index)
        if nv:
            gv = grad.getitem(self.index)
        return gx, gv


class Gather(Function):
    """z[i][j] = x[index[i][j]][j] for axis 0 (likewise for other axes).

    dz/dx = zeros of x's shape with grad added at the gathered positions.
    """

    def forward(self, x: Buffer, index: Buffer, axis: int) -> Buffer:
        self.shape, self.index, self.axis = x.shape, index, axis
        return x.gather(index, axis)

    def backward(self, grad: Buffer) -> Grads:
        g = type(grad).full(self.shape, 0, grad.dtype)
        g.scatter_(self.index, grad, self.axis, accumulate=True)
        return g, None


class Scatter(Function):
    """z = x with z[index[i][j]][j] = src[i][j] for axis 0 (or = ``value`` when there is no src).

    dz/dx = grad with zeros where z was written; dz/dsrc = grad gathered at ``index``
    (zeros for the part of src that ``index`` does not reach).
    """

    def forward(self, x: Buffer, index: Buffer, src: Buffer | None = None, axis: int = 0,
                value: Any = None) -> Buffer:
        self.index, self.axis = index, axis
        self.src_shape = None if src is None else src.shape
        out = x.copy()
        out.scatter_(index, value if src is None else src, axis)
        return out

    def backward(self, grad: Buffer) -> Grads:
        gx = gsrc = None
        if self.needs_input_grad[0]:
            gx = grad.copy()
            gx.scatter_(self.index, 0, self.axis)
        if self.src_shape is None:
            return gx, None
        if self.needs_input_grad[2]:
            gsrc = _zero_extend(grad.gather(self.index, self.axis), self.src_shape)
        return gx, None, gsrc


class ScatterAdd(Function):
    """z = x with src[i][j] added at z[index[i][j]][j] for axis 0, repeats adding up.

    dz/dx = grad; dz/dsrc = grad gathered at ``index`` (zeros beyond ``index``'s extent).
    """

    def forward(self, x: Buffer, index: Buffer, src: Buffer, axis: int) -> Buffer:
        self.index, self.axis, self.src_shape = index, axis, src.shape
        out = x.copy()
        out.scatter_(index, src, axis, accumulate=True)
        return out

    def backward(self, grad: Buffer) -> Grads:
        gsrc = None
        if self.needs_input_grad[2]:
            gsrc = _zero_extend(grad.gather(self.index, self.axis), self.src_shape)
        return grad, None, gsrc


def _zero_extend(g: Buffer, shape: tuple[int, ...]) -> Buffer:
    """Pad ``g`` with zeros at the end of each axis up to ``shape``."""
    if g.shape == shape:
        return g
    return g.pad(tuple((0, n - m) for m, n in zip(g.shape, shape)))
