"""A multi-layer perceptron for flattened images (MNIST: 784 -> 512 -> 512 -> 10)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import ember.nn as nn


class MLP(nn.Sequential):
    """Fully connected layers with ReLU between them: Flatten, then (Linear, ReLU) per hidden width, Linear.

    A ``Sequential``, so its state-dict keys (``1.weight``, ``3.weight``, ``5.weight`` for
    the default 784-512-512-10) are those of the same ``torch.nn.Sequential``, and a
    PyTorch state dict of that structure loads directly. Layers initialise as PyTorch's.

    Args:
        in_features: input size (784 for 28x28 images; inputs are flattened).
        hidden: widths of the hidden layers.
        num_classes: output size.
        dropout: dropout probability after each hidden ReLU (0: no Dropout layers).

    Shape:
        - Input: (N, *) with ``in_features`` elements per sample, e.g. (N, 1, 28, 28).
        - Output: (N, num_classes) logits.

    Example:
        >>> import ember
        >>> from ember.models import MLP
        >>> MLP()(ember.zeros(2, 1, 28, 28)).shape
        ember.Size([2, 10])
    """

    def __init__(self, in_features: int = 784, hidden: Sequence[int] = (512, 512), num_classes: int = 10,
                 dropout: float = 0.0) -> None:
        layers: list[nn.Module] = [nn.Flatten()]  # (N, 1, 28, 28) -> (N, 784)
        width = in_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, num_classes))
        super().__init__(*layers)

    def __getitem__(self, idx: int | slice) -> Any:
        # a slice is a plain Sequential: this class's constructor takes sizes, not modules
        if isinstance(idx, slice):
            return nn.Sequential(OrderedDict(list(self._modules.items())[idx]))
        return super().__getitem__(idx)
