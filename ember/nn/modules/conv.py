"""Convolution layers: ``Conv1d``, ``Conv2d``, ``ConvTranspose1d``, ``ConvTranspose2d``.

Parameters, their names, shapes and default initialisation are PyTorch's, so a PyTorch
``state_dict`` loads unchanged: ``weight`` ~ kaiming_uniform_(a=sqrt(5)), which is
U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and ``bias`` ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
with fan_in = weight.shape[1] * prod(kernel_size).
"""

from __future__ import annotations

import math
from typing import Any

from ember import dtypes
from ember._tensor import Tensor
from ember.backend import DEFAULT as _Buf
from ember.nn import _conv as F
from ember.nn.module import Module
from ember.nn.parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _tuple(value: Any, d: int, name: str, cls: str) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,) * d
    if isinstance(value, (tuple, list)) and len(value) == d and all(isinstance(v, int) for v in value):
        return tuple(value)
    raise ValueError(f"{cls}: {name} must be an int or a tuple of {d} ints, got {value!r}")


class _ConvNd(Module):
    """Shared constructor, initialisation and repr of the convolution layers."""

    _d = 2
    _transposed = False

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
        output_padding: Any, groups: int, bias: bool, padding_mode: str, dtype: Any,
    ) -> None:
        super().__init__()
        cls, d = type(self).__name__, self._d
        if groups <= 0:
            raise ValueError(f"{cls}: groups must be a positive integer, got {groups}")
        if in_channels % groups:
            raise ValueError(f"{cls}: in_channels must be divisible by groups, "
                             f"got in_channels={in_channels}, groups={groups}")
        if out_channels % groups:
            raise ValueError(f"{cls}: out_channels must be divisible by groups, "
                             f"got out_channels={out_channels}, groups={groups}")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{cls}: padding_mode must be one of {_PADDING_MODES}, but got "
                             f"padding_mode={padding_mode!r}")
        self.kernel_size = _tuple(kernel_size, d, "kernel_size", cls)
        self.stride = _tuple(stride, d, "stride", cls)
        self.dilation = _tuple(dilation, d, "dilation", cls)
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(
                    f"{cls}: invalid padding string {padding!r}, should be one of ('same', 'valid')"
                )
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{cls}: padding='same' is not supported for strided convolutions")
            self.padding: Any = padding
        else:
            self.padding = _tuple(padding, d, "padding", cls)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.output_padding = _tuple(output_padding, d, "output_padding", cls)
        self.groups, self.padding_mode, self.transposed = groups, padding_mode, self._transposed
        if self._transposed:
            shape = (in_channels, out_channels // groups, *self.kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *self.kernel_size)
        dtype = dtype if dtype is not None else dtypes.get_default_dtype()
        self.weight = Parameter(_empty(shape, dtype))
        self.bias = Parameter(_empty((out_channels,), dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw weight and bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's default."""
        from ember.nn import init

        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        d = self._d
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * d:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * d:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * d:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


def _empty(shape: tuple[int, ...], dtype: dtypes.dtype) -> Tensor:
    from ember._tensor.core import _make

    return _make(_Buf.empty(shape, dtype), None)


class _Conv(_ConvNd):
    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
        dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
        device: Any = None, dtype: Any = None,
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, 0, groups, bias,
                         padding_mode, dtype)

    def forward(self, input: Tensor) -> Tensor:
        conv = F.conv1d if self._d == 1 else F.conv2d
        if self.padding_mode == "zeros":
            return conv(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        from ember.nn import functional

        pads = self._mode_pads()
        padded = functional.pad(input, pads, mode=self.padding_mode)
        return conv(padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def _mode_pads(self) -> tuple[int, ...]:
        """F.pad's (last axis first) amounts for ``padding``, as PyTorch's non-zero padding modes."""
        if self.padding == "valid":
            return (0, 0) * self._d
        if self.padding == "same":
            pads = []
            for k, dl in zip(reversed(self.kernel_size), reversed(self.dilation)):
                total = dl * (k - 1)
                pads += [total // 2, total - total // 2]
            return tuple(pads)
        return tuple(p for p in reversed(self.padding) for _ in range(2))


class Conv1d(_Conv):
    """Apply a 1-d convolution: ``out[n, o] = bias[o] + sum_c weight[o, c] ⋆ input[n, c]``.

    Args:
        in_channels: C_in, the input's channels.
        out_channels: C_out, the output's channels.
        kernel_size: the kernel's size (an int, or one per spatial dim).
        stride: the step between kernel positions (default 1).
        padding: an int, a tuple, ``'valid'`` (none) or ``'same'`` (stride 1 only; an even
            kernel pads one more at the end, as PyTorch) (default 0).
        dilation: the spacing between kernel elements (default 1).
        groups: split the channels into this many independent groups (default 1); both
            channel counts must be divisible by it.
        bias: whether to learn a bias per output channel (default True).
        padding_mode: ``'zeros'`` (default), ``'reflect'``, ``'replicate'`` or ``'circular'``.
        device, dtype: the parameters' dtype (default float32); ``device`` is accepted
            for PyTorch compatibility.

    Shape:
        input (N, C_in, L_in) or (C_in, L_in) -> output (N, C_out, L_out) or (C_out, L_out),
        ``L_out = floor((L_in + 2 padding - dilation (kernel_size - 1) - 1) / stride) + 1``;
        weight (C_out, C_in / groups, kernel_size), bias (C_out).
    """

    _d = 1


class Conv2d(_Conv):
    """Apply a 2-d convolution: ``out[n, o] = bias[o] + sum_c weight[o, c] ⋆ input[n, c]``.

    Args:
        in_channels: C_in, the input's channels.
        out_channels: C_out, the output's channels.
        kernel_size: the kernel's size (an int, or one per spatial dim).
        stride: the step between kernel positions (default 1).
        padding: an int, a tuple, ``'valid'`` (none) or ``'same'`` (stride 1 only; an even
            kernel pads one more at the end, as PyTorch) (default 0).
        dilation: the spacing between kernel elements (default 1).
        groups: split the channels into this many independent groups (default 1); both
            channel counts must be divisible by it.
        bias: whether to learn a bias per output channel (default True).
        padding_mode: ``'zeros'`` (default), ``'reflect'``, ``'replicate'`` or ``'circular'``.
        device, dtype: the parameters' dtype (default float32); ``device`` is accepted
            for PyTorch compatibility.

    Shape:
        input (N, C_in, H_in, W_in) or (C_in, H_in, W_in) -> output (N, C_out, H_out, W_out)
        or (C_out, H_out, W_out), each of H and W with
        ``out = floor((in + 2 padding - dilation (kernel_size - 1) - 1) / stride) + 1``;
        weight (C_out, C_in / groups, kH, kW), bias (C_out).

    Example:
        >>> import ember
        >>> conv = ember.nn.Conv2d(1, 4, 3, padding=1)
        >>> conv(ember.zeros(2, 1, 5, 5)).shape
        ember.Size([2, 4, 5, 5])
    """

    _d = 2


class _ConvTranspose(_ConvNd):
    _transposed = True

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
        output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
        padding_mode: str = "zeros", device: Any = None, dtype: Any = None,
    ) -> None:
        cls = type(self).__name__
        if padding_mode != "zeros":
            raise ValueError(f"{cls}: only 'zeros' padding_mode is supported, got {padding_mode!r}")
        if isinstance(padding, str):
            raise TypeError(f"{cls}: padding must be an int or a tuple, got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, output_padding,
                         groups, bias, padding_mode, dtype)

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        out_pad = self.output_padding if output_size is None else self._output_padding(input, output_size)
        conv = F.conv_transpose1d if self._d == 1 else F.conv_transpose2d
        return conv(
            input, self.weight, self.bias, self.stride, self.padding, out_pad, self.groups, self.dilation
        )

    def _output_padding(self, input: Tensor, output_size: Any) -> tuple[int, ...]:
        """The output_padding that gives ``output_size`` (which may include batch and channel)."""
        d, cls = self._d, type(self).__name__
        sizes = tuple(output_size)[-d:]
        spatial = tuple(input.shape)[-d:]
        pads = []
        for i in range(d):
            smallest = ((spatial[i] - 1) * self.stride[i] - 2 * self.padding[i]
                        + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            extra = sizes[i] - smallest
            if not 0 <= extra < max(self.stride[i], self.dilation[i]):
                raise ValueError(f"{cls}: requested an output size of {sizes}, but valid sizes range from "
                                 f"{smallest} to {smallest + max(self.stride[i], self.dilation[i]) - 1} "
                                 f"on dimension {i} (for an input of shape {tuple(input.shape)})")
            pads.append(extra)
        return tuple(pads)


class ConvTranspose1d(_ConvTranspose):
    """Apply a 1-d transposed convolution (``Conv1d``'s gradient with respect to its input).

    ``forward(input, output_size=None)``: an ``output_size`` picks the output padding
    that gives that length.

    Args:
        in_channels: C_in, the input's channels.
        out_channels: C_out, the output's channels.
        kernel_size: the kernel's size (an int, or one per spatial dim).
        stride: the step between kernel positions (default 1).
        padding: ``dilation (kernel_size - 1) - padding`` zeros are added on both sides
            of the input (default 0).
        output_padding: extra size added to one side of the output, less than ``stride``
            or ``dilation`` (default 0).
        groups: split the channels into this many independent groups (default 1); both
            channel counts must be divisible by it.
        bias: whether to learn a bias per output channel (default True).
        dilation: the spacing between kernel elements (default 1).
        padding_mode: only ``'zeros'`` (the default) is supported, as in PyTorch.
        device, dtype: the parameters' dtype (default float32); ``device`` is accepted
            for PyTorch compatibility.

    Shape:
        input (N, C_in, L_in) or (C_in, L_in) -> output (N, C_out, L_out) or (C_out, L_out),
        ``L_out = (L_in - 1) stride - 2 padding + dilation (kernel_size - 1) + output_padding + 1``;
        weight (C_in, C_out / groups, kernel_size), bias (C_out).
    """

    _d = 1


class ConvTranspose2d(_ConvTranspose):
    """Apply a 2-d transposed convolution ("deconvolution"), upsampling by ``stride``.

    It is the gradient of ``Conv2d`` with respect to its input. ``forward(input,
    output_size=None)``: an ``output_size`` picks the output padding that gives that size.

    Args:
        in_channels: C_in, the input's channels.
        out_channels: C_out, the output's channels.
        kernel_size: the kernel's size (an int, or one per spatial dim).
        stride: the step between kernel positions (default 1).
        padding: ``dilation (kernel_size - 1) - padding`` zeros are added on both sides
            of the input (default 0).
        output_padding: extra size added to one side of the output, less than ``stride``
            or ``dilation`` (default 0).
        groups: split the channels into this many independent groups (default 1); both
            channel counts must be divisible by it.
        bias: whether to learn a bias per output channel (default True).
        dilation: the spacing between kernel elements (default 1).
        padding_mode: only ``'zeros'`` (the default) is supported, as in PyTorch.
        device, dtype: the parameters' dtype (default float32); ``device`` is accepted
            for PyTorch compatibility.

    Shape:
        input (N, C_in, H_in, W_in) or (C_in, H_in, W_in) -> output (N, C_out, H_out, W_out)
        or (C_out, H_out, W_out), each of H and W with
        ``out = (in - 1) stride - 2 padding + dilation (kernel_size - 1) + output_padding + 1``;
        weight (C_in, C_out / groups, kH, kW), bias (C_out).

    Example:
        >>> import ember
        >>> up = ember.nn.ConvTranspose2d(4, 2, 2, stride=2)
        >>> up(ember.zeros(1, 4, 3, 3)).shape
        ember.Size([1, 2, 6, 6])
    """

    _d = 2
