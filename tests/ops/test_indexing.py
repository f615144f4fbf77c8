"""Indexing ops against torch: getitem/setitem, gather, scatter, index_select, masked_select, errors."""

import numpy as np
import pytest
import torch
from optest import Case, check_case, gradcheck_case

import ember
from ember.ops import indexing as I
from ember.ops import movement as M

# torch warns about two legacy forms that ember supports quietly (uint8 masks, scatter's reduce=)
pytestmark = pytest.mark.filterwarnings(
    "ignore:indexing with dtype torch.uint8:UserWarning",
    "ignore:The reduce argument of torch.scatter:UserWarning",
)

X = [(4, 5, 6)]
MAT = [(3, 4)]


def _with_index(shape, *index_arrays):
    """A float input of ``shape`` followed by fixed integer/bool index arrays."""

    def make(rng):
        return [rng.uniform(-2, 2, shape).astype(np.float32)] + [np.array(a) for a in index_arrays]

    return make


def _gather_inputs(shape, ishape, dim, src=None):
    def make(rng):
        out = [rng.uniform(-2, 2, shape).astype(np.float32), rng.integers(0, shape[dim], ishape)]
        if src is not None:
            out.append(rng.uniform(-2, 2, src).astype(np.float32))
        return out

    return make


def _distinct_rows(shape, ishape, dim):
    """gather/scatter indices without repeats along ``dim`` (scatter's result is then well defined)."""

    def make(rng):
        x = rng.uniform(-2, 2, shape).astype(np.float32)
        perm = np.argsort(rng.random((*ishape[:dim], shape[dim], *ishape[dim + 1 :])), axis=dim)
        idx = np.take(perm, np.arange(ishape[dim]), axis=dim)
        return [x, idx.astype(np.int64), rng.uniform(-2, 2, ishape).astype(np.float32)]

    return make


def _setitem(index, value_shape=None, scalar=None, fresh=False):
    def fn(L, a, *v):
        # a non-leaf (or a leaf not needing grad)
        out = L.zeros(a.shape, dtype=a.dtype) + 0.5 if fresh else a * 1
        out[index(L)] = scalar if scalar is not None else v[0]
        return out

    return fn


