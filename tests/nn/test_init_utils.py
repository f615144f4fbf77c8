"""nn.init distributions (checked statistically), default layer initialisation, and nn.utils."""

import math

import numpy as np
import pytest
import torch

import ember
from ember import nn
from ember.nn import init


def _np(t):
    return t.detach().numpy()


def test_uniform_normal_constant():
    w = ember.empty(200, 300)
    init.uniform_(w, -2.0, 3.0)
    a = _np(w)
    assert (a.min() >= -2.0 and a.max() <= 3.0 and abs(a.mean() - 0.5) < 0.03
            and abs(a.std() - 5 / math.sqrt(12)) < 0.02)
    init.normal_(w, 1.5, 0.5)
    a = _np(w)
    assert abs(a.mean() - 1.5) < 0.01 and abs(a.std() - 0.5) < 0.01
    assert init.constant_(w, 0.25) is w and (_np(w) == 0.25).all()
    assert (_np(init.ones_(w)) == 1).all() and (_np(init.zeros_(w)) == 0).all()
    np.testing.assert_array_equal(_np(init.eye_(ember.empty(2, 3))), np.eye(2, 3))
    assert w.dtype == ember.float32
    d = init.normal_(ember.empty(10, dtype=ember.float64))
    assert d.dtype == ember.float64


def test_trunc_normal():
    w = init.trunc_normal_(ember.empty(100, 200), mean=0.5, std=1.0, a=-0.5, b=1.0)
    a = _np(w)
    assert a.min() >= -0.5 and a.max() <= 1.0
    ref = torch.nn.init.trunc_normal_(torch.empty(400, 500), mean=0.5, std=1.0, a=-0.5, b=1.0).numpy()
    assert abs(a.mean() - ref.mean()) < 0.02 and abs(a.std() - ref.std()) < 0.02
    with pytest.raises(ValueError, match=r"trunc_normal_: a \(1.0\) must be smaller than b \(0.0\)"):
        init.trunc_normal_(ember.empty(2), a=1.0, b=0.0)


def test_fans_and_gain():
    assert init._calculate_fan_in_and_fan_out(ember.empty(8, 4, 3, 3)) == (36, 72)
    for nl, p in [("relu", None), ("tanh", None), ("leaky_relu", 0.2), ("leaky_relu", None), ("linear", None),
                  ("sigmoid", None), ("selu", None), ("conv2d", None)]:
        assert init.calculate_gain(nl, p) == pytest.approx(torch.nn.init.calculate_gain(nl, p))
    with pytest.raises(ValueError, match="calculate_gain: unsupported nonlinearity 'foo'"):
        init.calculate_gain("foo")
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(ember.empty(3))
    with pytest.raises(ValueError, match="mode 'fan_mid' not supported"):
        init.kaiming_normal_(ember.empty(3, 3), mode="fan_mid")


@pytest.mark.parametrize("name,kwargs,kind", [
    ("xavier_uniform_", {"gain": 2.0}, "uniform"),
    ("xavier_normal_", {}, "normal"),
    ("kaiming_uniform_", {"a": math.sqrt(5)}, "uniform"),
    ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}, "uniform"),
    ("kaiming_normal_", {"nonlinearity": "relu"}, "normal"),
])
def test_scaled_inits_match_torch_distribution(name, kwargs, kind):
    shape = (300, 200, 2)
    a = _np(getattr(init, name)(ember.empty(*shape), **kwargs))
    b = getattr(torch.nn.init, name)(torch.empty(*shape), **kwargs).numpy()
    assert abs(a.std() - b.std()) / b.std() < 0.02 and abs(a.mean()) < 0.01 * b.std() * 10
    if kind == "uniform":
        bound = np.abs(b).max()
        assert np.abs(a).max() <= bound * 1.001 and np.abs(a).max() > 0.99 * bound


def test_default_layer_init_matches_torch():
    torch.manual_seed(0)
    for make in [lambda L: L.nn.Linear(400, 300), lambda L: L.nn.Bilinear(50, 40, 300),
                 lambda L: L.nn.Embedding(300, 200), lambda L: L.nn.LayerNorm(30),
                 lambda L: L.nn.BatchNorm1d(30), lambda L: L.nn.GroupNorm(3, 30),
                 lambda L: L.nn.RMSNorm(30), lambda L: L.nn.MultiheadAttention(64, 4)]:
        t, e = make(torch), make(ember)
        for (n, pt), (_, pe) in zip(t.state_dict().items(), e.state_dict().items()):
            a, b = _np(pe).astype(np.float64), pt.numpy().astype(np.float64)
            if b.std() == 0:
                np.testing.assert_array_equal(a, b, err_msg=n)
                continue
            k = a.size  # 5-sigma bounds for comparing two samples of this size
            assert abs(a.std() - b.std()) / b.std() < 5 / math.sqrt(k), n
            assert abs(a.mean() - b.mean()) < 5 * b.std() * math.sqrt(2 / k), n
            assert np.abs(a).max() <= np.abs(b).max() * 1.05 + 1e-6 or b.min() < -3, n


