"""Parameter initialisation (``ember.nn.init``): fill tensors in place from ember's global generator.

The schemes and their defaults are PyTorch's, so a layer built by ember starts from
the same distribution as the same layer built by PyTorch.
"""

from __future__ import annotations

import math
from typing import Any

from ember._tensor import Tensor
from ember._tensor.core import TensorCore
from ember._tensor.creation import rand, randn
from ember._tensor.elementwise import where
from ember.autograd.grad_mode import no_grad

__all__ = [
    "calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
]


def _check(tensor: Any, op: str) -> Tensor:
    if not isinstance(tensor, TensorCore):
        raise TypeError(f"{op}: expected a Tensor, got {type(tensor).__name__}")
    return tensor  # type: ignore[return-value]


def _fill(tensor: Tensor, values: Tensor) -> Tensor:
    with no_grad():
        tensor.copy_(values)
    return tensor


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """Return the recommended gain for ``nonlinearity`` (e.g. sqrt(2) for ``'relu'``)."""
    linear = (
        "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"
    )
    if nonlinearity in linear or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"calculate_gain: negative_slope {param} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """Return (fan_in, fan_out): in/out features times the receptive field size (conv kernels)."""
    if tensor.ndim < 2:
        raise ValueError(
            "fan in and fan out can not be computed for a tensor with fewer than 2 dimensions (shape "
            f"{tuple(tensor.shape)})"
        )
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming init: mode {mode!r} not supported, please use one of 'fan_in', 'fan_out'")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with values drawn from U(a, b)."""
    t = _check(tensor, "uniform_")
    return _fill(t, rand(tuple(t.shape), dtype=t.dtype) * (b - a) + a)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with values drawn from N(mean, std^2)."""
    t = _check(tensor, "normal_")
    return _fill(t, randn(tuple(t.shape), dtype=t.dtype) * std + mean)


def trunc_normal_(
    tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
    generator: Any = None,
) -> Tensor:
    """Fill with N(mean, std^2) values conditioned on lying in [a, b] (out-of-range draws are redrawn)."""
    t = _check(tensor, "trunc_normal_")
    if a >= b:
        raise ValueError(f"trunc_normal_: a ({a}) must be smaller than b ({b})")
    shape = tuple(t.shape)
    with no_grad():
        x = randn(shape, dtype=t.dtype) * std + mean
        for _ in range(1000):  # each round redraws only the values still outside [a, b]
            bad = (x < a) | (x > b)
            if not bool(bad.any()):
                break
            x = where(bad, randn(shape, dtype=t.dtype) * std + mean, x)
        else:
            x = x.clamp(a, b)  # [a, b] far in the tail: the rejection rate is too high
    return _fill(t, x)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    t = _check(tensor, "constant_")
    with no_grad():
        t.fill_(val)
    return t


def ones_(tensor: Tensor) -> Tensor:
    """Fill ``tensor`` with ones in place and return it."""
    return constant_(tensor, 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill ``tensor`` with zeros in place and return it."""
    return constant_(tensor, 0.0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity matrix."""
    from ember._tensor.creation import eye

    t = _check(tensor, "eye_")
    if t.ndim != 2:
        raise ValueError(f"eye_: only 2-D tensors are supported, got shape {tuple(t.shape)}")
    return _fill(t, eye(t.shape[0], t.shape[1], dtype=t.dtype))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with U(-a, a), a = gain sqrt(6 / (fan_in + fan_out)) (Glorot and Bengio, 2010)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_check(tensor, "xavier_uniform_"))
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with N(0, std^2), std = gain sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_check(tensor, "xavier_normal_"))
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)))


def kaiming_uniform_(
    tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Tensor:
    """Fill with U(-bound, bound), bound = gain sqrt(3 / fan) (He et al., 2015)."""
    t = _check(tensor, "kaiming_uniform_")
    if 0 in tuple(t.shape):
        return t
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(t, mode))
    return uniform_(t, -math.sqrt(3.0) * std, math.sqrt(3.0) * std)


def kaiming_normal_(
    tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Tensor:
    """Fill with N(0, std^2), std = gain / sqrt(fan)."""
    t = _check(tensor, "kaiming_normal_")
    if 0 in tuple(t.shape):
        return t
    return normal_(t, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(_fan(t, mode)))