TABLE = [
    # ---- basic indexing: views ----------------------------------------------------------------------
    Case("int", lambda L, a: a[1], X, (I.BasicIndex,)),
    Case("int_negative", lambda L, a: a[-1], X, (I.BasicIndex,)),
    Case("ints_to_0d", lambda L, a: a[1, -2, 3], X, (I.BasicIndex,)),
    Case("slice", lambda L, a: a[1:3], X, (I.BasicIndex,)),
    Case("slice_steps", lambda L, a: a[::2, 1::3], X, (I.BasicIndex,)),
    Case("slice_negative_bounds", lambda L, a: a[-3:-1, :-2], X, (I.BasicIndex,)),
    Case("slice_past_end", lambda L, a: a[2:100], X, (I.BasicIndex,)),
    Case("slice_empty", lambda L, a: a[3:1], X, (I.BasicIndex,), gradcheck=False),
    Case("none_ellipsis", lambda L, a: a[None, ..., 1, None], X, (I.BasicIndex,)),
    Case("ellipsis_last", lambda L, a: a[..., 2], X, (I.BasicIndex,)),
    Case("ellipsis_only_0d", lambda L, a: a[...] * 1, [()], (I.BasicIndex,)),
    Case("none_on_0d", lambda L, a: a[None], [()], (I.BasicIndex,)),
    Case("mixed_basic_noncontig", lambda L, a: a[1:, 0:3:2], MAT, (I.BasicIndex,), noncontig=True),
    Case("select", lambda L, a: a.select(-1, 2), X, (I.BasicIndex,)),
    # ---- advanced indexing: gathers ---------------------------------------------------------------
    Case("list", lambda L, a: a[[0, 2, 2]], X, (I.AdvancedIndex,)),
    Case("tensor_2d", lambda L, a: a[L.tensor([[0, 1], [3, 3]])], X, (I.AdvancedIndex,)),
    Case("tensor_negative", lambda L, a: a[L.tensor([-1, 0, -1])], X, (I.AdvancedIndex,)),
    Case("tensor_0d", lambda L, a: a[L.tensor(2)], X, (I.AdvancedIndex,)),
    Case("tensor_int32", lambda L, a: a[:, L.tensor([4, 0], dtype=L.int32)], X, (I.AdvancedIndex,)),
    Case("two_lists", lambda L, a: a[[0, 1, 3], [4, 0, 0]], X, (I.AdvancedIndex,)),
    Case("broadcast_arrays", lambda L, a: a[L.tensor([[0], [2]]), :, L.tensor([1, 2, 5])], X,
         (I.AdvancedIndex,)),
    Case("slice_then_list", lambda L, a: a[:, [1, 1, 3]], X, (I.AdvancedIndex,)),
    Case("arrays_apart", lambda L, a: a[[0, 1], :, [2, 3]], X, (I.AdvancedIndex,)),
    Case("int_outside_arrays", lambda L, a: a[0, :, [1, 2]], X, (I.AdvancedIndex,)),
    Case("int_inside_arrays", lambda L, a: a[[0, 1], 0, [1, 2]], X, (I.AdvancedIndex,)),
    Case("int_after_arrays", lambda L, a: a[[0, 3], ..., 1], X, (I.AdvancedIndex,)),
    Case("none_between_arrays", lambda L, a: a[:, [0, 1], None, [1, 2]], X, (I.AdvancedIndex,)),
    Case("none_before_arrays", lambda L, a: a[None, [0, 1], :, [1, 2]], X, (I.AdvancedIndex,)),
    Case("slice_step_and_list", lambda L, a: a[1::2, [4, 4]], X, (I.AdvancedIndex,)),
    Case("list_noncontig", lambda L, a: a[[2, 0, 2]], MAT, (I.AdvancedIndex,), noncontig=True),
    Case("empty_list", lambda L, a: a[[]], MAT, (I.AdvancedIndex,), gradcheck=False),
    Case("mask_full", lambda L, a: a[a > 0], X, (I.AdvancedIndex,)),
    Case("mask_first_dim", lambda L, a, m: a[m], X, (I.AdvancedIndex,),
         make=_with_index((4, 5, 6), [True, False, True, True])),
    Case("mask_two_dims_after_slice", lambda L, a, m: a[:, m], X, (I.AdvancedIndex,),
         make=_with_index((4, 5, 6), np.arange(30).reshape(5, 6) % 3 == 0)),
    Case("mask_with_list", lambda L, a, m: a[m, :, [0, 5]], X, (I.AdvancedIndex,),
         make=_with_index((4, 5, 6), [False, True, False, True])),
    Case("mask_bool_scalar", lambda L, a: a[True], MAT, (I.AdvancedIndex,)),
    Case("mask_uint8", lambda L, a: a[L.tensor([1, 0, 1], dtype=L.uint8)] * 1, MAT, (I.AdvancedIndex,)),
    Case("mask_0d_tensor", lambda L, a: a[L.tensor(True)], [()], (I.AdvancedIndex,)),
    Case("embedding_lookup", lambda L, w, i: w[i], [(10, 8), (3, 5)], (I.AdvancedIndex,),
         make=lambda rng: [rng.uniform(-2, 2, (10, 8)).astype(np.float32), rng.integers(0, 10, (3, 5))]),
    # atol: each gradient row sums ~170 float32 terms, in another order than torch's
    Case("embedding_many_repeats", lambda L, w, i: w[i], [], (I.AdvancedIndex,), gradcheck=False, atol=1e-4,
         make=lambda rng: [rng.uniform(-2, 2, (7, 300)).astype(np.float32), rng.integers(-7, 7, (40, 30))]),
    Case("index_select", lambda L, a: a.index_select(1, L.tensor([4, 0, 4])), X, (I.AdvancedIndex,)),
    Case("index_select_neg_dim_0d_index", lambda L, a: L.index_select(a, -1, L.tensor(2)), X,
         (I.AdvancedIndex,)),
    Case("index_select_0d_input", lambda L, a: a.index_select(0, L.tensor([0])), [()], (I.AdvancedIndex,)),
    Case("masked_select", lambda L, a: a.masked_select(a > 0.5), X, (I.AdvancedIndex,)),
    Case("masked_select_broadcast", lambda L, a, m: L.masked_select(a, m), [], (I.AdvancedIndex, M.Expand),
         make=_with_index((3, 4), [[True], [False], [True]])),
    Case("masked_select_mask_bigger", lambda L, a, m: a.masked_select(m), [], (I.AdvancedIndex,),
         make=_with_index((4,), [[True, False, True, True], [False, True, False, False]])),
    # ---- gather / scatter ------------------------------------------------------------------------
    Case("gather", lambda L, a, i: a.gather(1, i), [], (I.Gather,), make=_gather_inputs((3, 4), (3, 5), 1)),
    Case("gather_smaller_index", lambda L, a, i: L.gather(a, 0, i), [], (I.Gather,),
         make=_gather_inputs((4, 5, 3), (6, 2, 3), 0)),
    Case("gather_neg_dim_noncontig", lambda L, a, i: a.gather(-1, i), [], (I.Gather,), noncontig=True,
         make=_gather_inputs((3, 4), (2, 3), 1)),
    Case("gather_0d", lambda L, a, i: a.gather(0, i), [], (I.Gather,),
         make=lambda rng: [np.float32(1.5) * np.ones((), np.float32), np.array(0)]),
    Case("take_along_dim", lambda L, a, i: L.take_along_dim(a, i, 1), [], (I.Gather, M.Expand),
         make=_gather_inputs((3, 4), (1, 6), 1)),
    Case("take_along_dim_flat", lambda L, a, i: a.take_along_dim(i), [], (I.Gather,),
         make=_gather_inputs((12,), (5,), 0)),
    Case("scatter_src", lambda L, a, i, s: a.scatter(1, i, s), [], (I.Scatter,),
         make=_distinct_rows((3, 5), (3, 2), 1)),
    Case("scatter_dim0", lambda L, a, i, s: L.scatter(a, 0, i, s), [], (I.Scatter,),
         make=_distinct_rows((4, 3), (2, 3), 0)),
    Case("scatter_value", lambda L, a, i: a.scatter(1, i, 2.5), [], (I.Scatter,),
         make=_gather_inputs((3, 4), (3, 2), 1)),
    Case("scatter_add", lambda L, a, i, s: a.scatter_add(1, i, s), [], (I.ScatterAdd,),
         make=_gather_inputs((3, 4), (3, 6), 1, src=(3, 6))),
    Case("scatter_add_dim0_noncontig", lambda L, a, i, s: L.scatter_add(a, 0, i, s), [], (I.ScatterAdd,),
         noncontig=True, make=_gather_inputs((3, 4), (5, 4), 0, src=(5, 4))),
    Case("scatter_reduce_add", lambda L, a, i, s: a.scatter(1, i, s, reduce="add"), [], (I.ScatterAdd,),
         grad=False, gradcheck=False, make=_gather_inputs((3, 4), (3, 6), 1, src=(3, 6))),
    Case("nonzero", lambda L, a: (a > 0).nonzero(), MAT, (), grad=False, gradcheck=False),
    Case("nonzero_tuple", lambda L, a: L.nonzero(a > 0, as_tuple=True), MAT, (), grad=False, gradcheck=False),
    Case("nonzero_0d", lambda L, a: (a > 5).nonzero(), [()], (), grad=False, gradcheck=False),
    Case("argwhere", lambda L, a: (a > 0).argwhere(), MAT, (), grad=False, gradcheck=False),
    # ---- setitem on a graph: x[index] = v ------------------------------------------------------------
    Case("setitem_slice_tensor", _setitem(lambda L: (slice(1, None), [0, 2])), [(3, 4), (2, 2)],
         (I.IndexPut,)),
    Case("setitem_broadcast_value", _setitem(lambda L: (slice(None), 1)), [(3, 4), (1,)], (I.IndexPut,)),
    Case("setitem_scalar", _setitem(lambda L: 0, scalar=0.25), [(3, 4)], (I.IndexPut,)),
    Case("setitem_int_outside", _setitem(lambda L: (0, slice(None), [1, 2])), [(2, 3, 4), (3, 2)],
         (I.IndexPut,)),
    Case("setitem_mask", _setitem(lambda L: L.tensor([True, False, True])), [(3, 4), (4,)], (I.IndexPut,)),
    Case("setitem_into_fresh", _setitem(lambda L: (Ellipsis, 2), fresh=True), [(3, 4), (3,)], (I.IndexPut,)),
    Case("setitem_cast_value", lambda L, a, v: _cast_set(L, a, v), [(3, 4), (4,)], (I.IndexPut,)),
]


