"""Resizing: ``interpolate`` (nearest, nearest-exact, linear, bilinear, trilinear), composed
from ``index_select`` and weighted sums, so its gradient needs no Function of its own."""

from __future__ import annotations

import math
from typing import Any

from ember import dtypes
from ember._tensor import Tensor
from ember._tensor.core import TensorCore
from ember._tensor.creation import tensor

__all__ = ["interpolate", "upsample"]

_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3}
_MODES = ("nearest", "nearest-exact", *_LINEAR)


def interpolate(
    input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
    align_corners: bool | None = None, recompute_scale_factor: bool | None = None, antialias: bool = False,
) -> Tensor:
    """Resize the spatial dims of an ``(N, C, *spatial)`` tensor to ``size`` or by ``scale_factor``.

    Sample positions follow PyTorch's: ``nearest`` takes ``floor(i * scale)``,
    ``nearest-exact`` ``floor((i + 0.5) * scale)``, and the linear modes interpolate
    between the two neighbours of ``(i + 0.5) * scale - 0.5`` (of ``i * (in - 1) / (out - 1)``
    with ``align_corners=True``), where ``scale`` is ``in / out``, or ``1 / scale_factor``
    when a scale factor is given and not recomputed.
    """
    if not isinstance(input, TensorCore):
        raise TypeError(f"interpolate: expected a Tensor as input, got {type(input).__name__}")
    x = input
    if mode not in _MODES:
        raise NotImplementedError(
            f"interpolate: mode {mode!r} is not supported; use one of {', '.join(_MODES)}"
        )
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    n_spatial = x.ndim - 2
    if n_spatial < 1:
        raise ValueError(f"interpolate: expected an input of shape (N, C, *spatial), got {tuple(x.shape)}")
    if mode in _LINEAR and _LINEAR[mode] != n_spatial:
        raise NotImplementedError(
            f"interpolate: mode {mode!r} needs {_LINEAR[mode] + 2}-d input, "
            f"got {x.ndim}-d of shape {tuple(x.shape)}")
    if mode not in _LINEAR and align_corners is not None:
        raise ValueError("interpolate: align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | trilinear")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: exactly one of size or scale_factor must be given")
    in_sizes = tuple(x.shape[2:])
    if size is not None:
        sizes = _per_dim(size, n_spatial, "size")
        out_sizes = tuple(int(s) for s in sizes)
        scales: list[float | None] = [None] * n_spatial
    else:
        factors = [float(f) for f in _per_dim(scale_factor, n_spatial, "scale_factor")]
        out_sizes = tuple(int(math.floor(n * f)) for n, f in zip(in_sizes, factors))
        scales = [None if recompute_scale_factor else 1.0 / f for f in factors]
    if any(s <= 0 for s in out_sizes):
        raise ValueError(f"interpolate: output size {out_sizes} must be positive (input {tuple(x.shape)})")
    for d, (n_in, n_out, scale) in enumerate(zip(in_sizes, out_sizes, scales)):
        x = _resize_dim(x, 2 + d, n_in, n_out, scale, mode, bool(align_corners))
    return x


def upsample(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """The older name of ``interpolate``."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def _per_dim(v: Any, n: int, name: str) -> tuple:
    if isinstance(v, (list, tuple)):
        if len(v) != n:
            raise ValueError(f"interpolate: {name} {tuple(v)} must have one entry per spatial dim ({n})")
        return tuple(v)
    return (v,) * n


def _resize_dim(x: Tensor, dim: int, n_in: int, n_out: int, scale: float | None, mode: str,
                align_corners: bool) -> Tensor:
    if n_in == n_out and scale in (None, 1.0):
        return x
    ratio = n_in / n_out if scale is None else scale
    if mode in ("nearest", "nearest-exact"):
        off = 0.5 if mode == "nearest-exact" else 0.0
        src = [min(int(math.floor((i + off) * ratio)), n_in - 1) for i in range(n_out)]
        return x.index_select(dim, tensor(src, dtype=dtypes.int64))
    if align_corners:
        pos = [i * (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0 for i in range(n_out)]
    else:
        pos = [max((i + 0.5) * ratio - 0.5, 0.0) for i in range(n_out)]
    lo = [min(int(p), n_in - 1) for p in pos]
    hi = [min(i + 1, n_in - 1) for i in lo]
    lam = [p - i for p, i in zip(pos, lo)]
    shape = [1] * x.ndim
    shape[dim] = n_out
    w1 = tensor(lam, dtype=x.dtype).reshape(shape)
    w0 = tensor([1.0 - v for v in lam], dtype=x.dtype).reshape(shape)
    a = x.index_select(dim, tensor(lo, dtype=dtypes.int64))
    b = x.index_select(dim, tensor(hi, dtype=dtypes.int64))
    return a * w0 + b * w1
