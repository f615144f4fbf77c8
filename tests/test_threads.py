"""ember's intra-op threads (ember/backend/numpy_threads.py): same results at any thread count.

Every primitive that splits its work is run on operands large enough to split, with one
thread and with several (3, so the parts are uneven). Elementwise passes and the row
kernels compute each output element with the same code either way, so their results
must be equal. Matrix products agree to rounding: BLAS picks its kernels by the shape
of the part it is given (as it does under its own threads), so a band of rows can be
summed in another order. A counting wrapper checks that the split really happened.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.backend import numpy_threads

pytest.importorskip("threadpoolctl")
jit_needed = pytest.mark.skipif(
    ember.backend.numpy_cpu.jit_kernels() is None, reason="needs the compiled kernels"
)


@contextlib.contextmanager
def num_threads(n: int) -> Iterator[None]:
    before = ember.get_num_threads()
    ember.set_num_threads(n)
    try:
        yield
    finally:
        ember.set_num_threads(before)


@contextlib.contextmanager
def counting_splits(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Count the calls of numpy_threads.run (and run_compiled) that cut work into more than one part."""
    calls = [0]
    real, real_products = numpy_threads.run, numpy_threads.run_compiled

    def run(fn, jobs):
        if len(jobs) > 1:
            calls[0] += 1
        return real(fn, jobs)

    def run_compiled(jobs, kernels):
        if len(jobs) > 1:
            calls[0] += 1
        return real_products(jobs, kernels)

    monkeypatch.setattr(numpy_threads, "run", run)
    monkeypatch.setattr(numpy_threads, "run_compiled", run_compiled)
    yield calls


def _both(fn, monkeypatch):
    """fn() with 1 thread and with 3; asserts that the 3-thread run split its work."""
    with num_threads(1):
        one = fn()
    with num_threads(3), counting_splits(monkeypatch) as calls:
        three = fn()
    assert calls[0] > 0, "nothing was split"
    return one, three


def _same(a, b):
    for x, y in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
        np.testing.assert_array_equal(x, y)


def _close(a, b):
    for x, y in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(y).max())))


def _randn(*shape, seed=0):
    return ember.from_numpy(np.random.default_rng(seed).standard_normal(shape, dtype=np.float32))


MATMUL_CASES = {
    "2d": ((300, 128), (128, 96)),
    "batch_same": ((6, 64, 64), (6, 64, 64)),
    "batch_broadcast": ((3, 1, 64, 48), (1, 4, 48, 64)),
    "batch_of_one": ((1, 300, 64), (1, 64, 80)),
    "matrix_times_batch": ((96, 64), (6, 64, 80)),
    "batch_times_matrix": ((4, 75, 64), (64, 80)),
    "transposed": ((128, 300), (96, 128)),
    "few_rows": ((65, 768), (768, 128)),  # bands of columns: an output layer's weight gradient
    "few_rows_transposed": ((768, 65), (128, 768)),
    # too few rows and columns for bands of either: run as (b^T a^T)^T in bands of its columns
    "thin_output": ((32, 5000), (5000, 9)),
    "vector_output": ((48, 30000), (30000, 1)),
    "uneven_row_bands": ((288, 700), (700, 64)),  # bands of 64 rows would be 192 and 96
}


@pytest.mark.parametrize("case", MATMUL_CASES, ids=list(MATMUL_CASES))
def test_matmul_any_thread_count(case, monkeypatch):
    sa, sb = MATMUL_CASES[case]
    a, b = _randn(*sa, seed=1), _randn(*sb, seed=2)
    if case.endswith("transposed"):
        a, b = a.t(), b.t()

    def run():
        return (a @ b).numpy()

    one, three = _both(run, monkeypatch)
    _close(one, three)
    want = np.matmul(a.numpy(), b.numpy())  # float32 sums of up to 30,000 terms: rounding grows with them
    np.testing.assert_allclose(three, want, rtol=1e-5, atol=1e-4 * max(1.0, sa[-1] / 1000))


def test_product_bands_are_even():
    from ember.backend.numpy_linalg import _bands

    assert _bands(768, 2, 64) == [(0, 384), (384, 768)]
    assert _bands(288, 2, 64) == [(0, 144), (144, 288)]  # not (0, 192), (192, 288)
    assert _bands(300, 2, 64) == [(0, 160), (160, 300)]
    assert _bands(1100, 2, 64) == [(0, 576), (576, 1100)]  # within 1/8 of even: kept on multiples of 64


