"""scaled_dot_product_attention and MultiheadAttention against torch: outputs, weights and all gradients."""

import numpy as np
import pytest
import torch
from layercheck import compare_layer, randn

import ember
from ember import nn

F = nn.functional


def _mha_call(need_weights=True, average=True, attn_mask=None, kpm=None, self_attn=False):
    def call(m, L, xs):
        q = xs[0]
        k, v = (q, q) if self_attn else (xs[1], xs[2])
        am = None if attn_mask is None else L.tensor(attn_mask)
        kp = None if kpm is None else L.tensor(kpm)
        return m(q, k, v, key_padding_mask=kp, need_weights=need_weights, attn_mask=am,
                 average_attn_weights=average)

    return call


L_, S_, N_, E_ = 4, 5, 2, 8
CAUSAL = np.triu(np.ones((L_, L_), dtype=bool), 1)
KPM = np.array([[False, False, True, False, True], [False, False, False, False, False]])


@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
def test_mha_cross_attention(need_weights, average):
    compare_layer(lambda L: L.nn.MultiheadAttention(E_, 2), [randn(L_, N_, E_), randn(S_, N_, E_, seed=1),
                                                          randn(S_, N_, E_, seed=2)],
                  call=_mha_call(need_weights, average, kpm=KPM))


def test_mha_self_attention_batch_first_causal():
    compare_layer(lambda L: L.nn.MultiheadAttention(E_, 4, batch_first=True), [randn(N_, L_, E_)],
                  call=_mha_call(attn_mask=CAUSAL, self_attn=True))
    compare_layer(lambda L: L.nn.MultiheadAttention(E_, 4, batch_first=True), [randn(N_, L_, E_)],
                  call=_mha_call(need_weights=False, attn_mask=CAUSAL, self_attn=True))


def test_mha_float_mask_kdim_vdim_no_bias():
    mask = randn(L_, S_, seed=3)
    compare_layer(lambda L: L.nn.MultiheadAttention(E_, 2, kdim=3, vdim=5, bias=False),
                  [randn(L_, N_, E_), randn(S_, N_, 3, seed=1), randn(S_, N_, 5, seed=2)],
                  call=_mha_call(attn_mask=mask))


def test_mha_3d_mask_unbatched_bias_kv_zero_attn():
    mask3 = randn(N_ * 2, L_, S_, seed=4) > 1.0
    compare_layer(lambda L: L.nn.MultiheadAttention(E_, 2), [randn(L_, N_, E_), randn(S_, N_, E_, seed=1),
                                                          randn(S_, N_, E_, seed=2)],
                  call=_mha_call(attn_mask=mask3))
    compare_layer(lambda L: L.nn.MultiheadAttention(E_, 2), [randn(L_, E_), randn(S_, E_, seed=1),
                                                          randn(S_, E_, seed=2)], call=_mha_call())
    compare_layer(lambda L: L.nn.MultiheadAttention(E_, 2, add_bias_kv=True, add_zero_attn=True),
                  [randn(L_, N_, E_), randn(S_, N_, E_, seed=1), randn(S_, N_, E_, seed=2)],
                  call=_mha_call(kpm=KPM))


def test_mha_dropout_eval_is_deterministic_and_state_dict_names():
    t, e = torch.nn.MultiheadAttention(E_, 2, dropout=0.5), nn.MultiheadAttention(E_, 2, dropout=0.5)
    assert list(e.state_dict()) == list(t.state_dict())
    t2, e2 = (torch.nn.MultiheadAttention(E_, 2, kdim=3, add_bias_kv=True),
              nn.MultiheadAttention(E_, 2, kdim=3, add_bias_kv=True))
    assert list(e2.state_dict()) == list(t2.state_dict())
    compare_layer(lambda L: L.nn.MultiheadAttention(E_, 2, dropout=0.5), [randn(L_, N_, E_)],
                  call=_mha_call(self_attn=True), train=False)


def test_mha_errors():
    m = nn.MultiheadAttention(E_, 2)
    x = ember.ones(L_, N_, E_)
    with pytest.raises(ValueError, match=r"embed_dim \(8\) must be divisible by num_heads \(3\)"):
        nn.MultiheadAttention(8, 3)
    with pytest.raises(RuntimeError, match=r"2-D attn_mask should be \(4, 4\), got \(4, 5\)"):
        m(x, x, x, attn_mask=ember.zeros(4, 5))
    with pytest.raises(RuntimeError, match=r"key_padding_mask should be \(2, 4\)"):
        m(x, x, x, key_padding_mask=ember.zeros(4, 2, dtype=ember.bool))
    with pytest.raises(RuntimeError, match="need attn_mask if specifying the is_causal hint"):
        m(x, x, x, is_causal=True)
    with pytest.raises(RuntimeError, match="expected query, key, value feature sizes"):
        m(ember.ones(L_, N_, 6), x, x)


