"""Layer 1 of 4: Buffer, an n-d array on a device, and the primitive contract.

A Buffer holds one backend array and offers a small fixed set of primitives. The
Function layer above writes every forward and backward with these, so a new device
is one new file in ``ember/backend/`` that subclasses Buffer and implements them;
nothing above changes. ``ember/backend/numpy_cpu.py`` is the reference backend.

The contract (all methods return new Buffers unless named ``*_``):

- elementwise unary: ``neg exp log log2 sqrt sin cos tanh abs sign erf`` (the
  operators ``-b``), ``cast(dtype)``
- elementwise binary, with NumPy broadcasting and Python scalars on either side:
  ``+ - * / ** maximum minimum`` and comparisons ``< <= > >= == !=``
- ternary: ``where(cond, a, b)``
- reductions over ``axis`` (int, tuple or None) with ``keepdims``: ``sum max min
  argmax argmin cumsum``, plus ``sort``/``argsort`` and ``topk``
- movement: ``reshape permute expand pad getitem (basic and advanced indexing) flip
  concatenate contiguous``
- ``matmul``, ``einsum(subscripts, *buffers)`` (explicit letters, no ellipsis)
- gather and scatter-add: ``take_along(indices, axis)``, ``scatter_add(indices, src,
  axis)``, ``index_add(index_tuple, src)``
- creation and random: ``full arange eye from_data uniform normal randint`` on the
  class, with a seedable generator
- in-place update: ``assign_(value, index)``, ``iadd_ isub_ imul_ idiv_``, ``copy_``
"""

from __future__ import annotations

from typing import Any

from ember import dtypes


class Buffer:
    """An array on a device. Subclasses implement the primitives for one backend.

    Attributes:
        data: the backend's own array object (never shown to users).
        version: the value of the global in-place clock when this buffer was last
            modified in place; autograd compares it with the time a Function was
            recorded to detect in-place edits of tensors that backward still needs.
    """

    __slots__ = ("data", "version")
    device: str = "abstract"

    def __init__(self, data: Any) -> None:
        self.data = data
        self.version = 0

    # Subclasses implement the primitives; see numpy_cpu.NumpyBuffer for the reference.
    @property
    def shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    @property
    def dtype(self) -> dtypes.dtype:
        raise NotImplementedError


# The global in-place clock: bumped by every in-place primitive. A Function records the
# clock when it runs; backward only inspects versions when the clock has moved since.
class _Clock:
    __slots__ = ("now",)

    def __init__(self) -> None:
        self.now = 0


inplace_clock = _Clock()
