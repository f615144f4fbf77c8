"""Turn a user's ``x[index]`` into a backend index, checking everything first (PyTorch's rules).

An index is a tuple of ints, slices (positive steps), ``None``, one ``...``, integer
tensors or lists (advanced indices, broadcast together) and bool masks. The result
is a ``Plan``: the backend index tuple, PyTorch's result shape, and whether the
index is advanced (copies; its backward must accumulate repeats).

PyTorch applies integer indices before advanced ones, NumPy counts them as advanced;
the two place the advanced result axes differently only when an int sits outside the
run of index tensors. Such ints become length-1 slices here, and the plan's ``shape``
drops their axes again, so the backend always computes PyTorch's layout.
"""

from __future__ import annotations

from typing import Any

from ember import dtypes
from ember._tensor.core import TensorCore
from ember.backend import DEFAULT as _Buf
from ember.buffer import Buffer

_INDEX_DTYPES = (dtypes.int64, dtypes.int32)
_MASK_DTYPES = (dtypes.bool_, dtypes.uint8)

# kinds of index entries
_INT, _SLICE, _NONE, _ELL, _ARR, _MASK = range(6)


class Plan:
    """A checked index: ``index`` for ``Buffer.getitem``, PyTorch's result ``shape``.

    Attributes:
        index: the backend index tuple (ints, slices, None, Buffers).
        shape: the result's shape as PyTorch gives it.
        np_shape: the shape ``getitem(index)`` returns (differs from ``shape`` only by
            size-1 axes of ints turned into slices).
        advanced: whether integer/bool arrays take part (the result is a copy).
        accumulate: whether positions can repeat (integer arrays), so that writing a
            gradient back must add instead of assign.
    """

    __slots__ = ("index", "shape", "np_shape", "advanced", "accumulate")

    def __init__(self, index: tuple, shape: tuple[int, ...], np_shape: tuple[int, ...],
                 advanced: bool, accumulate: bool) -> None:
        self.index, self.shape, self.np_shape = index, shape, np_shape
        self.advanced, self.accumulate = advanced, accumulate


def _bad_index(op: str, what: str) -> IndexError:
    return IndexError(
        f"{op}: only integers, slices (`:`), ellipsis (`...`), None and long, int or bool tensors are "
        f"valid indices (got {what})"
    )


def _tensor_entry(buf: Buffer, op: str) -> tuple[int, Buffer]:
    d = buf.dtype
    if d in _INDEX_DTYPES:
        return _ARR, buf
    if d in _MASK_DTYPES:
        return _MASK, buf if d is dtypes.bool_ else buf.cast(dtypes.bool_)
    raise IndexError(f"{op}: tensors used as indices must be long, int, byte or bool tensors, got {d!r}")


def _entries(index: Any, op: str) -> list[tuple[int, Any]]:
    """Classify each entry of the index as (kind, value)."""
    if index.__class__ is not tuple:
        if isinstance(index, list) and any(
            e is None or e is Ellipsis or isinstance(e, (slice, TensorCore)) for e in index
        ):
            index = tuple(index)  # legacy: a list holding slices or tensors means a tuple
        else:
            index = (index,)
    out: list[tuple[int, Any]] = []
    for e in index:
        cls = e.__class__
        if cls is int:
            out.append((_INT, e))
        elif cls is slice:
            out.append((_SLICE, e))
        elif e is None:
            out.append((_NONE, None))
        elif e is Ellipsis:
            out.append((_ELL, None))
        elif isinstance(e, TensorCore):
            out.append(_tensor_entry(e._buf, op))
        elif cls is bool:
            out.append((_MASK, _Buf.from_data(e)))
        elif isinstance(e, (list, tuple)) or hasattr(e, "__array__"):
            buf = _Buf.from_data(e)
            if buf.size == 0:
                buf = buf.cast(dtypes.int64)  # [] holds no dtype; PyTorch reads it as long
            out.append(_tensor_entry(buf, op))
        elif hasattr(e, "__index__") and not isinstance(e, float):
            out.append((_INT, e.__index__()))
        else:
            raise _bad_index(op, type(e).__name__)
    return out


def _expand_ellipsis(entries: list[tuple[int, Any]], ndim: int, op: str) -> list[tuple[int, Any]]:
    consumed = 0
    ells = 0
    for kind, v in entries:
        if kind in (_INT, _SLICE, _ARR):
            consumed += 1
        elif kind == _MASK:
            consumed += v.ndim
        elif kind == _ELL:
            ells += 1
    if ells > 1:
        raise IndexError(f"{op}: an index can only have a single ellipsis ('...')")
    if consumed > ndim:
        if ndim == 0:
            raise IndexError(f"{op}: invalid index of a 0-dim tensor; use tensor.item() to get its value")
        raise IndexError(f"{op}: too many indices for tensor of dimension {ndim}")
    if not ells:
        return entries  # the dims not indexed are kept whole (the plan's "tail")
    k = next(i for i, (kind, _) in enumerate(entries) if kind == _ELL)
    return entries[:k] + [(_SLICE, slice(None))] * (ndim - consumed) + entries[k + 1 :]


def _out_of_bounds(op: str, i: int, dim: int, size: int) -> IndexError:
    return IndexError(f"{op}: index {i} is out of bounds for dimension {dim} with size {size}")


def _slice_len(s: slice, size: int, op: str) -> tuple[slice, int]:
    step = s.step
    if step is not None:
        step = step.__index__()
        if step <= 0:
            raise ValueError(f"{op}: step must be greater than zero, got {step}")
    start, stop, step = s.indices(size)
    return slice(start, stop, step), len(range(start, stop, step))


