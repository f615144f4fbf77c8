"""Op table for the fused layer and loss Functions (ember.ops.fused, ember.ops.loss) against torch.

Each row runs the same lambda through ``torch.nn.functional`` and ``ember.nn.functional``;
``check_case`` compares values and every input's gradient under a random upstream
gradient, ``gradcheck_case`` compares with float64 finite differences.
"""

import numpy as np
import pytest
from optest import Case, check_case, gradcheck_case

from ember.backend import numpy_cpu
from ember.ops import fused as FU
from ember.ops import loss as LO


def F(L):
    return L.nn.functional


def _const(L, x, values):
    """A constant tensor (no grad) of x's dtype, identical in both libraries."""
    return L.tensor(values, dtype=x.dtype)


def _targets(logit_shape, target_shape, classes, ignore=(), low=-2.0, high=2.0):
    """Inputs (logits, class indices); indices listed in ``ignore`` are set to -100."""

    def make(rng):
        x = rng.uniform(low, high, size=logit_shape).astype(np.float32)
        t = rng.integers(0, classes, size=target_shape).astype(np.int64)
        flat = t.reshape(-1)
        for i in ignore:
            flat[i] = -100
        return [x, t]

    return make


def _probs(shape, low=0.05, high=0.95):
    def make(rng):
        return [rng.uniform(-2, 2, size=shape).astype(np.float32),
                rng.uniform(low, high, size=shape).astype(np.float32)]

    return make


def _bce(shape):
    def make(rng):
        return [rng.uniform(0.05, 0.95, size=shape).astype(np.float32),
                rng.uniform(0, 1, size=shape).astype(np.float32)]

    return make


def _embedding(n_idx_shape, rows, dim, pad=None):
    def make(rng):
        idx = rng.integers(0, rows, size=n_idx_shape).astype(np.int64)
        if pad is not None:
            idx.reshape(-1)[:2] = pad
        return [idx, rng.standard_normal((rows, dim)).astype(np.float32)]

    return make


_MASK = np.array([[1, 1, 0, 1, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1], [0, 1, 1, 0, 1]], dtype=bool)
_MASK_EMPTY_ROW = _MASK.copy()
_MASK_EMPTY_ROW[1] = False
W5 = [0.5, 1.0, 2.0, 0.1, 1.5]
Q, K, V = (1, 2, 4, 6), (1, 2, 5, 6), (1, 2, 5, 3)

