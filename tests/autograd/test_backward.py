"""``backward``: gradients, accumulation, reuse of values, broadcasting, deep graphs, freed graphs.

Tests that compare with PyTorch run the same code on both libraries.
"""

import time

import numpy as np
import pytest
import torch

import ember

LIBS = [torch, ember]


@pytest.mark.parametrize("L", LIBS, ids=["torch", "ember"])
def test_backward_of_a_scalar(L):
    x = L.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0, 6.0]


@pytest.mark.parametrize("L", LIBS, ids=["torch", "ember"])
def test_backward_with_gradient(L):
    x = L.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.backward(gradient=L.tensor([1.0, 10.0]))
    assert x.grad.tolist() == [3.0, 30.0]


@pytest.mark.parametrize("L", LIBS, ids=["torch", "ember"])
def test_gradients_accumulate_over_two_backwards(L):
    x = L.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    (x * x).sum().backward()
    assert x.grad.tolist() == [4.0, 6.0]
    x.grad = None
    (x * 5).sum().backward()
    assert x.grad.tolist() == [5.0, 5.0]


@pytest.mark.parametrize("L", LIBS, ids=["torch", "ember"])
def test_value_used_twice(L):
    x = L.tensor([1.0, -2.0], requires_grad=True)
    y = x * x + x  # x reaches the loss along three paths
    z = y * y  # and y along two
    z.sum().backward()
    # dz/dx = 2 y (2 x + 1)
    assert x.grad.tolist() == [2 * 2 * 3.0, 2 * 2 * -3.0]


@pytest.mark.parametrize("L", LIBS, ids=["torch", "ember"])
def test_diamond_graph(L):
    x = L.tensor(3.0, requires_grad=True)
    a, b = x * 2, x * 5
    (a * b).backward()  # d(10 x^2)/dx = 20 x
    assert x.grad.item() == 60.0


@pytest.mark.parametrize("L", LIBS, ids=["torch", "ember"])
def test_broadcast_gradients_are_summed_back(L):
    x = L.ones(2, 3, requires_grad=True)
    b = L.tensor([1.0, 2.0, 3.0], requires_grad=True)
    c = L.tensor(2.0, requires_grad=True)
    col = L.ones(2, 1, requires_grad=True)
    ((x + b) * c * col).sum().backward()
    assert b.grad.tolist() == [4.0, 4.0, 4.0]
    assert c.grad.item() == 18.0
    assert col.grad.tolist() == [[18.0], [18.0]]


@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf")
@pytest.mark.parametrize("L", LIBS, ids=["torch", "ember"])
def test_only_leaves_keep_grad_and_grad_dtype_matches(L):
    x = L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True)
    y = x * 2
    y.sum().backward()
    assert x.grad.dtype == L.float64 and y.grad is None


@pytest.mark.parametrize("L", LIBS, ids=["torch", "ember"])
def test_inputs_that_do_not_require_grad_get_none(L):
    x = L.tensor([1.0, 2.0], requires_grad=True)
    c = L.tensor([3.0, 4.0])
    (x * c).sum().backward()
    assert c.grad is None and x.grad.tolist() == [3.0, 4.0]


def test_deep_chain_of_100000_ops_backpropagates_iteratively():
    x = ember.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    start = time.perf_counter()
    y.backward()
    assert x.grad.item() == 1.0
    assert time.perf_counter() - start < 30  # iterative, and linear in the graph size


def test_multiple_roots_with_autograd_backward():
    for L in LIBS:
        x = L.tensor([1.0, 2.0], requires_grad=True)
        a, b = x * 2, (x * x).sum()
        L.autograd.backward([a, b], [L.tensor([1.0, 1.0]), L.tensor(1.0)])
        assert x.grad.tolist() == [4.0, 6.0]


# ---- graph freed after backward ---------------------------------------------------------------


def test_second_backward_raises_clearly():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward: trying to backward through the graph a second time"):
        y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_shared_subgraph_freed_by_an_earlier_backward():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    h = x.exp()
    h.sum().backward()
    with pytest.raises(RuntimeError, match=r"second time \(through Exp\)"):
        (h * 2).sum().backward()


