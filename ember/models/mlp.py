"""A multi-layer perceptron for flattened images (MNIST: 784 -> 512 -> 512 -> 10)."""

from __future__ import annotations

from typing import Any, Sequence

import ember.nn as nn


class MLP(nn.Module):
    """Fully connected layers with ReLU between them.

    Args:
        in_features: input size (784 for 28x28 images; inputs are flattened).
        hidden: widths of the hidden layers.
        num_classes: output size.
        dropout: dropout probability after each hidden layer.

    Shape:
        - Input: (N, *) with in_features elements per sample.
        - Output: (N, num_classes) logits.
    """

    def __init__(self, in_features: int = 784, hidden: Sequence[int] = (512, 512), num_classes: int = 10,
                 dropout: float = 0.0) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Any) -> Any:
        return self.net(x)
