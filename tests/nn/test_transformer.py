"""TransformerEncoderLayer / TransformerEncoder against PyTorch with the same weights (dropout
off): outputs and every gradient, post- and pre-norm, masks, batch_first, gelu, no bias."""

import numpy as np
import pytest
import torch

import ember

CONFIGS = [
    {},
    {"batch_first": True, "norm_first": True},
    {"activation": "gelu", "bias": False},
    {"batch_first": True, "layer_norm_eps": 1e-6, "dim_feedforward": 7},
]


def _pair(kw, layers=None):
    kw = {"d_model": 8, "nhead": 2, "dim_feedforward": 16, "dropout": 0.0, **kw}
    t = torch.nn.TransformerEncoderLayer(**kw)
    e = ember.nn.TransformerEncoderLayer(**kw)
    if layers:
        t = torch.nn.TransformerEncoder(t, layers, norm=torch.nn.LayerNorm(8), enable_nested_tensor=False)
        e = ember.nn.TransformerEncoder(e, layers, norm=ember.nn.LayerNorm(8))
    state = {k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()}
    e.load_state_dict(state)
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    return e, t


@pytest.mark.parametrize("kw", CONFIGS, ids=str)
@pytest.mark.parametrize("masks", ["none", "causal", "padding"])
def test_encoder_layer_matches_torch(kw, masks):
    e, t = _pair(kw)
    rng = np.random.default_rng(0)
    shape = (2, 5, 8) if kw.get("batch_first") else (5, 2, 8)
    x = rng.standard_normal(shape).astype(np.float32)
    pad = np.zeros((2, 5), bool)
    pad[1, 3:] = True
    res = []
    for lib, m in ((ember, e), (torch, t)):
        xt = lib.tensor(x, requires_grad=True)
        extra = {}
        if masks == "causal":
            extra = {"src_mask": lib.triu(lib.ones(5, 5, dtype=lib.bool), diagonal=1), "is_causal": True}
        elif masks == "padding":
            extra = {"src_key_padding_mask": lib.tensor(pad)}
        y = m(xt, **extra)
        weights = np.linspace(-1, 1, y.numel(), dtype=np.float32).reshape(tuple(y.shape))
        (y * lib.tensor(weights)).sum().backward()
        res.append([y.detach().numpy(), xt.grad.numpy()] + [p.grad.numpy() for p in m.parameters()])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)


def test_encoder_stack_matches_torch():
    e, t = _pair({"batch_first": True}, layers=3)
    assert len(e.layers) == 3 and e.layers[0].linear1.weight is not e.layers[1].linear1.weight
    x = np.random.default_rng(1).standard_normal((2, 4, 8)).astype(np.float32)
    res = []
    for lib, m in ((ember, e), (torch, t)):
        xt = lib.tensor(x, requires_grad=True)
        y = m(xt)
        (y * y).sum().backward()
        res.append([y.detach().numpy(), xt.grad.numpy()] + [p.grad.numpy() for p in m.parameters()])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)


def test_dropout_is_active_in_training_only():
    layer = ember.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.5)
    x = ember.randn(5, 2, 8)
    layer.eval()
    np.testing.assert_array_equal(layer(x).detach().numpy(), layer(x).detach().numpy())
    layer.train()
    assert not np.allclose(layer(x).detach().numpy(), layer(x).detach().numpy())
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        ember.nn.TransformerEncoderLayer(8, 2, activation="tanh")


def _copy(e, t):
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]


def _run(pairs, make_inputs, call):
    res = []
    for lib, m in pairs:
        xs = [lib.tensor(a, requires_grad=True) for a in make_inputs()]
        y = call(lib, m, *xs)
        weights = np.linspace(-1, 1, y.numel(), dtype=np.float32).reshape(tuple(y.shape))
        (y * lib.tensor(weights)).sum().backward()
        grads = [x.grad.numpy() for x in xs] + [p.grad.numpy() for p in m.parameters()]
        res.append([y.detach().numpy()] + grads)
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=3e-4, atol=3e-5)


@pytest.mark.parametrize("kw", [{}, {"norm_first": True, "batch_first": True},
                                {"activation": "gelu", "bias": False}], ids=str)
def test_decoder_layer_matches_torch(kw):
    kw = {"d_model": 8, "nhead": 2, "dim_feedforward": 16, "dropout": 0.0, **kw}
    t, e = torch.nn.TransformerDecoderLayer(**kw), ember.nn.TransformerDecoderLayer(**kw)
    _copy(e, t)
    rng = np.random.default_rng(2)
    bf = kw.get("batch_first")
    tgt = rng.standard_normal((2, 3, 8) if bf else (3, 2, 8)).astype(np.float32)
    mem = rng.standard_normal((2, 5, 8) if bf else (5, 2, 8)).astype(np.float32)

    def call(lib, m, tgt, mem):
        mask = lib.nn.Transformer.generate_square_subsequent_mask(3)
        pad = lib.tensor([[False] * 5, [False, False, False, True, True]])
        return m(tgt, mem, tgt_mask=mask, memory_key_padding_mask=pad)

    _run([(ember, e), (torch, t)], lambda: [tgt, mem], call)


def test_full_transformer_matches_torch():
    kw = {"d_model": 8, "nhead": 2, "num_encoder_layers": 2, "num_decoder_layers": 2, "dim_feedforward": 16,
          "dropout": 0.0, "batch_first": True}
    t, e = torch.nn.Transformer(**kw), ember.nn.Transformer(**kw)
    _copy(e, t)
    rng = np.random.default_rng(3)
    src = rng.standard_normal((2, 5, 8)).astype(np.float32)
    tgt = rng.standard_normal((2, 4, 8)).astype(np.float32)

    def call(lib, m, s, g):
        return m(s, g, tgt_mask=lib.nn.Transformer.generate_square_subsequent_mask(4), tgt_is_causal=True)

    _run([(ember, e), (torch, t)], lambda: [src, tgt], call)
    ours = ember.nn.Transformer.generate_square_subsequent_mask(3)
    theirs = torch.nn.Transformer.generate_square_subsequent_mask(3)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert ours.dtype is ember.float32
    # xavier-uniform init of every matrix, as PyTorch's
    w = ember.nn.Transformer(d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                             dim_feedforward=32).encoder.layers[0].linear1.weight
    assert np.abs(w.detach().numpy()).max() <= np.sqrt(6 / (16 + 32))
