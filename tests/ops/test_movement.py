"""Movement ops against torch (values, dtypes, gradients), finite differences, and every error."""

import numpy as np
import pytest
import torch
from optest import Case, check_case, gradcheck_case

import ember
from ember._tensor.movement import pad as ember_pad
from ember.ops import elementwise as E
from ember.ops import indexing as I
from ember.ops import movement as M


def pad(L, *args, **kwargs):
    return (torch.nn.functional.pad if L is torch else ember_pad)(*args, **kwargs)


T3 = [(2, 3, 4)]
MAT = [(3, 4)]
ZERO_D = [()]

TABLE = [
    # ---- views: reshape, squeeze, permute, expand -----------------------------------------------
    Case("reshape", lambda L, a: a.reshape(4, -1), T3, (M.Reshape,)),
    Case("reshape_noncontig", lambda L, a: a.reshape(-1), MAT, (M.Reshape,), noncontig=True),
    Case("view_0d", lambda L, a: a.view(1, 1), ZERO_D, (M.Reshape,)),
    Case("view_as", lambda L, a, b: a.view_as(b), [(2, 6), (3, 4)], (M.Reshape,)),
    Case("flatten_range", lambda L, a: a.flatten(1), T3, (M.Reshape,)),
    Case("flatten_0d", lambda L, a: L.flatten(a), ZERO_D, (M.Reshape,)),
    Case("unflatten", lambda L, a: a.unflatten(-1, (2, -1)), T3, (M.Reshape,)),
    Case("squeeze_all", lambda L, a: a.squeeze(), [(2, 1, 3, 1)], (M.Reshape,)),
    Case("squeeze_neg_dim", lambda L, a: L.squeeze(a, -1), [(2, 1, 3, 1)], (M.Reshape,)),
    Case("squeeze_dims", lambda L, a: a.squeeze((1, 2)), [(2, 1, 3, 1)], (M.Reshape,)),
    Case("unsqueeze_neg", lambda L, a: a.unsqueeze(-2), T3, (M.Reshape,)),
    Case("unsqueeze_0d", lambda L, a: L.unsqueeze(a, 0), ZERO_D, (M.Reshape,)),
    Case("permute", lambda L, a: a.permute(2, 0, 1), T3, (M.Permute,)),
    Case("permute_neg_noncontig", lambda L, a: L.permute(a, (-1, -3, -2)), T3, (M.Permute,), noncontig=True),
    Case("transpose", lambda L, a: a.transpose(0, -1), T3, (M.Permute,)),
    Case("swapaxes", lambda L, a: L.swapaxes(a, 1, 2), T3, (M.Permute,)),
    Case("t", lambda L, a: a.t(), MAT, (M.Permute,)),
    Case("t_1d", lambda L, a: L.t(a) * 1, [(3,)], (E.Mul,)),
    Case("T", lambda L, a: a.T, MAT, (M.Permute,)),
    Case("mT", lambda L, a: a.mT, T3, (M.Permute,)),
    Case("movedim", lambda L, a: L.movedim(a, (0, 1), (2, 0)), T3, (M.Permute,)),
    Case("moveaxis_int", lambda L, a: a.moveaxis(-1, 0), T3, (M.Permute,)),
    Case("expand", lambda L, a: a.expand(2, 3, 4), [(3, 1)], (M.Expand,)),
    Case("expand_minus1", lambda L, a: a.expand(5, -1, 4), [(1, 3, 1)], (M.Expand,)),
    Case("expand_0d", lambda L, a: a.expand(3, 2), ZERO_D, (M.Expand,)),
    Case("expand_as", lambda L, a, b: a.expand_as(b) * b, [(3, 1), (3, 4)], (M.Expand,)),
    Case("broadcast_to", lambda L, a: L.broadcast_to(a, (2, 3)), [(3,)], (M.Expand,)),
    # ---- repeat / tile ----------------------------------------------------------------------------
    Case("repeat", lambda L, a: a.repeat(2, 1, 3), [(2, 3)], (M.Reshape, M.Expand)),
    Case("repeat_0d", lambda L, a: a.repeat(2, 2), ZERO_D, (M.Expand,)),
    Case("repeat_zero", lambda L, a: a.repeat(0, 2), [(2, 3)], (M.Expand,), gradcheck=False),
    Case("repeat_noncontig", lambda L, a: a.repeat(2, 2), MAT, (M.Expand,), noncontig=True),
    Case("tile_short", lambda L, a: L.tile(a, (2,)), [(2, 3)], (M.Expand,)),
    # ---- flip / roll --------------------------------------------------------------------------------
    Case("flip", lambda L, a: a.flip(0, -1), T3, (M.Flip,)),
    Case("flip_list_noncontig", lambda L, a: L.flip(a, [1]), MAT, (M.Flip,), noncontig=True),
    Case("flip_0d", lambda L, a: a.flip(0), ZERO_D, (M.Reshape,)),
    Case("fliplr", lambda L, a: a.fliplr(), MAT, (M.Flip,)),
    Case("flipud", lambda L, a: L.flipud(a), [(3,)], (M.Flip,)),
    Case("roll", lambda L, a: a.roll((1, -2), (0, 2)), T3, (M.Roll,)),
    Case("roll_flat", lambda L, a: L.roll(a, 5), T3, (M.Roll,)),
    Case("roll_big_shift_noncontig", lambda L, a: a.roll(9, -1), MAT, (M.Roll,), noncontig=True),
    Case("roll_0d", lambda L, a: a.roll(1), ZERO_D, (M.Roll,)),
    # ---- narrow / split / chunk / unbind ----------------------------------------------------------
    Case("narrow", lambda L, a: a.narrow(-1, 1, 2), T3, (M.Shrink,)),
    Case("narrow_neg_start", lambda L, a: L.narrow(a, 0, -2, 2), MAT, (M.Shrink,)),
    Case("narrow_empty", lambda L, a: a.narrow(1, 4, 0), MAT, (M.Shrink,), gradcheck=False),
    Case("split_int", lambda L, a: a.split(3, -1), [(2, 3, 7)], (M.Shrink,)),
    Case("split_list", lambda L, a: L.split(a, [1, 0, 2], 1), T3, (M.Shrink,)),
    Case("split_noncontig", lambda L, a: a.split(2, 0), [(3, 4)], (M.Shrink,), noncontig=True),
    Case("chunk", lambda L, a: a.chunk(3, 0), [(7, 2)], (M.Shrink,)),
    Case("chunk_fewer_pieces", lambda L, a: L.chunk(a, 4), [(6, 2)], (M.Shrink,)),
    Case("chunk_more_than_size", lambda L, a: a.chunk(5, 1), MAT, (M.Shrink,)),
    Case("unbind", lambda L, a: a.unbind(1), T3, (I.BasicIndex,)),
    Case("unbind_neg", lambda L, a: L.unbind(a, -1), MAT, (I.BasicIndex,)),
    # ---- cat / stack -----------------------------------------------------------------------------
    Case("cat", lambda L, a, b, c: L.cat([a, b, c], 1), [(2, 1, 3), (2, 4, 3), (2, 2, 3)], (M.Concatenate,)),
    Case("cat_neg_dim_noncontig", lambda L, a, b: L.cat((a, b), -1), [(3, 2), (3, 4)], (M.Concatenate,),
         noncontig=True),
    Case("cat_single", lambda L, a: L.cat([a]), MAT, (M.Concatenate,)),
    Case("cat_same_input_twice", lambda L, a: L.cat([a, a], 0), MAT, (M.Concatenate,)),
    Case("concat", lambda L, a, b: L.concat([a, b]), [(1, 3), (2, 3)], (M.Concatenate,)),
    Case("concatenate", lambda L, a, b: L.concatenate([a, b], 1), [(2, 1), (2, 3)], (M.Concatenate,)),
    Case("cat_skips_legacy_empty", lambda L, a, b: L.cat([a, b]), [(2, 3), (0,)], (M.Concatenate,),
         gradcheck=False),
    Case("cat_promotes", lambda L, a, b: L.cat([a, b.double()]), [(2, 3), (1, 3)], (M.Concatenate, E.Cast)),
    Case("cat_int", lambda L, a, b: L.cat([a, b], 0), [(2,), (3,)], (M.Concatenate,),
         dtypes=["int64", "int64"], grad=False, gradcheck=False),
    Case("stack", lambda L, a, b: L.stack([a, b]), [(2, 3), (2, 3)], (M.Reshape, M.Concatenate)),
    Case("stack_neg_dim", lambda L, a, b, c: L.stack((a, b, c), -1), [(2, 3)] * 3, (M.Concatenate,)),
    Case("stack_0d", lambda L, a, b: L.stack([a, b]), [(), ()], (M.Concatenate,)),
    Case("hstack_1d", lambda L, a, b: L.hstack([a, b]), [(2,), (3,)], (M.Concatenate,)),
    Case("hstack_2d", lambda L, a, b: L.hstack([a, b]), [(2, 1), (2, 3)], (M.Concatenate,)),
    Case("vstack", lambda L, a, b: L.vstack([a, b]), [(3,), (2, 3)], (M.Concatenate,)),
    # ---- tril / triu -------------------------------------------------------------------------------
    Case("tril", lambda L, a: a.tril(), [(4, 5)], (M.Tril,)),
    Case("tril_batched_neg_k", lambda L, a: L.tril(a, -1), T3, (M.Tril,)),
    Case("tril_noncontig", lambda L, a: a.tril(1), [(4, 4)], (M.Tril,), noncontig=True),
    Case("triu", lambda L, a: a.triu(), [(4, 4)], (M.Triu,)),
    Case("triu_k", lambda L, a: L.triu(a, diagonal=2), [(2, 3, 5)], (M.Triu,)),
    Case("triu_int", lambda L, a: a.triu(), MAT, (M.Triu,), dtypes=["int64"], grad=False, gradcheck=False),
    # ---- pad ---------------------------------------------------------------------------------------
    Case("pad_last", lambda L, a: pad(L, a, (1, 2)), T3, (M.Pad,)),
    Case("pad_two_dims_value", lambda L, a: pad(L, a, (0, 1, 2, 0), value=3.5), T3, (M.Pad,)),
    Case("pad_all_dims", lambda L, a: pad(L, a, (1, 1, 1, 1, 1, 1)), T3, (M.Pad,)),
    Case("pad_negative_crops", lambda L, a: pad(L, a, (-1, 2, 1, -1)), T3, (M.Pad, M.Shrink)),
    Case("pad_noncontig", lambda L, a: pad(L, a, (2, 0)), MAT, (M.Pad,), noncontig=True),
    Case("pad_reflect_1d", lambda L, a: pad(L, a, (2, 3), mode="reflect"), [(2, 5)], (M.Flip, M.Concatenate)),
    Case("pad_reflect_2d", lambda L, a: pad(L, a, (1, 2, 2, 1), mode="reflect"), [(2, 3, 4)], (M.Flip,)),
    Case("pad_reflect_negative", lambda L, a: pad(L, a, (-1, 2), mode="reflect"), [(1, 3, 4)], (M.Flip,)),
    Case("pad_replicate", lambda L, a: pad(L, a, (2, 1, 0, 3), mode="replicate"), [(1, 2, 3, 4)],
         (M.Expand, M.Concatenate)),
    Case("pad_circular", lambda L, a: pad(L, a, (4, 1), mode="circular"), [(2, 3, 4)], (M.Shrink,)),
    Case("pad_int", lambda L, a: pad(L, a, (1, 1), value=7), MAT, (M.Pad,), dtypes=["int64"], grad=False,
         gradcheck=False),
]


