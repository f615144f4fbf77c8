"""Pooling Functions: max, average and adaptive average pooling over 1 or more spatial axes.

Like convolution, pooling works channels-last: the input, viewed as (N, *S, C), is cut
into windows (a strided view) arranged as (N, S'1, K1, S'2, K2, ..., C), so reductions
over the kernel axes read contiguous runs of channels, and the output is an (N, C, *S')
view of channels-last memory. Backward spreads the gradient over each window and adds
the windows back (the ``unwindow`` primitive).
"""

from __future__ import annotations

from math import prod

from ember import dtypes
from ember.buffer import Buffer
from ember.function import Function
from ember.ops.conv import channels_first, channels_last, crop


def pool_out_size(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output length (a window must start inside the input or left padding)."""
    span = size + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _interleave(d: int) -> tuple[int, ...]:
    """Axes of a ``windows`` view (N, *S', C, *K) in the order (N, S'1, K1, ..., S'd, Kd, C)."""
    return (0, *[a for i in range(d) for a in (1 + i, d + 2 + i)], d + 1)


def _deinterleave(d: int) -> tuple[int, ...]:
    perm = _interleave(d)
    return tuple(sorted(range(len(perm)), key=perm.__getitem__))


def _lowest(x: Buffer) -> float:
    """A padding value that never wins a max (windows always hold a real element)."""
    return float("-inf") if x.dtype.is_floating_point else x.min().item()


class _WindowPool(Function):
    """Shared geometry: pad channels-last input, cut windows, interleave kernel axes."""

    def _windows(
        self, x: Buffer, kernel: tuple[int, ...], stride: tuple[int, ...], padding: tuple[int, ...],
        dilation: tuple[int, ...], ceil_mode: bool, fill: float,
    ) -> Buffer:
        d = len(kernel)
        size = tuple(x.shape[2:])
        out = tuple(pool_out_size(*a, ceil_mode) for a in zip(size, kernel, stride, padding, dilation))
        # ceil_mode may need room past the right padding for the last window
        pads = tuple(
            (p, max(p, (o - 1) * s + dl * (k - 1) + 1 - n - p))
            for n, o, k, s, p, dl in zip(size, out, kernel, stride, padding, dilation)
        )
        xs = channels_last(x)
        if any(hi for _, hi in pads):
            xs = xs.pad(((0, 0), *pads, (0, 0)), fill)
        else:
            xs = xs.contiguous()  # a copy only for channels-first input: strided runs are far slower
        win = xs.windows(kernel, stride, dilation, tuple(range(1, d + 1)))
        win = win.getitem((slice(None), *(slice(0, o) for o in out)))
        self.geom = (x.shape, tuple(xs.shape), out, tuple(p for p, _ in pads))
        self.stride, self.dilation = stride, dilation
        return win.permute(_interleave(d))  # (N, S'1, K1, ..., C)

    def _unwindows(self, gwin: Buffer) -> Buffer:
        """Add interleaved window gradients back into the (N, C, *S) input's gradient."""
        shape, padded, _, lo = self.geom
        d = len(lo)
        gs = gwin.permute(_deinterleave(d)).unwindow(
            padded, self.stride, self.dilation, tuple(range(1, d + 1))
        )
        return channels_first(crop(gs, tuple(shape[2:]), lo))

    def _grad_cl(self, grad: Buffer) -> Buffer:
        """The output gradient as (N, S'1, 1, ..., S'd, 1, C), broadcastable over windows."""
        shape, _, out, _ = self.geom
        return channels_last(grad).reshape((shape[0], *[a for o in out for a in (o, 1)], shape[1]))


class MaxPool(_WindowPool):
    """z = max over each window;  dz/dx = g at the window's first maximum, 0 elsewhere.

    The window max is taken one kernel axis at a time, innermost first, so the index kept
    at each step is the first maximum in row-major window order, as PyTorch's.
    """

    indices: Buffer | None = None  # the flat index of each window's maximum, from a fused kernel

    def forward(
        self, x: Buffer, *, kernel_size: tuple[int, ...], stride: tuple[int, ...], padding: tuple[int, ...],
        dilation: tuple[int, ...], ceil_mode: bool,
    ) -> Buffer:
        if len(kernel_size) == 2:  # one compiled pass over the windows, where the backend has one
            size = tuple(pool_out_size(*a, ceil_mode) for a in zip(x.shape[2:], kernel_size, stride, padding,
                                                                    dilation))
            fused = x.max_pool2d(kernel_size, stride, padding, dilation, size)  # type: ignore[arg-type]
            if fused is not None:
                out, self.indices = fused
                self.x_shape = tuple(x.shape)
                return out
        win = self._windows(x, kernel_size, stride, padding, dilation, ceil_mode, _lowest(x))
        out, self.picks = _max_stages(win)
        return channels_first(out)

    def backward(self, grad: Buffer) -> Buffer:
        if self.indices is not None:
            gx = grad.max_pool2d_backward(self.indices, self.x_shape)
            if gx is not None:
                return gx
            # each output's gradient added at its window's maximum in the flattened plane
            n, c, h, w = self.x_shape
            flat = (n, c, -1)
            zeros = type(grad).full((n, c, h * w), 0, grad.dtype)
            return zeros.scatter_add(self.indices.reshape(flat), grad.reshape(flat), 2).reshape(self.x_shape)
        g = channels_last(grad)  # (N, *S', C)
        for axis, idx, size in reversed(self.picks):
            g = g.spread_along(idx, axis, size)  # re-insert the kernel axis with g at the maximum
        return self._unwindows(g)


def _max_stages(win: Buffer) -> tuple[Buffer, list[tuple[int, Buffer, int]]]:
    """Reduce interleaved windows (N, S'1, K1, ..., C) over each K, last first; keep the indices."""
    d = (len(win.shape) - 2) // 2
    vals, picks = win, []
    for i in reversed(range(d)):
        axis = 2 + 2 * i
        size = vals.shape[axis]
        vals, idx = vals.max_along(axis)
        picks.append((axis, idx, size))
    return vals, picks


class MaxPoolIndices(_WindowPool):
    """The flat input index (per channel plane) of each window's first maximum; no gradient."""

    differentiable = False

    def forward(
        self, x: Buffer, *, kernel_size: tuple[int, ...], stride: tuple[int, ...], padding: tuple[int, ...],
        dilation: tuple[int, ...], ceil_mode: bool,
    ) -> Buffer:
        win = self._windows(x, kernel_size, stride, padding, dilation, ceil_mode, _lowest(x))
        _, picks = _max_stages(win)
        # the same windows over an image of flat positions (1, *S, 1), then the same picks
        size = tuple(x.shape[2:])
        pos = type(x).arange(0, prod(size), 1, dtypes.int64).reshape((1, *size, 1))
        pos_win = self._windows(channels_first(pos), kernel_size, stride, padding, dilation, ceil_mode, -1)
        for axis, idx, _ in picks:
            pos_win = pos_win.take_along(idx.reshape(idx.shape[:axis] + (1,) + idx.shape[axis:]), axis)
            pos_win = pos_win.reshape(idx.shape)
        return channels_first(pos_win)

    def backward(self, grad: Buffer) -> Buffer:
        raise RuntimeError("max_pool indices are not differentiable")


class AvgPool(_WindowPool):
    """z = sum over each window / divisor;  dz/dx = g / divisor spread over the window."""

    def forward(
        self, x: Buffer, *, kernel_size: tuple[int, ...], stride: tuple[int, ...], padding: tuple[int, ...],
        ceil_mode: bool, count_include_pad: bool, divisor_override: int | None,
    ) -> Buffer:
        d = len(kernel_size)
        ones = (1,) * d
        win = self._windows(x, kernel_size, stride, padding, ones, ceil_mode, 0.0)
        size, out = x.shape[2:], self.geom[2]
        Buf = type(x)
        if divisor_override is not None:
            div: Buffer = Buf.scalar(divisor_override, x.dtype)
        else:
            div = Buf.scalar(1, x.dtype)
            for i in range(d):
                counts = []
                for o in range(out[i]):
                    start = o * stride[i] - padding[i]
                    end = min(start + kernel_size[i], size[i] + padding[i])
                    if not count_include_pad:
                        start, end = max(start, 0), min(end, size[i])
                    counts.append(end - start)
                shape = [1] * (2 * d + 2)
                shape[1 + 2 * i] = out[i]
                div = div * Buf.from_data(counts, x.dtype).reshape(tuple(shape))
        self.div = div
        self.win_shape = tuple(win.shape)
        sums = win.sum(tuple(range(2, 2 * d + 1, 2)), keepdims=True)
        avg = sums / div
        if not x.dtype.is_floating_point:
            avg = avg.cast(x.dtype)  # integer pooling truncates, as PyTorch's
        return channels_first(avg.reshape((x.shape[0], *out, x.shape[1])))

    def backward(self, grad: Buffer) -> Buffer:
        return self._unwindows((self._grad_cl(grad) / self.div).expand(self.win_shape))


def _average_matrix(buf: type, n_in: int, n_out: int, dtype: object) -> Buffer:
    """(n_out, n_in) rows averaging PyTorch's adaptive bins [floor(i*n/o), ceil((i+1)*n/o))."""
    rows = []
    for i in range(n_out):
        start, end = (i * n_in) // n_out, -(-((i + 1) * n_in) // n_out)
        rows.append([1.0 / (end - start) if start <= j < end else 0.0 for j in range(n_in)])
    return buf.from_data(rows, dtype)  # type: ignore[attr-defined]


class AdaptiveAvgPool(Function):
    """z = A_h x A_w^T per channel (A: bin-averaging matrices);  dz/dx = A_h^T g A_w."""

    def forward(self, x: Buffer, *, output_size: tuple[int, ...]) -> Buffer:
        size = x.shape[2:]
        Buf = type(x)
        self.mats = [_average_matrix(Buf, n, o, x.dtype) for n, o in zip(size, output_size)]
        out = x @ mT2(self.mats[-1])  # (N, C, ..., W) @ (W, OW)
        if len(size) == 2:
            out = self.mats[0] @ out  # (OH, H) @ (N, C, H, OW)
        return out

    def backward(self, grad: Buffer) -> Buffer:
        g = grad @ self.mats[-1]
        if len(self.mats) == 2:
            g = mT2(self.mats[0]) @ g
        return g


def mT2(a: Buffer) -> Buffer:
    return a.permute((1, 0))
