"""Optimizers against torch: 20 steps with identical seeded gradients, param groups, closures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember

SHAPES = [(3, 4), (5,), (), (2, 3, 2)]
STEPS = 20

# (optimizer, keyword arguments) rows; every flag of every optimizer appears in some row
CASES = [
    ("SGD", {}),
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.1, "maximize": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.01, "maximize": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1, "maximize": True}),
    ("Adam", {}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "maximize": True, "weight_decay": 0.05}),
    ("Adam", {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "amsgrad": True}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.01, "amsgrad": True, "maximize": True}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "eps": 1e-6, "maximize": True}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01}),
    ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.1, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1, "eps": 1e-6, "maximize": True}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.95, "weight_decay": 0.1}),
    ("Adadelta", {"eps": 1e-4, "maximize": True}),
    ("NAdam", {}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "momentum_decay": 0.01}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}),
    ("NAdam", {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6}),
    ("RAdam", {}),
    ("RAdam", {"lr": 0.01, "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.01, "betas": (0.9, 0.8), "eps": 1e-6}),  # beta2 0.8: rectified steps from step 6 on
    ("RAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}),
]


def _id(case: tuple[str, dict]) -> str:
    name, kw = case
    return name + "".join(f"-{k}={v}" for k, v in kw.items())


def initial_values(shapes: list[tuple[int, ...]] = SHAPES) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


def gradients(step: int, shapes: list[tuple[int, ...]] = SHAPES) -> list[np.ndarray | None]:
    """Seeded gradients for one step; parameter 1 has no gradient on every fourth step."""
    rng = np.random.default_rng(1000 + step)
    grads: list[np.ndarray | None] = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    if step % 4 == 3 and len(grads) > 1:
        grads[1] = None
    return grads


def make(lib, values):
    return [lib.tensor(v.copy(), requires_grad=True) for v in values]


def set_grads(lib, params, grads):
    for p, g in zip(params, grads):
        p.grad = None if g is None else lib.tensor(g.copy())


def run(lib, name, kwargs, steps=STEPS, first=0, params=None, opt=None, groups=None):
    """Make (or continue) an optimizer and take ``steps`` steps with the seeded gradients."""
    if params is None:
        params = make(lib, initial_values())
    if opt is None:
        opt = getattr(lib.optim, name)(groups(params) if groups else params, **kwargs)
    for t in range(first, first + steps):
        set_grads(lib, params, gradients(t))
        opt.step()
    return params, opt


def values(params):
    return [p.detach().numpy().copy() for p in params]


def assert_params_close(ours, theirs, rtol=1e-5, atol=1e-6):
    for i, (a, b) in enumerate(zip(values(ours), values(theirs))):
        assert a.dtype == b.dtype, f"param {i}: dtype {a.dtype} != torch's {b.dtype}"
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"param {i}")


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_matches_torch(case):
    name, kwargs = case
    ours, _ = run(ember, name, kwargs)
    theirs, _ = run(torch, name, kwargs)
    assert_params_close(ours, theirs)


@pytest.mark.parametrize("case", [c for c in CASES if c[1]], ids=_id)
def test_param_groups_with_different_lrs(case):
    name, kwargs = case

    def groups(params):
        return [{"params": params[:2], "lr": 0.003}, {"params": params[2:]}]

    ours, opt = run(ember, name, kwargs, groups=groups)
    theirs, topt = run(torch, name, kwargs, groups=groups)
    assert_params_close(ours, theirs)
    assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in topt.param_groups]


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_state_dict_round_trip_continues_exactly(case):
    name, kwargs = case
    full, _ = run(ember, name, kwargs, steps=10)
    params, opt = run(ember, name, kwargs, steps=5)
    saved = opt.state_dict()
    resumed = make(ember, values(params))
    fresh = getattr(ember.optim, name)(resumed, **kwargs)
    fresh.load_state_dict(saved)
    run(ember, name, kwargs, steps=5, first=5, params=resumed, opt=fresh)
    for a, b in zip(values(resumed), values(full)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("case", CASES[::3], ids=_id)
def test_state_dict_structure_matches_torch(case):
    name, kwargs = case
    _, opt = run(ember, name, kwargs, steps=3)
    _, topt = run(torch, name, kwargs, steps=3)
    ours, theirs = opt.state_dict(), topt.state_dict()
    assert sorted(ours["state"]) == sorted(theirs["state"])
    for k in theirs["state"]:
        assert sorted(ours["state"][k]) == sorted(theirs["state"][k])
        for key, value in theirs["state"][k].items():
            np.testing.assert_allclose(ours["state"][k][key].numpy(), value.numpy(), rtol=1e-5, atol=1e-6)
    for g, tg in zip(ours["param_groups"], theirs["param_groups"]):
        assert g["params"] == tg["params"]
        for key in set(tg) & set(g):
            assert g[key] == tg[key], key


@pytest.mark.parametrize("case", CASES[1::4], ids=_id)
def test_loads_torch_state_dict(case):
    """A torch optimizer's state dict (torch tensors) loads into ember and continues identically."""
    name, kwargs = case
    tparams, topt = run(torch, name, kwargs, steps=5)
    params = make(ember, values(tparams))
    opt = getattr(ember.optim, name)(params, **kwargs)
    opt.load_state_dict(topt.state_dict())
    run(ember, name, kwargs, steps=5, first=5, params=params, opt=opt)
    run(torch, name, kwargs, steps=5, first=5, params=tparams, opt=topt)
    assert_params_close(params, tparams)


