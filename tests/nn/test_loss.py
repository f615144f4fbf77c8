"""Losses against torch (module and functional forms, every reduction), plus their error messages."""

import numpy as np
import pytest
import torch
from optest import Case, check_case, gradcheck_case

import ember
from ember import nn
from ember.ops import elementwise as E

F = nn.functional


def _pair(shape, low=-2.0, high=2.0, t_low=-2.0, t_high=2.0):
    def make(rng):
        return [rng.uniform(low, high, shape).astype(np.float32),
                rng.uniform(t_low, t_high, shape).astype(np.float32)]

    return make


def _kl(shape, log_target):
    def make(rng):
        x = np.log(rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])).astype(np.float32)
        t = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1]).astype(np.float32)
        return [x, np.log(t + 0.1).astype(np.float32) if log_target else t]

    return make


def _w(L, x):
    """Constant per-element weights of x's shape (a function of x would upset finite differences)."""
    return L.linspace(0.5, 2.0, x.numel(), dtype=x.dtype).reshape(x.shape)


# composite losses: compositions of Tensor ops, so their rows exercise those Functions
TABLE = [
    Case("mse", lambda L, x, t: L.nn.functional.mse_loss(x, t), make=_pair((3, 4)), ops=(E.Sub,)),
    Case("mse_sum_bcast", lambda L, x, t: L.nn.functional.mse_loss(x, t[:1], reduction="sum"),
         make=_pair((3, 4)), ops=(E.Sub,)),
    Case("mse_weight", lambda L, x, t: L.nn.functional.mse_loss(x, t, weight=_w(L, x)),
         make=_pair((3, 4)), ops=(E.Mul,)),
    Case("l1", lambda L, x, t: L.nn.functional.l1_loss(x, t, reduction="none"), make=_pair((3, 4)),
         ops=(E.Abs,)),
    Case("l1_weight", lambda L, x, t: L.nn.functional.l1_loss(x, t, weight=_w(L, x)), make=_pair((3, 4)),
         ops=(E.Abs,)),
    Case("smooth_l1", lambda L, x, t: L.nn.functional.smooth_l1_loss(x, t, beta=0.7), make=_pair((4, 5)),
         ops=(E.Where,)),
    Case("smooth_l1_beta0", lambda L, x, t: L.nn.functional.smooth_l1_loss(x, t, beta=0.0, reduction="sum"),
         make=_pair((4, 5)), ops=(E.Abs,)),
    Case("huber", lambda L, x, t: L.nn.functional.huber_loss(x, t, delta=0.5), make=_pair((4, 5)),
         ops=(E.Where,)),
    Case("huber_weight_none", lambda L, x, t: L.nn.functional.huber_loss(
        x, t, reduction="none", weight=_w(L, x)), make=_pair((4, 5)), ops=(E.Where,)),
    Case("kl_div_batchmean", lambda L, x, t: L.nn.functional.kl_div(x, t, reduction="batchmean"),
         make=_kl((3, 4), False), ops=(E.Log,)),
    Case("kl_div_mean_log_target", lambda L, x, t: L.nn.functional.kl_div(x, t, log_target=True),
         make=_kl((3, 4), True), ops=(E.Exp,)),
    Case("kl_div_none", lambda L, x, t: L.nn.functional.kl_div(x, t, reduction="none"),
         make=_kl((2, 3), False), ops=(E.Log,)),
]


def test_kl_div_zero_target():
    """0 log 0 = 0: zero targets add nothing to the loss or to the input's gradient."""
    x = np.log(np.array([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]], np.float32))
    t = np.array([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]], np.float32)
    tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    tl = torch.nn.functional.kl_div(tx, torch.tensor(t), reduction="batchmean")
    el = F.kl_div(ex, ember.tensor(t), reduction="batchmean")
    np.testing.assert_allclose(el.item(), tl.item(), rtol=1e-6)
    tl.backward(), el.backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("case", TABLE, ids=str)
def test_against_torch(case):
    check_case(case)


@pytest.mark.parametrize("case", [c for c in TABLE if c.gradcheck], ids=str)
def test_gradcheck(case):
    gradcheck_case(case)


def _compare_module(make, x, t, rtol=1e-5):
    tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    tl, el = make(torch)(tx, torch.tensor(t)), make(ember)(ex, ember.tensor(t))
    np.testing.assert_allclose(el.detach().numpy(), tl.detach().numpy(), rtol=rtol, atol=1e-6)
    g = np.random.default_rng(0).standard_normal(tuple(tl.shape)).astype(np.float32)
    tl.backward(torch.tensor(g))
    el.backward(ember.tensor(g))
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=1e-6)


