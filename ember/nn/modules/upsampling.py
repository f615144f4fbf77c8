"""``Upsample``: ``interpolate`` as a module."""

from __future__ import annotations

from typing import Any

from ember._tensor import Tensor
from ember.nn import functional as F
from ember.nn.module import Module


class Upsample(Module):
    """Resize the spatial dims of ``(N, C, *spatial)`` inputs (see ``ember.nn.functional.interpolate``).

    Args:
        size: the output's spatial size (an int or one per spatial dim), or
        scale_factor: the factor to multiply each spatial size by.
        mode: ``'nearest'`` (default), ``'nearest-exact'``, ``'linear'``, ``'bilinear'``, ``'trilinear'``.
        align_corners: for the linear modes, map the corner pixels' centres onto each other.
        recompute_scale_factor: compute the sampling scale from the sizes, not from ``scale_factor``.

    Shape:
        input (N, C, *spatial) -> output (N, C, *resized).

    Example:
        >>> import ember
        >>> ember.nn.Upsample(scale_factor=2)(ember.zeros(1, 3, 4, 5)).shape
        ember.Size([1, 3, 8, 10])
    """

    def __init__(self, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                 align_corners: bool | None = None, recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self) -> str:
        what = (
            f"size={self.size}" if self.size is not None
            else f"scale_factor={float(self.scale_factor)!r}"
            if not isinstance(self.scale_factor, (tuple, list))
            else f"scale_factor={tuple(self.scale_factor)}"
        )
        return f"{what}, mode={self.mode!r}"