def test_closure_returns_loss_and_matches_torch():
    targets = initial_values()

    def train(lib):
        params = make(lib, [np.zeros_like(t) for t in targets])
        opt = lib.optim.SGD(params, lr=0.1, momentum=0.9)
        goal = [lib.tensor(t) for t in targets]
        losses = []
        for _ in range(10):

            def closure():
                opt.zero_grad()
                loss = sum(((p - g) ** 2).sum() for p, g in zip(params, goal))
                loss.backward()
                return loss

            losses.append(opt.step(closure).item())
        return params, losses

    ours, our_losses = train(ember)
    theirs, their_losses = train(torch)
    assert_params_close(ours, theirs)
    np.testing.assert_allclose(our_losses, their_losses, rtol=1e-5)
    assert our_losses[-1] < our_losses[0]


def test_step_inside_no_grad_context_and_grad_mode_restored():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    opt = ember.optim.Adam([w], lr=0.1)

    def closure():
        assert ember.is_grad_enabled()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with ember.no_grad():
        opt.step(closure)
    assert ember.is_grad_enabled()


def test_works_with_nn_parameter():
    Parameter = pytest.importorskip("ember.nn").Parameter
    p = Parameter(ember.tensor([1.0, -1.0]))
    tp = torch.nn.Parameter(torch.tensor([1.0, -1.0]))
    for lib, q in ((ember, p), (torch, tp)):
        opt = lib.optim.AdamW([q], lr=0.1)
        for _ in range(3):
            opt.zero_grad()
            (q * q * q).sum().backward()
            opt.step()
    np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-6)


def test_parameters_without_grad_are_skipped():
    a = ember.tensor([1.0, 2.0], requires_grad=True)
    b = ember.tensor([3.0], requires_grad=True)
    opt = ember.optim.Adam([a, b], lr=0.1)
    a.grad = ember.tensor([1.0, 1.0])
    opt.step()
    assert b.tolist() == [3.0]
    assert b not in opt.state
    assert len(opt.state) == 1


def test_zero_grad():
    a = ember.tensor([1.0, 2.0], requires_grad=True)
    opt = ember.optim.SGD([a], lr=0.1)
    (a * a).sum().backward()
    grad = a.grad
    opt.zero_grad(set_to_none=False)
    assert a.grad is grad and a.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert a.grad is None


