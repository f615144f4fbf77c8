"""Elementwise Functions: arithmetic, unary math, clamping and selection, casts.

Binary Functions receive broadcastable inputs as they are and may return gradients
of the broadcast shape; the autograd engine sums them back to each input's shape.
Activations live in ``activation.py`` and comparisons in ``compare.py``; both are
re-exported here, so ``elementwise.Relu`` and ``elementwise.Less`` work too.
"""

from __future__ import annotations

import math

from ember import dtypes
from ember.buffer import Buffer
from ember.function import Function
from ember.ops.activation import Elu, Gelu, LeakyRelu, Relu, Silu, Softplus
from ember.ops.compare import (
    Eq,
    Greater,
    GreaterEqual,
    Less,
    LessEqual,
    LogicalAnd,
    LogicalNot,
    LogicalOr,
    LogicalXor,
    NotEqual,
)

__all__ = [
    "Abs", "Add", "Cast", "Clamp", "ClampTensor", "Clone", "Contiguous", "Cos", "Div", "Elu", "Eq", "Exp",
    "FloorDivide", "Fmod", "Gelu", "Greater", "GreaterEqual", "LeakyRelu", "Less", "LessEqual", "Log",
    "Log1p", "Log2", "LogicalAnd", "LogicalNot", "LogicalOr", "LogicalXor", "Maximum", "Minimum", "Mul",
    "Neg", "NotEqual", "Pow", "PowScalar", "RPowScalar", "Reciprocal", "Relu", "Remainder", "Rsqrt",
    "Sigmoid", "Sign", "Silu", "Sin", "Softplus", "Sqrt", "Sub", "Tanh", "Where",
]  # fmt: skip

Grads = tuple[Buffer | None, ...]


# ---- arithmetic ---------------------------------------------------------------------
class Add(Function):
    """z = x + y;  dz/dx = 1, dz/dy = 1."""

    def forward(self, x: Buffer, y: Buffer) -> Buffer:
        return x + y

    def backward(self, grad: Buffer) -> Grads:
        return grad, grad


class Sub(Function):
    """z = x - y;  dz/dx = 1, dz/dy = -1."""

    def forward(self, x: Buffer, y: Buffer) -> Buffer:
        return x - y

    def backward(self, grad: Buffer) -> Grads:
        return grad, (-grad if self.needs_input_grad[1] else None)


class Mul(Function):
    """z = x * y;  dz/dx = y, dz/dy = x."""

    def forward(self, x: Buffer, y: Buffer) -> Buffer:
        self.x, self.y = x, y
        return x * y

    def backward(self, grad: Buffer) -> Grads:
        nx, ny = self.needs_input_grad
        return (grad * self.y if nx else None), (grad * self.x if ny else None)


class Div(Function):
    """z = x / y;  dz/dx = 1 / y, dz/dy = -x / y^2."""

    def forward(self, x: Buffer, y: Buffer) -> Buffer:
        self.x, self.y = x, y
        return x / y

    def backward(self, grad: Buffer) -> Grads:
        nx, ny = self.needs_input_grad
        gx = grad / self.y if nx else None
        gy = -grad * self.x / (self.y * self.y) if ny else None
        return gx, gy


class Neg(Function):
    """z = -x."""

    def forward(self, x: Buffer) -> Buffer:
        return -x

    def backward(self, grad: Buffer) -> Buffer:
        return -grad


class Pow(Function):
    """z = x ** y;  dz/dx = y x^(y-1), dz/dy = z ln x."""

    def forward(self, x: Buffer, y: Buffer) -> Buffer:
        self.x, self.y = x, y
        self.out = x**y
        return self.out

    def backward(self, grad: Buffer) -> Grads:
        x, y = self.x, self.y
        nx, ny = self.needs_input_grad
        # PyTorch's conventions at the edges: no gradient for x where y == 0 (0 * 0^-1 would
        # be nan), none for y where x == 0 and y >= 0; ln x is nan for x < 0, as it is there
        gx = y.eq(0).where(0, grad * y * x ** (y - 1)) if nx else None
        gy = x.eq(0).logical_and(y >= 0).where(0, grad * self.out * x.log()) if ny else None
        return gx, gy


class PowScalar(Function):
    """z = x ** c for a Python number c;  dz/dx = c x^(c-1)."""

    def forward(self, x: Buffer, exponent: float) -> Buffer:
        self.x, self.c = x, exponent
        if exponent == 2:
            return x * x
        return x**exponent

    def backward(self, grad: Buffer) -> Buffer:
        c = self.c
        if c == 2:
            return grad * self.x * 2
        if c == 1:
            return grad
        if c == 0:
            return grad * 0  # not c x^-1, which is nan at x == 0
        return grad * (self.x ** (c - 1) * c)


class RPowScalar(Function):
    """z = c ** x for a Python number c;  dz/dx = z ln c."""

    def forward(self, x: Buffer, base: float) -> Buffer:
        self.x, self.base = x, base
        self.out = base**x
        return self.out

    def backward(self, grad: Buffer) -> Buffer:
        c = self.base
        if c > 0:
            return grad * self.out * math.log(c)
        if c == 0:
            # ln 0 = -inf; PyTorch gives no gradient where x >= 0 (there 0^x is constant)
            return (self.x >= 0).where(0, grad * self.out * -math.inf)
        return grad * math.nan  # ln of a negative base is nan