@pytest.mark.parametrize("L", LIBS, ids=["torch", "ember"])
def test_retain_graph_allows_a_second_backward(L):
    x = L.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.clone()
    y.backward()
    assert (x.grad - 2 * first).abs().max().item() < 1e-6


def test_backward_frees_saved_buffers():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    fn = y.grad_fn
    assert fn.inputs is not None and fn.x is not None
    y.sum().backward()
    assert fn.inputs is None and not hasattr(fn, "x")


# ---- errors ------------------------------------------------------------------------------------


def test_backward_on_non_scalar_without_gradient():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(
        RuntimeError, match=r"backward: grad can be implicitly created only for scalar outputs.*\(2,\)"
    ):
        (x * 2).backward()
    assert x.grad is None


def test_backward_gradient_of_wrong_shape():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(
        RuntimeError, match=r"backward: gradient has shape \(3,\), but the tensor has shape \(2,\)"
    ):
        (x * 2).backward(ember.ones(3))


def test_backward_on_a_tensor_that_does_not_require_grad():
    with pytest.raises(RuntimeError, match="backward: element 0 of tensors does not require grad"):
        ember.ones(2).sum().backward()


def test_create_graph_is_not_supported():
    x = ember.tensor(1.0, requires_grad=True)
    with pytest.raises(NotImplementedError, match="backward: create_graph=True"):
        (x * x).backward(create_graph=True)


@pytest.mark.parametrize("make", [
    lambda: ember.tensor([1, 2], requires_grad=True),
    lambda: ember.tensor([1, 2]).requires_grad_(),
    lambda: ember.tensor([True]).requires_grad_(True),
    lambda: ember.arange(3, requires_grad=True),
])
def test_integer_tensors_cannot_require_grad(make):
    expected = r"requires_grad_: only tensors of floating point dtype can require gradients, got ember\."
    with pytest.raises(RuntimeError, match=expected):
        make()


def test_in_place_change_of_a_saved_tensor():
    x = ember.tensor([1.0, 2.0])
    w = ember.tensor([3.0, 4.0], requires_grad=True)
    y = x * w  # Mul saves x for w's gradient
    x += 1
    expected = r"backward: a tensor of shape \(2,\) saved by Mul \(as 'x'\) was modified by an in-place"
    with pytest.raises(RuntimeError, match=expected):
        y.sum().backward()


def test_in_place_change_through_data_is_caught_too():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    y = w.exp()  # Exp saves its output
    y.data.mul_(2)
    with pytest.raises(
        RuntimeError, match=r"saved by Exp \(as 'out'\) was modified by an in-place operation"
    ):
        y.sum().backward()


def test_in_place_change_through_a_view_is_caught():
    """Views share their memory's version, as PyTorch's share a version counter: an edit of a
    slice, a reshape or a detached copy is seen by a Function that saved any of them."""
    edits = [lambda y: y[0:1].mul_(2), lambda y: y.reshape(4).add_(1), lambda y: y.detach().zero_(),
             lambda y: y.t().fill_(3.0), lambda y: y[:, 1].copy_(y[:, 0] * 0)]
    for edit in edits:
        w = ember.ones(2, 2, requires_grad=True)
        y = w.exp()  # Exp saves its output
        with ember.no_grad():
            edit(y)
        with pytest.raises(RuntimeError, match=r"saved by Exp \(as 'out'\) was modified by an in-place"):
            y.sum().backward()
        t = torch.ones(2, 2, requires_grad=True)
        ty = t.exp()
        with torch.no_grad():
            edit(ty)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            ty.sum().backward()
    # a saved view of an edited base
    x = ember.ones(2, 3)
    w = ember.ones(6, requires_grad=True)
    y = x.reshape(6) * w  # Mul saves the reshaped x
    x += 1
    with pytest.raises(RuntimeError, match=r"saved by Mul \(as 'x'\) was modified by an in-place"):
        y.sum().backward()


