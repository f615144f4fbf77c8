"""Activation modules: ``ReLU``, ``GELU``, ``SiLU``, ``Tanh``, ``Sigmoid``, ``Softmax``, ..."""

from __future__ import annotations

from ember._tensor import Tensor
from ember.nn import _activation as F
from ember.nn.module import Module


class ReLU(Module):
    """Apply ``max(x, 0)`` elementwise.

    Args:
        inplace: accepted for PyTorch compatibility; ember always computes out of place.

    Shape:
        input (*) -> output of the same shape.

    Example:
        >>> import ember
        >>> ember.nn.ReLU()(ember.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return input.relu()

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU6(ReLU):
    """Apply ``min(max(x, 0), 6)`` elementwise.

    Args:
        inplace: accepted for PyTorch compatibility; ember always computes out of place.

    Shape:
        input (*) -> output of the same shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.relu6(input)


class Hardswish(ReLU):
    """Apply ``x * relu6(x + 3) / 6`` elementwise.

    Args:
        inplace: accepted for PyTorch compatibility; ember always computes out of place.

    Shape:
        input (*) -> output of the same shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.hardswish(input)


class Hardsigmoid(ReLU):
    """Apply ``relu6(x + 3) / 6`` elementwise.

    Args:
        inplace: accepted for PyTorch compatibility; ember always computes out of place.

    Shape:
        input (*) -> output of the same shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.hardsigmoid(input)


class GELU(Module):
    """Apply the Gaussian error linear unit ``x * Phi(x)`` elementwise.

    Args:
        approximate: ``'none'`` (default, exact with erf) or ``'tanh'`` (GPT-2's
            approximation ``0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))``).

    Shape:
        input (*) -> output of the same shape.
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(ReLU):
    """Apply ``x * sigmoid(x)`` (swish) elementwise.

    Args:
        inplace: accepted for PyTorch compatibility; ember always computes out of place.

    Shape:
        input (*) -> output of the same shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.silu(input)


class Mish(ReLU):
    """Apply ``x * tanh(softplus(x))`` elementwise.

    Args:
        inplace: accepted for PyTorch compatibility; ember always computes out of place.

    Shape:
        input (*) -> output of the same shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.mish(input)


class Tanh(Module):
    """Apply the hyperbolic tangent elementwise.

    Shape:
        input (*) -> output of the same shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        return input.tanh()


class Sigmoid(Module):
    """Apply ``1 / (1 + exp(-x))`` elementwise.

    Shape:
        input (*) -> output of the same shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        return input.sigmoid()


class LogSigmoid(Module):
    """Apply ``log(sigmoid(x)) = -softplus(-x)`` elementwise, stable for large ``|x|``.

    Shape:
        input (*) -> output of the same shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.logsigmoid(input)


class Softmax(Module):
    """Apply ``exp(x) / sum(exp(x))`` along ``dim``, so each slice sums to 1.

    Args:
        dim: the dimension to normalise. None picks PyTorch's legacy default (0 for
            0-, 1- and 3-d inputs, else 1); pass it explicitly.

    Shape:
        input (*) -> output of the same shape.
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """Apply ``log(softmax(x))`` along ``dim``, computed without forming the softmax.

    Args:
        dim: the dimension to normalise (None: PyTorch's legacy default, as in ``Softmax``).

    Shape:
        input (*) -> output of the same shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, self.dim)


class Softmin(Softmax):
    """Apply ``softmax(-x)`` along ``dim``.

    Args:
        dim: the dimension to normalise (None: PyTorch's legacy default, as in ``Softmax``).

    Shape:
        input (*) -> output of the same shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.softmin(input, self.dim)


class LeakyReLU(Module):
    """Apply ``x`` where ``x >= 0``, else ``negative_slope * x``, elementwise.

    Args:
        negative_slope: the slope for negative inputs (default 0.01).
        inplace: accepted for PyTorch compatibility; ember always computes out of place.

    Shape:
        input (*) -> output of the same shape.
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """Apply ``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)``, elementwise.

    Args:
        alpha: the scale of the negative part, which tends to ``-alpha`` (default 1.0).
        inplace: accepted for PyTorch compatibility; ember always computes out of place.

    Shape:
        input (*) -> output of the same shape.
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(input, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Softplus(Module):
    """Apply ``log(1 + exp(beta * x)) / beta`` elementwise, and ``x`` where ``beta * x > threshold``.

    Args:
        beta: the sharpness (default 1.0).
        threshold: above this value of ``beta * x`` the function is the identity (default 20.0).

    Shape:
        input (*) -> output of the same shape.
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input: Tensor) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Module):
    """Clamp the input to ``[min_val, max_val]`` elementwise.

    Args:
        min_val: the lower bound (default -1.0).
        max_val: the upper bound (default 1.0).
        inplace: accepted for PyTorch compatibility; ember always computes out of place.

    Raises:
        ValueError: if ``min_val > max_val``.

    Shape:
        input (*) -> output of the same shape.
    """

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}" + (", inplace=True" if self.inplace else "")


class GLU(Module):
    """Apply the gated linear unit ``a * sigmoid(b)``, where ``a`` and ``b`` are the two halves of the input.

    Args:
        dim: the dimension split in half (default -1); its size must be even.

    Shape:
        input (*, 2n, *) -> output (*, n, *), halved along ``dim``.
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