# ---- unary math ---------------------------------------------------------------------
class Exp(Function):
    """z = e^x;  dz/dx = z."""

    def forward(self, x: Buffer) -> Buffer:
        self.out = x.exp()
        return self.out

    def backward(self, grad: Buffer) -> Buffer:
        return grad * self.out


class Log(Function):
    """z = ln x;  dz/dx = 1 / x."""

    def forward(self, x: Buffer) -> Buffer:
        self.x = x
        return x.log()

    def backward(self, grad: Buffer) -> Buffer:
        return grad / self.x


class Log2(Function):
    """z = log2 x;  dz/dx = 1 / (x ln 2)."""

    def forward(self, x: Buffer) -> Buffer:
        self.x = x
        return x.log2()

    def backward(self, grad: Buffer) -> Buffer:
        return grad / (self.x * math.log(2.0))


class Log1p(Function):
    """z = ln(1 + x);  dz/dx = 1 / (1 + x)."""

    def forward(self, x: Buffer) -> Buffer:
        self.x = x
        return x.log1p()

    def backward(self, grad: Buffer) -> Buffer:
        return grad / (self.x + 1)


class Erf(Function):
    """z = erf x;  dz/dx = 2 / sqrt(pi) exp(-x^2)."""

    def forward(self, x: Buffer) -> Buffer:
        self.x = x
        return x.erf()

    def backward(self, grad: Buffer) -> Buffer:
        x = self.x
        return grad * (-(x * x)).exp() * (2.0 / math.sqrt(math.pi))


class Atan2(Function):
    """z = atan2(y, x);  dz/dy = x / (x^2 + y^2), dz/dx = -y / (x^2 + y^2)."""

    def forward(self, y: Buffer, x: Buffer) -> Buffer:
        self.y, self.x = y, x
        return y.atan2(x)

    def backward(self, grad: Buffer) -> Grads:
        ny, nx = self.needs_input_grad
        g = grad / (self.x * self.x + self.y * self.y)
        return (g * self.x if ny else None), (-g * self.y if nx else None)


class Sqrt(Function):
    """z = sqrt x;  dz/dx = 1 / (2 z)."""

    def forward(self, x: Buffer) -> Buffer:
        self.out = x.sqrt()
        return self.out

    def backward(self, grad: Buffer) -> Buffer:
        return grad / (self.out * 2)


class Rsqrt(Function):
    """z = 1 / sqrt x;  dz/dx = -z^3 / 2."""

    def forward(self, x: Buffer) -> Buffer:
        self.out = 1 / x.sqrt()
        return self.out

    def backward(self, grad: Buffer) -> Buffer:
        return grad * self.out * self.out * self.out * -0.5


class Sin(Function):
    """z = sin x;  dz/dx = cos x."""

    def forward(self, x: Buffer) -> Buffer:
        self.x = x
        return x.sin()

    def backward(self, grad: Buffer) -> Buffer:
        return grad * self.x.cos()


class Cos(Function):
    """z = cos x;  dz/dx = -sin x."""

    def forward(self, x: Buffer) -> Buffer:
        self.x = x
        return x.cos()

    def backward(self, grad: Buffer) -> Buffer:
        return -grad * self.x.sin()


class Tanh(Function):
    """z = tanh x;  dz/dx = 1 - z^2."""

    def forward(self, x: Buffer) -> Buffer:
        self.out = x.tanh()
        return self.out

    def backward(self, grad: Buffer) -> Buffer:
        return grad * (1 - self.out * self.out)


class Sigmoid(Function):
    """z = 1 / (1 + e^-x);  dz/dx = z (1 - z)."""

    def forward(self, x: Buffer) -> Buffer:
        # tanh form: no overflow warning for large |x| and exact in float32
        self.out = (x * 0.5).tanh() * 0.5 + 0.5
        return self.out

    def backward(self, grad: Buffer) -> Buffer:
        return grad * self.out * (1 - self.out)


class Abs(Function):
    """z = |x|;  dz/dx = sign x."""

    def forward(self, x: Buffer) -> Buffer:
        self.x = x
        return x.abs()

    def backward(self, grad: Buffer) -> Buffer:
        return grad * self.x.sign()


class Sign(Function):
    """z = sign x; the gradient is zero everywhere."""

    def forward(self, x: Buffer) -> Buffer:
        return x.sign()

    def backward(self, grad: Buffer) -> Buffer:
        return grad * 0


class Reciprocal(Function):
    """z = 1 / x;  dz/dx = -z^2."""

    def forward(self, x: Buffer) -> Buffer:
        self.out = 1 / x
        return self.out

    def backward(self, grad: Buffer) -> Buffer:
        return -grad * self.out * self.out


