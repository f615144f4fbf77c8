"""Linear algebra against torch: matmul in every 1-d to 4-d combination, mm/bmm/mv/dot/outer, einsum.

Values, dtypes and every gradient are compared with torch (random upstream gradient),
each row is gradchecked in float64, and every error message has a test. Random shapes
and random einsum equations come from hypothesis.
"""

import itertools
import string

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from optest import Case, assert_close, check_case, gradcheck_case

import ember
from ember.backend import NumpyBuffer, numpy_linalg
from ember.ops import elementwise as E
from ember.ops import linalg as L

N, K, M = 2, 3, 4  # rows, inner, columns: small enough for full-Jacobian gradchecks


def _matmul_shapes():
    """Every (x, y) pair of 1-d to 4-d operands, with the batch dimensions broadcast every way."""
    batches = {1: [None], 2: [()], 3: [(2,), (1,)], 4: [(3, 2), (3, 1), (1, 2)]}
    pairs = []
    for dx, dy in itertools.product(range(1, 5), repeat=2):
        for bx, by in itertools.product(batches[dx], batches[dy]):
            try:
                np.broadcast_shapes(bx or (), by or ())
            except ValueError:
                continue
            x = (K,) if bx is None else bx + (N, K)
            y = (K,) if by is None else by + (K, M)
            pairs.append((x, y))
    return pairs


def _name(shape):
    return "x".join(map(str, shape)) or "0d"


MATMUL = [
    Case(f"matmul_{_name(x)}@{_name(y)}", lambda L, a, b: a @ b, [x, y], (L.MatMul,))
    for x, y in _matmul_shapes()
]

TABLE = MATMUL + [
    Case("matmul_fn", lambda L, a, b: L.matmul(a, b), [(N, K), (K, M)], (L.MatMul,)),
    Case("matmul_method", lambda L, a, b: a.matmul(b), [(2, N, K), (K,)], (L.MatMul,)),
    Case("rmatmul_chain", lambda L, a, b, c: (a @ b) @ c, [(N, K), (K, M), (M, 2)], (L.MatMul,)),
    Case("matmul_same_input", lambda L, a: a @ a, [(K, K)], (L.MatMul,)),
    # transposed (column-major) views go to BLAS with a transpose flag, without a copy
    Case("matmul_noncontig", lambda L, a, b: a @ b, [(N, K), (K, M)], (L.MatMul,), noncontig=True),
    Case("matmul_noncontig_batch", lambda L, a, b: a @ b, [(2, N, K), (K, M)], (L.MatMul,), noncontig=True),
    Case("matmul_noncontig_bcast", lambda L, a, b: a @ b, [(3, 1, N, K), (2, K, M)], (L.MatMul,),
         noncontig=True),
    Case("matmul_transpose_view", lambda L, a, b: a.t() @ b.transpose(0, 1), [(K, N), (M, K)], (L.MatMul,)),
    # views BLAS cannot take (a step in both axes, a stride of 0) are copied first
    Case("matmul_strided_slice", lambda L, a, b: a[:, ::2] @ b[::2], [(N, 2 * K), (2 * K, M)], (L.MatMul,)),
    Case("matmul_expanded", lambda L, a, b: a.expand(N, K) @ b, [(1, K), (K, M)], (L.MatMul,)),
    # a batch times one matrix is folded into one GEMM, forward and in dL/dy
    Case("matmul_fold_3d", lambda L, a, b: a @ b, [(3, 5, 6), (6, 7)], (L.MatMul,), gradcheck=False),
    Case("matmul_fold_4d", lambda L, a, b: a @ b, [(2, 3, 4, 6), (6, 5)], (L.MatMul,), gradcheck=False),
    Case("matmul_fold_vec", lambda L, a, b: a @ b, [(2, 3, 4, 6), (6,)], (L.MatMul,), gradcheck=False),
    Case("matmul_large", lambda L, a, b: a @ b, [(64, 96), (96, 80)], (L.MatMul,), gradcheck=False,
         rtol=1e-5, atol=1e-4),  # 96-term float32 sums: BLAS blocking orders the adds differently
    Case("matmul_float64", lambda L, a, b: a.double() @ b.double(), [(N, K), (K, M)], (L.MatMul, E.Cast)),
    Case("matmul_int64", lambda L, a, b: a @ b, [(N, K), (K, M)], (L.MatMul,), dtypes=["int64", "int64"],
         low=-5, high=5, grad=False, gradcheck=False),
    Case("matmul_size0", lambda L, a, b: a @ b, [(0, K), (K, M)], (L.MatMul,), gradcheck=False),
    Case("matmul_inner0", lambda L, a, b: a @ b, [(N, 0), (0, M)], (L.MatMul,), gradcheck=False),
    # named forms
    Case("mm", lambda L, a, b: L.mm(a, b), [(N, K), (K, M)], (L.MatMul,)),
    Case("mm_method_noncontig", lambda L, a, b: a.mm(b), [(N, K), (K, M)], (L.MatMul,), noncontig=True),
    Case("bmm", lambda L, a, b: L.bmm(a, b), [(2, N, K), (2, K, M)], (L.MatMul,)),
    Case("bmm_method_noncontig", lambda L, a, b: a.bmm(b), [(2, N, K), (2, K, M)], (L.MatMul,),
         noncontig=True),
    Case("mv", lambda L, a, b: L.mv(a, b), [(N, K), (K,)], (L.MatMul,)),
    Case("mv_method", lambda L, a, b: a.mv(b), [(M, K), (K,)], (L.MatMul,), noncontig=True),
    Case("dot", lambda L, a, b: L.dot(a, b), [(K,), (K,)], (L.MatMul,)),
    Case("dot_method", lambda L, a, b: a.dot(b), [(5,), (5,)], (L.MatMul,)),
    Case("outer", lambda L, a, b: L.outer(a, b), [(N,), (M,)], (E.Mul,)),
    Case("outer_method", lambda L, a, b: a.outer(b), [(K,), (1,)], (E.Mul,)),
    Case("outer_promotes", lambda L, a, b: L.outer(a, b.double()), [(N,), (M,)], (E.Mul, E.Cast)),
]


