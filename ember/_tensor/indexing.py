"""Tensor methods for indexing: ``__getitem__``/``__setitem__``, gather, scatter, index_select, ...

``x[index]`` with ints, slices, None and ``...`` is a view (``BasicIndex``); with
integer tensors, lists or bool masks it is a gather (``AdvancedIndex``) whose backward
adds the gradient back, repeats summing. The index is checked in full by
``_index_plan.plan_index`` before anything runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ember import dtypes
from ember._tensor._index_plan import Plan, basic_index, plan_index
from ember._tensor.core import TensorCore, _make, _norm_dim
from ember._tensor.elementwise import _check_inplace, broadcast_shapes
from ember.autograd.grad_mode import state as _grad_state
from ember.backend import DEFAULT as _Buf
from ember.ops import indexing as I
from ember.ops import movement as M

if TYPE_CHECKING:
    from ember._tensor import Tensor
    from ember._tensor.core import TensorCore as _TensorBase
else:
    _TensorBase = object  # the mixins are typed as Tensors, built as plain classes

__all__ = [
    "gather", "scatter", "scatter_add", "index_select", "masked_select", "take_along_dim", "nonzero",
    "select", "unbind", "bincount",
]

_INDEX_DTYPES = (dtypes.int64, dtypes.int32)


def _check_index_dtype(index: Any, op: str) -> None:
    if not isinstance(index, TensorCore):
        raise TypeError(f"{op}: index must be a Tensor, got {type(index).__name__}")
    if index.dtype not in _INDEX_DTYPES:
        raise RuntimeError(f"{op}: expected dtype int32/int64 for index, got {index.dtype!r}")


def _check_along_dim(x: Any, dim: int, index: Any, src: Any, op: str) -> int:
    """Validate gather/scatter operands as PyTorch does; return the normalised dim."""
    _check_index_dtype(index, op)
    xs, ishape = x._buf.shape, index._buf.shape
    d = _norm_dim(dim, len(xs), op)
    if len(ishape) != len(xs) and not (len(xs) <= 1 and len(ishape) <= 1):
        raise RuntimeError(
            f"{op}: index tensor must have the same number of dimensions as input tensor, "
            f"got index {tuple(ishape)} and input {tuple(xs)}"
        )
    for a, (n, m) in enumerate(zip(ishape, xs)):
        if a != d and n > m:
            raise RuntimeError(
                f"{op}: size does not match at dimension {a}: expected index {list(ishape)} to be no larger "
                f"than self {list(xs)} apart from dimension {d}"
            )
    if src is not None:
        ss = src._buf.shape
        if len(ss) != len(ishape):
            raise RuntimeError(
                f"{op}: index tensor must have the same number of dimensions as src tensor, "
                f"got index {tuple(ishape)} and src {tuple(ss)}"
            )
        if any(n > m for n, m in zip(ishape, ss)):
            raise RuntimeError(f"{op}: expected index {list(ishape)} to be no larger than src {list(ss)}")
    if index.numel():
        size = xs[d] if xs else 1
        lo, hi = index._buf.min().item(), index._buf.max().item()
        if hi >= size or lo < 0:
            bad = hi if hi >= size else lo
            raise RuntimeError(f"{op}: index {bad} is out of bounds for dimension {d} with size {size}")
    return d


def _as_1d(t: Any) -> Any:
    """View a 0-d tensor as 1-d (gather and scatter treat a 0-d tensor as one element)."""
    return M.Reshape.apply(t, shape=(1,)) if t.ndim == 0 else t


class IndexingMixin(_TensorBase):
    __slots__ = ()

    # ---- x[index] ----------------------------------------------------------------------
    def __getitem__(self, index: Any) -> Tensor:
        """Index like PyTorch: ints, slices, None, ``...``, integer tensors/lists, bool masks."""
        shape = self._buf.shape  # type: ignore[attr-defined]
        key = basic_index(shape, index)
        if key is not None:  # ints, slices, None, ...: a view
            return I.BasicIndex.apply(self, index=key)
        plan = plan_index(shape, index, "getitem")
        if not plan.advanced:
            return I.BasicIndex.apply(self, index=plan.index)
        return I.AdvancedIndex.apply(self, index=plan.index, shape=plan.shape, accumulate=plan.accumulate)

    def __iter__(self) -> Any:
        """Iterate over the first dimension (each item a view)."""
        if not self._buf.shape:  # type: ignore[attr-defined]
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __setitem__(self, index: Any, value: Any) -> None:
        """Write ``value`` (a number or a tensor broadcast to ``self[index]``, cast to self's dtype)."""
        if self.requires_grad and self._ctx is None:  # type: ignore[attr-defined]
            _check_inplace(self, "setitem")  # type: ignore[arg-type]
        shape = self._buf.shape  # type: ignore[attr-defined]
        if value.__class__ in (int, float) and not self.requires_grad:  # type: ignore[attr-defined]
            key = basic_index(shape, index)
            if key is not None:  # the hot path: x[i, j] = 0.0
                _assign(self, value, key)
                return
        plan = plan_index(shape, index, "setitem")
        if isinstance(value, TensorCore):
            v = _value_for(value, plan, self.dtype)  # type: ignore[attr-defined]
        elif isinstance(value, (int, float, bool)):
            v = None
        else:
            raise TypeError(f"setitem: value must be a number or a Tensor, got {type(value).__name__}")
        if _grad_state.enabled and (self.requires_grad or (v is not None and v.requires_grad)):  # type: ignore[attr-defined]
            # record x[index] = v as a graph node; self becomes its output (same memory)
            if v is None:
                v = _make(_Buf.scalar(value, self.dtype), None)  # type: ignore[attr-defined]
            _check_writable(self)
            before = _make(self._buf, self._ctx)  # type: ignore[attr-defined]
            out = I.IndexPut.apply(before, v, index=plan.index)
            self._ctx = out._ctx
            self.requires_grad = True
            return
        _assign(self, value if v is None else v._buf, plan.index)

    # ---- gather / scatter ------------------------------------------------------------------
    def gather(self, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
        """Gather values along ``dim``: ``out[i][j] = self[index[i][j]][j]`` for ``dim=0``."""
        d = _check_along_dim(self, dim, index, None, "gather")
        if self.ndim == 0 or index.ndim == 0:  # type: ignore[attr-defined]
            out = I.Gather.apply(_as_1d(self), _as_1d(index), axis=0)
            return out.reshape(index.shape)  # type: ignore[attr-defined]
        return I.Gather.apply(self, index, axis=d)

    def scatter(self, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
                reduce: str | None = None) -> Tensor:
        """Copy of self with ``out[index[i][j]][j] = src[i][j]`` (dim 0), or ``= value``."""
        if src is None and value is None:
            raise TypeError("scatter: expected a src tensor or a value")
        if reduce is not None:
            if reduce != "add":
                raise ValueError(f"scatter: reduce must be 'add' here (as scatter_add), got {reduce!r}")
            if not isinstance(src, TensorCore):
                fill = src if value is None else value
                src = _make(_Buf.full(index._buf.shape, fill, self.dtype), None)  # type: ignore[attr-defined]
            return self.scatter_add(dim, index, src)
        if src is not None and not isinstance(src, TensorCore):
            src, value = None, src
        d = _check_along_dim(self, dim, index, src, "scatter")
        x, idx = _as_1d(self), _as_1d(index)
        if src is None:
            if not isinstance(value, (int, float, bool)):
                raise TypeError(f"scatter: value must be a number, got {type(value).__name__}")
            out = I.Scatter.apply(x, idx, axis=d, value=value)
        else:
            if src.dtype is not self.dtype:  # type: ignore[attr-defined]
                raise RuntimeError(
                    "scatter: expected self.dtype to be equal to src.dtype, "
                    f"got {self.dtype!r} and {src.dtype!r}"  # type: ignore[attr-defined]
                )
            out = I.Scatter.apply(x, idx, _as_1d(src), axis=d)
        return out if self.ndim else out.reshape(())  # type: ignore[attr-defined]

    def scatter_add(self, dim: int, index: Tensor, src: Tensor) -> Tensor:
        """Copy of self with ``src[i][j]`` added at ``out[index[i][j]][j]`` (dim 0); repeats add up."""
        if not isinstance(src, TensorCore):
            raise TypeError(f"scatter_add: src must be a Tensor, got {type(src).__name__}")
        d = _check_along_dim(self, dim, index, src, "scatter_add")
        if src.dtype is not self.dtype:  # type: ignore[attr-defined]
            raise RuntimeError(
                "scatter_add: expected self.dtype to be equal to src.dtype, "
                f"got {self.dtype!r} and {src.dtype!r}"  # type: ignore[attr-defined]
            )
        out = I.ScatterAdd.apply(_as_1d(self), _as_1d(index), _as_1d(src), axis=d)
        return out if self.ndim else out.reshape(())  # type: ignore[attr-defined]

    def index_select(self, dim: int, index: Tensor) -> Tensor:
        """Pick the entries ``index`` (1-d) along ``dim``."""
        _check_index_dtype(index, "index_select")
        if index.ndim > 1:  # type: ignore[attr-defined]
            raise IndexError(
                f"index_select: index is supposed to be a vector, got shape {tuple(index.shape)}"
            )
        nd = self.ndim  # type: ignore[attr-defined]
        d = _norm_dim(dim, nd, "index_select")
        size = self._buf.shape[d] if nd else 1  # type: ignore[attr-defined]
        if index.numel():
            lo, hi = index._buf.min().item(), index._buf.max().item()
            if hi >= size or lo < 0:
                bad = hi if hi >= size else lo
                raise IndexError(
                    f"index_select: index {bad} is out of range for dimension {d} with size {size}"
                )
        if nd == 0:
            if index.numel() != 1:
                raise IndexError(
                    f"index_select: index to a 0-d tensor can have only 1 value, got {index.numel()}"
                )
            return _as_1d(self)[index.reshape(-1)].reshape(())  # PyTorch keeps a 0-d input 0-d  # type: ignore[attr-defined]
        idx = index.reshape(-1) if index.ndim == 0 else index  # type: ignore[attr-defined]
        key = (slice(None),) * d + (idx._buf,)
        shape = self._buf.shape[:d] + idx.shape + self._buf.shape[d + 1 :]  # type: ignore[attr-defined]
        return I.AdvancedIndex.apply(self, index=key, shape=shape, accumulate=True)

    def masked_select(self, mask: Tensor) -> Tensor:
        """Return the entries where ``mask`` (broadcast with self) is True, as a 1-d tensor."""
        if not isinstance(mask, TensorCore) or mask.dtype is not dtypes.bool_:
            got = mask.dtype if isinstance(mask, TensorCore) else type(mask).__name__
            raise RuntimeError(f"masked_select: expected a bool tensor for mask, got {got!r}")
        shape = broadcast_shapes(self._buf.shape, mask._buf.shape, "masked_select")  # type: ignore[attr-defined]
        x = self.expand(shape)  # type: ignore[attr-defined]
        m = mask.expand(shape)
        if not shape:
            x, m = x.reshape(1), m.reshape(1)
        count = int(m._buf.sum().item())
        return I.AdvancedIndex.apply(x, index=(m._buf,), shape=(count,), accumulate=False)

    def take_along_dim(self, indices: Tensor, dim: int | None = None) -> Tensor:
        """Gather along ``dim`` with self and ``indices`` broadcast on the other dims (None: flattened)."""
        _check_index_dtype(indices, "take_along_dim")
        if dim is None:
            return self.reshape(-1).gather(0, indices.reshape(-1))  # type: ignore[attr-defined]
        nd = self.ndim  # type: ignore[attr-defined]
        if indices.ndim != nd:  # type: ignore[attr-defined]
            raise RuntimeError(
                f"take_along_dim: input and indices should have the same number of dimensions, "
                f"but got {nd} and {indices.ndim}"  # type: ignore[attr-defined]
            )
        d = _norm_dim(dim, nd, "take_along_dim")
        xs, ids = list(self._buf.shape), list(indices._buf.shape)  # type: ignore[attr-defined]
        xs[d] = ids[d] = 1
        both = broadcast_shapes(tuple(xs), tuple(ids), "take_along_dim")
        x_to = tuple(self.shape[d] if a == d else n for a, n in enumerate(both))  # type: ignore[attr-defined]
        i_to = tuple(indices.shape[d] if a == d else n for a, n in enumerate(both))  # type: ignore[attr-defined]
        return self.expand(x_to).gather(d, indices.expand(i_to))  # type: ignore[attr-defined]

    def nonzero(self, *, as_tuple: bool = False) -> Any:
        """Return the coordinates of the non-zero entries: an (n, ndim) int64 tensor, or one per dim."""
        coords = self._buf.nonzero()  # type: ignore[attr-defined]
        if not as_tuple:
            return _make(coords, None)
        if self.ndim == 0:  # type: ignore[attr-defined]
            return (_make(coords.reshape((-1,)), None),)
        return tuple(_make(coords.getitem((slice(None), j)), None) for j in range(self.ndim))  # type: ignore[attr-defined]

    def bincount(self, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
        """Count each value of a 1-d non-negative integer tensor (or sum ``weights`` per value)."""
        from ember._tensor.creation import zeros

        d = self._buf.dtype  # type: ignore[attr-defined]
        if self.ndim != 1 or d.is_floating_point or d is dtypes.bool_:  # type: ignore[attr-defined]
            raise RuntimeError(
                f"bincount: only supports 1-d non-negative integral inputs, got {d!r} of shape "
                f"{tuple(self.shape)}"  # type: ignore[attr-defined]
            )
        n = self.shape[0]  # type: ignore[attr-defined]
        if n and int(self.min().item()) < 0:  # type: ignore[attr-defined]
            raise RuntimeError(
                "bincount: only supports 1-d non-negative integral inputs; got a negative value"
            )
        if weights is not None and tuple(weights.shape) != (n,):
            raise RuntimeError(
                f"bincount: weights of shape {tuple(weights.shape)} should have the input's shape ({n},)"
            )
        size = max(int(self.max().item()) + 1 if n else 0, minlength)  # type: ignore[attr-defined]
        if weights is None:
            out_dtype, values = dtypes.int64, None
        else:
            out_dtype = weights.dtype if weights.dtype.is_floating_point else dtypes.float64
            values = weights.detach().to(out_dtype)
        out = zeros(size, dtype=out_dtype)
        from ember._tensor.creation import ones

        out._buf.index_add_(self._buf, (ones(n, dtype=out_dtype) if values is None else values)._buf)  # type: ignore[attr-defined]
        return out

    def argwhere(self) -> Tensor:
        """Return the coordinates of the non-zero entries as an (n, ndim) int64 tensor."""
        return self.nonzero()

    def select(self, dim: int, index: int) -> Tensor:
        """Return the slice at ``index`` along ``dim`` (that dimension removed; a view)."""
        nd = self.ndim  # type: ignore[attr-defined]
        if nd == 0:
            raise IndexError("select: cannot be applied to a 0-dim tensor")
        d = _norm_dim(dim, nd, "select")
        size = self._buf.shape[d]  # type: ignore[attr-defined]
        if not -size <= index < size:
            raise IndexError(
                f"select: index {index} out of range for tensor of size {list(self.shape)} at dimension {d}"  # type: ignore[attr-defined]
            )
        return I.BasicIndex.apply(self, index=(slice(None),) * d + (index, Ellipsis))

    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        """Split along ``dim`` into a tuple of views, one per entry, that dimension removed."""
        nd = self.ndim  # type: ignore[attr-defined]
        if nd == 0:
            raise IndexError("unbind: dimension specified as 0 but tensor has no dimensions")
        d = _norm_dim(dim, nd, "unbind")
        return tuple(self.select(d, i) for i in range(self._buf.shape[d]))  # type: ignore[attr-defined]


def _check_writable(t: Any) -> None:
    if not t._buf.is_writable():
        raise RuntimeError(
            f"setitem: the tensor of shape {tuple(t.shape)} is read-only here: some of its elements "
            "share one memory location (as after expand) or its memory is read-only; "
            "clone() it before writing"
        )


def _assign(t: Any, value: Any, key: tuple) -> None:
    _check_writable(t)
    t._buf.assign_(value, key)


def _value_for(value: Any, plan: Plan, dtype: dtypes.dtype) -> Any:
    """Cast and shape a tensor value so it broadcasts onto the backend's ``x[index]``."""
    v = value if value.dtype is dtype else value.to(dtype)
    vs, target = tuple(v._buf.shape), plan.shape
    while len(vs) > len(target) and vs[0] == 1:  # PyTorch drops leading size-1 dims of the value
        vs = vs[1:]
    try:
        if len(vs) > len(target):
            raise RuntimeError
        broadcast_shapes(vs, target, "setitem")
        if any(a != b and a != 1 for a, b in zip(vs[::-1], target[::-1])):
            raise RuntimeError
    except RuntimeError:
        raise RuntimeError(
            f"setitem: shape mismatch: value tensor of shape {list(value.shape)} cannot be broadcast to "
            f"indexing result of shape {list(target)}"
        ) from None
    if vs != tuple(v._buf.shape):
        v = v.reshape(vs)
    if plan.np_shape != target:
        v = v.expand(target).reshape(plan.np_shape)
    return v


def _fn(name: str) -> Any:
    def fn(input: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
        if not isinstance(input, TensorCore):
            raise TypeError(f"{name}: expected a Tensor, got {type(input).__name__}")
        return getattr(input, name)(*args, **kwargs)

    fn.__name__ = name
    fn.__doc__ = f"Functional form of ``Tensor.{name}``."
    return fn


for _n in __all__:
    globals()[_n] = _fn(_n)
