"""Compiled kernels for the NumPy backend, built with Numba when installed (``pip install ember[fast]``).

NumPy makes one pass over memory per operation, so a formula of twenty operations reads
and writes its arrays twenty times, on one core, while PyTorch's kernels do the formula in
one vectorised pass. The hot formulas of a transformer step (exact GELU, LayerNorm, the
attention softmax, the Adam update, the embedding's scatter-add) are written here once more
as plain loops that Numba compiles to vector code, each in one or two passes. Every kernel
computes the same formula as the NumPy code it replaces (``numpy_cpu.py`` or the composed
fallback in the Function that uses it), and ``tests/test_jit.py`` checks each against that code.

The kernels are optional: this module imports Numba, and ``numpy_cpu.jit_kernels()``
imports this module on first use only (so ``import ember`` stays fast), returning None
when Numba is missing or ``EMBER_JIT=0`` is set; every caller then takes its NumPy path.
Compiled code is cached on disk, so a later process loads a kernel instead of compiling
it. They are float32 kernels over C-contiguous arrays; the callers check that.
"""

from __future__ import annotations

from typing import Any

import numba as nb
import numpy as np
from llvmlite import ir
from numba.core import registry, types
from numba.extending import intrinsic

from ember.backend.numpy_threads import INTEL_CPU


def _wide_vectors() -> bool:
    """Let LLVM use 512-bit vectors on an Intel CPU that has them; True if it now will.

    LLVM's tuning for Intel's AVX-512 cores prefers 256-bit vectors (wide ones once lowered
    the clock of early Xeons), so by default these kernels ran 8 floats at a time where the
    core does 16. Measured on a Sapphire Rapids-class Xeon (one core, the GPT step's sizes):
    the attention softmax 284 -> 96 us, GELU 140 -> 105 us, LayerNorm 18 -> 14 us, and the
    memory-bound Adam update unchanged; in the GPT step, attention 5.4 -> 4.8 ms. The setting must
    precede the first kernel (Numba makes its code generator once per process), so it is
    skipped when Numba is already in use, or set up by the user (``NUMBA_CPU_FEATURES``).
    AMD's cores with AVX-512 are left as LLVM tunes them: not measured here.
    """
    config: Any = nb.config  # its settings are made at run time, unknown to type checkers
    if config.CPU_FEATURES is not None or "_toplevel_target_context" in vars(registry.cpu_target):
        return False
    import llvmlite.binding as ll

    features = ll.get_host_cpu_features()
    if not features.get("avx512f") or not INTEL_CPU:
        return False
    config.CPU_FEATURES = features.flatten() + ",-prefer-256-bit"
    return True


WIDE_VECTORS = _wide_vectors()

f32 = np.float32
# "reassoc" lets LLVM reorder the sums of a row into several vector accumulators (as NumPy's
# pairwise sums also reorder them), "contract" lets it fuse a*b + c into one instruction
# (1.5x on GELU); error_model="numpy" drops the division-by-zero checks that would stop the
# loops from vectorising. Not the rest of fastmath: "nnan"/"ninf" would let LLVM assume
# away NaN and inf inputs.
_FAST = {"reassoc", "nsz", "arcp", "afn", "contract"}
jit = nb.njit(fastmath=_FAST, error_model="numpy", boundscheck=False, cache=True, nogil=True)
# without "contract", for a - b*c that must cancel exactly as NumPy's does (a fused multiply-add
# rounds once, so LayerNorm's gradient of a constant row would be a rounding error times rstd)
jit_exact = nb.njit(
    fastmath=_FAST - {"contract"}, error_model="numpy", boundscheck=False, cache=True, nogil=True
)
jit_inline = nb.njit(fastmath=_FAST, error_model="numpy", inline="always")

def _bitcast(src: Any, dst: Any, dst_ir: Any) -> Any:
    """An intrinsic that reads a value of type ``src`` as the ``dst`` with the same bits."""
    @intrinsic
    def cast(typingctx: Any, v: Any) -> Any:
        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            return builder.bitcast(args[0], dst_ir)

        return dst(src), codegen

    return cast


def _pointer_at(dtype: Any, dtype_ir: Any) -> Any:
    """An intrinsic that makes an int64 address into a pointer to ``dtype``."""
    @intrinsic
    def at(typingctx: Any, addr: Any) -> Any:
        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            return builder.inttoptr(args[0], dtype_ir.as_pointer())

        return types.CPointer(dtype)(types.int64), codegen

    return at


# 2^k from k in the exponential; float arguments carried in int64 job fields; job arrays' addresses
_bits_to_f32 = _bitcast(types.int32, types.float32, ir.FloatType())
_bits_to_f64 = _bitcast(types.int64, types.float64, ir.DoubleType())
_f64_to_bits = _bitcast(types.float64, types.int64, ir.IntType(64))
_f32_at = _pointer_at(types.float32, ir.FloatType())
_f64_at = _pointer_at(types.float64, ir.DoubleType())
_i64_at = _pointer_at(types.int64, ir.IntType(64))