def _ein(name, eq, shapes, **kw):
    return Case(f"einsum_{name}", lambda L, *xs: L.einsum(eq, *xs), shapes, (L.Einsum,), **kw)


EINSUM = [
    # the attention and bilinear forms
    _ein("bmm", "bij,bjk->bik", [(2, N, K), (2, K, M)]),
    _ein("attention_scores", "bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    _ein("attention_values", "bhqk,bhkd->bhqd", [(2, 2, 3, 5), (2, 2, 5, 4)]),
    _ein("outer", "i,j->ij", [(N,), (M,)]),
    _ein("bilinear", "bn,anm,bm->ba", [(2, K), (4, K, N), (2, N)]),
    _ein("diagonal", "ii->i", [(K, K)]),
    _ein("transpose", "ij->ji", [(N, K)]),
    _ein("ellipsis_matmul", "...ij,...jk->...ik", [(2, N, K), (2, K, M)]),
    _ein("ellipsis_bcast", "...ij,...jk->...ik", [(2, 1, N, K), (3, K, M)]),
    _ein("ellipsis_missing", "...ij,jk->...ik", [(2, N, K), (K, M)]),
    # sums over repeated indices
    _ein("trace", "ii", [(K, K)]),
    _ein("trace_explicit", "ii->", [(K, K)]),
    _ein("matmul_implicit", "ij,jk", [(N, K), (K, M)]),
    _ein("dot", "i,i->", [(K,), (K,)]),
    _ein("dot_implicit", "i,i", [(K,), (K,)]),
    _ein("row_sum", "ij->i", [(N, K)]),
    _ein("sum_all", "ij->", [(N, K)]),
    _ein("hadamard", "ij,ij->ij", [(N, K), (N, K)]),
    _ein("size1_bcast", "ij,ij->ij", [(1, K), (N, K)]),
    _ein("batch_diag", "bii->bi", [(2, K, K)]),
    _ein("diag_sum_other", "iij->j", [(K, K, N)]),
    _ein("diag_both_operands", "ii,ij->j", [(K, K), (K, N)]),
    _ein("split_diag", "iji->j", [(K, N, K)]),
    _ein("three_way", "ijk,ik->j", [(N, K, M), (N, M)]),
    _ein("chain3", "ij,jk,kl->il", [(N, K), (K, M), (M, 2)]),
    _ein("mixed_case", "iJ,Jk->ik", [(N, K), (K, M)]),
    _ein("spaces", "b i j , b j k -> b i k", [(2, N, K), (2, K, M)]),
    _ein("ellipsis_sum", "...i->i", [(2, N, K)]),
    _ein("ellipsis_implicit", "i...", [(N, K, M)]),
    _ein("ellipsis_middle", "a...b,b...a", [(N, K, M), (M, K, N)]),
    _ein("scalar_operand", "i,->i", [(K,), ()]),
    _ein("permute_sum", "ijk->kj", [(N, K, M)]),
    _ein("noncontig", "bij,bkj->bik", [(2, N, K), (2, M, K)], noncontig=True),
    _ein("float64", "ij,jk->ik", [(N, K), (K, M)], dtypes=["float64", "float64"]),
    _ein("int64", "ij,jk->ik", [(N, K), (K, M)], dtypes=["int64", "int64"], low=-4, high=4, grad=False,
         gradcheck=False),
]
TABLE += EINSUM


@pytest.mark.parametrize("case", TABLE, ids=str)
def test_against_torch(case):
    check_case(case)


@pytest.mark.parametrize("case", [c for c in TABLE if c.gradcheck and c.grad], ids=str)
def test_gradcheck(case):
    gradcheck_case(case)


def test_matmul_keeps_each_float_dtype():
    a, b = ember.randn(4, 5), ember.randn(5, 3)
    for dt in (ember.float32, ember.float64, ember.float16):
        assert (a.to(dt) @ b.to(dt)).dtype == dt
        assert ember.einsum("ij,jk->ik", a.to(dt), b.to(dt)).dtype == dt


# ---- the BLAS path ----------------------------------------------------------------------------------
def test_blas_ready_copies_only_what_blas_cannot_take():
    a = np.ones((6, 8), np.float32)
    assert numpy_linalg.blas_ready(a) is a
    t = a.T
    assert numpy_linalg.blas_ready(t) is t  # column-major: BLAS takes it with a transpose flag
    row = a[:3]
    assert numpy_linalg.blas_ready(row) is row  # a block of rows keeps unit stride
    strided = a[:, ::2]
    fixed = numpy_linalg.blas_ready(strided)
    assert fixed is not strided and fixed.flags.c_contiguous
    bcast = np.broadcast_to(np.ones(8, np.float32), (6, 8))
    assert numpy_linalg.blas_ready(bcast).flags.c_contiguous
    ints = np.ones((6, 8), np.int64)[:, ::2]
    assert numpy_linalg.blas_ready(ints) is ints  # no BLAS for integers: nothing to gain by a copy


@pytest.mark.parametrize("make", [
    lambda a: a[:, ::2],  # both strides > itemsize
    lambda a: np.broadcast_to(a[:1], a.shape),  # a stride of 0
    lambda a: a.T[::2].T,
], ids=["strided", "broadcast", "strided_t"])
def test_matmul_of_views_blas_cannot_take(make):
    rng = np.random.default_rng(0)
    a = make(rng.standard_normal((6, 8)).astype(np.float32))
    b = rng.standard_normal((a.shape[1], 5)).astype(np.float32)
    out = (NumpyBuffer(a) @ NumpyBuffer(b)).data
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, np.asarray(a, np.float64) @ b, rtol=1e-5, atol=1e-5)
    # batched, with the view as the shared right operand
    c = rng.standard_normal((3, 2, a.shape[0])).astype(np.float32)
    out = (NumpyBuffer(c) @ NumpyBuffer(a)).data
    np.testing.assert_allclose(out, c.astype(np.float64) @ a, rtol=1e-5, atol=1e-5)