def test_mha_init_statistics():
    ember.manual_seed(0)
    m = nn.MultiheadAttention(64, 4)
    w = m.in_proj_weight.detach().numpy()
    bound = np.sqrt(6 / (64 + 192))  # xavier_uniform on (192, 64)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert not m.in_proj_bias.detach().numpy().any() and not m.out_proj.bias.detach().numpy().any()


def test_sdpa_broadcast_batch_and_gqa():
    q, k, v = randn(2, 4, 3, 6), randn(1, 4, 5, 6, seed=1), randn(1, 4, 5, 6, seed=2)
    out = F.scaled_dot_product_attention(ember.tensor(q), ember.tensor(k), ember.tensor(v)).numpy()
    ref = torch.nn.functional.scaled_dot_product_attention(
        torch.tensor(q), torch.tensor(k).expand(2, 4, 5, 6), torch.tensor(v).expand(2, 4, 5, 6)).numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    kg, vg = randn(2, 2, 5, 6, seed=3), randn(2, 2, 5, 6, seed=4)
    out = F.scaled_dot_product_attention(ember.tensor(q), ember.tensor(kg), ember.tensor(vg), enable_gqa=True)
    ref = torch.nn.functional.scaled_dot_product_attention(torch.tensor(q), torch.tensor(kg),
                                                           torch.tensor(vg), enable_gqa=True)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)


def test_sdpa_dropout_statistics_and_grad():
    ember.manual_seed(0)
    q = ember.zeros(1, 1, 64, 4, requires_grad=True)  # uniform weights 1/S
    v = ember.ones(1, 1, 200, 4, requires_grad=True)
    out = F.scaled_dot_product_attention(q, ember.zeros(1, 1, 200, 4), v, dropout_p=0.25)
    # each output is (1/S) * sum of kept / (1 - p): mean 1 over the rows
    assert abs(out.detach().numpy().mean() - 1.0) < 0.02
    out.sum().backward()
    assert v.grad is not None and abs(v.grad.numpy().mean() - 64 / 200) < 0.05


def test_sdpa_errors():
    q = ember.ones(2, 3, 4)
    with pytest.raises(RuntimeError,
                       match=r"query \(2, 3, 4\), key \(2, 5, 3\) and value \(2, 5, 4\) do not fit"):
        F.scaled_dot_product_attention(q, ember.ones(2, 5, 3), ember.ones(2, 5, 4))
    with pytest.raises(RuntimeError, match="explicit attn_mask should not be set when is_causal=True"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=ember.ones(3, 3, dtype=ember.bool), is_causal=True)
    with pytest.raises(RuntimeError, match=r"attn_mask of shape \(2, 2\) does not broadcast to \(2, 3, 3\)"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=ember.ones(2, 2, dtype=ember.bool))
    with pytest.raises(RuntimeError, match="attn_mask must be bool or of the query's dtype"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=ember.ones(3, 3, dtype=ember.int64))
    with pytest.raises(RuntimeError, match="expected query, key and value of one floating dtype"):
        F.scaled_dot_product_attention(q, q.double(), q)
    with pytest.raises(RuntimeError, match="query must have at least 2 dimensions"):
        F.scaled_dot_product_attention(ember.ones(3), q, q)
    with pytest.raises(ValueError, match=r"dropout_p must be in \[0, 1\)"):
        F.scaled_dot_product_attention(q, q, q, dropout_p=1.0)
    with pytest.raises(RuntimeError, match="batch dimensions of query"):
        F.scaled_dot_product_attention(q, ember.ones(3, 3, 4), ember.ones(3, 3, 4))


@pytest.mark.parametrize("jit", [True, False])
def test_sdpa_causal_far_apart_scores(jit):
    # scores too far apart for one shift: each row's max must come from the keys it sees (a
    # future key's larger score once made the earliest rows 0 / 0 = NaN)
    from ember.backend import numpy_cpu

    rng = np.random.default_rng(3)
    q, k, v = ((rng.standard_normal((1, 2, 6, 4)) * s).astype(np.float32) for s in (30, 30, 1))
    before = numpy_cpu.set_jit(jit)
    try:
        got = F.scaled_dot_product_attention(*(ember.tensor(a) for a in (q, k, v)), is_causal=True)
    finally:
        numpy_cpu.set_jit(before)
    want = torch.nn.functional.scaled_dot_product_attention(*(torch.tensor(a) for a in (q, k, v)),
                                                            is_causal=True)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-5)
