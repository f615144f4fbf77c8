"""Activation Functions: ReLU and its smooth relatives (leaky ReLU, ELU, GELU, SiLU, softplus).

Each saves what its derivative needs in forward (a mask, the output, or an
intermediate such as GELU's normal CDF) so backward is a few elementwise ops.
"""

from __future__ import annotations

import math

from ember.buffer import Buffer
from ember.function import Function


class Relu(Function):
    """z = max(x, 0);  dz/dx = 1 where x > 0."""

    def forward(self, x: Buffer) -> Buffer:
        self.out = x.maximum(0)
        return self.out

    def backward(self, grad: Buffer) -> Buffer:
        return self.out.mask_positive(grad)  # 0 where out <= 0, else grad


class LeakyRelu(Function):
    """z = x if x > 0 else a x."""

    def forward(self, x: Buffer, negative_slope: float = 0.01) -> Buffer:
        self.pos = x > 0
        self.a = negative_slope
        return self.pos.where(x, x * negative_slope)

    def backward(self, grad: Buffer) -> Buffer:
        return self.pos.where(grad, grad * self.a)


class Elu(Function):
    """z = x if x > 0 else a (e^x - 1)."""

    def forward(self, x: Buffer, alpha: float = 1.0) -> Buffer:
        self.pos = x > 0
        self.neg_out = x.minimum(0).expm1() * alpha
        self.a = alpha
        return self.pos.where(x, self.neg_out)

    def backward(self, grad: Buffer) -> Buffer:
        return self.pos.where(grad, grad * (self.neg_out + self.a))


class Gelu(Function):
    """z = x Phi(x) (exact, via erf) or its tanh approximation;  dz/dx = Phi(x) + x pdf(x) (exact).

    The exact form computes value and derivative together in one fused backend kernel
    (``gelu_erf``), so backward is a single multiply instead of a second pass of erf and exp.
    """

    def forward(self, x: Buffer, approximate: str = "none") -> Buffer:
        self.approximate = approximate
        if approximate == "tanh":
            self.x = x
            self.t = ((x + x * x * x * 0.044715) * math.sqrt(2.0 / math.pi)).tanh()
            return x * 0.5 * (self.t + 1)
        out, self.dzdx = x.gelu_erf()
        return out

    def backward(self, grad: Buffer) -> Buffer:
        if self.approximate == "tanh":
            x, t = self.x, self.t
            k = math.sqrt(2.0 / math.pi)
            dinner = (x * x * (3 * 0.044715) + 1) * k
            return grad * ((t + 1) * 0.5 + x * 0.5 * (1 - t * t) * dinner)
        return grad * self.dzdx


class Silu(Function):
    """z = x sigmoid(x);  dz/dx = s (1 + x (1 - s))."""

    def forward(self, x: Buffer) -> Buffer:
        self.x = x
        self.s = (x * 0.5).tanh() * 0.5 + 0.5
        return x * self.s

    def backward(self, grad: Buffer) -> Buffer:
        s = self.s
        return grad * s * (1 + self.x * (1 - s))


class Softplus(Function):
    """z = log(1 + e^(b x)) / b, linear above ``threshold``;  dz/dx = sigmoid(b x)."""

    def forward(self, x: Buffer, beta: float = 1.0, threshold: float = 20.0) -> Buffer:
        bx = x * beta
        self.lin = bx > threshold
        self.s = (bx * 0.5).tanh() * 0.5 + 0.5
        # log1p(e^-|t|) + max(t, 0) never overflows
        soft = ((-bx.abs()).exp().log1p() + bx.maximum(0)) / beta
        return self.lin.where(x, soft)

    def backward(self, grad: Buffer) -> Buffer:
        return self.lin.where(grad, grad * self.s)