def test_in_place_change_of_other_memory_is_fine():
    w = ember.ones(2, 2, requires_grad=True)
    y = w.exp()
    z = y.clone()
    with ember.no_grad():
        z[0].mul_(2)  # a copy, not a view: y's memory is untouched
    y.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.full((2, 2), np.e, np.float32), rtol=1e-6)


def test_in_place_change_of_an_unsaved_tensor_is_fine():
    x = ember.tensor([1.0, 2.0])
    w = ember.tensor([3.0, 4.0], requires_grad=True)
    y = x + w  # Add saves nothing
    x += 1
    y.sum().backward()
    assert w.grad.tolist() == [1.0, 1.0]


def test_in_place_change_before_use_is_fine():
    x = ember.tensor([1.0, 2.0])
    w = ember.tensor([3.0, 4.0], requires_grad=True)
    x += 1
    (x * w).sum().backward()
    assert w.grad.tolist() == [2.0, 3.0]


def _backward_inputs_case(lib, which):
    w = lib.tensor([1.0, 2.0], requires_grad=True)
    b = lib.tensor([0.5, -1.0], requires_grad=True)
    h = w * b
    h.retain_grad()
    out = (h.exp() * w).sum()
    if which == "w":
        out.backward(inputs=[w])
    elif which == "b,h":
        out.backward(inputs=(b, h))
    elif which == "h":
        out.backward(inputs=h)
    elif which == "twice":
        out.backward(inputs=[w, w], retain_graph=True)
        out.backward(inputs=[w])
    elif which == "functional":
        lib.autograd.backward([out], inputs=[b])
    return [None if t.grad is None else t.grad.tolist() for t in (w, b, h)]


@pytest.mark.parametrize("which", ["w", "b,h", "h", "twice", "functional"])
def test_backward_inputs_fills_only_their_grad(which):
    ours = _backward_inputs_case(ember, which)
    theirs = _backward_inputs_case(torch, which)
    assert [g is None for g in ours] == [g is None for g in theirs]
    for a, b in zip(ours, theirs):
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-6)


def test_backward_inputs_errors():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    c = ember.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"backward: inputs\[1\] does not require grad"):
        (w * c).sum().backward(inputs=[w, c])
    assert w.grad is None
    with pytest.raises(RuntimeError, match="'inputs' cannot be empty"):
        (w * c).sum().backward(inputs=[])


def _split_case(lib):
    x = lib.tensor(np.arange(12, dtype=np.float32).reshape(3, 4) / 10, requires_grad=True)
    y = x * 2
    y.retain_grad()
    a, b, c, d = y.split([1, 1, 1, 1], dim=1)
    b.register_hook(lambda g: g * 3)
    e = y.chunk(2, dim=0)[0]  # a second split of y, overlapping the first
    out = (a.exp() + b * b + b).sum() + (e * e).sum() + d.narrow(0, 1, 2).sum() * 5
    out.backward()
    return x.grad.tolist(), y.grad.tolist()


def test_split_pieces_add_into_one_gradient():
    """The gradients of overlapping slices of one tensor add up as PyTorch's do, with a retained
    grad on the tensor and a hook on one piece."""
    ours, theirs = _split_case(ember), _split_case(torch)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    # and through ember.autograd.grad, which captures the pieces' and the base's gradients
    x = ember.ones(2, 6, requires_grad=True)
    y = x * 1
    q, k, v = y.split(2, dim=1)
    gq, gy = ember.autograd.grad((q * 2 + k * 3 + v * 4).sum(), [q, y])
    assert gq.tolist() == [[2.0, 2.0]] * 2 and gy.tolist() == [[2.0, 2.0, 3.0, 3.0, 4.0, 4.0]] * 2


