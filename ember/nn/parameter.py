"""Layer 4 (nn): ``Parameter``, a Tensor that a Module registers as learnable."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ember import dtypes
from ember._tensor import Tensor
from ember._tensor.core import TensorCore
from ember.backend import DEFAULT as _Buf

if TYPE_CHECKING:
    from ember.buffer import Buffer


class Parameter(Tensor):
    """A Tensor that is a module parameter: assigning it to a Module attribute registers it.

    It shares storage with ``data`` and requires grad by default. Results of operations
    on a Parameter are plain Tensors.

    Example:
        >>> import ember
        >>> p = ember.nn.Parameter(ember.zeros(2))
        >>> p.requires_grad
        True
    """

    # no __slots__: like PyTorch's, a Parameter may carry user attributes (p._no_decay = True)

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        buf: Buffer
        if data is None:
            buf = _Buf.empty((0,), dtypes.get_default_dtype())
        elif isinstance(data, TensorCore):
            buf = data._buf
        else:
            raise TypeError(f"Parameter: data must be a Tensor, got {type(data).__name__}")
        self._buf = buf
        self._ctx = None
        self.grad = None
        self._hooks = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__
