"""``ember.autograd.grad``: outputs and inputs as lists, ``grad_outputs``, ``allow_unused``."""

import pytest
import torch

import ember

LIBS = [torch, ember]
ids = ["torch", "ember"]


@pytest.mark.parametrize("L", LIBS, ids=ids)
def test_grad_of_one_output(L):
    x = L.tensor(3.0, requires_grad=True)
    (g,) = L.autograd.grad(x * x, x)
    assert g.item() == 6.0 and x.grad is None  # .grad is left alone


@pytest.mark.parametrize("L", LIBS, ids=ids)
def test_grad_lists_of_outputs_and_inputs(L):
    x = L.tensor([1.0, 2.0], requires_grad=True)
    w = L.tensor(3.0, requires_grad=True)
    gx, gw = L.autograd.grad([(x * w).sum(), (x * x).sum()], [x, w])
    assert gx.tolist() == [5.0, 7.0] and gw.item() == 3.0


@pytest.mark.parametrize("L", LIBS, ids=ids)
def test_grad_outputs(L):
    x = L.tensor([1.0, 2.0], requires_grad=True)
    (g,) = L.autograd.grad(x * 2, x, grad_outputs=L.tensor([1.0, 10.0]))
    assert g.tolist() == [2.0, 20.0]


@pytest.mark.parametrize("L", LIBS, ids=ids)
def test_grad_of_an_intermediate(L):
    x = L.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    (g,) = L.autograd.grad((h * h).sum(), h)
    assert g.tolist() == [6.0, 12.0]


@pytest.mark.parametrize("L", LIBS, ids=ids)
def test_allow_unused(L):
    x = L.tensor([1.0], requires_grad=True)
    unused = L.tensor([1.0], requires_grad=True)
    gx, gu = L.autograd.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gx.tolist() == [2.0] and gu is None


def test_unused_input_without_allow_unused_raises():
    x = ember.tensor([1.0], requires_grad=True)
    unused = ember.tensor([1.0], requires_grad=True)
    with pytest.raises(
        RuntimeError, match="grad: input 1 was not used in the graph of the outputs; pass allow_unused"
    ):
        ember.autograd.grad((x * 2).sum(), [x, unused])


def test_grad_retain_graph():
    x = ember.tensor(2.0, requires_grad=True)
    y = x * x * x
    (a,) = ember.autograd.grad(y, x, retain_graph=True)
    (b,) = ember.autograd.grad(y, x)
    assert a.item() == b.item() == 12.0
    with pytest.raises(RuntimeError, match="second time"):
        ember.autograd.grad(y, x)


def test_grad_errors():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="grad: input 0 does not require grad"):
        ember.autograd.grad((x * 2).sum(), ember.ones(2))
    with pytest.raises(RuntimeError, match=r"grad: grad can be implicitly created only for scalar outputs"):
        ember.autograd.grad(x * 2, x)
    with pytest.raises(RuntimeError, match="grad: got 2 grad_outputs for 1 outputs"):
        ember.autograd.grad(x * 2, x, grad_outputs=[ember.ones(2), ember.ones(2)])
    with pytest.raises(RuntimeError, match="grad: element 0 of tensors does not require grad"):
        ember.autograd.grad(ember.ones(2).sum(), x)