def _pieces_case(lib, order, leaf):
    x = lib.tensor(np.linspace(-1, 1, 2 * 3 * 9, dtype=np.float32).reshape(2, 3, 9), requires_grad=True)
    seen = []
    if leaf:
        x.register_hook(lambda g: seen.append(g.sum().item()))  # sees the whole, joined gradient
    y = x if leaf else x * 1.5
    a, b, c = y.split([2, 4, 3], dim=-1)
    terms = {"a": (a * a).sum(), "c": (c.exp()).sum() * 2, "b": (b * 3).sum(),
             "dense": (y * y).sum(), "rows": y.narrow(1, 1, 1).sum() * 4,  # a piece along another axis
             "corner": y[:, 1:, :5].sum()}  # a slice cut along two axes
    out = sum((terms[k] for k in order), lib.zeros(()))
    out.backward()
    return [x.grad.numpy().copy()] + seen


@pytest.mark.parametrize("order", [("a", "c"), ("c", "b", "a"), ("a", "b", "c", "dense"), ("dense", "b", "c"),
                                   ("b", "rows", "a"), ("corner", "c", "a"), ("a", "corner")])
@pytest.mark.parametrize("leaf", [True, False])
def test_slice_gradients_side_by_side_join_as_torch_adds_them(order, leaf, monkeypatch):
    """The pieces of a split are kept apart and joined in one concatenation (zeros in any gap);
    a dense gradient, a piece along another axis or one cut along two axes, arriving in any order,
    falls back to sums. Every combination matches PyTorch, and hooks see the whole gradient."""
    from ember.backend.numpy_cpu import NumpyBuffer

    joins = []
    concatenate = NumpyBuffer.concatenate
    monkeypatch.setattr(NumpyBuffer, "concatenate",
                        staticmethod(lambda bufs, axis: joins.append(len(bufs)) or concatenate(bufs, axis)))
    ours, theirs = _pieces_case(ember, order, leaf), _pieces_case(torch, order, leaf)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    if order in (("a", "c"), ("c", "b", "a")):
        assert joins == [3]  # a and c with a gap of zeros, or all three pieces, in one join


def _packed_attention(lib, leaf, same):
    B, T, H, hs = 2, 5, 2, 4
    C = H * hs
    data = np.linspace(-1, 1, B * T * 3 * C, dtype=np.float32).reshape(B, T, 3 * C)
    w = lib.tensor(data, requires_grad=True)
    h = w if leaf else w * 1.5
    q, k, v = h.split(C, dim=2)
    if same:  # one piece three times: the views overlap, so their gradients must not share memory
        k = v = q
    q, k, v = (z.view(B, T, H, hs).transpose(1, 2) for z in (q, k, v))
    q.retain_grad()
    o = lib.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    (o.transpose(1, 2).reshape(B, T, C) ** 2).sum().backward()
    wg, qg = w.grad.numpy().copy(), q.grad.numpy().copy()
    w.grad.mul_(0)  # a leaf's .grad is its own: writing it changes no other gradient
    return [wg, qg, q.grad.numpy().copy()]


@pytest.mark.parametrize("leaf", [True, False])
@pytest.mark.parametrize("same", [False, True])
def test_attention_gradients_of_a_packed_projection_join_without_a_copy(leaf, same, monkeypatch):
    """q, k and v viewed out of one (B, T, 3C) tensor get gradients laid out as they were, side by
    side in one buffer: the split's backward hands that buffer on with no concatenation, except
    into a leaf's .grad (a new buffer, as optimizers write it in place). All as PyTorch computes."""
    from ember.backend import numpy_cpu

    if numpy_cpu.jit_kernels() is None:
        pytest.skip("the fused attention backward that lays the gradients out needs the compiled kernels")
    joins = []
    concatenate = numpy_cpu.NumpyBuffer.concatenate
    monkeypatch.setattr(numpy_cpu.NumpyBuffer, "concatenate",
                        staticmethod(lambda bufs, axis: joins.append(len(bufs)) or concatenate(bufs, axis)))
    ours, theirs = _packed_attention(ember, leaf, same), _packed_attention(torch, leaf, same)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    assert joins == ([3] if leaf and not same else [])  # with q = k = v, one piece: nothing to join


