"""Linear-algebra Functions: matmul (NumPy/PyTorch 1-d and batch-broadcast rules) and einsum.

``mm``, ``bmm``, ``mv`` and ``dot`` are MatMul with stricter argument checks in the
Tensor layer; ``outer`` is a broadcast multiply.
"""

from __future__ import annotations

import math

from ember.buffer import Buffer
from ember.function import Function

Grads = tuple[Buffer | None, ...]

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def mT(x: Buffer) -> Buffer:  # PyTorch's name for a batch of transposes
    """Swap the last two axes (no copy)."""
    n = len(x.shape)
    return x.permute(tuple(range(n - 2)) + (n - 1, n - 2))


class MatMul(Function):
    """z = x @ y;  dz/dx = g @ y^T, dz/dy = x^T @ g (batch axes broadcast, 1-d operands as vectors)."""

    def forward(self, x: Buffer, y: Buffer) -> Buffer:
        self.x, self.y = x, y
        return x @ y

    def backward(self, grad: Buffer) -> Grads:
        x, y = self.x, self.y
        nx, ny = self.needs_input_grad
        xd, yd = len(x.shape), len(y.shape)
        if xd == 1 and yd == 1:  # dot product
            return (grad * y if nx else None), (grad * x if ny else None)
        # view vectors as matrices, as the forward does: x (k,) -> (1, k), y (k,) -> (k, 1)
        x2 = x.reshape((1,) + x.shape) if xd == 1 else x
        y2 = y.reshape(y.shape + (1,)) if yd == 1 else y
        g = grad
        if xd == 1:
            g = g.reshape(g.shape[:-1] + (1,) + g.shape[-1:])
        if yd == 1:
            g = g.reshape(g.shape + (1,))
        gx = gy = None
        if nx:
            gx = g @ mT(y2)  # (..., m, k); broadcast batch axes are summed by the engine
            if xd == 1:
                gx = gx.reshape(gx.shape[:-2] + gx.shape[-1:])
        if ny:
            if len(y2.shape) == 2 and len(g.shape) > 2:
                # y was shared by every batch entry: sum_b x_b^T g_b is one (k, B*m) @ (B*m, n) GEMM
                k, n = x2.shape[-1], g.shape[-1]
                rows = math.prod(g.shape[:-1])
                gy = mT(x2.reshape((rows, k))) @ g.reshape((rows, n))
            else:
                gy = mT(x2) @ g
            if yd == 1:
                gy = gy.reshape(gy.shape[:-1])
        return gx, gy


class Einsum(Function):
    """z = einsum(eq, x_1, ..., x_n);  dz/dx_i = einsum of g and the other operands into x_i's subscripts.

    ``equation`` is explicit (``'bij,bjk->bik'``), without ellipsis, and every letter has
    one size in all operands (the Tensor layer rewrites ellipses and expands size-1
    broadcasts first). In the gradient of an operand, a letter repeated within it (a
    diagonal, ``'ii->i'``) is written as distinct letters tied by identity matrices, and
    a letter no other term has (summed away, ``'ij->i'``) is brought back by a vector of ones.
    """

    def forward(self, *xs: Buffer, equation: str) -> Buffer:
        self.xs, self.equation = xs, equation
        return xs[0].einsum(equation, *xs)

    def backward(self, grad: Buffer) -> Grads:
        lhs, out = self.equation.split("->")
        terms = lhs.split(",")
        xs = self.xs
        cls = type(grad)
        grads: list[Buffer | None] = []
        for i, sub in enumerate(terms):
            if not self.needs_input_grad[i]:
                grads.append(None)
                continue
            ins = [out] + [t for j, t in enumerate(terms) if j != i]
            ops = [grad] + [x for j, x in enumerate(xs) if j != i]
            present = set("".join(ins))
            fresh = iter(c for c in _LETTERS if c not in self.equation)
            target = ""
            for c, n in zip(sub, xs[i].shape):
                if c not in target:  # first time: c itself (fresh letters never clash with it)
                    target += c
                    if c not in present and sub.count(c) == 1:
                        ins.append(c)
                        ops.append(cls.full((n,), 1, grad.dtype))
                else:  # a repeated letter: a fresh letter f, tied to c by the identity delta(c, f)
                    f = next(fresh)
                    target += f
                    ins.append(c + f)
                    ops.append(cls.eye(n, n, grad.dtype))
            grads.append(grad.einsum(",".join(ins) + "->" + target, *ops))
        return tuple(grads)
