"""The compiled kernels (ember/backend/numpy_jit.py) against the NumPy code they replace, and PyTorch.

Each test runs the same ember call twice, with the kernels switched on and off, checks that
the compiled kernel really ran (a counting wrapper around it), and compares both results
with each other and with PyTorch. The rest of the suite runs with whichever setting the
environment gives (``EMBER_JIT=0`` switches them off), so CI runs it both ways.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import pytest

pytest.importorskip("numba")

import torch  # noqa: E402

import ember  # noqa: E402
import ember.nn.functional as F  # noqa: E402
from ember.backend import numpy_cpu, numpy_jit  # noqa: E402


@contextlib.contextmanager
def jit(enabled: bool) -> Iterator[None]:
    before = numpy_cpu.set_jit(enabled)
    try:
        yield
    finally:
        numpy_cpu.set_jit(before)


@contextlib.contextmanager
def counting(monkeypatch: pytest.MonkeyPatch, name: str) -> Iterator[list[int]]:
    """Count the calls of the compiled kernel ``name`` while inside."""
    calls = [0]
    kernel = getattr(numpy_jit, name)

    def wrapper(*args: object) -> object:
        calls[0] += 1
        return kernel(*args)

    with monkeypatch.context() as m:
        m.setattr(numpy_jit, name, wrapper)
        yield calls


def both_ways(fn, monkeypatch, *kernels):
    """fn() with the kernels on (each must run at least once) and off (none may run)."""
    with contextlib.ExitStack() as stack:
        counts = [stack.enter_context(counting(monkeypatch, k)) for k in kernels]
        with jit(True):
            on = fn()
        assert all(c[0] > 0 for c in counts), f"the compiled kernels {kernels} did not run"
        for c in counts:
            c[0] = 0
        with jit(False):
            off = fn()
        assert all(c[0] == 0 for c in counts)
    return on, off


def close(a, b, rtol=1e-5, atol=1e-6):
    a = a.numpy() if hasattr(a, "numpy") else np.asarray(a)
    b = (b.detach().numpy() if isinstance(b, torch.Tensor)
         else (b.numpy() if hasattr(b, "numpy") else np.asarray(b)))
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def test_exp32_accuracy():
    x = np.linspace(-87, 88, 200_001, dtype=np.float32)
    g = np.empty_like(x)

    @numpy_jit.jit
    def run(x, out):
        for i in range(x.size):
            out[i] = numpy_jit.exp32(x[i])

    run(x, g)
    want = np.exp(x.astype(np.float64))
    assert np.max(np.abs(g - want) / want) < 5e-7


@pytest.mark.parametrize("shape", [(7,), (3, 5, 33), (4096,)])
def test_gelu(shape, monkeypatch):
    rng = np.random.default_rng(0)
    xv = (rng.standard_normal(shape) * 4).astype(np.float32)
    xv.reshape(-1)[:3] = [0.0, -12.0, 12.0]

    def run():
        x = ember.tensor(xv, requires_grad=True)
        y = F.gelu(x)
        (y * ember.tensor(np.cos(xv))).sum().backward()
        return y.detach(), x.grad

    (y1, g1), (y0, g0) = both_ways(run, monkeypatch, "describe_gelu")
    xt = torch.tensor(xv, requires_grad=True)
    yt = torch.nn.functional.gelu(xt)
    (yt * torch.cos(torch.tensor(xv))).sum().backward()
    for y, g in ((y1, g1), (y0, g0)):
        close(y, yt)
        close(g, xt.grad)


@pytest.mark.parametrize("shape,nd", [((5, 16), 1), ((2, 3, 130), 1), ((2, 4, 6), 2), ((1, 3), 1)])
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
def test_layer_norm(shape, nd, affine, monkeypatch):
    rng = np.random.default_rng(1)
    xv = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
    norm = shape[len(shape) - nd:]
    wv = rng.standard_normal(norm).astype(np.float32)
    bv = rng.standard_normal(norm).astype(np.float32)
    gv = rng.standard_normal(shape).astype(np.float32)
    w_on, b_on = affine != "none", affine == "both"

    def run():
        x = ember.tensor(xv, requires_grad=True)
        w = ember.tensor(wv, requires_grad=True) if w_on else None
        b = ember.tensor(bv, requires_grad=True) if b_on else None
        y = F.layer_norm(x, norm, w, b, 1e-5)
        y.backward(ember.tensor(gv))
        return [y.detach(), x.grad] + [t.grad for t in (w, b) if t is not None]

    on, off = both_ways(run, monkeypatch, "describe_layer_norm", "describe_layer_norm_backward")
    xt = torch.tensor(xv, requires_grad=True)
    wt = torch.tensor(wv, requires_grad=True) if w_on else None
    bt = torch.tensor(bv, requires_grad=True) if b_on else None
    yt = torch.nn.functional.layer_norm(xt, norm, wt, bt, 1e-5)
    yt.backward(torch.tensor(gv))
    want = [yt, xt.grad] + [t.grad for t in (wt, bt) if t is not None]
    for got in (on, off):
        assert len(got) == len(want)
        for a, b in zip(got, want):
            close(a, b, rtol=1e-4, atol=1e-5)


def test_layer_norm_falls_back_for_float64_and_mixed_dtypes():
    x = ember.randn(3, 8, dtype=ember.float64, requires_grad=True)
    with jit(True):
        y = F.layer_norm(x, (8,))
        y.sum().backward()
    assert y.dtype == ember.float64 and x.grad.dtype == ember.float64


@pytest.mark.parametrize("L,S", [(5, 5), (3, 7), (8, 4), (1, 1), (64, 64), (40, 64), (64, 40)])
@pytest.mark.parametrize("causal", [False, True])
def test_attention(L, S, causal, monkeypatch):
    rng = np.random.default_rng(2)
    qv = rng.standard_normal((2, 3, L, 8)).astype(np.float32)
    kv = rng.standard_normal((2, 3, S, 8)).astype(np.float32)
    vv = rng.standard_normal((2, 3, S, 8)).astype(np.float32)
    gv = rng.standard_normal((2, 3, L, 8)).astype(np.float32)

    def run():
        q, k, v = (ember.tensor(a, requires_grad=True) for a in (qv, kv, vv))
        o = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        o.backward(ember.tensor(gv))
        return [o.detach(), q.grad, k.grad, v.grad]

    on, off = both_ways(run, monkeypatch, "softmax_rows", "softmax_backward_rows")
    q, k, v = (torch.tensor(a, requires_grad=True) for a in (qv, kv, vv))
    ot = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
    ot.backward(torch.tensor(gv))
    for got in (on, off):
        for a, b in zip(got, (ot, q.grad, k.grad, v.grad)):
            close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("layout", ["heads_of_packed_qkv", "batch_of_one", "three_axes", "keys_longer",
                                    "only_q_needs_grad", "five_axes"])
def test_fused_attention_against_torch(layout, monkeypatch):
    """The backend's one-pass attention (forward and backward per band of heads) on the layouts a
    model hands it, with the kernels on (it must run) and off, against torch."""
    from ember.backend.numpy_cpu import NumpyBuffer

    rng = np.random.default_rng(6)
    lead, L, S, causal = {"heads_of_packed_qkv": ((3, 2), 7, 7, True), "batch_of_one": ((1, 3), 5, 5, True),
                          "three_axes": ((4,), 6, 6, False), "keys_longer": ((2, 2), 3, 8, True),
                          "only_q_needs_grad": ((2, 3), 4, 4, True),
                          "five_axes": ((2, 1, 3), 9, 9, True)}[layout]
    packed = rng.standard_normal((lead[0], L, 3 * 2 * 8)).astype(np.float32)
    arrays = [rng.standard_normal(lead + (n, 8)).astype(np.float32) for n in (L, S, S)]
    gv = rng.standard_normal(lead + (L, 8)).astype(np.float32)
    fused = [0]
    real = NumpyBuffer.attention

    def counted(self, *args):
        out = real(self, *args)
        fused[0] += out is not None
        return out

    monkeypatch.setattr(NumpyBuffer, "attention", counted)

    def run(lib=ember):
        if layout == "heads_of_packed_qkv":
            x = lib.tensor(packed, requires_grad=True)
            q, k, v = (t.view(lead[0], L, 2, 8).transpose(1, 2) for t in x.split(16, dim=2))
            leaves = [x]
        else:
            q, k, v = leaves = [lib.tensor(a, requires_grad=layout != "only_q_needs_grad" or i == 0)
                                for i, a in enumerate(arrays)]
        o = lib.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
        if lib is ember and layout == "heads_of_packed_qkv" and numpy_cpu.jit_kernels() is not None:
            # laid out like q: the heads merge back into (batch, rows, features) without a copy
            assert o.transpose(1, 2).is_contiguous()
        o.backward(lib.tensor(gv))
        return [o.detach()] + [t.grad for t in leaves if t.requires_grad]

    on, off = both_ways(run, monkeypatch, "softmax_rows", "softmax_backward_rows")
    assert fused[0] == 1  # with the kernels on only
    want = run(torch)
    for got in (on, off):
        assert len(got) == len(want)
        for a, b in zip(got, want):
            close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("mask_grad", [False, True])
def test_attention_float_mask_and_its_gradient(mask_grad, monkeypatch):
    # the scale goes into the softmax backward's pass unless the mask's own gradient (unscaled) is asked
    rng = np.random.default_rng(5)
    qv, kv, vv, gv = (rng.standard_normal((2, 3, 6, 8)).astype(np.float32) for _ in range(4))
    mv = rng.standard_normal((6, 6)).astype(np.float32)

    def run(lib=ember):
        q, k, v = (lib.tensor(a, requires_grad=True) for a in (qv, kv, vv))
        m = lib.tensor(mv, requires_grad=mask_grad)
        lib.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m).backward(lib.tensor(gv))
        return [q.grad, k.grad, v.grad] + ([m.grad] if mask_grad else [])

    on, off = both_ways(run, monkeypatch, "softmax_backward_rows")
    for got in (on, off):
        for a, b in zip(got, run(torch)):
            close(a, b, rtol=1e-4, atol=1e-5)


def test_attention_softmax_large_scores(monkeypatch):
    # scores far apart: every row needs its own max (the NumPy path's shared shift does not apply)
    rng = np.random.default_rng(3)
    qv = (rng.standard_normal((1, 2, 6, 4)) * 30).astype(np.float32)
    kv = (rng.standard_normal((1, 2, 6, 4)) * 30).astype(np.float32)
    vv = rng.standard_normal((1, 2, 6, 4)).astype(np.float32)

    def run():
        return F.scaled_dot_product_attention(*(ember.tensor(a) for a in (qv, kv, vv)), is_causal=True)

    on, off = both_ways(run, monkeypatch, "softmax_rows")
    want = torch.nn.functional.scaled_dot_product_attention(*(torch.tensor(a) for a in (qv, kv, vv)),
                                                            is_causal=True)
    close(on, want, rtol=1e-4, atol=1e-5)
    close(off, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("opt", ["Adam", "AdamW", "Adam-l2"])
def test_adam(opt, monkeypatch):
    rng = np.random.default_rng(4)
    p0 = [rng.standard_normal(s).astype(np.float32) for s in ((4, 3), (5,), ())]
    grads = [[rng.standard_normal(a.shape).astype(np.float32) for a in p0] for _ in range(4)]
    kind, kwargs = {"Adam": ("Adam", {}), "AdamW": ("AdamW", {"weight_decay": 0.1}),
                    "Adam-l2": ("Adam", {"weight_decay": 0.05})}[opt]

    def run(lib):
        ps = [lib.tensor(a, requires_grad=True) for a in p0]
        o = getattr(lib.optim, kind)(ps, lr=0.01, betas=(0.9, 0.99), **kwargs)
        for gs in grads:
            for p, g in zip(ps, gs):
                p.grad = lib.tensor(g)
            o.step()
        return [p.detach() for p in ps] + [o.state[ps[0]]["exp_avg"], o.state[ps[0]]["exp_avg_sq"]]

    on, off = both_ways(lambda: run(ember), monkeypatch, "describe_adam")
    want = run(torch)
    for got in (on, off):
        for a, b in zip(got, want):
            close(a, b, rtol=1e-5, atol=1e-6)


def test_adam_amsgrad_and_float64_take_the_numpy_path(monkeypatch):
    with counting(monkeypatch, "describe_adam") as calls, jit(True):
        p = ember.zeros(3, requires_grad=True)
        o = ember.optim.Adam([p], amsgrad=True)
        p.grad = ember.ones(3)
        o.step()
        q = ember.zeros(3, dtype=ember.float64, requires_grad=True)
        o2 = ember.optim.Adam([q])
        q.grad = ember.ones(3, dtype=ember.float64)
        o2.step()
    assert calls[0] == 0
    assert q.dtype == ember.float64 and abs(q[0].item() + 1e-3) < 1e-9


def test_env_switch_off(monkeypatch):
    monkeypatch.setattr(numpy_cpu, "_jit", None)
    monkeypatch.setenv("EMBER_JIT", "0")
    assert numpy_cpu.jit_kernels() is None
    monkeypatch.setattr(numpy_cpu, "_jit", None)
    monkeypatch.setenv("EMBER_JIT", "1")
    assert numpy_cpu.jit_kernels() is numpy_jit


def test_layer_norm_of_one_element_rows(monkeypatch):
    # x - mean is exactly 0, so are xhat and every gradient (PyTorch's are rounding errors)
    xv = np.array([[1.3], [-2.0]], np.float32)

    def run():
        x = ember.tensor(xv, requires_grad=True)
        w, b = ember.ones(1, requires_grad=True), ember.zeros(1, requires_grad=True)
        y = F.layer_norm(x, (1,), w, b)
        y.backward(ember.tensor([[0.7], [-1.1]]))
        return y.detach(), x.grad, w.grad, b.grad

    for got in both_ways(run, monkeypatch, "describe_layer_norm", "describe_layer_norm_backward"):
        y, gx, gw, gb = (t.numpy() for t in got)
        assert not y.any() and not gx.any() and not gw.any()
        np.testing.assert_allclose(gb, [-0.4], rtol=1e-6)


@pytest.mark.parametrize("rows,idx_shape,width", [(65, (12, 64), 128), (7, (30,), 3), (50_000, (4, 5), 16)])
def test_embedding_backward(rows, idx_shape, width, monkeypatch):
    """add_rows (the scatter-add of the embedding's backward) against the NumPy ways (the one-hot
    product for small tables, sorted rounds for big ones) and PyTorch, with repeated rows."""
    rng = np.random.default_rng(3)
    idx = rng.integers(0, min(rows, 9), size=idx_shape)  # few distinct rows: many repeats
    wv = rng.standard_normal((rows, width)).astype(np.float32)
    gv = rng.standard_normal(idx_shape + (width,)).astype(np.float32)

    def run():
        w = ember.tensor(wv, requires_grad=True)
        (F.embedding(ember.tensor(idx), w) * ember.tensor(gv)).sum().backward()
        return w.grad

    on, off = both_ways(run, monkeypatch, "add_rows")
    wt = torch.tensor(wv, requires_grad=True)
    (torch.nn.functional.embedding(torch.tensor(idx), wt) * torch.tensor(gv)).sum().backward()
    close(on, wt.grad, atol=1e-5)  # sums of ~85 rows: float32 rounding in any order
    close(off, wt.grad, atol=1e-5)


def test_add_rows_counts_negative_rows_from_the_end():
    out = np.zeros((4, 2), np.float32)
    numpy_jit.add_rows(out, np.array([-1, 3, 0, -4]), np.ones((4, 2), np.float32))
    assert out.tolist() == [[2.0, 2.0], [0.0, 0.0], [0.0, 0.0], [2.0, 2.0]]


@pytest.mark.parametrize("case", ["plain", "far_apart", "minus_inf_entry", "ignore_index"])
def test_cross_entropy(case, monkeypatch):
    """softmax_lse_rows (cross-entropy's softmax and log-sum-exp in one pass) against the NumPy path
    and PyTorch, with targets given scores far below the row's largest (a loss of ~200)."""
    rng = np.random.default_rng(4)
    xv = rng.standard_normal((37, 65)).astype(np.float32) * 3
    tv = rng.integers(0, 65, size=37)
    kw = {"ignore_index": -1} if case == "ignore_index" else {}
    if case == "far_apart":
        xv[:, 0] = 150.0
        xv[np.arange(37), tv] = -50.0
        tv[:5] = 0
    if case == "minus_inf_entry":
        xv[3, 7] = -np.inf
        tv[3] = 8

    def run():
        x = ember.tensor(xv, requires_grad=True)
        loss = F.cross_entropy(x, ember.tensor(tv), **kw)
        loss.backward()
        return loss.detach(), x.grad

    (l1, g1), (l0, g0) = both_ways(run, monkeypatch, "softmax_lse_rows")
    xt = torch.tensor(xv, requires_grad=True)
    lt = torch.nn.functional.cross_entropy(xt, torch.tensor(tv), **kw)
    lt.backward()
    for loss, g in ((l1, g1), (l0, g0)):
        close(loss, lt, rtol=1e-6)
        close(g, xt.grad)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_cross_entropy_rows_with_nan_or_inf_take_the_numpy_path(bad, monkeypatch):
    xv = np.zeros((4, 5), np.float32)
    xv[2, 3] = bad
    with counting(monkeypatch, "softmax_lse_rows") as calls, jit(True):
        got = F.cross_entropy(ember.tensor(xv), ember.tensor([0, 1, 2, 3])).item()
    want = torch.nn.functional.cross_entropy(torch.tensor(xv), torch.tensor([0, 1, 2, 3])).item()
    assert calls[0] == 1 and np.isnan(got) and np.isnan(want)


@pytest.mark.parametrize("threads", [1, 3])
def test_clip_grad_norm_in_compiled_passes(threads, monkeypatch):
    # every gradient summed and scaled in compiled passes laid end to end (a band may end inside a
    # gradient); an empty one and a 0-d one among them
    rng = np.random.default_rng(9)
    grads = [rng.standard_normal(s).astype(np.float32) for s in ((700, 300), (0, 4), (), (401, 3), (7,))]

    def run(lib=ember):
        ps = [lib.nn.Parameter(lib.zeros(g.shape)) for g in grads]
        for p, g in zip(ps, grads):
            p.grad = lib.tensor(g)
        total = lib.nn.utils.clip_grad_norm_(ps, max_norm=5.0)
        return [total] + [p.grad for p in ps]

    before = ember.get_num_threads()
    ember.set_num_threads(threads)
    try:
        on, off = both_ways(run, monkeypatch, "describe_sum_squares", "describe_scale")
    finally:
        ember.set_num_threads(before)
    want = run(torch)
    for got in (on, off):
        for a, b in zip(got, want):
            close(a, b, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("case", ["channels_last", "channels_first", "padding", "dilation", "ceil_mode",
                                  "overlap", "nan_and_inf", "channels_first_padded"])
def test_max_pool2d_fused(case, monkeypatch):
    """The compiled 2-d max pooling (forward, backward) on a convolution's channels-last output and on
    the other layouts and geometries, with the kernels on (it must run) and off, against torch."""
    rng = np.random.default_rng(8)
    xv = rng.standard_normal((3, 5, 11, 10)).astype(np.float32)
    if case == "nan_and_inf":
        xv[0, 1, 2, 3] = np.nan
        xv[1, 2, :4, :4] = -np.inf
        xv[2, 0, 5, 5] = np.inf
    kwargs = {"channels_last": {}, "channels_first": {}, "padding": {"padding": 1},
              "dilation": {"dilation": 2, "kernel_size": 3},
              "ceil_mode": {"ceil_mode": True, "kernel_size": 3},
              "overlap": {"kernel_size": 3, "stride": 1}, "nan_and_inf": {},
              "channels_first_padded": {"kernel_size": 3, "padding": 1, "dilation": 2,
                                        "ceil_mode": True}}[case]
    kwargs = {"kernel_size": 2, "stride": kwargs.get("stride", None), **kwargs}

    def run(lib=ember):
        x = lib.tensor(xv, requires_grad=True)
        # a 1x1 convolution with an identity weight: the same values, laid out as a convolution's
        eye = lib.tensor(np.eye(5, dtype=np.float32).reshape(5, 5, 1, 1))
        h = x if case.startswith("channels_first") else lib.nn.functional.conv2d(x, eye)
        out = lib.nn.functional.max_pool2d(h, **kwargs)
        g = lib.tensor(np.random.default_rng(1).standard_normal(tuple(out.shape)).astype(np.float32))
        out.backward(g)
        _, idx = lib.nn.functional.max_pool2d(h.detach(), return_indices=True, **kwargs)
        return [out.detach(), x.grad, idx]

    on, off = both_ways(run, monkeypatch, "describe_max_pool")
    want = run(torch)
    for got in (on, off):
        for a, b in zip(got, want):
            close(a, b, rtol=1e-5, atol=1e-6)


def _wide_vectors_in_a_new_process(env: dict[str, str]) -> str:
    import os
    import subprocess
    import sys

    code = "from ember.backend import numpy_jit; print(numpy_jit.WIDE_VECTORS)"
    run = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True,
                         text=True, check=True)
    return run.stdout.strip()


def test_wide_vectors_where_the_cpu_has_them_unless_numba_is_told_otherwise():
    """On an Intel CPU with AVX-512 the kernels are compiled for 512-bit vectors (LLVM's tuning
    would keep them to 256); a user's own NUMBA_CPU_FEATURES is left alone."""
    import llvmlite.binding as ll

    from ember.backend.numpy_threads import INTEL_CPU

    expected = bool(ll.get_host_cpu_features().get("avx512f")) and INTEL_CPU
    assert _wide_vectors_in_a_new_process({}) == str(expected)
    own = {"NUMBA_CPU_FEATURES": ll.get_host_cpu_features().flatten()}
    assert _wide_vectors_in_a_new_process(own) == "False"
