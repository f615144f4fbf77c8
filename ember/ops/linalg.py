"""Linear-algebra Functions: matmul (with NumPy/PyTorch 1-d and batch-broadcast rules)."""

from __future__ import annotations

from ember.buffer import Buffer
from ember.function import Function

Grads = tuple[Buffer | None, ...]


def mT(x: Buffer) -> Buffer:  # noqa: N802 - PyTorch's name for a batch of transposes
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
        if len(x.shape) == 1 and len(y.shape) == 1:  # dot product
            return (grad * y if nx else None), (grad * x if ny else None)
        # view vectors as matrices, as matmul's forward does
        x2 = x.reshape((1, x.shape[0])) if len(x.shape) == 1 else x
        y2 = y.reshape((y.shape[0], 1)) if len(y.shape) == 1 else y
        g = grad
        if len(x.shape) == 1:
            g = g.reshape(g.shape[:-1] + (1,) + g.shape[-1:]) if len(y.shape) > 1 else g
        if len(y.shape) == 1:
            g = g.reshape(g.shape + (1,))
        gx = gy = None
        if nx:
            gx = g @ mT(y2)
            if len(x.shape) == 1:
                gx = gx.reshape(gx.shape[:-2] + gx.shape[-1:])
        if ny:
            gy = mT(x2) @ g
            if len(y.shape) == 1:
                gy = gy.reshape(gy.shape[:-1])
        return gx, gy
