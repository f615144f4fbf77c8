"""The CPU backend: every Buffer primitive implemented with NumPy.

This file (with the rest of ``ember/backend``) is the only place that imports NumPy
for computation. Results of NumPy operations on 0-d arrays come back as NumPy
scalars; they behave as 0-d arrays for everything here except in-place writes, which
rebind ``data`` instead.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any, cast

import numpy as np

from ember import dtypes
from ember.backend import numpy_linalg
from ember.backend import numpy_threads as threads
from ember.buffer import Buffer, inplace_clock

_TO_NP = {d: np.dtype(d.name) for d in dtypes.ALL}
_TO_EMBER = {np.dtype(d.name): d for d in dtypes.ALL}
_ndarray = np.ndarray

# PyTorch computes 0/0, log(0) and overflow to nan and inf without a word; NumPy warns. The
# warnings NumPy raises inside this backend are ignored (a filter on these modules' names,
# free at run time, unlike an errstate around every call); NumPy code elsewhere in the
# process, the user's included, warns as before.
warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"ember\.backend(\.|$)")


def np_dtype(d: dtypes.dtype) -> np.dtype:
    return _TO_NP[d]


def ember_dtype(d: Any) -> dtypes.dtype:
    """Map a NumPy dtype (or anything np.dtype accepts) to an ember dtype."""
    try:
        return _TO_EMBER[np.dtype(d)]
    except (KeyError, TypeError):
        raise TypeError(f"unsupported dtype {d!r}") from None


_jit: Any = None  # ember.backend.numpy_jit once imported; False when switched off or not importable


def _load_jit() -> Any:
    try:
        from ember.backend import numpy_jit
    except ImportError:  # Numba is not installed (or does not support this NumPy)
        return False
    return numpy_jit


def jit_kernels() -> Any:
    """The compiled kernels (the module ``numpy_jit``), or None without Numba or with ``EMBER_JIT=0``."""
    global _jit
    if _jit is None:
        _jit = os.environ.get("EMBER_JIT", "1") != "0" and _load_jit()
    return _jit or None


def set_jit(enabled: bool) -> bool:
    """Use the compiled kernels (if Numba is installed) or NumPy alone from now on.

    Returns the old setting.
    """
    global _jit
    before = jit_kernels() is not None
    _jit = _load_jit() if enabled else False
    return before


class _Rng:
    """The global random generator, seeded by ``ember.manual_seed``."""

    def __init__(self) -> None:
        self.gen = np.random.Generator(np.random.PCG64(0))

    def seed(self, seed: int) -> None:
        self.gen = np.random.Generator(np.random.PCG64(seed))

    def get_state(self) -> dict:
        return dict(self.gen.bit_generator.state)

    def set_state(self, state: dict) -> None:
        self.gen.bit_generator.state = state


rng = _Rng()


def _unwrap(o: Any) -> Any:
    return o.data if o.__class__ is NumpyBuffer else o


def _num(d: Any) -> Any:
    # NumPy runs arithmetic on a 0-d array through the full ufunc machinery (~0.7 us) but
    # on the equal NumPy scalar in ~0.1 us, with the same result: 0-d operands are read as
    # scalars, which is most of the per-op cost of small-tensor (0-d) code.
    return d[()] if d.__class__ is _ndarray and not d.ndim else d


class NumpyBuffer(Buffer):
    """A Buffer backed by a NumPy array (or NumPy scalar for 0-d results)."""

    __slots__ = ()
    device = "cpu"

    # ---- properties -------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> dtypes.dtype:
        return _TO_EMBER[self.data.dtype]

    def __repr__(self) -> str:
        return f"NumpyBuffer({self.data!r})"

    def format(self) -> str:
        """The values as PyTorch prints them inside ``tensor(...)``."""
        d = np.asarray(self.data)
        if d.ndim == 0 and d.dtype.kind == "f":
            return f"{float(d):.4f}"
        return np.array2string(d, separator=", ", prefix="tensor(", threshold=1000, edgeitems=3)

    # ---- creation ---------------------------------------------------------------
    @staticmethod
    def from_data(data: Any, dtype: dtypes.dtype | None = None, copy: bool = True) -> NumpyBuffer:
        """Make a buffer from nested lists, scalars or arrays (``dtype=None`` infers as PyTorch)."""
        if dtype is None:
            arr = np.array(data, copy=copy) if isinstance(data, np.ndarray) else np.asarray(data)
            if arr.dtype == np.float64 and not isinstance(data, (np.ndarray, np.generic)):
                # Python floats become the default float, as in PyTorch
                arr = arr.astype(_TO_NP[dtypes.get_default_dtype()])
            elif arr.dtype.kind in "iu" and arr.dtype not in _TO_EMBER:
                arr = arr.astype(np.int64)
            elif arr.dtype == np.int32 and not isinstance(data, (np.ndarray, np.generic)):
                arr = arr.astype(np.int64)  # Python ints are int64 on every platform
            elif arr.dtype not in _TO_EMBER:
                raise TypeError(f"tensor: cannot make a tensor from data of dtype {arr.dtype}")
            elif copy and arr is data:
                arr = arr.copy()
        else:
            arr = np.array(data, dtype=_TO_NP[dtype], copy=copy)
        return NumpyBuffer(arr)

    @staticmethod
    def full(shape: tuple[int, ...], value: Any, dtype: dtypes.dtype) -> NumpyBuffer:
        return NumpyBuffer(np.full(shape, value, dtype=_TO_NP[dtype]))

    @staticmethod
    def scalar(value: Any, dtype: dtypes.dtype) -> NumpyBuffer:
        """A 0-d buffer holding one Python number (the fast path for ``x * 2.0``)."""
        return NumpyBuffer(_TO_NP[dtype].type(value))

    @staticmethod
    def empty(shape: tuple[int, ...], dtype: dtypes.dtype) -> NumpyBuffer:
        return NumpyBuffer(np.empty(shape, dtype=_TO_NP[dtype]))

    @staticmethod
    def arange(start: float, end: float, step: float, dtype: dtypes.dtype) -> NumpyBuffer:
        return NumpyBuffer(np.arange(start, end, step, dtype=_TO_NP[dtype]))

    @staticmethod
    def linspace(start: float, end: float, steps: int, dtype: dtypes.dtype) -> NumpyBuffer:
        return NumpyBuffer(np.linspace(start, end, steps, dtype=np.float64).astype(_TO_NP[dtype]))

    @staticmethod
    def eye(n: int, m: int, dtype: dtypes.dtype) -> NumpyBuffer:
        return NumpyBuffer(np.eye(n, m, dtype=_TO_NP[dtype]))

    @staticmethod
    def uniform(shape: tuple[int, ...], low: float, high: float, dtype: dtypes.dtype,
                gen: _Rng | None = None) -> NumpyBuffer:
        """Uniform samples in [low, high) from ``gen`` (default: the global generator)."""
        g = (gen or rng).gen
        nd = _TO_NP[dtype]
        if nd in (np.float32, np.float64):
            out = g.random(shape, dtype=nd)
        else:
            out = g.random(shape).astype(nd)
        if low != 0.0 or high != 1.0:
            out = out * nd.type(high - low) + nd.type(low)
        return NumpyBuffer(np.asarray(out, dtype=nd))

    @staticmethod
    def normal(shape: tuple[int, ...], mean: float, std: float, dtype: dtypes.dtype,
               gen: _Rng | None = None) -> NumpyBuffer:
        """Normal samples from ``gen`` (default: the global generator)."""
        g = (gen or rng).gen
        nd = _TO_NP[dtype]
        if nd in (np.float32, np.float64):
            out = g.standard_normal(shape, dtype=nd)
        else:
            out = g.standard_normal(shape).astype(nd)
        if mean != 0.0 or std != 1.0:
            out = out * nd.type(std) + nd.type(mean)
        return NumpyBuffer(np.asarray(out, dtype=nd))

    @staticmethod
    def randint(low: int, high: int, shape: tuple[int, ...], dtype: dtypes.dtype,
                gen: _Rng | None = None) -> NumpyBuffer:
        """Integers in [low, high) from ``gen`` (default: the global generator)."""
        return NumpyBuffer((gen or rng).gen.integers(low, high, size=shape, dtype=_TO_NP[dtype]))

    @staticmethod
    def permutation(n: int, dtype: dtypes.dtype, gen: _Rng | None = None) -> NumpyBuffer:
        """A random permutation of 0 .. n-1 from ``gen`` (default: the global generator)."""
        return NumpyBuffer((gen or rng).gen.permutation(n).astype(_TO_NP[dtype], copy=False))

    # ---- data loading: draws from a given generator (ember.Generator) ----------------
    @staticmethod
    def new_rng(seed: int) -> _Rng:
        """A random stream of this backend's kind, independent of the global one."""
        r = _Rng()
        r.seed(seed)
        return r

    def multinomial(self, num_samples: int, replacement: bool) -> NumpyBuffer:
        """Sample column indices from each row of non-negative weights (1-d or 2-d)."""
        p = np.asarray(self.data, dtype=np.float64)
        rows = p.reshape(-1, p.shape[-1])
        rows = rows / rows.sum(axis=1, keepdims=True)
        if replacement:
            cdf = np.cumsum(rows, axis=1)
            cdf[:, -1] = 1.0
            u = rng.gen.random((rows.shape[0], num_samples))
            out = np.empty((rows.shape[0], num_samples), dtype=np.int64)
            for i in range(rows.shape[0]):
                out[i] = np.searchsorted(cdf[i], u[i], side="right")
            np.minimum(out, rows.shape[1] - 1, out=out)
        else:
            # Gumbel top-k: sampling without replacement in one vectorised pass
            with np.errstate(divide="ignore"):
                keys = np.log(rows) - np.log(-np.log(rng.gen.random(rows.shape)))
            out = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples].astype(np.int64)
        return NumpyBuffer(out.reshape(p.shape[:-1] + (num_samples,)))

    def bernoulli(self) -> NumpyBuffer:
        return NumpyBuffer((rng.gen.random(self.data.shape) < self.data).astype(self.data.dtype))

    # ---- conversion -------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        d = self.data
        return d if d.__class__ is _ndarray else np.asarray(d)

    def item(self) -> Any:
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def cast(self, dtype: dtypes.dtype) -> NumpyBuffer:
        return NumpyBuffer(self.data.astype(_TO_NP[dtype]))

    def copy(self) -> NumpyBuffer:
        return NumpyBuffer(np.array(self.data, copy=True))

    # ---- elementwise ------------------------------------------------------------
    def __neg__(self) -> NumpyBuffer:
        return NumpyBuffer(-self.data)

    # ---- arithmetic (0-d operands as scalars, see _num) ----
    def __add__(self, o: Any) -> NumpyBuffer:
        a, b = self.data, (o.data if o.__class__ is NumpyBuffer else o)
        if a.__class__ is _ndarray and a.size >= threads.MIN_PASS_ELEMENTS:
            r = _split_binary(np.add, a, b)
            if r is not None:
                return NumpyBuffer(r)
        return NumpyBuffer(_num(a) + _num(b))

    def __radd__(self, o: Any) -> NumpyBuffer:
        return NumpyBuffer(o + _num(self.data))

    def __sub__(self, o: Any) -> NumpyBuffer:
        a, b = self.data, (o.data if o.__class__ is NumpyBuffer else o)
        if a.__class__ is _ndarray and a.size >= threads.MIN_PASS_ELEMENTS:
            r = _split_binary(np.subtract, a, b)
            if r is not None:
                return NumpyBuffer(r)
        return NumpyBuffer(_num(a) - _num(b))

    def __rsub__(self, o: Any) -> NumpyBuffer:
        return NumpyBuffer(o - _num(self.data))

    def __mul__(self, o: Any) -> NumpyBuffer:
        a, b = self.data, (o.data if o.__class__ is NumpyBuffer else o)
        if a.__class__ is _ndarray and a.size >= threads.MIN_PASS_ELEMENTS:
            r = _split_binary(np.multiply, a, b)
            if r is not None:
                return NumpyBuffer(r)
        return NumpyBuffer(_num(a) * _num(b))

    def __rmul__(self, o: Any) -> NumpyBuffer:
        return NumpyBuffer(o * _num(self.data))

    def __truediv__(self, o: Any) -> NumpyBuffer:
        a, b = self.data, (o.data if o.__class__ is NumpyBuffer else o)
        if a.__class__ is _ndarray and a.size >= threads.MIN_PASS_ELEMENTS:
            r = _split_binary(np.true_divide, a, b)
            if r is not None:
                return NumpyBuffer(r)
        return NumpyBuffer(_num(a) / _num(b))

    def __rtruediv__(self, o: Any) -> NumpyBuffer:
        return NumpyBuffer(o / _num(self.data))

    def __pow__(self, o: Any) -> NumpyBuffer:
        return NumpyBuffer(_num(self.data) ** _num(o.data if o.__class__ is NumpyBuffer else o))

    def __rpow__(self, o: Any) -> NumpyBuffer:
        return NumpyBuffer(o ** _num(self.data))

    def __matmul__(self, o: Buffer) -> NumpyBuffer:
        return NumpyBuffer(numpy_linalg.matmul(self.data, o.data))

    def matmul_add(self, o: Buffer, c: Buffer) -> NumpyBuffer:
        # each thread adds c to its part of the product while that part is in its cache
        return NumpyBuffer(numpy_linalg.matmul(self.data, o.data, np.asarray(c.data)))

    def matmul_row_sums(self, o: Buffer) -> tuple[NumpyBuffer, NumpyBuffer] | None:
        a, b = self.data, o.data
        if a.__class__ is not _ndarray or b.__class__ is not _ndarray:
            return None
        r = numpy_linalg.matmul_row_sums(a, b)
        return None if r is None else (NumpyBuffer(r[0]), NumpyBuffer(r[1]))

    def matmul_like(self, o: Buffer, like: Buffer) -> NumpyBuffer:
        a, b, ref = self.data, o.data, like.data
        if (ref.__class__ is not _ndarray or ref.flags.c_contiguous or a.ndim < 3 or b.ndim < 3
                or a.dtype != b.dtype or a.dtype != ref.dtype):
            return self @ o
        shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1])
        if shape != ref.shape:
            return self @ o
        # NumPy's empty_like keeps the axis order of ref's strides (dense, without its gaps)
        return NumpyBuffer(numpy_linalg.matmul(a, b, out=np.empty_like(ref)))

    # ---- linalg -----------------------------------------------------------------
    @staticmethod
    def einsum(subscripts: str, *operands: Buffer) -> NumpyBuffer:
        """Einstein summation over explicit subscripts (``'bij,bjk->bik'``: letters only, no ellipsis)."""
        return NumpyBuffer(numpy_linalg.einsum(subscripts, [o.data for o in operands]))

    def floordiv(self, o: Any) -> NumpyBuffer:
        return NumpyBuffer(np.floor_divide(self.data, _unwrap(o)))

    def mod(self, o: Any) -> NumpyBuffer:
        return NumpyBuffer(np.mod(self.data, _unwrap(o)))

    # comparisons of large float arrays split like arithmetic (ReLU's mask is one)
    def __lt__(self, o: Any) -> NumpyBuffer:  # type: ignore[override]
        return NumpyBuffer(_maybe_split(np.less, self.data, _unwrap(o), np.bool_))

    def __le__(self, o: Any) -> NumpyBuffer:  # type: ignore[override]
        return NumpyBuffer(_maybe_split(np.less_equal, self.data, _unwrap(o), np.bool_))

    def __gt__(self, o: Any) -> NumpyBuffer:  # type: ignore[override]
        return NumpyBuffer(_maybe_split(np.greater, self.data, _unwrap(o), np.bool_))

    def __ge__(self, o: Any) -> NumpyBuffer:  # type: ignore[override]
        return NumpyBuffer(_maybe_split(np.greater_equal, self.data, _unwrap(o), np.bool_))

    def eq(self, o: Any) -> NumpyBuffer:
        return NumpyBuffer(np.equal(self.data, _unwrap(o)))

    def ne(self, o: Any) -> NumpyBuffer:
        return NumpyBuffer(np.not_equal(self.data, _unwrap(o)))

    def logical_and(self, o: Any) -> NumpyBuffer:
        return NumpyBuffer(np.logical_and(self.data, _unwrap(o)))

    def logical_or(self, o: Any) -> NumpyBuffer:
        return NumpyBuffer(np.logical_or(self.data, _unwrap(o)))

    def logical_xor(self, o: Any) -> NumpyBuffer:
        return NumpyBuffer(np.logical_xor(self.data, _unwrap(o)))

    def logical_not(self) -> NumpyBuffer:
        return NumpyBuffer(np.logical_not(self.data))

    def atan2(self, o: Any) -> NumpyBuffer:
        return NumpyBuffer(np.arctan2(self.data, _unwrap(o)))

    def maximum(self, o: Any) -> NumpyBuffer:
        return NumpyBuffer(_maybe_split(np.maximum, self.data, _unwrap(o)))

    def mask_positive(self, values: Buffer) -> NumpyBuffer:
        d, v = self.data, _unwrap(values)
        r = _compiled_pass(_MASK_POSITIVE, d, v)
        if r is not None:
            return NumpyBuffer(r)
        order = _memory_order(d)
        if order is not None and v.__class__ is _ndarray and v.shape == d.shape and _same_layout(d, v):
            # in memory order, and the result laid out as the output (np.where on the transposed
            # views of a convolution's output took 20x as long)
            back = tuple(np.argsort(order))
            return NumpyBuffer(np.where(d.transpose(order) <= 0, 0, v.transpose(order)).transpose(back))
        return NumpyBuffer(np.where(d <= 0, 0, v))

    def minimum(self, o: Any) -> NumpyBuffer:
        return NumpyBuffer(_maybe_split(np.minimum, self.data, _unwrap(o)))

    def exp(self) -> NumpyBuffer:
        return NumpyBuffer(np.exp(self.data))

    def log(self) -> NumpyBuffer:
        return NumpyBuffer(np.log(self.data))

    def log2(self) -> NumpyBuffer:
        return NumpyBuffer(np.log2(self.data))

    def log1p(self) -> NumpyBuffer:
        return NumpyBuffer(np.log1p(self.data))

    def expm1(self) -> NumpyBuffer:
        return NumpyBuffer(np.expm1(self.data))

    def sqrt(self) -> NumpyBuffer:
        return NumpyBuffer(np.sqrt(self.data))

    def sin(self) -> NumpyBuffer:
        return NumpyBuffer(np.sin(self.data))

    def cos(self) -> NumpyBuffer:
        return NumpyBuffer(np.cos(self.data))

    def tanh(self) -> NumpyBuffer:
        return NumpyBuffer(np.tanh(self.data))

    def abs(self) -> NumpyBuffer:
        return NumpyBuffer(np.abs(self.data))

    def sign(self) -> NumpyBuffer:
        return NumpyBuffer(np.sign(self.data))

    def floor(self) -> NumpyBuffer:
        return NumpyBuffer(np.floor(self.data))

    def ceil(self) -> NumpyBuffer:
        return NumpyBuffer(np.ceil(self.data))

    def round(self) -> NumpyBuffer:
        return NumpyBuffer(np.round(self.data))

    def isnan(self) -> NumpyBuffer:
        return NumpyBuffer(np.isnan(self.data))

    def isinf(self) -> NumpyBuffer:
        return NumpyBuffer(np.isinf(self.data))

    def isfinite(self) -> NumpyBuffer:
        return NumpyBuffer(np.isfinite(self.data))

    def all_finite(self) -> bool:
        return bool(np.isfinite(self.data).all())

    def erf(self) -> NumpyBuffer:
        x = self.data
        if x.dtype == np.float64:
            return NumpyBuffer(_erf64(np.asarray(x)))
        # Rational approximation of erfc(|x|) = t exp(-x^2 + P(t)), t = 1 / (1 + |x| / 2),
        # fractional error < 1.2e-7: float32-accurate. Evaluated in place in the input's
        # precision, since every pass over memory counts (GELU calls this on big tensors).
        dt = x.dtype.type
        shape = x.shape
        x = np.asarray(x).reshape(-1)  # in-place ufuncs need arrays, not 0-d scalars
        a = np.abs(x)
        t = a * dt(0.5)
        t += dt(1.0)
        np.reciprocal(t, out=t)
        p = t * dt(_ERFC_POLY[0])
        for c in _ERFC_POLY[1:-1]:
            p += dt(c)
            p *= t
        p += dt(_ERFC_POLY[-1])
        np.multiply(a, a, out=a)
        p -= a
        np.exp(p, out=p)
        p *= t
        np.subtract(dt(1.0), p, out=p)
        np.copysign(p, x, out=p)
        return NumpyBuffer(p.reshape(shape))

    def where(self, a: Any, b: Any) -> NumpyBuffer:
        """Elementwise ``a if self else b``; ``self`` is a bool buffer."""
        return NumpyBuffer(np.where(self.data, _unwrap(a), _unwrap(b)))

    def clip(self, lo: Any, hi: Any) -> NumpyBuffer:
        return NumpyBuffer(np.clip(self.data, lo, hi))

    # ---- elementwise: C-style division (fmod, trunc) --------------------------------
    def fmod(self, o: Any) -> NumpyBuffer:
        """Remainder with the sign of the dividend (C's fmod), unlike ``mod``."""
        return NumpyBuffer(np.fmod(self.data, _unwrap(o)))

    def trunc(self) -> NumpyBuffer:
        return NumpyBuffer(np.trunc(self.data))

    # ---- reductions -------------------------------------------------------------
    def sum(self, axis: Any = None, keepdims: bool = False) -> NumpyBuffer:
        return NumpyBuffer(np.sum(self.data, axis=axis, keepdims=keepdims))

    def max(self, axis: Any = None, keepdims: bool = False) -> NumpyBuffer:
        return NumpyBuffer(np.max(self.data, axis=axis, keepdims=keepdims))

    def min(self, axis: Any = None, keepdims: bool = False) -> NumpyBuffer:
        return NumpyBuffer(np.min(self.data, axis=axis, keepdims=keepdims))

    def prod(self, axis: Any = None, keepdims: bool = False) -> NumpyBuffer:
        return NumpyBuffer(np.prod(self.data, axis=axis, keepdims=keepdims))

    def argmax(self, axis: int | None = None, keepdims: bool = False) -> NumpyBuffer:
        return NumpyBuffer(np.argmax(self.data, axis=axis, keepdims=keepdims).astype(np.int64))

    def argmin(self, axis: int | None = None, keepdims: bool = False) -> NumpyBuffer:
        return NumpyBuffer(np.argmin(self.data, axis=axis, keepdims=keepdims).astype(np.int64))

    def cumsum(self, axis: int) -> NumpyBuffer:
        return NumpyBuffer(np.cumsum(self.data, axis=axis, dtype=self.data.dtype))

    def cumprod(self, axis: int) -> NumpyBuffer:
        return NumpyBuffer(np.cumprod(self.data, axis=axis, dtype=self.data.dtype))

    def any(self, axis: Any = None, keepdims: bool = False) -> NumpyBuffer:
        return NumpyBuffer(np.any(self.data, axis=axis, keepdims=keepdims))

    def all(self, axis: Any = None, keepdims: bool = False) -> NumpyBuffer:
        return NumpyBuffer(np.all(self.data, axis=axis, keepdims=keepdims))

    def argsort(self, axis: int, descending: bool, stable: bool = True) -> NumpyBuffer:
        x = self.data
        kind: Any = "stable" if stable else None
        if not descending:
            return NumpyBuffer(np.argsort(x, axis=axis, kind=kind).astype(np.int64, copy=False))
        # Descending without negating (which wraps unsigned ints and sends NaN last): sort the
        # reversed array and reverse back, so ties keep their original order and NaN comes first.
        idx = np.flip(np.argsort(np.flip(x, axis), axis=axis, kind=kind), axis)
        return NumpyBuffer((x.shape[axis] - 1 - idx).astype(np.int64, copy=False))

    # ---- reductions: top-k ------------------------------------------------------
    def topk(self, k: int, axis: int, largest: bool = True) -> NumpyBuffer:
        """Indices of the ``k`` largest (or smallest) entries along ``axis``, best first (NaN is largest)."""
        x = self.data
        n = x.shape[axis]
        lead = (slice(None),) * axis
        if k * 4 >= n or n <= 64 or k == 0:  # a full sort is cheaper than partitioning
            order = self.argsort(axis, largest, True).data
            return NumpyBuffer(np.ascontiguousarray(order[lead + (slice(None, k),)]))
        # partition in O(n), then sort only the k winners
        if largest:
            idx = np.argpartition(x, n - k, axis=axis)[lead + (slice(n - k, None),)]
        else:
            idx = np.argpartition(x, k - 1, axis=axis)[lead + (slice(None, k),)]
        order = NumpyBuffer(np.take_along_axis(x, idx, axis=axis)).argsort(axis, largest, True).data
        return NumpyBuffer(np.take_along_axis(idx, order, axis=axis).astype(np.int64, copy=False))

    # ---- movement ---------------------------------------------------------------
    def reshape(self, shape: tuple[int, ...]) -> NumpyBuffer:
        d = self.data
        if d.__class__ is _ndarray and d.size >= threads.MIN_PASS_ELEMENTS and not d.flags.c_contiguous:
            v = _reshaped_view(d, shape)  # otherwise NumPy would copy on one core
            return NumpyBuffer(v if v is not None else _copy_c(d).reshape(shape))
        return NumpyBuffer(d.reshape(shape))

    def permute(self, axes: tuple[int, ...]) -> NumpyBuffer:
        return NumpyBuffer(np.transpose(self.data, axes))

    def expand(self, shape: tuple[int, ...]) -> NumpyBuffer:
        return NumpyBuffer(np.broadcast_to(self.data, shape))

    def contiguous(self) -> NumpyBuffer:
        d = self.data
        if d.__class__ is not _ndarray or d.flags.c_contiguous:
            return NumpyBuffer(d)
        if d.size >= threads.MIN_PASS_ELEMENTS:
            return NumpyBuffer(_copy_c(d))
        return NumpyBuffer(np.array(d, order="C"))  # (ascontiguousarray would make 0-d into 1-d)

    def is_contiguous(self) -> bool:
        d = self.data
        return d.__class__ is not _ndarray or d.flags.c_contiguous

    def layout(self) -> tuple[tuple[int, ...], int]:
        d = self.data
        if d.__class__ is not _ndarray:
            return (), 0
        size = d.itemsize
        owner = _owner(d)
        offset = (d.__array_interface__["data"][0] - owner.__array_interface__["data"][0]) // size
        return tuple(s // size for s in d.strides), offset

    def pad(self, widths: tuple[tuple[int, int], ...], value: float = 0.0) -> NumpyBuffer:
        """Pad with a constant; ``widths`` has a (before, after) pair per axis, all >= 0."""
        d = self.data
        shape = tuple(n + a + b for n, (a, b) in zip(d.shape, widths))
        out = np.zeros(shape, d.dtype) if value == 0 else np.full(shape, value, d.dtype)
        out[tuple(slice(a, a + n) for n, (a, _) in zip(d.shape, widths))] = d  # np.pad is ~10x slower here
        return NumpyBuffer(out)

    def getitem(self, index: Any) -> NumpyBuffer:
        """Basic or advanced indexing (index entries may be Buffers of integers/bools)."""
        return NumpyBuffer(self.data[_unwrap_index(index)])

    def flip(self, axes: tuple[int, ...]) -> NumpyBuffer:
        return NumpyBuffer(np.flip(self.data, axes))

    def roll(self, shifts: Any, axes: Any) -> NumpyBuffer:
        return NumpyBuffer(np.roll(self.data, shifts, axes))

    def tril(self, k: int) -> NumpyBuffer:
        return NumpyBuffer(np.tril(self.data, k))

    def triu(self, k: int) -> NumpyBuffer:
        return NumpyBuffer(np.triu(self.data, k))

    @staticmethod
    def concatenate(bufs: Sequence[Buffer], axis: int) -> NumpyBuffer:
        arrays = [b.data for b in bufs]
        first = arrays[0]
        if axis == 0 or first.__class__ is not _ndarray or first.ndim < 2 or first.shape[0] < 2:
            return NumpyBuffer(np.concatenate(arrays, axis=axis))
        size = sum(a.size for a in arrays)
        pieces = threads.split(first.shape[0], size, threads.MIN_PASS_ELEMENTS)
        if len(pieces) == 1 or any(a.__class__ is not _ndarray or a.shape[0] != len(first) for a in arrays):
            return NumpyBuffer(np.concatenate(arrays, axis=axis))
        # joined across an inner axis (the gradient of a split), each thread copies its band of rows:
        # the band the same thread of the same split wrote, when the pieces come from a split product
        shape = list(first.shape)
        shape[axis] = sum(a.shape[axis] for a in arrays)
        out = np.empty(shape, np.result_type(*arrays))
        threads.run(_concat_rows, [([a[lo:hi] for a in arrays], axis, out[lo:hi]) for lo, hi in pieces])
        return NumpyBuffer(out)

    @staticmethod
    def joined(bufs: Sequence[Buffer], axis: int) -> NumpyBuffer | None:
        arrays = [b.data for b in bufs]
        first = arrays[0]
        if first.__class__ is not _ndarray or first.base is None or not 0 <= axis < first.ndim:
            return None
        owner, step, at = _owner(first), first.strides[axis], _address(first)
        if step <= 0:
            return None
        for a in arrays:
            if (a.__class__ is not _ndarray or a.dtype != first.dtype or a.strides != first.strides
                    or a.shape[:axis] != first.shape[:axis] or a.shape[axis + 1:] != first.shape[axis + 1:]
                    or _owner(a) is not owner or _address(a) != at):
                return None
            at += a.shape[axis] * step  # where the next piece must begin
        shape = first.shape[:axis] + (sum(a.shape[axis] for a in arrays),) + first.shape[axis + 1:]
        if not owner.flags.c_contiguous:
            return None
        # the pieces side by side are one view of the owner's memory, all within it
        return NumpyBuffer(np.ndarray(shape, first.dtype, owner, _address(first) - _address(owner),
                                      first.strides))

    @staticmethod
    def stack(bufs: Sequence[Buffer], axis: int) -> NumpyBuffer:
        return NumpyBuffer(np.stack([b.data for b in bufs], axis=axis))

    # ---- conv / pool: sliding windows -------------------------------------------
    def windows(
        self, kernel: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...],
        axes: tuple[int, ...],
    ) -> NumpyBuffer:
        """A read-only view of every window along ``axes`` (no copy; the first half of im2col).

        The result has self's shape with each ``axes[i]`` replaced by its window count
        ``(n - dilation*(kernel-1) - 1) // stride + 1``, followed by the ``kernel`` axes.
        """
        x = np.asarray(self.data)
        shape, strides = list(x.shape), list(x.strides)
        for a, k, s, d in zip(axes, kernel, stride, dilation):
            shape[a] = (x.shape[a] - d * (k - 1) - 1) // s + 1
            strides[a] = x.strides[a] * s
        shape.extend(kernel)
        strides.extend(x.strides[a] * d for a, d in zip(axes, dilation))
        return NumpyBuffer(np.lib.stride_tricks.as_strided(x, tuple(shape), tuple(strides), writeable=False))

    def unwindow(
        self, shape: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...],
        axes: tuple[int, ...],
    ) -> NumpyBuffer:
        """Add every window back into a zero array of ``shape``: the adjoint of ``windows`` (col2im).

        ``self`` is shaped like ``windows``' result (window counts at ``axes``, kernel axes last).
        """
        w = np.asarray(self.data)
        kernel = w.shape[w.ndim - len(axes):]
        if all(s == k and d == 1 for s, k, d in zip(stride, kernel, dilation)):
            # windows tile the array: one strided copy instead of a loop of adds
            region, split, perm = [slice(None)] * len(shape), [], []
            for i in range(len(shape)):
                if i in axes:
                    j = axes.index(i)
                    region[i] = slice(0, w.shape[i] * kernel[j])
                    split += [w.shape[i], kernel[j]]
                    perm += [i, len(shape) + j]
                else:
                    split.append(shape[i])
                    perm.append(i)
            src = w.transpose(perm)
            if src.flags.c_contiguous and math.prod(split) == math.prod(shape):
                return NumpyBuffer(src.reshape(shape))  # the windows already are the array
            out = np.zeros(shape, dtype=w.dtype)
            out[tuple(region)].reshape(split)[...] = src
            return NumpyBuffer(out)
        out = np.zeros(shape, dtype=w.dtype)
        pieces = [(0, shape[0])] if 0 in axes else threads.split(shape[0], w.size, threads.MIN_PASS_ELEMENTS)
        if len(pieces) == 1:
            _add_windows(w, out, kernel, stride, dilation, axes)
        else:  # each thread adds the windows of its own images (a convolution's input gradient)
            threads.run(_add_windows, [(w[lo:hi], out[lo:hi], kernel, stride, dilation, axes)
                                       for lo, hi in pieces])
        return NumpyBuffer(out)

    def max_along(self, axis: int) -> tuple[NumpyBuffer, NumpyBuffer]:
        """Max over ``axis`` (removed) and the index of that maximum (uint8 when it fits).

        The index is the first maximum, or the last NaN if there is one: max pooling's
        rule in PyTorch. One pass per position along ``axis``, no full-size mask.
        """
        x = np.asarray(self.data)
        n = x.shape[axis]
        lead = (slice(None),) * axis
        idx = np.zeros(x.shape[:axis] + x.shape[axis + 1:], np.uint8 if n <= 256 else np.int64)
        vals = x[lead + (0,)]
        for nan_rule in (False, True):
            for k in range(1, n):
                xk = x[lead + (k,)]
                gt = xk > vals
                if nan_rule:
                    gt |= np.isnan(xk)
                vals = np.maximum(vals, xk, out=None if k == 1 else vals)
                if n == 2:
                    idx = gt.view(np.uint8)
                else:
                    np.copyto(idx, k, where=gt)
            if nan_rule or x.dtype.kind != "f" or n == 1 or not np.isnan(vals).any():
                break
            vals = x[lead + (0,)]  # a NaN: redo, letting each NaN take the index
        return NumpyBuffer(vals), NumpyBuffer(idx)

    def spread_along(self, index: Buffer, axis: int, size: int) -> NumpyBuffer:
        """Insert an axis of length ``size`` at ``axis``, each value at its ``index``, 0 elsewhere.

        The adjoint of selecting with ``max_along``'s index: it routes gradients to the maxima.
        """
        src, idx = np.asarray(self.data), index.data
        out = np.empty(src.shape[:axis] + (size,) + src.shape[axis:], dtype=src.dtype)
        lead = (slice(None),) * axis
        for k in range(size):
            np.multiply(src, idx == k, out=out[lead + (k,)])
        return NumpyBuffer(out)

    # ---- gather / scatter -------------------------------------------------------
    def take_along(self, indices: Buffer, axis: int) -> NumpyBuffer:
        return NumpyBuffer(np.take_along_axis(self.data, indices.data, axis=axis))

    def scatter(self, indices: Buffer, src: Any, axis: int) -> NumpyBuffer:
        """Return a copy of self with ``src`` written at ``indices`` along ``axis``."""
        out = np.array(self.data, copy=True)
        np.put_along_axis(out, indices.data, _unwrap(src), axis=axis)
        return NumpyBuffer(out)

    def scatter_add(self, indices: Buffer, src: Buffer, axis: int) -> NumpyBuffer:
        """Return a copy of self with ``src`` added at ``indices`` along ``axis`` (repeats add up)."""
        out = np.array(self.data, copy=True)
        idx = list(np.indices(indices.shape, sparse=True))
        idx[axis] = indices.data
        np.add.at(out, tuple(idx), src.data)
        return NumpyBuffer(out)

    def index_add(self, index: Any, src: Buffer) -> NumpyBuffer:
        """Return a copy of self with ``src`` added at ``self[index]`` (repeats add up)."""
        out = NumpyBuffer(np.array(self.data, copy=True))
        out._index_add_into(index, src)
        return out

    # ---- movement and indexing: torch-layout gather/scatter, in-place scatter-add ----
    def gather(self, indices: Buffer, axis: int) -> NumpyBuffer:
        """``out[i][j] = self[indices[i][j]][j]`` (axis 0); off ``axis``, indices may be smaller than self."""
        d, idx = self.data, indices.data
        if idx.shape != d.shape:  # use only the leading part of self on the other axes (a view)
            d = d[tuple(slice(None) if a == axis else slice(0, n) for a, n in enumerate(idx.shape))]
        return NumpyBuffer(np.take_along_axis(d, idx, axis=axis))

    def scatter_(self, indices: Buffer, src: Any, axis: int, accumulate: bool = False) -> None:
        """In-place ``self[indices[i][j]][j] = src[i][j]`` (axis 0), or ``+=`` with repeats adding up.

        ``src`` is a scalar or a buffer at least as large as ``indices``; only its leading
        ``indices.shape`` part is used.
        """
        d = self.data if self.data.__class__ is _ndarray else np.array(self.data)
        idx = indices.data
        s = _unwrap(src)
        if s.__class__ is _ndarray and s.shape != idx.shape:
            s = s[tuple(slice(0, n) for n in idx.shape)]
        grid = list(np.indices(idx.shape, sparse=True))
        grid[axis] = idx
        if not accumulate:
            d[tuple(grid)] = s
        elif d.flags.c_contiguous:
            # one flat index: ufunc.at on a 1-d target is several times faster than on n-d
            flat = np.ravel_multi_index(tuple(grid), d.shape, mode="wrap")
            np.add.at(d.reshape(-1), flat.reshape(-1), np.broadcast_to(s, idx.shape).reshape(-1))
        else:
            np.add.at(d, tuple(grid), s)
        self.data = d
        self._bump()

    def index_add_(self, index: Any, src: Buffer) -> None:
        """In-place ``self[index] += src`` where repeated indices add up (the adjoint of getitem)."""
        self._index_add_into(index, src)
        self._bump()

    def _index_add_into(self, index: Any, src: Buffer) -> None:
        d = self.data if self.data.__class__ is _ndarray else np.array(self.data)
        idx = _unwrap_index(index)
        if idx.__class__ is tuple and len(idx) == 1:
            idx = idx[0]
        s = np.asarray(src.data)
        if (idx.__class__ is _ndarray and idx.dtype != np.bool_ and idx.dtype.kind in "iu" and idx.ndim >= 1
                and d.ndim >= 1 and d.flags.c_contiguous and d.dtype == s.dtype
                and s.shape == idx.shape + d.shape[1:] and s.size):
            # whole rows of a table, picked with repeats: the embedding's backward
            n = idx.size
            NumpyBuffer._add_rows(d.reshape(d.shape[0], -1), idx.reshape(n), s.reshape(n, -1))
        else:
            np.add.at(d, idx, s)
        self.data = d

    @staticmethod
    def _add_rows(out: np.ndarray, idx: np.ndarray, src: np.ndarray) -> None:
        """``out[idx] += src`` for a 1-d ``idx`` with repeats; ``out`` is (rows, width) and C-ordered."""
        k = jit_kernels()
        if k is not None and out.dtype == np.float32:
            k.add_rows(out, idx, np.ascontiguousarray(src))  # one pass: 768 rows of 128 in ~12 us
        elif out.dtype.kind == "f" and idx.size * out.shape[0] <= _ONEHOT_MAX:
            # a small table: one product with the one-hot matrix of the indices beats sorting them
            if idx.min() < 0:  # -1 and rows - 1 name the same row
                idx = np.where(idx < 0, idx + out.shape[0], idx)
            onehot = (idx.reshape(-1, 1) == np.arange(out.shape[0])).astype(out.dtype)  # (n, rows)
            out += onehot.T @ src
        elif src.size >= 16384 and out.shape[1] >= 32:
            # rows (>= 32 wide) of a larger table: measured (benchmarks/indexing.py) 2-10x faster
            # than np.add.at there, slower on narrow rows
            NumpyBuffer._add_rows_grouped(out, idx, src)
        else:
            np.add.at(out, idx, src)

    @staticmethod
    def _add_rows_grouped(out: np.ndarray, idx: np.ndarray, src: np.ndarray) -> None:
        """``out[idx] += src`` for 1-d ``idx`` with repeats, without ``np.add.at``'s per-element cost.

        Sort the indices; a row that occurs often (>= 16 times) gets one contiguous sum of its
        source rows; the rest go in rounds of fancy adds where no row repeats within a round.
        """
        order = np.argsort(idx, kind="stable")
        sidx = idx[order]
        if sidx.size and sidx[0] < 0:  # -1 and n-1 are the same row: make them one group
            idx = np.where(idx < 0, idx + out.shape[0], idx)
            order = np.argsort(idx, kind="stable")
            sidx = idx[order]
        starts = np.flatnonzero(np.r_[True, sidx[1:] != sidx[:-1]])
        counts = np.diff(np.r_[starts, sidx.size])
        heavy = counts >= 16
        if heavy.any():
            for a, c in zip(starts[heavy].tolist(), counts[heavy].tolist()):
                out[sidx[a]] += src[order[a : a + c]].sum(axis=0)
            light = ~heavy
            starts, counts = starts[light], counts[light]
        while starts.size:
            out[sidx[starts]] += src[order[starts]]
            more = counts > 1
            starts, counts = starts[more] + 1, counts[more] - 1

    def nonzero(self) -> NumpyBuffer:
        """The (n, ndim) int64 coordinates of the non-zero elements, in row-major order."""
        return NumpyBuffer(np.argwhere(self.data).astype(np.int64, copy=False))

    def is_writable(self) -> bool:
        """False when in-place writes cannot land in this memory (a broadcast view, read-only data)."""
        d = self.data
        return d.__class__ is not _ndarray or d.flags.writeable

    # ---- in-place updates -------------------------------------------------------
    def _bump(self) -> None:
        now = inplace_clock.now = inplace_clock.now + 1
        self.version = now
        d = self.data
        if d.__class__ is _ndarray:
            if len(_written) > _WRITTEN_MAX:
                _written.clear()
            _written[id(_owner(d))] = now

    def modified_since(self, stamp: int) -> bool:
        if self.version > stamp:
            return True
        d = self.data
        return d.__class__ is _ndarray and _written.get(id(_owner(d)), 0) > stamp

    def assign_(self, value: Any, index: Any = None) -> None:
        """Write ``value`` into ``self[index]`` (or all of self when index is None)."""
        v = _unwrap(value)
        d = self.data
        if d.__class__ is not _ndarray:
            d = self.data = np.array(d)
        if index is None:
            d[...] = v
        else:
            d[_unwrap_index(index)] = v
        self._bump()

    def _inplace(self, ufunc: Any, o: Any) -> None:
        d = self.data
        o = _unwrap(o)
        if d.__class__ is _ndarray and d.flags.writeable:
            ufunc(d, o, out=d, casting="unsafe")
        else:
            self.data = ufunc(d, o).astype(d.dtype, copy=False)
        self._bump()

    def iadd_(self, o: Any) -> None:
        self._inplace(np.add, o)

    def isub_(self, o: Any) -> None:
        self._inplace(np.subtract, o)

    def imul_(self, o: Any) -> None:
        self._inplace(np.multiply, o)

    def idiv_(self, o: Any) -> None:
        self._inplace(np.true_divide, o)

    def copy_(self, src: Any) -> None:
        self.assign_(src)

    def accumulate_(self, o: Buffer) -> None:
        """In-place ``self += o`` for gradient accumulation; not counted as a user edit."""
        d = self.data
        if d.__class__ is _ndarray and d.flags.writeable:
            if d.size < threads.MIN_PASS_ELEMENTS or not _split_into(np.add, d, o.data):
                np.add(d, o.data, out=d, casting="unsafe")
        else:
            r = d + o.data
            self.data = r if r.dtype == d.dtype else r.astype(d.dtype)

    def is_view(self) -> bool:
        """True when the memory belongs to another array (a view, a broadcast, a slice)."""
        d = self.data
        return d.__class__ is _ndarray and (d.base is not None or not d.flags.writeable)

    def memory_is_private(self) -> bool:
        d = self.data
        if d.__class__ is not _ndarray:
            return True  # a NumPy scalar: immutable, nothing can look into it
        # every view of d holds a reference to it; here d is referenced by self.data, the
        # local name d and getrefcount's argument
        return d.base is None and d.flags.writeable and sys.getrefcount(d) <= 3

    # ---- in-place update arithmetic (optimizers) ------------------------------------
    # ``self += value * f(a, b)`` in one call, writing into self's memory; a large temporary
    # f(a, b) reuses a scratch array (see _scratch). Scalars are passed as Python floats so
    # NumPy computes in the buffer's dtype (a np.float64 would upcast the whole update).
    def _writable(self) -> np.ndarray:
        """The array to write into; a NumPy scalar or a read-only view becomes an owned array."""
        d = self.data
        if d.__class__ is not _ndarray or not d.flags.writeable:
            d = self.data = np.array(d)
        return d

    def add_(self, o: Any, alpha: float = 1.0) -> None:
        """In-place ``self += alpha * o``."""
        d = self._writable()
        o = _unwrap(o)
        if alpha == 1:
            np.add(d, o, out=d, casting="unsafe")
        else:
            raw, tmp = _scratch(d)
            np.multiply(o, float(alpha), out=tmp, casting="unsafe")
            np.add(d, tmp, out=d)
            _release(raw)
        self._bump()

    def addcmul_(self, a: Any, b: Any, value: float = 1.0) -> None:
        """In-place ``self += value * a * b``."""
        d = self._writable()
        raw, tmp = _scratch(d)
        if value == 1:
            np.multiply(_unwrap(a), _unwrap(b), out=tmp, casting="unsafe")
        else:
            np.multiply(_unwrap(a), float(value), out=tmp, casting="unsafe")
            np.multiply(tmp, _unwrap(b), out=tmp, casting="unsafe")
        np.add(d, tmp, out=d)
        _release(raw)
        self._bump()

    def addcdiv_(self, a: Any, b: Any, value: float = 1.0) -> None:
        """In-place ``self += value * a / b``."""
        d = self._writable()
        raw, tmp = _scratch(d)
        if value == 1:
            np.true_divide(_unwrap(a), _unwrap(b), out=tmp, casting="unsafe")
        else:
            np.multiply(_unwrap(a), float(value), out=tmp, casting="unsafe")
            np.true_divide(tmp, _unwrap(b), out=tmp, casting="unsafe")
        np.add(d, tmp, out=d)
        _release(raw)
        self._bump()

    def lerp_(self, end: Any, weight: Any) -> None:
        """In-place ``self += weight * (end - self)``.

        A scalar weight of 0.5 or more uses ``end - (end - self) * (1 - weight)`` instead,
        as PyTorch does, so weight 1 gives exactly ``end``.
        """
        d = self._writable()
        e = _unwrap(end)
        raw, tmp = _scratch(d)
        np.subtract(e, d, out=tmp, casting="unsafe")
        if weight.__class__ is NumpyBuffer:
            np.multiply(tmp, weight.data, out=tmp, casting="unsafe")
            np.add(d, tmp, out=d)
        elif weight < 0.5:
            np.multiply(tmp, float(weight), out=tmp)
            np.add(d, tmp, out=d)
        else:
            np.multiply(tmp, float(1 - weight), out=tmp)
            np.subtract(e, tmp, out=d, casting="unsafe")
        _release(raw)
        self._bump()

    def sqrt_(self) -> None:
        d = self._writable()
        np.sqrt(d, out=d)
        self._bump()

    def maximum_(self, o: Any) -> None:
        """In-place ``self = maximum(self, o)``."""
        d = self._writable()
        np.maximum(d, _unwrap(o), out=d, casting="unsafe")
        self._bump()

    # ---- fused kernels: in-place arithmetic on a Function's own temporaries ----------
    # ``t.tmp_mul_(o)`` is ``t *= o`` written into t's memory, for a buffer that the calling
    # Function has just made and nothing else holds yet (a softmax being formed, a gradient
    # being assembled). That is not a user edit, so no version bump; it saves an allocation
    # and a pass over memory per use. ``o`` broadcasts to self's shape.
    def _tmp_apply(self, ufunc: Any, o: Any) -> None:
        d = self.data
        if d.__class__ is _ndarray and d.flags.writeable:
            ufunc(d, _unwrap(o), out=d)
        else:  # a NumPy scalar (0-d result) or a read-only view: rebind instead
            self.data = ufunc(d, _unwrap(o)).astype(d.dtype, copy=False)

    def tmp_add_(self, o: Any) -> None:
        self._tmp_apply(np.add, o)

    def tmp_sub_(self, o: Any) -> None:
        self._tmp_apply(np.subtract, o)

    def tmp_mul_(self, o: Any) -> None:
        self._tmp_apply(np.multiply, o)

    def tmp_div_(self, o: Any) -> None:
        self._tmp_apply(np.true_divide, o)

    def tmp_exp_(self) -> None:
        d = self.data
        if d.__class__ is _ndarray and d.flags.writeable:
            np.exp(d, out=d)
        else:
            self.data = np.exp(d)

    def tmp_copysign_(self, o: Any) -> None:
        """``self = |self|`` with the sign of ``o``."""
        self._tmp_apply(np.copysign, o)

    def tmp_put_along_(self, indices: Buffer, values: Any, axis: int) -> None:
        """``self[indices along axis] = values`` (one index per row, as ``take_along`` reads them)."""
        d = (self.data if self.data.__class__ is _ndarray and self.data.flags.writeable
             else np.array(self.data))
        np.put_along_axis(d, indices.data, _unwrap(values), axis=axis)
        self.data = d

    def tmp_index_add_(self, index: Any, src: Buffer) -> None:
        self._index_add_into(index, src)

    def dot_last(self, o: Buffer, keepdims: bool = False) -> NumpyBuffer:
        """``(self * o).sum(-1)`` in one pass, without the product's temporary."""
        a, b = self.data, o.data
        r = _vecdot(a, b) if _vecdot is not None else np.einsum("...i,...i->...", a, b)
        return NumpyBuffer(r[..., None] if keepdims else r)

    def sum_last(self, keepdims: bool = False) -> NumpyBuffer:
        """``self.sum(-1)``; float rows are summed as one matrix-vector product with a vector of ones.

        NumPy's reduction pays ~50 ns per row of a last-axis sum, so on the (768, 128) rows of a
        LayerNorm, BLAS's gemv is 4-6x faster (and sums with several accumulators, as NumPy does).
        """
        a = self.data
        if a.__class__ is not _ndarray or a.ndim < 2 or a.dtype.char not in "fd" or not a.flags.c_contiguous:
            return self.sum(-1, keepdims)
        n = a.shape[-1]
        if not n or not a.size:
            return self.sum(-1, keepdims)
        r = np.matmul(a.reshape(-1, n), _ones(n, a.dtype)).reshape(a.shape[:-1] + ((1,) if keepdims else ()))
        return NumpyBuffer(r)

    def sum_lead(self) -> NumpyBuffer:
        """Sum over all leading axes, (..., n) -> (n,).

        Float rows as one vector-matrix product (2x NumPy's sum).
        """
        a = self.data
        if a.__class__ is not _ndarray or a.ndim < 2 or a.dtype.char not in "fd" or not a.flags.c_contiguous:
            return self.sum(tuple(range(max(a.ndim - 1, 0))))
        n = a.shape[-1]
        rows = a.size // n if n else 0
        if not rows or not n:
            return self.sum(tuple(range(a.ndim - 1)))
        return NumpyBuffer(np.matmul(_ones(rows, a.dtype), a.reshape(rows, n)))

    # ---- fused kernels: exact GELU and its derivative, in cache-sized blocks ------------
    def gelu_erf(self) -> tuple[NumpyBuffer, NumpyBuffer]:
        """Return ``(x Phi(x), Phi(x) + x pdf(x))``: the exact (erf) GELU and its derivative.

        Evaluated block by block, so a block's ~20 intermediate passes stay in cache: x is
        read once and the two results written once. float32 uses a fit of Phi(-|x|) =
        exp(-x^2/2) R(1 / (1 + |x| / 5)), absolute error < 2e-9 before rounding, with one
        exponential; float16 is computed in float32; float64 uses the C library's erf.
        """
        x = np.asarray(self.data)
        if x.dtype == np.float64:
            cdf = (_erf64(x * (1 / math.sqrt(2.0))) + 1.0) * 0.5
            d = x * np.exp(x * x * -0.5) * (1 / math.sqrt(2 * math.pi)) + cdf
            return NumpyBuffer(x * cdf), NumpyBuffer(d)
        if x.dtype != np.float32:
            yb, db = NumpyBuffer(x.astype(np.float32)).gelu_erf()
            return NumpyBuffer(yb.data.astype(x.dtype)), NumpyBuffer(db.data.astype(x.dtype))
        xf = x.reshape(-1)  # a copy only when x is not contiguous
        y, d = np.empty_like(xf), np.empty_like(xf)
        jit = jit_kernels()
        if jit is not None:
            _run_jobs(jit, jit.describe_gelu,
                      [(xf[lo:hi], y[lo:hi], d[lo:hi]) for lo, hi in threads.split(xf.size, xf.size)])
            return NumpyBuffer(y.reshape(x.shape)), NumpyBuffer(d.reshape(x.shape))
        m = min(_BLOCK, xf.size)
        tmp = (np.empty(m, np.float32), np.empty(m, np.float32), np.empty(m, np.float32))
        for i in range(0, xf.size, _BLOCK):
            j = min(i + _BLOCK, xf.size)
            _gelu_block(xf[i:j], y[i:j], d[i:j], *(t[: j - i] for t in tmp))
        return NumpyBuffer(y.reshape(x.shape)), NumpyBuffer(d.reshape(x.shape))

    # ---- the optional fused kernels, compiled by Numba (numpy_jit.py) when it is installed ------
    def layer_norm_rows(
        self, w: Buffer | None, b: Buffer | None, eps: float
    ) -> tuple[Buffer, Buffer, Buffer] | None:
        x = self.data
        jit = jit_kernels()
        if jit is None or not _jit_f32(x) or x.ndim != 2 or not x.size:
            return None
        if any(p is not None and p.data.dtype != np.float32 for p in (w, b)):
            return None  # mixed dtypes promote: the composed path does that
        n = x.shape[1]
        out, xhat, rstd = np.empty_like(x), np.empty_like(x), np.empty((x.shape[0], 1), np.float32)
        wa = _ones(n, np.float32) if w is None else np.ascontiguousarray(w.data, np.float32)
        ba = _zeros(n, np.float32) if b is None else np.ascontiguousarray(b.data, np.float32)
        # the weight 2: each element takes two passes (the moments, then the output); split from
        # 64 K elements, the GPT step took 41.11 against 41.52 ms (alternating in one process)
        _run_jobs(jit, jit.describe_layer_norm,
                   [(x[lo:hi], wa, ba, eps, out[lo:hi], xhat[lo:hi], rstd[lo:hi, 0])
                    for lo, hi in threads.split(x.shape[0], 2 * x.size)])
        return NumpyBuffer(out), NumpyBuffer(xhat), NumpyBuffer(rstd)

    def layer_norm_rows_backward(
        self, xhat: Buffer, rstd: Buffer, w: Buffer | None
    ) -> tuple[Buffer, Buffer, Buffer] | None:
        jit = jit_kernels()
        h = xhat.data
        if jit is None or not _jit_f32(h) or h.ndim != 2 or not h.size or self.data.dtype != np.float32:
            return None
        if w is not None and w.data.dtype != np.float32:
            return None
        g = np.ascontiguousarray(self.data)
        n = h.shape[1]
        wa = _ones(n, np.float32) if w is None else np.ascontiguousarray(w.data, np.float32)
        gx, gw, gb = np.empty_like(h), np.empty(n, np.float32), np.empty(n, np.float32)
        rs = np.ascontiguousarray(rstd.data).reshape(-1)
        pieces = threads.split(h.shape[0], 2 * h.size)
        if len(pieces) == 1:
            _run_jobs(jit, jit.describe_layer_norm_backward, [(g, h, rs, wa, gx, gw, gb)])
        else:  # each band of rows sums its own gw, gb; the bands' sums are added after
            sums = _apart((len(pieces), 2, n))
            gws, gbs = sums[:, 0], sums[:, 1]
            _run_jobs(jit, jit.describe_layer_norm_backward, [
                (g[lo:hi], h[lo:hi], rs[lo:hi], wa, gx[lo:hi], gws[i], gbs[i])
                for i, (lo, hi) in enumerate(pieces)])
            np.add.reduce(gws, axis=0, out=gw)
            np.add.reduce(gbs, axis=0, out=gb)
        return NumpyBuffer(gx), NumpyBuffer(gw), NumpyBuffer(gb)

    def attention(
        self, k: Buffer, v: Buffer, scale: float, causal: bool
    ) -> tuple[NumpyBuffer, NumpyBuffer] | None:
        q, kd, vd = self.data, k.data, v.data
        jit = jit_kernels()
        if jit is None or not _attention_operands(q, kd, vd) or not q.shape[-2] or not kd.shape[-2]:
            return None
        lead, L, S = q.shape[:-2], q.shape[-2], kd.shape[-2]
        p = np.empty(lead + (L, S), np.float32)
        # laid out like q, as PyTorch's CPU kernel lays its output: heads viewed out of a (B, T, C)
        # projection come out as views of a (B, T, C) array, and merging them back is no copy
        o = np.empty_like(q, shape=lead + (L, vd.shape[-1]))
        work = p.size * (q.shape[-1] + vd.shape[-1])  # multiply-adds of the two products
        threads.run(_attention_part, [(q[b], kd[b], vd[b], p[b], o[b], scale, causal, jit)
                                      for b in _batch_bands(lead, work)])
        return NumpyBuffer(o), NumpyBuffer(p)

    def attention_backward(
        self, p: Buffer, q: Buffer, k: Buffer, v: Buffer, scale: float
    ) -> tuple[NumpyBuffer, NumpyBuffer, NumpyBuffer] | None:
        g, pd, qd, kd, vd = self.data, p.data, q.data, k.data, v.data
        jit = jit_kernels()
        if (jit is None or not _attention_operands(qd, kd, vd) or g.__class__ is not _ndarray
                or g.dtype != np.float32 or g.shape != qd.shape[:-1] + vd.shape[-1:] or not _jit_f32(pd)):
            return None
        gq, gk, gv = _laid_out_like((qd, kd, vd))
        work = pd.size * (2 * qd.shape[-1] + 2 * vd.shape[-1])
        threads.run(_attention_backward_part, [
            (g[b], pd[b], qd[b], kd[b], vd[b], gq[b], gk[b], gv[b], scale, jit)
            for b in _batch_bands(qd.shape[:-2], work)])
        return NumpyBuffer(gq), NumpyBuffer(gk), NumpyBuffer(gv)

    def max_pool2d(
        self, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int],
        dilation: tuple[int, int], out_size: tuple[int, int],
    ) -> tuple[NumpyBuffer, NumpyBuffer] | None:
        x = self.data
        jit = jit_kernels()
        if jit is None or x.__class__ is not _ndarray or x.dtype != np.float32 or x.ndim != 4 or not x.size:
            return None
        if any(s % x.itemsize for s in x.strides) or min(out_size) < 1:
            return None
        # laid out like x (a convolution's output is channels innermost), as PyTorch's kernel does
        out = np.empty_like(x, shape=x.shape[:2] + tuple(out_size))
        indices = np.empty_like(out, dtype=np.int64)
        geometry = (*x.shape[1:], *out_size, *kernel, *stride, *padding, *dilation)
        _max_pool_jobs(jit, jit.MAX_POOL, geometry, x, out, indices, out, x)
        return NumpyBuffer(out), NumpyBuffer(indices)

    def max_pool2d_backward(self, indices: Buffer, input_shape: tuple[int, ...]) -> NumpyBuffer | None:
        g, idx = self.data, indices.data
        jit = jit_kernels()
        if (jit is None or g.__class__ is not _ndarray or g.dtype != np.float32
                or idx.__class__ is not _ndarray or idx.dtype != np.int64 or g.shape != idx.shape
                or any(s % 4 for s in g.strides)):
            return None
        gx = np.empty_like(idx, shape=tuple(input_shape), dtype=np.float32)  # laid out like the input was
        geometry = (*gx.shape[1:], *g.shape[2:], 1, 1, 1, 1, 0, 0, 1, 1)  # the backward reads no window
        _max_pool_jobs(jit, jit.MAX_POOL_BACKWARD, geometry, gx, g, idx, g, gx)
        return NumpyBuffer(gx)

    def softmax_rows_(self, scale: float, causal: bool) -> bool:
        s = self.data
        jit = jit_kernels()
        if jit is None or not _jit_f32(s) or s.ndim < 2 or not s.size or not s.flags.writeable:
            return False
        s3 = s.reshape((-1,) + s.shape[-2:])  # a temporary, as tmp_*_: no bump
        pieces = threads.split(s3.shape[0], s3.size)
        threads.run(jit.softmax_rows, [(s3[lo:hi], scale, causal) for lo, hi in pieces])
        return True

    def softmax_lse_rows(self) -> tuple[NumpyBuffer, NumpyBuffer] | None:
        x = self.data
        jit = jit_kernels()
        if jit is None or not _jit_f32(x) or x.ndim != 2 or not x.size:
            return None
        p, lse = np.empty_like(x), np.empty((x.shape[0], 1), x.dtype)
        return (NumpyBuffer(p), NumpyBuffer(lse)) if jit.softmax_lse_rows(x, p, lse) else None

    def softmax_backward_rows_(self, p: Buffer, scale: float = 1.0) -> bool:
        gp, pa = self.data, p.data
        jit = jit_kernels()
        if (jit is None or not _jit_f32(gp) or not _jit_f32(pa) or gp.shape != pa.shape or gp.ndim < 1
                or not gp.size or not gp.flags.writeable):
            return False
        n = gp.shape[-1]
        g2, p2 = gp.reshape(-1, n), pa.reshape(-1, n)
        pieces = threads.split(g2.shape[0], g2.size)
        threads.run(jit.softmax_backward_rows, [(g2[lo:hi], p2[lo:hi], scale) for lo, hi in pieces])
        return True

    @classmethod
    def adam_steps_(
        cls, updates: list[tuple[Buffer, Buffer, Buffer, Buffer, float, float]], beta1: float, beta2: float,
        decay: float, eps: float,
    ) -> list[tuple[Buffer, Buffer, Buffer, Buffer, float, float]]:
        jit = jit_kernels()
        if jit is None:
            return updates
        flat, left, taken = [], [], []
        # written out rather than with any()/all() over generators: this loop runs for every
        # parameter on every step, and the generators cost more than the checks
        for u in updates:
            p, g, m, v = u[0], u[1], u[2], u[3]
            if (p.__class__ is not NumpyBuffer or g.__class__ is not NumpyBuffer
                    or m.__class__ is not NumpyBuffer or v.__class__ is not NumpyBuffer):
                left.append(u)
                continue
            pa, ga, ma, va = p.data, g.data, m.data, v.data  # type: ignore[attr-defined]
            if ga.__class__ is not _ndarray:
                ga = np.asarray(ga)  # a 0-d gradient computed as a NumPy scalar
            shape = pa.shape
            if (not (_jit_f32(pa) and _jit_f32(ga) and _jit_f32(ma) and _jit_f32(va))
                    or ga.shape != shape or ma.shape != shape or va.shape != shape
                    or not (pa.flags.writeable and ma.flags.writeable and va.flags.writeable)):
                left.append(u)
                continue
            taken.append(u)
            if pa.size:
                flat.append((pa.reshape(-1), ga.reshape(-1), ma.reshape(-1), va.reshape(-1), u[4], u[5]))
        if not flat:
            return left
        def row(t: np.ndarray, r: int, i: int, lo: int, hi: int) -> None:
            jit.describe_adam_row(t, r, *flat[i][:4], lo, hi, *flat[i][4:])

        table, rows = _table(jit.ADAM_FIELDS, [e[0].size for e in flat], row)
        _run_jobs(jit, jit.describe_adam, [(table, lo, hi, beta1, beta2, decay, eps) for lo, hi in rows])
        _bump_all([b for u in taken for b in (u[0], u[2], u[3])])
        return left


    @classmethod
    def sum_squares_all(cls, bufs: list[Buffer]) -> NumpyBuffer | None:
        spans = _spans(bufs)
        if spans is None:
            return None
        jit, table, bands = spans
        out = np.empty((len(bands), 8), np.float64)  # each job's sum a 64-byte line from the next
        _run_jobs(jit, jit.describe_sum_squares,
                  [(table, lo, hi, out[k]) for k, (lo, hi) in enumerate(bands)])
        return NumpyBuffer(np.asarray(out[:, 0].sum(), np.float32))

    @classmethod
    def mul_all_(cls, bufs: list[Buffer], factor: float) -> bool:
        spans = _spans(bufs)
        if spans is None or not all(cast(NumpyBuffer, b).data.flags.writeable for b in bufs):
            return False
        jit, table, bands = spans
        _run_jobs(jit, jit.describe_scale, [(table, lo, hi, factor) for lo, hi in bands])
        _bump_all(bufs)
        return True


