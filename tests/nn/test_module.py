"""Module and Parameter API: registration, ties, state_dict (against torch's keys), loading, modes, repr."""

import copy
import pickle

import numpy as np
import pytest
import torch

import ember
from ember import nn


def _build(lib):
    """The same small model in torch or ember (params, buffers, nested children, a tie)."""
    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = lib.nn.Embedding(10, 4)
            self.body = lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.ReLU(), lib.nn.BatchNorm1d(8))
            self.heads = lib.nn.ModuleList([lib.nn.Linear(8, 3), lib.nn.LayerNorm(3)])
            self.out = lib.nn.Linear(4, 10, bias=False)
            self.out.weight = self.emb.weight  # weight tying
            self.register_buffer("scale", lib.ones(3))
            self.register_buffer("tmp", lib.zeros(2), persistent=False)

        def forward(self, idx):
            h = self.emb(idx)
            return self.heads[1](self.heads[0](self.body(h))) * self.scale

    return Net()


def test_state_dict_keys_match_torch():
    t, e = _build(torch), _build(ember)
    assert list(e.state_dict().keys()) == list(t.state_dict().keys())
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in e.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in e.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in e.named_children()] == [n for n, _ in t.named_children()]
    for (kt, vt), (_ke, ve) in zip(t.state_dict().items(), e.state_dict().items()):
        assert tuple(vt.shape) == tuple(ve.shape), kt
        assert str(vt.dtype).split(".")[1] == str(ve.dtype).split(".")[1], kt


def test_tied_parameter_counted_once():
    m = _build(ember)
    params = list(m.parameters())
    assert len(params) == len({id(p) for p in params})
    assert m.out.weight is m.emb.weight
    assert sum(p.numel() for p in m.parameters()) == sum(p.numel() for p in _build(torch).parameters())
    assert "out.weight" in m.state_dict()  # both names are saved, as in torch
    assert len(list(m.named_parameters(remove_duplicate=False))) == len(params) + 1


def test_load_torch_weights_and_forward_matches():
    t, e = _build(torch), _build(ember)
    e.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    t.eval(), e.eval()
    idx = np.array([1, 2, 3, 4, 5, 9])
    out_t = t(torch.from_numpy(idx)).detach().numpy()
    out_e = e(ember.tensor(idx)).detach().numpy()
    np.testing.assert_allclose(out_e, out_t, rtol=1e-5, atol=1e-6)


def test_load_state_dict_accepts_ember_tensors_and_keeps_objects():
    a, b = _build(ember), _build(ember)
    w = b.body[0].weight
    b.load_state_dict(a.state_dict())
    assert b.body[0].weight is w  # loaded in place: optimizers keep their references
    np.testing.assert_array_equal(w.detach().numpy(), a.body[0].weight.detach().numpy())


def test_load_state_dict_error_names_everything_and_loads_nothing():
    m = nn.Sequential(nn.Linear(784, 10), nn.ReLU(), nn.Linear(10, 2))
    before = {k: v.numpy().copy() for k, v in m.state_dict().items()}
    sd = {k: v.numpy().copy() + 1 for k, v in m.state_dict().items()}
    sd["0.weight"] = np.zeros((784, 10), np.float32)
    del sd["2.bias"]
    sd["extra.weight"] = np.zeros(3, np.float32)
    with pytest.raises(RuntimeError) as exc:
        m.load_state_dict(sd)
    msg = str(exc.value)
    assert msg == (
        "load_state_dict: missing keys ['2.bias']; unexpected keys ['extra.weight']; "
        "shape mismatch for '0.weight': model (10, 784), checkpoint (784, 10)"
    )
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])  # nothing loaded


def test_load_state_dict_non_strict_returns_keys():
    m = nn.Linear(3, 2)
    res = m.load_state_dict({"weight": np.ones((2, 3), np.float32), "junk": np.ones(1)}, strict=False)
    assert res.missing_keys == ["bias"] and res.unexpected_keys == ["junk"]
    np.testing.assert_array_equal(m.weight.detach().numpy(), np.ones((2, 3)))
    with pytest.raises(RuntimeError,
                       match=r"shape mismatch for 'weight': model \(2, 3\), checkpoint \(3, 2\)"):
        m.load_state_dict({"weight": np.ones((3, 2), np.float32)}, strict=False)
    with pytest.raises(RuntimeError, match="value for 'weight' is a str"):
        m.load_state_dict({"weight": "abc", "bias": np.ones(2)})


def test_load_state_dict_casts_dtype_and_accepts_torch_tensors():
    m = nn.Linear(2, 2)
    m.load_state_dict({"weight": torch.eye(2, dtype=torch.float64), "bias": torch.zeros(2)})
    assert m.weight.dtype == ember.float32
    np.testing.assert_array_equal(m.weight.detach().numpy(), np.eye(2))