TABLE = [
    # ---- linear ---------------------------------------------------------------------------------
    Case("linear", lambda L, x, w, b: F(L).linear(x, w, b), [(4, 5), (3, 5), (3,)], (FU.Linear,)),
    Case("linear_3d", lambda L, x, w, b: F(L).linear(x, w, b), [(2, 4, 5), (3, 5), (3,)], (FU.Linear,)),
    Case("linear_1d_input", lambda L, x, w, b: F(L).linear(x, w, b), [(5,), (3, 5), (3,)], (FU.Linear,)),
    Case("linear_nobias", lambda L, x, w: F(L).linear(x, w), [(4, 5), (3, 5)], (FU.Linear,)),
    Case("linear_noncontig", lambda L, x, w, b: F(L).linear(x, w, b), [(4, 5), (3, 5), (3,)], (FU.Linear,),
         noncontig=True),
    # ---- normalisation ----------------------------------------------------------------------------
    Case("layer_norm", lambda L, x, w, b: F(L).layer_norm(x, (6,), w, b), [(4, 6), (6,), (6,)],
         (FU.LayerNorm,)),
    Case("layer_norm_2d_shape", lambda L, x, w, b: F(L).layer_norm(x, (3, 4), w, b),
         [(2, 3, 4), (3, 4), (3, 4)], (FU.LayerNorm,)),
    Case("layer_norm_no_affine", lambda L, x: F(L).layer_norm(x, (5,), eps=1e-3), [(3, 5)], (FU.LayerNorm,)),
    Case("layer_norm_weight_only", lambda L, x, w: F(L).layer_norm(x, (5,), w), [(3, 5), (5,)],
         (FU.LayerNorm,)),
    Case("layer_norm_bias_only", lambda L, x, b: F(L).layer_norm(x, (5,), None, b), [(3, 5), (5,)],
         (FU.LayerNorm,)),
    Case("layer_norm_noncontig", lambda L, x, w, b: F(L).layer_norm(x, (4,), w, b), [(3, 4), (4,), (4,)],
         (FU.LayerNorm,), noncontig=True),
    Case("group_norm", lambda L, x, w, b: F(L).group_norm(x, 2, w, b), [(2, 4, 3), (4,), (4,)],
         (FU.LayerNorm,)),
    Case("group_norm_4d", lambda L, x: F(L).group_norm(x, 3), [(2, 6, 2, 2)], (FU.LayerNorm,)),
    Case("rms_norm", lambda L, x, w: F(L).rms_norm(x, (6,), w), [(4, 6), (6,)], (FU.RMSNorm,)),
    Case("rms_norm_no_weight_eps", lambda L, x: F(L).rms_norm(x, (2, 3), eps=1e-2), [(2, 2, 3)],
         (FU.RMSNorm,)),
    Case("batch_norm_train",
         lambda L, x, w, b: F(L).batch_norm(x, L.zeros(3), L.ones(3), w, b, training=True),
         [(4, 3), (3,), (3,)], (FU.BatchNorm,)),
    Case("batch_norm_train_4d", lambda L, x, w, b: F(L).batch_norm(x, None, None, w, b, training=True),
         [(2, 3, 2, 2), (3,), (3,)], (FU.BatchNorm,)),
    Case("batch_norm_train_no_affine", lambda L, x: F(L).batch_norm(x, None, None, training=True),
         [(3, 2, 4)], (FU.BatchNorm,)),
    Case("batch_norm_eval", lambda L, x, w, b: F(L).batch_norm(
        x, _const(L, x, [0.1, -0.2, 0.3]), _const(L, x, [1.5, 0.5, 2.0]), w, b, training=False),
        [(4, 3, 2), (3,), (3,)], (FU.BatchNorm,)),
    # ---- attention ---------------------------------------------------------------------------------
    Case("sdpa", lambda L, q, k, v: F(L).scaled_dot_product_attention(q, k, v), [Q, K, V],
         (FU.ScaledDotProductAttention,)),
    Case("sdpa_3d_scale", lambda L, q, k, v: F(L).scaled_dot_product_attention(q, k, v, scale=0.3),
         [(2, 4, 6), (2, 5, 6), (2, 5, 3)], (FU.ScaledDotProductAttention,)),
    Case("sdpa_causal", lambda L, q, k, v: F(L).scaled_dot_product_attention(q, k, v, is_causal=True),
         [(1, 2, 5, 4), (1, 2, 5, 4), (1, 2, 5, 4)], (FU.ScaledDotProductAttention,)),
    Case("sdpa_causal_rect", lambda L, q, k, v: F(L).scaled_dot_product_attention(q, k, v, is_causal=True),
         [Q, K, V], (FU.ScaledDotProductAttention,)),
    Case("sdpa_bool_mask",
         lambda L, q, k, v: F(L).scaled_dot_product_attention(q, k, v, attn_mask=L.tensor(_MASK)),
         [Q, K, V], (FU.ScaledDotProductAttention,)),
    Case("sdpa_masked_row", lambda L, q, k, v: F(L).scaled_dot_product_attention(
        q, k, v, attn_mask=L.tensor(_MASK_EMPTY_ROW)), [Q, K, V], (FU.ScaledDotProductAttention,)),
    Case("sdpa_float_mask", lambda L, q, k, v, m: F(L).scaled_dot_product_attention(q, k, v, attn_mask=m),
         [Q, K, V, (4, 5)], (FU.ScaledDotProductAttention,)),
    Case("sdpa_noncontig", lambda L, q, k, v: F(L).scaled_dot_product_attention(q, k, v), [Q, K, V],
         (FU.ScaledDotProductAttention,), noncontig=True),
    # ---- embedding / dropout ------------------------------------------------------------------------
    Case("embedding", lambda L, i, w: F(L).embedding(i, w), make=_embedding((2, 3), 7, 4),
         ops=(FU.Embedding,)),
    # the padding row gets no gradient by definition, so finite differences disagree there
    Case("embedding_repeats_padding", lambda L, i, w: F(L).embedding(i, w, padding_idx=2),
         make=_embedding((12,), 4, 3, pad=2), ops=(FU.Embedding,), gradcheck=False),
    # dropout is random: only its zero-scaled output (shape, dtype, zero gradient) compares with torch
    Case("dropout_shape", lambda L, x: F(L).dropout(x, 0.5, True) * 0.0, [(3, 4)], (FU.Dropout,),
         gradcheck=False),
    # ---- cross entropy ------------------------------------------------------------------------------
    Case("cross_entropy", lambda L, x, t: F(L).cross_entropy(x, t), make=_targets((4, 5), (4,), 5),
         ops=(LO.CrossEntropy,)),
    Case("cross_entropy_large_logits", lambda L, x, t: F(L).cross_entropy(x, t),
         make=_targets((3, 4), (3,), 4, low=80.0, high=100.0), ops=(LO.CrossEntropy,), gradcheck=False),
    Case("cross_entropy_nd", lambda L, x, t: F(L).cross_entropy(x, t), make=_targets((2, 5, 3), (2, 3), 5),
         ops=(LO.CrossEntropy,)),
    Case("cross_entropy_1d", lambda L, x, t: F(L).cross_entropy(x, t), make=_targets((5,), (), 5),
         ops=(LO.CrossEntropy,)),
    Case("cross_entropy_none", lambda L, x, t: F(L).cross_entropy(x, t, reduction="none"),
         make=_targets((4, 5), (4,), 5, ignore=(1,)), ops=(LO.CrossEntropy,)),
    Case("cross_entropy_sum_ignore",
         lambda L, x, t: F(L).cross_entropy(x, t, reduction="sum", ignore_index=-100),
         make=_targets((4, 5), (4,), 5, ignore=(0, 2)), ops=(LO.CrossEntropy,)),
    Case("cross_entropy_weight_ignore", lambda L, x, t: F(L).cross_entropy(x, t, _const(L, x, W5)),
         make=_targets((6, 5), (6,), 5, ignore=(3,)), ops=(LO.CrossEntropy,)),
    Case("cross_entropy_smoothing", lambda L, x, t: F(L).cross_entropy(x, t, label_smoothing=0.2),
         make=_targets((2, 5, 2), (2, 2), 5, ignore=(1,)), ops=(LO.CrossEntropy,)),
    Case("cross_entropy_smoothing_weight", lambda L, x, t: F(L).cross_entropy(
        x, t, _const(L, x, W5), label_smoothing=0.1), make=_targets((6, 5), (6,), 5, ignore=(2,)),
        ops=(LO.CrossEntropy,)),
    Case("cross_entropy_smoothing_weight_none", lambda L, x, t: F(L).cross_entropy(
        x, t, _const(L, x, W5), label_smoothing=0.3, reduction="none"),
         make=_targets((4, 5), (4,), 5, ignore=(2,)), ops=(LO.CrossEntropy,)),
    Case("cross_entropy_probs", lambda L, x, t: F(L).cross_entropy(x, t), make=_probs((4, 5)),
         ops=(LO.CrossEntropy,)),
    Case("cross_entropy_probs_nd_smooth_weight", lambda L, x, t: F(L).cross_entropy(
        x, t, _const(L, x, W5), label_smoothing=0.2), make=_probs((2, 5, 3)), ops=(LO.CrossEntropy,)),
    Case("cross_entropy_probs_none", lambda L, x, t: F(L).cross_entropy(x, t, reduction="none"),
         make=_probs((3, 5)), ops=(LO.CrossEntropy,)),
    # ---- nll ---------------------------------------------------------------------------------------
    Case("nll_loss", lambda L, x, t: F(L).nll_loss(x, t), make=_targets((4, 5), (4,), 5), ops=(LO.NllLoss,)),
    Case("nll_loss_weight_ignore", lambda L, x, t: F(L).nll_loss(x, t, _const(L, x, W5)),
         make=_targets((6, 5), (6,), 5, ignore=(1,)), ops=(LO.NllLoss,)),
    Case("nll_loss_nd_none", lambda L, x, t: F(L).nll_loss(x, t, reduction="none"),
         make=_targets((2, 5, 3), (2, 3), 5, ignore=(4,)), ops=(LO.NllLoss,)),
    Case("nll_loss_sum_log_softmax", lambda L, x, t: F(L).nll_loss(x.log_softmax(1), t, reduction="sum"),
         make=_targets((3, 4), (3,), 4), ops=(LO.NllLoss,)),
    # ---- binary cross entropy -----------------------------------------------------------------------
    Case("bce", lambda L, x, t: F(L).binary_cross_entropy(x, t), make=_bce((3, 4)),
         ops=(LO.BinaryCrossEntropy,)),
    Case("bce_weight_none", lambda L, x, t: F(L).binary_cross_entropy(
        x, t, _const(L, x, [1.0, 2.0, 0.5, 1.5]), reduction="none"), make=_bce((3, 4)),
         ops=(LO.BinaryCrossEntropy,)),
    Case("bce_sum", lambda L, x, t: F(L).binary_cross_entropy(x, t, reduction="sum"), make=_bce((5,)),
         ops=(LO.BinaryCrossEntropy,)),
    Case("bce_logits", lambda L, x, t: F(L).binary_cross_entropy_with_logits(x, t),
         make=_probs((3, 4), 0.0, 1.0), ops=(LO.BinaryCrossEntropyWithLogits,)),
    Case("bce_logits_large",
         lambda L, x, t: F(L).binary_cross_entropy_with_logits(x * 60, t, reduction="sum"),
         make=_probs((3, 4), 0.0, 1.0), ops=(LO.BinaryCrossEntropyWithLogits,), gradcheck=False),
    Case("bce_logits_pos_weight", lambda L, x, t: F(L).binary_cross_entropy_with_logits(
        x, t, pos_weight=_const(L, x, [1.0, 3.0, 0.5, 2.0])), make=_probs((3, 4), 0.0, 1.0),
        ops=(LO.BinaryCrossEntropyWithLogits,)),
    Case("bce_logits_weight_pos_weight_none", lambda L, x, t: F(L).binary_cross_entropy_with_logits(
        x, t, _const(L, x, [[0.5], [1.0], [2.0]]), reduction="none",
        pos_weight=_const(L, x, [1.0, 3.0, 0.5, 2.0])),
        make=_probs((3, 4), 0.0, 1.0), ops=(LO.BinaryCrossEntropyWithLogits,)),
]


