"""A small convolutional network for 28x28 single-channel images."""

from __future__ import annotations

from typing import Any

import ember.nn as nn


class CNN(nn.Module):
    """Two conv-ReLU-maxpool stages and a linear classifier.

    Conv2d(1, 32, 3) -> ReLU -> MaxPool2d(2) -> Conv2d(32, 64, 3) -> ReLU -> MaxPool2d(2)
    -> Flatten -> Linear(1600, num_classes).

    Shape:
        - Input: (N, 1, 28, 28).
        - Output: (N, num_classes) logits.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 32, 3), nn.ReLU(), nn.MaxPool2d(2),   # (N, 32, 13, 13)
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),            # (N, 64, 5, 5)
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(64 * 5 * 5, num_classes))

    def forward(self, x: Any) -> Any:
        return self.classifier(self.features(x))
