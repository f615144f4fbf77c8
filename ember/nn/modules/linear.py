"""Linear layers: ``Identity``, ``Linear``, ``Bilinear``."""

from __future__ import annotations

import math
from typing import Any

from ember._tensor import Tensor
from ember._tensor.creation import empty
from ember.nn import _layers as F
from ember.nn import init
from ember.nn.module import Module
from ember.nn.parameter import Parameter


class Identity(Module):
    """Return the input unchanged (constructor arguments are accepted and ignored).

    Shape:
        input (*) -> output of the same shape.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    """Apply the affine map ``y = x W^T + b`` to the last dimension.

    Weight (out_features, in_features) and bias (out_features) start from
    U(-1/sqrt(in_features), 1/sqrt(in_features)), PyTorch's default (kaiming_uniform_
    with a = sqrt(5)).

    Args:
        in_features: the size of each input's last dimension.
        out_features: the size of each output's last dimension.
        bias: whether to learn the additive bias ``b`` (default True).
        device, dtype: the parameters' dtype (default float32); ``device`` is accepted
        for PyTorch compatibility.

    Shape:
        input (..., in_features) -> output (..., out_features).

    Example:
        >>> import ember
        >>> ember.nn.Linear(784, 10)(ember.zeros(32, 784)).shape
        ember.Size([32, 10])
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(empty(out_features, in_features, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_features
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
        )


class Bilinear(Module):
    """Apply ``y_k = x1^T W_k x2 + b_k`` for each output feature ``k``.

    Weight (out_features, in1_features, in2_features) and bias (out_features) start
    from U(-1/sqrt(in1_features), 1/sqrt(in1_features)).

    Args:
        in1_features: the size of the first input's last dimension.
        in2_features: the size of the second input's last dimension.
        out_features: the size of the output's last dimension.
        bias: whether to learn the additive bias (default True).
        device, dtype: the parameters' dtype (default float32); ``device`` is accepted
        for PyTorch compatibility.

    Shape:
        input1 (..., in1_features), input2 (..., in2_features) with the same leading
        dims -> output (..., out_features).
    """

    def __init__(
        self, in1_features: int, in2_features: int, out_features: int, bias: bool = True, device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        self.weight = Parameter(empty(out_features, in1_features, in2_features, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
            f"out_features={self.out_features}, bias={self.bias is not None}"
        )