@jit_inline
def exp32(x: Any) -> Any:
    """e^x for float32 in a form LLVM can vectorise (libm's expf is a scalar call).

    e^x = 2^k e^r with k = round(x / ln 2) and |r| <= ln 2 / 2, r computed with ln 2 split
    in two parts so the reduction is exact; e^r by its Taylor polynomial to r^7. Relative
    error < 4e-7 (about 3 ulp) over [-87, 88]; arguments outside are clamped.
    """
    x = min(max(x, f32(-87.0)), f32(88.0))
    k = np.floor(x * f32(1.44269504) + f32(0.5))
    r = x - k * f32(0.693145751953125)
    r = r - k * f32(1.428606765330187e-06)
    p = f32(1.0 / 5040)
    p = p * r + f32(1.0 / 720)
    p = p * r + f32(1.0 / 120)
    p = p * r + f32(1.0 / 24)
    p = p * r + f32(1.0 / 6)
    p = p * r + f32(0.5)
    p = p * r + f32(1.0)
    p = p * r + f32(1.0)
    return p * _bits_to_f32((np.int32(k) + np.int32(127)) << np.int32(23))  # type: ignore[call-arg]

# the fit of R(t) in Phi(-a) = exp(-a^2/2) R(t), t = 1 / (1 + a/5), as numpy_cpu's GELU kernel
r0, r1, r2, r3, r4, r5, r6 = (f32(c) for c in (
    1.09788072, -2.92423288, 4.11371135, -3.05193537, 1.50298027, -0.276407828, 0.0380037339))
inv_sqrt_2pi = f32(0.3989422804014327)

@jit
def gelu_erf(x: Any, y: Any, d: Any) -> None:
    """y = x Phi(x), d = Phi(x) + x pdf(x) over 1-d float32 arrays."""
    for i in range(x.size):
        v = x[i]
        a = abs(v)
        t = f32(1.0) / (f32(1.0) + a * f32(0.2))
        r = ((((((r0 * t + r1) * t + r2) * t + r3) * t + r4) * t + r5) * t + r6)
        e = exp32(f32(-0.5) * v * v)
        q = f32(0.5) - e * r  # 0.5 - Phi(-|x|)
        y[i] = f32(0.5) * v + a * q
        d[i] = f32(0.5) + (q if v >= 0 else -q) + v * e * inv_sqrt_2pi

@jit
def layer_norm(x: Any, w: Any, b: Any, eps: float, out: Any, xhat: Any, rstd: Any) -> None:
    """Rows of x (R, N): xhat = (x - mean) rstd, rstd = 1 / sqrt(var + eps), out = xhat w + b."""
    n = x.shape[1]
    inv_n = f32(1.0 / n)
    e = f32(eps)
    for i in range(x.shape[0]):
        row = x[i]
        s = f32(0.0)
        for j in range(n):
            s += row[j]
        mean = s * inv_n
        ss = f32(0.0)
        for j in range(n):
            c = row[j] - mean
            ss += c * c
        rs = f32(1.0) / np.sqrt(ss * inv_n + e)
        rstd[i] = rs
        h, o = xhat[i], out[i]
        for j in range(n):
            hj = (row[j] - mean) * rs
            h[j] = hj
            o[j] = hj * w[j] + b[j]

@jit_exact
def layer_norm_backward(g: Any, xhat: Any, rstd: Any, w: Any, gx: Any, gw: Any, gb: Any) -> None:
    """gx = rstd (g w - mean(g w) - xhat mean(g w xhat)) per row; gw = sum g xhat, gb = sum g."""
    n = g.shape[1]
    inv_n = f32(1.0 / n)
    gw[:] = 0
    gb[:] = 0
    for i in range(g.shape[0]):
        gi, hi = g[i], xhat[i]
        c1 = f32(0.0)
        c2 = f32(0.0)
        for j in range(n):
            gh = gi[j] * w[j]
            c1 += gh
            c2 += gh * hi[j]
            gw[j] += gi[j] * hi[j]
            gb[j] += gi[j]
        c1 *= inv_n
        c2 *= inv_n
        rs = rstd[i]
        o = gx[i]
        for j in range(n):
            o[j] = (gi[j] * w[j] - c1 - hi[j] * c2) * rs

@jit_inline
def _row_max(row: Any, n: int) -> Any:
    # four running maxima, not one: max has no vector form that keeps NaN, so one chain would wait
    # on each comparison in turn
    m0 = m1 = m2 = m3 = row[0]
    j = 0
    while j + 4 <= n:
        m0, m1, m2, m3 = max(m0, row[j]), max(m1, row[j + 1]), max(m2, row[j + 2]), max(m3, row[j + 3])
        j += 4
    while j < n:
        m0 = max(m0, row[j])
        j += 1
    return max(max(m0, m1), max(m2, m3))