def _end_to_end(sizes: list[int]) -> list[list[tuple[int, int, int]]]:
    """Arrays of ``sizes`` elements laid end to end, cut into one band of near-equal work per thread
    (an array cut where a band ends): per band, its ``(array index, start, end)`` pieces."""
    total = sum(sizes)
    bands, i, done = [], 0, 0
    for lo, hi in threads.split(total, total):
        band, need = [], hi - lo
        while need:
            while not sizes[i]:
                i += 1
            take = min(sizes[i] - done, need)
            band.append((i, done, done + take))
            need, done = need - take, done + take
            if done == sizes[i]:
                i, done = i + 1, 0
        bands.append(band)
    return bands


def _table(fields: int, sizes: list[int], describe_row: Any) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """A job table over arrays of ``sizes`` laid end to end (see ``_end_to_end``), a row per piece
    filled by ``describe_row(table, row, array index, start, end)``, and each band's rows of it."""
    bands = _end_to_end(sizes)
    table = np.empty((sum(len(b) for b in bands), fields), np.int64)
    rows, r = [], 0
    for band in bands:
        first = r
        for i, lo, hi in band:
            describe_row(table, r, i, lo, hi)
            r += 1
        rows.append((first, r))
    return table, rows


def _spans(bufs: list[Buffer]) -> tuple[Any, np.ndarray, list[tuple[int, int]]] | None:
    """The compiled kernels, a table of spans over ``bufs`` laid end to end, and each band's rows of
    it; None unless every buffer is this backend's C-contiguous float32 array."""
    jit = jit_kernels()
    if jit is None or not bufs:
        return None
    arrays = []
    for b in bufs:
        a = b.data if b.__class__ is NumpyBuffer else None  # type: ignore[attr-defined]
        if a is None or not _jit_f32(a):
            return None
        arrays.append(a.reshape(-1))
    table, rows = _table(2, [a.size for a in arrays],
                         lambda t, r, i, lo, hi: jit.describe_span(t, r, arrays[i], lo, hi))
    return jit, table, rows


