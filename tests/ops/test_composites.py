"""Operations composed from other Tensor operations (no Function of their own), against PyTorch:
repeat_interleave, meshgrid, diag/diagonal/trace, isclose, bincount, the new_* factories,
where(condition), H/mH, finfo/iinfo."""

import math

import numpy as np
import pytest
import torch
from optest import Case, check_case, gradcheck_case

import ember
from ember.ops import elementwise as E
from ember.ops import indexing as I
from ember.ops import movement as M


def index(*arrays):
    return lambda rng: [rng.standard_normal((3, 4)).astype(np.float32)] + [np.array(a) for a in arrays]


TABLE = [
    Case("repeat_interleave_dim", lambda L, a: a.repeat_interleave(3, dim=1), [(2, 3)],
         (M.Expand, M.Reshape)),
    Case("repeat_interleave_neg_dim", lambda L, a: L.repeat_interleave(a, 2, dim=-3), [(2, 3, 2)],
         (M.Expand, M.Reshape)),
    Case("repeat_interleave_flat", lambda L, a: a.repeat_interleave(2), [(2, 3)], (M.Expand, M.Reshape)),
    Case("repeat_interleave_0d", lambda L, a: a.repeat_interleave(3), [()], (M.Expand, M.Reshape)),
    Case("repeat_interleave_counts", lambda L, a, r: a.repeat_interleave(r, dim=0), ops=(I.AdvancedIndex,),
         make=index([2, 0, 3])),
    Case("meshgrid_ij", lambda L, a, b, c: L.meshgrid(a, b, c, indexing="ij"), [(2,), (3,), (4,)],
         (M.Expand, M.Reshape)),
    Case("meshgrid_xy", lambda L, a, b: L.meshgrid(a, b, indexing="xy"), [(2,), (3,)], (M.Expand, M.Reshape)),
    Case("meshgrid_list_0d", lambda L, a, b: L.meshgrid([a, b], indexing="ij"), [(), (3,)], (M.Expand,)),
    Case("diagonal", lambda L, a: a.diagonal() + 0, [(3, 4)], (I.AdvancedIndex,)),
    Case("diagonal_offsets", lambda L, a: (a.diagonal(1), L.diagonal(a, -2), a.diagonal(9)), [(3, 4)],
         (I.AdvancedIndex,)),
    Case("diagonal_dims", lambda L, a: (a.diagonal(0, 1, 2), a.diagonal(1, -1, 0)), [(2, 3, 4)],
         (I.AdvancedIndex,)),
    Case("diag_of_matrix", lambda L, a: (L.diag(a), a.diag(-1)), [(4, 3)], (I.AdvancedIndex,)),
    Case("diag_of_vector", lambda L, a: (L.diag(a), a.diag(2), a.diag(-1)), [(3,)], (E.Where, M.Pad)),
    Case("trace", lambda L, a: a.trace() + L.trace(a.t()), [(3, 5)], (I.AdvancedIndex,)),
]


@pytest.mark.parametrize("case", TABLE, ids=str)
def test_matches_torch(case):
    check_case(case)


@pytest.mark.parametrize("case", [c for c in TABLE if c.gradcheck], ids=str)
def test_gradcheck(case):
    gradcheck_case(case)


def test_diag_keeps_off_diagonal_zero_for_inf():
    v = [math.inf, math.nan, 1.0]
    assert ember.diag(ember.tensor(v)).tolist()[0][1:] == [0.0, 0.0]
    np.testing.assert_array_equal(ember.diag(ember.tensor(v)).numpy(), torch.diag(torch.tensor(v)).numpy())


def test_isclose_and_allclose():
    inf, nan = math.inf, math.nan
    a = [1.0, inf, -inf, nan, 1.0, 0.0, 1e-9]
    b = [1.000001, inf, inf, nan, 2.0, 1e-9, 0.0]
    for kw in [{}, {"equal_nan": True}, {"rtol": 0.0, "atol": 0.0}, {"rtol": 0.6, "atol": 0.0}]:
        ours = ember.isclose(ember.tensor(a), ember.tensor(b), **kw)
        theirs = torch.isclose(torch.tensor(a), torch.tensor(b), **kw)
        assert ours.dtype is ember.bool
        assert ours.tolist() == theirs.tolist(), kw
        assert (ember.tensor(a).allclose(ember.tensor(b), **kw)
                == torch.allclose(torch.tensor(a), torch.tensor(b), **kw))
    # broadcast, ints
    assert ember.isclose(ember.tensor([[1, 2]]), ember.tensor([1, 3])).tolist() == [[True, False]]
    assert ember.allclose(ember.tensor([inf]), ember.tensor([inf]))
    with pytest.raises(RuntimeError, match="isclose"):
        ember.isclose(ember.ones(2), ember.ones(3))


