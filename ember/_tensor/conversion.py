"""Tensor methods that convert dtype or layout: ``to``, ``float``, ``long``, ``clone``, ``contiguous``."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from ember import dtypes
from ember._tensor.core import TensorCore, _make, device
from ember.ops import elementwise as E

if TYPE_CHECKING:
    from ember._tensor import Tensor
    from ember._tensor.core import TensorCore as _TensorBase
else:
    _TensorBase = object  # the mixins are typed as Tensors, built as plain classes

# PyTorch's legacy tensor-type names, returned by ``Tensor.type()``
_TYPE_NAMES = {
    "float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor", "int64": "LongTensor",
    "int32": "IntTensor", "int16": "ShortTensor", "int8": "CharTensor", "uint8": "ByteTensor",
    "bool": "BoolTensor",
}


class ConversionMixin(_TensorBase):
    """dtype and layout conversion on Tensors."""

    __slots__ = ()

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """Convert to a dtype (and/or device); ``to(other)`` takes other's dtype.

        Returns this tensor itself when nothing changes, as PyTorch does. A float
        tensor that requires grad stays in the graph (the cast is differentiable).
        """
        dtype = kwargs.get("dtype")
        for a in args:
            if isinstance(a, TensorCore):
                dtype = a.dtype
            elif isinstance(a, dtypes.dtype):
                dtype = a
            elif isinstance(a, str) and a in dtypes.BY_NAME:
                dtype = dtypes.BY_NAME[a]
            else:
                device(a)  # validates: only devices ember has
        if kwargs.get("device") is not None:
            device(kwargs["device"])
        if dtype is None:
            return self  # type: ignore[return-value]
        target = dtypes.to_dtype(dtype)
        if target is self._buf.dtype:  # type: ignore[attr-defined]
            return self.clone() if kwargs.get("copy") else self  # type: ignore[attr-defined, return-value]
        if self.requires_grad and not target.is_floating_point:  # type: ignore[attr-defined]
            return _make(self._buf.cast(target), None)  # type: ignore[attr-defined]
        return E.Cast.apply(self, dtype=target)  # type: ignore[arg-type]

    def type(self, dtype: Any = None) -> Any:
        """Return the type name (``'ember.FloatTensor'``), or with a dtype, ``to(dtype)``."""
        if dtype is None:
            return f"ember.{_TYPE_NAMES[self._buf.dtype.name]}"  # type: ignore[attr-defined]
        return self.to(dtypes.to_dtype(dtype))

    def type_as(self, other: Tensor) -> Tensor:
        """Return this tensor converted to ``other``'s dtype."""
        return self.to(other.dtype)

    def float(self) -> Tensor:
        """Return this tensor as float32 (``self.to(ember.float32)``)."""
        return self.to(dtypes.float32)

    def double(self) -> Tensor:
        """Return this tensor as float64."""
        return self.to(dtypes.float64)

    def half(self) -> Tensor:
        """Return this tensor as float16."""
        return self.to(dtypes.float16)

    def long(self) -> Tensor:
        """Return this tensor as int64."""
        return self.to(dtypes.int64)

    def int(self) -> Tensor:
        """Return this tensor as int32."""
        return self.to(dtypes.int32)

    def short(self) -> Tensor:
        """Return this tensor as int16."""
        return self.to(dtypes.int16)

    def char(self) -> Tensor:
        """Return this tensor as int8."""
        return self.to(dtypes.int8)

    def byte(self) -> Tensor:
        """Return this tensor as uint8."""
        return self.to(dtypes.uint8)

    def bool(self) -> Tensor:
        """Return this tensor as bool (non-zero is True)."""
        return self.to(dtypes.bool_)

    def cpu(self) -> Tensor:
        """Return this tensor itself: ember's NumPy backend keeps everything on the CPU."""
        return self  # type: ignore[return-value]

    # ---- new tensors like this one (its dtype unless told otherwise) -----------------------
    def _new(self, make: str, *args: Any, dtype: Any = None, device: Any = None,
             requires_grad: builtins.bool = False) -> Tensor:
        from ember._tensor import creation

        d = self._buf.dtype if dtype is None else dtype  # type: ignore[attr-defined]
        return getattr(creation, make)(*args, dtype=d, device=device, requires_grad=requires_grad)

    def new_zeros(
        self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: builtins.bool = False
    ) -> Tensor:
        """Return a tensor of zeros of ``size``, with this tensor's dtype unless ``dtype`` is given."""
        return self._new("zeros", *size, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_ones(
        self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: builtins.bool = False
    ) -> Tensor:
        """Return a tensor of ones of ``size``, with this tensor's dtype unless ``dtype`` is given."""
        return self._new("ones", *size, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_empty(
        self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: builtins.bool = False
    ) -> Tensor:
        """Return an uninitialised tensor of ``size``, with this tensor's dtype unless ``dtype`` is given."""
        return self._new("empty", *size, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_full(self, size: Any, fill_value: Any, dtype: Any = None, device: Any = None,
                 requires_grad: builtins.bool = False) -> Tensor:
        """Return a tensor of ``size`` filled with ``fill_value``, with this tensor's dtype unless told."""
        return self._new("full", size, fill_value, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_tensor(
        self, data: Any, dtype: Any = None, device: Any = None, requires_grad: builtins.bool = False
    ) -> Tensor:
        """Return a copy of ``data`` as a tensor with this tensor's dtype unless ``dtype`` is given."""
        return self._new("tensor", data, dtype=dtype, device=device, requires_grad=requires_grad)

    def clone(self) -> Tensor:
        """Return a copy with its own memory; gradients flow back to this tensor."""
        return E.Clone.apply(self)  # type: ignore[arg-type]

    def contiguous(self) -> Tensor:
        """Return a tensor with row-major memory: this one if it already is, else a copy."""
        if self._buf.is_contiguous():  # type: ignore[attr-defined]
            return self  # type: ignore[return-value]
        return E.Contiguous.apply(self)  # type: ignore[arg-type]

    def is_contiguous(self) -> builtins.bool:
        """Return True if the elements are stored in row-major order without gaps."""
        return self._buf.is_contiguous()  # type: ignore[attr-defined]

    def stride(self, dim: builtins.int | None = None) -> Any:
        """The step in memory, in elements, between neighbours along each dim (or along ``dim``)."""
        strides = self._buf.layout()[0]  # type: ignore[attr-defined]
        if dim is None:
            return strides
        from ember._tensor.core import _norm_dim

        return strides[_norm_dim(dim, max(len(strides), 1), "stride")] if strides else 1

    def storage_offset(self) -> builtins.int:
        """The position of the first element, in elements, in the memory this tensor looks at."""
        return builtins.int(self._buf.layout()[1])  # type: ignore[attr-defined]
