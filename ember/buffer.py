"""Layer 1 of 4: Buffer, an n-d array on a device, and the primitive contract.

A Buffer holds one backend array and offers a small fixed set of primitives. The
Function layer above writes every forward and backward with these, so a new device
is one new file in ``ember/backend/`` that subclasses Buffer and implements them;
nothing above changes. ``ember/backend/numpy_cpu.py`` is the reference backend.

The contract (all methods return new Buffers unless named ``*_``):

- elementwise unary: ``neg exp log log2 sqrt sin cos tanh abs sign erf`` (the
  operators ``-b``), ``cast(dtype)``
- elementwise binary, with NumPy broadcasting and Python scalars on either side:
  ``+ - * / ** maximum minimum`` and comparisons ``< <= > >= == !=``
- ternary: ``where(cond, a, b)``
- reductions over ``axis`` (int, tuple or None) with ``keepdims``: ``sum max min
  argmax argmin cumsum``, plus ``sort``/``argsort`` and ``topk``
- movement: ``reshape permute expand pad getitem (basic and advanced indexing) flip
  concatenate contiguous``
- ``matmul``, ``einsum(subscripts, *buffers)`` (explicit letters, no ellipsis)
- gather and scatter-add: ``take_along(indices, axis)``, ``scatter_add(indices, src,
  axis)``, ``index_add(index_tuple, src)``
- creation and random: ``full arange eye from_data uniform normal randint`` on the
  class, with a seedable generator
- in-place update: ``assign_(value, index)``, ``iadd_ isub_ imul_ idiv_``, ``copy_``

Optional fused kernels (``layer_norm_rows``, ``softmax_rows_``, ``adam_steps_`` ...) let a
backend run a hot formula in one compiled pass. The base class answers "not here", and
the Function that asks then composes the same formula from the primitives.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ember import dtypes


class Buffer:
    """An array on a device. Subclasses implement the primitives for one backend.

    Attributes:
        data: the backend's own array object (never shown to users).
        version: the value of the global in-place clock when this buffer was last
            modified in place; autograd compares it with the time a Function was
            recorded to detect in-place edits of tensors that backward still needs.
    """

    __slots__ = ("data", "version")
    device: str = "abstract"

    def __init__(self, data: Any) -> None:
        self.data = data
        self.version = 0

    def modified_since(self, stamp: int) -> bool:
        """Whether this buffer's memory was changed in place after clock time ``stamp``.

        A backend whose buffers can share memory (views) also answers for writes made
        through another buffer on the same memory, as PyTorch's views share one version
        counter; this default sees only writes through this buffer.
        """
        return self.version > stamp

    # ---- the primitives: every backend implements each of these (numpy_cpu.py is the reference) ----
    @property
    def shape(self) -> tuple[int, ...]:
        raise NotImplementedError
    @property
    def ndim(self) -> int:
        raise NotImplementedError
    @property
    def size(self) -> int:
        raise NotImplementedError
    @property
    def dtype(self) -> dtypes.dtype:
        raise NotImplementedError
    def format(self) -> str:
        """The values as PyTorch prints them inside ``tensor(...)``."""
        raise NotImplementedError
    @staticmethod
    def from_data(data: Any, dtype: dtypes.dtype | None = None, copy: bool = True) -> Buffer:
        """Make a buffer from nested lists, scalars or arrays (``dtype=None`` infers as PyTorch)."""
        raise NotImplementedError
    @staticmethod
    def full(shape: tuple[int, ...], value: Any, dtype: dtypes.dtype) -> Buffer:
        raise NotImplementedError
    @staticmethod
    def scalar(value: Any, dtype: dtypes.dtype) -> Buffer:
        """A 0-d buffer holding one Python number (the fast path for ``x * 2.0``)."""
        raise NotImplementedError
    @staticmethod
    def empty(shape: tuple[int, ...], dtype: dtypes.dtype) -> Buffer:
        raise NotImplementedError
    @staticmethod
    def arange(start: float, end: float, step: float, dtype: dtypes.dtype) -> Buffer:
        raise NotImplementedError
    @staticmethod
    def linspace(start: float, end: float, steps: int, dtype: dtypes.dtype) -> Buffer:
        raise NotImplementedError
    @staticmethod
    def eye(n: int, m: int, dtype: dtypes.dtype) -> Buffer:
        raise NotImplementedError
    @staticmethod
    def uniform(
        shape: tuple[int, ...], low: float, high: float, dtype: dtypes.dtype, gen: Any | None = None
    ) -> Buffer:
        """Uniform samples in [low, high) from ``gen`` (default: the global generator)."""
        raise NotImplementedError
    @staticmethod
    def normal(
        shape: tuple[int, ...], mean: float, std: float, dtype: dtypes.dtype, gen: Any | None = None
    ) -> Buffer:
        """Normal samples from ``gen`` (default: the global generator)."""
        raise NotImplementedError
    @staticmethod
    def randint(
        low: int, high: int, shape: tuple[int, ...], dtype: dtypes.dtype, gen: Any | None = None
    ) -> Buffer:
        """Integers in [low, high) from ``gen`` (default: the global generator)."""
        raise NotImplementedError
    @staticmethod
    def permutation(n: int, dtype: dtypes.dtype, gen: Any | None = None) -> Buffer:
        """A random permutation of 0 .. n-1 from ``gen`` (default: the global generator)."""
        raise NotImplementedError
    @staticmethod
    def new_rng(seed: int) -> Any:
        """A random stream of this backend's kind, independent of the global one."""
        raise NotImplementedError
    def multinomial(self, num_samples: int, replacement: bool) -> Buffer:
        """Sample column indices from each row of non-negative weights (1-d or 2-d)."""
        raise NotImplementedError
    def bernoulli(self) -> Buffer:
        raise NotImplementedError
    def numpy(self) -> Any:
        raise NotImplementedError
    def item(self) -> Any:
        raise NotImplementedError
    def tolist(self) -> Any:
        raise NotImplementedError
    def cast(self, dtype: dtypes.dtype) -> Buffer:
        raise NotImplementedError
    def copy(self) -> Buffer:
        raise NotImplementedError
    def __neg__(self) -> Buffer:
        raise NotImplementedError
    def __add__(self, o: Any) -> Buffer:
        raise NotImplementedError
    def __radd__(self, o: Any) -> Buffer:
        raise NotImplementedError
    def __sub__(self, o: Any) -> Buffer:
        raise NotImplementedError
    def __rsub__(self, o: Any) -> Buffer:
        raise NotImplementedError
    def __mul__(self, o: Any) -> Buffer:
        raise NotImplementedError
    def __rmul__(self, o: Any) -> Buffer:
        raise NotImplementedError
    def __truediv__(self, o: Any) -> Buffer:
        raise NotImplementedError
    def __rtruediv__(self, o: Any) -> Buffer:
        raise NotImplementedError
    def __pow__(self, o: Any) -> Buffer:
        raise NotImplementedError
    def __rpow__(self, o: Any) -> Buffer:
        raise NotImplementedError
    def __matmul__(self, o: Buffer) -> Buffer:
        raise NotImplementedError
    @staticmethod
    def einsum(subscripts: str, *operands: Buffer) -> Buffer:
        """Einstein summation over explicit subscripts (``'bij,bjk->bik'``: letters only, no ellipsis)."""
        raise NotImplementedError
    def floordiv(self, o: Any) -> Buffer:
        raise NotImplementedError
    def mod(self, o: Any) -> Buffer:
        raise NotImplementedError
    def __lt__(self, o: Any) -> Buffer:
        raise NotImplementedError
    def __le__(self, o: Any) -> Buffer:
        raise NotImplementedError
    def __gt__(self, o: Any) -> Buffer:
        raise NotImplementedError
    def __ge__(self, o: Any) -> Buffer:
        raise NotImplementedError
    def eq(self, o: Any) -> Buffer:
        raise NotImplementedError
    def ne(self, o: Any) -> Buffer:
        raise NotImplementedError
    def logical_and(self, o: Any) -> Buffer:
        raise NotImplementedError
    def logical_or(self, o: Any) -> Buffer:
        raise NotImplementedError
    def logical_xor(self, o: Any) -> Buffer:
        raise NotImplementedError
    def logical_not(self) -> Buffer:
        raise NotImplementedError
    def maximum(self, o: Any) -> Buffer:
        raise NotImplementedError
    def minimum(self, o: Any) -> Buffer:
        raise NotImplementedError
    def exp(self) -> Buffer:
        raise NotImplementedError
    def log(self) -> Buffer:
        raise NotImplementedError
    def log2(self) -> Buffer:
        raise NotImplementedError
    def log1p(self) -> Buffer:
        raise NotImplementedError
    def expm1(self) -> Buffer:
        raise NotImplementedError
    def sqrt(self) -> Buffer:
        raise NotImplementedError
    def sin(self) -> Buffer:
        raise NotImplementedError
    def cos(self) -> Buffer:
        raise NotImplementedError
    def tanh(self) -> Buffer:
        raise NotImplementedError
    def abs(self) -> Buffer:
        raise NotImplementedError
    def sign(self) -> Buffer:
        raise NotImplementedError
    def floor(self) -> Buffer:
        raise NotImplementedError
    def ceil(self) -> Buffer:
        raise NotImplementedError
    def round(self) -> Buffer:
        raise NotImplementedError
    def isnan(self) -> Buffer:
        raise NotImplementedError
    def isinf(self) -> Buffer:
        raise NotImplementedError
    def isfinite(self) -> Buffer:
        raise NotImplementedError
    def all_finite(self) -> bool:
        raise NotImplementedError
    def erf(self) -> Buffer:
        raise NotImplementedError
    def where(self, a: Any, b: Any) -> Buffer:
        """Elementwise ``a if self else b``; ``self`` is a bool buffer."""
        raise NotImplementedError
    def clip(self, lo: Any, hi: Any) -> Buffer:
        raise NotImplementedError
    def atan2(self, o: Any) -> Buffer:
        """The angle of the point (o, self): arctan(self / o) in the right quadrant, in [-pi, pi]."""
        raise NotImplementedError
    def fmod(self, o: Any) -> Buffer:
        """Remainder with the sign of the dividend (C's fmod), unlike ``mod``."""
        raise NotImplementedError
    def trunc(self) -> Buffer:
        raise NotImplementedError
    def sum(self, axis: Any = None, keepdims: bool = False) -> Buffer:
        raise NotImplementedError
    def max(self, axis: Any = None, keepdims: bool = False) -> Buffer:
        raise NotImplementedError
    def min(self, axis: Any = None, keepdims: bool = False) -> Buffer:
        raise NotImplementedError
    def prod(self, axis: Any = None, keepdims: bool = False) -> Buffer:
        raise NotImplementedError
    def argmax(self, axis: int | None = None, keepdims: bool = False) -> Buffer:
        raise NotImplementedError
    def argmin(self, axis: int | None = None, keepdims: bool = False) -> Buffer:
        raise NotImplementedError
    def cumsum(self, axis: int) -> Buffer:
        raise NotImplementedError
    def cumprod(self, axis: int) -> Buffer:
        raise NotImplementedError
    def any(self, axis: Any = None, keepdims: bool = False) -> Buffer:
        raise NotImplementedError
    def all(self, axis: Any = None, keepdims: bool = False) -> Buffer:
        raise NotImplementedError
    def argsort(self, axis: int, descending: bool, stable: bool = True) -> Buffer:
        raise NotImplementedError
    def topk(self, k: int, axis: int, largest: bool = True) -> Buffer:
        """Indices of the ``k`` largest (or smallest) entries along ``axis``, best first (NaN is largest)."""
        raise NotImplementedError
    def reshape(self, shape: tuple[int, ...]) -> Buffer:
        raise NotImplementedError
    def permute(self, axes: tuple[int, ...]) -> Buffer:
        raise NotImplementedError
    def expand(self, shape: tuple[int, ...]) -> Buffer:
        raise NotImplementedError
    def contiguous(self) -> Buffer:
        raise NotImplementedError
    def is_contiguous(self) -> bool:
        raise NotImplementedError
    def layout(self) -> tuple[tuple[int, ...], int]:
        """The step between neighbours along each axis and the first element's position, in
        elements, within the memory this buffer looks at (PyTorch's stride and storage offset)."""
        raise NotImplementedError
    def pad(self, widths: tuple[tuple[int, int], ...], value: float = 0.0) -> Buffer:
        """Pad with a constant; ``widths`` has a (before, after) pair per axis, all >= 0."""
        raise NotImplementedError
    def getitem(self, index: Any) -> Buffer:
        """Basic or advanced indexing (index entries may be Buffers of integers/bools)."""
        raise NotImplementedError
    def flip(self, axes: tuple[int, ...]) -> Buffer:
        raise NotImplementedError
    def roll(self, shifts: Any, axes: Any) -> Buffer:
        raise NotImplementedError
    def tril(self, k: int) -> Buffer:
        raise NotImplementedError
    def triu(self, k: int) -> Buffer:
        raise NotImplementedError
    @staticmethod
    def concatenate(bufs: Sequence[Buffer], axis: int) -> Buffer:
        raise NotImplementedError
    @staticmethod
    def stack(bufs: Sequence[Buffer], axis: int) -> Buffer:
        raise NotImplementedError
    @staticmethod
    def joined(bufs: Sequence[Buffer], axis: int) -> Buffer | None:
        """``concatenate(bufs, axis)`` with no copy where the pieces already lie side by side in
        memory (views of one array, each beginning where the one before ends): that memory, viewed
        (it shares memory with the pieces); None otherwise, as the base class always answers."""
        return None
    def windows(
        self, kernel: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...],
        axes: tuple[int, ...],
    ) -> Buffer:
        """A read-only view of every window along ``axes`` (no copy; the first half of im2col)."""
        raise NotImplementedError
    def unwindow(
        self, shape: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...],
        axes: tuple[int, ...],
    ) -> Buffer:
        """Add every window back into a zero array of ``shape``: the adjoint of ``windows`` (col2im)."""
        raise NotImplementedError
    def max_along(self, axis: int) -> tuple[Buffer, Buffer]:
        """Max over ``axis`` (removed) and the index of that maximum (uint8 when it fits)."""
        raise NotImplementedError
    def spread_along(self, index: Buffer, axis: int, size: int) -> Buffer:
        """Insert an axis of length ``size`` at ``axis``, each value at its ``index``, 0 elsewhere."""
        raise NotImplementedError
    def take_along(self, indices: Buffer, axis: int) -> Buffer:
        raise NotImplementedError
    def scatter(self, indices: Buffer, src: Any, axis: int) -> Buffer:
        """Return a copy of self with ``src`` written at ``indices`` along ``axis``."""
        raise NotImplementedError
    def scatter_add(self, indices: Buffer, src: Buffer, axis: int) -> Buffer:
        """Return a copy of self with ``src`` added at ``indices`` along ``axis`` (repeats add up)."""
        raise NotImplementedError
    def index_add(self, index: Any, src: Buffer) -> Buffer:
        """Return a copy of self with ``src`` added at ``self[index]`` (repeats add up)."""
        raise NotImplementedError
    def gather(self, indices: Buffer, axis: int) -> Buffer:
        """``out[i][j] = self[indices[i][j]][j]`` (axis 0); off ``axis``, indices may be smaller than self."""
        raise NotImplementedError
    def scatter_(self, indices: Buffer, src: Any, axis: int, accumulate: bool = False) -> None:
        """In-place ``self[indices[i][j]][j] = src[i][j]`` (axis 0), or ``+=`` with repeats adding up."""
        raise NotImplementedError
    def index_add_(self, index: Any, src: Buffer) -> None:
        """In-place ``self[index] += src`` where repeated indices add up (the adjoint of getitem)."""
        raise NotImplementedError
    def nonzero(self) -> Buffer:
        """The (n, ndim) int64 coordinates of the non-zero elements, in row-major order."""
        raise NotImplementedError
    def is_writable(self) -> bool:
        """False when in-place writes cannot land in this memory (a broadcast view, read-only data)."""
        raise NotImplementedError
    def assign_(self, value: Any, index: Any = None) -> None:
        """Write ``value`` into ``self[index]`` (or all of self when index is None)."""
        raise NotImplementedError
    def iadd_(self, o: Any) -> None:
        raise NotImplementedError
    def isub_(self, o: Any) -> None:
        raise NotImplementedError
    def imul_(self, o: Any) -> None:
        raise NotImplementedError
    def idiv_(self, o: Any) -> None:
        raise NotImplementedError
    def copy_(self, src: Any) -> None:
        raise NotImplementedError
    def accumulate_(self, o: Buffer) -> None:
        """In-place ``self += o`` for gradient accumulation; not counted as a user edit."""
        raise NotImplementedError
    def is_view(self) -> bool:
        """True when the memory belongs to another array (a view, a broadcast, a slice)."""
        raise NotImplementedError
    def memory_is_private(self) -> bool:
        """True when no other array looks at this buffer's memory (no view of it, and it is no view),
        so writing into it changes no other tensor behind autograd's back."""
        raise NotImplementedError
    def add_(self, o: Any, alpha: float = 1.0) -> None:
        """In-place ``self += alpha * o``."""
        raise NotImplementedError
    def addcmul_(self, a: Any, b: Any, value: float = 1.0) -> None:
        """In-place ``self += value * a * b``."""
        raise NotImplementedError
    def addcdiv_(self, a: Any, b: Any, value: float = 1.0) -> None:
        """In-place ``self += value * a / b``."""
        raise NotImplementedError
    def lerp_(self, end: Any, weight: Any) -> None:
        """In-place ``self += weight * (end - self)``."""
        raise NotImplementedError
    def sqrt_(self) -> None:
        raise NotImplementedError
    def maximum_(self, o: Any) -> None:
        """In-place ``self = maximum(self, o)``."""
        raise NotImplementedError
    def tmp_add_(self, o: Any) -> None:
        raise NotImplementedError
    def tmp_sub_(self, o: Any) -> None:
        raise NotImplementedError
    def tmp_mul_(self, o: Any) -> None:
        raise NotImplementedError
    def tmp_div_(self, o: Any) -> None:
        raise NotImplementedError
    def tmp_exp_(self) -> None:
        raise NotImplementedError
    def tmp_copysign_(self, o: Any) -> None:
        """``self = |self|`` with the sign of ``o``."""
        raise NotImplementedError
    def tmp_put_along_(self, indices: Buffer, values: Any, axis: int) -> None:
        """``self[indices along axis] = values`` (one index per row, as ``take_along`` reads them)."""
        raise NotImplementedError
    def tmp_index_add_(self, index: Any, src: Buffer) -> None:
        """``index_add_`` into a temporary nothing else holds, so nothing to version (the default
        versions it anyway)."""
        self.index_add_(index, src)
    def dot_last(self, o: Buffer, keepdims: bool = False) -> Buffer:
        """``(self * o).sum(-1)`` in one pass, without the product's temporary."""
        raise NotImplementedError
    def sum_last(self, keepdims: bool = False) -> Buffer:
        """``self.sum(-1)`` for the short rows of a fused kernel (a softmax, a norm).

        As fast as the device allows.
        """
        raise NotImplementedError
    def sum_lead(self) -> Buffer:
        """Sum over every axis but the last, (..., n) -> (n,): a bias or norm-weight gradient."""
        raise NotImplementedError
    def gelu_erf(self) -> tuple[Buffer, Buffer]:
        """Return ``(x Phi(x), Phi(x) + x pdf(x))``: the exact (erf) GELU and its derivative."""
        raise NotImplementedError
    def mask_positive(self, values: Buffer) -> Buffer:
        """0 where ``self <= 0``, else ``values`` (ReLU's gradient from its output, as PyTorch's
        threshold_backward: a NaN output passes the gradient, a masked inf gradient gives 0). A
        backend may compute it in one pass, with no mask in between."""
        return (self <= 0).where(0, values)

    def matmul_add(self, o: Buffer, c: Buffer) -> Buffer:
        """``self @ o + c`` with ``c`` broadcast to the product (a bias), cast to the product's dtype.

        A backend may add ``c`` as part of the product (one pass over the output instead of two).
        """
        out = self @ o
        out.accumulate_(c)
        return out

    def matmul_like(self, o: Buffer, like: Buffer) -> Buffer:
        """``self @ o`` stored with its axes in the memory order of ``like`` (a buffer of the product's
        shape), as PyTorch's ``preserve_format`` lays out a new tensor.

        For the gradient of a transposed view (a head of attention split from packed
        q, k, v): laid out like its input, it reshapes back without a copy. A backend
        may ignore ``like``.
        """
        return self @ o

    # ---- optional fused kernels: a backend may compute these formulas in one compiled pass. The
    # defaults say "not here" (None or False), and the calling Function then composes the same
    # formula from the primitives above, so a new backend needs none of them.
    def layer_norm_rows(
        self, w: Buffer | None, b: Buffer | None, eps: float
    ) -> tuple[Buffer, Buffer, Buffer] | None:
        """For rows (R, N): ``(xhat w + b, xhat, rstd)`` with xhat = (x - mean) rstd, rstd (R, 1)."""
        return None
    def layer_norm_rows_backward(
        self, xhat: Buffer, rstd: Buffer, w: Buffer | None
    ) -> tuple[Buffer, Buffer, Buffer] | None:
        """self = g (R, N): ``(rstd (g w - mean(g w) - xhat mean(g w xhat)), sum of g xhat, sum of g)``."""
        return None
    def matmul_row_sums(self, o: Buffer) -> tuple[Buffer, Buffer] | None:
        """For 2-d self and o: ``(self @ o, self summed along its last axis)`` in one pass over self
        (Linear's weight and bias gradients, g^T x and g^T 1); None where the backend does not fuse them."""
        return None
    def max_pool2d(
        self, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int],
        dilation: tuple[int, int], out_size: tuple[int, int],
    ) -> tuple[Buffer, Buffer] | None:
        """self (N, C, H, W): ``(out, indices)``, each window's maximum (padding never wins) and the
        flat index h * W + w of its first maximum in its plane (int64, as PyTorch's return_indices);
        None where the backend has no such kernel."""
        return None
    def max_pool2d_backward(self, indices: Buffer, input_shape: tuple[int, ...]) -> Buffer | None:
        """self = the gradient of ``max_pool2d``'s out: the input's gradient, each window's gradient
        added at its maximum (windows that overlap add up); None where the backend has no kernel."""
        return None
    def attention(self, k: Buffer, v: Buffer, scale: float, causal: bool) -> tuple[Buffer, Buffer] | None:
        """self = q (..., L, E), k (..., S, E), v (..., S, Ev) with the same leading axes:
        ``(p v, p)`` with p = softmax(scale q k^T) per row, keys j > query i given 0 when causal;
        p v may be laid out like q (PyTorch's CPU kernel does so)."""
        return None
    def attention_backward(
        self, p: Buffer, q: Buffer, k: Buffer, v: Buffer, scale: float
    ) -> tuple[Buffer, Buffer, Buffer] | None:
        """self = the gradient of ``attention``'s p v: ``(dq, dk, dv)``, each laid out like its input
        (see ``matmul_like``), with gs = scale p (self v^T - sum(p self v^T)): dq = gs k, dk = gs^T q,
        dv = p^T self."""
        return None
    def softmax_rows_(self, scale: float, causal: bool) -> bool:
        """In place over (..., L, S): softmax(scale self) per row, keys j > query i zeroed when causal."""
        return False
    def softmax_backward_rows_(self, p: Buffer, scale: float = 1.0) -> bool:
        """In place: self = scale p (self - sum(self p)) per row of the last axis."""
        return False
    def softmax_lse_rows(self) -> tuple[Buffer, Buffer] | None:
        """self (R, C): ``(softmax per row, log-sum-exp per row as (R, 1))`` in one pass; None where
        the backend has no such kernel or a row holds NaN or inf (the caller's own path handles those)."""
        return None
    @classmethod
    def adam_steps_(
        cls, updates: list[tuple[Buffer, Buffer, Buffer, Buffer, float, float]], beta1: float, beta2: float,
        decay: float, eps: float,
    ) -> list[tuple[Buffer, Buffer, Buffer, Buffer, float, float]]:
        """In place: one Adam step for each ``(param, grad, m, v, step_size, bc2_sqrt)`` of ``updates``
        (see ``Adam._update`` for the formula it fuses). Returns the updates it left undone (all of
        them where the backend has no such kernel), for the caller to compose from primitives."""
        return updates


    @classmethod
    def sum_squares_all(cls, bufs: list[Buffer]) -> Buffer | None:
        """The sum of the squares of every element of ``bufs`` (all of one float dtype), a 0-d buffer
        of that dtype (gradient clipping's total norm, squared); None where the backend has no kernel."""
        return None

    @classmethod
    def mul_all_(cls, bufs: list[Buffer], factor: float) -> bool:
        """In place: every element of ``bufs`` times ``factor`` (rounded to their dtype); False, and
        nothing changed, where the backend cannot."""
        return False


# The global in-place clock: bumped by every in-place primitive. A Function records the
# clock when it runs; backward only inspects versions when the clock has moved since.
class _Clock:
    __slots__ = ("now",)

    def __init__(self) -> None:
        self.now = 0


inplace_clock = _Clock()
