"""Matrix products for the NumPy backend, kept on the BLAS path.

``NumpyBuffer.__matmul__`` and ``NumpyBuffer.einsum`` call these. NumPy hands a
float32/float64 matrix product to BLAS only when each matrix has a unit stride along
one axis; anything else (a strided slice, a broadcast view) runs in a naive loop that
is one to two orders of magnitude slower, so such operands are copied first. A batch of
matrices times one matrix is folded into a single large product, and a two-operand
einsum becomes one batched matmul, as NumPy's own einsum does not use BLAS for batched
contractions.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from ember.backend import numpy_threads as threads

_BLAS_TYPES = frozenset("fd")  # float32, float64
_ROW_ALIGN = 64
_COL_ALIGN = 16


def blas_ready(a: np.ndarray) -> np.ndarray:
    """Return ``a``, or a contiguous copy when NumPy could not pass its matrices to BLAS."""
    if a.ndim < 2 or a.dtype.char not in _BLAS_TYPES:
        return a
    m, n = a.shape[-2:]
    s0, s1 = a.strides[-2:]
    k = a.itemsize
    if s1 == k and (m == 1 or (s0 >= k * n and s0 % k == 0)):
        return a  # rows are contiguous
    if s0 == k and (n == 1 or (s1 >= k * m and s1 % k == 0)):
        return a  # columns are contiguous (a transposed matrix)
    return np.ascontiguousarray(a)


def matmul(
    a: np.ndarray, b: np.ndarray, c: np.ndarray | None = None, out: np.ndarray | None = None
) -> np.ndarray:
    """``a @ b`` with NumPy's rules (plus ``c``, broadcast to the product, when given).

    A batch of matrices times one matrix is one GEMM; a large product is cut into parts
    for ember's threads (see ``numpy_threads``). ``out``, when given, is a float array of the
    product's shape and dtype, in any memory order, that receives the product.
    """
    a, b = blas_ready(a), blas_ready(b)
    if out is not None:
        if c is not None or a.ndim < 3 or b.ndim < 3:
            out[...] = matmul(a, b, c)
            return out
        return _product(a, b, None, out)
    if b.ndim == 2 and a.ndim > 2:
        # (..., m, k) @ (k, n): fold the batch into the rows, (B*m, k) @ (k, n)
        rows = blas_ready(a.reshape(math.prod(a.shape[:-1]), a.shape[-1]))
        if c is not None and c.ndim > 1:
            c = np.broadcast_to(c, a.shape[:-1] + (b.shape[1],)).reshape(rows.shape[0], b.shape[1])
        return _product(rows, b, c).reshape(a.shape[:-1] + (b.shape[1],))
    return _product(a, b, c)


def _column_bands(m: int, n: int) -> bool:
    """Whether an (m, n) product is cut into bands of columns: too few rows for even bands of 64
    (a weight gradient of the 65-token output layer would be bands of 64 rows and 1)."""
    return m < 2 * _ROW_ALIGN and n >= 2 * _COL_ALIGN


def _bands(n: int, parts: int, align: int) -> list[tuple[int, int]]:
    """``parts`` bands of ``n`` rows (or columns) on multiples of ``align``, or of ``_COL_ALIGN`` where
    those would be uneven: 288 rows in bands of 64 are 192 and 96, and the product takes as long as
    its largest band (a convolution's weight gradient ran at 0.87x the speed of even bands)."""
    pieces = threads.bounds(n, parts, align)
    if align > _COL_ALIGN and max(hi - lo for lo, hi in pieces) * parts > 1.125 * n:
        pieces = threads.bounds(n, parts, _COL_ALIGN)
    return pieces


def _product(a: np.ndarray, b: np.ndarray, c: np.ndarray | None, out: np.ndarray | None = None) -> np.ndarray:
    if a.ndim < 2 or b.ndim < 2 or a.dtype != b.dtype or a.dtype.char not in _BLAS_TYPES:
        r = np.matmul(a, b)  # vectors, integers, mixed dtypes: NumPy's own rules
        if c is not None:
            r = np.add(r, c, out=r, casting="unsafe") if r.__class__ is np.ndarray else r + c
        if out is not None:
            out[...] = r
            return out
        return r
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    # no bias, or one vector (Linear's) that the compiled bands add themselves
    vector = c is None or (c.ndim == 1 and c.shape[0] == n and c.dtype == a.dtype
                           and c.strides[0] == a.itemsize)
    if vector and 2.0 * m * k * n >= 2 * threads.MIN_FLOPS:
        if a.ndim == 2 and b.ndim == 2:
            r = _split_in_compiled_waits(a, b, c, out)
            if r is not None:
                return r
        elif all(s == 1 for s in a.shape[:-2] + b.shape[:-2]):
            # a batch of one (a convolution's im2col products): the same 2-d product, as views
            lead = (1,) * (max(a.ndim, b.ndim) - 2)
            r = _split_in_compiled_waits(a.reshape(m, k), b.reshape(k, n), c,
                                         None if out is None else out.reshape(m, n))
            if r is not None:
                return r.reshape(lead + (m, n)) if out is None else out
    parts = 1
    # most products are small: an upper bound of the work rules them out before any set-up
    if 2.0 * m * k * n * (a.size // (m * k or 1)) * (b.size // (k * n or 1)) >= 2 * threads.MIN_FLOPS:
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        out_shape = batch + (m, n)
        split_batch = bool(batch) and batch[0] > 1  # whole matrices per thread; else bands of rows
        split_cols = not split_batch and _column_bands(m, n)
        rows = batch[0] if split_batch else (n if split_cols else m)
        parts = threads.parts(rows, 2.0 * math.prod(out_shape) * k, threads.MIN_FLOPS)
    if parts == 1:
        r = np.matmul(a, b, out=out)
        if c is not None:
            np.add(r, c, out=r, casting="unsafe")
        return r
    if out is None:
        out = np.empty(out_shape, a.dtype)
    nd = len(out_shape)
    if split_batch:
        def cut(x: np.ndarray | None, lo: int, hi: int) -> np.ndarray | None:
            return x[lo:hi] if x is not None and x.ndim == nd and x.shape[0] != 1 else x
        cut_a = cut_b = cut
    elif split_cols:
        def cut(x: np.ndarray | None, lo: int, hi: int) -> np.ndarray | None:
            return x[..., lo:hi] if x is not None and x.ndim >= 1 and x.shape[-1] != 1 else x

        def cut_a(x: np.ndarray | None, lo: int, hi: int) -> np.ndarray | None:
            return x  # every band of columns of b meets all of a
        cut_b = cut
    else:
        def cut(x: np.ndarray | None, lo: int, hi: int) -> np.ndarray | None:
            return x[..., lo:hi, :] if x is not None and x.ndim >= 2 and x.shape[-2] != 1 else x

        def cut_b(x: np.ndarray | None, lo: int, hi: int) -> np.ndarray | None:
            return x  # every band of rows of a meets all of b
        cut_a = cut
    # bands of rows start on multiples of 64, where BLAS's own tiles of rows start, so most rows meet
    # the kernel they meet in the whole product (the results agree to rounding, not always in bits)
    align = 1 if split_batch else (_COL_ALIGN if split_cols else _ROW_ALIGN)
    threads.run(_gemm_part, [(cut_a(a, lo, hi), cut_b(b, lo, hi), cut(out, lo, hi), cut(c, lo, hi))
                             for lo, hi in _bands(rows, parts, align)])
    return out


# The gemm that ember's workers call from compiled code without the GIL (numpy_jit.gemm), for every
# product large enough to split (see _split_in_compiled_waits): the library's name and the addresses
# of its float32 and float64 CBLAS gemm, or False where there is none to be had (no threadpoolctl to
# find NumPy's own, a BLAS with 32-bit integers). Chosen once per process, so a run's products do
# not change library half way (a resumed run computes with the same one as the run it resumes).
_GEMM: Any = None
_MKL_THREADING_SEQUENTIAL = 1


def gemm_library() -> str | None:
    """The BLAS that ember's threads run large float products on: ``"mkl"``, ``"openblas"`` (NumPy's
    own), or None where products run through ``np.matmul`` only. ``EMBER_BLAS=openblas`` or ``mkl``
    overrides the choice (MKL is chosen where the ``mkl`` package is installed and the CPU is Intel's)."""
    found = _gemm_addresses()
    return None if found is None else found[0]


def _gemm_addresses() -> tuple[str, int, int] | None:
    global _GEMM
    if _GEMM is None:
        _GEMM = _find_gemm() or False
    return _GEMM or None


def _find_gemm() -> tuple[str, int, int] | None:
    choice = os.environ.get("EMBER_BLAS", "").strip().lower()
    if choice not in ("", "mkl", "openblas"):
        raise ValueError(f"EMBER_BLAS must be 'mkl' or 'openblas', got {choice!r}")
    # MKL's float32 gemm ran 1.1-1.2x OpenBLAS's at the GPT's sizes on an Intel Xeon (AVX-512), one
    # thread each; on AMD's CPUs MKL does not take its AVX-512 paths, so OpenBLAS stays there
    if choice == "mkl" or (not choice and threads.INTEL_CPU):
        found = _mkl_gemm()
        if found is not None:
            return found
    return _numpy_gemm()


def _mkl_gemm() -> tuple[str, int, int] | None:
    """MKL's gemm from the ``mkl`` package (its single dynamic library, mkl_rt), held to the calling
    thread: each of ember's threads runs one band, and MKL's own threads would fight them."""
    import ctypes
    from importlib import metadata

    try:
        files = metadata.files("mkl") or []
    except metadata.PackageNotFoundError:
        return None
    paths = [f for f in files if f.name.startswith("libmkl_rt.so")]
    if not paths:
        return None
    try:
        lib = ctypes.CDLL(str(paths[0].locate()))
        set_layer = lib.MKL_Set_Threading_Layer
        fns = lib.cblas_sgemm_64, lib.cblas_dgemm_64  # 64-bit integers, as the compiled call passes them
    except (OSError, AttributeError):
        return None
    set_layer.argtypes, set_layer.restype = (ctypes.c_int,), ctypes.c_int
    # the layer can be chosen only before MKL's first call: one already loaded threaded is not used
    if set_layer(_MKL_THREADING_SEQUENTIAL) != _MKL_THREADING_SEQUENTIAL:
        return None
    return _named("mkl", fns)


def _numpy_gemm() -> tuple[str, int, int] | None:
    """The gemm of the OpenBLAS that NumPy itself loaded, where it has 64-bit integers (ILP64)."""
    try:
        import ctypes

        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    numpy_dir = os.path.dirname(os.path.dirname(np.__file__))
    for lib in ThreadpoolController().select(user_api="blas").lib_controllers:
        if lib.internal_api != "openblas" or not lib.filepath.startswith(numpy_dir):
            continue
        handle = ctypes.CDLL(lib.filepath)
        for prefix in ("scipy_", ""):  # the names of OpenBLAS built with 64-bit integers (ILP64)
            try:
                fns = getattr(handle, prefix + "cblas_sgemm64_"), getattr(handle, prefix + "cblas_dgemm64_")
            except AttributeError:
                continue
            return _named("openblas", fns)
    return None


def _named(name: str, fns: tuple[Any, Any]) -> tuple[str, int, int] | None:
    """``(name, float32 gemm's address, float64 gemm's address)`` of two ctypes functions: the
    layout of ``_GEMM``, indexed by the compiled kinds (``numpy_jit.GEMM32`` 1, ``GEMM64`` 2)."""
    import ctypes

    s, d = (ctypes.cast(f, ctypes.c_void_p).value for f in fns)
    return (name, s, d) if s and d else None


def matmul_row_sums(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(a @ b, a summed along its rows)`` for 2-d float arrays of one dtype, each band of rows
    summed by the thread that multiplies it, while it is in that core's cache (Linear's weight and
    bias gradients); None where the product is not split in compiled code."""
    if a.ndim != 2 or b.ndim != 2 or a.dtype != b.dtype or a.dtype.char not in _BLAS_TYPES:
        return None
    a, b = blas_ready(a), blas_ready(b)
    sums = np.empty(a.shape[0], a.dtype)
    out = _split_in_compiled_waits(a, b, None, None, sums)
    return None if out is None else (out, sums)


def _split_in_compiled_waits(
    a: np.ndarray, b: np.ndarray, bias: np.ndarray | None, out: np.ndarray | None,
    row_sums: np.ndarray | None = None,
) -> np.ndarray | None:
    """A 2-d product (plus a bias vector) cut into bands for ember's workers, each run as a call of
    BLAS from compiled code (no GIL taken or handed over: ~2 us a split against ~25 us through
    Python); None where that path is not available or BLAS cannot take the operands as they are.
    A product of 2 MFLOP or more that does not cut runs here too, as one band on the calling thread,
    when ember's gemm is not NumPy's own (MKL): every large product then runs on the same library.
    ``row_sums``, when given, receives the row sums of ``a``."""
    kernels = threads.compiled_waits()
    gemm = _gemm_addresses() if kernels is not None else None
    if gemm is None:
        return None
    m, k = a.shape
    n = b.shape[1]
    if bias is None and out is None and k > max(m, n) and k >= 2 * _ROW_ALIGN:
        whole = _split_inner(a, b, row_sums, kernels, gemm)
        if whole is not None:
            return whole
    cols = _column_bands(m, n)
    parts = threads.parts(n if cols else m, 2.0 * m * n * k, threads.MIN_FLOPS)
    if parts == 1 and (gemm[0] == "openblas" or 2.0 * m * n * k < 2 * threads.MIN_FLOPS):
        return None  # NumPy's own matmul calls the same gemm, or the product is too small to split
    if out is None:
        out = np.empty((m, n), a.dtype)
    kind = kernels.GEMM32 if a.dtype == np.float32 else kernels.GEMM64
    fn, describe = gemm[kind], kernels.describe_gemm
    jobs: list[np.ndarray] = []
    for lo, hi in _bands(n if cols else m, parts, _COL_ALIGN if cols else _ROW_ALIGN):
        job = np.empty(kernels.JOB_FIELDS, np.int64)
        ok = (describe(a, b[:, lo:hi], out[:, lo:hi], kind, fn, job) if cols
              else describe(a[lo:hi], b, out[lo:hi], kind, fn, job))
        if not ok:
            return None
        if bias is not None:
            kernels.describe_bias(bias[lo:hi] if cols else bias, job)
        if row_sums is not None and not (cols and jobs):  # bands of columns: the first sums all rows
            kernels.describe_row_sums(row_sums if cols else row_sums[lo:hi], job)
        jobs.append(job)
    threads.run_compiled(jobs, kernels)
    return out


def _split_inner(a: np.ndarray, b: np.ndarray, row_sums: np.ndarray | None, kernels: Any,
                 gemm: tuple[str, int, int]) -> np.ndarray | None:
    """``a @ b`` cut along the inner axis, for a small output and a long inner axis (a weight
    gradient, g^T x summed over the batch's rows): each thread multiplies its own band of the
    rows of g and x, the rows it computed itself in the layers around, into a partial product,
    and the partials are added after. Cut into bands of the output instead, each thread would
    read all of x and a band of g across every row, half of it from the other core's cache: in
    the GPT step (four layers, 2 cores of an Intel Xeon) this took backward from 20.5-20.8 to
    19.1-19.7 ms. It also cuts products with too few rows and columns for bands of either (a
    convolution's (32, 43264) @ (43264, 9) weight gradient: 0.25-0.32 ms on two threads, against
    0.32-0.36 cut as its transpose into bands of columns, as it was before).
    ``row_sums`` (a's row sums, the bias gradient) is summed the same way."""
    m, k = a.shape
    n = b.shape[1]
    parts = threads.parts(k // _ROW_ALIGN, 2.0 * m * n * k, threads.MIN_FLOPS)
    if parts == 1:
        return None
    bands = threads.bounds(k, parts, _ROW_ALIGN)
    out = np.empty((m, n), a.dtype)  # the first band's partial, the others added into it
    partials = np.empty((len(bands) - 1, m, n), a.dtype)
    sums = None if row_sums is None else np.empty((len(bands), m), a.dtype)
    kind = kernels.GEMM32 if a.dtype == np.float32 else kernels.GEMM64
    jobs = []
    for i, (lo, hi) in enumerate(bands):
        job = np.empty(kernels.JOB_FIELDS, np.int64)
        into = partials[i - 1] if i else out
        if not kernels.describe_gemm(a[:, lo:hi], b[lo:hi], into, kind, gemm[kind], job):
            return None
        if sums is not None:
            kernels.describe_row_sums(sums[i], job)
        jobs.append(job)
    threads.run_compiled(jobs, kernels)
    for p in partials:  # a fixed order: the same sums, in the same order, at every call
        np.add(out, p, out=out)
    if row_sums is not None and sums is not None:
        np.add.reduce(sums, axis=0, out=row_sums)
    return out


def _gemm_part(a: np.ndarray, b: np.ndarray, out: np.ndarray, c: np.ndarray | None) -> None:
    np.matmul(a, b, out=out)
    if c is not None:  # while this part of the product is still in this core's cache
        np.add(out, c, out=out, casting="unsafe")


def einsum(subscripts: str, arrays: list[np.ndarray]) -> np.ndarray:
    """Einstein summation over explicit subscripts (``'bij,bjk->bik'``: letters, ``->``, no ellipsis)."""
    lhs, out = subscripts.split("->")
    terms = lhs.split(",")
    if len(arrays) == 2:
        res = _contract(terms[0], terms[1], out, arrays[0], arrays[1])
        if res is not None:
            return res
    # one operand (transposes, diagonals, sums) needs no planning; three or more are
    # contracted pairwise in the order NumPy's optimizer picks, with BLAS where it can
    return np.einsum(subscripts, *arrays, optimize=len(arrays) > 2)


def _contract(sa: str, sb: str, out: str, a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """Two-operand einsum as one batched matmul; None for the cases left to ``np.einsum``."""
    if len(set(sa)) != len(sa) or len(set(sb)) != len(sb):
        return None  # a diagonal (repeated letter within one operand)
    size = dict(zip(sa, a.shape))
    for c, n in zip(sb, b.shape):
        if size.setdefault(c, n) != n:
            return None  # size-1 broadcasting of a letter
    # letters that only one operand has and the output drops are summed first
    a, sa = _sum_lonely(a, sa, sb, out)
    b, sb = _sum_lonely(b, sb, sa, out)
    batch = [c for c in out if c in sa and c in sb]
    left = [c for c in out if c in sa and c not in sb]
    right = [c for c in out if c in sb and c not in sa]
    inner = [c for c in sa if c in sb and c not in out]
    nb, nl, nr, ni = (math.prod(size[c] for c in g) for g in (batch, left, right, inner))
    a2 = a.transpose([sa.index(c) for c in batch + left + inner]).reshape(nb, nl, ni)
    b2 = b.transpose([sb.index(c) for c in batch + inner + right]).reshape(nb, ni, nr)
    res = np.matmul(blas_ready(a2), blas_ready(b2))  # (nb, nl, nr)
    order = batch + left + right
    res = res.reshape([size[c] for c in order])
    return res.transpose([order.index(c) for c in out])


def _sum_lonely(x: np.ndarray, sx: str, other: str, out: str) -> tuple[np.ndarray, str]:
    axes = tuple(i for i, c in enumerate(sx) if c not in other and c not in out)
    if not axes:
        return x, sx
    return x.sum(axis=axes, dtype=x.dtype), "".join(c for c in sx if c in other or c in out)