@jit_needed
@pytest.mark.parametrize("shape", [(32, 5000, 9), (128, 768, 512), (65, 768, 128), (300, 1000, 7)])
def test_products_with_a_long_inner_axis_split_along_it(shape, monkeypatch):
    """A product whose inner axis is longer than both outer ones (a weight gradient, summed over the
    batch) is cut along that axis, each thread's partial product added after; with row sums too
    (Linear's bias gradient). Even with too few rows and columns for bands of either."""
    from ember.backend import numpy_linalg

    m, k, n = shape
    a = np.ascontiguousarray(_randn(k, m, seed=1).numpy()).T  # g^T, as Linear's backward passes it
    b = _randn(k, n, seed=2).numpy()
    inner = []
    real = numpy_linalg._split_inner
    monkeypatch.setattr(numpy_linalg, "_split_inner", lambda *x: inner.append(real(*x)) or inner[-1])
    one, three = _both(lambda: numpy_linalg.matmul_row_sums(a, b) or (a @ b, a.sum(1)), monkeypatch)
    assert any(r is not None for r in inner), "not cut along the inner axis"
    want = np.matmul(a.astype(np.float64), b.astype(np.float64))
    np.testing.assert_allclose(three[0], want, rtol=1e-5, atol=1e-4 * np.abs(want).max())
    np.testing.assert_allclose(three[1], a.sum(1), rtol=1e-5, atol=1e-3)
    _close(one, three)


@jit_needed
@pytest.mark.parametrize("case", ["2d", "transposed", "few_rows", "few_rows_transposed", "float64",
                                  "strided", "bias", "bias_few_rows", "bias_float64", "batch_of_one",
                                  "bias_batch_of_one"])
def test_products_in_compiled_waits_match_the_python_path(case, monkeypatch):
    """A 2-d product split for the workers runs as BLAS calls from compiled code (no GIL); it gives
    the same bits as the same bands run through Python jobs, and a worker that went to sleep
    between products wakes for the next."""
    from ember.backend import numpy_linalg

    sa, sb = MATMUL_CASES.get(case.removeprefix("bias_"), MATMUL_CASES["2d"])
    a, b = _randn(*sa, seed=1).numpy(), _randn(*sb, seed=2).numpy()
    if case.endswith("transposed"):
        a, b = a.T, b.T
    if case.endswith("float64"):
        a, b = a.astype(np.float64), b.astype(np.float64)
    c = _randn(b.shape[-1], seed=3).numpy().astype(a.dtype) if case.startswith("bias") else None
    if case == "strided":  # no unit stride along either axis: copied first, then split as any other
        a = np.repeat(a, 2, axis=1)[:, ::2]
    compiled = [0]
    real = numpy_threads.run_compiled

    def counted(jobs, kernels):
        compiled[0] += 1
        return real(jobs, kernels)

    with num_threads(2):
        monkeypatch.setattr(numpy_threads, "run_compiled", counted)
        fast = numpy_linalg.matmul(a, b, c)
        monkeypatch.setattr(numpy_threads, "SPIN_TURNS", 64)  # the worker sleeps at once between jobs
        import time

        time.sleep(0.01)
        again = numpy_linalg.matmul(a, b, c)
        monkeypatch.undo()
        monkeypatch.setattr(numpy_threads, "compiled_waits", lambda: None)
        slow = numpy_linalg.matmul(a, b, c)
    assert compiled[0] == 2
    # the Python jobs call NumPy's matmul: the same gemm, and so the same bits, unless ember chose MKL
    same = np.testing.assert_array_equal if numpy_linalg.gemm_library() == "openblas" else _close
    same(fast, slow)
    same(again, slow)
    np.testing.assert_allclose(fast, a @ b + (0 if c is None else c), rtol=1e-5, atol=1e-4)


