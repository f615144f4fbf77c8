"""Functional convolution and pooling (``ember.nn.functional`` re-exports these).

Each function validates its arguments with PyTorch's rules, adds a batch axis to an
unbatched input, and calls one Function from ``ember.ops.conv`` or ``ember.ops.pool``.
"""

from __future__ import annotations

from typing import Any

from ember._tensor import Tensor
from ember.ops.conv import Convolution, ConvTranspose
from ember.ops.pool import AdaptiveAvgPool, AvgPool, MaxPool, MaxPoolIndices, pool_out_size

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "conv1d",
    "conv2d",
    "conv_transpose1d",
    "conv_transpose2d",
    "max_pool1d",
    "max_pool2d",
]

IntOrTuple = int | tuple[int, ...]


def _shape(t: Tensor) -> tuple[int, ...]:
    return tuple(t.shape)


def ntuple(value: Any, d: int, name: str, op: str) -> tuple[int, ...]:
    """An int (or a 1- or d-long sequence of ints) as a d-tuple, with PyTorch's error otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,) * d
    if isinstance(value, (tuple, list)) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        if len(value) == d:
            return tuple(value)
        if len(value) == 1:
            return (value[0],) * d
    raise RuntimeError(
        f"{op}: expected {name} to be a single integer value or a list of {d} values, "
        f"but got {name}={value!r}"
    )


def _check_input(input: Tensor, d: int, op: str) -> bool:
    """Validate the input's type and rank; return whether it is batched."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (d + 1, d + 2):
        raise RuntimeError(
            f"{op}: expected a {d + 1}-d (unbatched) or {d + 2}-d (batched) input, got shape {_shape(input)}"
        )
    if 0 in input.shape[input.ndim - d - 1:]:
        raise RuntimeError(
            f"{op}: expected non-empty channel and spatial dimensions, got shape {_shape(input)}"
        )
    return input.ndim == d + 2


def _positive(values: tuple[int, ...], name: str, op: str) -> None:
    if any(v <= 0 for v in values):
        raise RuntimeError(f"{op}: {name} must be positive, got {name}={values}")