def _cast_set(L, a, v):
    out = a * 1
    out[1] = v.double()
    return out


@pytest.mark.parametrize("case", TABLE, ids=str)
def test_against_torch(case):
    check_case(case)


@pytest.mark.parametrize("case", [c for c in TABLE if c.gradcheck], ids=str)
def test_gradcheck(case):
    gradcheck_case(case)


# ---- behaviour ---------------------------------------------------------------------------------
def test_basic_index_is_a_view_and_advanced_is_a_copy():
    x = ember.arange(24.0).reshape(2, 3, 4)
    for view in (x[1], x[:, 1:3], x[..., ::2], x[0, 1, 2], x[None, 1]):
        assert np.shares_memory(view.numpy(), x.numpy())
    assert not np.shares_memory(x[[0, 1]].numpy(), x.numpy())


def test_setitem_writes_through_views():
    x = ember.zeros(3, 4)
    row = x[1]
    x[1, 2] = 5.0
    assert row[2].item() == 5.0
    x[2][3] = 7.0  # x[2] is a view, so the write lands in x
    x[0, 1][...] = 3.0  # so is a 0-d element
    assert x[2, 3].item() == 7.0 and x[0, 1].item() == 3.0


def test_setitem_matches_torch_values():
    cases = [
        (lambda L: (slice(None), 1), 2.5),
        (lambda L: (L.tensor([1, -2, 1]),), "row"),
        (lambda L: (Ellipsis, slice(1, 3)), "block"),
        (lambda L: (0, slice(None), [1, 3]), "pair"),
        (lambda L: "mask", -1.0),
    ]
    for index, value in cases:
        results = []
        for L in (torch, ember):
            x = L.arange(24.0).reshape(2, 3, 4)
            idx = (x > 10,) if index(L) == "mask" else index(L)
            v = {"row": L.ones(3, 4) * 9, "block": L.tensor([[1.0, 2.0]]), "pair": L.tensor([5.0, 6.0])}.get(
                value, value
            )
            x[idx] = v
            results.append(x.tolist())
        assert results[0] == results[1], index


