"""Property tests: reduction output shapes and dtypes equal torch's for random shapes, dims and keepdim."""

import warnings

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ember

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def shape_and_dims(draw, allow_zero=False):
    """A shape of rank 0-4 and a dim argument for it: None, an int, or a tuple of distinct ints."""
    shape = tuple(draw(st.lists(st.integers(0 if allow_zero else 1, 4), min_size=0, max_size=4)))
    nd = len(shape)
    if nd == 0:
        dim = draw(st.sampled_from([None, 0, -1]))
    else:
        axes = st.integers(-nd, nd - 1)
        dim = draw(st.one_of(st.none(), axes, st.lists(axes, min_size=1, max_size=nd,
                                                       unique_by=lambda d: d % nd).map(tuple)))
    return shape, dim, draw(st.booleans())


@st.composite
def shape_and_dim(draw):
    """A shape of rank 0-4 with one valid dim (for ops that take a single int dim)."""
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=4)))
    nd = max(len(shape), 1)
    return shape, draw(st.integers(-nd, nd - 1)), draw(st.booleans())


def _pair(shape, dtype="float32", seed=0):
    a = np.random.default_rng(seed).uniform(-2, 2, shape).astype(dtype)
    return torch.from_numpy(a.copy()), ember.from_numpy(a.copy())


def _same(t, e):
    assert tuple(e.shape) == tuple(t.shape), (tuple(e.shape), tuple(t.shape))
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]


@SETTINGS
@given(shape_and_dims(), st.sampled_from(["sum", "mean", "amax", "amin", "logsumexp", "var", "std", "norm",
                                          "all", "any", "count_nonzero"]))
def test_multi_dim_reductions(sd, op):
    shape, dim, keepdim = sd
    t, e = _pair(shape)
    if op == "logsumexp" and dim is None:
        dim = tuple(range(len(shape)))  # logsumexp requires a dim in torch
        if not dim:
            return
    if op == "norm":
        _same(t.norm(2, dim=dim, keepdim=keepdim), e.norm(2, dim=dim, keepdim=keepdim))
    elif op in ("all", "any"):
        _same(getattr(t > 0, op)(dim=dim, keepdim=keepdim), getattr(e > 0, op)(dim=dim, keepdim=keepdim))
    elif op == "count_nonzero":
        _same(t.count_nonzero(dim=dim), e.count_nonzero(dim=dim))
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # var/std with no degrees of freedom, in both
            t_out = getattr(t, op)(dim=dim, keepdim=keepdim)
            e_out = getattr(e, op)(dim=dim, keepdim=keepdim)
        _same(t_out, e_out)
        np.testing.assert_allclose(e_out.numpy(), t_out.numpy(), rtol=1e-5, atol=1e-5)


@SETTINGS
@given(shape_and_dims(), st.sampled_from(["int32", "int64", "bool", "uint8"]))
def test_integer_sum_dtypes(sd, dtype):
    shape, dim, keepdim = sd
    a = np.random.default_rng(1).integers(0, 3, shape).astype(dtype)
    t, e = torch.from_numpy(a.copy()), ember.from_numpy(a.copy())
    for name in ("sum", "all", "any"):
        t_out, e_out = getattr(t, name)(dim=dim, keepdim=keepdim), getattr(e, name)(dim=dim, keepdim=keepdim)
        _same(t_out, e_out)
        assert (e_out.numpy() == t_out.numpy()).all()


@SETTINGS
@given(shape_and_dim(), st.sampled_from(["max", "min", "argmax", "argmin", "median", "sort", "argsort",
                                         "topk", "cumsum", "softmax", "log_softmax", "prod", "kthvalue"]))
def test_single_dim_ops(sd, op):
    shape, dim, keepdim = sd
    n = int(np.prod(shape))
    vals = np.random.default_rng(2).permutation(n).reshape(shape).astype(np.float32)  # distinct: no ties
    t, e = torch.from_numpy(vals.copy()), ember.from_numpy(vals.copy())
    size = shape[dim] if shape else 1
    if op in ("max", "min", "median", "argmax", "argmin", "prod"):
        args, kwargs = (dim,), {"keepdim": keepdim}
    elif op == "kthvalue":
        args, kwargs = ((size + 1) // 2, dim), {"keepdim": keepdim}
    elif op == "topk":
        args, kwargs = (max(1, size // 2), dim), {"largest": keepdim}
    elif op in ("sort", "argsort"):
        args, kwargs = (dim, keepdim), {}
    else:
        args, kwargs = (dim,), {}
    t_out, e_out = getattr(t, op)(*args, **kwargs), getattr(e, op)(*args, **kwargs)
    t_list = list(t_out) if isinstance(t_out, tuple) else [t_out]
    e_list = list(e_out) if isinstance(e_out, tuple) else [e_out]
    assert len(t_list) == len(e_list)
    for to, eo in zip(t_list, e_list):
        _same(to, eo)
        np.testing.assert_allclose(eo.numpy(), to.numpy(), rtol=1e-5, atol=1e-6)


@SETTINGS
@given(shape_and_dims(allow_zero=True), st.sampled_from(["sum", "mean", "amax", "amin", "logsumexp", "norm",
                                                          "all", "any", "prod", "max", "argmax", "softmax"]))
def test_empty_and_invalid_agree_with_torch(sd, op):
    """With zero-size dims, ember raises exactly when torch does (same type), else matches its shape."""
    shape, dim, keepdim = sd
    t, e = _pair(shape)
    if op in ("prod", "max", "argmax", "softmax") and isinstance(dim, tuple):
        dim = dim[0]  # these take a single int dim
    if op == "logsumexp" and dim is None:
        dim = tuple(range(len(shape))) or 0
    args = {"dim": dim} if op == "softmax" else {"dim": dim, "keepdim": keepdim}
    if op in ("max", "argmax", "prod") and dim is None:
        args = {}

    def run(x):
        try:
            with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
                warnings.simplefilter("ignore")
                out = getattr(x, op)(**args)
            return out[0] if isinstance(out, tuple) else out
        except (RuntimeError, IndexError, TypeError) as err:
            return type(err)

    t_out, e_out = run(t), run(e)
    if isinstance(t_out, type):
        assert e_out is t_out or (isinstance(e_out, type) and issubclass(e_out, t_out)), (t_out, e_out)
    else:
        assert not isinstance(e_out, type), f"ember raised {e_out.__name__}, torch gave {tuple(t_out.shape)}"
        _same(t_out, e_out)