class Clamp(Function):
    """z = min(max(x, lo), hi);  dz/dx = 1 inside [lo, hi] (lo/hi may be None)."""

    def forward(self, x: Buffer, min: float | None = None, max: float | None = None) -> Buffer:
        out = x
        if min is not None:
            out = out.maximum(min)
        if max is not None:
            out = out.minimum(max)
        self.x, self.lo, self.hi = x, min, max
        return out

    def backward(self, grad: Buffer) -> Buffer:
        x = self.x
        if self.lo is not None:
            grad = (x >= self.lo).where(grad, 0)
        if self.hi is not None:
            grad = (x <= self.hi).where(grad, 0)
        return grad


class ClampTensor(Function):
    """z = min(max(x, lo), hi) with tensor bounds; lo > hi gives hi everywhere.

    dz/dx = 1 where lo <= x <= hi, dz/dlo = 1 where x < lo < hi, dz/dhi = 1 where
    x > hi or hi < lo (PyTorch's rule, so ties give the whole gradient to x).
    """

    def forward(self, x: Buffer, lo: Buffer, hi: Buffer) -> Buffer:
        self.x, self.lo, self.hi = x, lo, hi
        return x.maximum(lo).minimum(hi)

    def backward(self, grad: Buffer) -> Grads:
        x, lo, hi = self.x, self.lo, self.hi
        nx, nlo, nhi = self.needs_input_grad
        gx = (x >= lo).logical_and(x <= hi).where(grad, 0) if nx else None
        glo = (x < lo).logical_and(lo < hi).where(grad, 0) if nlo else None
        ghi = (x > hi).logical_or(hi < lo).where(grad, 0) if nhi else None
        return gx, glo, ghi


class Maximum(Function):
    """z = max(x, y); ties split the gradient evenly, as in PyTorch."""

    def forward(self, x: Buffer, y: Buffer) -> Buffer:
        self.x, self.y = x, y
        return x.maximum(y)

    def backward(self, grad: Buffer) -> Grads:
        return _select_grads(self, grad, self.x > self.y)


class Minimum(Function):
    """z = min(x, y); ties split the gradient evenly, as in PyTorch."""

    def forward(self, x: Buffer, y: Buffer) -> Buffer:
        self.x, self.y = x, y
        return x.minimum(y)

    def backward(self, grad: Buffer) -> Grads:
        return _select_grads(self, grad, self.x < self.y)


def _select_grads(fn: Maximum | Minimum, grad: Buffer, x_wins: Buffer) -> Grads:
    tie = fn.x.eq(fn.y)
    half = grad * 0.5
    nx, ny = fn.needs_input_grad
    gx = tie.where(half, x_wins.where(grad, 0)) if nx else None
    gy = tie.where(half, x_wins.where(0, grad)) if ny else None
    return gx, gy


class Where(Function):
    """z = x where cond else y; cond is a bool tensor and gets no gradient."""

    def forward(self, cond: Buffer, x: Buffer, y: Buffer) -> Buffer:
        self.cond = cond
        return cond.where(x, y)

    def backward(self, grad: Buffer) -> Grads:
        _, nx, ny = self.needs_input_grad
        return None, (self.cond.where(grad, 0) if nx else None), (self.cond.where(0, grad) if ny else None)


# ---- copies and casts ---------------------------------------------------------------
class Cast(Function):
    """z = x converted to ``dtype``; the gradient is cast back to x's dtype."""

    def forward(self, x: Buffer, dtype: dtypes.dtype) -> Buffer:
        self.src = x.dtype
        return x.cast(dtype)

    def backward(self, grad: Buffer) -> Buffer:
        return grad.cast(self.src)


class Clone(Function):
    """z = a copy of x;  dz/dx = 1."""

    def forward(self, x: Buffer) -> Buffer:
        return x.copy()

    def backward(self, grad: Buffer) -> Buffer:
        return grad


class Contiguous(Function):
    """z = x laid out contiguously in memory;  dz/dx = 1."""

    def forward(self, x: Buffer) -> Buffer:
        return x.contiguous()

    def backward(self, grad: Buffer) -> Buffer:
        return grad


class Fmod(Function):
    """z = x - y trunc(x / y) (the sign of x);  dz/dx = 1, dz/dy = -trunc(x / y)."""

    def forward(self, x: Buffer, y: Buffer) -> Buffer:
        self.x, self.y = x, y
        return x.fmod(y)

    def backward(self, grad: Buffer) -> Grads:
        nx, ny = self.needs_input_grad
        return (grad if nx else None), (-grad * (self.x / self.y).trunc() if ny else None)


class FloorDivide(Function):
    """z = floor(x / y); piecewise constant, so no gradient is recorded."""

    differentiable = False

    def forward(self, x: Buffer, y: Buffer) -> Buffer:
        return x.floordiv(y)


class Remainder(Function):
    """z = x mod y (Python's sign convention);  dz/dx = 1, dz/dy = -floor(x / y)."""

    def forward(self, x: Buffer, y: Buffer) -> Buffer:
        self.x, self.y = x, y
        return x.mod(y)

    def backward(self, grad: Buffer) -> Grads:
        nx, ny = self.needs_input_grad
        return (grad if nx else None), (-grad * self.x.floordiv(self.y) if ny else None)
