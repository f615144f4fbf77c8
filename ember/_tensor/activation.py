"""Tensor methods for activations: relu, gelu (exact and tanh), silu, softplus, leaky_relu, elu.

``ember.nn.functional`` exposes the same operations as functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ember import dtypes
from ember._tensor.promotion import method_function, require_floating
from ember.ops import activation as A

if TYPE_CHECKING:
    from ember._tensor import Tensor
    from ember._tensor.core import TensorCore as _TensorBase
else:
    _TensorBase = object  # the mixins are typed as Tensors, built as plain classes

__all__ = ["relu"]


class ActivationMixin(_TensorBase):
    """Activation functions on Tensors."""

    __slots__ = ()

    def relu(self) -> Tensor:
        """Return ``max(x, 0)`` elementwise."""
        if self._buf.dtype is dtypes.bool_:  # type: ignore[attr-defined]
            raise RuntimeError("relu: boolean inputs are not supported")
        return A.Relu.apply(self)  # type: ignore[arg-type]

    def gelu(self, approximate: str = "none") -> Tensor:
        """Return the Gaussian error linear unit ``x * Phi(x)``.

        Args:
            approximate: ``'none'`` (exact, with erf) or ``'tanh'`` (GPT-2's tanh approximation).
        """
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        require_floating(self, "gelu")  # type: ignore[arg-type]
        return A.Gelu.apply(self, approximate=approximate)  # type: ignore[arg-type]

    def silu(self) -> Tensor:
        """Return ``x * sigmoid(x)`` (also called swish)."""
        require_floating(self, "silu")  # type: ignore[arg-type]
        return A.Silu.apply(self)  # type: ignore[arg-type]

    def softplus(self, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
        """Return ``log(1 + exp(beta * x)) / beta``, or ``x`` where ``beta * x > threshold``."""
        require_floating(self, "softplus")  # type: ignore[arg-type]
        return A.Softplus.apply(self, beta=beta, threshold=threshold)  # type: ignore[arg-type]

    def leaky_relu(self, negative_slope: float = 0.01) -> Tensor:
        """Return ``x`` where ``x >= 0``, else ``negative_slope * x``."""
        require_floating(self, "leaky_relu")  # type: ignore[arg-type]
        return A.LeakyRelu.apply(self, negative_slope=negative_slope)  # type: ignore[arg-type]

    def elu(self, alpha: float = 1.0) -> Tensor:
        """Return ``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)``."""
        require_floating(self, "elu")  # type: ignore[arg-type]
        return A.Elu.apply(self, alpha=alpha)  # type: ignore[arg-type]


relu = method_function("relu")
