"""Functional activations (``ember.nn.functional.relu``, ...): thin wrappers over Tensor methods.

``inplace=True`` is accepted for PyTorch compatibility; ember returns a new tensor
instead of overwriting the input, which is what ``x = F.relu(x, inplace=True)`` needs.
"""

from __future__ import annotations

from typing import Any

from ember._tensor import Tensor
from ember._tensor.core import TensorCore

__all__ = [
    "relu", "relu6", "gelu", "silu", "mish", "tanh", "sigmoid", "softmax", "log_softmax", "softmin",
    "leaky_relu", "elu", "softplus", "hardtanh", "hardswish", "hardsigmoid", "logsigmoid", "glu",
]


def _tensor(x: Any, op: str) -> Tensor:
    if not isinstance(x, TensorCore):
        raise TypeError(f"{op}: expected a Tensor as input, got {type(x).__name__}")
    return x  # type: ignore[return-value]


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0) elementwise."""
    return _tensor(input, "relu").relu()


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6) elementwise."""
    return _tensor(input, "relu6").clamp(0.0, 6.0)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x Phi(x), exactly (``'none'``) or with the tanh approximation (``'tanh'``)."""
    return _tensor(input, "gelu").gelu(approximate=approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x sigmoid(x) elementwise."""
    return _tensor(input, "silu").silu()


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x tanh(softplus(x)) elementwise."""
    x = _tensor(input, "mish")
    return x * x.softplus().tanh()


def tanh(input: Tensor) -> Tensor:
    """Return the hyperbolic tangent of ``input`` elementwise."""
    return _tensor(input, "tanh").tanh()


def sigmoid(input: Tensor) -> Tensor:
    """Return ``1 / (1 + exp(-x))`` elementwise."""
    return _tensor(input, "sigmoid").sigmoid()


def _softmax_dim(ndim: int) -> int:
    # PyTorch's legacy choice when dim is None (it also warns)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``."""
    x = _tensor(input, "softmax")
    return x.softmax(_softmax_dim(x.ndim) if dim is None else dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """log(softmax(x)) along ``dim``, computed stably."""
    x = _tensor(input, "log_softmax")
    return x.log_softmax(_softmax_dim(x.ndim) if dim is None else dim, dtype=dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """softmax(-x) along ``dim``."""
    x = _tensor(input, "softmin")
    return (-x).softmax(_softmax_dim(x.ndim) if dim is None else dim, dtype=dtype)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x if x > 0 else negative_slope * x."""
    return _tensor(input, "leaky_relu").leaky_relu(negative_slope)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else alpha (e^x - 1)."""
    return _tensor(input, "elu").elu(alpha)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(beta x)) / beta, linear where beta x > threshold."""
    return _tensor(input, "softplus").softplus(beta, threshold)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """x clamped to [min_val, max_val]."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
    return _tensor(input, "hardtanh").clamp(min_val, max_val)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x relu6(x + 3) / 6, MobileNetV3's cheap swish.

    At the kinks x = -3 and 3 the gradient is 0 and 1, PyTorch's one-sided choice.
    """
    from ember._tensor.elementwise import where

    x = _tensor(input, "hardswish")
    inside = (x > -3.0) & (x < 3.0)
    # the curve sees x only inside (-3, 3), so an inf or nan outside sends no nan gradient through
    # it; x * 0 below: -0.0 for negative x and nan for nan, as PyTorch's x * relu6(x + 3) / 6 gives
    xs = where(inside, x, 0.0)
    return where(inside, xs * (xs + 3.0) / 6.0, where(x >= 3.0, x, x * 0.0))


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, linear between (gradient 1/6 strictly inside)."""
    from ember._tensor.elementwise import where

    x = _tensor(input, "hardsigmoid")
    inside = (x > -3.0) & (x < 3.0)
    out = where(inside, (x + 3.0) / 6.0, (x >= 3.0).to(x.dtype))
    return where(x.isnan(), x, out)


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x), computed stably."""
    return -(-_tensor(input, "logsigmoid")).softplus()


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b) where a, b are the two halves of the input along ``dim``."""
    x = _tensor(input, "glu")
    n = x.shape[dim]
    if n % 2:
        raise RuntimeError(f"glu: halving dimension must be even, but dimension {dim} is size {n}")
    a, b = x.chunk(2, dim)
    return a * b.sigmoid()