RNG = np.random.default_rng(0)
X = RNG.standard_normal((6, 4)).astype(np.float32)
Y = RNG.integers(0, 4, 6)
P = RNG.uniform(0.05, 0.95, (6, 4)).astype(np.float32)
T = RNG.uniform(0, 1, (6, 4)).astype(np.float32)
W4 = [0.2, 1.0, 3.0, 0.5]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_loss_modules(reduction):
    r = reduction
    _compare_module(lambda L: L.nn.CrossEntropyLoss(reduction=r), X, Y)
    _compare_module(lambda L: L.nn.CrossEntropyLoss(L.tensor(W4), ignore_index=1, reduction=r,
                                                    label_smoothing=0.1), X, Y)
    _compare_module(lambda L: L.nn.NLLLoss(L.tensor(W4), reduction=r), X, Y)
    _compare_module(lambda L: L.nn.MSELoss(reduction=r), X, T)
    _compare_module(lambda L: L.nn.L1Loss(reduction=r), X, T)
    _compare_module(lambda L: L.nn.SmoothL1Loss(reduction=r, beta=0.5), X, T)
    _compare_module(lambda L: L.nn.HuberLoss(reduction=r, delta=0.3), X, T)
    _compare_module(lambda L: L.nn.BCELoss(reduction=r), P, T)
    _compare_module(lambda L: L.nn.BCELoss(L.tensor(W4), reduction=r), P, T)
    _compare_module(lambda L: L.nn.BCEWithLogitsLoss(reduction=r, pos_weight=L.tensor(W4)), X, T)
    _compare_module(lambda L: L.nn.KLDivLoss(reduction=r), np.log(P), T)


def test_loss_module_state_and_legacy_flags():
    t, e = torch.nn.CrossEntropyLoss(weight=torch.ones(3)), nn.CrossEntropyLoss(weight=ember.ones(3))
    assert list(e.state_dict()) == list(t.state_dict()) == ["weight"]
    assert nn.MSELoss(size_average=False).reduction == "sum"
    assert nn.MSELoss(reduce=False).reduction == "none"
    assert nn.KLDivLoss(reduction="batchmean").reduction == "batchmean"
    _compare_module(lambda L: L.nn.KLDivLoss(reduction="batchmean", log_target=True), np.log(P),
                    np.log(T + 0.1))


def test_cross_entropy_extremes():
    x = ember.tensor([[1000.0, 0.0, -1000.0]], requires_grad=True)
    loss = F.cross_entropy(x, ember.tensor([2]))
    assert loss.item() == pytest.approx(2000.0)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), [[1.0, 0.0, -1.0]], atol=1e-6)
    # every target ignored: 0 / 0 as in torch
    assert np.isnan(F.cross_entropy(ember.ones(2, 3), ember.tensor([-100, -100])).item())
    assert F.cross_entropy(ember.ones(2, 3), ember.tensor([-100, -100]), reduction="sum").item() == 0.0
    # ignore_index inside the class range
    tx, ex = torch.tensor(X, requires_grad=True), ember.tensor(X, requires_grad=True)
    tl = torch.nn.functional.cross_entropy(tx, torch.tensor(Y), ignore_index=2)
    el = F.cross_entropy(ex, ember.tensor(Y), ignore_index=2)
    np.testing.assert_allclose(el.item(), tl.item(), rtol=1e-6)
    tl.backward(), el.backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-7)
    # integer targets of other widths are accepted
    ref = F.cross_entropy(ember.tensor(X), ember.tensor(Y)).item()
    assert F.cross_entropy(ember.tensor(X), ember.tensor(Y).int()).item() == ref


