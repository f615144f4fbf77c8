"""RNN, LSTM, GRU and their cells against PyTorch with the same weights: outputs, final
states, and the gradients of the input, the initial state and every parameter."""

import numpy as np
import pytest
import torch

import ember

CONFIGS = [
    ("LSTM", {}),
    ("LSTM", {"num_layers": 2, "batch_first": True}),
    ("LSTM", {"bidirectional": True, "bias": False}),
    ("LSTM", {"num_layers": 2, "bidirectional": True, "batch_first": True}),
    ("GRU", {}),
    ("GRU", {"num_layers": 3, "bidirectional": True}),
    ("GRU", {"batch_first": True, "bias": False}),
    ("RNN", {}),
    ("RNN", {"nonlinearity": "relu", "num_layers": 2}),
    ("RNN", {"bidirectional": True, "batch_first": True}),
]


def _pair(name, *args, **kwargs):
    """The same layer in both libraries, ember's weights copied from torch's."""
    theirs = getattr(torch.nn, name)(*args, **kwargs)
    ours = getattr(ember.nn, name)(*args, **kwargs)
    ours.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    return ours, theirs


def _grads(module, *tensors):
    return [t.grad.numpy() for t in tensors] + [p.grad.numpy() for p in module.parameters()]


@pytest.mark.parametrize("name, kw", CONFIGS, ids=[f"{n}-{k}" for n, k in CONFIGS])
@pytest.mark.parametrize("with_state", [False, True])
def test_matches_torch(name, kw, with_state):
    ours, theirs = _pair(name, 3, 5, **kw)
    rng = np.random.default_rng(0)
    shape = (2, 4, 3) if kw.get("batch_first") else (4, 2, 3)
    x = rng.standard_normal(shape).astype(np.float32)
    dirs = 2 if kw.get("bidirectional") else 1
    state = rng.standard_normal((kw.get("num_layers", 1) * dirs, 2, 5)).astype(np.float32)
    res = {}
    for lib, m in ((ember, ours), (torch, theirs)):
        xt = lib.tensor(x, requires_grad=True)
        h0 = lib.tensor(state, requires_grad=True)
        c0 = lib.tensor(state * 0.5, requires_grad=True)
        hx = None if not with_state else ((h0, c0) if name == "LSTM" else h0)
        out, hn = m(xt, hx)
        finals = list(hn) if name == "LSTM" else [hn]
        loss = (out * lib.tensor(
            np.arange(out.numel(), dtype=np.float32).reshape(tuple(out.shape)) / 10
        )).sum()
        loss = loss + sum((f * f).sum() for f in finals)
        loss.backward()
        grads = _grads(m, xt) + (
            [h0.grad.numpy()] + ([c0.grad.numpy()] if name == "LSTM" else []) if with_state else []
        )
        res[lib] = [out.detach().numpy()] + [f.detach().numpy() for f in finals] + grads
    assert len(res[ember]) == len(res[torch])
    for a, b in zip(res[ember], res[torch]):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("name", ["LSTM", "GRU", "RNN"])
def test_unbatched_input(name):
    ours, theirs = _pair(name, 3, 4, num_layers=2)
    x = np.random.default_rng(1).standard_normal((6, 3)).astype(np.float32)
    (o1, h1), (o2, h2) = ours(ember.tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(o1.detach().numpy(), o2.detach().numpy(), rtol=1e-5, atol=1e-6)
    for a, b in zip(h1 if name == "LSTM" else [h1], h2 if name == "LSTM" else [h2]):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name, kw", [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu", "bias": False}),
                                      ("LSTMCell", {}), ("GRUCell", {}), ("GRUCell", {"bias": False})])
@pytest.mark.parametrize("batched", [True, False])
def test_cells(name, kw, batched):
    ours, theirs = _pair(name, 3, 4, **kw)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 3) if batched else (3,)).astype(np.float32)
    h = rng.standard_normal((5, 4) if batched else (4,)).astype(np.float32)
    res = {}
    for lib, m in ((ember, ours), (torch, theirs)):
        xt, ht = lib.tensor(x, requires_grad=True), lib.tensor(h, requires_grad=True)
        hx = (ht, ht * 2) if name == "LSTMCell" else ht
        out = m(xt, hx)
        outs = list(out) if name == "LSTMCell" else [out]
        sum((o * o).sum() for o in outs).backward()
        res[lib] = [o.detach().numpy() for o in outs] + _grads(m, xt, ht)
    for a, b in zip(res[ember], res[torch]):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)
    assert tuple(ours(ember.tensor(x))[0].shape if name == "LSTMCell" else ours(ember.tensor(x)).shape) == (
        (5, 4) if batched else (4,))


def test_repr_and_defaults_match_torch():
    for name, kw in CONFIGS + [("LSTM", {"dropout": 0.25, "num_layers": 2})]:
        assert repr(getattr(ember.nn, name)(3, 5, **kw)) == repr(getattr(torch.nn, name)(3, 5, **kw))
    m = ember.nn.LSTM(3, 5)
    bound = 1 / np.sqrt(5)
    assert all(np.abs(p.detach().numpy()).max() <= bound for p in m.parameters())


def test_dropout_between_layers_in_training_only():
    m = ember.nn.GRU(3, 8, num_layers=2, dropout=0.5)
    x = ember.randn(4, 2, 3)
    m.eval()
    a, _ = m(x)
    b, _ = m(x)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    m.train()
    ember.manual_seed(0)
    c, _ = m(x)
    assert not np.allclose(a.detach().numpy(), c.detach().numpy())


def test_errors():
    with pytest.raises(RuntimeError,
                       match="input.size\\(-1\\) must be equal to input_size. Expected 3, got 4"):
        ember.nn.LSTM(3, 5)(ember.zeros(2, 1, 4))
    with pytest.raises(RuntimeError, match=r"expected hidden state of shape \(1, 2, 5\), got \(1, 3, 5\)"):
        ember.nn.GRU(3, 5)(ember.zeros(4, 2, 3), ember.zeros(1, 3, 5))
    with pytest.raises(ValueError, match="Unknown nonlinearity 'gelu'"):
        ember.nn.RNN(3, 5, nonlinearity="gelu")
    with pytest.raises(NotImplementedError, match="proj_size is not supported"):
        ember.nn.LSTM(3, 5, proj_size=2)
    with pytest.raises(ValueError, match="expected input of 2 \\(unbatched\\) or 3 dims"):
        ember.nn.RNN(3, 5)(ember.zeros(3))
