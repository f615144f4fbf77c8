"""Normalisation layers over features: ``LayerNorm``, ``RMSNorm``, ``GroupNorm``."""

from __future__ import annotations

from typing import Any

from ember._tensor import Tensor
from ember._tensor.creation import ones, zeros
from ember.nn import _norm as F
from ember.nn import init
from ember.nn.module import Module
from ember.nn.parameter import Parameter


def _shape(normalized_shape: Any) -> tuple[int, ...]:
    if isinstance(normalized_shape, int):
        return (int(normalized_shape),)
    return tuple(int(s) for s in normalized_shape)


class LayerNorm(Module):
    """Normalise over the trailing ``normalized_shape`` dims, then scale and shift.

    ``y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias``, with the biased variance,
    computed as one fused Function. ``weight`` starts at ones and ``bias`` at zeros.

    Args:
        normalized_shape: the trailing shape to normalise over (an int for the last dim).
        eps: added to the variance (default 1e-5).
        elementwise_affine: whether to learn ``weight`` and ``bias`` of shape
            ``normalized_shape`` (default True).
        bias: whether to learn ``bias`` too (default True).
        device, dtype: the parameters' dtype (default float32); ``device`` is accepted
            for PyTorch compatibility.

    Shape:
        input (*, *normalized_shape) -> output of the same shape.
    """

    def __init__(
        self, normalized_shape: Any, eps: float = 1e-05, elementwise_affine: bool = True, bias: bool = True,
        device: Any = None, dtype: Any = None,
    ) -> None:
        super().__init__()
        self.normalized_shape = _shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(ones(self.normalized_shape, dtype=dtype))
            if bias:
                self.bias = Parameter(zeros(self.normalized_shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
            f"bias={self.bias is not None}"
        )


class RMSNorm(Module):
    """Divide by the root mean square over the trailing ``normalized_shape`` dims, then scale.

    ``y = x / sqrt(mean(x^2) + eps) * weight``; ``weight`` starts at ones.

    Args:
        normalized_shape: the trailing shape to normalise over (an int for the last dim).
        eps: added to the mean square; None (default) uses the machine epsilon of the
            input's dtype, as PyTorch does.
        elementwise_affine: whether to learn ``weight`` (default True).
        device, dtype: the parameters' dtype (default float32); ``device`` is accepted
            for PyTorch compatibility.

    Shape:
        input (*, *normalized_shape) -> output of the same shape.
    """

    def __init__(
        self, normalized_shape: Any, eps: float | None = None, elementwise_affine: bool = True,
        device: Any = None, dtype: Any = None,
    ) -> None:
        super().__init__()
        self.normalized_shape = _shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(ones(self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("weight", None)

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, x: Tensor) -> Tensor:
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """Normalise groups of ``num_channels / num_groups`` channels per sample; scale and shift per channel.

    Mean and (biased) variance are taken over the group's channels and all positions;
    ``weight`` (ones) and ``bias`` (zeros) have one entry per channel.

    Args:
        num_groups: how many groups the channels form; must divide ``num_channels``.
        num_channels: C, the size of dimension 1.
        eps: added to the variance (default 1e-5).
        affine: whether to learn ``weight`` and ``bias`` (default True).
        device, dtype: the parameters' dtype (default float32); ``device`` is accepted
            for PyTorch compatibility.
        bias: whether to learn ``bias`` too (default True).

    Raises:
        ValueError: if ``num_groups`` does not divide ``num_channels``.

    Shape:
        input (N, C, *) -> output of the same shape.
    """

    def __init__(
        self, num_groups: int, num_channels: int, eps: float = 1e-05, affine: bool = True, device: Any = None,
        dtype: Any = None, *, bias: bool = True,
    ) -> None:
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(
                f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})"
            )
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        if affine:
            self.weight = Parameter(ones(num_channels, dtype=dtype))
            if bias:
                self.bias = Parameter(zeros(num_channels, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        bias = self.bias is not None
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, bias={bias}"