def _conv_padding(padding: Any, d: int, kernel: tuple[int, ...], dilation: tuple[int, ...],
                  stride: tuple[int, ...], op: str) -> tuple[tuple[int, int], ...]:
    """Padding as (before, after) pairs; 'same' splits odd totals with the extra at the end, as PyTorch."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * d
        if padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError(
                    f"{op}: padding='same' is not supported for strided convolutions (stride={stride})"
                )
            totals = [dl * (k - 1) for k, dl in zip(kernel, dilation)]
            return tuple((t // 2, t - t // 2) for t in totals)
        raise RuntimeError(f"{op}: invalid padding string {padding!r}; expected 'valid' or 'same'")
    pads = ntuple(padding, d, "padding", op)
    if any(p < 0 for p in pads):
        raise RuntimeError(f"{op}: negative padding is not supported, got padding={pads}")
    return tuple((p, p) for p in pads)


def _check_weight(input: Tensor, weight: Tensor, bias: Tensor | None, d: int, op: str) -> None:
    if not isinstance(weight, Tensor):
        raise TypeError(f"{op}: weight must be a Tensor, got {type(weight).__name__}")
    if weight.ndim != d + 2:
        raise RuntimeError(f"{op}: expected a {d + 2}-d weight, got shape {_shape(weight)}")
    if 0 in weight.shape:
        raise RuntimeError(f"{op}: weight of shape {_shape(weight)} is empty")
    if weight.dtype != input.dtype:
        raise RuntimeError(f"{op}: input dtype {input.dtype} and weight dtype {weight.dtype} differ")
    if bias is not None:
        if not isinstance(bias, Tensor):
            raise TypeError(f"{op}: bias must be a Tensor or None, got {type(bias).__name__}")
        if bias.dtype != input.dtype:
            raise RuntimeError(f"{op}: input dtype {input.dtype} and bias dtype {bias.dtype} differ")


def _check_groups(groups: Any, op: str) -> int:
    if not isinstance(groups, int) or isinstance(groups, bool):
        raise TypeError(f"{op}: groups must be an int, got {type(groups).__name__}")
    if groups <= 0:
        raise RuntimeError(f"{op}: groups must be positive, got groups={groups}")
    return groups


def _conv(input: Tensor, weight: Tensor, bias: Tensor | None, stride: Any, padding: Any, dilation: Any,
          groups: Any, d: int, op: str) -> Tensor:
    batched = _check_input(input, d, op)
    _check_weight(input, weight, bias, d, op)
    groups = _check_groups(groups, op)
    x = input if batched else input.unsqueeze(0)
    o, cg, *kernel = _shape(weight)
    stride_t = ntuple(stride, d, "stride", op)
    dilation_t = ntuple(dilation, d, "dilation", op)
    _positive(stride_t, "stride", op)
    _positive(dilation_t, "dilation", op)
    pads = _conv_padding(padding, d, tuple(kernel), dilation_t, stride_t, op)
    if o % groups:
        raise RuntimeError(f"{op}: weight of shape {_shape(weight)} has {o} output channels, "
                           f"not divisible by groups={groups}")
    if x.shape[1] != cg * groups:
        raise RuntimeError(f"{op}: input has {x.shape[1]} channels but weight expects {cg * groups} "
                           f"(groups={groups}); input shape {_shape(input)}, weight shape {_shape(weight)}")
    if bias is not None and _shape(bias) != (o,):
        raise RuntimeError(
            f"{op}: bias of shape {_shape(bias)} does not match the weight's {o} output channels"
        )
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[2:], pads))
    span = tuple(dl * (k - 1) + 1 for k, dl in zip(kernel, dilation_t))
    if any(s > p for s, p in zip(span, padded)):
        raise RuntimeError(f"{op}: kernel size {span} (dilated) is larger than the padded input {padded}; "
                           f"input shape {_shape(input)}, weight shape {_shape(weight)}")
    inputs = (x, weight) if bias is None else (x, weight, bias)
    out = Convolution.apply(*inputs, stride=stride_t, padding=pads, dilation=dilation_t, groups=groups)
    return out if batched else out.squeeze(0)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntOrTuple = 1,
           padding: IntOrTuple | str = 0, dilation: IntOrTuple = 1, groups: int = 1) -> Tensor:
    """Apply a 1-d convolution (cross-correlation) over (N, C, L) or (C, L) input."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntOrTuple = 1,
           padding: IntOrTuple | str = 0, dilation: IntOrTuple = 1, groups: int = 1) -> Tensor:
    """Apply a 2-d convolution (cross-correlation) over (N, C, H, W) or (C, H, W) input.

    Example:
        >>> import ember
        >>> x, w = ember.ones(1, 1, 3, 3), ember.ones(2, 1, 2, 2)
        >>> ember.nn.functional.conv2d(x, w).shape
        ember.Size([1, 2, 2, 2])
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def _conv_transpose(input: Tensor, weight: Tensor, bias: Tensor | None, stride: Any, padding: Any,
                    output_padding: Any, groups: Any, dilation: Any, d: int, op: str) -> Tensor:
    batched = _check_input(input, d, op)
    _check_weight(input, weight, bias, d, op)
    groups = _check_groups(groups, op)
    x = input if batched else input.unsqueeze(0)
    cin, cog, *kernel = _shape(weight)
    stride_t = ntuple(stride, d, "stride", op)
    dilation_t = ntuple(dilation, d, "dilation", op)
    pads = ntuple(padding, d, "padding", op)
    out_pads = ntuple(output_padding, d, "output_padding", op)
    _positive(stride_t, "stride", op)
    _positive(dilation_t, "dilation", op)
    if any(p < 0 for p in pads + out_pads):
        raise RuntimeError(f"{op}: negative padding is not supported, got padding={pads}, "
                           f"output_padding={out_pads}")
    if any(op_ >= s and op_ >= dl for op_, s, dl in zip(out_pads, stride_t, dilation_t)):
        raise RuntimeError(f"{op}: output padding must be smaller than either stride or dilation, but got "
                           f"output_padding={out_pads}, stride={stride_t}, dilation={dilation_t}")
    if cin % groups:
        raise RuntimeError(f"{op}: weight of shape {_shape(weight)} has {cin} input channels, "
                           f"not divisible by groups={groups}")
    if x.shape[1] != cin:
        raise RuntimeError(f"{op}: input has {x.shape[1]} channels but weight expects {cin} "
                           f"(groups={groups}); input shape {_shape(input)}, weight shape {_shape(weight)}")
    if bias is not None and _shape(bias) != (cog * groups,):
        raise RuntimeError(
            f"{op}: bias of shape {_shape(bias)} does not match the {cog * groups} output channels"
        )
    out = tuple((n - 1) * s - 2 * p + dl * (k - 1) + op_ + 1
                for n, s, p, dl, k, op_ in zip(x.shape[2:], stride_t, pads, dilation_t, kernel, out_pads))
    if any(n <= 0 for n in out):
        raise RuntimeError(f"{op}: output size {out} is too small for input shape {_shape(input)}, "
                           f"weight shape {_shape(weight)} and padding={pads}")
    inputs = (x, weight) if bias is None else (x, weight, bias)
    y = ConvTranspose.apply(*inputs, stride=stride_t, padding=pads, output_padding=out_pads,
                            dilation=dilation_t, groups=groups)
    return y if batched else y.squeeze(0)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: IntOrTuple = 1, padding: IntOrTuple = 0, output_padding: IntOrTuple = 0,
                     groups: int = 1, dilation: IntOrTuple = 1) -> Tensor:
    """Apply a 1-d transposed convolution (the gradient of conv1d with respect to its input)."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 1,
                           "conv_transpose1d")


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: IntOrTuple = 1, padding: IntOrTuple = 0, output_padding: IntOrTuple = 0,
                     groups: int = 1, dilation: IntOrTuple = 1) -> Tensor:
    """Apply a 2-d transposed convolution; ``weight`` is (C_in, C_out/groups, kH, kW)."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 2,
                           "conv_transpose2d")


def _pool_args(input: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
               ceil_mode: bool, d: int, op: str) -> tuple[Tensor, bool, dict]:
    batched = _check_input(input, d, op)
    kernel = ntuple(kernel_size, d, "kernel_size", op)
    strides = kernel if stride is None or stride == [] or stride == () else ntuple(stride, d, "stride", op)
    pads = ntuple(padding, d, "padding", op)
    dils = ntuple(dilation, d, "dilation", op)
    _positive(kernel, "kernel_size", op)
    _positive(strides, "stride", op)
    _positive(dils, "dilation", op)
    if any(p < 0 or 2 * p > k for p, k in zip(pads, kernel)):
        raise RuntimeError(f"{op}: pad should be at most half of kernel size, but got padding={pads} and "
                           f"kernel_size={kernel}")
    x = input if batched else input.unsqueeze(0)
    out = tuple(pool_out_size(*a, bool(ceil_mode)) for a in zip(x.shape[2:], kernel, strides, pads, dils))
    if any(o <= 0 for o in out):
        raise RuntimeError(f"{op}: output size {out} is too small for input shape {_shape(input)} "
                           f"(kernel_size={kernel}, stride={strides}, padding={pads}, dilation={dils})")
    return x, batched, {"kernel_size": kernel, "stride": strides, "padding": pads, "dilation": dils,
                            "ceil_mode": bool(ceil_mode)}


def _max_pool(input: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
              ceil_mode: bool, return_indices: bool, d: int, op: str) -> Any:
    x, batched, opts = _pool_args(input, kernel_size, stride, padding, dilation, ceil_mode, d, op)
    out = MaxPool.apply(x, **opts)
    if not batched:
        out = out.squeeze(0)
    if not return_indices:
        return out
    idx = MaxPoolIndices.apply(x, **opts)
    return out, (idx if batched else idx.squeeze(0))


def max_pool1d(input: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
               padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Any:
    """Apply 1-d max pooling over (N, C, L) or (C, L) input."""
    return _max_pool(
        input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 1, "max_pool1d"
    )


def max_pool2d(input: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
               padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Any:
    """Apply 2-d max pooling; with ``return_indices`` also the flat H*W index of each maximum.

    Example:
        >>> import ember
        >>> x = ember.arange(16.0).reshape(1, 1, 4, 4)
        >>> ember.nn.functional.max_pool2d(x, 2)
        tensor([[[[ 5.,  7.],
                  [13., 15.]]]])
    """
    return _max_pool(
        input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2, "max_pool2d"
    )


def _avg_pool(input: Tensor, kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool,
              count_include_pad: bool, divisor_override: Any, d: int, op: str) -> Tensor:
    x, batched, opts = _pool_args(input, kernel_size, stride, padding, 1, ceil_mode, d, op)
    del opts["dilation"]
    if divisor_override is not None and (not isinstance(divisor_override, int) or divisor_override == 0):
        raise RuntimeError(
            f"{op}: divisor must be a non-zero integer, got divisor_override={divisor_override!r}"
        )
    out = AvgPool.apply(
        x, **opts, count_include_pad=bool(count_include_pad), divisor_override=divisor_override
    )
    return out if batched else out.squeeze(0)


def avg_pool1d(input: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
               padding: IntOrTuple = 0, ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """Apply 1-d average pooling over (N, C, L) or (C, L) input."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1, "avg_pool1d")


