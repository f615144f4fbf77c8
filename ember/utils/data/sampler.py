"""Random generators and samplers: which dataset indices a DataLoader visits, in which order.

``Generator`` is a random stream of its own (PyTorch's ``torch.Generator``): pass one
as ``generator=`` to make shuffling reproducible without touching the global
generator. Without one, shuffling draws from the global generator, so
``ember.manual_seed`` makes it deterministic too.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from typing import Any

from ember import dtypes
from ember.backend import DEFAULT as _Buf
from ember.backend import rng as _global_rng
from ember.buffer import Buffer

__all__ = [
    "BatchSampler",
    "Generator",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
]

# the seed of a fresh torch.Generator(), so an unseeded Generator is still reproducible
_DEFAULT_SEED = 67280421310721
_U64 = (1 << 64) - 1


class Generator:
    """A random number stream with its own state (PyTorch's ``torch.Generator``).

    Example:
        >>> import ember
        >>> g = ember.utils.data.Generator().manual_seed(0)
        >>> g.initial_seed()
        0
    """

    def __init__(self, device: Any = "cpu") -> None:
        from ember._tensor import device as _device

        self.device = _device(device)
        self._seed = _DEFAULT_SEED
        self._rng = _Buf.new_rng(_DEFAULT_SEED)

    def manual_seed(self, seed: int) -> Generator:
        """Reset the stream to start from ``seed``; returns the generator itself."""
        if isinstance(seed, bool) or not hasattr(seed, "__index__"):
            raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__} {seed!r}")
        self._seed = int(seed) & _U64  # negative seeds wrap as in PyTorch
        self._rng = _Buf.new_rng(self._seed)
        return self

    def seed(self) -> int:
        """Seed from the operating system's entropy and return the seed."""
        s = secrets.randbits(63)
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        """Return the seed this generator was created (or last seeded) with."""
        return self._seed

    def get_state(self) -> dict:
        """The stream's state (a JSON-friendly dict) for checkpoints."""
        return self._rng.get_state()

    def set_state(self, new_state: dict) -> Generator:
        """Restore a state saved by ``get_state()`` and return this generator."""
        self._rng.set_state(new_state)
        return self

    def __repr__(self) -> str:
        return f"<ember.Generator seed={self._seed}>"


def resolve_rng(generator: Any, op: str) -> Any:
    """The backend random stream behind ``generator`` (None means the global one)."""
    if generator is None:
        return _global_rng
    if isinstance(generator, Generator):
        return generator._rng
    raise TypeError(f"{op}: generator must be an ember.Generator or None, got {type(generator).__name__}")


def as_generator(generator: Any, op: str) -> Generator | None:
    """Accept a Generator, None, or an int seed (turned into a seeded Generator)."""
    if isinstance(generator, int) and not isinstance(generator, bool):
        return Generator().manual_seed(generator)
    resolve_rng(generator, op)
    return generator


def _positive_int(value: Any, name: str, op: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{op}: {name} should be a positive integer value, but got {name}={value!r}")
    return value


class Sampler:
    """Base class: an iterable over dataset indices (and usually a ``__len__``)."""

    def __init__(self, data_source: Any = None) -> None:
        pass

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def _epoch_indices(self) -> range | Buffer | None:
        """All indices of one epoch at once (the DataLoader's fast path); None if not offered."""
        return None


class SequentialSampler(Sampler):
    """Indices 0, 1, ..., len(data_source) - 1 in order."""

    def __init__(self, data_source: Any) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)

    def _epoch_indices(self) -> range:
        return range(len(self.data_source))


class RandomSampler(Sampler):
    """Indices in random order: a fresh permutation per epoch (or draws with replacement)."""

    def __init__(self, data_source: Any, replacement: bool = False, num_samples: int | None = None,
                 generator: Any = None) -> None:
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement should be a boolean value, but got {replacement!r}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = as_generator(generator, "RandomSampler")
        _positive_int(self.num_samples, "num_samples", "RandomSampler")

    @property
    def num_samples(self) -> int:
        """How many indices one epoch yields (the data set's length unless given)."""
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __len__(self) -> int:
        return self.num_samples

    def _epoch_indices(self) -> Buffer:
        n, k = len(self.data_source), self.num_samples
        gen = resolve_rng(self.generator, "RandomSampler")
        if n == 0:
            return _Buf.full((0,), 0, dtypes.int64)
        if self.replacement:
            return _Buf.randint(0, n, (k,), dtypes.int64, gen)
        # more samples than items: whole permutations back to back, then part of one more
        perms = [_Buf.permutation(n, dtypes.int64, gen) for _ in range(-(-k // n))]
        idx = perms[0] if len(perms) == 1 else _Buf.concatenate(perms, 0)
        return idx if idx.shape[0] == k else idx.getitem(slice(0, k))

    def __iter__(self) -> Iterator[int]:
        return iter(self._epoch_indices().tolist())


class SubsetRandomSampler(Sampler):
    """The given indices in random order, a fresh permutation per epoch."""

    def __init__(self, indices: Sequence[int], generator: Any = None) -> None:
        self.indices = indices
        self.generator = as_generator(generator, "SubsetRandomSampler")

    def __len__(self) -> int:
        return len(self.indices)

    def __iter__(self) -> Iterator[Any]:
        gen = resolve_rng(self.generator, "SubsetRandomSampler")
        for i in _Buf.permutation(len(self.indices), dtypes.int64, gen).tolist():
            yield self.indices[i]


class BatchSampler(Sampler):
    """Group the indices of ``sampler`` into lists of ``batch_size`` (the last may be shorter)."""

    def __init__(self, sampler: Any, batch_size: int, drop_last: bool) -> None:
        _positive_int(batch_size, "batch_size", "BatchSampler")
        if not isinstance(drop_last, bool):
            raise ValueError(  # noqa: TRY004 - PyTorch's type
                f"BatchSampler: drop_last should be a boolean value, but got drop_last={drop_last!r}"
            )
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[Any]]:
        batch: list[Any] = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