@pytest.mark.parametrize("case", TABLE, ids=str)
def test_against_torch(case):
    check_case(case)


@pytest.mark.parametrize("case", [c for c in TABLE if c.gradcheck], ids=str)
def test_gradcheck(case):
    gradcheck_case(case)


# ---- behaviour -----------------------------------------------------------------------------------
def test_views_share_memory_and_slices_do_not_copy():
    x = ember.arange(12.0).reshape(3, 4)
    assert np.shares_memory(x.narrow(1, 1, 2).numpy(), x.numpy())
    assert np.shares_memory(x.split(2, 1)[1].numpy(), x.numpy())
    assert np.shares_memory(x.t().numpy(), x.numpy())
    assert np.shares_memory(x.expand(2, 3, 4).numpy(), x.numpy())


def test_split_chunk_on_empty_dims_match_torch():
    for lib in (torch, ember):
        assert [tuple(t.shape) for t in lib.ones(0).chunk(4)] == [(0,)] * 4
        assert [tuple(t.shape) for t in lib.ones(0).split(2)] == [(0,)]
        assert [tuple(t.shape) for t in lib.ones(5).split(5)] == [(5,)]


def test_repeat_copies_values_in_torch_order():
    x = ember.tensor([[1, 2], [3, 4]])
    assert x.repeat(1, 2).tolist() == torch.tensor([[1, 2], [3, 4]]).repeat(1, 2).tolist()
    assert x.repeat(2, 1, 1).shape == (2, 2, 2)


