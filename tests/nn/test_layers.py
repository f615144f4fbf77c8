"""Layers against torch: weights copied from torch, outputs and every gradient compared, train and eval."""

import numpy as np
import pytest
import torch
from layercheck import compare_layer, randn

import ember
from ember import nn

ACTIVATIONS = [
    lambda L: L.nn.ReLU(), lambda L: L.nn.ReLU6(), lambda L: L.nn.GELU(),
    lambda L: L.nn.GELU(approximate="tanh"), lambda L: L.nn.SiLU(), lambda L: L.nn.Mish(),
    lambda L: L.nn.Tanh(), lambda L: L.nn.Sigmoid(),
    lambda L: L.nn.Softmax(dim=-1), lambda L: L.nn.LogSoftmax(dim=1), lambda L: L.nn.Softmin(dim=0),
    lambda L: L.nn.LeakyReLU(0.2), lambda L: L.nn.ELU(alpha=0.5),
    lambda L: L.nn.Softplus(beta=2.0, threshold=3.0),
    lambda L: L.nn.Hardtanh(-0.5, 0.7), lambda L: L.nn.LogSigmoid(), lambda L: L.nn.GLU(dim=-1),
    lambda L: L.nn.Identity(3, unused=True), lambda L: L.nn.Flatten(), lambda L: L.nn.Flatten(0, 1),
    lambda L: L.nn.Unflatten(1, (2, 2)), lambda L: L.nn.Hardswish(), lambda L: L.nn.Hardsigmoid(),
]


@pytest.mark.parametrize("make", ACTIVATIONS, ids=lambda f: repr(f(torch)))
def test_activation_and_shape_modules(make):
    compare_layer(make, [randn(3, 4, 2)])


def test_functional_activations_match():
    x = randn(4, 5)
    for name, kw in [("relu", {}), ("gelu", {"approximate": "tanh"}), ("silu", {}), ("mish", {}), ("elu", {}),
                     ("leaky_relu", {"negative_slope": 0.3}), ("softplus", {}), ("logsigmoid", {}),
                     ("relu6", {}), ("hardtanh", {}), ("sigmoid", {}), ("tanh", {}), ("softmax", {"dim": 1}),
                     ("log_softmax", {"dim": 0}), ("hardswish", {}), ("hardsigmoid", {})]:
        t = getattr(torch.nn.functional, name)(torch.from_numpy(x), **kw).numpy()
        e = getattr(nn.functional, name)(ember.from_numpy(x), **kw).numpy()
        np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("name", ["hardswish", "hardsigmoid"])
def test_hard_activations_at_their_corners(name):
    """Values and gradients at the kinks x = -3 and 3, and inf/nan, as PyTorch defines them."""
    x = np.float32([-4.0, -3.0, -1.0, 0.0, 2.5, 3.0, 5.0, np.inf, -np.inf, np.nan])
    te = ember.tensor(x, requires_grad=True)
    tt = torch.tensor(x, requires_grad=True)
    ye, yt = getattr(nn.functional, name)(te), getattr(torch.nn.functional, name)(tt)
    np.testing.assert_array_equal(ye.detach().numpy(), yt.detach().numpy())
    assert np.array_equal(np.signbit(ye.detach().numpy()), np.signbit(yt.detach().numpy()))
    ye[:7].sum().backward()
    yt[:7].sum().backward()
    np.testing.assert_allclose(te.grad.numpy(), tt.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("shapes, kw", [([(4, 5), (4, 5)], {}), ([(2, 3, 4), (3, 1)], {"dim": 1}),
                                        ([(3, 6), (1, 6)], {"dim": -1, "eps": 0.5})])
def test_cosine_similarity_and_pairwise_distance(shapes, kw):
    a, b = randn(*shapes[0]), randn(*shapes[1], seed=1)
    outs = {}
    for lib in (ember, torch):
        x, y = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        c = lib.nn.functional.cosine_similarity(x, y, **kw)
        d = (lib.nn.functional.pairwise_distance(x, y)
             + lib.nn.functional.pairwise_distance(x, y, p=1, keepdim=True).sum())
        (c.sum() * 2 + (d * d).sum()).backward()
        outs[lib] = [c.detach().numpy(), d.detach().numpy(), x.grad.numpy(), y.grad.numpy()]
    for e, t in zip(outs[ember], outs[torch]):
        np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(5, 6), (2, 3, 6), (6,)])
