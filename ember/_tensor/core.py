"""Layer 3 of 4: the Tensor's core: storage, attributes, conversion and autograd entry points.

The operator methods live in sibling mixin files, one per op family; each validates
its arguments and then calls one Function from ``ember.ops``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ember import dtypes
from ember.autograd.grad_mode import state as _grad_state
from ember.backend import DEFAULT as _Buf
from ember.buffer import Buffer

if TYPE_CHECKING:
    from ember._tensor import Tensor
    from ember.function import Function

_new = object.__new__


class device:  # noqa: N801 - PyTorch spells it lower-case
    """The place where a tensor's memory lives; ember's NumPy backend provides only ``'cpu'``."""

    __slots__ = ("type", "index")

    def __init__(self, type: str = "cpu", index: int | None = None) -> None:  # noqa: A002
        if isinstance(type, device):
            type, index = type.type, type.index
        if ":" in type:
            type, idx = type.split(":")
            index = int(idx)
        if type not in ("cpu",):
            raise RuntimeError(f"device: ember has no '{type}' backend on this machine (available: cpu)")
        self.type = type
        self.index = index

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and other.type == self.type

    def __hash__(self) -> int:
        return hash(self.type)

    def __repr__(self) -> str:
        return f"device(type='{self.type}')"

    def __str__(self) -> str:
        return self.type


_CPU = device("cpu")


class TensorCore:
    """Storage and bookkeeping shared by every Tensor method."""

    __slots__ = ("_buf", "requires_grad", "grad", "_ctx", "_hooks", "__weakref__")
    _buf: Buffer
    requires_grad: bool
    grad: Tensor | None
    _ctx: Function | None
    _hooks: list | None

    def __init__(self, *data: Any, dtype: dtypes.dtype | None = None, requires_grad: bool = False) -> None:
        """``Tensor(data)`` copies data as float32; ``Tensor(2, 3)`` makes an uninitialised 2x3."""
        if len(data) == 1 and not isinstance(data[0], int):
            src = data[0]
            if isinstance(src, TensorCore):
                src = src._buf.numpy()
            buf = _Buf.from_data(src, dtype or dtypes.get_default_dtype())
        elif all(isinstance(d, int) for d in data):
            # Tensor() with no arguments is empty of shape (0,), as in PyTorch
            buf = _Buf.full(tuple(data) or (0,), 0, dtype or dtypes.get_default_dtype())
        else:
            raise TypeError(f"Tensor(): expected data or integer sizes, got {data!r}")
        self._buf = buf
        self._ctx = None
        self.grad = None
        self._hooks = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ---- attributes ------------------------------------------------------------
    @property
    def shape(self) -> Size:
        """The size of each dimension, as an ``ember.Size`` (a tuple)."""
        return Size(self._buf.shape)

    def size(self, dim: int | None = None) -> Any:
        """Return the shape, or the length of dimension ``dim``."""
        shape = self._buf.shape
        if dim is None:
            return Size(shape)
        return shape[_norm_dim(dim, len(shape), "size")]

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return len(self._buf.shape)

    def dim(self) -> int:
        """Return the number of dimensions (also ``ndimension()``)."""
        return len(self._buf.shape)

    ndimension = dim

    @property
    def dtype(self) -> dtypes.dtype:
        """The element type, e.g. ``ember.float32``."""
        return self._buf.dtype

    @property
    def device(self) -> device:
        """The device the data lives on (always ``cpu`` with the NumPy backend)."""
        return _CPU

    @property
    def is_cuda(self) -> bool:
        """Whether the data lives on a CUDA GPU (always False with the NumPy backend)."""
        return False

    def numel(self) -> int:
        """Return the number of elements (also ``nelement()``)."""
        n = 1
        for s in self._buf.shape:
            n *= s
        return n

    nelement = numel

    def element_size(self) -> int:
        """Return the size of one element in bytes."""
        return self._buf.dtype.itemsize

    def is_floating_point(self) -> bool:
        """Return True if the dtype is a floating-point type."""
        return self._buf.dtype.is_floating_point

    @property
    def is_leaf(self) -> bool:
        """True for tensors the user created (no ``grad_fn``); only leaves get ``.grad`` by default."""
        return self._ctx is None

    @property
    def grad_fn(self) -> Function | None:
        """The Function that produced this tensor, or None for a leaf."""
        return self._ctx

    def __len__(self) -> int:
        shape = self._buf.shape
        if not shape:
            raise TypeError("len() of a 0-d tensor")
        return shape[0]

    def __hash__(self) -> int:
        return id(self)

    # ---- conversion ------------------------------------------------------------
    def item(self) -> Any:
        """Return the value of a one-element tensor as a Python number."""
        if self.numel() != 1:
            raise RuntimeError(
                f"item: a Tensor with {self.numel()} elements (shape {tuple(self.shape)}) cannot be "
                "converted to a Python scalar"
            )
        return self._buf.item()

    def tolist(self) -> Any:
        """Return the data as (nested) Python lists of numbers; a 0-d tensor gives a number."""
        return self._buf.tolist()

    def numpy(self) -> Any:
        """Return the data as a NumPy array sharing memory (the tensor must not require grad)."""
        if self.requires_grad:
            raise RuntimeError(
                "numpy: can't call numpy() on a Tensor that requires grad; use tensor.detach().numpy()"
            )
        return self._buf.numpy()

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        arr = self._buf.numpy()
        return arr.astype(dtype) if dtype is not None else arr

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._buf.dtype.is_floating_point or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self) -> bool:
        if self.numel() != 1:
            raise RuntimeError(
                f"bool: a Tensor with {self.numel()} elements is ambiguous as a boolean; "
                "use .any() or .all()"
            )
        return bool(self.item())

    def __repr__(self) -> str:
        from ember._tensor._format import tensor_repr

        return tensor_repr(self)

    __str__ = __repr__

    # ---- data and autograd -----------------------------------------------------
    @property
    def data(self) -> Tensor:
        """A tensor sharing this one's storage, outside autograd (in-place edits go through)."""
        return _make(self._buf, None)

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, TensorCore):
            raise TypeError(f"data: expected a Tensor, got {type(value).__name__}")
        self._buf = value._buf

    def detach(self) -> Tensor:
        """Return a tensor sharing storage that is cut off from the graph."""
        return _make(self._buf, None)

    def detach_(self) -> Tensor:
        """Cut this tensor off from the graph in place: it becomes a leaf that does not require grad."""
        self._ctx = None
        self.requires_grad = False
        return self  # type: ignore[return-value]

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place; only floating leaf tensors can require grad."""
        if requires_grad and not self._buf.dtype.is_floating_point:
            raise RuntimeError(
                f"requires_grad_: only tensors of floating point dtype can require gradients, "
                f"got {self._buf.dtype!r}"
            )
        if not requires_grad and self._ctx is not None:
            raise RuntimeError(
                "requires_grad_: you can only change requires_grad flags of leaf variables; "
                "use detach() to get a tensor that does not require grad"
            )
        self.requires_grad = bool(requires_grad)
        return self  # type: ignore[return-value]

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: can't retain_grad on a Tensor that has requires_grad=False")
        if self._ctx is None or getattr(self._ctx, "_retain_ref", None) is not None:
            return
        ref = weakref.ref(self)

        def keep(grad: Tensor) -> None:
            t = ref()
            if t is not None:
                g = grad._buf.copy()
                if t.grad is None:
                    t.grad = _make(g, None)
                else:
                    t.grad._buf.accumulate_(g)

        self._ctx._retain_ref = ref  # type: ignore[attr-defined]
        self._ctx.register_hook(keep)

    @property
    def retains_grad(self) -> bool:
        """Whether ``retain_grad()`` was called on this non-leaf tensor."""
        return self._ctx is not None and getattr(self._ctx, "_retain_ref", None) is not None

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> Any:
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new one."""
        if not self.requires_grad:
            raise RuntimeError(
                "register_hook: cannot register a hook on a tensor that doesn't require gradient"
            )
        if self._ctx is not None:
            self._ctx.register_hook(hook)
            hooks = self._ctx._hooks
            assert hooks is not None  # register_hook made the list
        else:
            if self._hooks is None:
                self._hooks = []
            self._hooks.append(hook)
            hooks = self._hooks
        return _HookHandle(hooks, hook)

    def backward(
        self, gradient: Tensor | None = None, retain_graph: bool | None = None, create_graph: bool = False,
        inputs: Any = None,
    ) -> None:
        """Accumulate the gradient of this tensor into the ``.grad`` of every leaf it depends on.

        Args:
            gradient: the gradient of some scalar with respect to this tensor; may be
                omitted only when this tensor has one element.
            retain_graph: keep the graph so backward can run through it again.
            create_graph: must be False: higher-order gradients are not supported.
            inputs: a tensor or a sequence of tensors: only their ``.grad`` is filled
                (leaves or not); by default every leaf the tensor depends on gets its
                gradient.

        Raises:
            RuntimeError: if the tensor does not require grad, if ``gradient`` is
                missing for a non-scalar or has the wrong shape, or if the graph was freed.
            NotImplementedError: if ``create_graph`` is True.
        """
        from ember.autograd.engine import run_backward

        if create_graph:
            raise NotImplementedError("backward: create_graph=True (higher-order gradients) is not supported")
        if not self.requires_grad:
            raise RuntimeError(
                "backward: element 0 of tensors does not require grad and does not have a grad_fn"
            )
        g = _root_grad(self, gradient, "backward")
        if inputs is not None:
            from ember.autograd.engine import backward_into

            ins = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
            backward_into([(self, g)], ins, bool(retain_graph), "backward")  # type: ignore[list-item]
            return
        run_backward([(self, g)], retain_graph=bool(retain_graph))  # type: ignore[list-item]