def test_module_level_names():
    for name in ("cat", "concat", "concatenate", "stack", "hstack", "vstack", "narrow", "chunk", "split",
                 "flip", "roll", "tril", "triu", "movedim", "moveaxis", "tile", "swapdims", "unflatten"):
        assert callable(getattr(ember, name)), name
    assert not hasattr(ember, "pad")  # torch has no torch.pad; ember.nn.functional re-exports it


def test_pad_default_and_identity():
    x = ember.ones(2, 2)
    assert ember_pad(x, (0, 0)).tolist() == x.tolist()
    assert ember_pad(x, (1, 0), value=None).tolist() == [[0.0, 1.0, 1.0], [0.0, 1.0, 1.0]]


# ---- errors --------------------------------------------------------------------------------------
def _raises(exc, match, fn):
    with pytest.raises(exc, match=match):
        fn()


X = ember.zeros(3, 4)
S = ember.tensor(1.0)

ERRORS = [
    ("narrow_0d", RuntimeError, r"narrow: cannot be applied to a 0-dim tensor", lambda: S.narrow(0, 0, 1)),
    ("narrow_start", IndexError,
     r"narrow: start out of range \(expected to be in range of \[-3, 3\], but got 5\)",
     lambda: X.narrow(0, 5, 1)),
    ("narrow_length", RuntimeError, r"narrow: length must be non-negative, got -1",
     lambda: X.narrow(0, 1, -1)),
    ("narrow_exceeds", RuntimeError, r"narrow: start \(2\) \+ length \(2\) exceeds dimension size \(3\)",
     lambda: X.narrow(0, 2, 2)),
    ("narrow_dim", IndexError, r"narrow: dimension out of range", lambda: X.narrow(2, 0, 1)),
    ("split_0d", RuntimeError, r"split: expects at least a 1-dimensional tensor", lambda: S.split(1)),
    ("split_zero", RuntimeError, (r"split: split_size can only be 0 if dimension size is 0, but got "
     r"dimension size of 3"), lambda: X.split(0)),
    ("split_negative", RuntimeError, r"split: expects split_size be non-negative, but got split_size=-1",
     lambda: X.split(-1)),
    ("split_sum", RuntimeError, (r"split_with_sizes: expects split_sizes to sum exactly to 3 \(input "
     r"tensor's size at dimension 0\), but got split_sizes=\[1, 1\]"), lambda: X.split([1, 1])),
    ("split_negative_sizes", RuntimeError, r"split_with_sizes: expects split_sizes have only non-negative",
     lambda: X.split([1, -1, 3])),
    ("chunk_0d", RuntimeError, r"chunk: expects at least a 1-dimensional tensor", lambda: S.chunk(1)),
    ("chunk_zero", RuntimeError, r"chunk: expects `chunks` to be greater than 0, got: 0", lambda: X.chunk(0)),
    ("flip_repeated", RuntimeError, r"flip: dim \(0, -2\) appears multiple times", lambda: X.flip(0, -2)),
    ("flip_dim", IndexError,
     r"flip: dimension out of range \(expected to be in range of \[-2, 1\], but got 3\)", lambda: X.flip(3)),
    ("fliplr_1d", RuntimeError, r"fliplr: input must be >= 2-d, got 1-d", lambda: ember.zeros(3).fliplr()),
    ("flipud_0d", RuntimeError, r"flipud: input must be >= 1-d, got 0-d", lambda: S.flipud()),
    ("roll_align", RuntimeError, r"roll: shifts and dimensions must align. shifts: 2, dims: 1",
     lambda: X.roll((1, 2), (0,))),
    ("roll_align_none", RuntimeError, r"roll: shifts and dimensions must align. shifts: 2, dims: 0",
     lambda: X.roll((1, 2))),
    ("roll_0d_dim", IndexError, r"roll: dimension specified as 0 but tensor has no dimensions",
     lambda: S.roll(1, 0)),
    ("roll_dim", IndexError, r"roll: dimension out of range", lambda: X.roll(1, 3)),
    ("movedim_len", RuntimeError, (r"movedim: invalid source or destination dims: source \(\[0, 1\] dims\) "
     r"should contain the same number of dims as destination \(\[1\] dims\)"),
     lambda: X.movedim((0, 1), (1,))),
    ("movedim_repeat", RuntimeError, r"movedim: repeated dim in `source` \(\[0, 0\]\)",
     lambda: X.movedim((0, 0), (1, 0))),
    ("movedim_repeat_dst", RuntimeError, r"movedim: repeated dim in `destination` \(\[1, -1\]\)",
     lambda: X.movedim((0, 1), (1, -1))),
    ("repeat_few", RuntimeError, (r"repeat: number of dimensions of repeat dims can not be smaller than "
     r"number of dimensions of tensor"), lambda: X.repeat(2)),
    ("repeat_negative", RuntimeError, (r"repeat: trying to create tensor with negative dimension: repeats "
     r"\[2, -1\]"), lambda: X.repeat(2, -1)),
    ("tril_1d", RuntimeError, r"tril: input tensor must have at least 2 dimensions, got shape \(3,\)",
     lambda: ember.zeros(3).tril()),
    ("triu_0d", RuntimeError, r"triu: input tensor must have at least 2 dimensions, got shape \(\)",
     lambda: S.triu()),
    ("cat_empty", ValueError, r"cat: expected a non-empty list of Tensors", lambda: ember.cat([])),
    ("cat_tensor", TypeError, r"cat: argument 'tensors' must be a tuple or list of Tensors, not Tensor",
     lambda: ember.cat(X)),
    ("cat_not_tensor", TypeError, r"cat: expected a Tensor at position 1, got int",
     lambda: ember.cat([X, 1])),
    ("cat_0d", RuntimeError, r"cat: zero-dimensional tensor \(at position 0\) cannot be concatenated",
     lambda: ember.cat([S, S])),
    ("cat_ndim", RuntimeError, r"cat: tensors must have same number of dimensions: got 2 and 1",
     lambda: ember.cat([X, ember.ones(4)])),
    ("cat_sizes", RuntimeError, (r"cat: sizes of tensors must match except in dimension 0. Expected size 4 "
     r"but got size 3 for tensor number 1 in the list"), lambda: ember.cat([X, ember.ones(2, 3)])),
    ("cat_dim", IndexError,
     r"cat: dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)",
     lambda: ember.cat([X, X], 2)),
    ("stack_empty", RuntimeError, r"stack: expects a non-empty TensorList", lambda: ember.stack([])),
    ("stack_sizes", RuntimeError, (r"stack: expects each tensor to be equal size, but got \[3, 4\] at entry "
     r"0 and \[2, 3\] at entry 1"), lambda: ember.stack([X, ember.ones(2, 3)])),
    ("stack_dim", IndexError,
     r"stack: dimension out of range \(expected to be in range of \[-3, 2\], but got 3\)",
     lambda: ember.stack([X, X], 3)),
    ("pad_odd", RuntimeError, r"pad: padding length must be divisible by 2, got 1",
     lambda: ember_pad(X, (1,))),
    ("pad_long", RuntimeError, (r"pad: padding length should be less than or equal to two times the input "
     r"dimension but got padding length 6 and input of dimension 2"), lambda: ember_pad(X, (1,) * 6)),
    ("pad_mode", NotImplementedError, r"pad: unrecognised padding mode 'foo'",
     lambda: ember_pad(X, (1, 1), mode="foo")),
    ("pad_value_reflect", RuntimeError, r"pad: padding mode \"reflect\" doesn't take in value argument",
     lambda: ember_pad(X, (1, 1), mode="reflect", value=1.0)),
    ("pad_reflect_size", RuntimeError, (r"pad: padding size should be less than the corresponding input "
     r"dimension for mode 'reflect', but got padding \(4, 4\) at dimension 1 of input \[3, 4\]"),
     lambda: ember_pad(X, (4, 4), mode="reflect")),
    ("pad_circular_size", RuntimeError, r"but got padding \(5, 0\) at dimension 1",
     lambda: ember_pad(X, (5, 0), mode="circular")),
    ("pad_reflect_dims", NotImplementedError, (r"pad: padding size 6 is not supported for 3D input tensor in "
     r"mode 'replicate'"), lambda: ember_pad(ember.zeros(1, 2, 3), (1,) * 6, mode="replicate")),
    ("pad_crop_negative", RuntimeError, r"pad: the padding crops dimension 1 of size 4 to a negative size",
     lambda: ember_pad(X, (-3, -2))),
    ("pad_not_tensor", TypeError, r"pad: expected a Tensor, got list", lambda: ember_pad([1.0], (1, 1))),
    ("functional_not_tensor", TypeError, r"narrow: expected a Tensor, got list",
     lambda: ember.narrow([1.0], 0, 0, 1)),
    ("reshape_bad", RuntimeError, r"reshape: shape \[5, -1\] is invalid for input of size 12",
     lambda: X.reshape(5, -1)),
    ("reshape_two_unknown", RuntimeError, r"reshape: only one dimension can be inferred",
     lambda: X.reshape(-1, -1)),
    ("view_bad", RuntimeError, r"view: shape \[5\] is invalid for input of size 12", lambda: X.view(5)),
    ("permute_count", RuntimeError, r"permute: number of dims don't match", lambda: X.permute(0)),
    ("permute_repeat", RuntimeError, r"permute: repeated dim", lambda: X.permute(0, 0)),
    ("transpose_dim", IndexError, r"transpose: dimension out of range", lambda: X.transpose(0, 2)),
    ("t_3d", RuntimeError, r"t: expects a tensor with <= 2 dimensions, but self is 3D",
     lambda: ember.zeros(1, 2, 3).t()),
    ("expand_fewer", RuntimeError, r"expand: the number of sizes provided \(1\) must be greater or equal",
     lambda: X.expand(4)),
    ("expand_mismatch", RuntimeError, (r"expand: the expanded size of the tensor \(5\) must match the "
     r"existing size \(4\) at non-singleton dimension 1"), lambda: X.expand(3, 5)),
    ("expand_new_minus1", RuntimeError, r"expand: -1 is not allowed in a leading, new dimension",
     lambda: X.expand(-1, 3, 4)),
    ("unsqueeze_dim", IndexError, r"unsqueeze: dimension out of range", lambda: X.unsqueeze(3)),
    ("squeeze_dim", IndexError, r"squeeze: dimension out of range", lambda: X.squeeze(2)),
    ("flatten_order", RuntimeError, r"flatten: start_dim cannot come after end_dim", lambda: X.flatten(1, 0)),
    ("unflatten_sizes", RuntimeError, r"unflatten: shape \[3, 2\] is invalid for input of size 4",
     lambda: X.unflatten(1, (3, 2))),
]


@pytest.mark.parametrize("exc,match,fn", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors(exc, match, fn):
    _raises(exc, match, fn)
