"""In-place ops on tensors in the autograd graph, against PyTorch: ``h += x`` on a non-leaf,
a plain tensor changed by an operand that requires grad, every recorded in-place op, the
errors for leaves and shared memory, and the version check for values saved before."""

import numpy as np
import pytest
import torch

import ember


def _chain(lib):
    x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
    w = lib.tensor([0.5, 2.0, -1.0], requires_grad=True)
    h = x * 2
    a = h.exp()  # Exp saves its output, not h: h may change afterwards
    h += w
    h *= 3
    h.sub_(x, alpha=2)
    h.add_(w, alpha=0.5)
    h /= w
    h.mul_(2.0)
    h.clamp_(-4, 4)
    h.masked_fill_(h > 3, 0.5)
    b = h * 1
    c = lib.zeros(3)
    c += w * w  # a tensor that did not require grad joins the graph
    c.mul_(x)
    e = lib.zeros(3)
    e.copy_(w * 2)
    f = lib.ones(3) * x
    f.fill_(2.0)
    g = lib.ones(3) * x
    g.zero_()
    k = lib.ones(2, 3) * x
    k.copy_(w)  # broadcast copy
    loss = a.sum() + (b * b).sum() + c.sum() + (e * x).sum() + (f * x).sum() + (g + x).sum() + (k * k).sum()
    loss.backward()
    return [t.detach().numpy() for t in (h, c, e, f, g, k, x.grad, w.grad)], [
        t.requires_grad for t in (h, c, e, f, g)]


def test_recorded_in_place_ops_match_torch():
    (ours, our_flags), (theirs, their_flags) = _chain(ember), _chain(torch)
    assert our_flags == their_flags
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5)


def test_residual_block_with_in_place_add_and_relu():
    """ResNet's ``out += identity; out = relu(out)`` pattern, with ReLU(inplace=True)."""
    tlin = torch.nn.Linear(4, 4)
    elin = ember.nn.Linear(4, 4)
    elin.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tlin.state_dict().items()})
    res = []
    for lib, lin in ((ember, elin), (torch, tlin)):
        x = lib.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4), requires_grad=True)
        out = lin(x)
        out += x
        out = lib.nn.ReLU(inplace=True)(out)
        (out * out).sum().backward()
        res.append([out.detach().numpy(), x.grad.numpy(), lin.weight.grad.numpy(), lin.bias.grad.numpy()])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_a_value_saved_before_the_change_raises_as_in_torch():
    for lib, match in ((ember, "modified by an in-place operation"),
                       (torch, "modified by an inplace operation")):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        h = x * 2
        s = h.sin()  # Sin saves h
        h += 1
        with pytest.raises(RuntimeError, match=match):
            s.sum().backward()


def test_other_names_for_the_memory_see_the_change():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    alias = h.detach()
    h += 1
    assert alias.tolist() == [3.0, 5.0] and h.tolist() == [3.0, 5.0]


def test_refusals():
    leaf = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="add_: a leaf Variable that requires grad is being used"):
        leaf += 1
    h = ember.ones(2, 3, requires_grad=True) * 2
    view = h[0]
    shared = "in place on a tensor in the autograd graph whose memory is shared"
    with pytest.raises(RuntimeError, match=f"mul_: {shared}"):
        view.mul_(2)
    with pytest.raises(RuntimeError, match=f"add_: {shared}"):
        h += 1  # view still looks at h's memory
    assert h.tolist() == [[2.0] * 3] * 2  # nothing changed
    with pytest.raises(RuntimeError, match="addcmul_: an operand requires grad"):
        ember.zeros(3).addcmul_(ember.ones(3, requires_grad=True), ember.ones(3))
    with ember.no_grad():  # outside grad mode nothing is recorded and nothing refuses
        leaf += 1
        view.mul_(2)
    assert leaf.tolist() == [2.0, 2.0] and h[0].tolist() == [4.0] * 3
