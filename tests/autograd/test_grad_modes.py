"""Recording on and off: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``detach``,
``requires_grad_``; each runs on torch and on ember."""

import pytest
import torch

import ember

LIBS = [torch, ember]
ids = ["torch", "ember"]


@pytest.mark.parametrize("L", LIBS, ids=ids)
def test_no_grad_context(L):
    x = L.ones(2, requires_grad=True)
    with L.no_grad():
        y = x * 2
        assert not L.is_grad_enabled()
    assert L.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None


@pytest.mark.parametrize("L", LIBS, ids=ids)
def test_no_grad_decorator(L):
    @L.no_grad()
    def double(t):
        return t * 2

    x = L.ones(2, requires_grad=True)
    assert not double(x).requires_grad
    assert double.__name__ == "double"
    assert (x * 2).requires_grad


@pytest.mark.parametrize("L", LIBS, ids=ids)
def test_enable_grad_inside_no_grad(L):
    x = L.ones(2, requires_grad=True)

    @L.enable_grad()
    def double(t):
        return t * 2

    with L.no_grad():
        with L.enable_grad():
            assert (x * 2).requires_grad
        assert double(x).requires_grad
        assert not (x * 2).requires_grad


@pytest.mark.parametrize("L", LIBS, ids=ids)
def test_set_grad_enabled_three_ways(L):
    x = L.ones(2, requires_grad=True)
    with L.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    L.set_grad_enabled(False)
    try:
        assert not (x * 2).requires_grad
    finally:
        L.set_grad_enabled(True)

    @L.set_grad_enabled(False)
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    assert (x * 2).requires_grad


@pytest.mark.parametrize("L", LIBS, ids=ids)
def test_grad_mode_restored_after_an_exception(L):
    with pytest.raises(ValueError), L.no_grad():
        raise ValueError("boom")
    assert L.is_grad_enabled()


def test_inference_mode_is_no_grad():
    x = ember.ones(2, requires_grad=True)
    with ember.inference_mode():
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad


@pytest.mark.parametrize("L", LIBS, ids=ids)
def test_detach_shares_storage_and_leaves_the_graph(L):
    x = L.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    d[0] = 10.0  # the same memory as y
    assert y[0].item() == 10.0
    z = (x * d).sum()  # d is a constant for autograd
    z.backward()
    assert x.grad.tolist() == [10.0, 4.0]


@pytest.mark.parametrize("L", LIBS, ids=ids)
def test_requires_grad_(L):
    x = L.tensor([1.0, 2.0])
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad_(False)
    assert not x.requires_grad
    y = L.tensor([1.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError):
        y.requires_grad_(False)  # only leaves can change the flag


def test_requires_grad_false_on_non_leaf_message():
    y = ember.tensor([1.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="requires_grad_: you can only change requires_grad flags of leaf"):
        y.requires_grad_(False)


def test_ops_on_tensors_without_grad_record_nothing():
    x = ember.ones(2)
    y = (x * 2).exp() + 1
    assert not y.requires_grad and y.grad_fn is None