def test_clip_grad_norm_matches_torch():
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(s).astype(np.float32) * 3 for s in [(3, 4), (5,), (2, 2, 2)]]
    for norm_type in (2.0, 1.0, math.inf, 3.0):
        tp = [torch.zeros(g.shape, requires_grad=True) for g in grads]
        ep = [nn.Parameter(ember.zeros(*g.shape)) for g in grads]
        for t, e, g in zip(tp, ep, grads):
            t.grad, e.grad = torch.tensor(g), ember.tensor(g)
        tn = torch.nn.utils.clip_grad_norm_(tp, max_norm=2.0, norm_type=norm_type)
        en = nn.utils.clip_grad_norm_(ep, max_norm=2.0, norm_type=norm_type)
        assert en.dtype == ember.float32 and en.ndim == 0
        np.testing.assert_allclose(en.item(), tn.item(), rtol=1e-5)
        for t, e in zip(tp, ep):
            np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-7)
    small = nn.Parameter(ember.zeros(3))
    small.grad = ember.tensor([0.1, 0.2, 0.2])
    assert nn.utils.clip_grad_norm_(small, 5.0).item() == pytest.approx(0.3)
    np.testing.assert_allclose(small.grad.numpy(), [0.1, 0.2, 0.2], rtol=1e-5)  # under the limit: unchanged
    assert nn.utils.clip_grad_norm_([nn.Parameter(ember.zeros(2))], 1.0).item() == 0.0  # no grads
    bad = nn.Parameter(ember.zeros(2))
    bad.grad = ember.tensor([float("nan"), 1.0])
    with pytest.raises(RuntimeError, match="clip_grad_norm_: the total norm of order 2.0 .* is non-finite"):
        nn.utils.clip_grad_norm_([bad], 1.0, error_if_nonfinite=True)


def test_clip_grad_value_and_vectors():
    p = nn.Parameter(ember.zeros(4))
    p.grad = ember.tensor([-3.0, -0.5, 0.5, 3.0])
    nn.utils.clip_grad_value_([p], 1.0)
    assert p.grad.tolist() == [-1.0, -0.5, 0.5, 1.0]
    m = nn.Linear(3, 2)
    vec = nn.utils.parameters_to_vector(m.parameters())
    assert tuple(vec.shape) == (8,)
    np.testing.assert_array_equal(_np(vec)[:6], _np(m.weight).reshape(-1))
    nn.utils.vector_to_parameters(ember.arange(8.0), m.parameters())
    assert m.bias.tolist() == [6.0, 7.0] and m.weight.requires_grad
    with pytest.raises(RuntimeError, match=r"vector_to_parameters: vec of shape \(7,\) does not hold the 8"):
        nn.utils.vector_to_parameters(ember.arange(7.0), m.parameters())
    with pytest.raises(TypeError, match="expected vec to be a Tensor"):
        nn.utils.vector_to_parameters([1.0], m.parameters())


def test_clip_grad_norm_paths_match_torch():
    """The 2-norm fast path (one dot product per gradient) and the general path, against torch."""
    rng = np.random.default_rng(1)
    shapes = [(4, 3), (), (7,), (0, 3)]
    cases = [
        ("float32", [np.float32] * 4, 0.5),  # clipped
        ("float32_unclipped", [np.float32] * 4, 1e6),  # the factor is 1: gradients stay bit for bit
        ("float64", [np.float64] * 4, 0.5),
        ("mixed", [np.float32, np.float64, np.float32, np.float32], 0.5),  # general path
    ]
    for name, dts, max_norm in cases:
        grads = [rng.standard_normal(s).astype(d) for s, d in zip(shapes, dts)]
        tp = [torch.zeros(g.shape, dtype=torch.from_numpy(g).dtype, requires_grad=True) for g in grads]
        ep = [nn.Parameter(ember.from_numpy(np.zeros_like(g))) for g in grads]
        for t, e, g in zip(tp, ep, grads):
            t.grad, e.grad = torch.from_numpy(g.copy()), ember.from_numpy(g.copy())
        tn = torch.nn.utils.clip_grad_norm_(tp, max_norm)
        en = nn.utils.clip_grad_norm_(ep, max_norm)
        assert en.dtype.name == str(tn.dtype).removeprefix("torch."), name
        np.testing.assert_allclose(en.item(), tn.item(), rtol=1e-6, err_msg=name)
        for t, e, g in zip(tp, ep, grads):
            assert e.grad.dtype.name == str(t.grad.dtype).removeprefix("torch."), name
            np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-6, atol=1e-7, err_msg=name)
            if max_norm > 1e5:
                assert np.array_equal(e.grad.numpy(), g), name


def test_clip_grad_norm_nan_gradient_propagates_like_torch():
    t, e = torch.zeros(2, requires_grad=True), nn.Parameter(ember.zeros(2))
    t.grad, e.grad = torch.tensor([float("nan"), 1.0]), ember.tensor([float("nan"), 1.0])
    assert (math.isnan(nn.utils.clip_grad_norm_([e], 1.0).item())
            and math.isnan(torch.nn.utils.clip_grad_norm_([t], 1.0)))
    np.testing.assert_array_equal(np.isnan(e.grad.numpy()), np.isnan(t.grad.numpy()))