def avg_pool2d(input: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
               padding: IntOrTuple = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """Apply 2-d average pooling; padded zeros count in the divisor unless ``count_include_pad=False``."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 2,
                     "avg_pool2d")


def _adaptive_avg_pool(input: Tensor, output_size: Any, d: int, op: str) -> Tensor:
    batched = _check_input(input, d, op)
    x = input if batched else input.unsqueeze(0)
    if isinstance(output_size, (tuple, list)) and len(output_size) == d:
        sizes = tuple(x.shape[2 + i] if s is None else s for i, s in enumerate(output_size))
    else:
        sizes = ntuple(output_size, d, "output_size", op)
    if not all(isinstance(s, int) and not isinstance(s, bool) for s in sizes):
        raise RuntimeError(f"{op}: output_size must hold integers or None, got output_size={output_size!r}")
    _positive(sizes, "output_size", op)
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"{op}: expected a floating point input, got dtype {x.dtype}")
    out = AdaptiveAvgPool.apply(x, output_size=sizes)
    return out if batched else out.squeeze(0)


def adaptive_avg_pool1d(input: Tensor, output_size: IntOrTuple) -> Tensor:
    """Average (N, C, L) input over ``output_size`` adaptive bins."""
    return _adaptive_avg_pool(input, output_size, 1, "adaptive_avg_pool1d")


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average (N, C, H, W) input over an ``output_size`` grid of adaptive bins (``None`` keeps a size)."""
    return _adaptive_avg_pool(input, output_size, 2, "adaptive_avg_pool2d")