# The clock time of the last in-place write into each array's memory, keyed by the id of the
# array that owns the memory, so that a write through one view is seen by every buffer on
# the same memory (a slice edited under no_grad, a saved reshape of an edited tensor).
# Keying by id is exact without weak references: a buffer saved at time t keeps its owner
# alive from before t, so a record later than t under that id was a write to that owner.
# Records of arrays that died stay until their address is reused; past _WRITTEN_MAX distinct
# arrays the table starts afresh (a check can then miss a write made before the reset).
_written: dict[int, int] = {}
_WRITTEN_MAX = 1 << 18


def _memory_order(d: Any) -> tuple[int, ...] | None:
    """The axes of ``d`` from the largest stride to the smallest (PyTorch's preserve_format order), or
    None when that is the logical order (or ``d`` is no plain array, or has negative strides)."""
    if d.__class__ is not _ndarray or d.flags.c_contiguous or d.ndim < 2:
        return None
    strides = d.strides
    if min(strides) < 0:
        return None
    # an axis of length 1 moves no address, so those go first and only the others are ordered
    ones = [i for i, n in enumerate(d.shape) if n == 1]
    rest = [i for i, n in enumerate(d.shape) if n != 1]
    ranked = sorted(rest, key=lambda i: (-strides[i], i))
    return None if ranked == rest else tuple(ones + ranked)


