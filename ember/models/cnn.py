"""A small convolutional network for 28x28 single-channel images."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import ember.nn as nn


class CNN(nn.Sequential):
    """Two conv-ReLU-maxpool stages and a linear classifier.

    Conv2d(1, 32, 3) -> ReLU -> MaxPool2d(2) -> Conv2d(32, 64, 3) -> ReLU -> MaxPool2d(2)
    -> Flatten -> Linear(1600, num_classes).

    A ``Sequential``, so its state-dict keys (``0.weight``, ``3.weight``, ``7.weight`` and
    the biases) are those of the same ``torch.nn.Sequential``, and a PyTorch state dict
    of that structure loads directly. Layers initialise as PyTorch's.

    Shape:
        - Input: (N, in_channels, 28, 28).
        - Output: (N, num_classes) logits.

    Example:
        >>> import ember
        >>> from ember.models import CNN
        >>> CNN()(ember.zeros(2, 1, 28, 28)).shape
        ember.Size([2, 10])
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10) -> None:
        super().__init__(
            nn.Conv2d(in_channels, 32, 3), nn.ReLU(), nn.MaxPool2d(2),  # (N, 32, 26, 26) -> (N, 32, 13, 13)
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),           # (N, 64, 11, 11) -> (N, 64, 5, 5)
            nn.Flatten(),                                                # (N, 1600)
            nn.Linear(64 * 5 * 5, num_classes),
        )

    def __getitem__(self, idx: int | slice) -> Any:
        # a slice is a plain Sequential: this class's constructor takes sizes, not modules
        if isinstance(idx, slice):
            return nn.Sequential(OrderedDict(list(self._modules.items())[idx]))
        return super().__getitem__(idx)