@jit_inline
def _softmax_matrix(s: Any, sc: Any, causal: bool) -> None:
    # rows of s (L, S): softmax(sc s); with causal, key j > query i gets 0 (its score is never
    # used, so it may be left unwritten). The passes run over whole rows, selecting rather than
    # stopping at the causal limit: loops of one length vectorise without a scalar remainder
    # (1.35x faster on 64 x 64 matrices)
    L, S = s.shape
    for i in range(L):
        row = s[i]
        lim = min(i + 1, S) if causal else S
        m = _row_max(row, lim)
        z = f32(0.0)
        for j in range(S):
            p = exp32((row[j] - m) * sc)
            p = p if j < lim else f32(0.0)
            row[j] = p
            z += p
        inv = f32(1.0) / z
        for j in range(S):
            row[j] *= inv


@jit
def softmax_rows(s: Any, scale: float, causal: bool) -> None:
    """In place over s (B, L, S): softmax(scale s) per row; with ``causal``, key j > query i gets 0."""
    sc = f32(scale)
    for bi in range(s.shape[0]):
        _softmax_matrix(s[bi], sc, causal)

@jit
def softmax_backward_rows(gp: Any, p: Any, scale: float) -> None:
    """In place over rows (R, S): gp = scale p (gp - sum(gp p)), the softmax's input gradient."""
    n = gp.shape[1]
    sc = f32(scale)
    for i in range(gp.shape[0]):
        gi, pi = gp[i], p[i]
        c = f32(0.0)
        for j in range(n):
            c += gi[j] * pi[j]
        for j in range(n):
            gi[j] = pi[j] * (gi[j] - c) * sc

@jit
def adam_step(param: Any, g: Any, m: Any, v: Any, beta1: float, beta2: float, decay: float,
              step_size: float, bc2_sqrt: float, eps: float) -> None:
    """One Adam(W) update over 1-d arrays, as Adam._update's primitive sequence:
    p *= decay; m += (1 - b1)(g - m); v = b2 v + (1 - b2) g^2;
    p -= step_size m / (sqrt(v) / bc2_sqrt + eps)."""
    b1c, b2, b2c = f32(1.0 - beta1), f32(beta2), f32(1.0 - beta2)
    dec, ss, bc, ep = f32(decay), f32(step_size), f32(bc2_sqrt), f32(eps)
    for i in range(param.size):
        gi = g[i]
        mi = m[i] + b1c * (gi - m[i])
        vi = b2 * v[i] + b2c * (gi * gi)
        m[i] = mi
        v[i] = vi
        param[i] = param[i] * dec - ss * mi / (np.sqrt(vi) / bc + ep)


@jit
def softmax_lse_rows(x: Any, p: Any, lse: Any) -> bool:
    """p = softmax(x) and lse = log(sum(exp(x))) per row of x (R, C); False (and p, lse partly
    written) as soon as a row's largest entry is NaN or inf."""
    n = x.shape[1]
    for i in range(x.shape[0]):
        row, out = x[i], p[i]
        m = row[0]
        bad = m != m
        for j in range(1, n):
            v = row[j]
            bad |= v != v  # max() would pass a NaN over
            m = max(m, v)
        if bad or m == np.inf or m == -np.inf:
            return False
        z = f32(0.0)
        for j in range(n):
            e = exp32(row[j] - m)
            out[j] = e
            z += e
        inv = f32(1.0) / z
        for j in range(n):
            out[j] *= inv
        lse[i, 0] = m + np.log(z)
    return True


@jit
def add_rows(out: Any, idx: Any, src: Any) -> None:
    """out[idx[i]] += src[i] for each i, in order (repeated rows add up; negative rows count from
    the end): the embedding's backward, one pass over src instead of a product with a one-hot."""
    n = out.shape[0]
    for i in range(idx.shape[0]):
        r = idx[i]
        if r < 0:
            r += n
        row, s = out[r], src[i]
        for j in range(s.shape[0]):
            row[j] += s[j]


# ---- the wait of ember's worker threads (numpy_threads.py) ------------------------------
@intrinsic
def _load_acquire(typingctx: Any, arr: Any) -> Any:
    # an atomic load of arr[0]: re-read on every turn of a loop, never hoisted out of it
    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        return builder.load_atomic(ary.data, "acquire", 8)

    return types.int64(arr), codegen

@nb.njit(nogil=True, cache=True)
def spin_until(flag: Any, value: int, turns: int) -> bool:
    """Spin, without the GIL, until ``flag[0] == value`` (True) or for ``turns`` turns (False)."""
    for _ in range(turns):
        if _load_acquire(flag) == value:  # type: ignore[call-arg]
            return True
    return False


@intrinsic
def _store_release(typingctx: Any, arr: Any, value: Any) -> Any:
    # an atomic store of arr[0]: seen by a thread spinning on it in _load_acquire, after every
    # write made before it (the job's results)
    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        builder.store_atomic(args[1], ary.data, "release", 8)
        return context.get_dummy_value()

    return types.void(arr, types.int64), codegen