class _HookHandle:
    def __init__(self, hooks: list, hook: Any) -> None:
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _root_grad(t: TensorCore, gradient: Any, op: str) -> Buffer:
    if gradient is None:
        if t.numel() != 1:
            raise RuntimeError(
                f"{op}: grad can be implicitly created only for scalar outputs; got a tensor of "
                f"shape {tuple(t.shape)}; pass gradient= with that shape"
            )
        return _Buf.full(t._buf.shape, 1, t._buf.dtype)
    gbuf = gradient._buf if isinstance(gradient, TensorCore) else _Buf.from_data(gradient, t._buf.dtype)
    if tuple(gbuf.shape) != tuple(t._buf.shape):
        raise RuntimeError(
            f"{op}: gradient has shape {tuple(gbuf.shape)}, but the tensor has shape {tuple(t._buf.shape)}"
        )
    if gbuf.dtype is not t._buf.dtype:
        gbuf = gbuf.cast(t._buf.dtype)
    return gbuf.copy()


class Size(tuple):
    """A tensor's shape: a tuple of ints (PyTorch's ``torch.Size``)."""

    __slots__ = ()

    def numel(self) -> int:
        """Return the number of elements a tensor of this shape holds."""
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self) -> str:
        return f"ember.Size({list(self)})"


def _norm_dim(dim: int, ndim: int, op: str) -> int:
    """Turn a possibly negative ``dim`` into an index, with PyTorch's error when out of range."""
    lo, hi = (-1, 0) if ndim == 0 else (-ndim, ndim - 1)
    if not isinstance(dim, int) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    if dim < lo or dim > hi:
        raise IndexError(
            f"{op}: dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})"
        )
    return dim % ndim if ndim else 0


def _make(buf: Buffer, ctx: Function | None) -> Tensor:
    """Wrap a Buffer into a Tensor without copying (the hot path of every operation)."""
    t = _new(_TensorClass)
    t._buf = buf
    t._ctx = ctx
    t.requires_grad = ctx is not None
    t.grad = None
    t._hooks = None
    return t


_TensorClass: Any = None  # set by ember._tensor


def grad_enabled() -> bool:
    return _grad_state.enabled
