"""Datasets: ``Dataset``, ``TensorDataset``, ``Subset``, ``ConcatDataset`` and ``random_split``.

A map-style dataset has ``__getitem__(i)`` and ``__len__``. A dataset may also offer
``_batch_gatherer()``: a function that returns a whole collated batch for a slice or
an index Buffer in one gather per tensor. The DataLoader uses it (when the default
collate is in effect) instead of fetching and stacking samples one by one;
``TensorDataset``, ``Subset`` of one, and ``ember.datasets.MNIST`` offer it.
"""

from __future__ import annotations

import bisect
import math
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ember import dtypes
from ember._tensor.core import TensorCore, _make
from ember.backend import DEFAULT as _Buf
from ember.buffer import Buffer
from ember.utils.data.sampler import as_generator, resolve_rng

if TYPE_CHECKING:
    from ember._tensor import Tensor

__all__ = ["ConcatDataset", "Dataset", "IterableDataset", "Subset", "TensorDataset", "random_split"]

Gatherer = Callable[[slice | Buffer], Any]


class Dataset:
    """Base class of map-style datasets: subclasses define ``__getitem__`` and ``__len__``."""

    def __getitem__(self, index: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """Base class of datasets read as a stream: subclasses define ``__iter__``."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


def _index(index: Any, n: int, op: str) -> int:
    """Normalise an integer index, raising IndexError past the end (this ends ``for x in ds``)."""
    i = operator.index(index)
    if not -n <= i < n:
        raise IndexError(f"{op}: index {i} is out of range for a dataset of length {n}")
    return i


def check_indices(idx: Buffer, n: int, op: str) -> None:
    """Raise IndexError unless every entry of the int Buffer ``idx`` is a valid index for length ``n``."""
    if idx.shape[0] == 0:
        return
    lo, hi = idx.min().item(), idx.max().item()
    if lo < -n or hi >= n:
        bad = hi if hi >= n else lo
        raise IndexError(f"{op}: index {bad} is out of range for a dataset of length {n}")


class TensorDataset(Dataset):
    """Samples are the rows of tensors sharing their first dimension: ``ds[i] = (t[i] for t in tensors)``.

    Example:
        >>> import ember
        >>> ds = ember.utils.data.TensorDataset(ember.arange(3), ember.arange(3) * 10)
        >>> ds[1]
        (tensor(1), tensor(10))
    """

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor")
        for i, t in enumerate(tensors):
            if not isinstance(t, TensorCore):
                raise TypeError(f"TensorDataset: argument {i} is a {type(t).__name__}, not a Tensor")
            if t.ndim == 0:
                raise ValueError(
                    f"TensorDataset: tensor {i} is 0-d; every tensor needs a first (sample) dimension"
                )
        sizes = [t.shape[0] for t in tensors]
        if len(set(sizes)) > 1:
            shapes = ", ".join(str(tuple(t.shape)) for t in tensors)
            raise ValueError(f"TensorDataset: size mismatch between tensors: first dimensions {sizes} differ "
                             f"(shapes {shapes})")
        self.tensors = tuple(tensors)

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        if isinstance(index, TensorCore) and index.ndim != 0 or not hasattr(index, "__index__"):
            return tuple(t[index] for t in self.tensors)  # slices, masks, index lists: Tensor indexing
        i = _index(index, len(self), "TensorDataset")
        return tuple(t[i] if t.requires_grad else _make(t._buf.getitem(i), None) for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def _batch_gatherer(self) -> Gatherer | None:
        if any(t.requires_grad for t in self.tensors):
            return None  # the per-sample path keeps the graph
        bufs = [t._buf for t in self.tensors]

        def gather(idx: slice | Buffer) -> list[Tensor]:
            if idx.__class__ is slice:  # a slice is a view: copy, as stacking would
                return [_make(b.getitem(idx).copy(), None) for b in bufs]
            return [_make(b.getitem(idx), None) for b in bufs]

        return gather


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx: Any) -> Any:
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list[int]) -> list[Any]:
        inner = [self.indices[i] for i in indices]
        if hasattr(self.dataset, "__getitems__"):
            return self.dataset.__getitems__(inner)
        return [self.dataset[i] for i in inner]

    def __len__(self) -> int:
        return len(self.indices)

    def _batch_gatherer(self) -> Gatherer | None:
        make = getattr(self.dataset, "_batch_gatherer", None)
        inner = make() if make is not None else None
        if inner is None:
            return None
        if isinstance(self.indices, TensorCore):
            imap = self.indices._buf.cast(dtypes.int64)
        else:
            imap = _Buf.from_data(list(self.indices), dtypes.int64)
        check_indices(imap, len(self.dataset), "Subset")
        return lambda idx: inner(imap.getitem(idx))


class ConcatDataset(Dataset):
    """Several datasets one after another."""

    def __init__(self, datasets: Iterable[Any]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset: does not support IterableDataset")
        self.cumulative_sizes = []
        total = 0
        for d in self.datasets:
            total += len(d)
            self.cumulative_sizes.append(total)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int) -> Any:
        n = len(self)
        idx = operator.index(idx)
        if idx < 0:
            if -idx > n:
                raise ValueError(f"ConcatDataset: absolute value of index {idx} exceeds dataset length {n}")
            idx += n
        if idx >= n:
            raise IndexError(f"ConcatDataset: index {idx} is out of range for a dataset of length {n}")
        d = bisect.bisect_right(self.cumulative_sizes, idx)
        return self.datasets[d][idx - (self.cumulative_sizes[d - 1] if d else 0)]


def random_split(dataset: Any, lengths: Sequence[int | float], generator: Any = None) -> list[Subset]:
    """Split ``dataset`` at random into non-overlapping Subsets of the given lengths.

    ``lengths`` are counts that sum to ``len(dataset)``, or fractions that sum to 1
    (rounded down, the remainder handed out one by one from the first subset).

    Example:
        >>> import ember
        >>> train, val = ember.utils.data.random_split(range(10), [0.8, 0.2])
        >>> len(train), len(val)
        (8, 2)
    """
    n = len(dataset)
    sizes: list[Any] = list(lengths)
    gen = as_generator(generator, "random_split")
    total = sum(sizes)
    if math.isclose(total, 1) and total <= 1 and not all(isinstance(x, int) for x in sizes):
        for i, f in enumerate(sizes):
            if not 0 <= f <= 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1: {f}")
        counts = [math.floor(n * f) for f in sizes]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        sizes = counts
    for i, x in enumerate(sizes):
        if isinstance(x, bool) or not isinstance(x, int) or x < 0:
            raise ValueError(f"random_split: lengths must be non-negative ints or fractions summing to 1; "
                             f"got {x!r} at index {i}")
    if sum(sizes) != n:
        raise ValueError(f"random_split: sum of input lengths {sizes} ({sum(sizes)}) does not equal "
                         f"the length of the input dataset ({n})")
    perm = _Buf.permutation(n, dtypes.int64, resolve_rng(gen, "random_split")).tolist()
    out, offset = [], 0
    for length in sizes:
        out.append(Subset(dataset, perm[offset : offset + length]))
        offset += length
    return out