@intrinsic
def _gemm_at(typingctx: Any, fn: Any, ta: Any, tb: Any, m: Any, n: Any, k: Any, alpha: Any, a: Any,
             lda: Any, b: Any, ldb: Any, beta: Any, c: Any, ldc: Any) -> Any:
    # a call of the CBLAS ?gemm at address fn (row-major; 64-bit integers, as NumPy's OpenBLAS
    # has them): c = alpha op(a) op(b) + beta c, with the addresses of a, b, c as integers
    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        i32, i64, ptr = ir.IntType(32), ir.IntType(64), ir.IntType(8).as_pointer()
        flt = context.get_value_type(signature.args[6])
        fnty = ir.FunctionType(ir.VoidType(), [i32, i32, i32, i64, i64, i64, flt, ptr, i64, ptr, i64, flt,
                                               ptr, i64])
        f = builder.inttoptr(args[0], fnty.as_pointer())
        row_major = ir.Constant(i32, 101)
        a, b, c = (builder.inttoptr(args[i], ptr) for i in (7, 9, 12))
        builder.call(f, [row_major, builder.trunc(args[1], i32), builder.trunc(args[2], i32), args[3],
                         args[4], args[5], args[6], a, args[8], b, args[10], args[11], c, args[13]])
        return context.get_dummy_value()

    i = types.int64
    return types.void(i, i, i, i, i, i, alpha, i, i, i, i, beta, i, i), codegen


@nb.njit(nogil=True, cache=True)
def gemm(job: Any) -> None:
    """The product a job describes: job = [kind, fn, trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc,
    bias, sums] (kind 1: float32, 2: float64; fn the address of that type's CBLAS gemm): c = a b, plus
    the n-vector at address ``bias`` added to every row when that is not 0, and a's m row sums
    written at address ``sums`` when that is not 0."""
    m, n, c, ldc, bias, sums = job[4], job[5], job[11], job[12], job[13], job[14]
    if job[0] == 1:
        _gemm_at(job[1], job[2], job[3], m, n, job[6], f32(1.0),  # type: ignore[call-arg]
                 job[7], job[8], job[9], job[10], f32(0.0), c, ldc)
        if bias != 0:  # while the band is in this core's cache
            _add_to_rows(_f32_at(c), _f32_at(bias), m, n, ldc)  # type: ignore[call-arg]
        if sums != 0:
            _row_sums(_f32_at(job[7]), job[2] == 112, m, job[6], job[8], _f32_at(sums))  # type: ignore[call-arg]
    else:
        _gemm_at(job[1], job[2], job[3], m, n, job[6], 1.0,  # type: ignore[call-arg]
                 job[7], job[8], job[9], job[10], 0.0, c, ldc)
        if bias != 0:
            _add_to_rows(_f64_at(c), _f64_at(bias), m, n, ldc)  # type: ignore[call-arg]
        if sums != 0:
            _row_sums(_f64_at(job[7]), job[2] == 112, m, job[6], job[8], _f64_at(sums))  # type: ignore[call-arg]


@jit_inline
def _row_sums(a: Any, transposed: bool, m: int, k: int, lda: int, out: Any) -> None:
    # out[i] = sum of row i of the (m, k) matrix a, stored by rows lda apart or (transposed) by
    # columns lda apart; a transposed one is summed column after column, along memory
    for i in range(m):
        out[i] = 0
    if transposed:
        for j in range(k):
            col = j * lda
            for i in range(m):
                out[i] += a[col + i]
    else:
        for i in range(m):
            row = i * lda
            t = out[i]
            for j in range(k):
                t += a[row + j]
            out[i] = t


@jit_inline
def _add_to_rows(out: Any, add: Any, m: int, n: int, ldc: int) -> None:
    # out[i, :n] += add for each of m rows ldc apart (pointers of either float type)
    for i in range(m):
        row = i * ldc
        for j in range(n):
            out[row + j] += add[j]



# ---- compiled jobs: the kernels a worker runs in its compiled wait ----------------------
# A job is an int64 array: job[0] names the kernel, the rest are the addresses and sizes of
# its arrays (C-contiguous, checked by the caller) and its float arguments as their bits. The
# calling thread runs its own part through run_job too, so every part runs the same code.
GEMM32, GEMM64, LAYER_NORM, LAYER_NORM_BACKWARD, GELU, ADAM, SUM_SQUARES, SCALE = 1, 2, 3, 4, 5, 6, 7, 8
MAX_POOL, MAX_POOL_BACKWARD, BINARY = 9, 10, 11
JOB_FIELDS = 16


@nb.njit(nogil=True, cache=True)
def _rows_at(addr: int, rows: int, n: int) -> Any:
    return nb.carray(_f32_at(addr), (rows, n))  # type: ignore[call-arg]


@nb.njit(nogil=True, cache=True)
def _vector_at(addr: int, n: int) -> Any:
    return nb.carray(_f32_at(addr), n)  # type: ignore[call-arg]


