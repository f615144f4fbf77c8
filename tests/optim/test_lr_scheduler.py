"""Learning-rate schedulers against torch: 30 steps, state-dict round trips, chaining, errors."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import ember

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # torch's deprecation notes for step(epoch)

STEPS = 30


def _lambda_list(n):
    return [lambda e: 0.9**e, lambda e: min(1.0, (e + 1) / 5)][:n]


# (id, optimizer name, builder(lib, optimizer) -> scheduler)
SCHEDULES = [
    ("StepLR", "SGD", lambda L, o: L.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5)),
    ("StepLR-default-gamma", "SGD", lambda L, o: L.optim.lr_scheduler.StepLR(o, 4)),
    (
        "MultiStepLR",
        "SGD",
        lambda L, o: L.optim.lr_scheduler.MultiStepLR(o, milestones=[3, 10, 10, 20], gamma=0.3),
    ),
    ("ExponentialLR", "SGD", lambda L, o: L.optim.lr_scheduler.ExponentialLR(o, gamma=0.9)),
    ("CosineAnnealingLR", "SGD", lambda L, o: L.optim.lr_scheduler.CosineAnnealingLR(o, T_max=30)),
    (
        "CosineAnnealingLR-restart",
        "SGD",
        lambda L, o: L.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
    ),
    ("LambdaLR", "SGD", lambda L, o: L.optim.lr_scheduler.LambdaLR(o, lambda e: 1.0 / (e + 1))),
    ("LambdaLR-list", "SGD", lambda L, o: L.optim.lr_scheduler.LambdaLR(o, _lambda_list(2))),
    ("LinearLR", "SGD", lambda L, o: L.optim.lr_scheduler.LinearLR(o)),
    (
        "LinearLR-args",
        "SGD",
        lambda L, o: L.optim.lr_scheduler.LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=8),
    ),
    (
        "OneCycleLR-SGD",
        "SGD",
        lambda L, o: L.optim.lr_scheduler.OneCycleLR(o, max_lr=[0.5, 0.2], total_steps=30),
    ),
    ("OneCycleLR-Adam", "Adam", lambda L, o: L.optim.lr_scheduler.OneCycleLR(o, max_lr=0.01, total_steps=35)),
    (
        "OneCycleLR-three-phase-linear",
        "AdamW",
        lambda L, o: L.optim.lr_scheduler.OneCycleLR(
            o,
            max_lr=0.01,
            epochs=3,
            steps_per_epoch=11,
            pct_start=0.25,
            anneal_strategy="linear",
            three_phase=True,
            div_factor=10.0,
            final_div_factor=100.0,
            base_momentum=0.8,
            max_momentum=0.9,
        ),
    ),
    (
        "OneCycleLR-no-momentum",
        "Adagrad",
        lambda L, o: L.optim.lr_scheduler.OneCycleLR(o, max_lr=0.3, total_steps=40, cycle_momentum=False),
    ),
    (
        "SequentialLR-warmup-cosine",
        "SGD",
        lambda L, o: L.optim.lr_scheduler.SequentialLR(
            o,
            [
                L.optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=5),
                L.optim.lr_scheduler.CosineAnnealingLR(o, T_max=25),
            ],
            milestones=[5],
        ),
    ),
    (
        "SequentialLR-three",
        "SGD",
        lambda L, o: L.optim.lr_scheduler.SequentialLR(
            o,
            [
                L.optim.lr_scheduler.ExponentialLR(o, gamma=0.9),
                L.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
                L.optim.lr_scheduler.LambdaLR(o, lambda e: 1 + e),
            ],
            milestones=[8, 18],
        ),
    ),
    (
        "CosineAnnealingWarmRestarts",
        "SGD",
        lambda L, o: L.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, eta_min=0.01),
    ),
    (
        "CosineAnnealingWarmRestarts-T_mult-1",
        "SGD",
        lambda L, o: L.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=7),
    ),
]
IDS = [s[0] for s in SCHEDULES]


def make_optimizer(lib, name):
    a = lib.zeros(2, requires_grad=True)
    b = lib.zeros(3, requires_grad=True)
    groups = [{"params": [a], "lr": 0.1}, {"params": [b], "lr": 0.02}]
    kwargs = {"momentum": 0.9} if name == "SGD" else {}
    return getattr(lib.optim, name)(groups, **kwargs)


def momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum", 0.0) for g in opt.param_groups]


def trace(opt, sched, steps):
    """Per step: the scheduler's last lrs, the groups' lrs and their momentum (or beta1)."""
    rows = []
    for _ in range(steps):
        opt.step()
        sched.step()
        rows.append(list(sched.get_last_lr()) + [g["lr"] for g in opt.param_groups] + momenta(opt))
    return rows


def full_trace(lib, opt_name, build):
    opt = make_optimizer(lib, opt_name)
    sched = build(lib, opt)
    first = list(sched.get_last_lr()) + [g["lr"] for g in opt.param_groups] + momenta(opt)
    return [first] + trace(opt, sched, STEPS)


@pytest.mark.parametrize("row", SCHEDULES, ids=IDS)
def test_matches_torch(row):
    _, opt_name, build = row
    ours = full_trace(ember, opt_name, build)
    theirs = full_trace(torch, opt_name, build)
    np.testing.assert_allclose(np.array(ours), np.array(theirs), rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("row", SCHEDULES, ids=IDS)
def test_state_dict_round_trip_mid_way(row):
    _, opt_name, build = row
    expected = full_trace(torch, opt_name, build)[16:]
    opt = make_optimizer(ember, opt_name)
    sched = build(ember, opt)
    trace(opt, sched, 15)
    opt_state = copy.deepcopy(opt.state_dict())
    sched_state = copy.deepcopy(sched.state_dict())
    # resume as PyTorch documents: make the scheduler, then load the optimizer, then the scheduler
    opt2 = make_optimizer(ember, opt_name)
    sched2 = build(ember, opt2)
    opt2.load_state_dict(opt_state)
    sched2.load_state_dict(sched_state)
    assert sched2.last_epoch == sched.last_epoch
    resumed = trace(opt2, sched2, STEPS - 15)
    np.testing.assert_allclose(np.array(resumed), np.array(expected), rtol=1e-10, atol=1e-15)


def test_state_dict_keys_match_torch():
    for name, opt_name, build in SCHEDULES:
        ours = build(ember, make_optimizer(ember, opt_name)).state_dict()
        theirs = build(torch, make_optimizer(torch, opt_name)).state_dict()
        public = {k for k in theirs if not k.startswith("_")}
        assert public <= set(ours), (name, public - set(ours))
        assert ours["last_epoch"] == theirs["last_epoch"]


def test_chained_schedulers_compose_like_torch():
    def run(lib):
        opt = make_optimizer(lib, "SGD")
        s1 = lib.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)
        s2 = lib.optim.lr_scheduler.MultiStepLR(opt, milestones=[5, 12], gamma=0.1)
        lrs = []
        for _ in range(20):
            opt.step()
            s1.step()
            s2.step()
            lrs.append([g["lr"] for g in opt.param_groups])
        return lrs

    np.testing.assert_allclose(run(ember), run(torch), rtol=1e-12)


@pytest.mark.parametrize("kind", ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR"])
def test_step_with_epoch_uses_the_closed_form(kind):
    kwargs = {
        "StepLR": {"step_size": 3},
        "MultiStepLR": {"milestones": [2, 5]},
        "ExponentialLR": {"gamma": 0.8},
        "CosineAnnealingLR": {"T_max": 9},
        "LinearLR": {"total_iters": 6},
    }[kind]

    def run(lib):
        opt = make_optimizer(lib, "SGD")
        sched = getattr(lib.optim.lr_scheduler, kind)(opt, **kwargs)
        out = []
        for epoch in (4, 1, 7, 7, 12):
            sched.step(epoch)
            out.append(sched.get_last_lr())
        return out

    np.testing.assert_allclose(run(ember), run(torch), rtol=1e-12)


def test_reduce_lr_on_plateau_matches_torch():
    metrics = [1.0, 0.9, 0.95, 0.95, 0.96, 0.97, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.2]

    def run(lib, **kw):
        opt = make_optimizer(lib, "SGD")
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
        out = []
        for i, m in enumerate(metrics):
            sched.step(lib.tensor(m) if i % 2 else m)
            out.append(sched.get_last_lr())
            if i == 7:
                state = copy.deepcopy(sched.state_dict())
                sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
                sched.load_state_dict(state)
        return out

    for kw in (
        {"patience": 1},
        {"patience": 2, "factor": 0.5, "cooldown": 2, "min_lr": [0.01, 0.001]},
        {"mode": "max", "threshold_mode": "abs", "threshold": 0.01, "patience": 0},
    ):
        np.testing.assert_allclose(run(ember, **kw), run(torch, **kw), rtol=1e-12)


def test_resume_with_last_epoch_needs_initial_lr():
    opt = make_optimizer(ember, "SGD")
    with pytest.raises(
        KeyError, match=r"StepLR: param 'initial_lr' is not specified in param_groups \[0, 1\]"
    ):
        ember.optim.lr_scheduler.StepLR(opt, step_size=2, last_epoch=3)
    topt = make_optimizer(torch, "SGD")
    for _lib, o in ((ember, opt), (torch, topt)):
        for g in o.param_groups:
            g["initial_lr"] = g["lr"]
    ours = ember.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5, last_epoch=3)
    theirs = torch.optim.lr_scheduler.ExponentialLR(topt, gamma=0.5, last_epoch=3)
    for _ in range(3):
        ours.step()
        theirs.step()
    np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-12)


S = ember.optim.lr_scheduler


def opt1():
    return ember.optim.SGD([ember.zeros(1, requires_grad=True)], lr=0.1)


def sequential(make, milestones):
    opt = opt1()
    return S.SequentialLR(opt, [make(opt)], milestones=milestones)


ERRORS = [
    (TypeError, "StepLR: list is not an Optimizer", lambda: S.StepLR([], step_size=1)),
    (TypeError, "LambdaLR: list is not an Optimizer", lambda: S.LambdaLR([], lambda e: 1)),
    (
        ValueError,
        "StepLR: step_size must be a positive integer, got 0",
        lambda: S.StepLR(opt1(), step_size=0),
    ),
    (ValueError, "LambdaLR: expected 1 lr_lambdas, but got 2", lambda: S.LambdaLR(opt1(), _lambda_list(2))),
    (TypeError, "LambdaLR: lr_lambda should be a function, but got float", lambda: S.LambdaLR(opt1(), 0.5)),
    (
        ValueError,
        "LinearLR: Starting multiplicative factor expected to be greater than 0",
        lambda: S.LinearLR(opt1(), start_factor=0),
    ),
    (
        ValueError,
        "LinearLR: Ending multiplicative factor expected to be between 0 and 1",
        lambda: S.LinearLR(opt1(), end_factor=1.5),
    ),
    (
        ValueError,
        "CosineAnnealingLR: T_max must be positive, got 0",
        lambda: S.CosineAnnealingLR(opt1(), T_max=0),
    ),
    (
        ValueError,
        "OneCycleLR: Expected positive integer total_steps, but got 0",
        lambda: S.OneCycleLR(opt1(), max_lr=1.0, total_steps=0),
    ),
    (
        ValueError,
        r"OneCycleLR: You must define either total_steps OR \(epochs AND steps_per_epoch\)",
        lambda: S.OneCycleLR(opt1(), max_lr=1.0, epochs=3),
    ),
    (
        ValueError,
        "OneCycleLR: Expected positive integer epochs, but got -1",
        lambda: S.OneCycleLR(opt1(), max_lr=1.0, epochs=-1, steps_per_epoch=2),
    ),
    (
        ValueError,
        "OneCycleLR: Expected positive integer steps_per_epoch, but got 0",
        lambda: S.OneCycleLR(opt1(), max_lr=1.0, epochs=1, steps_per_epoch=0),
    ),
    (
        ValueError,
        "OneCycleLR: Expected float between 0 and 1 pct_start, but got 1.5",
        lambda: S.OneCycleLR(opt1(), max_lr=1.0, total_steps=10, pct_start=1.5),
    ),
    (
        ValueError,
        "OneCycleLR: anneal_strategy must be one of 'cos' or 'linear', instead got exp",
        lambda: S.OneCycleLR(opt1(), max_lr=1.0, total_steps=10, anneal_strategy="exp"),
    ),
    (
        ValueError,
        "OneCycleLR: max_lr must have the same length as optimizer.param_groups",
        lambda: S.OneCycleLR(opt1(), max_lr=[1.0, 2.0], total_steps=10),
    ),
    (
        ValueError,
        "OneCycleLR: optimizer must support momentum or beta1 with `cycle_momentum` option enabled; Adagrad",
        lambda: S.OneCycleLR(
            ember.optim.Adagrad([ember.zeros(1, requires_grad=True)]), max_lr=1.0, total_steps=9
        ),
    ),
    (ValueError, "SequentialLR: expects at least one scheduler", lambda: S.SequentialLR(opt1(), [], [])),
    (
        ValueError,
        "SequentialLR: expects number of schedulers provided to be one more than the number of milestone",
        lambda: sequential(lambda o: S.StepLR(o, 2), milestones=[3]),
    ),
    (
        ValueError,
        "SequentialLR: expects all schedulers to belong to the same optimizer",
        lambda: S.SequentialLR(opt1(), [S.StepLR(opt1(), 2)], milestones=[]),
    ),
    (
        TypeError,
        "SequentialLR: scheduler at index 0 should have `optimizer` as its attribute",
        lambda: S.SequentialLR(opt1(), [object()], milestones=[]),
    ),
    (
        ValueError,
        "SequentialLR: does not support `ReduceLROnPlateau`",
        lambda: sequential(S.ReduceLROnPlateau, milestones=[]),
    ),
    (
        ValueError,
        r"ReduceLROnPlateau: Factor should be < 1\.0, got 1\.0",
        lambda: S.ReduceLROnPlateau(opt1(), factor=1.0),
    ),
    (ValueError, "ReduceLROnPlateau: mode 'up' is unknown", lambda: S.ReduceLROnPlateau(opt1(), mode="up")),
    (
        ValueError,
        "ReduceLROnPlateau: threshold mode 'x' is unknown",
        lambda: S.ReduceLROnPlateau(opt1(), threshold_mode="x"),
    ),
    (
        ValueError,
        "ReduceLROnPlateau: expected 1 min_lrs, got 2",
        lambda: S.ReduceLROnPlateau(opt1(), min_lr=[0, 0]),
    ),
    (
        ValueError,
        "CosineAnnealingWarmRestarts: Expected positive integer T_0, but got 0",
        lambda: S.CosineAnnealingWarmRestarts(opt1(), T_0=0),
    ),
    (
        ValueError,
        "CosineAnnealingWarmRestarts: Expected integer T_mult >= 1, but got 0",
        lambda: S.CosineAnnealingWarmRestarts(opt1(), T_0=2, T_mult=0),
    ),
    (
        ValueError,
        "CosineAnnealingWarmRestarts: Expected float or int eta_min, but got '0'",
        lambda: S.CosineAnnealingWarmRestarts(opt1(), T_0=2, eta_min="0"),
    ),
    (
        ValueError,
        "CosineAnnealingWarmRestarts: Expected non-negative epoch, but got -1",
        lambda: S.CosineAnnealingWarmRestarts(opt1(), T_0=2).step(-1),
    ),
    (NotImplementedError, "LRScheduler must implement get_lr", lambda: S.LRScheduler(opt1())),
]


@pytest.mark.parametrize("exc,match,fn", ERRORS, ids=[m[:40] for _, m, _ in ERRORS])
def test_errors(exc, match, fn):
    with pytest.raises(exc, match=match):
        fn()


def test_one_cycle_refuses_to_step_past_the_end_without_changing_state():
    sched = S.OneCycleLR(opt1(), max_lr=1.0, total_steps=3)
    for _ in range(3):
        sched.step()
    last = sched.get_last_lr()
    with pytest.raises(
        ValueError, match="OneCycleLR: Tried to step 4 times. The specified number of total steps is 3"
    ):
        sched.step()
    assert sched.last_epoch == 3 and sched.get_last_lr() == last


def test_load_state_dict_for_another_group_count():
    two = make_optimizer(ember, "SGD")
    state = S.StepLR(two, step_size=2).state_dict()
    sched = S.StepLR(opt1(), step_size=2)
    with pytest.raises(
        ValueError, match="StepLR state has 2 entries in 'base_lrs', but the optimizer has 1 parameter"
    ):
        sched.load_state_dict(state)
    assert sched.base_lrs == [0.1]
    with pytest.raises(TypeError, match="load_state_dict: expected a dict, got list"):
        sched.load_state_dict([])
    seq = S.SequentialLR(two, [S.StepLR(two, 2), S.StepLR(two, 3)], milestones=[4])
    bad = seq.state_dict()
    bad["_schedulers"] = bad["_schedulers"][:1]
    with pytest.raises(ValueError, match="SequentialLR state has 1 schedulers, this one has 2"):
        seq.load_state_dict(bad)


def test_reduce_lr_on_plateau_with_a_group_added_later():
    opt = opt1()
    sched = S.ReduceLROnPlateau(opt, patience=0, min_lr=[0.0])
    opt.add_param_group({"params": [ember.zeros(1, requires_grad=True)], "lr": 0.5})
    sched.step(1.0)
    with pytest.raises(
        RuntimeError, match="ReduceLROnPlateau: the optimizer has 2 param groups but min_lrs has 1"
    ):
        sched.step(2.0)


@pytest.mark.parametrize("row", SCHEDULES, ids=IDS)
def test_checkpoint_file_round_trip(row, tmp_path):
    """Optimizer and scheduler state through ember.save/ember.load continue exactly."""
    pytest.importorskip("safetensors")
    _, opt_name, build = row
    expected = full_trace(torch, opt_name, build)[13:]
    opt = make_optimizer(ember, opt_name)
    sched = build(ember, opt)
    trace(opt, sched, 12)
    path = tmp_path / "checkpoint.safetensors"
    ember.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, path)
    checkpoint = ember.load(path)
    opt2 = make_optimizer(ember, opt_name)
    sched2 = build(ember, opt2)
    opt2.load_state_dict(checkpoint["optimizer"])
    sched2.load_state_dict(checkpoint["scheduler"])
    resumed = trace(opt2, sched2, STEPS - 12)
    np.testing.assert_allclose(np.array(resumed), np.array(expected), rtol=1e-10, atol=1e-15)