def test_loss_errors():
    x = ember.ones(3, 4)
    with pytest.raises(IndexError, match="cross_entropy: target 4 is out of bounds for 4 classes"):
        F.cross_entropy(x, ember.tensor([0, 4, 1]))
    with pytest.raises(IndexError, match="cross_entropy: target -2 is out of bounds for 4 classes"):
        F.cross_entropy(x, ember.tensor([0, -2, 1]))
    with pytest.raises(ValueError, match=r"cross_entropy: expected input batch_size \(3\) to match target "
                                         r"batch_size \(2\)"):
        F.cross_entropy(x, ember.tensor([0, 1]))
    with pytest.raises(RuntimeError, match=r"cross_entropy: input of shape \(3, 4\) expects a target of "
                                           r"shape \(3,\), got \(3, 2\)"):
        F.cross_entropy(x, ember.zeros(3, 2, dtype=ember.int64))
    with pytest.raises(RuntimeError, match="cross_entropy: expected class indices of an integer dtype"):
        F.cross_entropy(x, ember.zeros(3))
    with pytest.raises(RuntimeError, match=r"cross_entropy: weight of shape \(3,\) does not match 4 classes"):
        F.cross_entropy(x, ember.tensor([0, 1, 2]), weight=ember.ones(3))
    with pytest.raises(ValueError, match="cross_entropy: reduction='avg' is not a valid value"):
        F.cross_entropy(x, ember.tensor([0, 1, 2]), reduction="avg")
    with pytest.raises(ValueError,
                       match="cross_entropy: label_smoothing must be between 0.0 and 1.0, got 1.5"):
        F.cross_entropy(x, ember.tensor([0, 1, 2]), label_smoothing=1.5)
    with pytest.raises(RuntimeError, match="cross_entropy: input must be floating point logits"):
        F.cross_entropy(ember.ones(3, 4, dtype=ember.int64), ember.tensor([0, 1, 2]))
    with pytest.raises(IndexError, match="nll_loss: target 9 is out of bounds for 4 classes"):
        F.nll_loss(x, ember.tensor([0, 9, 1]))
    with pytest.raises(RuntimeError, match=r"mse_loss: input of shape \(3, 4\) and target of shape \(2,\) "
                                           "are not broadcastable"):
        F.mse_loss(x, ember.ones(2))
    with pytest.raises(ValueError,
                       match=r"binary_cross_entropy: target of shape \(3,\) must have the same shape"):
        F.binary_cross_entropy(x * 0.5, ember.ones(3))
    with pytest.raises(ValueError, match="binary_cross_entropy_with_logits: target of shape"):
        F.binary_cross_entropy_with_logits(x, ember.ones(4))
    with pytest.raises(ValueError,
                       match=r"mse_loss: weight of shape \(4,\) must have the input's shape \(3, 4\)"):
        F.mse_loss(x, x, weight=ember.ones(4))
    with pytest.raises(ValueError, match="smooth_l1_loss: beta must be non-negative"):
        F.smooth_l1_loss(x, x, beta=-1.0)
    with pytest.raises(TypeError, match="cross_entropy: target must be a Tensor, got list"):
        F.cross_entropy(x, [0, 1, 2])


@pytest.mark.parametrize("ignore_index, targets", [
    (-100, [0, 3, 1, 2]),  # ignore_index outside the targets' range: the unmasked fast path
    (-1, [2, 2, 0, 1]),
    (1, [0, 3, 0, 2]),  # inside the class range but absent from the targets: the masked path, nothing masked
    (1, [0, 1, 3, 1]),  # present: masked
    (-100, [-100, 3, -100, 0]),  # present outside the class range: masked, range checked without them
])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_ignore_index_paths_match_torch(ignore_index, targets, reduction):
    x = np.random.default_rng(0).standard_normal((4, 4)).astype(np.float32)
    g = np.random.default_rng(1).standard_normal(4).astype(np.float32)
    tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    kw = {"ignore_index": ignore_index, "reduction": reduction}
    tl = torch.nn.functional.cross_entropy(tx, torch.tensor(targets), **kw)
    el = F.cross_entropy(ex, ember.tensor(targets), **kw)
    np.testing.assert_allclose(el.detach().numpy(), tl.detach().numpy(), rtol=1e-6, atol=1e-7)
    if reduction == "none":
        tl.backward(torch.tensor(g)), el.backward(ember.tensor(g))
    else:
        tl.backward(), el.backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-7)
    with pytest.raises(IndexError, match="cross_entropy: target 7 is out of bounds for 4 classes"):
        F.cross_entropy(ex, ember.tensor([*targets[:3], 7]), ignore_index=ignore_index)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
def test_broadcast_target_warns_as_torch(name):
    """A (N,) prediction against an (N, 1) target broadcasts to (N, N): PyTorch warns, so does ember."""
    with pytest.warns(UserWarning, match=r"target size \(ember.Size\(\[3, 1\]\)\) that is different to the "
                                         r"input size \(ember.Size\(\[3\]\)\)") as caught:
        getattr(F, name)(ember.zeros(3), ember.zeros(3, 1))
    assert caught[0].filename == __file__  # points at the caller, not at ember
    with pytest.warns(UserWarning, match="target size"):
        getattr(torch.nn.functional, name)(torch.zeros(3), torch.zeros(3, 1))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        getattr(F, name)(ember.zeros(3), ember.zeros(3))


def test_kl_div_mean_warns_as_torch():
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        F.kl_div(ember.zeros(2, 3), ember.full((2, 3), 1 / 3))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.kl_div(ember.zeros(2, 3), ember.full((2, 3), 1 / 3), reduction="batchmean")
