"""Convolution Functions: N-d convolution and transposed convolution by im2col and one matmul.

The work happens channels-last. The input, viewed as (N, *S, C), is cut into windows
(a strided view), the windows are copied once into a matrix ``cols`` of shape
(G, N*L, K*Cg) (L output positions, K kernel positions, Cg channels per group), and one
matmul with the weight, arranged as (G, K*Cg, Og), gives the output (G, N*L, Og). The
result is returned as an (N, O, *S') view of that channels-last memory: nothing is
transposed by copying, and the next convolution's window copy reads contiguous runs of
channels. Backward is the same algebra transposed: the weight gradient is
``cols^T @ grad``, the input gradient is ``grad @ W^T`` added back window by window
(col2im, the ``unwindow`` primitive).
"""

from __future__ import annotations

from math import prod

from ember.buffer import Buffer
from ember.function import Function
from ember.ops.linalg import mT

Grads = tuple[Buffer | None, ...]
Pairs = tuple[tuple[int, int], ...]


def channels_last(x: Buffer) -> Buffer:
    """(N, C, *S) -> (N, *S, C), a view."""
    n = len(x.shape)
    return x.permute((0, *range(2, n), 1))


def channels_first(x: Buffer) -> Buffer:
    """(N, *S, C) -> (N, C, *S), a view."""
    n = len(x.shape)
    return x.permute((0, n - 1, *range(1, n - 1)))


def crop(x: Buffer, spatial: tuple[int, ...], lo: tuple[int, ...]) -> Buffer:
    """Slice (N, *S, C) down to ``spatial`` starting at offsets ``lo`` (undoes padding)."""
    if all(a == 0 for a in lo) and tuple(x.shape[1:-1]) == spatial:
        return x
    return x.getitem((slice(None), *(slice(a, a + n) for a, n in zip(lo, spatial)), slice(None)))


def _from_kernel_major(d: int) -> tuple[int, ...]:
    """Axes (G, *K, N, *S', C) -> (N, *S', G, C, *K), the layout ``windows`` produces."""
    return (d + 1, *range(d + 2, 2 * d + 2), 0, 2 * d + 2, *range(1, d + 1))


