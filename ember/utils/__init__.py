"""Utilities above the Tensor layer; ``ember.utils.data`` holds datasets and the DataLoader."""

from __future__ import annotations

from ember.utils import data

__all__ = ["data"]