@pytest.mark.parametrize("case", TABLE, ids=str)
def test_against_torch(case):
    check_case(case)


@pytest.mark.parametrize("case", [c for c in TABLE if c.gradcheck], ids=str)
def test_gradcheck(case):
    gradcheck_case(case)


# ---- code paths taken only at larger sizes, exercised at small sizes by shrinking the thresholds ----
ROW_MAX = [
    Case("sdpa_causal_row_max", lambda L, q, k, v: F(L).scaled_dot_product_attention(q, k, v, is_causal=True),
         [(3, 2, 5, 4), (3, 2, 5, 4), (3, 2, 5, 3)], (FU.ScaledDotProductAttention,)),
    Case("sdpa_row_max_5d_rect", lambda L, q, k, v: F(L).scaled_dot_product_attention(q, k, v),
         [(4, 2, 1, 3, 4), (4, 2, 1, 6, 4), (4, 2, 1, 6, 2)], (FU.ScaledDotProductAttention,)),
    Case("sdpa_row_max_noncontig",
         lambda L, q, k, v: F(L).scaled_dot_product_attention(q, k, v, is_causal=True),
         [(3, 2, 4, 4), (3, 2, 4, 4), (3, 2, 4, 4)], (FU.ScaledDotProductAttention,), noncontig=True),
    # k and v broadcast over the batch of q: the softmax gradient has q's batch, p too
    Case("sdpa_row_max_broadcast_kv", lambda L, q, k, v: F(L).scaled_dot_product_attention(q, k, v),
         [(3, 2, 4, 4), (1, 2, 5, 4), (1, 2, 5, 3)], (FU.ScaledDotProductAttention,)),
    # v's batch is larger than the weights': dL/dp has v's batch
    Case("sdpa_row_max_broadcast_v", lambda L, q, k, v: F(L).scaled_dot_product_attention(q, k, v),
         [(1, 2, 4, 4), (1, 2, 5, 4), (3, 2, 5, 3)], (FU.ScaledDotProductAttention,)),
]