@nb.njit(nogil=True, cache=True)
def run_job(job: Any) -> None:
    """Run the kernel ``job`` describes (made by one of the ``describe_*`` functions)."""
    kind = job[0]
    if kind <= GEMM64:
        gemm(job)
    elif kind == LAYER_NORM:
        rows, n = job[7], job[8]
        layer_norm(_rows_at(job[1], rows, n), _vector_at(job[2], n), _vector_at(job[3], n),
                   _bits_to_f64(job[9]), _rows_at(job[4], rows, n), _rows_at(job[5], rows, n),  # type: ignore[call-arg]
                   _vector_at(job[6], rows))
    elif kind == LAYER_NORM_BACKWARD:
        rows, n = job[8], job[9]
        layer_norm_backward(_rows_at(job[1], rows, n), _rows_at(job[2], rows, n), _vector_at(job[3], rows),
                            _vector_at(job[4], n), _rows_at(job[5], rows, n), _vector_at(job[6], n),
                            _vector_at(job[7], n))
    elif kind == GELU:
        n = job[4]
        gelu_erf(_vector_at(job[1], n), _vector_at(job[2], n), _vector_at(job[3], n))
    elif kind == SUM_SQUARES or kind == SCALE:
        spans = nb.carray(_i64_at(job[1]), (job[2], 2))  # type: ignore[call-arg]
        if kind == SUM_SQUARES:
            total = 0.0
            for r in range(job[3], job[4]):
                total += _sum_squares(_vector_at(spans[r, 0], spans[r, 1]))
            nb.carray(_f64_at(job[5]), 1)[0] = total  # type: ignore[call-arg]
        else:
            f = f32(_bits_to_f64(job[5]))  # type: ignore[call-arg]
            for r in range(job[3], job[4]):
                x = _vector_at(spans[r, 0], spans[r, 1])
                for i in range(x.size):
                    x[i] *= f
    elif kind == MAX_POOL or kind == MAX_POOL_BACKWARD:
        plan = nb.carray(_i64_at(job[1]), MAX_POOL_FIELDS)  # type: ignore[call-arg]
        if kind == MAX_POOL:
            _max_pool_band(plan, job[2], job[3])
        else:
            _max_pool_backward_band(plan, job[2], job[3])
    elif kind == BINARY:
        n = job[5]
        _binary(job[1], _vector_at(job[2], n), _vector_at(job[3], n), _vector_at(job[4], n))
    elif kind == ADAM:
        table = nb.carray(_i64_at(job[1]), (job[2], ADAM_FIELDS))  # type: ignore[call-arg]
        b1, b2 = _bits_to_f64(job[5]), _bits_to_f64(job[6])  # type: ignore[call-arg]
        decay, eps = _bits_to_f64(job[7]), _bits_to_f64(job[8])  # type: ignore[call-arg]
        for r in range(job[3], job[4]):
            e = table[r]
            n = e[4]
            adam_step(_vector_at(e[0], n), _vector_at(e[1], n), _vector_at(e[2], n), _vector_at(e[3], n),
                      b1, b2, decay, _bits_to_f64(e[5]), _bits_to_f64(e[6]), eps)  # type: ignore[call-arg]


@nb.njit(cache=True)
def describe_layer_norm(x: Any, w: Any, b: Any, eps: float, out: Any, xhat: Any, rstd: Any, job: Any) -> None:
    """Fill ``job`` with ``layer_norm`` over C-contiguous float32 rows (rstd: one per row)."""
    job[0], job[1], job[2], job[3] = LAYER_NORM, x.ctypes.data, w.ctypes.data, b.ctypes.data
    job[4], job[5], job[6] = out.ctypes.data, xhat.ctypes.data, rstd.ctypes.data
    job[7], job[8], job[9] = x.shape[0], x.shape[1], _f64_to_bits(eps)  # type: ignore[call-arg]


@nb.njit(cache=True)
def describe_layer_norm_backward(g: Any, xhat: Any, rstd: Any, w: Any, gx: Any, gw: Any, gb: Any,
                                 job: Any) -> None:
    """Fill ``job`` with ``layer_norm_backward`` over C-contiguous float32 rows."""
    job[0], job[1], job[2], job[3] = LAYER_NORM_BACKWARD, g.ctypes.data, xhat.ctypes.data, rstd.ctypes.data
    job[4], job[5], job[6], job[7] = w.ctypes.data, gx.ctypes.data, gw.ctypes.data, gb.ctypes.data
    job[8], job[9] = g.shape[0], g.shape[1]


@jit
def _sum_squares(x: Any) -> float:
    s = 0.0  # in float64: a gradient's squares add up over a million elements
    for i in range(x.size):
        v = np.float64(x[i])
        s += v * v
    return s