def test_linear(shape):
    compare_layer(lambda L: L.nn.Linear(6, 4), [randn(*shape)])
    compare_layer(lambda L: L.nn.Linear(6, 4, bias=False), [randn(*shape)])


def test_bilinear():
    compare_layer(lambda L: L.nn.Bilinear(3, 4, 5), [randn(6, 3), randn(6, 4, seed=1)])
    compare_layer(lambda L: L.nn.Bilinear(3, 4, 5, bias=False), [randn(2, 6, 3), randn(2, 6, 4, seed=1)])


def test_mlp_sequential():
    def make(L):
        return L.nn.Sequential(L.nn.Flatten(), L.nn.Linear(12, 8), L.nn.ReLU(), L.nn.Linear(8, 8),
                               L.nn.GELU(), L.nn.Linear(8, 3))

    compare_layer(make, [randn(5, 3, 4)])


def test_embedding():
    idx = np.array([[0, 3, 3], [9, 1, 3]])
    compare_layer(lambda L: L.nn.Embedding(10, 4), [idx])
    compare_layer(lambda L: L.nn.Embedding(10, 4, padding_idx=3), [idx])
    e = nn.Embedding(10, 4, padding_idx=-1)
    assert e.padding_idx == 9 and not e.weight.detach().numpy()[9].any()


def test_embedding_from_pretrained_and_max_norm():
    w = randn(5, 3) * 3
    for lib in (torch, ember):
        emb = lib.nn.Embedding.from_pretrained(lib.tensor(w))
        assert not emb.weight.requires_grad
    e = nn.Embedding.from_pretrained(ember.tensor(w), freeze=False)
    assert e.weight.requires_grad
    np.testing.assert_array_equal(e(ember.tensor([4])).detach().numpy()[0], w[4])
    t = torch.nn.Embedding.from_pretrained(torch.tensor(w), max_norm=1.0)
    e = nn.Embedding.from_pretrained(ember.tensor(w), max_norm=1.0)
    idx = np.array([0, 2, 2])
    np.testing.assert_allclose(e(ember.tensor(idx)).numpy(), t(torch.tensor(idx)).numpy(), rtol=1e-5)
    np.testing.assert_allclose(e.weight.numpy(), t.weight.numpy(), rtol=1e-5)  # renormalised in place


@pytest.mark.parametrize("shape", [(4, 6), (2, 3, 6)])
def test_layer_norm(shape):
    compare_layer(lambda L: L.nn.LayerNorm(6), [randn(*shape) * 3 + 1])
    compare_layer(lambda L: L.nn.LayerNorm(6, elementwise_affine=False), [randn(*shape)])
    compare_layer(lambda L: L.nn.LayerNorm(6, bias=False, eps=1e-3), [randn(*shape)])


def test_layer_norm_affine_params_trained():
    def make(L):
        m = L.nn.LayerNorm((2, 3))
        with L.no_grad():
            m.weight.mul_(L.tensor([[1.5, -0.5, 2.0], [0.3, 1.0, 0.7]]))
            m.bias.add_(0.25)
        return m

    compare_layer(make, [randn(4, 2, 3)])


def test_rms_norm():
    compare_layer(lambda L: L.nn.RMSNorm(5), [randn(3, 5)])
    compare_layer(lambda L: L.nn.RMSNorm((2, 5), eps=1e-4, elementwise_affine=False), [randn(3, 2, 5)])


def test_group_norm():
    compare_layer(lambda L: L.nn.GroupNorm(2, 6), [randn(3, 6, 4)])
    compare_layer(lambda L: L.nn.GroupNorm(3, 6, affine=False), [randn(2, 6, 2, 2)])
    compare_layer(lambda L: L.nn.GroupNorm(1, 4, eps=1e-3), [randn(2, 4)])