def test_joined_views_and_disjoint_layouts():
    """``NumpyBuffer.joined`` answers only for pieces that lie side by side in one array, and the
    gradient layout of attention shares one buffer only among views that touch no element twice."""
    from ember.backend.numpy_cpu import NumpyBuffer, _disjoint, _laid_out_like

    a = np.arange(24, dtype=np.float32).reshape(2, 12)
    pieces = [NumpyBuffer(a[:, i:j]) for i, j in ((0, 4), (4, 8), (8, 12))]
    got = NumpyBuffer.joined(pieces, 1)
    assert got is not None and np.shares_memory(got.data, a) and (got.data == a).all()
    assert NumpyBuffer.joined(pieces[::-1], 1) is None  # out of order
    assert NumpyBuffer.joined([pieces[0], pieces[2]], 1) is None  # a gap
    assert NumpyBuffer.joined([NumpyBuffer(a[:, :4]), NumpyBuffer(a.copy()[:, 4:8])], 1) is None  # two arrays
    assert NumpyBuffer.joined([NumpyBuffer(a[:1]), NumpyBuffer(a[1:])], 0) is not None
    assert _disjoint((4,), (4,), 4, [0, 16, 32]) and not _disjoint((4,), (4,), 4, [0, 8, 16])
    assert not _disjoint((4,), (4,), 4, [0, 0]) and not _disjoint((3,), (8,), 4, [0, 4, 12])
    qkv = np.zeros((3, 5, 24), np.float32)
    views = [qkv[:, :, i * 8:(i + 1) * 8].reshape(3, 5, 2, 4).transpose(0, 2, 1, 3) for i in range(3)]
    twins = _laid_out_like(views)
    assert all(t.strides == v.strides for t, v in zip(twins, views))
    assert twins[0].base is twins[1].base is twins[2].base
    alone = _laid_out_like([views[0], views[0], views[1]])  # two the same: each its own memory
    assert not any(np.shares_memory(x, y) for i, x in enumerate(alone) for y in alone[i + 1:])


def _shared_sum_case(lib, a_first):
    x = lib.tensor([[1.0, -2.0, 3.0, 0.5], [2.0, 1.0, -1.0, 4.0]], requires_grad=True)
    w = lib.tensor([[0.5, 1.5, -1.0, 2.0]] * 2, requires_grad=True)
    a, b = x * 2, w * 3
    h = a + b  # h's gradient is a sum of slice pieces; Add hands that one buffer to a and b alike
    p, q = h.split(2, dim=1)
    more = (a * a).sum() + (b * x).sum()  # second gradients for a and b, arriving before or after h's
    out = ((p * p).sum() + (q * 5).sum() + more) if a_first else (more + (p * p).sum() + (q * 5).sum())
    out.backward()
    return x.grad.tolist(), w.grad.tolist()


@pytest.mark.parametrize("a_first", [True, False])
def test_a_summed_gradient_handed_on_is_never_added_into(a_first):
    """The engine adds gradients into the sums it made in place; once such a sum is handed to a
    backward (here Add's, which passes it to both inputs) it must not be written again."""
    for ours, theirs in zip(_shared_sum_case(ember, a_first), _shared_sum_case(torch, a_first)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def _write_after_use(lib):
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    w = y + 1  # computed from y before the write below
    y[0] = 5.0  # gives y a new grad_fn; w's gradient must still reach all of x
    v = lib.tensor([0.5], requires_grad=True)
    y[1:2] = v * 3
    (w.sum() + (y * y).sum()).backward()
    return x.grad.tolist(), v.grad.tolist()


def test_a_write_into_a_tensor_does_not_reroute_earlier_uses():
    """Graph edges are fixed when an operation runs: a later ``y[i] = v`` (a new grad_fn for y)
    leaves the gradient of what was computed from the old y unchanged, as in PyTorch."""
    assert _write_after_use(ember) == _write_after_use(torch)
    x = ember.ones(2, requires_grad=True)
    y = x * 1
    z = y * 3
    y[0] = 0.0
    assert z.grad_fn.next_functions[0] is not y.grad_fn  # the Mul that made the old y