@pytest.mark.parametrize("case", CASES[::2], ids=_id)
def test_updates_in_place(case):
    """The step writes into the parameter's own memory; views taken before see the update."""
    name, kwargs = case
    params, opt = run(ember, name, kwargs, steps=2)
    arrays = [p._buf.data for p in params]
    views = [p.data for p in params]
    state = {id(p): {k: v._buf.data for k, v in opt.state[p].items()} for p in params}
    run(ember, name, kwargs, steps=2, first=2, params=params, opt=opt)
    for p, arr, view in zip(params, arrays, views):
        assert p._buf.data is arr
        np.testing.assert_array_equal(view.numpy(), p.detach().numpy())
        for k, v in opt.state[p].items():
            if k in state[id(p)]:
                assert v._buf.data is state[id(p)][k], k


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])  # Adam's: the update over all parameters at once
def test_step_invalidates_graphs_that_saved_the_old_values(name):
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    opt = getattr(ember.optim, name)([w], lr=0.1)
    loss = (w * w).sum()
    w.grad = ember.tensor([1.0, 1.0])
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad", "Adadelta", "NAdam", "RAdam"])
def test_noncontiguous_parameters_and_gradients(name):
    """A parameter that is a transposed view, with a transposed-view gradient, updates like torch's."""
    base = initial_values([(4, 3)])[0]
    results = []
    for lib in (ember, torch):
        p = lib.from_numpy(np.ascontiguousarray(base.T)).transpose(0, 1).detach().requires_grad_()
        opt = getattr(lib.optim, name)([p], lr=0.1, weight_decay=0.1)
        for t in range(4):
            g = gradients(t, [(4, 3)])[0]
            p.grad = lib.from_numpy(np.ascontiguousarray(g.T)).transpose(0, 1)
            opt.step()
        results.append(p.detach().numpy().copy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-5, atol=1e-6)


def test_float64_parameters_stay_float64():
    for name in ("SGD", "Adam", "RMSprop", "Adagrad", "Adadelta", "NAdam", "RAdam"):
        p = ember.tensor([1.0, 2.0], dtype=ember.float64, requires_grad=True)
        tp = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
        for lib, q in ((ember, p), (torch, tp)):
            opt = getattr(lib.optim, name)([q], lr=0.1)
            for _ in range(3):
                q.grad = lib.tensor([0.3, -0.7], dtype=lib.float64)
                opt.step()
        assert p.dtype == ember.float64
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-12)


def test_add_param_group_later():
    a, b = make(ember, initial_values()[:2])
    ta, tb = make(torch, initial_values()[:2])
    for lib, (x, y) in ((ember, (a, b)), (torch, (ta, tb))):
        opt = lib.optim.Adagrad([x], lr=0.1)
        opt.add_param_group({"params": y, "lr": 0.01})
        for t in range(3):
            g = gradients(t)
            x.grad, y.grad = lib.tensor(g[0]), lib.tensor(g[1])
            opt.step()
        assert opt.param_groups[1]["lr_decay"] == 0
    assert_params_close([a, b], [ta, tb])


def test_named_parameters():
    a, b = make(ember, initial_values()[:2])
    opt = ember.optim.SGD([("a", a), ("b", b)], lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["a", "b"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["a", "b"]


def test_repr_lists_groups():
    opt = ember.optim.SGD(make(ember, initial_values()[:1]), lr=0.5)
    text = repr(opt)
    assert text.startswith("SGD (") and "Parameter Group 0" in text and "lr: 0.5" in text


def test_user_defined_optimizer():
    class SignSGD(ember.optim.Optimizer):
        def __init__(self, params, lr=ember.optim.optimizer.required):
            super().__init__(params, {"lr": lr})

        def _update(self, group):
            for p in group["params"]:
                if p.grad is not None:
                    p.sub_(p.grad.sign() * group["lr"])

    w = ember.tensor([1.0, -1.0], requires_grad=True)
    opt = SignSGD([w], lr=0.5)
    w.grad = ember.tensor([3.0, -0.1])
    opt.step()
    assert w.tolist() == [0.5, -0.5]
    with pytest.raises(ValueError, match="didn't specify a value of required optimization parameter lr"):
        SignSGD([w])


@pytest.mark.parametrize("case", CASES[::3], ids=_id)
def test_checkpoint_file_round_trip(case, tmp_path):
    """The optimizer state through ember.save/ember.load continues exactly."""
    pytest.importorskip("safetensors")
    name, kwargs = case
    full, _ = run(ember, name, kwargs, steps=8)
    params, opt = run(ember, name, kwargs, steps=4)
    ember.save({"params": params, "optimizer": opt.state_dict()}, tmp_path / "ckpt.safetensors")
    checkpoint = ember.load(tmp_path / "ckpt.safetensors")
    resumed = make(ember, values(checkpoint["params"]))
    fresh = getattr(ember.optim, name)(resumed, **kwargs)
    fresh.load_state_dict(checkpoint["optimizer"])
    run(ember, name, kwargs, steps=4, first=4, params=resumed, opt=fresh)
    for a, b in zip(values(resumed), values(full)):
        np.testing.assert_array_equal(a, b)