def test_registration_and_reassignment():
    m = nn.Module()
    m.w = nn.Parameter(ember.ones(2))
    m.sub = nn.Linear(2, 2)
    m.register_buffer("b", ember.zeros(1))
    assert list(m._parameters) == ["w"] and list(m._modules) == ["sub"] and list(m._buffers) == ["b"]
    m.w = None
    assert m.w is None and dict(m.named_parameters()).keys() == {"sub.weight", "sub.bias"}
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'w'"):
        m.w = ember.ones(2)
    m.b = ember.ones(1)  # a buffer may be replaced by a tensor
    assert m.state_dict()["b"].item() == 1.0
    with pytest.raises(TypeError, match="cannot assign 'int' as child module 'sub'"):
        m.sub = 3
    del m.sub
    assert "sub" not in m._modules and not hasattr(m, "sub")
    with pytest.raises(KeyError, match="attribute 'b' already exists"):
        m.add_module("b", nn.ReLU())
    with pytest.raises(KeyError, match='contain "."'):
        m.register_buffer("a.b", ember.ones(1))
    with pytest.raises(TypeError, match="cannot assign 'int' object to parameter 'p'"):
        m.register_parameter("p", 3)
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'nope'"):
        _ = m.nope


def test_plain_attributes_and_properties():
    class WithProp(nn.Module):
        def __init__(self):
            super().__init__()
            self._scale = 1.0
            self.scale = 3.0  # goes through the property's setter

        @property
        def scale(self):
            return self._scale

        @scale.setter
        def scale(self, v):
            self._scale = v * 2

    m = WithProp()
    assert m.scale == 6.0 and m._scale == 6.0
    m.note = "x"
    assert m.note == "x" and "note" not in m._parameters


def test_assign_before_init_errors():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(ember.ones(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Bad()


def test_train_eval_and_dropout_mode():
    m = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    assert m.training and m[1].training
    assert m.eval() is m and not m[1].training
    m.train()
    assert m[1].training
    with pytest.raises(ValueError, match="boolean"):
        m.train("yes")


def test_zero_grad_apply_requires_grad():
    m = nn.Linear(3, 2)
    m(ember.ones(1, 3)).sum().backward()
    m.zero_grad(set_to_none=False)
    assert m.weight.grad is not None and not m.weight.grad.numpy().any()
    m.zero_grad()
    assert m.weight.grad is None
    seen = []
    nn.Sequential(nn.Linear(1, 1), nn.ReLU()).apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Linear", "ReLU", "Sequential"]
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_to_double_and_float_keep_parameter_objects():
    m = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    w = m[0].weight
    m.double()
    assert m[0].weight is w and w.dtype == ember.float64 and m[1].running_mean.dtype == ember.float64
    assert m[1].num_batches_tracked.dtype == ember.int64  # integer buffers are not cast
    assert m.to(ember.float32) is m and w.dtype == ember.float32
    assert m.to("cpu") is m
    with pytest.raises(RuntimeError, match="device"):
        m.to("cuda")
    out = m(ember.ones(3, 2))
    assert out.dtype == ember.float32


def test_children_modules_get_submodule():
    m = _build(ember)
    assert [type(c).__name__ for c in m.children()] == ["Embedding", "Sequential", "ModuleList", "Linear"]
    assert len(list(m.modules())) == 10
    assert m.get_submodule("body.0") is m.body[0]
    assert m.get_parameter("heads.0.bias") is m.heads[0].bias
    with pytest.raises(AttributeError, match="has no attribute `zz`"):
        m.get_submodule("body.zz")
    assert len(list(m.parameters(recurse=False))) == 0
    assert [n for n, _ in m.body.named_parameters(prefix="body")][:1] == ["body.0.weight"]


def test_forward_hooks():
    m = nn.Linear(2, 2)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    h2 = m.register_forward_hook(lambda mod, args, out: calls.append(out.shape) or out + 1)
    out = m(ember.ones(1, 2))
    np.testing.assert_allclose(out.detach().numpy(), m.bias.detach().numpy()[None] + 1, rtol=1e-6)
    assert calls == [(1, 2)]
    h1.remove()
    h2.remove()
    out = m(ember.ones(1, 2))
    assert len(calls) == 1


def test_missing_forward():
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(1)


def test_repr_matches_torch():
    t, e = _build(torch), _build(ember)
    assert repr(e) == repr(t)
    mha_t, mha_e = torch.nn.MultiheadAttention(8, 2), nn.MultiheadAttention(8, 2)
    assert repr(mha_e) == repr(mha_t)
    seq_t = torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(3)] + [torch.nn.ReLU()])
    seq_e = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU()])
    assert repr(seq_e) == repr(seq_t)
    layers = [
        lambda L: L.nn.BatchNorm1d(3, bias=False), lambda L: L.nn.GroupNorm(2, 4),
        lambda L: L.nn.LayerNorm(3), lambda L: L.nn.LayerNorm(3, elementwise_affine=False),
        lambda L: L.nn.RMSNorm(3),
        lambda L: L.nn.Embedding(3, 4, padding_idx=1), lambda L: L.nn.Dropout(), lambda L: L.nn.Flatten(),
        lambda L: L.nn.Unflatten(1, (2, 3)), lambda L: L.nn.CrossEntropyLoss(),
        lambda L: L.nn.Bilinear(2, 3, 4), lambda L: L.nn.Identity(), lambda L: L.nn.GELU(),
        lambda L: L.nn.Softmax(), lambda L: L.nn.ReLU(inplace=True),
        lambda L: L.nn.LeakyReLU(), lambda L: L.nn.ELU(), lambda L: L.nn.Softplus(), lambda L: L.nn.SiLU(),
        lambda L: L.nn.Hardtanh(), lambda L: L.nn.LogSoftmax(dim=1), lambda L: L.nn.BatchNorm2d(4),
    ]
    for make in layers:
        assert repr(make(ember)) == repr(make(torch))