def test_setitem_casts_to_the_target_dtype():
    for L in (torch, ember):
        x = L.zeros(3, dtype=L.int64)
        x[0] = 2.7
        x[1] = L.tensor(3.9)
        y = L.zeros(2)
        y[0] = L.tensor(1.5, dtype=L.float64)
        assert x.tolist() == [2, 3, 0] and x.dtype == L.int64 and y.dtype == L.float32


def test_setitem_on_leaf_under_no_grad_and_on_data():
    w = ember.zeros(3, requires_grad=True)
    with ember.no_grad():
        w[0] = 1.0
    w.data[1] = 2.0
    assert w.tolist() == [1.0, 2.0, 0.0] and w.is_leaf


def test_setitem_graph_loop_like_rnn():
    """out[:, t] = h in a loop: every step records a node, and gradients reach every h."""
    hs_t = [torch.randn(2, 3, requires_grad=True) for _ in range(4)]
    hs_e = [ember.tensor(h.detach().numpy(), requires_grad=True) for h in hs_t]
    for L, hs in ((torch, hs_t), (ember, hs_e)):
        out = L.zeros(2, 4, 3)
        for t, h in enumerate(hs):
            out[:, t] = h * (t + 1)
        (out * out).sum().backward()
    for a, b in zip(hs_t, hs_e):
        np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), rtol=1e-6)


def test_setitem_detects_saved_tensor_change():
    a = ember.ones(3, requires_grad=True)
    y = a.exp()
    z = y * y  # saves y
    y[0] = 0.0
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        z.sum().backward()


