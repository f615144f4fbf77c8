"""Tests for ember.utils.data: datasets, samplers, collation, DataLoader, random_split.

API tests run twice, once on torch and once on ember (``lib`` is the module), which
proves the expectation itself is PyTorch's behaviour.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest
import torch
import torch.utils.data
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
import ember.utils.data as ed

LIBS = pytest.mark.parametrize("lib", [torch, ember], ids=["torch", "ember"])
Point = namedtuple("Point", "x y")


def tolist(batch):
    """Nested Python values of a batch, whichever library made it."""
    if isinstance(batch, (torch.Tensor, ember.Tensor)):
        return batch.tolist()
    if isinstance(batch, dict):
        return {k: tolist(v) for k, v in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(tolist(v) for v in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(tolist(v) for v in batch)
    return batch


def dtype_name(t) -> str:
    return str(t.dtype).split(".")[-1]


def data_module(lib):
    return torch.utils.data if lib is torch else ed


class Squares(ed.Dataset):
    """A map-style dataset for both libraries (it only needs __getitem__ and __len__)."""

    def __init__(self, n: int, sample=lambda i: (i, i * i)) -> None:
        self.n, self.sample = n, sample

    def __getitem__(self, i):
        if i >= self.n:
            raise IndexError(i)
        return self.sample(i)

    def __len__(self) -> int:
        return self.n


# ----------------------------------------------------------------- batching, as PyTorch does

@LIBS
@pytest.mark.parametrize("batch_size,drop_last", [(1, False), (3, False), (3, True), (4, True), (10, False),
                                                   (11, False), (11, True)])
def test_tensor_dataset_batches_match_torch(lib, batch_size, drop_last):
    d = data_module(lib)
    ds = d.TensorDataset(lib.arange(10), lib.arange(20, dtype=lib.float32).reshape(10, 2))
    loader = d.DataLoader(ds, batch_size=batch_size, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(batches)
    expect_n = 10 // batch_size if drop_last else -(-10 // batch_size)
    assert len(batches) == expect_n
    assert all(isinstance(b, list) and len(b) == 2 for b in batches)
    xs = [x for b in batches for x in b[0].tolist()]
    assert xs == list(range(expect_n * batch_size if drop_last else 10))
    if not batches:
        return
    assert [dtype_name(t) for t in batches[0]] == ["int64", "float32"]
    assert tuple(batches[0][1].shape) == (min(batch_size, 10), 2)


@LIBS
@pytest.mark.parametrize("sample,expect", [
    (lambda i: (i, float(i), i % 2 == 0), [[0, 1, 2], [0.0, 1.0, 2.0], [True, False, True]]),
    (lambda i: {"a": i, "b": [i, -i]}, {"a": [0, 1, 2], "b": [[0, 1, 2], [0, -1, -2]]}),
    (lambda i: Point(i, "s"), Point([0, 1, 2], ("s", "s", "s"))),
    (lambda i: "word", ["word"] * 3),
    (lambda i: np.full((2,), i, dtype=np.float32), [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]),
    (lambda i: np.int32(i), [0, 1, 2]),
])
def test_default_collate_matches_torch(lib, sample, expect):
    batch = next(iter(data_module(lib).DataLoader(Squares(5, sample), batch_size=3)))
    got = tolist(batch)
    assert got == expect or (isinstance(expect, list) and list(got) == expect)


@LIBS
def test_default_collate_dtypes_match_torch(lib):
    ds = Squares(4, lambda i: (i, float(i), bool(i), np.float32(i), np.arange(2, dtype=np.int16),
                               lib.ones(2)))
    batch = next(iter(data_module(lib).DataLoader(ds, batch_size=4)))
    assert [dtype_name(t) for t in batch] == ["int64", "float64", "bool", "float32", "int16", "float32"]
    assert [tuple(t.shape) for t in batch] == [(4,), (4,), (4,), (4,), (4, 2), (4, 2)]


@LIBS
def test_batch_size_none_disables_batching(lib):
    ds = Squares(3, lambda i: (np.arange(2) + i, i))
    loader = data_module(lib).DataLoader(ds, batch_size=None)
    out = list(loader)
    assert len(loader) == 3 and isinstance(out[0][0], (torch.Tensor, ember.Tensor))
    assert [tolist(x) for x in out] == [[[0, 1], 0], [[1, 2], 1], [[2, 3], 2]]


@LIBS
def test_custom_collate_sampler_and_batch_sampler(lib):
    d = data_module(lib)
    ds = Squares(6)
    loader = d.DataLoader(ds, batch_size=2, collate_fn=lambda b: b)
    assert next(iter(loader)) == [(0, 0), (1, 1)]
    loader = d.DataLoader(ds, batch_size=4, sampler=[5, 3, 1])
    assert tolist(list(loader)) == [[[5, 3, 1], [25, 9, 1]]]
    loader = d.DataLoader(ds, batch_sampler=[[0, 1], [4]])
    assert tolist(list(loader)) == [[[0, 1], [0, 1]], [[4], [16]]]
    assert len(loader) == 2


@LIBS
def test_batch_sampler_and_sequential_sampler(lib):
    d = data_module(lib)
    bs = d.BatchSampler(d.SequentialSampler(range(7)), batch_size=3, drop_last=False)
    assert list(bs) == [[0, 1, 2], [3, 4, 5], [6]] and len(bs) == 3
    bs = d.BatchSampler(range(7), batch_size=3, drop_last=True)
    assert list(bs) == [[0, 1, 2], [3, 4, 5]] and len(bs) == 2


@LIBS
def test_subset_concat_and_random_split_lengths(lib):
    d = data_module(lib)
    ds = d.TensorDataset(lib.arange(10))
    sub = d.Subset(ds, [9, 0, 4])
    assert len(sub) == 3 and sub[0][0].item() == 9
    assert tolist(list(d.DataLoader(sub, batch_size=2))) == [[[9, 0]], [[4]]]
    cat = d.ConcatDataset([sub, Squares(2)])
    assert len(cat) == 5 and cat[3] == (0, 0) and cat[-1] == (1, 1) and cat[2][0].item() == 4
    assert len(ds + ds) == 20
    parts = d.random_split(range(10), [0.33, 0.33, 0.34])
    assert [len(p) for p in parts] == [4, 3, 3]
    parts = d.random_split(range(10), [3, 7])
    assert sorted(list(parts[0]) + list(parts[1])) == list(range(10))


@LIBS
def test_iterable_dataset(lib):
    d = data_module(lib)

    class Stream(d.IterableDataset):
        def __iter__(self):
            return iter(range(7))

    assert tolist(list(d.DataLoader(Stream(), batch_size=3))) == [[0, 1, 2], [3, 4, 5], [6]]
    assert tolist(list(d.DataLoader(Stream(), batch_size=3, drop_last=True))) == [[0, 1, 2], [3, 4, 5]]
    assert list(d.DataLoader(Stream(), batch_size=None)) == list(range(7))


@LIBS
def test_tensor_dataset_getitem_and_iteration(lib):
    ds = data_module(lib).TensorDataset(lib.arange(3), lib.arange(3) * 10)
    assert [tuple(int(v) for v in s) for s in ds] == [(0, 0), (1, 10), (2, 20)]
    assert int(ds[-1][1]) == 20 and len(ds) == 3


# ----------------------------------------------------------------- shuffling and generators

def _epoch(loader):
    return [x for b in loader for x in b[0].tolist()]


def test_shuffle_is_a_permutation_and_uses_the_global_seed():
    ds = ed.TensorDataset(ember.arange(50))
    ember.manual_seed(3)
    a = _epoch(ed.DataLoader(ds, batch_size=8, shuffle=True))
    ember.manual_seed(3)
    b = _epoch(ed.DataLoader(ds, batch_size=8, shuffle=True))
    assert a == b and sorted(a) == list(range(50)) and a != list(range(50))


def test_generator_reproducible_independent_and_advances_per_epoch():
    ds = ed.TensorDataset(ember.arange(40))
    g = ember.utils.data.Generator().manual_seed(7)
    loader = ed.DataLoader(ds, batch_size=5, shuffle=True, generator=g)
    e1, e2 = _epoch(loader), _epoch(loader)
    assert e1 != e2 and sorted(e2) == list(range(40))
    g.manual_seed(7)
    ember.manual_seed(123)  # the global generator plays no part
    assert _epoch(loader) == e1
    before = ember.get_rng_state()
    _epoch(loader)
    assert ember.get_rng_state() == before
    assert _epoch(ed.DataLoader(ds, batch_size=5, shuffle=True, generator=7)) == e1  # an int seed


def test_generator_api():
    g = ed.Generator()
    assert g.initial_seed() == torch.Generator().initial_seed()
    assert g.manual_seed(-1) is g and g.initial_seed() == 2**64 - 1
    state = g.get_state()
    a = ed.RandomSampler(range(20), generator=g)
    first = list(a)
    g.set_state(state)
    assert list(a) == first
    assert isinstance(g.seed(), int) and "seed" in repr(g)
    with pytest.raises(TypeError, match=r"manual_seed: seed must be an int, got float"):
        g.manual_seed(1.5)


def test_generator_state_survives_a_checkpoint(tmp_path):
    g = ed.Generator().manual_seed(9)
    loader = ed.DataLoader(ed.TensorDataset(ember.arange(30)), batch_size=4, shuffle=True, generator=g)
    _epoch(loader)
    ember.save({"loader_rng": g.get_state()}, tmp_path / "ckpt")
    expect = _epoch(loader)
    g.manual_seed(0)
    g.set_state(ember.load(tmp_path / "ckpt")["loader_rng"])
    assert _epoch(loader) == expect  # a resumed run sees the same next epoch


def test_random_sampler_replacement_and_num_samples():
    g = ed.Generator().manual_seed(0)
    s = ed.RandomSampler(range(5), num_samples=12, generator=g)
    idx = list(s)
    assert len(s) == 12 and len(idx) == 12
    assert sorted(idx[:5]) == list(range(5)) and sorted(idx[5:10]) == list(range(5))
    r = list(ed.RandomSampler(range(3), replacement=True, num_samples=30, generator=g))
    assert len(r) == 30 and set(r) <= {0, 1, 2}
    sub = list(ed.SubsetRandomSampler([10, 20, 30], generator=g))
    assert sorted(sub) == [10, 20, 30]


def test_random_split_with_generator():
    parts = ed.random_split(range(10), [0.3, 0.7], generator=ed.Generator().manual_seed(1))
    again = ed.random_split(range(10), [0.3, 0.7], generator=ed.Generator().manual_seed(1))
    assert [list(p) for p in parts] == [list(p) for p in again]
    assert [len(p) for p in parts] == [3, 7]
    assert sorted(list(parts[0]) + list(parts[1])) == list(range(10))


# ----------------------------------------------------------------- the fast path

def _slow(ds, **kw):
    # a collate_fn of our own disables the gather path but must give the same batches
    return ed.DataLoader(ds, collate_fn=ed.default_collate, **kw)


@pytest.mark.parametrize("kw", [
    dict(batch_size=4), dict(batch_size=4, drop_last=True), dict(batch_size=3, shuffle=True),
    dict(batch_size=64), dict(sampler=[3, 1, 2], batch_size=2), dict(batch_sampler=[[4, 0], [2]]),
])
def test_fast_path_equals_per_sample_path(kw):
    ds = ed.TensorDataset(ember.arange(10), ember.randn(10, 3), ember.arange(10) > 4)
    g1, g2 = ed.Generator().manual_seed(5), ed.Generator().manual_seed(5)
    fast = list(ed.DataLoader(ds, generator=g1, **kw))
    slow = list(_slow(ds, generator=g2, **kw))
    assert len(fast) == len(slow)
    for f, s in zip(fast, slow):
        assert [t.tolist() for t in f] == [t.tolist() for t in s]
        assert [t.dtype for t in f] == [t.dtype for t in s]


def test_fast_path_does_not_call_getitem(monkeypatch):
    ds = ed.TensorDataset(ember.arange(100), ember.arange(100) * 2)
    monkeypatch.setattr(ed.TensorDataset, "__getitem__", lambda self, i: pytest.fail("per-sample fetch"))
    train, _ = ed.random_split(ds, [80, 20])
    batches = list(ed.DataLoader(train, batch_size=16, shuffle=True))
    xs = [x for b in batches for x in b[0].tolist()]
    assert sorted(xs) == sorted(train.indices)
    assert all((b[1].numpy() == 2 * b[0].numpy()).all() for b in batches)


def test_fast_path_batches_are_copies():
    x = ember.arange(6)
    batch = next(iter(ed.DataLoader(ed.TensorDataset(x), batch_size=3)))[0]
    batch += 100
    assert x.tolist() == list(range(6))


def test_tensors_that_require_grad_keep_the_graph():
    if not hasattr(ember.Tensor, "__getitem__"):
        pytest.skip("Tensor indexing not available yet")
    w = ember.ones(4, 2, requires_grad=True)
    ds = ed.TensorDataset(w)
    assert ds[0][0].requires_grad
    if not hasattr(ember, "stack"):
        pytest.skip("ember.stack not available yet")
    (b,) = next(iter(ed.DataLoader(ds, batch_size=4)))
    assert b.requires_grad


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 40), batch_size=st.integers(1, 12), drop_last=st.booleans(), shuffle=st.booleans())
def test_every_index_once_per_epoch(n, batch_size, drop_last, shuffle):
    ds = ed.TensorDataset(ember.arange(n))
    loader = ed.DataLoader(ds, batch_size=batch_size, drop_last=drop_last, shuffle=shuffle)
    batches = [b[0].tolist() for b in loader]
    assert len(batches) == len(loader)
    assert all(len(b) == batch_size for b in batches[:-1])
    seen = [i for b in batches for i in b]
    if drop_last:
        assert len(seen) == n - n % batch_size and len(set(seen)) == len(seen)
    else:
        assert sorted(seen) == list(range(n))
    if not shuffle:
        tds = torch.utils.data.TensorDataset(torch.arange(n))
        tl = torch.utils.data.DataLoader(tds, batch_size=batch_size, drop_last=drop_last)
        assert batches == [b[0].tolist() for b in tl]


# ----------------------------------------------------------------- errors

@pytest.mark.parametrize("make,exc,match", [
    (lambda: ed.TensorDataset(ember.zeros(3), ember.zeros(4, 2)), ValueError,
     (r"TensorDataset: size mismatch between tensors: first dimensions \[3, 4\] differ \(shapes \(3,\), "
     r"\(4, 2\)\)")),
    (lambda: ed.TensorDataset(), ValueError, r"TensorDataset: expected at least one tensor"),
    (lambda: ed.TensorDataset(ember.zeros(3), [1, 2, 3]), TypeError, r"TensorDataset: argument 1 is a list"),
    (lambda: ed.TensorDataset(ember.tensor(1.0)), ValueError, r"TensorDataset: tensor 0 is 0-d"),
    (lambda: ed.TensorDataset(ember.zeros(3))[3], IndexError,
     r"TensorDataset: index 3 is out of range for a dataset of length 3"),
    (lambda: ed.DataLoader(range(3), batch_size=0), ValueError,
     r"DataLoader: batch_size should be a positive integer value, but got batch_size=0"),
    (lambda: ed.DataLoader(range(3), batch_size=2.0), ValueError, r"batch_size=2.0"),
    (lambda: ed.DataLoader(range(3), shuffle=True, sampler=[0]), ValueError,
     r"DataLoader: sampler option is mutually exclusive with shuffle"),
    (lambda: ed.DataLoader(range(3), batch_size=2, batch_sampler=[[0]]), ValueError,
     (r"DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and "
     r"drop_last")),
    (lambda: ed.DataLoader(range(3), batch_size=None, drop_last=True), ValueError,
     r"DataLoader: batch_size=None option disables auto-batching"),
    (lambda: ed.DataLoader(range(3), num_workers=-1), ValueError,
     r"DataLoader: num_workers option should be a non-negative int, got -1"),
    (lambda: ed.DataLoader(range(3), timeout=-1), ValueError, (r"DataLoader: timeout option should be "
                                                              r"non-negative")),
    (lambda: ed.DataLoader(range(3), shuffle="yes"), TypeError, (r"DataLoader: shuffle should be a bool, "
                                                                r"got str")),
    (lambda: ed.DataLoader(range(3), drop_last=1), TypeError, (r"DataLoader: drop_last should be a bool, "
                                                              r"got int")),
    (lambda: ed.DataLoader(range(3), shuffle=True, generator=torch.Generator()), TypeError,
     r"DataLoader: generator must be an ember.Generator or None, got Generator"),
    (lambda: ed.DataLoader(iter([1])), TypeError,
     r"DataLoader: the dataset \(list_iterator\) has no __len__"),
    (lambda: ed.DataLoader(_NoGetitem()), TypeError, (r"DataLoader: the dataset \(_NoGetitem\) has no "
                                                     r"__getitem__")),
    (lambda: ed.DataLoader(_Stream(), shuffle=True), ValueError,
     r"DataLoader: with an IterableDataset, expected unspecified shuffle option, but got shuffle=True"),
    (lambda: ed.RandomSampler([]), ValueError,
     r"RandomSampler: num_samples should be a positive integer value, but got num_samples=0"),
    (lambda: ed.RandomSampler([1], replacement=1), TypeError, (r"RandomSampler: replacement should be a "
                                                              r"boolean")),
    (lambda: ed.BatchSampler([1], batch_size=-2, drop_last=False), ValueError,
     r"BatchSampler: batch_size should be a positive integer value, but got batch_size=-2"),
    (lambda: ed.BatchSampler([1], batch_size=2, drop_last=None), ValueError,
     r"BatchSampler: drop_last should be a boolean value, but got drop_last=None"),
    (lambda: ed.random_split(range(10), [3, 3]), ValueError,
     (r"random_split: sum of input lengths \[3, 3\] \(6\) does not equal the length of the input dataset "
     r"\(10\)")),
    (lambda: ed.random_split(range(10), [1.5, -0.5]), ValueError, (r"random_split: fraction at index 0 is "
                                                                  r"not between")),
    (lambda: ed.random_split(range(10), [4, 5.5, 0.5]), ValueError,
     r"random_split: lengths must be non-negative ints or fractions summing to 1; got 5.5 at index 1"),
    (lambda: ed.ConcatDataset([]), ValueError, r"ConcatDataset: datasets should not be an empty iterable"),
    (lambda: ed.ConcatDataset([_Stream()]), TypeError, r"ConcatDataset: does not support IterableDataset"),
    (lambda: ed.ConcatDataset([range(2)])[2], IndexError,
     r"ConcatDataset: index 2 is out of range for a dataset of length 2"),
    (lambda: ed.ConcatDataset([range(2)])[-3], ValueError, (r"ConcatDataset: absolute value of index -3 "
                                                           r"exceeds")),
    (lambda: list(ed.DataLoader(ed.Subset(ed.TensorDataset(ember.zeros(3)), [0, 5]))), IndexError,
     r"Subset: index 5 is out of range for a dataset of length 3"),
    (lambda: list(ed.DataLoader(ed.TensorDataset(ember.zeros(3)), batch_sampler=[[0, 3]])), IndexError,
     r"DataLoader: index 3 is out of range for a dataset of length 3"),
    (lambda: list(ed.DataLoader(ed.TensorDataset(ember.zeros(3)), batch_sampler=[["a"]])), TypeError,
     r"DataLoader: the batch sampler must yield lists of ints"),
    (lambda: ed.default_collate([ember.zeros(3), ember.zeros(4)]), RuntimeError,
     (r"default_collate: stack expects each tensor to be equal size, but got \[3\] at entry 0 and \[4\] "
     r"at entry 1")),
    (lambda: ed.default_collate([ember.zeros(3), 1]), TypeError,
     r"default_collate: entry 0 of the batch is a Tensor but entry 1 is a int"),
    (lambda: ed.default_collate([[1, 2], [3]]), RuntimeError,
     (r"default_collate: each element in list of batch should be of equal size; entry 0 has 2 fields, "
     r"entry 1 has 1")),
    (lambda: ed.default_collate([object()]), TypeError,
     r"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found object"),
    (lambda: ed.default_collate([np.array(["a"])]), TypeError,
     r"default_collate: batch must contain .*; found a numpy value of dtype <U1"),
    (lambda: ed.Dataset()[0], NotImplementedError, r"Dataset must implement __getitem__"),
    (lambda: iter(ed.IterableDataset()), NotImplementedError, r"IterableDataset must implement __iter__"),
    (lambda: iter(ed.Sampler()), NotImplementedError, r"Sampler must implement __iter__"),
])
def test_errors(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


class _NoGetitem:
    def __len__(self):
        return 1


class _Stream(ed.IterableDataset):
    def __iter__(self):
        return iter(range(3))


def test_iterable_dataset_len_and_default_convert():
    class Sized(ed.IterableDataset):
        def __iter__(self):
            return iter([np.arange(2), (np.float32(1), "s")])

        def __len__(self):
            return 5

    assert len(ed.DataLoader(Sized(), batch_size=2)) == 3
    assert len(ed.DataLoader(Sized(), batch_size=2, drop_last=True)) == 2
    assert len(ed.DataLoader(Sized(), batch_size=None)) == 5
    a, (b, s) = list(ed.DataLoader(Sized(), batch_size=None))
    assert isinstance(a, ember.Tensor) and a.tolist() == [0, 1]
    assert isinstance(b, ember.Tensor) and b.dtype == ember.float32 and s == "s"
    assert ed.default_convert({"k": [np.zeros(1)]})["k"][0].dtype == ember.float64
    with pytest.raises(TypeError):
        len(ed.DataLoader(_Stream(), batch_size=2))
