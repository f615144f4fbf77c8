"""Pooling layers: ``MaxPool1d/2d``, ``AvgPool1d/2d``, ``AdaptiveAvgPool1d/2d`` (no parameters)."""

from __future__ import annotations

from typing import Any

from ember._tensor import Tensor
from ember.nn import _conv as F
from ember.nn.module import Module

__all__ = ["AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AvgPool1d", "AvgPool2d", "MaxPool1d", "MaxPool2d"]


def _single(v: Any) -> Any:
    return (v,) if isinstance(v, int) else tuple(v)


class _MaxPoolNd(Module):
    def __init__(
        self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
        return_indices: bool = False, ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """Take the maximum over sliding windows of (N, C, L) or (C, L) input.

    With ``return_indices`` the layer also returns the position along L of each
    maximum (the first one in a window of ties, as PyTorch).

    Args:
        kernel_size: the window size (an int, or one per spatial dim).
        stride: the step between windows (default ``kernel_size``).
        padding: implicit -inf padding on both sides (default 0); at most half the kernel.
        dilation: the spacing between window elements (default 1).
        return_indices: also return the index of each maximum (default False).
        ceil_mode: round the output size up instead of down (default False).

    Shape:
        input (N, C, L_in) or (C, L_in) -> output (N, C, L_out) or (C, L_out), with
        ``L_out = floor((L_in + 2 padding - dilation (kernel_size - 1) - 1) / stride) + 1``
        (rounded up with ``ceil_mode``).
    """

    def forward(self, input: Tensor) -> Any:
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)


class MaxPool2d(_MaxPoolNd):
    """Take the maximum over sliding windows of (N, C, H, W) or (C, H, W) input.

    With ``return_indices`` the layer also returns the flat H*W index of each maximum
    (the first one in a window of ties, as PyTorch).

    Args:
        kernel_size: the window size (an int, or one per spatial dim).
        stride: the step between windows (default ``kernel_size``).
        padding: implicit -inf padding on both sides (default 0); at most half the kernel.
        dilation: the spacing between window elements (default 1).
        return_indices: also return the index of each maximum (default False).
        ceil_mode: round the output size up instead of down (default False).

    Shape:
        input (N, C, H_in, W_in) or (C, H_in, W_in) -> output (N, C, H_out, W_out) or
        (C, H_out, W_out), each of H and W with
        ``out = floor((in + 2 padding - dilation (kernel_size - 1) - 1) / stride) + 1``
        (rounded up with ``ceil_mode``).

    Example:
        >>> import ember
        >>> ember.nn.MaxPool2d(2)(ember.zeros(1, 3, 5, 5)).shape
        ember.Size([1, 3, 2, 2])
    """

    def forward(self, input: Tensor) -> Any:
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)


class AvgPool1d(Module):
    """Average sliding windows of (N, C, L) or (C, L) input.

    Args:
        kernel_size: the window size (an int, or one per spatial dim).
        stride: the step between windows (default ``kernel_size``).
        padding: implicit zero padding on both sides (default 0); at most half the kernel.
        ceil_mode: round the output size up instead of down (default False).
        count_include_pad: count the padded zeros in the divisor (default True).

    Shape:
        input (N, C, L_in) or (C, L_in) -> output (N, C, L_out) or (C, L_out), with
        ``L_out = floor((L_in + 2 padding - kernel_size) / stride) + 1`` (rounded up with ``ceil_mode``).
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        # PyTorch keeps AvgPool1d's sizes as 1-tuples (they show in repr)
        self.kernel_size = _single(kernel_size)
        self.stride = _single(stride if stride is not None else kernel_size)
        self.padding = _single(padding)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """Average sliding windows of (N, C, H, W) or (C, H, W) input.

    Args:
        kernel_size: the window size (an int, or one per spatial dim).
        stride: the step between windows (default ``kernel_size``).
        padding: implicit zero padding on both sides (default 0); at most half the kernel.
        ceil_mode: round the output size up instead of down (default False).
        count_include_pad: count the padded zeros in the divisor (default True).
        divisor_override: if given, divide every window's sum by it instead.

    Shape:
        input (N, C, H_in, W_in) or (C, H_in, W_in) -> output (N, C, H_out, W_out) or
        (C, H_out, W_out), each of H and W with
        ``out = floor((in + 2 padding - kernel_size) / stride) + 1`` (rounded up with ``ceil_mode``).
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode, self.count_include_pad = padding, ceil_mode, count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool1d(Module):
    """Average (N, C, L) input over ``output_size`` bins whose edges adapt to L.

    Bin ``i`` covers ``[floor(i L / out), ceil((i + 1) L / out))``, as in PyTorch.

    Args:
        output_size: the number of bins.

    Shape:
        input (N, C, L) or (C, L) -> output (N, C, output_size) or (C, output_size).
    """

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool1d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(Module):
    """Average (N, C, H, W) input over an ``output_size`` grid of bins whose edges adapt to H and W.

    Args:
        output_size: ``(H_out, W_out)``, or an int for a square grid; ``None`` in either
            place keeps that input size.

    Shape:
        input (N, C, H, W) or (C, H, W) -> output (N, C, H_out, W_out) or (C, H_out, W_out).

    Example:
        >>> import ember
        >>> ember.nn.AdaptiveAvgPool2d((1, 1))(ember.ones(2, 8, 5, 7)).shape
        ember.Size([2, 8, 1, 1])
    """

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