def _broadcast(shapes: list[tuple[int, ...]], op: str) -> tuple[int, ...]:
    n = max((len(s) for s in shapes), default=0)
    out = [1] * n
    for s in shapes:
        for i, m in enumerate(s, n - len(s)):
            if out[i] == 1:
                out[i] = m
            elif m != 1 and m != out[i]:
                listed = ", ".join(str(list(x)) for x in shapes)
                raise IndexError(
                    f"{op}: shape mismatch: indexing tensors could not be broadcast together "
                    f"with shapes {listed}"
                )
    return tuple(out)


def plan_index(shape: tuple[int, ...], index: Any, op: str) -> Plan:
    """Check ``index`` against a tensor of ``shape`` and build its Plan (nothing runs yet)."""
    entries = _expand_ellipsis(_entries(index, op), len(shape), op)
    adv = [i for i, (kind, _) in enumerate(entries) if kind >= _ARR]
    first, last = (adv[0], adv[-1]) if adv else (len(entries), -1)
    # Pass 1: check bounds and build the backend index; record each entry's output axes.
    items: list[Any] = []
    full: list[Any] = []  # per item: the slice that would take its whole dim (None if not a slice)
    basic: list[tuple[int, int, bool]] = []  # (entry position, size, squeeze) of basic output axes
    arrays: list[tuple[int, ...]] = []  # shapes that broadcast into the advanced block
    lone_mask = len(adv) == 1 and entries[first][0] == _MASK
    d = 0
    for pos, (kind, v) in enumerate(entries):
        if kind == _INT:
            size = shape[d]
            if not -size <= v < size:
                raise _out_of_bounds(op, v, d, size)
            if first < pos < last:
                items.append(v)  # an int inside the run of arrays: advanced in NumPy and PyTorch alike
                full.append(None)
                arrays.append(())
            elif adv:
                items.append(slice(v % size, v % size + 1))  # applied before the arrays, as PyTorch does
                full.append(None)
                basic.append((pos, 1, True))
            else:
                items.append(v)
                full.append(None)
            d += 1
        elif kind == _SLICE:
            s, n = _slice_len(v, shape[d], op)
            items.append(s)
            full.append(slice(0, shape[d], 1))
            basic.append((pos, n, False))
            d += 1
        elif kind == _NONE:
            items.append(None)
            full.append(None)
            basic.append((pos, 1, False))
        elif kind == _ARR:
            _check_array_bounds(v, d, shape[d], op)
            items.append(v)
            full.append(None)
            arrays.append(v.shape)
            d += 1
        else:  # a bool mask covers as many axes as it has
            k = v.ndim
            for j in range(k):
                if v.shape[j] != shape[d + j]:
                    raise IndexError(
                        f"{op}: the shape of the mask {list(v.shape)} at index {j} does not match the shape "
                        f"of the indexed tensor {list(shape)} at index {d + j}"
                    )
            if lone_mask:
                items.append(v)
                full.append(None)
                arrays.append((int(v.sum().item()),))
            elif k == 0:
                raise IndexError(f"{op}: a 0-d bool index cannot be combined with index tensors")
            else:  # with other index tensors a mask means its nonzero coordinates
                nz = v.nonzero()
                for j in range(k):
                    items.append(nz.getitem((slice(None), j)))
                    full.append(None)
                arrays.append((nz.shape[0],))
            d += k
    tail = shape[d:]
    if not adv:
        out = tuple(n for _, n, _ in basic) + tail
        return Plan(tuple(items) + (Ellipsis,), out, out, False, False)
    block = _broadcast(arrays, op)
    adjacent = not any(first < pos < last for pos, _, _ in basic)
    where = sum(1 for pos, _, _ in basic if pos < first) if adjacent else 0
    axes = [(n, sq) for _, n, sq in basic]
    axes[where:where] = [(n, False) for n in block]
    axes += [(n, False) for n in tail]
    np_shape = tuple(n for n, _ in axes)
    torch_shape = tuple(n for n, sq in axes if not sq)
    while items and items[-1].__class__ is slice and items[-1] == full[-1]:
        items.pop()  # whole trailing dims need no index (and keep the backend's fast paths)
        full.pop()
    return Plan(tuple(items), torch_shape, np_shape, True, not lone_mask)


def _check_array_bounds(buf: Buffer, dim: int, size: int, op: str) -> None:
    if buf.size == 0:
        return
    lo, hi = buf.min().item(), buf.max().item()
    if hi >= size:
        raise _out_of_bounds(op, hi, dim, size)
    if lo < -size:
        raise _out_of_bounds(op, lo, dim, size)


def basic_index(shape: tuple[int, ...], index: Any) -> tuple | None:
    """The backend index for a valid index of only ints, slices, None and one ``...`` (the hot path).

    Returns None for anything else, or for any problem, so that ``plan_index`` handles
    it and raises the proper error.
    """
    if index.__class__ is not tuple:
        index = (index,)
    consumed = 0
    ell = -1
    for k, e in enumerate(index):
        c = e.__class__
        if c is int or c is slice:
            consumed += 1
        elif e is Ellipsis:
            if ell >= 0:
                return None
            ell = k
        elif e is not None:
            return None
    nd = len(shape)
    if consumed > nd:
        return None
    d = 0
    for k, e in enumerate(index):
        c = e.__class__
        if c is int:
            n = shape[d]
            if not -n <= e < n:
                return None
            d += 1
        elif c is slice:
            step = e.step
            if step is not None and (step.__class__ is not int or step <= 0):
                return None
            d += 1
        elif k == ell:
            d += nd - consumed
    return index if ell >= 0 else index + (Ellipsis,)
