"""Comparison and logical Functions: bool results, no gradient, no graph node."""

from __future__ import annotations

from ember.buffer import Buffer
from ember.function import Function


class _NoGrad(Function):
    """Base of the Functions here: never recorded, so backward never runs."""

    differentiable = False

    def backward(self, grad: Buffer) -> None:  # pragma: no cover - never recorded
        raise RuntimeError(f"{type(self).__name__} has no gradient")


class Less(_NoGrad):
    """z = x < y."""

    def forward(self, x: Buffer, y: Buffer) -> Buffer:
        return x < y


class LessEqual(_NoGrad):
    """z = x <= y."""

    def forward(self, x: Buffer, y: Buffer) -> Buffer:
        return x <= y


class Greater(_NoGrad):
    """z = x > y."""

    def forward(self, x: Buffer, y: Buffer) -> Buffer:
        return x > y


class GreaterEqual(_NoGrad):
    """z = x >= y."""

    def forward(self, x: Buffer, y: Buffer) -> Buffer:
        return x >= y


class Eq(_NoGrad):
    """z = x == y."""

    def forward(self, x: Buffer, y: Buffer) -> Buffer:
        return x.eq(y)


class NotEqual(_NoGrad):
    """z = x != y."""

    def forward(self, x: Buffer, y: Buffer) -> Buffer:
        return x.ne(y)


class LogicalAnd(_NoGrad):
    """z = x and y."""

    def forward(self, x: Buffer, y: Buffer) -> Buffer:
        return x.logical_and(y)


class LogicalOr(_NoGrad):
    """z = x or y."""

    def forward(self, x: Buffer, y: Buffer) -> Buffer:
        return x.logical_or(y)


class LogicalXor(_NoGrad):
    """z = x xor y."""

    def forward(self, x: Buffer, y: Buffer) -> Buffer:
        return x.logical_xor(y)


class LogicalNot(_NoGrad):
    """z = not x."""

    def forward(self, x: Buffer) -> Buffer:
        return x.logical_not()