def test_embedding_backward_accumulates_repeats():
    w = ember.zeros(5, 3, requires_grad=True)
    idx = ember.tensor([[0, 4, 4], [4, -1, 2]])
    w[idx].sum().backward()
    assert w.grad[:, 0].tolist() == [1.0, 0.0, 1.0, 0.0, 4.0]


def test_grouped_scatter_add_matches_add_at():
    """The embedding-backward kernel: heavy rows summed at once, light rows in rounds, -1 == n-1."""
    from ember.backend.numpy_cpu import NumpyBuffer

    rng = np.random.default_rng(0)
    idx = np.concatenate([rng.integers(-500, 500, 600), np.full(40, 7), np.full(20, -3)])
    src = rng.standard_normal((idx.size, 40)).astype(np.float32)
    expected = np.zeros((500, 40), np.float32)
    np.add.at(expected, idx, src)
    got = ember.zeros(500, 40)
    got._buf.index_add_((ember.from_numpy(idx)._buf,), ember.from_numpy(src)._buf)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-5)
    out = np.zeros((500, 40), np.float32)
    NumpyBuffer._add_rows_grouped(out, idx, src)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_iteration_yields_rows_with_grads():
    x = ember.arange(6.0).reshape(3, 2).requires_grad_()
    rows = list(x)
    assert [r.tolist() for r in rows] == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    (rows[0] * 2 + rows[2]).sum().backward()
    assert x.grad.tolist() == [[2.0, 2.0], [0.0, 0.0], [1.0, 1.0]]
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        iter(ember.tensor(1.0))


def test_gather_scatter_module_functions():
    for name in ("gather", "scatter", "scatter_add", "index_select", "masked_select", "take_along_dim",
                 "nonzero", "select", "unbind"):
        assert callable(getattr(ember, name)), name


# ---- errors ------------------------------------------------------------------------------------
A = ember.zeros(2, 3, 4)
MATRIX = ember.zeros(3, 4)
IDX = ember.tensor([[0, 1], [2, 0]])


def _set(x, index, value):
    x[index] = value


def _set_leaf():
    w = ember.zeros(3, requires_grad=True)
    w[0] = 1.0


