"""SPEC.md's "Behaviour on bad input", the tensor half: each error in one place, with its message.

Every message names the operation and the offending shapes, dtypes or values, and
nothing changes before it is raised. (Checkpoints and state dicts are tested with
serialization and nn.)
"""

import pytest

import ember


def test_broadcast_mismatch():
    a = ember.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"^add: shapes \(2, 3\) and \(4,\) are not broadcastable$"):
        a + ember.ones(4)
    assert a.grad is None


def test_matmul_inner_dimensions():
    with pytest.raises(RuntimeError, match=r"^matmul: \(3, 4\) @ \(5, 6\): inner dimensions 4 and 5 differ$"):
        ember.ones(3, 4) @ ember.ones(5, 6)


def test_backward_on_non_scalar_without_gradient():
    y = ember.ones(2, requires_grad=True) * 2
    with pytest.raises(
        RuntimeError, match=r"backward: grad can be implicitly created only for scalar outputs"
    ):
        y.backward()


def test_backward_through_a_freed_graph():
    y = (ember.ones(2, requires_grad=True) * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"backward: trying to backward through the graph a second time"):
        y.backward()


def test_in_place_change_of_a_tensor_backward_needs():
    x, w = ember.ones(2), ember.ones(2, requires_grad=True)
    y = (x * w).sum()
    x += 1
    with pytest.raises(RuntimeError, match=r"saved by Mul \(as 'x'\) was modified by an in-place operation"):
        y.backward()
    assert w.grad is None


def test_integer_tensor_asked_for_grad():
    with pytest.raises(RuntimeError, match=r"only tensors of floating point dtype can require gradients, "
                                           r"got ember.int64"):
        ember.tensor([1, 2], requires_grad=True)


@pytest.mark.parametrize("expr, exc, match", [
    (lambda: ember.ones(3)[5], IndexError, "getitem: index 5 is out of bounds for dimension 0 with size 3"),
    (lambda: ember.ones(2, 3)[:, 3], IndexError,
     "getitem: index 3 is out of bounds for dimension 1 with size 3"),
    (lambda: ember.ones(3)[ember.tensor([0, 7])], IndexError, "getitem: index 7 is out of bounds"),
    (lambda: ember.ones(3).index_select(0, ember.tensor([3])), IndexError, "index_select: index 3 is out of"),
    (lambda: ember.ones(3).gather(0, ember.tensor([4])), RuntimeError, "gather: index 4 is out of bounds"),
    (lambda: ember.ones(2, 3).sum(2), IndexError,
     r"sum: dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"),
])
def test_out_of_range_indices(expr, exc, match):
    with pytest.raises(exc, match=match):
        expr()


def test_nan_named_by_detect_anomaly():
    x = ember.tensor([-1.0, 1.0], requires_grad=True)
    with ember.autograd.detect_anomaly(), pytest.raises(RuntimeError, match="detect_anomaly: Log produced"):
        (x.log() * 2).sum()