@nb.njit(cache=True)
def describe_span(spans: Any, r: int, x: Any, lo: int, hi: int) -> None:
    """Row ``r`` of a table of spans: elements lo:hi of the contiguous float32 array x."""
    spans[r, 0], spans[r, 1] = x.ctypes.data + 4 * lo, hi - lo


@nb.njit(cache=True)
def describe_sum_squares(spans: Any, lo: int, hi: int, out: Any, job: Any) -> None:
    """Fill ``job`` with the sum of squares over rows lo:hi of ``spans``, written into out[0] (float64)."""
    job[0], job[1], job[2], job[3], job[4], job[5] = SUM_SQUARES, spans.ctypes.data, spans.shape[0], lo, hi, \
        out.ctypes.data


@nb.njit(cache=True)
def describe_scale(spans: Any, lo: int, hi: int, factor: float, job: Any) -> None:
    """Fill ``job`` with: every element of rows lo:hi of ``spans`` times ``factor`` (as float32)."""
    job[0], job[1], job[2], job[3], job[4] = SCALE, spans.ctypes.data, spans.shape[0], lo, hi
    job[5] = _f64_to_bits(factor)  # type: ignore[call-arg]


@nb.njit(nogil=True, cache=True, error_model="numpy")
def _binary(op: int, a: Any, b: Any, out: Any) -> None:
    # one IEEE operation per element (no fast-math): the bits of NumPy's own add, subtract, multiply,
    # of np.where(a <= 0, 0, b) (ReLU's gradient, as PyTorch's threshold_backward) and of
    # np.maximum(a, 0) (ReLU: NaN kept, -0.0 made 0.0 as NumPy's vector loop does; b unused)
    if op == 0:
        for i in range(out.size):
            out[i] = a[i] + b[i]
    elif op == 1:
        for i in range(out.size):
            out[i] = a[i] - b[i]
    elif op == 2:
        for i in range(out.size):
            out[i] = a[i] * b[i]
    elif op == 3:
        for i in range(out.size):
            out[i] = np.float32(0.0) if a[i] <= 0 else b[i]
    else:
        for i in range(out.size):
            out[i] = np.float32(0.0) if a[i] <= 0 else a[i]


@nb.njit(cache=True)
def describe_binary(op: int, a: Any, b: Any, out: Any, job: Any) -> None:
    """Fill ``job`` with out = a (op) b over contiguous float32 vectors (op 0: +, 1: -, 2: *,
    3: 0 where a <= 0 else b, 4: maximum(a, 0))."""
    job[0], job[1], job[2], job[3], job[4], job[5] = BINARY, op, a.ctypes.data, b.ctypes.data, \
        out.ctypes.data, out.size


# a row of the Adam job's table: the addresses of param, grad, m, v (from one offset), the count
# of elements, and the bits of that parameter's step size and sqrt(1 - beta2^t)
ADAM_FIELDS = 7


@nb.njit(cache=True)
def describe_adam_row(table: Any, r: int, p: Any, g: Any, m: Any, v: Any, lo: int, hi: int,
                      step_size: float, bc2_sqrt: float) -> None:
    """Row ``r`` of an Adam job's table: elements lo:hi of one parameter (contiguous float32)."""
    e = table[r]
    e[0], e[1], e[2], e[3] = p.ctypes.data + 4 * lo, g.ctypes.data + 4 * lo, m.ctypes.data + 4 * lo, \
        v.ctypes.data + 4 * lo
    e[4], e[5], e[6] = hi - lo, _f64_to_bits(step_size), _f64_to_bits(bc2_sqrt)  # type: ignore[call-arg]


@nb.njit(cache=True)
def describe_adam(table: Any, lo: int, hi: int, beta1: float, beta2: float, decay: float, eps: float,
                  job: Any) -> None:
    """Fill ``job`` with the Adam steps of rows lo:hi of ``table`` (see ``describe_adam_row``)."""
    job[0], job[1], job[2], job[3], job[4] = ADAM, table.ctypes.data, table.shape[0], lo, hi
    job[5], job[6] = _f64_to_bits(beta1), _f64_to_bits(beta2)  # type: ignore[call-arg]
    job[7], job[8] = _f64_to_bits(decay), _f64_to_bits(eps)  # type: ignore[call-arg]


@nb.njit(cache=True)
def describe_gelu(x: Any, y: Any, d: Any, job: Any) -> None:
    """Fill ``job`` with ``gelu_erf`` over contiguous float32 vectors."""
    job[0], job[1], job[2], job[3], job[4] = GELU, x.ctypes.data, y.ctypes.data, d.ctypes.data, x.size


# ---- 2-d max pooling, one band of images per job ----------------------------------------
# The plan: [C, H, W, OH, OW, kh, kw, sh, sw, ph, pw, dh, dw], then for each of x, out, indices,
# g (the output's gradient), gx (the input's) its address and its strides in elements along
# N, C, H, W (float32 arrays, int64 indices).
MAX_POOL_FIELDS = 13 + 5 * 5