class Convolution(Function):
    """z = x ⋆ w + b (cross-correlation, PyTorch's conv).

    dz/dw = cols(x)^T g, dz/dx = col2im(g w^T), dz/db = sum g.

    ``padding`` holds a (before, after) pair per spatial axis; ``stride`` and ``dilation``
    one int per spatial axis. ``x`` is (N, C, *S) and ``w`` is (O, C/groups, *K).
    """

    def forward(
        self, x: Buffer, w: Buffer, b: Buffer | None = None, *, stride: tuple[int, ...], padding: Pairs,
        dilation: tuple[int, ...], groups: int,
    ) -> Buffer:
        d = len(stride)
        n, c, *size = x.shape
        o, cg, *kernel = w.shape
        g, og = groups, o // groups
        axes = tuple(range(1, d + 1))
        xs = channels_last(x)
        if any(lo or hi for lo, hi in padding):
            xs = xs.pad(((0, 0), *padding, (0, 0)))
        else:
            xs = xs.contiguous()  # so the window copy below reads runs of channels
        padded = tuple(xs.shape[1:-1])
        win = xs.reshape((n, *padded, g, cg)).windows(tuple(kernel), stride, dilation, axes)
        out_size = tuple(win.shape[1:d + 1])
        rows, width = n * prod(out_size), prod(kernel) * cg
        if c == 1 and stride[-1] == 1:
            # one channel: copy (G, *K, Cg, N, *S') instead, whose rows are contiguous runs of the
            # input, and use it transposed: (G, K*Cg, N*L) -> (G, N*L, K*Cg)
            perm = (d + 1, *range(d + 3, 2 * d + 3), d + 2, 0, *axes)
            cols = mT(win.permute(perm).reshape((g, width, rows)))
        else:
            # (N, *S', G, Cg, *K) -> (G, N, *S', *K, Cg) -> (G, N*L, K*Cg): the one im2col copy
            perm = (d + 1, 0, *axes, *range(d + 3, 2 * d + 3), d + 2)
            cols = win.permute(perm).reshape((g, rows, width))
        # (O, Cg, *K) -> (G, *K, Cg, Og) -> (G, K*Cg, Og), matching the columns' order
        wm = w.reshape((g, og, cg, *kernel)).permute((0, *range(3, d + 3), 2, 1)).reshape((g, width, og))
        # (G, N*L, Og); the bias added by the product, to each part while it is in cache
        out = cols @ wm if b is None else cols.matmul_add(wm, b if g == 1 else b.reshape((g, 1, og)))
        # keep only what backward needs: the columns for dz/dw, the weight matrix for dz/dx
        self.cols = cols if self.needs_input_grad[1] else None
        self.wm = wm if self.needs_input_grad[0] else None
        self.geom = (n, c, tuple(size), padded, out_size, tuple(kernel), g, og, cg)
        self.stride, self.padding, self.dilation = stride, padding, dilation
        # (G, N*L, Og) -> (G, N, *S', Og) -> (N, G, Og, *S') -> (N, O, *S'), a view when G == 1
        out = out.reshape((g, n, *out_size, og)).permute((1, 0, d + 2, *range(2, d + 2)))
        return out.reshape((n, o, *out_size))

    def backward(self, grad: Buffer) -> Grads:
        n, c, size, padded, out_size, kernel, g, og, cg = self.geom
        d = len(size)
        nx, nw = self.needs_input_grad[:2]
        # (N, O, *S') -> (N, *S', G, Og) -> (G, N*L, Og), free when grad is channels-last
        g2 = grad.reshape((n, g, og, *out_size)).permute((1, 0, *range(3, d + 3), 2))
        g2 = g2.reshape((g, n * prod(out_size), og))
        gx = gw = gb = None
        if len(self.needs_input_grad) == 3 and self.needs_input_grad[2]:
            # a sum over rows as (Og, N*L) @ (N*L, 1): BLAS beats NumPy's reduction over short rows
            ones = type(g2).full((g2.shape[1], 1), 1, g2.dtype)
            gb = (mT(g2) @ ones).reshape((g * og,))
        if nw:
            assert self.cols is not None  # forward kept the columns: the weight needs a gradient
            # orient the product so it has more rows than columns: OpenBLAS's threads can stall for
            # seconds on a busy machine with the other orientation (seen for (9, 43264) @ (43264, 32))
            if self.cols.shape[2] >= og:
                gw = mT(self.cols) @ g2  # (G, K*Cg, Og) -> (G, *K, Cg, Og) -> (G, Og, Cg, *K)
                gw = gw.reshape((g, *kernel, cg, og)).permute((0, d + 2, d + 1, *range(1, d + 1)))
            else:
                gw = mT(g2) @ self.cols  # (G, Og, K*Cg) -> (G, Og, *K, Cg) -> (G, Og, Cg, *K)
                gw = gw.reshape((g, og, *kernel, cg)).permute((0, 1, d + 2, *range(2, d + 2)))
            gw = gw.reshape((g * og, cg, *kernel))
        if nx:
            # one product per kernel position, (G, 1, N*L, Og) @ (G, K, Og, Cg) -> (G, K, N*L, Cg), so
            # each position's columns are contiguous for the adds of col2im
            assert self.wm is not None  # forward kept the weight matrix: the input needs a gradient
            wk = self.wm.reshape((g, prod(kernel), cg, og)).permute((0, 1, 3, 2))
            gcols = g2.reshape((g, 1, n * prod(out_size), og)) @ wk
            gcols = gcols.reshape((g, *kernel, n, *out_size, cg)).permute(_from_kernel_major(d))
            axes = tuple(range(1, d + 1))
            gxs = gcols.unwindow((n, *padded, g, cg), self.stride, self.dilation, axes)
            gxs = crop(gxs.reshape((n, *padded, c)), size, tuple(lo for lo, _ in self.padding))
            gx = channels_first(gxs)
        if len(self.needs_input_grad) == 2:
            return gx, gw
        return gx, gw, gb