@jit_needed
@pytest.mark.parametrize("shape", [(300, 128, 96), (768, 128, 65), (768, 64, 384)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_weight_and_bias_gradients_in_one_pass(shape, dtype, monkeypatch):
    """Linear's bias gradient is summed by the bands of its weight gradient's product (bands of
    rows, or of columns for a 65-row weight, where the first band sums every row), against the
    composed path and torch."""
    import torch

    from ember.backend import numpy_cpu, numpy_jit

    rows, n_in, n_out = shape
    rng = np.random.default_rng(7)
    x0, w0, b0, g0 = (rng.standard_normal(s).astype(dtype) for s in ((rows, n_in), (n_out, n_in), (n_out,),
                                                                      (rows, n_out)))

    def run(lib):
        x, w, b = (lib.tensor(a, requires_grad=True) for a in (x0, w0, b0))
        lib.nn.functional.linear(x, w, b).backward(lib.tensor(g0))
        return tuple(t.grad.numpy() for t in (x, w, b))

    fused = [0]
    real = numpy_jit.describe_row_sums

    def counted(*args):
        fused[0] += 1
        return real(*args)

    with num_threads(2):
        monkeypatch.setattr(numpy_jit, "describe_row_sums", counted)
        on = run(ember)
        monkeypatch.setattr(numpy_cpu.NumpyBuffer, "matmul_row_sums", lambda self, o: None)
        off = run(ember)
    assert fused[0] >= 1
    tol = 1e-4 if dtype == np.float32 else 1e-10
    for a, b, c in zip(on, off, run(torch)):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
        np.testing.assert_allclose(a, c, rtol=tol, atol=tol)


@pytest.mark.parametrize("bias_shape", [(96,), (300, 96), (1, 96)])
def test_linear_bias_any_thread_count(bias_shape, monkeypatch):
    x, w = _randn(300, 128, seed=1).requires_grad_(), _randn(96, 128, seed=2).requires_grad_()
    b = _randn(96, seed=3).requires_grad_()

    def run():
        for t in (x, w, b):
            t.grad = None
        y = F.linear(x, w, b) if bias_shape == (96,) else x @ w.t() + b.expand(*bias_shape)
        (y * y).sum().backward()
        return y.detach().numpy(), x.grad.numpy(), w.grad.numpy(), b.grad.numpy()

    one, three = _both(run, monkeypatch)
    _close(one, three)
    if bias_shape == (96,):
        ref = x.detach().numpy() @ w.detach().numpy().T + b.detach().numpy()
        np.testing.assert_allclose(three[0], ref, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("m", [300, 65], ids=["row_bands", "column_bands"])
def test_matmul_add_broadcasts_any_bias(m, monkeypatch):
    a, b = _randn(m, 768, seed=1), _randn(768, 96, seed=2)
    for shape in [(96,), (m, 96), (1, 96), (m, 1)]:
        c = _randn(*shape, seed=3)

        def run():
            return a._buf.matmul_add(b._buf, c._buf).data.copy()

        one, three = _both(run, monkeypatch)
        _close(one, three)
        np.testing.assert_allclose(three, a.numpy() @ b.numpy() + c.numpy(), rtol=1e-5, atol=1e-4)


BINARY = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
          "div": lambda x, y: x / y}


@pytest.mark.parametrize("op", BINARY, ids=list(BINARY))
@pytest.mark.parametrize("other", ["same", "row", "column", "scalar", "float64"])
def test_binary_any_thread_count(op, other, monkeypatch):
    x = _randn(2000, 300, seed=1)
    y = {"same": _randn(2000, 300, seed=2), "row": _randn(300, seed=2), "column": _randn(2000, 1, seed=2),
         "scalar": 1.7, "float64": _randn(2000, 300, seed=2).double()}[other]

    def run():
        r = BINARY[op](x, y)
        return r.numpy(), str(r.dtype)

    (one, d1), (three, d3) = _both(run, monkeypatch)
    assert d1 == d3 == ("ember.float64" if other == "float64" else "ember.float32")
    _same(one, three)


@pytest.mark.parametrize("op", ["relu", "greater", "maximum", "mask_mul", "add_same_layout"])
def test_channels_last_passes_any_thread_count(op, monkeypatch):
    """Arrays laid out channels innermost (a convolution's output, viewed as (N, C, H, W)) split along
    N like C-ordered ones, and the result keeps their layout; mixed layouts are left whole."""
    x = _randn(64, 26, 26, 32, seed=1).permute(0, 3, 1, 2)  # strides of (N, H, W, C)
    y = _randn(64, 26, 26, 32, seed=2).permute(0, 3, 1, 2)

    def run():
        r = {"relu": lambda: F.relu(x), "greater": lambda: x > 0, "maximum": lambda: ember.maximum(x, y),
             "mask_mul": lambda: y * (x > 0), "add_same_layout": lambda: x + y}[op]()
        return r.numpy().copy(), r.numpy().strides

    (one, s1), (three, s3) = _both(run, monkeypatch)
    _same(one, three)
    assert s1 == s3 and np.argmax(s3) == 0 and np.argmin(s3) == 1  # N outermost, C innermost
    xn, yn = x.numpy(), y.numpy()
    want = {"relu": np.maximum(xn, 0), "greater": xn > 0, "maximum": np.maximum(xn, yn),
            "mask_mul": yn * (xn > 0), "add_same_layout": xn + yn}[op]
    np.testing.assert_array_equal(three, want)
    yc = y.contiguous()
    with num_threads(3), counting_splits(monkeypatch) as calls:
        _ = x + yc  # one operand C-ordered, the other not: one pass, no split
    assert calls[0] == 0


def test_gradient_accumulation_any_thread_count(monkeypatch):
    x = _randn(2000, 300, seed=1).requires_grad_()

    def run():
        x.grad = None
        ((x * 2).sum() + (x * x).sum()).backward()
        (x * 3).sum().backward()  # a second backward accumulates into x.grad
        return x.grad.numpy().copy()

    one, three = _both(run, monkeypatch)
    _same(one, three)
    np.testing.assert_allclose(three, 2 + 2 * x.detach().numpy() + 3, rtol=1e-6)



@jit_needed
def test_fused_kernels_any_thread_count(monkeypatch):
    x = _randn(12, 64, 512, seed=1).requires_grad_()
    ln = ember.nn.LayerNorm(512)
    q, k, v = (_randn(12, 4, 64, 32, seed=s).requires_grad_() for s in (2, 3, 4))

    def run():
        for t in (x, q, k, v, ln.weight, ln.bias):
            t.grad = None
        y = F.gelu(ln(x))
        o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        (y.square().sum() + o.square().sum()).backward()
        return tuple(t.numpy() for t in (y.detach(), o.detach(), x.grad, ln.weight.grad, ln.bias.grad,
                                          q.grad, k.grad, v.grad))

    one, three = _both(run, monkeypatch)
    _same(one[:3] + one[5:], three[:3] + three[5:])
    # the weight and bias gradients sum each band of rows apart, then add the bands
    for a, b in zip(one[3:5], three[3:5]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)


@jit_needed
def test_adam_any_thread_count(monkeypatch):
    def run():
        p = ember.nn.Parameter(_randn(2000, 300, seed=1))
        opt = ember.optim.AdamW([p], lr=1e-2)
        for _ in range(3):
            p.grad = _randn(2000, 300, seed=2)
            opt.step()
        return p.detach().numpy()

    one, three = _both(run, monkeypatch)
    _same(one, three)


@jit_needed
def test_adam_over_many_parameters_any_thread_count(monkeypatch):
    # the parameters are laid end to end and cut into one band per thread, so a band ends inside
    # a parameter; a float64 one, a 0-d one and an empty one take their own paths beside them
    shapes = [(700, 300), (5,), (), (0, 3), (400, 301), (3,)]

    def run(lib):
        ps = [lib.nn.Parameter(lib.from_numpy(np.random.default_rng(i).standard_normal(s).astype(np.float32)))
              for i, s in enumerate(shapes)]
        ps.append(lib.nn.Parameter(lib.ones(4, 2, dtype=lib.float64)))
        groups = [{"params": ps[:3], "weight_decay": 0.1}, {"params": ps[3:], "weight_decay": 0.0}]
        opt = lib.optim.AdamW(groups, lr=1e-2, betas=(0.9, 0.99))
        for step in range(3):
            for i, p in enumerate(ps):
                g = np.random.default_rng(100 + 10 * step + i).standard_normal(tuple(p.shape))
                p.grad = lib.from_numpy(g.astype(np.float64 if i == len(ps) - 1 else np.float32))
            opt.step()
        return tuple(p.detach().numpy() for p in ps)

    one, three = _both(lambda: run(ember), monkeypatch)
    _same(one, three)
    import torch

    for got, want in zip(one, run(torch)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_gpt_step_any_thread_count(monkeypatch):
    from ember.models import GPT, GPTConfig

    def run():
        ember.manual_seed(0)
        model = GPT(GPTConfig(block_size=64, vocab_size=65, n_layer=2, n_head=4, n_embd=128))
        idx = ember.randint(0, 65, (12, 64))
        _, loss = model(idx, idx)
        loss.backward()
        return loss.item(), model.lm_head.weight.grad.numpy()

    (l1, g1), (l3, g3) = _both(run, monkeypatch)
    assert l1 == l3
    np.testing.assert_allclose(g1, g3, rtol=1e-5, atol=1e-6)


def test_set_num_threads_checks_and_reports():
    with num_threads(2):
        assert ember.get_num_threads() == 2
    import torch

    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(RuntimeError, match="set_num_threads expects") as ours:
            ember.set_num_threads(bad)
        with pytest.raises(RuntimeError) as theirs:
            torch.set_num_threads(bad)
        assert str(ours.value).split(",")[0] == str(theirs.value).split(",")[0]
    assert ember.get_num_threads() >= 1  # unchanged by the refused calls


def test_blas_gets_its_threads_back_on_one_thread():
    from threadpoolctl import threadpool_info

    def blas_threads():
        return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")

    with num_threads(1):
        before = blas_threads()
    with num_threads(2):
        _randn(300, 128) @ _randn(128, 96)  # starts the workers
        assert blas_threads() == 1
    with num_threads(1):
        assert blas_threads() == before


def test_worker_error_reaches_the_caller():
    with num_threads(3):
        def job(i):
            if i == 2:
                raise ValueError("boom in a worker")

        with pytest.raises(ValueError, match="boom in a worker"):
            numpy_threads.run(job, [(0,), (1,), (2,)])
        numpy_threads.run(job, [(0,), (1,)])  # the pool still works afterwards


@jit_needed
def test_a_wait_on_a_worker_that_is_gone_raises(monkeypatch):
    """The caller waits for a worker in a compiled spin; a worker thread that died would never
    publish its job, so the wait checks that the thread is alive instead of spinning for ever."""
    worker = numpy_threads._Worker(numpy_threads._wait_kernels())
    real = worker.thread
    gone = threading.Thread(target=lambda: None)
    gone.start()
    gone.join()
    monkeypatch.setattr(numpy_threads, "SPIN_TURNS", 1000)
    worker.thread, worker.jobs = gone, worker.jobs + 1  # a job that will never be published
    with pytest.raises(RuntimeError, match="worker thread stopped"):
        worker.wait()
    worker.thread, worker.jobs = real, worker.jobs - 1
    worker.stop = True
    worker.hand(numpy_threads._nothing, ())
    real.join(timeout=5)
    assert not real.is_alive()


def test_nested_and_concurrent_splits_run_serially():
    seen = []
    lock = threading.Lock()

    def inner(i):
        with lock:
            seen.append(("inner", i, threading.current_thread().name))

    def outer(i):
        numpy_threads.run(inner, [(10 * i,), (10 * i + 1,)])  # a split inside a split: runs in place

    with num_threads(2):
        numpy_threads.run(outer, [(0,), (1,)])
        assert sorted(s[1] for s in seen) == [0, 1, 10, 11]
        # each outer job ran its inner jobs on its own thread
        by_thread = {}
        for _, i, name in seen:
            by_thread.setdefault(name, set()).add(i // 10)
        assert all(len(v) == 1 for v in by_thread.values())

        results = []

        def user_thread():
            a = _randn(300, 128, seed=5)
            results.append((a @ a.t()).numpy())

        threads = [threading.Thread(target=user_thread) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for r in results[1:]:
            np.testing.assert_array_equal(r, results[0])


def test_without_threadpoolctl_everything_runs_on_the_calling_thread(monkeypatch):
    monkeypatch.setattr(numpy_threads, "_state", numpy_threads._State())
    monkeypatch.setattr(numpy_threads, "_limit_blas", lambda: None)
    ember.set_num_threads(2)
    names = []

    def job(i):
        names.append(threading.current_thread().name)

    numpy_threads.run(job, [(0,), (1,)])
    assert names == [threading.current_thread().name] * 2
    assert numpy_threads._state.workers == [] and numpy_threads._state.no_limit
    a, b = _randn(300, 128), _randn(128, 96)
    np.testing.assert_allclose((a @ b).numpy(), a.numpy() @ b.numpy(), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("make", ["transpose", "permute", "slice"])
def test_copies_any_thread_count(make, monkeypatch):
    x = _randn(64, 40, 30, 16, seed=1)
    view = {"transpose": lambda: x.transpose(0, 3), "permute": lambda: x.permute(3, 1, 0, 2),
            "slice": lambda: x[:, ::2, 1:, :]}[make]

    def run():
        v = view()
        return v.contiguous().numpy().copy(), v.reshape(-1, v.shape[-1]).numpy().copy()

    one, three = _both(run, monkeypatch)
    _same(one, three)
    ref = {"transpose": lambda a: a.swapaxes(0, 3), "permute": lambda a: a.transpose(3, 1, 0, 2),
           "slice": lambda a: a[:, ::2, 1:, :]}[make](x.numpy())
    np.testing.assert_array_equal(three[0], ref)
    np.testing.assert_array_equal(three[1], ref.reshape(-1, ref.shape[-1]))


@pytest.mark.parametrize("axis", [1, 2, -1])
def test_concatenate_any_thread_count(axis, monkeypatch):
    from ember.backend.numpy_cpu import NumpyBuffer

    parts = [_randn(48, 64, n, seed=n)._buf for n in (128, 7, 200)] if axis != 1 else \
        [_randn(48, n, 96, seed=n)._buf for n in (64, 1, 90)]
    one, three = _both(lambda: NumpyBuffer.concatenate(parts, axis).numpy(), monkeypatch)
    _same(one, three)
    np.testing.assert_array_equal(three, np.concatenate([b.numpy() for b in parts], axis))


def _order(strides, shape):
    """Axes from the largest stride to the smallest, axes of length 1 left out (they move no address)."""
    return sorted((i for i in range(len(shape)) if shape[i] != 1), key=lambda i: -strides[i])


@pytest.mark.parametrize("like", ["heads", "transposed_last", "length_one_axis", "contiguous"])
def test_matmul_like_lays_the_product_out_as_like(like, monkeypatch):
    """``a.matmul_like(b, like)``: the product's values, in like's memory order (outermost stride
    first), at any thread count; a head of packed q, k, v gets a gradient that reshapes back as a view."""
    h = 1 if like == "length_one_axis" else 4
    a, b = _randn(12, h, 64, 64, seed=1)._buf, _randn(12, h, 64, 32, seed=2)._buf
    ref = {"heads": lambda: _randn(12, 64, 3 * 128, seed=3)[..., :128].view(12, 64, 4, 32).transpose(1, 2),
           "transposed_last": lambda: _randn(12, 4, 32, 64, seed=3).transpose(-1, -2),
           "length_one_axis": lambda: _randn(1, 64, 12, 32, seed=3).permute(2, 0, 1, 3),
           "contiguous": lambda: _randn(12, 4, 64, 32, seed=3)}[like]()._buf
    one, three = _both(lambda: a.matmul_like(b, ref), monkeypatch)
    expect = np.matmul(a.numpy(), b.numpy())
    for out in (one, three):
        np.testing.assert_allclose(out.numpy(), expect, rtol=1e-5, atol=1e-4)
        assert _order(out.numpy().strides, expect.shape) == _order(ref.numpy().strides, expect.shape)
    if like == "heads":  # back to (B, T, H * hs) without a copy
        back = three.permute((0, 2, 1, 3)).reshape((12, 64, 128))
        assert np.shares_memory(back.numpy(), three.numpy())
    # a product whose shape differs from like's (a broadcast batch) is laid out as usual
    small = _randn(1, h, 64, 32, seed=4)._buf.permute((0, 2, 1, 3)).contiguous().permute((0, 2, 1, 3))
    assert a.matmul_like(_randn(1, h, 64, 32, seed=4)._buf, small).numpy().flags.c_contiguous


def test_reshape_of_a_large_view_stays_a_view_where_it_can():
    x = _randn(64, 40, 30, 12, seed=1)
    v = x[:, ::2]  # (64, 20, 30, 12): merging the last two axes needs no copy
    r = v.reshape(64, 20, 360)
    assert np.shares_memory(r.numpy(), x.numpy())


def test_conv2d_any_thread_count(monkeypatch):
    x = _randn(64, 32, 13, 13, seed=1).requires_grad_()
    conv = ember.nn.Conv2d(32, 64, 3)

    def run():
        for t in (x, conv.weight, conv.bias):
            t.grad = None
        y = conv(x)
        y.square().sum().backward()
        return y.detach().numpy(), x.grad.numpy(), conv.weight.grad.numpy(), conv.bias.grad.numpy()

    one, three = _both(run, monkeypatch)
    _close(one, three)


@pytest.mark.parametrize("stride,dilation,padding", [(1, 1, 0), (2, 1, 1), (1, 2, 2)])
def test_conv2d_input_gradient_split_by_image(stride, dilation, padding, monkeypatch):
    """col2im (``unwindow``) of a large batch adds each thread's images on their own: the same bits
    at 1 and 3 threads, and torch's input gradient, for overlapping, strided and dilated windows."""
    import torch

    x = _randn(48, 16, 17, 17, seed=3)
    w = _randn(24, 16, 3, 3, seed=4)

    def run(lib):
        xs, ws = lib.tensor(x.numpy(), requires_grad=True), lib.tensor(w.numpy())
        y = lib.nn.functional.conv2d(xs, ws, stride=stride, padding=padding, dilation=dilation)
        (y * y).sum().backward()
        return xs.grad.numpy()

    one, three = _both(lambda: run(ember), monkeypatch)
    assert np.array_equal(one, three)
    np.testing.assert_allclose(one, run(torch), rtol=1e-4, atol=1e-3)


def _count_binary_jobs(monkeypatch) -> list[int]:
    """A counter of the elementwise compiled jobs described from here on."""
    from ember.backend import numpy_jit

    calls = [0]
    real = numpy_jit.describe_binary

    def counted(*args):
        calls[0] += 1
        return real(*args)

    monkeypatch.setattr(numpy_jit, "describe_binary", counted)
    return calls


@jit_needed
@pytest.mark.parametrize("op", ["add", "sub", "mul"])
def test_large_float32_arithmetic_in_compiled_jobs(op, monkeypatch):
    """A large float32 add, subtract or multiply of two same-shaped arrays splits as compiled jobs,
    and gives NumPy's bits exactly (one IEEE operation per element)."""
    a, b = _randn(300, 1000, seed=1), _randn(300, 1000, seed=2)
    fn = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y}[op]
    calls = _count_binary_jobs(monkeypatch)
    one, three = _both(lambda: fn(a, b).numpy(), monkeypatch)
    assert calls[0] >= 2
    _same(one, three)
    _same(three, fn(a.numpy(), b.numpy()))


@jit_needed
@pytest.mark.parametrize("layout", ["c_order", "channels_last"])
def test_relu_in_compiled_jobs(layout, monkeypatch):
    """A large float32 ReLU runs forward (maximum with 0) and backward (0 where the output is <= 0)
    as compiled jobs, in the input's memory order (a convolution's output is channels-last), with
    NumPy's bits (NaN kept, -0.0 made 0.0) and PyTorch's gradient: passed at a NaN output, 0 for
    an inf or NaN gradient where the output is 0. The NumPy path gives the same."""
    import torch

    from ember.backend import numpy_cpu

    rng = np.random.default_rng(5)
    x = rng.standard_normal((40, 30, 30, 16), dtype=np.float32)
    g = rng.standard_normal(x.shape, dtype=np.float32)
    x.reshape(-1)[:9] = [np.nan, -0.0, 0.0, np.inf, -np.inf, 1e-45, -1.0, -1.0, -1.0]
    g.reshape(-1)[6:9] = [np.inf, -np.inf, np.nan]  # where the output is 0
    if layout == "channels_last":
        x, g = x.transpose(0, 3, 1, 2), g.transpose(0, 3, 1, 2)
    calls = _count_binary_jobs(monkeypatch)

    def run():
        t = ember.from_numpy(x).requires_grad_()
        y = t.relu()
        y.backward(ember.from_numpy(g))
        return y.detach().numpy(), t.grad.numpy()

    one, three = _both(run, monkeypatch)
    assert calls[0] >= 4  # forward and backward, each in bands, at both thread counts
    _same(one, three)
    out = np.maximum(x, 0)
    _same(three, (out, np.where(out <= 0, 0, g)))
    assert three[0].strides == x.strides and three[1].strides == x.strides
    before = numpy_cpu.set_jit(False)
    try:
        _same(run(), three)
    finally:
        numpy_cpu.set_jit(before)
    tx = torch.from_numpy(np.ascontiguousarray(x)).requires_grad_()
    ty = torch.relu(tx)
    ty.backward(torch.from_numpy(np.ascontiguousarray(g)))
    np.testing.assert_array_equal(three[0], ty.detach().numpy())  # -0.0 == 0.0 compares equal
    np.testing.assert_array_equal(three[1], tx.grad.numpy())


@pytest.mark.parametrize(
    ("env", "intel", "mkl", "want"),
    [("", True, True, "mkl"), ("", False, True, "openblas"), ("", True, False, "openblas"),
     ("openblas", True, True, "openblas"), ("mkl", False, True, "mkl"), ("MKL ", False, False, "openblas")],
)
def test_gemm_library_choice(env, intel, mkl, want, monkeypatch):
    """MKL where it is installed and the CPU is Intel's, else NumPy's OpenBLAS; EMBER_BLAS overrides."""
    from ember.backend import numpy_linalg

    monkeypatch.setattr(numpy_linalg, "_GEMM", None)
    monkeypatch.setenv("EMBER_BLAS", env)
    monkeypatch.setattr(numpy_linalg.threads, "INTEL_CPU", intel)
    monkeypatch.setattr(numpy_linalg, "_mkl_gemm", lambda: ("mkl", 1, 2) if mkl else None)
    monkeypatch.setattr(numpy_linalg, "_numpy_gemm", lambda: ("openblas", 3, 4))
    assert numpy_linalg.gemm_library() == want


def test_gemm_library_rejects_an_unknown_name(monkeypatch):
    from ember.backend import numpy_linalg

    monkeypatch.setattr(numpy_linalg, "_GEMM", None)
    monkeypatch.setenv("EMBER_BLAS", "atlas")
    with pytest.raises(ValueError, match="EMBER_BLAS must be 'mkl' or 'openblas', got 'atlas'"):
        numpy_linalg.gemm_library()


def _mkl_or_skip():
    from ember.backend import numpy_linalg

    found = numpy_linalg._mkl_gemm()
    if found is None:
        pytest.skip("the mkl package is not installed (or not on this platform)")
    return found


@jit_needed
@pytest.mark.parametrize("case", ["gpt_qkv", "gpt_weight_grad", "gpt_head_input_grad", "one_band", "float64",
                                  "bias", "row_sums", "thin_output"])
def test_products_on_mkl(case, monkeypatch):
    """With MKL as ember's gemm (whatever the CPU), split products, a product that does not cut (one
    band on the calling thread), Linear's bias and row sums all match NumPy's matmul."""
    from ember.backend import numpy_linalg

    monkeypatch.setattr(numpy_linalg, "_GEMM", _mkl_or_skip())
    shapes = {"gpt_qkv": ((768, 128), (128, 384)), "gpt_weight_grad": ((128, 768), (768, 512)),
              "gpt_head_input_grad": ((768, 65), (65, 128)), "one_band": ((1, 100_000), (100_000, 16)),
              "thin_output": ((32, 5000), (5000, 9))}
    sa, sb = shapes.get(case, ((300, 700), (700, 96)))
    rng = np.random.default_rng(5)
    dtype = np.float64 if case == "float64" else np.float32
    a, b = rng.standard_normal(sa).astype(dtype), rng.standard_normal(sb).astype(dtype)
    if case == "gpt_weight_grad":
        a = np.ascontiguousarray(a.T).T  # g^T: a transposed view, as Linear's backward passes it
    # one band: a bias keeps the product whole (a long inner axis alone is cut along it)
    c = rng.standard_normal(sb[1]).astype(dtype) if case in ("bias", "one_band") else 0
    jobs = []
    real = numpy_threads.run_compiled
    monkeypatch.setattr(numpy_threads, "run_compiled", lambda js, k: (jobs.append(len(js)), real(js, k))[1])
    with num_threads(2):
        if case == "row_sums":
            got, sums = numpy_linalg.matmul_row_sums(a, b)
            np.testing.assert_allclose(sums, a.sum(axis=1), rtol=1e-5, atol=1e-3)
        else:
            got = numpy_linalg.matmul(a, b, c if case in ("bias", "one_band") else None)
    assert jobs == ([1] if case == "one_band" else [2]), jobs
    want = np.matmul(a.astype(np.float64), b.astype(np.float64)) + c
    tol = 1e-12 if dtype == np.float64 else 1e-5 * np.sqrt(sa[1])
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())
