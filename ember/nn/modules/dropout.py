"""``Dropout``: zero random elements while training."""

from __future__ import annotations

from ember._tensor import Tensor
from ember.nn import _layers as F
from ember.nn.module import Module


class Dropout(Module):
    """Zero each element with probability ``p`` in training and scale the rest by ``1 / (1 - p)``.

    In evaluation mode it is the identity. Masks come from ember's global generator
    (``ember.manual_seed``).

    Args:
        p: the probability of zeroing an element, in [0, 1] (default 0.5).
        inplace: accepted for PyTorch compatibility; ember always computes out of place.

    Raises:
        ValueError: if ``p`` is outside [0, 1].

    Shape:
        input (*) -> output of the same shape.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
