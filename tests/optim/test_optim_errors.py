"""Optimizer errors: invalid hyper-parameters, bad parameter lists, mismatched state dicts."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import ember
from ember import optim


def params(n=2):
    return [ember.tensor(np.ones((2, 3), np.float32) * (i + 1), requires_grad=True) for i in range(n)]


INVALID = [
    (optim.SGD, {"lr": -1}, "SGD: Invalid learning rate: -1"),
    (optim.SGD, {"momentum": -0.5}, "SGD: Invalid momentum value: -0.5"),
    (optim.SGD, {"weight_decay": -1e-3}, "SGD: Invalid weight_decay value: -0.001"),
    (optim.SGD, {"nesterov": True}, "SGD: Nesterov momentum requires a momentum and zero dampening"),
    (
        optim.SGD,
        {"nesterov": True, "momentum": 0.9, "dampening": 0.1},
        "requires a momentum and zero dampening",
    ),
    (optim.Adam, {"lr": -0.1}, r"Adam: Invalid learning rate: -0\.1"),
    (optim.Adam, {"eps": -1.0}, r"Adam: Invalid epsilon value: -1\.0"),
    (optim.Adam, {"betas": (1.0, 0.999)}, r"Adam: Invalid beta parameter at index 0: 1\.0"),
    (optim.Adam, {"betas": (0.9, -0.1)}, r"Adam: Invalid beta parameter at index 1: -0\.1"),
    (optim.Adam, {"betas": (0.9,)}, r"Adam: betas must be a pair of floats, got \(0\.9,\)"),
    (optim.Adam, {"weight_decay": -1}, "Adam: Invalid weight_decay value: -1"),
    (optim.AdamW, {"weight_decay": -1}, "AdamW: Invalid weight_decay value: -1"),
    (optim.AdamW, {"lr": -1}, "AdamW: Invalid learning rate: -1"),
    (optim.RMSprop, {"lr": -1}, "RMSprop: Invalid learning rate: -1"),
    (optim.RMSprop, {"eps": -1}, "RMSprop: Invalid epsilon value: -1"),
    (optim.RMSprop, {"momentum": -1}, "RMSprop: Invalid momentum value: -1"),
    (optim.RMSprop, {"weight_decay": -1}, "RMSprop: Invalid weight_decay value: -1"),
    (optim.RMSprop, {"alpha": -1}, "RMSprop: Invalid alpha value: -1"),
    (optim.Adagrad, {"lr": -1}, "Adagrad: Invalid learning rate: -1"),
    (optim.Adagrad, {"lr_decay": -1}, "Adagrad: Invalid lr_decay value: -1"),
    (optim.Adagrad, {"weight_decay": -1}, "Adagrad: Invalid weight_decay value: -1"),
    (
        optim.Adagrad,
        {"initial_accumulator_value": -1},
        "Adagrad: Invalid initial_accumulator_value value: -1",
    ),
    (optim.Adagrad, {"eps": -1}, "Adagrad: Invalid epsilon value: -1"),
    (optim.Adadelta, {"lr": -1}, "Adadelta: Invalid learning rate: -1"),
    (optim.Adadelta, {"rho": 1.5}, r"Adadelta: Invalid rho value: 1\.5"),
    (optim.Adadelta, {"eps": -1}, "Adadelta: Invalid epsilon value: -1"),
    (optim.Adadelta, {"weight_decay": -1}, "Adadelta: Invalid weight_decay value: -1"),
    (optim.NAdam, {"lr": -1}, "NAdam: Invalid learning rate: -1"),
    (optim.NAdam, {"eps": -1}, "NAdam: Invalid epsilon value: -1"),
    (optim.NAdam, {"betas": (1.0, 0.9)}, r"NAdam: Invalid beta parameter at index 0: 1\.0"),
    (optim.NAdam, {"betas": (0.9, -0.1)}, r"NAdam: Invalid beta parameter at index 1: -0\.1"),
    (optim.NAdam, {"weight_decay": -1}, "NAdam: Invalid weight_decay value: -1"),
    (optim.NAdam, {"momentum_decay": -1}, "NAdam: Invalid momentum_decay value: -1"),
    (optim.RAdam, {"lr": -1}, "RAdam: Invalid learning rate: -1"),
    (optim.RAdam, {"eps": -1}, "RAdam: Invalid epsilon value: -1"),
    (optim.RAdam, {"betas": (0.9, 1.0)}, r"RAdam: Invalid beta parameter at index 1: 1\.0"),
    (optim.RAdam, {"weight_decay": -1}, "RAdam: Invalid weight_decay value: -1"),
]


@pytest.mark.parametrize("cls,kwargs,match", INVALID, ids=[f"{c.__name__}-{k}" for c, k, _ in INVALID])
def test_invalid_hyper_parameters(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(params(), **kwargs)


@pytest.mark.parametrize("cls,kwargs,match", [r for r in INVALID if "Invalid" in r[2] or "Nesterov" in r[2]])
def test_torch_raises_the_same_for_invalid_hyper_parameters(cls, kwargs, match):
    """The same rows against torch: the message after ember's ``Name: `` prefix is torch's."""
    import torch

    with pytest.raises(ValueError, match=match.split(": ", 1)[1]):
        getattr(torch.optim, cls.__name__)([torch.ones(2, requires_grad=True)], **kwargs)


def test_invalid_group_hyper_parameter_is_caught_when_added():
    opt = optim.SGD(params(1), lr=0.1)
    with pytest.raises(ValueError, match="SGD: Invalid learning rate: -2"):
        opt.add_param_group({"params": params(1), "lr": -2})
    assert len(opt.param_groups) == 1


@pytest.mark.parametrize(
    "cls", [optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop, optim.Adagrad, optim.Adadelta, optim.NAdam,
            optim.RAdam]
)
def test_differentiable_is_not_supported(cls):
    with pytest.raises(NotImplementedError, match=f"{cls.__name__}: differentiable=True is not supported"):
        cls(params(), differentiable=True)


def test_bad_parameter_lists():
    with pytest.raises(ValueError, match="SGD: optimizer got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(
        TypeError, match=r"should be an iterable of Tensors or dicts, but got a Tensor of shape \(2, 3\)"
    ):
        optim.SGD(params(1)[0], lr=0.1)
    with pytest.raises(TypeError, match="ordering of tensors in sets will change"):
        optim.SGD([{"params": set(params(1))}], lr=0.1)
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors, but one of the params is int"):
        optim.SGD([1, 2], lr=0.1)
    x = ember.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"can't optimize a non-leaf Tensor \(shape \(1,\)\)"):
        optim.SGD([x * 2], lr=0.1)
    with pytest.raises(TypeError, match="param_group must be a dict, but got list"):
        optim.SGD([x], lr=0.1).add_param_group([x])
    with pytest.raises(ValueError, match="param_group has no 'params' entry"):
        optim.SGD([x], lr=0.1).add_param_group({"lr": 0.1})
    with pytest.raises(ValueError, match="Some param names are missing"):
        optim.SGD([("a", x), ember.tensor([1.0], requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="cannot add param group without names"):
        optim.SGD([("a", x)], lr=0.1).add_param_group({"params": [ember.tensor([1.0], requires_grad=True)]})


def test_parameter_in_two_groups():
    p = params()
    opt = optim.SGD([{"params": p}], lr=0.1)
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        opt.add_param_group({"params": [p[1]]})
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([p[0], p[0]], lr=0.1)


def test_gradient_of_the_wrong_shape():
    p = params(1)
    p[0].grad = ember.ones(3)
    before = p[0].tolist()
    with pytest.raises(
        RuntimeError, match=r"Adam: parameter of shape \(2, 3\) has a gradient of shape \(3,\)"
    ):
        optim.Adam(p).step()
    assert p[0].tolist() == before


def stepped(cls=optim.Adam, n=2, groups=None, **kw):
    p = params(n)
    opt = cls(groups(p) if groups else p, **kw)
    for q in p:
        q.grad = ember.ones(2, 3)
    opt.step()
    return p, opt


def assert_unchanged(opt, before):
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for k, entries in before["state"].items():
        for key, v in entries.items():
            np.testing.assert_array_equal(after["state"][k][key].numpy(), v.numpy())


def test_load_state_dict_group_count_mismatch():
    _, opt = stepped()
    _, other = stepped(groups=lambda p: [{"params": p[:1]}, {"params": p[1:]}])
    before = copy.deepcopy(opt.state_dict())
    with pytest.raises(
        ValueError, match="different number of parameter groups: 2 in the state dict, 1 in the optimizer"
    ):
        opt.load_state_dict(other.state_dict())
    assert_unchanged(opt, before)


def test_load_state_dict_group_size_mismatch():
    _, opt = stepped(n=2)
    _, other = stepped(n=3)
    before = copy.deepcopy(opt.state_dict())
    with pytest.raises(ValueError, match="group 0 has 3 parameters in the state dict, 2 in the optimizer"):
        opt.load_state_dict(other.state_dict())
    assert_unchanged(opt, before)


def test_load_state_dict_shape_mismatch_and_unknown_index_named_in_one_message():
    _, opt = stepped()
    sd = copy.deepcopy(opt.state_dict())
    sd["state"][1]["exp_avg"] = ember.zeros(3, 2)
    sd["state"][7] = {"step": ember.tensor(1.0)}
    sd["param_groups"][0]["lr"] = 0.5
    before = copy.deepcopy(opt.state_dict())
    with pytest.raises(
        ValueError,
        match=r"shape mismatch for state\[1\]\['exp_avg'\]: parameter \(2, 3\), state dict \(3, 2\); "
        r"state for parameter 7, which is in no parameter group",
    ):
        opt.load_state_dict(sd)
    assert_unchanged(opt, before)


def test_load_state_dict_invalid_hyper_parameter_or_not_a_state_dict():
    _, opt = stepped()
    sd = copy.deepcopy(opt.state_dict())
    sd["param_groups"][0]["lr"] = -1.0
    with pytest.raises(ValueError, match=r"load_state_dict: group 0: Invalid learning rate: -1\.0"):
        opt.load_state_dict(sd)
    with pytest.raises(
        ValueError, match=r"expected a dict with keys 'state' and 'param_groups', got \['state'\]"
    ):
        opt.load_state_dict({"state": {}})
    with pytest.raises(ValueError, match="expected a dict with keys 'state' and 'param_groups', got list"):
        opt.load_state_dict([])


def test_loaded_state_is_a_copy():
    _, opt = stepped()
    sd = opt.state_dict()
    p, fresh = stepped()
    fresh.load_state_dict(sd)
    sd["state"][0]["exp_avg"]._buf.assign_(123.0)
    assert fresh.state[p[0]]["exp_avg"].tolist()[0][0] != 123.0


def test_loaded_group_hyper_parameters_replace_the_current_ones():
    _, opt = stepped(lr=0.5)
    p, fresh = stepped(lr=0.1)
    fresh.load_state_dict(opt.state_dict())
    assert fresh.param_groups[0]["lr"] == 0.5
    assert all(a is b for a, b in zip(fresh.param_groups[0]["params"], p))
