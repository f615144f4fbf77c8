"""Joining and padding: ``cat``, ``stack``, ``hstack``, ``vstack`` and ``pad`` (``nn.functional.pad``).

``cat`` is one ``Concatenate``; ``stack`` is unsqueeze + cat. Constant padding is
one ``Pad`` (negative widths crop with a ``Shrink``); reflect, replicate and circular
padding are compositions of shrink, flip, expand and cat, so they need no backward
of their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ember import dtypes
from ember._tensor.core import TensorCore, _norm_dim
from ember.ops import movement as M

if TYPE_CHECKING:
    from ember._tensor import Tensor


def _tensor_list(tensors: Any, op: str) -> list[Tensor]:
    if isinstance(tensors, TensorCore) or not isinstance(tensors, (list, tuple)):
        raise TypeError(
            f"{op}: argument 'tensors' must be a tuple or list of Tensors, not {type(tensors).__name__}"
        )
    for i, t in enumerate(tensors):
        if not isinstance(t, TensorCore):
            raise TypeError(f"{op}: expected a Tensor at position {i}, got {type(t).__name__}")
    return list(tensors)  # type: ignore[arg-type]


def cat(tensors: Any, dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension ``dim``; all other sizes must match.

    Example:
        >>> import ember
        >>> ember.cat([ember.zeros(1, 2), ember.ones(2, 2)]).shape
        ember.Size([3, 2])
    """
    ts = _tensor_list(tensors, "cat")
    if not ts:
        raise ValueError("cat: expected a non-empty list of Tensors")
    for i, t in enumerate(ts):
        if t.ndim == 0:
            raise RuntimeError(f"cat: zero-dimensional tensor (at position {i}) cannot be concatenated")
    # PyTorch skips 1-d empty tensors (legacy) when anything else takes part
    numbered = [(i, t) for i, t in enumerate(ts) if t._buf.shape != (0,)] or [(0, ts[0])]
    keep = [t for _, t in numbered]
    first = keep[0]._buf.shape
    d = _norm_dim(dim, len(first), "cat")
    for i, t in numbered[1:]:
        s = t._buf.shape
        if len(s) != len(first):
            raise RuntimeError(
                f"cat: tensors must have same number of dimensions: got {len(first)} and {len(s)}"
            )
        for a, (m, n) in enumerate(zip(first, s)):
            if a != d and m != n:
                raise RuntimeError(
                    f"cat: sizes of tensors must match except in dimension {d}. "
                    f"Expected size {m} but got size {n} for tensor number {i} in the list"
                )
    if len(keep) != len(ts):  # the skipped empties still get a (zero-size) gradient
        empty = first[:d] + (0,) + first[d + 1 :]
        keep = [M.Reshape.apply(t, shape=empty) if t._buf.shape == (0,) else t for t in ts]
    target = keep[0].dtype
    if any(t.dtype is not target for t in keep):
        target = dtypes.result_type([(t.dtype, 2) for t in keep])
        keep = [t.to(target) for t in keep]
    return M.Concatenate.apply(*keep, axis=d)


concat = concatenate = cat


def stack(tensors: Any, dim: int = 0) -> Tensor:
    """Join equally shaped tensors along a new dimension ``dim``."""
    ts = _tensor_list(tensors, "stack")
    if not ts:
        raise RuntimeError("stack: expects a non-empty TensorList")
    shape = ts[0]._buf.shape
    for i, t in enumerate(ts[1:], 1):
        if t._buf.shape != shape:
            raise RuntimeError(
                f"stack: expects each tensor to be equal size, but got {list(shape)} at entry 0 and "
                f"{list(t.shape)} at entry {i}"
            )
    d = _norm_dim(dim, len(shape) + 1, "stack")
    new = shape[:d] + (1,) + shape[d:]
    return cat([M.Reshape.apply(t, shape=new) for t in ts], d)


def hstack(tensors: Any) -> Tensor:
    """Join column-wise: along dim 0 for 1-d tensors, else along dim 1."""
    ts = [t.reshape(1) if t.ndim == 0 else t for t in _tensor_list(tensors, "hstack")]
    return cat(ts, 0 if ts and all(t.ndim == 1 for t in ts) else 1)


def vstack(tensors: Any) -> Tensor:
    """Join row-wise (along dim 0), viewing 0-d and 1-d tensors as rows."""
    ts = [t.reshape(1, -1) if t.ndim < 2 else t for t in _tensor_list(tensors, "vstack")]
    return cat(ts, 0)