def test_einsum_backend_two_operand_forms_match_numpy():
    rng = np.random.default_rng(1)
    forms = {
        "bij,bjk->bik": [(2, 3, 4), (2, 4, 5)],
        "bhqd,bhkd->bhqk": [(2, 3, 4, 5), (2, 3, 6, 5)],
        "ij,jk->ki": [(3, 4), (4, 5)],
        "i,j->ij": [(3,), (4,)],
        "ijk,jl->ilk": [(2, 3, 4), (3, 5)],
        "ij,kl->": [(2, 3), (4, 5)],  # letters only one side has are summed first
        "ij,ij->i": [(3, 4), (3, 4)],
        "ij,ji->": [(3, 4), (4, 3)],
        "ii,ij->j": [(3, 3), (3, 4)],  # a diagonal: left to np.einsum
        "ij,ij->ij": [(1, 4), (3, 4)],  # size-1 broadcast: left to np.einsum
    }
    for eq, shapes in forms.items():
        arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
        out = NumpyBuffer.einsum(eq, *[NumpyBuffer(a) for a in arrays]).data
        want = np.einsum(eq, *[a.astype(np.float64) for a in arrays])
        assert out.dtype == np.float32, eq
        np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5, err_msg=eq)
    ints = [np.arange(6, dtype=np.int32).reshape(2, 3), np.ones((3, 4), np.int32)]
    out = NumpyBuffer.einsum("ij,kl->ik", *[NumpyBuffer(a) for a in ints]).data
    assert out.dtype == np.int32  # the early sum keeps the dtype
    np.testing.assert_array_equal(out, np.einsum("ij,kl->ik", *ints))