@pytest.mark.parametrize("case", ROW_MAX, ids=str)
def test_sdpa_row_max_path_against_torch(case, monkeypatch):
    # scores spread wider than the shared-shift span take each row's own max instead
    monkeypatch.setattr(FU, "_SHARED_SHIFT_SPAN", -1.0)
    check_case(case)
    gradcheck_case(case)


@pytest.mark.parametrize("spread", [1.0, 30.0, 300.0])
def test_sdpa_softmax_shift_is_exact_for_any_spread(spread):
    # spread 1: one shared shift; 30 and 300: scores far apart (rows that differ by e^300), the
    # row-max path; both must match torch, with no overflow, underflow to 0/0, or NaN
    import torch

    import ember

    rng = np.random.default_rng(0)
    q = rng.standard_normal((2, 3, 6, 4)).astype(np.float32)
    k = rng.standard_normal((2, 3, 7, 4)).astype(np.float32)
    v = rng.standard_normal((2, 3, 7, 5)).astype(np.float32)
    q[0, 0] *= spread
    q[1, 2, 3] -= spread
    got = ember.nn.functional.scaled_dot_product_attention(*(ember.from_numpy(a) for a in (q, k, v)))
    want = torch.nn.functional.scaled_dot_product_attention(*(torch.from_numpy(a) for a in (q, k, v)))
    assert np.isfinite(got.numpy()).all()
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=2e-5, atol=2e-5)


EMBEDDING_SCATTER = [
    Case("embedding_scatter_path", lambda L, i, w: F(L).embedding(i, w), make=_embedding((3, 5), 6, 4),
         ops=(FU.Embedding,)),
    Case("embedding_scatter_path_padding", lambda L, i, w: F(L).embedding(i, w, padding_idx=1),
         make=_embedding((20,), 4, 3, pad=1), ops=(FU.Embedding,), gradcheck=False),
]


@pytest.mark.parametrize("case", EMBEDDING_SCATTER, ids=str)
def test_embedding_scatter_path(case, monkeypatch):
    # without the compiled loop, tables too big for the one-hot product take the grouped scatter-add
    monkeypatch.setattr(numpy_cpu, "_ONEHOT_MAX", 0)
    monkeypatch.setattr(numpy_cpu, "jit_kernels", lambda: None)
    check_case(case)
    if case.gradcheck:
        gradcheck_case(case)