def pad(input: Tensor, pad: Any, mode: str = "constant", value: float | None = None) -> Tensor:  # noqa: A002
    """Pad the last ``len(pad) // 2`` dims: ``pad = (left, right, top, bottom, ...)``, last dim first.

    Args:
        input: the tensor to pad.
        pad: pairs of (before, after) widths, starting from the last dimension; negative
            widths crop.
        mode: ``'constant'`` (fill with ``value``), ``'reflect'`` (mirror without the edge),
            ``'replicate'`` (repeat the edge) or ``'circular'`` (wrap around).
        value: the fill value for ``'constant'`` (default 0).

    Example:
        >>> import ember
        >>> pad(ember.ones(2, 2), (1, 0)).tolist()
        [[0.0, 1.0, 1.0], [0.0, 1.0, 1.0]]
    """
    if not isinstance(input, TensorCore):
        raise TypeError(f"pad: expected a Tensor, got {type(input).__name__}")
    widths_flat = [int(p) for p in pad]
    shape = input._buf.shape
    nd = len(shape)
    if len(widths_flat) % 2:
        raise RuntimeError(f"pad: padding length must be divisible by 2, got {len(widths_flat)}")
    k = len(widths_flat) // 2
    if k > nd:
        raise RuntimeError(
            f"pad: padding length should be less than or equal to two times the input dimension but got "
            f"padding length {len(widths_flat)} and input of dimension {nd}"
        )
    pairs = [(0, 0)] * (nd - k) + [(widths_flat[2 * i], widths_flat[2 * i + 1]) for i in reversed(range(k))]
    if mode == "constant":
        return _pad_constant(input, pairs, 0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"pad: unrecognised padding mode {mode!r}")
    if value is not None and value != 0:
        raise RuntimeError(f'pad: padding mode "{mode}" doesn\'t take in value argument')
    if not 1 <= k <= 3 or nd not in (k + 1, k + 2):
        raise NotImplementedError(
            f"pad: padding size {len(widths_flat)} is not supported for {nd}D input tensor in mode {mode!r}"
        )
    x = input
    for d, (a, b) in enumerate(pairs):
        if (a, b) == (0, 0):
            continue
        n = shape[d]
        limit = n if mode == "circular" else n - 1 if mode == "reflect" else None
        if limit is not None and (a > limit or b > limit):
            raise RuntimeError(
                f"pad: padding size should be less than the corresponding input dimension for mode {mode!r}, "
                f"but got padding ({a}, {b}) at dimension {d} of input {list(shape)}"
            )
        if mode == "replicate" and n == 0 and (a > 0 or b > 0):
            raise RuntimeError(f"pad: cannot replicate-pad an empty dimension {d} of input {list(shape)}")
        x = _pad_one(x, d, max(a, 0), max(b, 0), mode)
        if a < 0 or b < 0:  # crop after padding: the mirror/wrap uses the whole input
            size = x._buf.shape[d]
            x = _crop(x, d, -min(a, 0), size + min(b, 0))
    return x


def _crop(x: Any, d: int, start: int, stop: int) -> Tensor:
    if stop < start:
        raise RuntimeError(f"pad: the padding crops dimension {d} of size {x.shape[d]} to a negative size")
    bounds = tuple((start, stop) if a == d else (0, n) for a, n in enumerate(x._buf.shape))
    return M.Shrink.apply(x, bounds=bounds)


def _pad_constant(x: Any, pairs: list[tuple[int, int]], value: float) -> Tensor:
    if any(a < 0 or b < 0 for a, b in pairs):
        for d, (a, b) in enumerate(pairs):
            if a < 0 or b < 0:
                x = _crop(x, d, -min(a, 0), x._buf.shape[d] + min(b, 0))
        pairs = [(max(a, 0), max(b, 0)) for a, b in pairs]
    return M.Pad.apply(x, widths=tuple(pairs), value=value)


def _pad_one(x: Any, d: int, a: int, b: int, mode: str) -> Tensor:
    """Pad dim ``d`` by ``a`` before and ``b`` after, built from pieces of x."""
    n = x._buf.shape[d]
    parts = []
    if mode == "reflect":
        if a:
            parts.append(x.narrow(d, 1, a).flip(d))
        parts.append(x)
        if b:
            parts.append(x.narrow(d, n - 1 - b, b).flip(d))
    elif mode == "replicate":
        size = list(x._buf.shape)
        if a:
            size[d] = a
            parts.append(x.narrow(d, 0, 1).expand(tuple(size)))
        parts.append(x)
        if b:
            size[d] = b
            parts.append(x.narrow(d, n - 1, 1).expand(tuple(size)))
    else:  # circular
        if a:
            parts.append(x.narrow(d, n - a, a))
        parts.append(x)
        if b:
            parts.append(x.narrow(d, 0, b))
    return cat(parts, d) if len(parts) > 1 else x
