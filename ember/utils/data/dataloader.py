"""DataLoader: iterate over a dataset in (shuffled) batches, as PyTorch's DataLoader does.

Loading runs in the calling process: ``num_workers``, ``pin_memory`` and the other
worker options are accepted for compatibility and have no effect. When the dataset
offers ``_batch_gatherer`` (TensorDataset, a Subset of one, MNIST) and the default
collate is in effect, each batch is one gather per tensor instead of per-sample
``__getitem__`` calls and a stack: the same result, many times faster.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ember import dtypes
from ember.backend import DEFAULT as _Buf
from ember.buffer import Buffer
from ember.utils.data.collate import default_collate, default_convert
from ember.utils.data.dataset import IterableDataset, check_indices
from ember.utils.data.sampler import BatchSampler, RandomSampler, SequentialSampler, as_generator

__all__ = ["DataLoader"]


class DataLoader:
    """Combine a dataset and a sampler into an iterable over batches.

    Args:
        dataset: a map-style dataset (``__getitem__``/``__len__``) or an IterableDataset.
        batch_size: samples per batch; ``None`` turns automatic batching off.
        shuffle: reshuffle the indices every epoch (from ``generator``, else the global
            generator that ``ember.manual_seed`` seeds).
        sampler: the order of indices; excludes ``shuffle``.
        batch_sampler: yields lists of indices; excludes batch_size, shuffle, sampler, drop_last.
        collate_fn: merges a list of samples into a batch (default: ``default_collate``).
        drop_last: drop the last batch if it is smaller than ``batch_size``.
        generator: an ``ember.Generator`` (or an int seed) for the shuffling.

    Example:
        >>> import ember
        >>> from ember.utils.data import DataLoader, TensorDataset
        >>> ds = TensorDataset(ember.arange(5), ember.arange(5) * 10)
        >>> [x.tolist() for x, _ in DataLoader(ds, batch_size=2)]
        [[0, 1], [2, 3], [4]]
    """

    def __init__(
        self, dataset: Any, batch_size: int | None = 1, shuffle: bool | None = None, sampler: Any = None,
        batch_sampler: Any = None, num_workers: int = 0, collate_fn: Callable[[list], Any] | None = None,
        pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None, multiprocessing_context: Any = None,
        generator: Any = None, *, prefetch_factor: int | None = None, persistent_workers: bool = False,
        pin_memory_device: str = "", in_order: bool = True,
    ) -> None:
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers option should be a non-negative int, got "
                             f"{num_workers!r}; use num_workers=0 to disable multiprocessing")
        if timeout < 0:
            raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout!r}")
        if shuffle is not None and not isinstance(shuffle, bool):
            raise TypeError(f"DataLoader: shuffle should be a bool, got {type(shuffle).__name__}")
        if not isinstance(drop_last, bool):
            raise TypeError(f"DataLoader: drop_last should be a bool, got {type(drop_last).__name__}")
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)
                                       or batch_size <= 0):
            raise ValueError(f"DataLoader: batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size!r}")
        generator = as_generator(generator, "DataLoader")
        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            for name, value in (("shuffle", shuffle), ("sampler", sampler), ("batch_sampler", batch_sampler)):
                if value not in (None, False):
                    raise ValueError(f"DataLoader: with an IterableDataset, expected unspecified {name} "
                                     f"option, but got {name}={value!r}")
        elif sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
        elif batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if not iterable and sampler is None and not hasattr(dataset, "__len__"):
            raise TypeError(f"DataLoader: the dataset ({type(dataset).__name__}) has no __len__; "
                            "give it one, or pass a sampler")
        if not iterable and not hasattr(dataset, "__getitem__"):
            raise TypeError(f"DataLoader: the dataset ({type(dataset).__name__}) has no __getitem__; "
                            "a map-style dataset needs one (or subclass IterableDataset)")

        if not iterable and sampler is None:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if not iterable and batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self._default_collate = collate_fn is None
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None or (
            isinstance(self.dataset, IterableDataset) and self.batch_size is not None
        )

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)  # type: ignore[arg-type]  # TypeError when the stream has no length, as in PyTorch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)

    def __iter__(self) -> Iterator[Any]:
        if isinstance(self.dataset, IterableDataset):
            return self._iter_stream()
        if self.batch_sampler is None:
            return (self.collate_fn(self.dataset[i]) for i in self.sampler)
        gather = self._gatherer()
        if gather is not None:
            if type(self.batch_sampler) is BatchSampler:
                epoch = self.batch_sampler.sampler
                idx = epoch._epoch_indices() if hasattr(epoch, "_epoch_indices") else None
                if idx is not None:
                    return self._iter_fast(gather, idx)
            return self._iter_gather(gather)
        return self._iter_samples()

    def _gatherer(self) -> Callable[[slice | Buffer], Any] | None:
        if not self._default_collate:
            return None
        make = getattr(self.dataset, "_batch_gatherer", None)
        return make() if make is not None else None

    def _iter_fast(self, gather: Callable[[slice | Buffer], Any], idx: range | Buffer) -> Iterator[Any]:
        """Whole-epoch indices are known: slice them batch by batch, one gather per batch."""
        n, bs = len(idx) if isinstance(idx, range) else idx.shape[0], self.batch_sampler.batch_size
        stop = n - n % bs if self.batch_sampler.drop_last else n
        for start in range(0, stop, bs):
            end = min(start + bs, n)
            yield gather(slice(start, end) if isinstance(idx, range) else idx.getitem(slice(start, end)))

    def _iter_gather(self, gather: Callable[[slice | Buffer], Any]) -> Iterator[Any]:
        """A custom sampler yields index lists: one gather per batch after a range check."""
        n = len(self.dataset)
        for batch in self.batch_sampler:
            try:
                idx = _Buf.from_data(list(batch), dtypes.int64)
            except (TypeError, ValueError, OverflowError):
                raise TypeError(
                    f"DataLoader: the batch sampler must yield lists of ints, got {batch!r}"
                ) from None
            check_indices(idx, n, "DataLoader")
            yield gather(idx)

    def _iter_samples(self) -> Iterator[Any]:
        getitems = getattr(self.dataset, "__getitems__", None)
        for batch in self.batch_sampler:
            samples = getitems(batch) if getitems is not None else [self.dataset[i] for i in batch]
            yield self.collate_fn(samples)

    def _iter_stream(self) -> Iterator[Any]:
        if self.batch_size is None:
            for sample in self.dataset:
                yield self.collate_fn(sample)
            return
        batch: list[Any] = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)
