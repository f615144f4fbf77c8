"""Property tests: random indices (ints, slices with steps, None, ..., int lists, masks) against torch.

Each example builds one index from random parts, applies it to the same data in
torch and ember, and compares the result's values and the input's gradient under a
random upstream gradient; a second test writes through the same kind of index.
"""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ember

SETTINGS = settings(max_examples=150, deadline=None)


@st.composite
def shape_and_index(draw):
    """A shape of rank 1-4 and an index for it, given as a list of parts (lists stay lists)."""
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=4)))
    nd = len(shape)
    n_parts = draw(st.integers(1, nd + 2))
    list_len = draw(st.integers(1, 3))
    parts, d, has_ellipsis, has_list = [], 0, False, False
    use_mask = draw(st.integers(0, 2)) == 0
    for _ in range(n_parts):
        kinds = ["none"]
        if d < nd:
            kinds += ["int", "slice", "slice", "list", "list"]
            if use_mask and not has_list:
                kinds.append("mask")
        if not has_ellipsis:
            kinds.append("ellipsis")
        kind = draw(st.sampled_from(kinds))
        if kind == "ellipsis":
            parts.append(Ellipsis)
            has_ellipsis = True
            # the ellipsis stands for the dims no later part consumes; count them at the end
            continue
        if kind == "none":
            parts.append(None)
            continue
        n = shape[d] if not has_ellipsis else shape[min(d, nd - 1)]
        if kind == "int":
            parts.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            start = draw(st.one_of(st.none(), st.integers(-n - 2, n + 2)))
            stop = draw(st.one_of(st.none(), st.integers(-n - 2, n + 2)))
            step = draw(st.sampled_from([None, 1, 2, 3]))
            parts.append(slice(start, stop, step))
        elif kind == "list":
            m = list_len if draw(st.integers(0, 3)) else 1  # sometimes length 1, to broadcast
            parts.append(draw(st.lists(st.integers(-n, n - 1), min_size=m, max_size=m)))
            has_list = True
        else:
            parts.append(("mask", draw(st.lists(st.booleans(), min_size=n, max_size=n))))
            use_mask = False
        d += 1
    if has_ellipsis:
        # the dims after the ellipsis index the last dims: re-draw ints/lists/masks for their real sizes
        k = parts.index(Ellipsis)
        after = [p for p in parts[k + 1 :] if p is not None]
        first_after = nd - len(after)
        dim = first_after
        for j in range(k + 1, len(parts)):
            p = parts[j]
            if p is None:
                continue
            parts[j] = _refit(p, shape[dim])
            dim += 1
    return shape, parts


def _refit(part, n):
    """Bring an int/list/mask part into range for a dim of size ``n``."""
    if isinstance(part, int):
        return part % n - (n if part < 0 else 0)
    if isinstance(part, list):
        return [v % n for v in part]
    if isinstance(part, tuple):
        return ("mask", (part[1] * n)[:n])
    return part


def _build(lib, parts):
    out = []
    for p in parts:
        if isinstance(p, tuple):
            out.append(lib.tensor(p[1], dtype=lib.bool))
        elif isinstance(p, list) and len(p) == 2:
            out.append(lib.tensor(p))  # lists and tensors both take part
        else:
            out.append(p)
    return tuple(out)


def _valid_for_torch(shape, parts):
    """Only keep examples torch itself accepts (e.g. masks must not mix with lists after refitting)."""
    try:
        torch.zeros(shape)[_build(torch, parts)]
    except (IndexError, RuntimeError, ValueError):
        return False
    return True


@SETTINGS
@given(shape_and_index())
def test_getitem_values_and_grads_match_torch(case):
    shape, parts = case
    if not _valid_for_torch(shape, parts):
        return
    rng = np.random.default_rng(len(parts))
    a = rng.uniform(-2, 2, shape).astype(np.float32)
    ta = torch.from_numpy(a.copy()).requires_grad_()
    ea = ember.from_numpy(a.copy()).requires_grad_()
    to = ta[_build(torch, parts)]
    eo = ea[_build(ember, parts)]
    assert tuple(eo.shape) == tuple(to.shape), (shape, parts)
    np.testing.assert_array_equal(eo.detach().numpy(), to.detach().numpy())
    g = rng.standard_normal(tuple(to.shape)).astype(np.float32)
    to.backward(torch.from_numpy(g))
    eo.backward(ember.from_numpy(g.copy()))
    np.testing.assert_allclose(ea.grad.numpy(), ta.grad.numpy(), rtol=1e-6, atol=1e-6)


@SETTINGS
@given(shape_and_index(), st.booleans())
def test_setitem_matches_torch(case, scalar):
    shape, parts = case
    if not _valid_for_torch(shape, parts):
        return
    rng = np.random.default_rng(len(parts))
    a = rng.uniform(-2, 2, shape).astype(np.float32)
    ta, ea = torch.from_numpy(a.copy()), ember.from_numpy(a.copy())
    positions = torch.arange(ta.numel()).reshape(shape)[_build(torch, parts)]
    target = tuple(positions.shape)
    if scalar or positions.unique().numel() < positions.numel():
        # (a position written twice by a tensor value: which value wins is unspecified)
        tv = ev = 3.5
    else:
        # a value of the target's trailing shape, broadcast over the rest
        v = rng.uniform(-2, 2, target[len(target) // 2 :]).astype(np.float32)
        tv, ev = torch.from_numpy(v.copy()), ember.from_numpy(v.copy())
    ta[_build(torch, parts)] = tv
    ea[_build(ember, parts)] = ev
    np.testing.assert_array_equal(ea.numpy(), ta.numpy())