class ConvTranspose(Function):
    """z = col2im(x w) + b, the adjoint of Convolution in x;  dz/dx = conv(g, w), dz/dw = x^T cols(g).

    ``x`` is (N, Cin, *S) and ``w`` is (Cin, Cout/groups, *K); ``padding`` is one int per
    spatial axis (cropped from both ends), ``output_padding`` extra size at the end.
    """

    def forward(
        self, x: Buffer, w: Buffer, b: Buffer | None = None, *, stride: tuple[int, ...],
        padding: tuple[int, ...], output_padding: tuple[int, ...], dilation: tuple[int, ...], groups: int,
    ) -> Buffer:
        d = len(stride)
        n, cin, *size = x.shape
        _, cog, *kernel = w.shape
        g, cig = groups, cin // groups
        axes = tuple(range(1, d + 1))
        full = tuple((s - 1) * st + dl * (k - 1) + 1 for s, st, dl, k in zip(size, stride, dilation, kernel))
        out_size = tuple(f - 2 * p + op for f, p, op in zip(full, padding, output_padding))
        # room for output_padding beyond the last window (those entries stay zero)
        buf_size = tuple(f + max(0, op - p) for f, p, op in zip(full, padding, output_padding))
        # (N, Cin, *S) -> (N*L, G, Cig) -> (G, N*L, Cig)
        xm = channels_last(x).reshape((n * prod(size), g, cig)).permute((1, 0, 2))
        # (Cin, Cog, *K) -> (G, Cig, *K, Cog) -> (G, Cig, K*Cog)
        wm = w.reshape((g, cig, cog, *kernel)).permute((0, 1, *range(3, d + 3), 2))
        wm = wm.reshape((g, cig, prod(kernel) * cog))
        # one product per kernel position, (G, 1, N*L, Cig) @ (G, K, Cig, Cog) -> (G, K, N*L, Cog)
        wk = wm.reshape((g, cig, prod(kernel), cog)).permute((0, 2, 1, 3))
        cols = xm.reshape((g, 1, n * prod(size), cig)) @ wk
        cols = cols.reshape((g, *kernel, n, *size, cog)).permute(_from_kernel_major(d))
        ys = cols.unwindow((n, *buf_size, g, cog), stride, dilation, axes).reshape((n, *buf_size, g * cog))
        ys = crop(ys, out_size, padding)
        if b is not None:
            ys = ys + b
        self.xm, self.wm = xm, wm
        self.geom = (n, cin, tuple(size), out_size, buf_size, tuple(kernel), g, cig, cog)
        self.stride, self.padding, self.dilation = stride, padding, dilation
        return channels_first(ys)

    def backward(self, grad: Buffer) -> Grads:
        n, cin, size, out_size, buf_size, kernel, g, cig, cog = self.geom
        d = len(size)
        nx, nw = self.needs_input_grad[:2]
        gs = channels_last(grad)  # (N, *S', Cout)
        gb = None
        if len(self.needs_input_grad) == 3 and self.needs_input_grad[2]:
            gb = gs.sum(tuple(range(d + 1)))
        # undo the crop, then cut the gradient into the forward's windows
        pads = tuple((p, bs - p - s) for p, bs, s in zip(self.padding, buf_size, out_size))
        gs = gs.pad(((0, 0), *pads, (0, 0))) if any(a or z for a, z in pads) else gs.contiguous()
        win = gs.reshape((n, *buf_size, g, cog)).windows(
            kernel, self.stride, self.dilation, tuple(range(1, d + 1))
        )
        win = win.getitem((slice(None), *(slice(0, s) for s in size)))  # output_padding adds no window
        # (N, *S, G, Cog, *K) -> (G, N, *S, *K, Cog) -> (G, N*L, K*Cog)
        gcols = win.permute((d + 1, 0, *range(1, d + 1), *range(d + 3, 2 * d + 3), d + 2))
        gcols = gcols.reshape((g, n * prod(size), prod(kernel) * cog))
        gx = gw = None
        if nx:
            gx = gcols @ mT(self.wm)  # (G, N*L, Cig) -> (G, N, *S, Cig) -> (N, G, Cig, *S)
            gx = gx.reshape((g, n, *size, cig)).permute((1, 0, d + 2, *range(2, d + 2)))
            gx = gx.reshape((n, cin, *size))
        if nw:
            if cig >= gcols.shape[2]:  # more rows than columns, as in Convolution.backward
                gw = mT(self.xm) @ gcols  # (G, Cig, K*Cog) -> (G, Cig, *K, Cog) -> (G, Cig, Cog, *K)
                gw = gw.reshape((g, cig, *kernel, cog)).permute((0, 1, d + 2, *range(2, d + 2)))
            else:
                gw = mT(gcols) @ self.xm  # (G, K*Cog, Cig) -> (G, *K, Cog, Cig) -> (G, Cig, Cog, *K)
                gw = gw.reshape((g, *kernel, cog, cig)).permute((0, d + 2, d + 1, *range(1, d + 1)))
            gw = gw.reshape((cin, cog, *kernel))
        if len(self.needs_input_grad) == 2:
            return gx, gw
        return gx, gw, gb
