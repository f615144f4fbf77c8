"""``register_hook`` (leaf and non-leaf), hook handles, and ``retain_grad``, on torch and ember."""

import pytest
import torch

import ember

LIBS = [torch, ember]
ids = ["torch", "ember"]


@pytest.mark.parametrize("L", LIBS, ids=ids)
def test_leaf_hook_sees_and_replaces_the_total_gradient(L):
    x = L.tensor([1.0, 2.0], requires_grad=True)
    seen = []

    def hook(g):
        seen.append(g.tolist())
        return g * 10

    x.register_hook(hook)
    (x * 2 + x * 3).sum().backward()  # two paths: the hook runs once, on their sum
    assert seen == [[5.0, 5.0]]
    assert x.grad.tolist() == [50.0, 50.0]


@pytest.mark.parametrize("L", LIBS, ids=ids)
def test_non_leaf_hook_changes_what_flows_upstream(L):
    x = L.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    y.register_hook(lambda g: g * 0.5)
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("L", LIBS, ids=ids)
def test_hook_returning_none_keeps_the_gradient(L):
    x = L.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.clone()))
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0] and seen[0].tolist() == [3.0, 3.0]


@pytest.mark.parametrize("L", LIBS, ids=ids)
def test_hooks_run_in_order(L):
    x = L.tensor([1.0], requires_grad=True)
    x.register_hook(lambda g: g + 1)
    x.register_hook(lambda g: g * 10)
    (x * 2).sum().backward()
    assert x.grad.tolist() == [30.0]


@pytest.mark.parametrize("L", LIBS, ids=ids)
def test_handle_remove(L):
    x = L.tensor([1.0, 2.0], requires_grad=True)
    handle = x.register_hook(lambda g: g * 2)
    (x * 3).sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]
    handle.remove()
    x.grad = None
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    handle.remove()  # removing twice is harmless


@pytest.mark.parametrize("L", LIBS, ids=ids)
def test_non_leaf_handle_remove(L):
    x = L.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    handle = y.register_hook(lambda g: g * 100)
    handle.remove()
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_hook_on_tensor_without_grad_raises():
    with pytest.raises(
        RuntimeError, match="register_hook: cannot register a hook on a tensor that doesn't require"
    ):
        ember.ones(2).register_hook(lambda g: g)


@pytest.mark.parametrize("L", LIBS, ids=ids)
def test_retain_grad(L):
    x = L.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    assert not y.retains_grad
    y.retain_grad()
    assert y.retains_grad
    z = (y * y).sum()
    z.backward()
    assert y.grad.tolist() == [4.0, 8.0] and x.grad.tolist() == [8.0, 16.0]


@pytest.mark.parametrize("L", LIBS, ids=ids)
def test_retain_grad_accumulates_and_is_idempotent(L):
    x = L.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    y.retain_grad()
    (y * 3).sum().backward(retain_graph=True)
    (y * 3).sum().backward()
    assert y.grad.tolist() == [6.0, 6.0]


@pytest.mark.parametrize("L", LIBS, ids=ids)
def test_retain_grad_on_a_leaf_is_a_no_op(L):
    x = L.tensor([1.0], requires_grad=True)
    x.retain_grad()
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0]


def test_retain_grad_without_grad_raises():
    with pytest.raises(
        RuntimeError, match="retain_grad: can't retain_grad on a Tensor that has requires_grad=False"
    ):
        ember.ones(2).retain_grad()
