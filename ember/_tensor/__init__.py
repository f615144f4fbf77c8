"""Layer 3 of 4: the Tensor class, assembled from one mixin per op family.

``core.py`` holds storage and autograd entry points; each sibling file adds the
methods of one family (elementwise, reduce, movement, indexing, linalg). Every
method validates its arguments and then calls one Function from ``ember.ops``.
"""

from __future__ import annotations

from ember import function as _function
from ember._tensor import core as _core
from ember._tensor.core import Size, TensorCore, device
from ember._tensor.elementwise import ElementwiseMixin
from ember._tensor.indexing import IndexingMixin
from ember._tensor.inplace_fused import FusedInplaceMixin
from ember._tensor.linalg import LinalgMixin
from ember._tensor.movement import MovementMixin
from ember._tensor.reduce import ReduceMixin


class Tensor(
    ElementwiseMixin, FusedInplaceMixin, ReduceMixin, MovementMixin, IndexingMixin, LinalgMixin, TensorCore
):
    """An n-dimensional array that records the operations applied to it for autograd.

    Create tensors with ``ember.tensor(data)`` or the factories (``zeros``, ``randn``,
    ...); ``Tensor(data)`` copies data as float32 and ``Tensor(2, 3)`` makes an
    uninitialised 2x3 tensor, as in PyTorch.

    Attributes:
        requires_grad: whether operations on this tensor are recorded so that
            ``backward()`` can compute its gradient.
        grad: the gradient accumulated by ``backward()``; None until then, and kept
            only for leaves (and tensors that called ``retain_grad()``).

    Example:
        >>> import ember
        >>> x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> y = (x * x).sum()
        >>> y.backward()
        >>> x.grad
        tensor([2., 4., 6.])
    """

    __slots__ = ()
    # CompareMixin defines __eq__ (elementwise), which would leave Tensor unhashable;
    # tensors hash by identity, as in PyTorch.
    __hash__ = TensorCore.__hash__


_core._TensorClass = Tensor
_function._make_tensor = _core._make

__all__ = ["Tensor", "Size", "device"]
