"""Collation: turn a list of samples into one batch, as PyTorch's ``default_collate`` does.

Tensors and NumPy arrays are stacked along a new first dimension; Python ints,
floats and bools become int64, float64 and bool tensors (float64, as in PyTorch);
strings stay a list; tuples, lists, named tuples and dicts are collated field by
field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ember import dtypes
from ember._tensor.core import TensorCore, _make

if TYPE_CHECKING:
    from ember._tensor import Tensor

__all__ = ["default_collate", "default_convert"]

_NUMERIC_KINDS = "biuf"  # NumPy dtype kinds ember can hold: bool, int, uint, float


def _is_numpy(x: Any) -> bool:
    return type(x).__module__ == "numpy"


def _stack(batch: Sequence[Tensor]) -> Tensor:
    first = tuple(batch[0].shape)
    for i, t in enumerate(batch):
        if not isinstance(t, TensorCore):
            raise TypeError(f"default_collate: entry 0 of the batch is a Tensor but entry {i} is a "
                            f"{type(t).__name__}")
        if tuple(t.shape) != first:
            raise RuntimeError(f"default_collate: stack expects each tensor to be equal size, but got "
                               f"{list(first)} at entry 0 and {list(t.shape)} at entry {i}")
    if any(t.requires_grad for t in batch):
        import ember

        return ember.stack(batch, 0)  # keep the graph
    buf = batch[0]._buf
    return _make(type(buf).stack([t._buf for t in batch], 0), None)


def _numpy_to_tensor(x: Any, op: str) -> Tensor:
    import ember

    if x.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"{op}: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
                        f"found a numpy value of dtype {x.dtype}")
    return ember.tensor(x)


def default_collate(batch: Sequence[Any]) -> Any:
    """Collate a list of samples into a batch (the DataLoader's default ``collate_fn``).

    Example:
        >>> from ember.utils.data import default_collate
        >>> default_collate([(1, 2.0), (3, 4.0)])
        [tensor([1, 3]), tensor([2., 4.], dtype=ember.float64)]
    """
    import ember

    elem = batch[0]
    if isinstance(elem, TensorCore):
        return _stack(batch)
    if _is_numpy(elem) and hasattr(elem, "dtype"):
        return _stack([_numpy_to_tensor(x, "default_collate") for x in batch])
    if isinstance(elem, bool):
        return ember.tensor(batch, dtype=dtypes.bool_)
    if isinstance(elem, int):
        return ember.tensor(batch, dtype=dtypes.int64)
    if isinstance(elem, float):
        return ember.tensor(batch, dtype=dtypes.float64)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, Mapping):
        out = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(out)  # type: ignore[call-arg]
        except TypeError:
            return out
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, Sequence):
        size = len(elem)
        for i, s in enumerate(batch):
            if len(s) != size:
                raise RuntimeError(f"default_collate: each element in list of batch should be of equal size; "
                                   f"entry 0 has {size} fields, entry {i} has {len(s)}")
        fields = [default_collate(s) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return fields  # a list, as PyTorch returns for tuples
        try:
            return type(elem)(fields)  # type: ignore[call-arg]
        except TypeError:
            return fields
    raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
                    f"found {type(elem).__name__}")


def default_convert(data: Any) -> Any:
    """Turn NumPy arrays (also inside tuples, lists and dicts) into tensors; leave the rest.

    The ``collate_fn`` used when automatic batching is off (``batch_size=None``).
    """
    import ember

    if isinstance(data, TensorCore):
        return data
    if _is_numpy(data) and hasattr(data, "dtype"):
        return ember.from_numpy(data) if data.dtype.kind in _NUMERIC_KINDS else data
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, Mapping):
        out = {k: default_convert(v) for k, v in data.items()}
        try:
            return type(data)(out)  # type: ignore[call-arg]
        except TypeError:
            return out
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, Sequence):
        try:
            return type(data)([default_convert(d) for d in data])  # type: ignore[call-arg]
        except TypeError:
            return [default_convert(d) for d in data]
    return data