def _address(d: np.ndarray) -> int:
    return d.__array_interface__["data"][0]


def _laid_out_like(arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    """New arrays, each laid out like one of ``arrays``; where those are disjoint views of one
    owner (q, k and v viewed out of one packed projection), views of one new array at the same
    places, so that their gradients lie side by side as the inputs did and the split's backward
    joins them without a copy (``NumpyBuffer.joined``). Fresh arrays otherwise, and always where
    the views overlap (attention of x with itself)."""
    first = arrays[0]
    owner = _owner(first) if first.base is not None else None
    if (owner is None or not owner.flags.c_contiguous or owner.dtype != first.dtype
            or any(a.base is None or _owner(a) is not owner or a.shape != first.shape
                   or a.strides != first.strides for a in arrays)):
        return [np.empty_like(a) for a in arrays]
    start = _address(owner)
    offsets = [_address(a) - start for a in arrays]
    if not _disjoint(first.shape, first.strides, first.itemsize, offsets):
        return [np.empty_like(a) for a in arrays]
    twin = np.empty(owner.size, owner.dtype)
    return [np.ndarray(first.shape, first.dtype, twin, o, first.strides) for o in offsets]


def _disjoint(shape: tuple[int, ...], strides: tuple[int, ...], itemsize: int, offsets: list[int]) -> bool:
    """Whether views of one (shape, strides) at ``offsets`` (bytes) touch no element twice.

    The offsets, sorted, must step evenly (one more axis of the stacked views); then it is enough
    that every axis, smallest stride first, steps past all the elements the smaller ones span.
    """
    offs = sorted(offsets)
    if any(o % itemsize for o in offs):
        return False
    axes = [(st, n) for st, n in zip(strides, shape) if n > 1]
    if len(offs) > 1:
        gap = offs[1] - offs[0]
        if gap <= 0 or any(b - a != gap for a, b in zip(offs, offs[1:])):
            return False
        axes.append((gap, len(offs)))
    span = itemsize
    for st, n in sorted(axes):
        if st < span:
            return False
        span = st * (n - 1) + span
    return True


def _owner(d: Any) -> Any:
    """The array that owns the memory ``d`` looks at (``d`` itself when it owns it)."""
    b = d.base
    while b.__class__ is _ndarray:
        d, b = b, b.base
    return d


def _bump_all(bufs: list[Any]) -> None:
    """``_bump`` each of ``bufs``, all at one new clock time (an optimizer step's in-place writes)."""
    now = inplace_clock.now = inplace_clock.now + 1
    if len(_written) > _WRITTEN_MAX:
        _written.clear()
    for b in bufs:
        b.version = now
        d = b.data
        if d.__class__ is _ndarray:
            _written[id(_owner(d))] = now


def _apart(shape: tuple[int, ...]) -> np.ndarray:
    """An uninitialised float32 array whose vectors along the last axis share no cache line: each
    thread's own sums go in one, and one line written by two cores moves between them on every
    write (LayerNorm's backward in two bands of rows took 3x its single-thread time so)."""
    n = shape[-1]
    padded = -(-n // 16) * 16 + 16  # 64-byte lines of float32, one line more as the gap
    return np.empty(shape[:-1] + (padded,), np.float32)[..., :n]


def _run_jobs(jit: Any, describe: Any, parts: list[tuple]) -> None:
    """Run one compiled job per args in ``parts`` (``describe(*args, job)`` fills each; see
    ``numpy_jit.run_job``), concurrently: they must write to disjoint memory."""
    jobs = []
    for args in parts:
        job = np.empty(jit.JOB_FIELDS, np.int64)
        describe(*args, job)
        jobs.append(job)
    _run_described(jit, jobs)


def _run_described(jit: Any, jobs: list[np.ndarray]) -> None:
    # where the workers wait in compiled code no part takes the GIL; else each runs as a Python
    # job. One thread or many, every part runs the same compiled code, so the bits agree.
    if len(jobs) == 1:
        jit.run_job(jobs[0])
        return
    kernels = threads.compiled_waits()
    if kernels is None:
        threads.run(jit.run_job, [(job,) for job in jobs])
    else:
        threads.run_compiled(jobs, kernels)


def _maybe_split(ufunc: Any, a: Any, b: Any, dtype: Any = None) -> Any:
    """``ufunc(a, b)``, on ember's threads when ``a`` is a large float array (ReLU's maximum and mask,
    clamps); ``dtype`` as in ``_split_binary``."""
    if a.__class__ is _ndarray and a.size >= threads.MIN_PASS_ELEMENTS:
        r = _split_binary(ufunc, a, b, dtype)
        if r is not None:
            return r
    return ufunc(a, b)


def _split_binary(ufunc: Any, a: np.ndarray, b: Any, dtype: Any = None) -> np.ndarray | None:
    """``ufunc(a, b)`` for a large float ``a``, cut along the result's first axis; None: not split.

    ``b`` may be a float or bool array (a mask) or a Python number; ``dtype`` is the result's
    (a comparison's bool), by default NumPy's promotion of the two.
    """
    # NumPy gives a result the memory order of its operands (a sum of transposed views comes out
    # transposed, so a later .contiguous() is free), and so does this: C-ordered operands, or ones
    # laid out alike in another order whose outermost axis is the first (a convolution's output,
    # channels innermost), which bands along that axis cut into contiguous blocks
    if a.dtype.kind != "f" or not a.ndim:
        return None
    dense = a.flags.c_contiguous
    if not dense and not _outer_first_dense(a):
        return None
    if b.__class__ is _ndarray:
        if b.dtype.kind not in "fb":
            return None
        if dense and b.flags.c_contiguous:
            shape = a.shape if b.shape == a.shape else np.broadcast_shapes(a.shape, b.shape)
        elif b.shape == a.shape and _same_layout(a, b):
            shape = a.shape
        else:
            return None
    elif b.__class__ is float or b.__class__ is int or (isinstance(b, np.generic) and b.dtype.kind == "f"):
        shape = a.shape
    else:
        return None
    pieces = threads.split(shape[0], a.size, threads.MIN_PASS_ELEMENTS)
    if len(pieces) == 1:
        return None
    # float32 arithmetic of same-shaped arrays, and ReLU's maximum with 0, as compiled jobs: no GIL
    # on either side (GELU's backward product, a convolution's ReLU)
    op = _COMPILED_BINARY.get(ufunc)
    r = None
    if op is not None and b.__class__ is _ndarray and b.shape == a.shape:
        r = _compiled_pass(op, a, b)
    elif ufunc is np.maximum and (b.__class__ is int or b.__class__ is float) and b == 0:
        r = _compiled_pass(_RELU, a, a)
    if r is not None:
        return r
    kind = np.result_type(a, b) if dtype is None else dtype
    out = np.empty(shape, kind) if dense else np.empty_like(a, dtype=kind)
    threads.run(_ufunc_to, [(ufunc, _rows(a, shape, lo, hi), _rows(b, shape, lo, hi), out[lo:hi])
                            for lo, hi in pieces])
    return out


_COMPILED_BINARY = {np.add: 0, np.subtract: 1, np.multiply: 2}
_MASK_POSITIVE, _RELU = 3, 4  # numpy_jit._binary's where(a <= 0, 0, b) and maximum(a, 0)


def _compiled_pass(op: int, a: Any, b: Any) -> np.ndarray | None:
    """``numpy_jit._binary``'s ``op`` over large same-shaped float32 arrays laid out alike without
    gaps (C order, or a convolution's output: channels innermost), as compiled jobs in bands along
    axis 0, the result laid out as ``a``; None where that does not apply."""
    if (a.__class__ is not _ndarray or b.__class__ is not _ndarray or a.size < threads.MIN_PASS_ELEMENTS
            or a.dtype != np.float32 or b.dtype != np.float32 or a.shape != b.shape):
        return None
    jit = jit_kernels()
    if jit is None:
        return None
    if a.flags.c_contiguous and b.flags.c_contiguous:
        out = np.empty(a.shape, np.float32)
        fa, fb, fo = a.reshape(-1), b.reshape(-1), out.reshape(-1)
    else:
        order = _memory_order(a)
        if order is None or order[0] != 0:
            return None
        out = np.empty_like(a)
        ta, tb, to = a.transpose(order), b.transpose(order), out.transpose(order)
        if not (ta.flags.c_contiguous and tb.flags.c_contiguous and to.flags.c_contiguous):
            return None
        fa, fb, fo = ta.reshape(-1), tb.reshape(-1), to.reshape(-1)
    row = a.size // a.shape[0]  # axis 0 is the outermost in memory: its bands are runs of it
    bands = [(lo * row, hi * row) for lo, hi in threads.split(a.shape[0], a.size, threads.MIN_PASS_ELEMENTS)]
    _run_jobs(jit, jit.describe_binary, [(op, fa[lo:hi], fb[lo:hi], fo[lo:hi]) for lo, hi in bands])
    return out


def _ufunc_to(ufunc: Any, a: Any, b: Any, out: np.ndarray) -> None:
    ufunc(a, b, out=out)  # out by keyword: np.maximum takes no third positional argument


_NUMPY_2_1 = np.lib.NumpyVersion(np.__version__) >= "2.1.0"


def _reshaped_view(d: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    """``d`` reshaped without a copy, or None when its strides do not allow it."""
    try:
        if _NUMPY_2_1:
            return d.reshape(shape, copy=False)
        v = d.view()
        v.shape = shape  # NumPy 1.x: raises where a copy would be needed
        return v
    except (ValueError, AttributeError):
        return None


def _copy_c(d: np.ndarray) -> np.ndarray:
    """A C-ordered copy of ``d``, made by ember's threads along the first axis long enough to cut."""
    out = np.empty(d.shape, d.dtype)
    axis = next((i for i, n in enumerate(d.shape) if n >= threads.get_num_threads()), None)
    pieces = [(0, 0)] if axis is None else threads.split(d.shape[axis], d.size, threads.MIN_PASS_ELEMENTS)
    if len(pieces) == 1:
        np.copyto(out, d)
        return out
    lead = (slice(None),) * axis  # type: ignore[operator]
    threads.run(np.copyto, [(out[lead + (slice(lo, hi),)], d[lead + (slice(lo, hi),)]) for lo, hi in pieces])
    return out


def _attention_operands(q: Any, k: Any, v: Any) -> bool:
    """Whether the fused attention takes q, k, v: float32 arrays with the same leading axes, whose
    matrices BLAS can read in place (each with a unit stride along one of its last two axes)."""
    for x in (q, k, v):
        if x.__class__ is not _ndarray or x.dtype != np.float32 or x.ndim < 3:
            return False
        if numpy_linalg.blas_ready(x) is not x:
            return False
    return (q.shape[:-2] == k.shape[:-2] == v.shape[:-2] and q.shape[-1] == k.shape[-1]
            and k.shape[-2] == v.shape[-2])


def _batch_bands(lead: tuple[int, ...], work: float) -> list[tuple[Any, ...]]:
    """Indices cutting arrays with leading axes ``lead`` into bands of whole matrices, one per thread.

    Leading axes of length 1 are indexed away, so each band of a contiguous array stays contiguous.
    """
    fixed: tuple[Any, ...] = ()
    while len(fixed) < len(lead) - 1 and lead[len(fixed)] == 1:
        fixed += (0,)
    n = lead[len(fixed)]
    pieces = threads.split(n, work, threads.MIN_FLOPS // 2)  # work in multiply-adds
    return [fixed + (slice(lo, hi),) for lo, hi in pieces]


def _max_pool_jobs(jit: Any, kind: int, geometry: tuple[int, ...], *arrays: np.ndarray) -> None:
    """Run the max-pooling kernel ``kind`` (``geometry`` and arrays as numpy_jit.describe_max_pool
    takes them) over bands of whole images, one per thread."""
    c, h, w, oh, ow, kh, kw = geometry[:7]
    n = arrays[0].shape[0]
    plan = np.empty(jit.MAX_POOL_FIELDS, np.int64)
    jit.describe_max_pool(plan, np.array(geometry, np.int64), *arrays)
    _run_jobs(jit, jit.describe_band,
              [(kind, plan, lo, hi) for lo, hi in threads.split(n, n * c * (h * w + oh * ow * kh * kw))])


def _attention_part(q: Any, k: Any, v: Any, p: Any, o: Any, scale: float, causal: bool, jit: Any) -> None:
    # one thread's band of whole matrices, start to end: its scores, weights and output stay in
    # its own core's cache, and the band costs one hand-off, not one per step
    np.matmul(q, np.swapaxes(k, -1, -2), out=p)
    jit.softmax_rows(p.reshape((-1,) + p.shape[-2:]), scale, causal)
    np.matmul(p, v, out=o)


def _attention_backward_part(g: Any, p: Any, q: Any, k: Any, v: Any, gq: Any, gk: Any, gv: Any,
                             scale: float, jit: Any) -> None:
    np.matmul(np.swapaxes(p, -1, -2), g, out=gv)
    gs = np.matmul(g, np.swapaxes(v, -1, -2))
    jit.softmax_backward_rows(gs.reshape(-1, gs.shape[-1]), p.reshape(-1, p.shape[-1]), scale)
    np.matmul(gs, k, out=gq)
    np.matmul(np.swapaxes(gs, -1, -2), q, out=gk)


def _outer_first_dense(d: np.ndarray) -> bool:
    """Whether d fills its memory without gaps in some axis order that starts with axis 0."""
    order = _memory_order(d)
    return order is not None and order[0] == 0 and d.transpose(order).flags.c_contiguous


def _same_layout(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether a and b step through memory alike (strides equal in elements)."""
    return all(sa // a.itemsize == sb // b.itemsize for sa, sb in zip(a.strides, b.strides))


def _add_windows(w: np.ndarray, out: np.ndarray, kernel: tuple[int, ...], stride: tuple[int, ...],
                 dilation: tuple[int, ...], axes: tuple[int, ...]) -> None:
    # col2im as one strided add per kernel position
    for offs in np.ndindex(*kernel):
        idx = [slice(None)] * out.ndim
        for a, o, s, d in zip(axes, offs, stride, dilation):
            idx[a] = slice(o * d, o * d + (w.shape[a] - 1) * s + 1, s)
        out[tuple(idx)] += w[(Ellipsis, *offs)]


def _concat_rows(arrays: list[np.ndarray], axis: int, out: np.ndarray) -> None:
    np.concatenate(arrays, axis=axis, out=out)


def _split_into(ufunc: Any, d: np.ndarray, b: np.ndarray) -> bool:
    """In place ``d = ufunc(d, b)`` (b broadcast to d) cut along d's first axis; False: not split."""
    if not d.ndim or d.dtype.kind != "f" or b.__class__ is not _ndarray or b.ndim > d.ndim:
        return False
    pieces = threads.split(d.shape[0], d.size, threads.MIN_PASS_ELEMENTS)
    if len(pieces) == 1:
        return False
    threads.run(_ufunc_into, [(ufunc, d[lo:hi], _rows(b, d.shape, lo, hi)) for lo, hi in pieces])
    return True


def _ufunc_into(ufunc: Any, d: np.ndarray, b: Any) -> None:
    ufunc(d, b, out=d, casting="unsafe")


def _rows(x: Any, shape: tuple[int, ...], lo: int, hi: int) -> Any:
    """Rows lo:hi of ``x`` as it broadcasts to ``shape`` (all of x where it broadcasts along axis 0)."""
    if x.__class__ is _ndarray and x.ndim == len(shape) and x.shape[0] != 1:
        return x[lo:hi]
    return x


def _jit_f32(a: Any) -> bool:
    """Whether a compiled kernel can take ``a``: a C-contiguous float32 array."""
    return a.__class__ is _ndarray and a.dtype == np.float32 and a.flags.c_contiguous


# Scratch arrays for the in-place updates above. Small ones come from NumPy's allocator
# (its cache is faster than any pool); large ones are reused, since fresh large memory
# costs page faults on every step. A call pops one (threads never share one), grows it
# when too small and hands it back: a single thread keeps at most one.
_SCRATCH: list[np.ndarray] = []
_POOLED_BYTES = 1 << 20


def _scratch(like: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """Return (pooled bytes to ``_release``, or None; an uninitialised array shaped like ``like``)."""
    n = like.nbytes
    if n < _POOLED_BYTES:
        return None, np.empty(like.shape, like.dtype)
    try:
        raw = _SCRATCH.pop()
    except IndexError:
        raw = None
    if raw is None or raw.nbytes < n:
        raw = np.empty(n, dtype=np.uint8)
    return raw, raw[:n].view(like.dtype).reshape(like.shape)


def _release(raw: np.ndarray | None) -> None:
    if raw is not None:
        _SCRATCH.append(raw)


def _unwrap_index(index: Any) -> Any:
    if index.__class__ is tuple:
        return tuple(i.data if i.__class__ is NumpyBuffer else i for i in index)
    return index.data if index.__class__ is NumpyBuffer else index


# the one-hot matrix of an index-add (indices x table rows) stays under 4 MB of float32
_ONEHOT_MAX = 1 << 20
_ONES: dict[tuple[int, Any], np.ndarray] = {}


def _ones(n: int, dtype: Any) -> np.ndarray:
    v = _ONES.get((n, dtype))
    if v is None:
        if len(_ONES) > 256:
            _ONES.clear()
        v = _ONES[(n, dtype)] = np.ones(n, dtype)
    return v


_ZEROS: dict[tuple[int, Any], np.ndarray] = {}


def _zeros(n: int, dtype: Any) -> np.ndarray:
    v = _ZEROS.get((n, dtype))
    if v is None:
        if len(_ZEROS) > 256:
            _ZEROS.clear()
        v = _ZEROS[(n, dtype)] = np.zeros(n, dtype)
    return v


_vecdot = getattr(np, "vecdot", None)  # NumPy >= 2.0; dot_last falls back to einsum before that

# Elements per block of the blocked kernels: a block's few float32 temporaries (256 KB each) stay in
# the L2 cache; measured on GELU, 64k-element blocks are 1.1x faster than 32k, 2.5x than whole arrays.
_BLOCK = 1 << 16
# R(t) with Phi(-a) = exp(-a^2/2) R(t), t = 1 / (1 + a/5), a >= 0: a weighted minimax fit of degree 6,
# highest power first (negated: the kernel forms 0.5 - Phi(-a) = 0.5 - exp(-a^2/2) R(t)).
_GELU_R_NEG = tuple(np.float32(-c) for c in (
    1.09788072, -2.92423288, 4.11371135, -3.05193537, 1.50298027, -0.276407828, 0.0380037339))
_F32_INV_SQRT_2PI = np.float32(1 / math.sqrt(2 * math.pi))


def _gelu_block(
    x: np.ndarray, y: np.ndarray, d: np.ndarray, a: np.ndarray, t: np.ndarray, u: np.ndarray
) -> None:
    """Write GELU(x) into y and its derivative into d; a, t, u are scratch blocks of x's size."""
    f = np.float32
    np.abs(x, out=a)
    np.add(a, f(5.0), out=t)
    np.divide(f(5.0), t, out=t)  # t = 1 / (1 + |x| / 5)
    r = _GELU_R_NEG
    np.multiply(t, r[0], out=u)  # u = -R(t) by Horner's rule
    for c in r[1:-1]:
        u += c
        u *= t
    u += r[-1]
    np.multiply(x, x, out=t)
    t *= f(-0.5)
    np.exp(t, out=t)  # t = exp(-x^2/2)
    u *= t
    u += f(0.5)  # u = 0.5 - Phi(-|x|)
    np.multiply(x, f(0.5), out=y)
    a *= u
    y += a  # x Phi(x) = x/2 + |x| (0.5 - Phi(-|x|)): no cancellation on either side
    np.copysign(u, x, out=u)
    u += f(0.5)  # Phi(x)
    np.multiply(x, t, out=d)
    d *= _F32_INV_SQRT_2PI
    d += u  # Phi(x) + x pdf(x)


def _keep_freed_memory() -> None:
    """Ask glibc's malloc to keep freed array memory for reuse instead of handing it back to the kernel.

    By default a freed block above ~128 KB goes back to the kernel (munmap, or a trim of the heap top),
    and the next array of that size is faulted in and zero-filled again page by page: measured on the
    GPT benchmark, ~6,500 page faults and a third of the time of each training step. With allocations
    up to 64 MB served from the heap and the heap trimmed only above 1 GB free, a training loop reuses
    its memory from step to step, as PyTorch's caching allocator does on a GPU. The process keeps
    its peak heap (up to 1 GB of it free) instead of returning it. This is a process-wide setting,
    made once at import on glibc systems; ``EMBER_MALLOC_TUNING=0`` leaves malloc as it is.
    """
    import ctypes
    import os
    import sys

    if os.environ.get("EMBER_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc
        return
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
    mallopt(m_mmap_threshold, 64 << 20)
    mallopt(m_trim_threshold, 1 << 30)


_keep_freed_memory()

_erf_vec = np.frompyfunc(math.erf, 1, 1)
# coefficients of P(t) in erfc's rational approximation, highest power first
_ERFC_POLY = (0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418,
              0.37409196, 1.00002368, -1.26551223)


def _erf64(x: np.ndarray) -> np.ndarray:
    # float64 must be exact for gradcheck: use the C library's erf per element
    return np.asarray(_erf_vec(x), dtype=np.float64)