ERRORS = [
    ("int_oob", IndexError, r"getitem: index 5 is out of bounds for dimension 0 with size 2", lambda: A[5]),
    ("int_oob_neg", IndexError, r"getitem: index -3 is out of bounds for dimension 0 with size 2",
     lambda: A[-3]),
    ("int_oob_later_dim", IndexError, r"getitem: index 3 is out of bounds for dimension 1 with size 3",
     lambda: A[:, 3]),
    ("tensor_oob", IndexError, r"getitem: index 2 is out of bounds for dimension 0 with size 2",
     lambda: A[ember.tensor([0, 2])]),
    ("tensor_oob_neg", IndexError, r"getitem: index -3 is out of bounds for dimension 0 with size 2",
     lambda: A[ember.tensor([0, -3])]),
    ("list_oob_dim2", IndexError, r"getitem: index 9 is out of bounds for dimension 2 with size 4",
     lambda: A[..., [9]]),
    ("index_into_empty", IndexError, r"getitem: index 0 is out of bounds for dimension 0 with size 0",
     lambda: ember.ones(0, 3)[ember.tensor([0])]),
    ("negative_step", ValueError, r"getitem: step must be greater than zero, got -1", lambda: A[::-1]),
    ("zero_step", ValueError, r"getitem: step must be greater than zero, got 0", lambda: A[::0]),
    ("too_many", IndexError, r"getitem: too many indices for tensor of dimension 3", lambda: A[0, 0, 0, 0]),
    ("index_0d", IndexError, r"getitem: invalid index of a 0-dim tensor", lambda: ember.tensor(1.0)[0]),
    ("two_ellipsis", IndexError, r"getitem: an index can only have a single ellipsis", lambda: A[..., ...]),
    ("float_index", IndexError, r"getitem: only integers, slices .* are valid indices \(got float\)",
     lambda: A[1.0]),
    ("str_index", IndexError, r"\(got str\)", lambda: A["a"]),
    ("float_tensor_index", IndexError, (r"getitem: tensors used as indices must be long, int, byte or bool "
     r"tensors, got ember.float32"), lambda: A[ember.tensor([1.0])]),
    ("int16_tensor_index", IndexError, r"tensors used as indices must be long, int, byte or bool",
     lambda: A[ember.tensor([1], dtype=ember.int16)]),
    ("mask_shape", IndexError, (r"getitem: the shape of the mask \[3\] at index 0 does not match the shape "
     r"of the indexed tensor \[2, 3, 4\] at index 0"), lambda: A[ember.tensor([True, False, True])]),
    ("mask_shape_later", IndexError, (r"the shape of the mask \[3, 5\] at index 1 does not match the shape "
     r"of the indexed tensor \[2, 3, 4\] at index 2"), lambda: A[0, ember.ones(3, 5).bool()]),
    ("broadcast", IndexError, (r"getitem: shape mismatch: indexing tensors could not be broadcast together "
     r"with shapes \[2\], \[3\]"), lambda: A[[0, 1], [0, 1, 2]]),
    ("mask_0d_with_arrays", IndexError, r"getitem: a 0-d bool index cannot be combined with index tensors",
     lambda: A[True, [0, 1]]),
    ("setitem_leaf", RuntimeError, (r"setitem: a leaf Variable that requires grad is being used in an "
     r"in-place operation"), _set_leaf),
    ("setitem_oob", IndexError, r"setitem: index 5 is out of bounds for dimension 0 with size 3",
     lambda: _set(ember.zeros(3), 5, 1.0)),
    ("setitem_shape", RuntimeError, (r"setitem: shape mismatch: value tensor of shape \[3\] cannot be "
     r"broadcast to indexing result of shape \[2\]"),
     lambda: _set(ember.zeros(3), slice(0, 2), ember.ones(3))),
    ("setitem_shape_adv", RuntimeError, (r"value tensor of shape \[2, 2\] cannot be broadcast to indexing "
     r"result of shape \[3, 4\]"), lambda: _set(ember.zeros(2, 3, 4), 0, ember.ones(2, 2))),
    ("setitem_expanded", RuntimeError, r"setitem: the tensor of shape \(3, 4\) is read-only here",
     lambda: _set(ember.ones(3, 1).expand(3, 4), 0, 2.0)),
    ("setitem_value_type", TypeError, r"setitem: value must be a number or a Tensor, got str",
     lambda: _set(ember.zeros(3), 0, "x")),
    ("gather_dtype", RuntimeError, r"gather: expected dtype int32/int64 for index, got ember.float32",
     lambda: MATRIX.gather(1, IDX.float())),
    ("gather_not_tensor", TypeError, r"gather: index must be a Tensor, got list",
     lambda: MATRIX.gather(1, [0])),
    ("gather_ndim", RuntimeError, (r"gather: index tensor must have the same number of dimensions as input "
     r"tensor"), lambda: MATRIX.gather(1, ember.tensor([0, 1]))),
    ("gather_size", RuntimeError, (r"gather: size does not match at dimension 0: expected index \[4, 2\] "
     r"to be no larger than self \[3, 4\] apart from dimension 1"),
     lambda: MATRIX.gather(1, ember.zeros(4, 2).long())),
    ("gather_oob", RuntimeError, r"gather: index 5 is out of bounds for dimension 1 with size 4",
     lambda: MATRIX.gather(1, ember.tensor([[0, 5]]))),
    ("gather_negative", RuntimeError, r"gather: index -1 is out of bounds for dimension 1 with size 4",
     lambda: MATRIX.gather(1, ember.tensor([[-1]]))),
    ("gather_dim", IndexError, r"gather: dimension out of range", lambda: MATRIX.gather(2, IDX)),
    ("scatter_dtype", RuntimeError, r"scatter: expected dtype int32/int64 for index",
     lambda: MATRIX.scatter(1, IDX.float(), 1.0)),
    ("scatter_src_dtype", RuntimeError, r"scatter: expected self.dtype to be equal to src.dtype",
     lambda: MATRIX.scatter(1, IDX, ember.ones(2, 2, dtype=ember.float64))),
    ("scatter_src_small", RuntimeError, r"scatter: expected index \[2, 2\] to be no larger than src \[1, 1\]",
     lambda: MATRIX.scatter(1, IDX, ember.ones(1, 1))),
    ("scatter_src_ndim", RuntimeError,
     r"scatter: index tensor must have the same number of dimensions as src",
     lambda: MATRIX.scatter(1, IDX, ember.ones(2))),
    ("scatter_oob", RuntimeError, r"scatter: index 9 is out of bounds for dimension 1 with size 4",
     lambda: MATRIX.scatter(1, ember.tensor([[0, 9]]), 1.0)),
    ("scatter_nothing", TypeError, r"scatter: expected a src tensor or a value",
     lambda: MATRIX.scatter(1, IDX)),
    ("scatter_value_type", TypeError, r"scatter: value must be a number, got str",
     lambda: MATRIX.scatter(1, IDX, value="x")),
    ("scatter_reduce", ValueError, r"scatter: reduce must be 'add' here", lambda: MATRIX.scatter(1, IDX, 1.0,
                                                                                              reduce="multiply")),
    ("scatter_add_src", TypeError, r"scatter_add: src must be a Tensor, got float",
     lambda: MATRIX.scatter_add(1, IDX, 1.0)),
    ("scatter_add_dtype", RuntimeError, r"scatter_add: expected self.dtype to be equal to src.dtype",
     lambda: MATRIX.scatter_add(1, IDX, ember.ones(2, 2).double())),
    ("index_select_vector", IndexError, r"index_select: index is supposed to be a vector, got shape \(1, 2\)",
     lambda: MATRIX.index_select(0, ember.tensor([[0, 2]]))),
    ("index_select_oob", IndexError, r"index_select: index 3 is out of range for dimension 0 with size 3",
     lambda: MATRIX.index_select(0, ember.tensor([3]))),
    ("index_select_negative", IndexError,
     r"index_select: index -1 is out of range for dimension 1 with size 4",
     lambda: MATRIX.index_select(-1, ember.tensor([-1]))),
    ("index_select_0d_many", IndexError, r"index_select: index to a 0-d tensor can have only 1 value, got 2",
     lambda: ember.tensor(1.0).index_select(0, ember.tensor([0, 0]))),
    ("index_select_dtype", RuntimeError, r"index_select: expected dtype int32/int64 for index",
     lambda: MATRIX.index_select(0, ember.tensor([1.0]))),
    ("masked_select_dtype", RuntimeError, r"masked_select: expected a bool tensor for mask, got ember.int64",
     lambda: MATRIX.masked_select(ember.tensor([1, 0, 1, 1]))),
    ("masked_select_shape", RuntimeError, r"masked_select: shapes \(3, 4\) and \(3,\) are not broadcastable",
     lambda: MATRIX.masked_select(ember.tensor([True, False, True]))),
    ("take_along_ndim", RuntimeError, (r"take_along_dim: input and indices should have the same number of "
     r"dimensions, but got 2 and 1"), lambda: ember.take_along_dim(MATRIX, ember.tensor([0]), 1)),
    ("take_along_broadcast", RuntimeError,
     r"take_along_dim: shapes \(3, 1\) and \(2, 1\) are not broadcastable",
     lambda: ember.take_along_dim(MATRIX, ember.zeros(2, 1).long(), 1)),
    ("select_0d", IndexError, r"select: cannot be applied to a 0-dim tensor",
     lambda: ember.tensor(1.0).select(0, 0)),
    ("select_oob", IndexError, r"select: index 5 out of range for tensor of size \[3, 4\] at dimension 1",
     lambda: MATRIX.select(1, 5)),
    ("unbind_0d", IndexError, r"unbind: dimension specified as 0 but tensor has no dimensions",
     lambda: ember.tensor(1.0).unbind()),
    ("functional_not_tensor", TypeError, r"gather: expected a Tensor, got list",
     lambda: ember.gather([1.0], 0, IDX)),
]


@pytest.mark.parametrize("exc,match,fn", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors(exc, match, fn):
    with pytest.raises(exc, match=match):
        fn()


def test_errors_change_nothing():
    x = ember.arange(6.0)
    with pytest.raises(RuntimeError):
        x[0:2] = ember.ones(3)
    with pytest.raises(IndexError):
        x[[0, 9]] = 1.0
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