def test_parameter():
    p = nn.Parameter(ember.ones(2))
    assert p.requires_grad and isinstance(p, ember.Tensor)
    assert repr(p) == "Parameter containing:\ntensor([1., 1.], requires_grad=True)"
    assert type(p * 2) is ember.Tensor
    assert not nn.Parameter(ember.ones(1), requires_grad=False).requires_grad
    with pytest.raises(TypeError, match="Parameter: data must be a Tensor"):
        nn.Parameter([1.0])
    q = copy.deepcopy(p)
    assert type(q) is nn.Parameter and q.requires_grad and q._buf is not p._buf
    r = pickle.loads(pickle.dumps(p))
    assert type(r) is nn.Parameter and r.tolist() == [1.0, 1.0]


def test_deepcopy_module_keeps_ties():
    m = _build(ember)
    c = copy.deepcopy(m)
    assert c.out.weight is c.emb.weight and c.out.weight is not m.out.weight
    assert list(c.state_dict()) == list(m.state_dict())


def test_sequential_and_containers():
    s = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(s) == 3 and isinstance(s[-1], nn.Linear)
    sub = s[1:]
    assert isinstance(sub, nn.Sequential) and len(sub) == 2 and sub[0] is s[1]
    s.append(nn.Sigmoid())
    assert list(s._modules) == ["0", "1", "2", "3"]
    del s[1]
    assert list(s._modules) == ["0", "1", "2"] and isinstance(s[1], nn.Linear)
    s.insert(1, nn.Tanh())
    assert isinstance(s[1], nn.Tanh) and len(s) == 4
    with pytest.raises(IndexError, match="out of range"):
        s[10]
    from collections import OrderedDict

    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert [n for n, _ in named.named_parameters()] == ["fc.weight", "fc.bias"]
    ml = nn.ModuleList([nn.Linear(1, 1)])
    ml += [nn.ReLU()]
    ml.insert(0, nn.Tanh())
    assert [type(m).__name__ for m in ml] == ["Tanh", "Linear", "ReLU"]
    assert len(ml[1:]) == 2
    md = nn.ModuleDict({"a": nn.Linear(1, 1)})
    md["b"] = nn.ReLU()
    assert list(md.keys()) == ["a", "b"] and "a" in md and len(md) == 2
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias"]
    md.pop("a")
    assert list(md) == ["b"]
    pl = nn.ParameterList([ember.ones(2), nn.Parameter(ember.zeros(1))])
    assert [n for n, _ in pl.named_parameters()] == ["0", "1"] and isinstance(pl[0], nn.Parameter)
    pd = nn.ParameterDict({"x": ember.ones(1)})
    assert [n for n, _ in pd.named_parameters()] == ["x"]


def test_module_list_and_dict_match_torch_keys():
    def build(lib):
        m = lib.nn.Module()
        m.blocks = lib.nn.ModuleList([lib.nn.Linear(2, 2) for _ in range(2)])
        m.d = lib.nn.ModuleDict({"x": lib.nn.LayerNorm(2), "y": lib.nn.Linear(2, 1)})
        return m

    assert list(build(ember).state_dict()) == list(build(torch).state_dict())