# ---- errors ---------------------------------------------------------------------------------------
def _t(*shape, dtype=None):
    return ember.ones(*shape, dtype=dtype)


@pytest.mark.parametrize("fn, exc, match", [
    (lambda: _t(3, 4) @ _t(5, 6), RuntimeError,
     r"^matmul: \(3, 4\) @ \(5, 6\): inner dimensions 4 and 5 differ$"),
    (lambda: _t(3) @ _t(4), RuntimeError, r"matmul: \(3,\) @ \(4,\): inner dimensions 3 and 4 differ"),
    (lambda: _t(2, 3) @ _t(4), RuntimeError, r"matmul: \(2, 3\) @ \(4,\): inner dimensions 3 and 4 differ"),
    (lambda: _t(3) @ _t(2, 4, 5), RuntimeError, r"matmul: \(3,\) @ \(2, 4, 5\): inner dimensions 3 and 4"),
    (lambda: _t() @ _t(3), RuntimeError,
     r"matmul: both arguments need at least 1 dimension, got shapes \(\) and"),
    (lambda: _t(2, 3, 4) @ _t(5, 4, 6), RuntimeError,
     r"matmul: \(2, 3, 4\) @ \(5, 4, 6\): batch dimensions \(2,\) and \(5,\) are not broadcastable"),
    (lambda: _t(2, 3) @ _t(3, 2, dtype=ember.float64), RuntimeError,
     r"matmul: expected both operands to have the same dtype, got ember.float32 and ember.float64"),
    (lambda: ember.matmul(_t(2, 3, dtype=ember.bool), _t(3, 2, dtype=ember.bool)), NotImplementedError,
     r"matmul: not implemented for dtype ember.bool"),
    (lambda: _t(2, 3) @ 2, TypeError, r"unsupported operand type"),
    (lambda: 2 @ _t(2, 3), TypeError, r"unsupported operand type"),
    (lambda: ember.matmul(_t(2, 3), 2), TypeError, r"matmul: argument 'other' must be a Tensor, not int"),
    (lambda: ember.matmul([1.0], _t(2)), TypeError, r"matmul: argument 'input' must be a Tensor, not list"),
    (lambda: ember.mm(_t(2, 3, 3), _t(3, 3)), RuntimeError,
     r"mm: expected 2-d tensors, got shapes \(2, 3, 3\)"),
    (lambda: ember.mm(_t(2, 3), _t(4, 3)), RuntimeError,
     r"mm: \(2, 3\) @ \(4, 3\): inner dimensions 3 and 4 differ"),
    (lambda: ember.mm(_t(2, 3), 1.0), TypeError, r"mm: argument 'mat2' must be a Tensor, not float"),
    (lambda: ember.mm(_t(2, 3), _t(3, 2, dtype=ember.float64)), RuntimeError, r"mm: expected both operands"),
    (lambda: ember.bmm(_t(2, 3), _t(3, 2)), RuntimeError, r"bmm: expected 3-d tensors, got shapes \(2, 3\)"),
    (lambda: ember.bmm(_t(2, 3, 3), _t(3, 3, 3)), RuntimeError,
     r"bmm: batch sizes 2 and 3 differ: shapes \(2, 3, 3\) and \(3, 3, 3\)"),
    (lambda: ember.bmm(_t(2, 3, 4), _t(2, 3, 4)), RuntimeError, r"bmm: \(2, 3, 4\) @ \(2, 3, 4\): inner"),
    (lambda: ember.mv(_t(2, 3), _t(3, 1)), RuntimeError,
     r"mv: expected a 2-d matrix and a 1-d vector, got shapes \(2, 3\) and \(3, 1\)"),
    (lambda: ember.mv(_t(2, 3), _t(2)), RuntimeError,
     r"mv: \(2, 3\) @ \(2,\): inner dimensions 3 and 2 differ"),
    (lambda: ember.dot(_t(2, 2), _t(2)), RuntimeError,
     r"dot: expected 1-d tensors, got shapes \(2, 2\) and \(2,\)"),
    (lambda: ember.dot(_t(2), _t(3)), RuntimeError, r"dot: vectors of lengths 2 and 3 differ"),
    (lambda: ember.dot(_t(2), _t(2, dtype=ember.float64)), RuntimeError, r"dot: expected both operands"),
    (lambda: ember.outer(_t(2, 1), _t(2)), RuntimeError, r"outer: expected 1-d tensors, got shapes \(2, 1\)"),
    (lambda: ember.outer(_t(2), 3), TypeError, r"outer: argument 'vec2' must be a Tensor, not int"),
    (lambda: ember.dot(3, _t(2)), TypeError, r"dot: argument 'input' must be a Tensor, not int"),
])
def test_errors(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn()


@pytest.mark.parametrize("eq, shapes, match", [
    ("ij,jk->ik", [(2, 3)], r"einsum: fewer operands were provided \(1\) than specified in the equation"),
    ("ij->ij", [(2, 3), (2,)], r"einsum: more operands were provided \(2\) than specified"),
    ("i1->i", [(2, 3)], r"einsum: invalid subscript '1' in 'i1->i'; subscripts must be in \[a-zA-Z\]"),
    ("i .. j", [(3, 2)], r"einsum: '\.' in operand 0 of 'i \.\. j' that is not part of an ellipsis"),
    ("ij->i..", [(3, 2)], r"einsum: '\.' in the output"),
    ("ijk->ij", [(2, 3)], (r"einsum: operand 0 has 2 dimensions \(shape \(2, 3\)\) but its subscripts 'ijk' "
                           r"name 3 and no ellipsis was given")),
    ("ij...k", [(2, 3)], r"einsum: operand 0 has 2 dimensions .* name 3$"),
    ("ii->i", [(2, 3)], r"einsum: subscript 'i' is repeated in operand 0 with different sizes 2 and 3"),
    ("ij,jk", [(2, 3), (4, 5)], (r"einsum: subscript 'j' has size 4 in operand 1 \(shape \(4, 5\)\), which "
                                 r"does not broadcast with size 3")),
    ("...ij,...jk", [(2, 2, 3), (5, 3, 4)], r"einsum: ellipsis dimension has size 5 in operand 1"),
    ("ij->jj", [(2, 3)], r"einsum: output subscript 'j' appears more than once"),
    ("ij->k", [(2, 3)], r"einsum: output subscript 'k' does not appear in any operand"),
    ("ij->ij->", [(2, 3)], r"einsum: more than one '->'"),
])
def test_einsum_errors(eq, shapes, match):
    with pytest.raises(RuntimeError, match=match):
        ember.einsum(eq, *[_t(*s) for s in shapes])


def test_einsum_argument_errors():
    with pytest.raises(RuntimeError, match=r"einsum: expected all operands to have the same dtype, got "
                                           r"ember.float32, ember.float64"):
        ember.einsum("i,i", _t(2), _t(2, dtype=ember.float64))
    with pytest.raises(TypeError, match=r"einsum: the equation must be a string, got Tensor"):
        ember.einsum(_t(2), [0], _t(2), [0])
    with pytest.raises(TypeError, match=r"einsum: operand 1 must be a Tensor, not float"):
        ember.einsum("i,i", _t(2), 1.0)
    with pytest.raises(RuntimeError, match=r"einsum: must provide at least one operand"):
        ember.einsum("i")
    with pytest.raises(RuntimeError, match=r"einsum: too many dimensions for the 52 subscript letters"):
        ember.einsum(string.ascii_letters[:50] + "...", ember.ones(*([1] * 53)))


def test_einsum_operands_as_list_and_grad_of_repeated_operand():
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = ember.einsum("i,i->", [x, x])
    assert y.item() == 14.0
    y.backward()
    assert x.grad.tolist() == [2.0, 4.0, 6.0]


def test_errors_leave_no_graph():
    a = ember.ones(3, 4, requires_grad=True)
    with pytest.raises(RuntimeError):
        a @ ember.ones(5, 6)
    assert a.grad is None and a.is_leaf


# ---- hypothesis: random shapes and random equations --------------------------------------------------
@st.composite
def matmul_pair(draw):
    """Two operands of 1-4 dims with broadcastable batch dimensions (some of them 1)."""
    n, k, m = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dx, dy = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    batch = draw(st.lists(st.integers(1, 3), min_size=2, max_size=2))

    def batch_of(d):
        b = batch[len(batch) - (d - 2):] if d > 2 else []
        return tuple(1 if draw(st.booleans()) else s for s in b)

    x = (k,) if dx == 1 else batch_of(dx) + (n, k)
    y = (k,) if dy == 1 else batch_of(dy) + (k, m)
    return x, y


@settings(max_examples=60, deadline=None)
@given(pair=matmul_pair(), transpose=st.booleans())
def test_matmul_random_shapes(pair, transpose):
    x, y = pair
    check_case(Case(f"hyp_matmul_{x}_{y}_{transpose}", lambda L, a, b: a @ b, [x, y], (L.MatMul,),
                    noncontig=transpose))


@st.composite
def einsum_case(draw):
    """A random einsum of 1-3 operands over a few letters, with explicit or implicit output."""
    letters = "abcde"
    size = {c: draw(st.integers(1, 3)) for c in letters}
    n_ops = draw(st.integers(1, 3))
    terms = [draw(st.lists(st.sampled_from(letters), min_size=0, max_size=3)) for _ in range(n_ops)]
    used = sorted(set(itertools.chain(*terms)))
    explicit = draw(st.booleans())
    if explicit:
        perm = draw(st.permutations(used))
        out = perm[: draw(st.integers(0, len(perm)))]
        eq = ",".join("".join(t) for t in terms) + "->" + "".join(out)
    else:
        eq = ",".join("".join(t) for t in terms)
    shapes = [tuple(size[c] for c in t) for t in terms]
    return eq, shapes


@settings(max_examples=80, deadline=None)
@given(case=einsum_case())
def test_einsum_random_equations(case):
    eq, shapes = case
    check_case(Case(f"hyp_einsum_{eq}", lambda L, *xs: L.einsum(eq, *xs), shapes, (L.Einsum,),
                    rtol=1e-5, atol=1e-5))  # up to 27-term float32 sums, added in another order


def test_einsum_large_attention_matches_torch():
    rng = np.random.default_rng(2)
    q, k = (rng.standard_normal((2, 4, 33, 16)).astype(np.float32) for _ in range(2))
    out = ember.einsum("bhqd,bhkd->bhqk", ember.from_numpy(q), ember.from_numpy(k))
    want = torch.einsum("bhqd,bhkd->bhqk", torch.from_numpy(q), torch.from_numpy(k))
    assert out.dtype == ember.float32
    assert_close(out.numpy(), want.numpy(), 1e-5, 1e-5, "attention scores")