@pytest.mark.parametrize("make,shape", [
    (lambda L: L.nn.BatchNorm1d(4), (8, 4)),
    (lambda L: L.nn.BatchNorm1d(4, momentum=0.3), (5, 4, 3)),
    (lambda L: L.nn.BatchNorm2d(3), (4, 3, 2, 2)),
    (lambda L: L.nn.BatchNorm2d(3, affine=False), (4, 3, 2, 2)),
    (lambda L: L.nn.BatchNorm1d(4, track_running_stats=False), (8, 4)),
    (lambda L: L.nn.BatchNorm1d(4, momentum=None), (6, 4)),
])
def test_batch_norm_train_then_eval(make, shape):
    """Three training steps (running statistics compared), then eval mode uses them."""
    tm, em = compare_layer(make, [randn(*shape) * 2 + 1], train=True)
    for step in range(2):
        x = randn(*shape, seed=step + 5) * 1.5 - 0.5
        tm(torch.from_numpy(x))
        em(ember.from_numpy(x))
    for (name, b), (_, eb) in zip(tm.named_buffers(), em.named_buffers()):
        np.testing.assert_allclose(eb.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
    x = randn(*shape, seed=9)
    tm.eval(), em.eval()
    np.testing.assert_allclose(em(ember.from_numpy(x)).detach().numpy(),
                               tm(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-5)


def test_batch_norm_eval_gradients():
    def make(L):
        m = L.nn.BatchNorm2d(3)
        with L.no_grad():
            m.running_mean.add_(L.tensor([0.5, -1.0, 0.1]))
            m.running_var.mul_(L.tensor([2.0, 0.5, 1.5]))
            m.weight.mul_(1.5)
        return m

    compare_layer(make, [randn(2, 3, 2, 2)], train=False)


def test_batch_norm_errors():
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected 4D input, got 2D input of shape \(3, 4\)"):
        nn.BatchNorm2d(4)(ember.ones(3, 4))
    with pytest.raises(ValueError, match="expected more than 1 value per channel when training"):
        nn.BatchNorm1d(4)(ember.ones(1, 4))
    with pytest.raises(RuntimeError,
                       match=r"batch_norm: running_mean of shape \(3,\) does not match 4 channels"):
        nn.functional.batch_norm(ember.ones(2, 4), ember.zeros(3), ember.ones(4))
    with pytest.raises(RuntimeError, match="must be defined in evaluation mode"):
        nn.functional.batch_norm(ember.ones(2, 4), None, None)


def test_dropout_train_eval_and_statistics():
    x = ember.ones(200, 100)
    d = nn.Dropout(0.3)
    ember.manual_seed(1)
    y = d(x).numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    ember.manual_seed(1)
    np.testing.assert_array_equal(d(x).numpy(), y)  # the global generator drives the mask
    d.eval()
    assert d(x) is x
    z = ember.randn(4, 5, requires_grad=True)
    out = nn.functional.dropout(z, 0.5, training=True)
    g = ember.randn(4, 5)
    out.backward(g)
    mask = out.detach().numpy() != 0
    np.testing.assert_allclose(z.grad.numpy(), np.where(mask, g.numpy() * 2, 0), rtol=1e-6)
    assert not nn.functional.dropout(z, 1.0).detach().numpy().any()
    assert nn.functional.dropout(z, 0.5, training=False) is z
    with pytest.raises(ValueError, match="dropout: probability has to be between 0 and 1, but got 1.5"):
        nn.functional.dropout(z, 1.5)
    with pytest.raises(ValueError, match="Dropout: probability"):
        nn.Dropout(-0.1)


def test_one_hot():
    t = torch.tensor([[0, 2], [1, 4]])
    np.testing.assert_array_equal(nn.functional.one_hot(ember.tensor(t.numpy())).numpy(),
                                  torch.nn.functional.one_hot(t).numpy())
    out = nn.functional.one_hot(ember.tensor([1, 0]), num_classes=3)
    assert out.dtype == ember.int64 and out.tolist() == [[0, 1, 0], [1, 0, 0]]
    with pytest.raises(RuntimeError,
                       match=r"one_hot: class values must be smaller than num_classes \(3\), got 5"):
        nn.functional.one_hot(ember.tensor([5]), 3)
    with pytest.raises(RuntimeError, match="one_hot: class values must be non-negative, got -1"):
        nn.functional.one_hot(ember.tensor([-1]))
    with pytest.raises(RuntimeError, match="one_hot: is only applicable to index tensors"):
        nn.functional.one_hot(ember.tensor([1.0]))


def test_linear_errors():
    F = nn.functional
    with pytest.raises(RuntimeError, match=r"linear: input \(2, 3\) and weight \(4, 5\)"):
        F.linear(ember.ones(2, 3), ember.ones(4, 5))
    with pytest.raises(RuntimeError, match=r"linear: bias shape \(3,\) does not match out_features 4"):
        F.linear(ember.ones(2, 5), ember.ones(4, 5), ember.ones(3))
    with pytest.raises(RuntimeError,
                       match="linear: input dtype ember.float64 and weight dtype ember.float32 differ"):
        F.linear(ember.ones(2, 5, dtype=ember.float64), ember.ones(4, 5))
    with pytest.raises(TypeError, match="linear: input must be a Tensor, got list"):
        F.linear([1.0], ember.ones(4, 5))
    with pytest.raises(RuntimeError,
                       match=r"bilinear: input1 \(2, 3\), input2 \(2, 4\) and weight \(5, 3, 3\)"):
        F.bilinear(ember.ones(2, 3), ember.ones(2, 4), ember.ones(5, 3, 3))


def test_embedding_errors():
    F = nn.functional
    w = ember.ones(5, 2)
    with pytest.raises(IndexError, match="embedding: index 5 is out of range for 5 embeddings"):
        F.embedding(ember.tensor([0, 5]), w)
    with pytest.raises(IndexError, match="embedding: index -1 is out of range"):
        F.embedding(ember.tensor([-1]), w)
    with pytest.raises(RuntimeError, match="embedding: indices must be an integer tensor, got ember.float32"):
        F.embedding(ember.tensor([1.0]), w)
    with pytest.raises(ValueError, match=r"Embedding: padding_idx 7 must be within num_embeddings \(5\)"):
        nn.Embedding(5, 2, padding_idx=7)


def test_norm_errors():
    F = nn.functional
    with pytest.raises(RuntimeError, match=r"layer_norm: normalized_shape \[4\] does not match the last "
                                           r"dimensions of the input of shape \(2, 3\)"):
        F.layer_norm(ember.ones(2, 3), (4,))
    with pytest.raises(RuntimeError,
                       match=r"layer_norm: weight of shape \(2,\) does not match normalized_shape \[3\]"):
        F.layer_norm(ember.ones(2, 3), (3,), ember.ones(2))
    with pytest.raises(RuntimeError,
                       match=r"group_norm: expected number of channels in input \(6\) to be divisible"):
        F.group_norm(ember.ones(2, 6), 4)
    with pytest.raises(ValueError, match="GroupNorm: num_channels"):
        nn.GroupNorm(4, 6)
    with pytest.raises(RuntimeError, match=r"rms_norm: normalized_shape \[2\]"):
        F.rms_norm(ember.ones(3), [2])


def test_float64_layers_stay_float64():
    m = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.GELU(), nn.Linear(4, 2)).double()
    out = m(ember.randn(2, 3, dtype=ember.float64))
    assert out.dtype == ember.float64
    nn.functional.cross_entropy(out, ember.tensor([0, 1])).backward()
    assert all(p.grad.dtype == ember.float64 for p in m.parameters())


def test_float32_throughout():
    """No float64 sneaks in through Python floats in the fused layers and losses."""
    x = ember.randn(4, 6, requires_grad=True)
    outs = [
        nn.LayerNorm(6)(x), nn.RMSNorm(6)(x), nn.BatchNorm1d(6)(x), nn.GroupNorm(2, 6)(x), nn.Linear(6, 3)(x),
        nn.functional.dropout(x, 0.2),
        nn.functional.cross_entropy(x, ember.tensor([0, 1, 2, 3]), label_smoothing=0.1),
        nn.functional.scaled_dot_product_attention(x, x, x, is_causal=True),
        nn.functional.binary_cross_entropy_with_logits(x, ember.rand(4, 6)),
        nn.functional.binary_cross_entropy(x.sigmoid(), ember.rand(4, 6)),
    ]
    for o in outs:
        assert o.dtype == ember.float32
        o.sum().backward()
        assert x.grad.dtype == ember.float32


def test_cosine_similarity_of_a_vector_shorter_than_eps():
    """PyTorch raises the norms to eps outside autograd: values and gradients both match."""
    a = np.float32([[1e-9, 0.0, 0.0], [1.0, 2.0, 3.0]])
    b = np.float32([[2.0, -1.0, 1.0]])
    res = []
    for lib in (ember, torch):
        x, y = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        c = lib.nn.functional.cosine_similarity(x, y)
        (c * lib.tensor([2.0, 3.0])).sum().backward()
        res.append([c.detach().numpy(), x.grad.numpy(), y.grad.numpy()])
    for e, t in zip(*res):
        np.testing.assert_allclose(e, t, rtol=1e-6)
