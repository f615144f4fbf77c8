"""``Flatten`` and ``Unflatten``: reshape modules for use inside ``Sequential``."""

from __future__ import annotations

from typing import Any

from ember._tensor import Tensor
from ember.nn.module import Module


class Flatten(Module):
    """Merge dims ``start_dim`` to ``end_dim`` into one (by default all but the batch dim).

    Args:
        start_dim: the first dim to merge (default 1).
        end_dim: the last dim to merge (default -1).

    Shape:
        input (N, *dims) -> output (N, prod(dims)) with the defaults.

    Example:
        >>> import ember
        >>> ember.nn.Flatten()(ember.zeros(8, 1, 28, 28)).shape
        ember.Size([8, 784])
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dimension ``dim`` into ``unflattened_size``.

    Args:
        dim: the dimension to split.
        unflattened_size: the new sizes; their product must equal the size of ``dim``
            (one entry may be -1).

    Shape:
        input (*, S, *) -> output (*, *unflattened_size, *), with S at ``dim``.
    """

    def __init__(self, dim: int, unflattened_size: Any) -> None:
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input: Tensor) -> Tensor:
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