@nb.njit(cache=True)
def describe_max_pool(plan: Any, geometry: Any, x: Any, out: Any, indices: Any, g: Any, gx: Any) -> None:
    """Fill ``plan`` (see MAX_POOL_FIELDS) from the 13 numbers of ``geometry`` and 4-d arrays; the
    forward reads x and writes out and indices, the backward reads indices and g and writes gx."""
    for i in range(13):
        plan[i] = geometry[i]
    _describe_nchw(plan, 0, x)
    _describe_nchw(plan, 1, out)
    _describe_nchw(plan, 2, indices)
    _describe_nchw(plan, 3, g)
    _describe_nchw(plan, 4, gx)


@nb.njit(cache=True)
def _describe_nchw(plan: Any, i: int, a: Any) -> None:
    e = 13 + 5 * i
    plan[e] = a.ctypes.data
    for k in range(4):
        plan[e + 1 + k] = a.strides[k] // a.itemsize


@nb.njit(cache=True)
def describe_band(kind: int, plan: Any, lo: int, hi: int, job: Any) -> None:
    """Fill ``job`` with rows lo:hi (images, here) of the kernel ``kind`` over ``plan``."""
    job[0], job[1], job[2], job[3] = kind, plan.ctypes.data, lo, hi


@jit_inline
def _taps(start: int, step: int, count: int, size: int) -> tuple[int, int]:
    # the taps a0:a1 of a window's count taps start, start + step, ... that fall inside 0:size (the
    # rest are padding)
    if start >= 0 and start + (count - 1) * step < size:
        return 0, count  # the window lies inside: no division
    a0 = 0 if start >= 0 else (step - 1 - start) // step
    a1 = min(count, (size - 1 - start) // step + 1) if start < size else 0
    return a0, max(a0, a1)


@jit_inline
def _window_max(x: Any, base: int, sh_: int, sw_: int, h0: int, w0: int, H: int, W: int, kh: int, kw: int,
                dh: int, dw: int) -> tuple[Any, int]:
    # the window's maximum and its flat index h * W + w in the plane: the first maximum in
    # row-major window order, a NaN taken wherever it is met (as PyTorch's kernel does), and the
    # first real element's index when every element is -inf
    a0, a1 = _taps(h0, dh, kh, H)
    b0, b1 = _taps(w0, dw, kw, W)
    m = -np.inf
    best = (h0 + a0 * dh) * W + w0 + b0 * dw
    for a in range(a0, a1):
        h = h0 + a * dh
        for b in range(b0, b1):
            w = w0 + b * dw
            v = x[base + h * sh_ + w * sw_]
            if v > m or v != v:
                m = v
                best = h * W + w
    return m, best


@jit
def _max_pool_band(plan: Any, lo: int, hi: int) -> None:
    C, H, W, OH, OW, kh, kw, sh, sw, ph, pw, dh, dw = (plan[0], plan[1], plan[2], plan[3], plan[4], plan[5],
                                                       plan[6], plan[7], plan[8], plan[9], plan[10], plan[11],
                                                       plan[12])
    x, xn, xc, xh, xw = _f32_at(plan[13]), plan[14], plan[15], plan[16], plan[17]  # type: ignore[call-arg,var-annotated]
    o, on, oc, oh, ow = _f32_at(plan[18]), plan[19], plan[20], plan[21], plan[22]  # type: ignore[call-arg]
    ix, jn, jc, jh, jw = _i64_at(plan[23]), plan[24], plan[25], plan[26], plan[27]  # type: ignore[call-arg]
    if not (xc == 1 and oc == 1 and jc == 1):
        for n in range(lo, hi):
            for c in range(C):
                for i in range(OH):
                    for j in range(OW):
                        m, best = _window_max(x, n * xn + c * xc, xh, xw, i * sh - ph, j * sw - pw, H, W,
                                              kh, kw, dh, dw)
                        o[n * on + c * oc + i * oh + j * ow] = m
                        ix[n * jn + c * jc + i * jh + j * jw] = best
        return
    # channels innermost (a convolution's output): each window position is a run of C values,
    # compared with the running maxima of all channels at once (vector code)
    for n in range(lo, hi):
        for i in range(OH):
            h0 = i * sh - ph
            for j in range(OW):
                w0 = j * sw - pw
                ob, jb = n * on + i * oh + j * ow, n * jn + i * jh + j * jw
                a0, a1 = _taps(h0, dh, kh, H)
                b0, b1 = _taps(w0, dw, kw, W)
                first = True
                for a in range(a0, a1):
                    h = h0 + a * dh
                    for b in range(b0, b1):
                        w = w0 + b * dw
                        xb, k = n * xn + h * xh + w * xw, h * W + w
                        if first:  # as a start of -inf and the first real index
                            for c in range(C):
                                o[ob + c] = x[xb + c]
                                ix[jb + c] = k
                            first = False
                            continue
                        for c in range(C):
                            v, mc = x[xb + c], o[ob + c]
                            take = (v > mc) | (v != v)  # the first maximum; a NaN wherever met
                            o[ob + c] = v if take else mc
                            ix[jb + c] = k if take else ix[jb + c]


@jit
def _max_pool_backward_band(plan: Any, lo: int, hi: int) -> None:
    C, H, W, OH, OW = plan[0], plan[1], plan[2], plan[3], plan[4]
    ix, jn, jc, jh, jw = _i64_at(plan[23]), plan[24], plan[25], plan[26], plan[27]  # type: ignore[call-arg,var-annotated]
    g, gn, gc, gh, gw = _f32_at(plan[28]), plan[29], plan[30], plan[31], plan[32]  # type: ignore[call-arg]
    d, dn, dc, dh, dw = _f32_at(plan[33]), plan[34], plan[35], plan[36], plan[37]  # type: ignore[call-arg]
    dense = dh == W * dw  # then h * dh + w * dw = (h * W + w) * dw: no division by W
    # the image's gradient is one run of memory (channels last or first)
    run = dn == C * H * W and ((dc == 1 and dw == C and dh == W * C) or (dw == 1 and dh == W and dc == H * W))
    for n in range(lo, hi):
        if run:
            for e in range(n * dn, (n + 1) * dn):
                d[e] = 0
        else:
            for c in range(C):
                for h in range(H):
                    for w in range(W):
                        d[n * dn + c * dc + h * dh + w * dw] = 0
        for i in range(OH):
            for j in range(OW):
                for c in range(C):
                    k = ix[n * jn + c * jc + i * jh + j * jw]
                    at = k * dw if dense else (k // W) * dh + (k % W) * dw
                    d[n * dn + c * dc + at] += g[n * gn + c * gc + i * gh + j * gw]


@nb.njit(nogil=True, cache=True)
def serve(flag: Any, done: Any, job: Any, seen: int, finished: int, turns: int, delay: int) -> int:
    """A worker's wait between jobs, without the GIL.

    Publishes ``done[0] = finished`` first when ``finished`` > 0 (the Python job just run), then
    spins for the next job number in ``flag[0]``: a compiled job (``job[0]`` > 0, see ``run_job``)
    runs here and is published at once; a Python job's number is returned to the caller. After ``turns`` idle
    turns, returns ``-1 - n``, n the number of the last job seen (the products run here count).
    """
    if finished > 0:
        _store_release(done, finished)  # type: ignore[call-arg]
    idle = 0
    while idle < turns:
        n: int = _load_acquire(flag)  # type: ignore[call-arg]
        if n == seen:
            idle += 1
            continue
        seen = n
        if job[0] == 0:
            for _ in range(delay):  # see numpy_threads.PYTHON_JOB_DELAY
                _load_acquire(flag)  # type: ignore[call-arg]
            return n
        run_job(job)
        _store_release(done, n)  # type: ignore[call-arg]
        idle = 0
    return -1 - seen



@nb.njit(nogil=True, cache=True)
def _operand(x: Any) -> tuple[int, int]:
    # (CBLAS transpose flag, leading dimension) of a 2-d x for a row-major gemm; (0, 0): not BLAS-ready
    k = x.itemsize
    r, c = x.shape
    s0, s1 = x.strides
    if s1 == k and s0 % k == 0 and (r == 1 or s0 // k >= c):
        return 111, max(s0 // k, c, 1)  # rows contiguous: as it is
    if s0 == k and s1 % k == 0 and (c == 1 or s1 // k >= r):
        return 112, max(s1 // k, r, 1)  # columns contiguous: the transpose of a row-major matrix
    return 0, 0


@nb.njit(cache=True)
def describe_gemm(a: Any, b: Any, out: Any, kind: int, fn: int, job: Any) -> bool:
    """Fill ``job`` (see ``gemm``) with ``out = a @ b`` for 2-d arrays; False where BLAS cannot
    take one of them as it is (no unit stride along either axis) or a dimension is 0."""
    ta, lda = _operand(a)
    tb, ldb = _operand(b)
    tc, ldc = _operand(out)
    if ta == 0 or tb == 0 or tc != 111 or a.size == 0 or b.size == 0:
        return False
    job[0], job[1], job[2], job[3] = kind, fn, ta, tb
    job[4], job[5], job[6] = a.shape[0], b.shape[1], a.shape[1]
    job[7], job[8], job[9], job[10] = a.ctypes.data, lda, b.ctypes.data, ldb
    job[11], job[12], job[13], job[14] = out.ctypes.data, ldc, 0, 0
    return True


@nb.njit(cache=True)
def describe_bias(bias: Any, job: Any) -> None:
    """Add the contiguous vector ``bias`` to ``job``'s product (see ``gemm``)."""
    job[13] = bias.ctypes.data


@nb.njit(cache=True)
def describe_row_sums(sums: Any, job: Any) -> None:
    """Have ``job``'s product also write the row sums of its left operand into the contiguous ``sums``."""
    job[14] = sums.ctypes.data
