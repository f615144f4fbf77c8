"""Reduction Functions: sums and products, extrema, variance, norms, the fused softmax family,
cumulative sums, and the non-differentiable index, logical and sampling operations.

``axis`` is always a tuple of non-negative ints (the Tensor layer normalises ``dim``);
backward re-inserts reduced axes when ``keepdim`` was False. Operations with values and
indices (max/min over a dim, sort, topk, median) compute the indices with a
non-differentiable Function and pick the values with ``TakeAlong``.
"""

from __future__ import annotations

import math

from ember import dtypes
from ember.buffer import Buffer
from ember.function import Function

_INF = math.inf
_NAN = math.nan


def _unsqueeze_reduced(grad: Buffer, shape: tuple[int, ...], axis: tuple[int, ...], keepdim: bool) -> Buffer:
    """Give ``grad`` size-1 entries at the reduced axes so it broadcasts against the input."""
    if keepdim:
        return grad
    kept = tuple(1 if i in axis else n for i, n in enumerate(shape))
    return grad.reshape(kept)


def _drop(shape: tuple[int, ...], axis: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(n for i, n in enumerate(shape) if i not in axis)


def _count(shape: tuple[int, ...], axis: tuple[int, ...]) -> int:
    n = 1
    for a in axis:
        n *= shape[a]
    return n


def _over_zero(b: Buffer) -> Buffer:
    """``b / 0`` as IEEE arithmetic gives it (inf, -inf or NaN), without NumPy's warning."""
    return (b > 0).where(_INF, (b < 0).where(-_INF, b * _NAN))


# ---- sums and products --------------------------------------------------------------
class Sum(Function):
    """z = sum of x over ``axis``;  dz/dx = 1 broadcast back."""

    def forward(self, x: Buffer, axis: tuple[int, ...], keepdim: bool = False) -> Buffer:
        self.shape, self.axis, self.keepdim = x.shape, axis, keepdim
        return x.sum(axis, keepdims=keepdim)

    def backward(self, grad: Buffer) -> Buffer:
        return _unsqueeze_reduced(grad, self.shape, self.axis, self.keepdim).expand(self.shape)


class Prod(Function):
    """z = prod of x over ``axis``;  dz/dx_i = prod of the other x_j (= z / x_i when no x is 0)."""

    def forward(self, x: Buffer, axis: tuple[int, ...], keepdim: bool = False) -> Buffer:
        self.x, self.axis, self.keepdim = x, axis, keepdim
        self.out = x.prod(axis, keepdims=True)
        return self.out if keepdim else self.out.reshape(_drop(x.shape, axis))

    def backward(self, grad: Buffer) -> Buffer:
        x, axis = self.x, self.axis
        g = _unsqueeze_reduced(grad, x.shape, axis, self.keepdim)
        zero = x.eq(0)
        if not zero.any().item():
            return g * self.out / x
        # With one zero in a slice only that entry gets a gradient (the product of the
        # others); with two or more, every partial product contains a zero.
        safe = zero.where(1, x)
        others = safe.prod(axis, keepdims=True)
        zeros_in_slice = zero.sum(axis, keepdims=True)
        at_zero = zeros_in_slice.eq(1).where(others, 0)
        elsewhere = zeros_in_slice.eq(0).where(others / safe, 0)
        return g * zero.where(at_zero, elsewhere)


class Cumsum(Function):
    """z_i = sum of x_j for j <= i along ``axis``;  dz/dx = the gradient summed from the end."""

    def forward(self, x: Buffer, axis: int) -> Buffer:
        self.axis = axis
        return x.cumsum(axis)

    def backward(self, grad: Buffer) -> Buffer:
        a = (self.axis,)
        return grad.flip(a).cumsum(self.axis).flip(a)


# ---- extrema --------------------------------------------------------------------------
class Amax(Function):
    """z = max of x over ``axis``; ties share the gradient evenly (``amax``, ``max()``)."""

    def forward(self, x: Buffer, axis: tuple[int, ...], keepdim: bool = False) -> Buffer:
        self.x, self.axis, self.keepdim = x, axis, keepdim
        self.out = x.max(axis, keepdims=True)
        return self.out if keepdim else self.out.reshape(_drop(x.shape, axis))

    def backward(self, grad: Buffer) -> Buffer:
        return _spread_to_extrema(self, grad)


class Amin(Function):
    """z = min of x over ``axis``; ties share the gradient evenly (``amin``, ``min()``)."""

    def forward(self, x: Buffer, axis: tuple[int, ...], keepdim: bool = False) -> Buffer:
        self.x, self.axis, self.keepdim = x, axis, keepdim
        self.out = x.min(axis, keepdims=True)
        return self.out if keepdim else self.out.reshape(_drop(x.shape, axis))

    def backward(self, grad: Buffer) -> Buffer:
        return _spread_to_extrema(self, grad)


def _spread_to_extrema(fn: Amax | Amin, grad: Buffer) -> Buffer:
    hit = fn.x.eq(fn.out)
    count = hit.sum(fn.axis, keepdims=True).cast(grad.dtype)  # an int count would promote to float64
    g = _unsqueeze_reduced(grad, fn.x.shape, fn.axis, fn.keepdim)
    return hit.where(g / count, 0)


class TakeAlong(Function):
    """z = x at ``indices`` along ``axis`` (the values of max/min(dim), sort, topk, median);
    dz/dx = the gradient put back at those indices, 0 elsewhere.

    ``indices`` hold distinct positions per slice and have x's rank; with ``keepdim``
    False the (size-1) ``axis`` is dropped from the output.
    """

    def forward(self, x: Buffer, indices: Buffer, axis: int, keepdim: bool = True) -> Buffer:
        self.shape, self.indices, self.axis, self.keepdim = x.shape, indices, axis, keepdim
        out = x.take_along(indices, axis)
        return out if keepdim else out.reshape(_drop(indices.shape, (axis,)))

    def backward(self, grad: Buffer) -> tuple[Buffer, None]:
        if not self.keepdim:
            grad = grad.reshape(self.indices.shape)
        # full() is a constructor of the backend class; calling it through grad keeps its device
        zeros = grad.full(self.shape, 0, grad.dtype)
        return zeros.scatter(self.indices, grad, self.axis), None


# ---- variance and norms ---------------------------------------------------------------
class Var(Function):
    """z = sum (x - mean x)^2 / (N - c) over ``axis`` (centred first);  dz/dx = 2 (x - mean x) / (N - c)."""

    def forward(
        self, x: Buffer, axis: tuple[int, ...], correction: float = 1, keepdim: bool = False
    ) -> Buffer:
        n = _count(x.shape, axis)
        self.shape, self.axis, self.keepdim = x.shape, axis, keepdim
        inv_n = 1.0 / n if n else _NAN
        d = x - x.sum(axis, keepdims=True) * inv_n
        # a second centring pass removes the rounding error of the first mean, which matters
        # when the mean is large next to the spread (1e4 + noise in float32)
        self.d = d - d.sum(axis, keepdims=True) * inv_n
        self.dof = n - correction
        ss = (self.d * self.d).sum(axis, keepdims=keepdim)
        return ss * (1.0 / self.dof) if self.dof > 0 else _over_zero(ss)

    def backward(self, grad: Buffer) -> Buffer:
        gd = _unsqueeze_reduced(grad, self.shape, self.axis, self.keepdim) * self.d
        return gd * (2.0 / self.dof) if self.dof > 0 else _over_zero(gd)


class Norm(Function):
    """z = (sum |x|^p)^(1/p) over ``axis`` for a finite p > 0;
    dz/dx = sign(x) |x|^(p-1) / z^(p-1), and 0 where z = 0.
    """

    def forward(self, x: Buffer, p: float, axis: tuple[int, ...], keepdim: bool = False) -> Buffer:
        self.x, self.p, self.axis, self.keepdim = x, p, axis, keepdim
        if p == 2:
            self.out = (x * x).sum(axis, keepdims=True).sqrt()
        elif p == 1:
            self.out = x.abs().sum(axis, keepdims=True)
        else:
            self.out = (x.abs() ** p).sum(axis, keepdims=True) ** (1.0 / p)
        return self.out if keepdim else self.out.reshape(_drop(x.shape, axis))

    def backward(self, grad: Buffer) -> Buffer:
        x, p = self.x, self.p
        g = _unsqueeze_reduced(grad, x.shape, self.axis, self.keepdim)
        if p == 1:
            return g * x.sign()
        zero = self.out.eq(0)
        safe = zero.where(1, self.out)
        if p == 2:
            return g * x / safe  # x is 0 wherever the norm is
        scale = zero.where(0, g / safe ** (p - 1))
        return scale * x.sign() * x.abs() ** (p - 1)


# ---- the softmax family ---------------------------------------------------------------
def _max_shift(x: Buffer, axis: tuple[int, ...]) -> Buffer:
    """max x over ``axis`` (kept), 0 where it is infinite, so ``x - m`` never forms inf - inf."""
    m = x.max(axis, keepdims=True)
    return m.isfinite().where(m, 0)


class Logsumexp(Function):
    """z = m + log sum e^(x - m) over ``axis`` with m = max x;  dz/dx = e^(x - z)."""

    def forward(self, x: Buffer, axis: tuple[int, ...], keepdim: bool = False) -> Buffer:
        self.x, self.axis, self.keepdim = x, axis, keepdim
        m = _max_shift(x, axis) if _count(x.shape, axis) else x.sum(axis, keepdims=True)
        self.out = (x - m).exp().sum(axis, keepdims=True).log() + m
        return self.out if keepdim else self.out.reshape(_drop(x.shape, axis))

    def backward(self, grad: Buffer) -> Buffer:
        g = _unsqueeze_reduced(grad, self.x.shape, self.axis, self.keepdim)
        return g * (self.x - self.out).exp()


class Softmax(Function):
    """z = e^(x - max x) / sum e^(x - max x) over ``axis``;  dz/dx = z (g - sum g z).

    A slice that is all -inf gives NaN, as in PyTorch.
    """

    def forward(self, x: Buffer, axis: tuple[int, ...]) -> Buffer:
        self.axis = axis
        if 0 in x.shape:
            self.out = x
            return x
        e = (x - x.max(axis, keepdims=True)).exp()
        self.out = e / e.sum(axis, keepdims=True)
        return self.out

    def backward(self, grad: Buffer) -> Buffer:
        z = self.out
        return z * (grad - (grad * z).sum(self.axis, keepdims=True))


class LogSoftmax(Function):
    """z = x - max x - log sum e^(x - max x) over ``axis``;  dz/dx = g - e^z sum g.

    A slice that is all -inf gives NaN, as in PyTorch.
    """

    def forward(self, x: Buffer, axis: tuple[int, ...]) -> Buffer:
        self.axis = axis
        if 0 in x.shape:
            self.out = x
            return x
        s = x - x.max(axis, keepdims=True)
        self.out = s - s.exp().sum(axis, keepdims=True).log()
        return self.out

    def backward(self, grad: Buffer) -> Buffer:
        return grad - self.out.exp() * grad.sum(self.axis, keepdims=True)


# ---- non-differentiable: indices, logic, sampling -------------------------------------
class _NoGrad(Function):
    differentiable = False

    def backward(self, grad: Buffer) -> Buffer:  # pragma: no cover - never recorded
        raise RuntimeError(f"{type(self).__name__} has no gradient")


class Argmax(_NoGrad):
    """Index of the largest entry along ``axis`` (of the flattened input when None); int64."""

    def forward(self, x: Buffer, axis: int | None, keepdim: bool = False) -> Buffer:
        return x.argmax(axis, keepdims=keepdim)


class Argmin(_NoGrad):
    """Index of the smallest entry along ``axis`` (of the flattened input when None); int64."""

    def forward(self, x: Buffer, axis: int | None, keepdim: bool = False) -> Buffer:
        return x.argmin(axis, keepdims=keepdim)


class Argsort(_NoGrad):
    """Indices that sort x along ``axis``; with ``stable`` equal values keep their order."""

    def forward(self, x: Buffer, axis: int, descending: bool = False, stable: bool = False) -> Buffer:
        return x.argsort(axis, descending, stable)


class TopkIndices(_NoGrad):
    """Indices of the ``k`` largest (or smallest) entries along ``axis``, best first."""

    def forward(self, x: Buffer, k: int, axis: int, largest: bool = True) -> Buffer:
        return x.topk(k, axis, largest)


class KthvalueIndices(_NoGrad):
    """Index of the ``k``-th smallest entry along ``axis`` (k counts from 0), kept as a size-1 axis."""

    def forward(self, x: Buffer, k: int, axis: int) -> Buffer:
        order = x.argsort(axis, False, True)
        index = tuple(slice(k, k + 1) if i == axis else slice(None) for i in range(len(x.shape)))
        return order.getitem(index)


class All(_NoGrad):
    """True where every entry over ``axis`` is non-zero (uint8 in, uint8 out, as PyTorch)."""

    def forward(self, x: Buffer, axis: tuple[int, ...], keepdim: bool = False) -> Buffer:
        out = x.all(axis, keepdims=keepdim)
        return out.cast(dtypes.uint8) if x.dtype is dtypes.uint8 else out


class Any(_NoGrad):
    """True where some entry over ``axis`` is non-zero (uint8 in, uint8 out, as PyTorch)."""

    def forward(self, x: Buffer, axis: tuple[int, ...], keepdim: bool = False) -> Buffer:
        out = x.any(axis, keepdims=keepdim)
        return out.cast(dtypes.uint8) if x.dtype is dtypes.uint8 else out


class Multinomial(_NoGrad):
    """``num_samples`` category indices per row of non-negative weights, from the global generator."""

    def forward(self, x: Buffer, num_samples: int, replacement: bool = False) -> Buffer:
        return x.multinomial(num_samples, replacement)


class Bernoulli(_NoGrad):
    """1 with probability x (or the number ``p``), else 0, from the global generator; x's dtype."""

    def forward(self, x: Buffer, p: float | None = None) -> Buffer:
        probs = x if p is None else x.full(x.shape, p, x.dtype)
        return probs.bernoulli()