def test_bincount():
    x = [0, 2, 2, 5]
    for kw in [{}, {"minlength": 8}, {"weights": [0.5, 1.0, 1.0, 2.0]}, {"weights": [1, 2, 3, 4]}]:
        ours = ember.bincount(ember.tensor(x),
                              **{k: ember.tensor(v) if k == "weights" else v for k, v in kw.items()})
        theirs = torch.bincount(torch.tensor(x),
                                **{k: torch.tensor(v) if k == "weights" else v for k, v in kw.items()})
        assert ours.tolist() == theirs.tolist() and str(ours.dtype)[6:] == str(theirs.dtype)[6:], kw
    assert ember.tensor([], dtype=ember.long).bincount().tolist() == []
    for bad in (ember.tensor([-1, 2]), ember.tensor([[1]]), ember.tensor([1.0])):
        with pytest.raises(RuntimeError, match="bincount: only supports 1-d non-negative integral inputs"):
            bad.bincount()


def test_new_factories_take_the_tensor_dtype():
    for lib in (ember, torch):
        x = lib.ones(2, dtype=lib.float64)
        made = [x.new_zeros(2, 3), x.new_zeros((2,)), x.new_ones(1), x.new_full((2,), 7),
                x.new_tensor([1, 2]), x.new_empty(3, dtype=lib.int64), x.new_zeros(2, requires_grad=True)]
        got = [(str(t.dtype).split(".")[1], tuple(t.shape), t.requires_grad) for t in made]
        if lib is ember:
            ours = got
    assert ours == got
    assert ember.ones(2).new_full((2,), 7).tolist() == [7.0, 7.0]


def test_where_with_only_a_condition_is_nonzero():
    c = [[True, False, True], [False, True, False]]
    ours = ember.where(ember.tensor(c))
    theirs = torch.where(torch.tensor(c))
    assert [t.tolist() for t in ours] == [t.tolist() for t in theirs]


def test_conjugate_transposes_of_real_tensors():
    x = ember.arange(6.0).reshape(2, 3)
    assert x.H.tolist() == x.T.tolist() and x.mH.tolist() == x.mT.tolist()
    assert ember.arange(24.0).reshape(2, 3, 4).mH.shape == (2, 4, 3)
    with pytest.raises(RuntimeError, match="H: expected a matrix"):
        ember.ones(2, 2, 2).H  # noqa: B018


@pytest.mark.parametrize("name", ["float16", "float32", "float64"])
def test_finfo(name):
    ours, theirs = ember.finfo(getattr(ember, name)), torch.finfo(getattr(torch, name))
    for attr in ("max", "min", "eps", "tiny", "smallest_normal", "resolution", "bits"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    assert ember.finfo().eps == torch.finfo().eps
    with pytest.raises(TypeError, match="finfo"):
        ember.finfo(ember.int32)


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo(name):
    ours, theirs = ember.iinfo(getattr(ember, name)), torch.iinfo(getattr(torch, name))
    assert (ours.min, ours.max, ours.bits) == (theirs.min, theirs.max, theirs.bits)


def _layouts(lib):
    x = lib.arange(24.0).reshape(2, 3, 4)
    views = [x, x.transpose(0, 2), x[:, 1:, ::2], x[1], x[1, 2], x[0, :1].expand(5, 4), x.permute(2, 0, 1),
             x.reshape(6, 4)[2:], x.unsqueeze(1), lib.tensor(3.0)]
    return [(v.stride(), v.storage_offset(), v.is_contiguous()) for v in views] + [x.stride(-1), x.stride(0)]


def test_stride_and_storage_offset_match_torch():
    assert _layouts(ember) == _layouts(torch)


@pytest.mark.parametrize("shapes, kw", [
    (((4, 3), (5, 3)), {}), (((2, 30, 3), (2, 7, 3)), {}), (((4, 3), (5, 3)), {"p": 1}),
    (((4, 3), (5, 3)), {"p": 0}), (((4, 3), (5, 3)), {"p": math.inf}), (((3, 3), (1, 3)), {"p": 3}),
    (((4, 3), (5, 3)), {"compute_mode": "use_mm_for_euclid_dist"}),
    (((30, 3), (26, 3)), {"compute_mode": "donot_use_mm_for_euclid_dist"}),
], ids=str)
def test_cdist_matches_torch(shapes, kw):
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal(s).astype(np.float32) for s in shapes)
    res = []
    for lib in (ember, torch):
        x, y = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        d = lib.cdist(x, y, **kw)
        (d * d.detach() + d).sum().backward()
        res.append([d.detach().numpy(), x.grad.numpy(), y.grad.numpy()])
    for ours, theirs in zip(*res):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def test_cdist_errors():
    with pytest.raises(RuntimeError, match="X1 and X2 must have the same number of columns"):
        ember.cdist(ember.ones(2, 3), ember.ones(2, 4))
    with pytest.raises(RuntimeError, match="cdist only supports at least 2D floating tensors"):
        ember.cdist(ember.ones(3), ember.ones(2, 3))
