"""Functional attention: ``scaled_dot_product_attention`` (one fused Function, the GPT hot path)."""

from __future__ import annotations

import math
from typing import Any

from ember import dtypes
from ember._tensor import Tensor
from ember._tensor.core import TensorCore
from ember.ops import fused

__all__ = ["scaled_dot_product_attention"]


def _broadcastable(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return all(x == y or x == 1 or y == 1 for x, y in zip(reversed(a), reversed(b)))


def scaled_dot_product_attention(
    query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None, dropout_p: float = 0.0,
    is_causal: bool = False, scale: float | None = None, enable_gqa: bool = False,
) -> Tensor:
    """softmax(q k^T * scale + mask) v over any leading batch dimensions.

    Args:
        query: (..., L, E).
        key: (..., S, E).
        value: (..., S, Ev).
        attn_mask: bool (True = may attend) or float (added to the scores), broadcastable to (..., L, S).
        dropout_p: dropout probability applied to the attention weights.
        is_causal: mask out keys after each query (top-left aligned, as PyTorch).
        scale: defaults to 1 / sqrt(E).
        enable_gqa: let key/value have fewer heads (dim -3) than query, shared by groups of query heads.

    Returns:
        (..., L, Ev).
    """
    op = "scaled_dot_product_attention"
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, TensorCore):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
        if t.ndim < 2:
            raise RuntimeError(f"{op}: {name} must have at least 2 dimensions, got shape {tuple(t.shape)}")
    qs, ks, vs = tuple(query.shape), tuple(key.shape), tuple(value.shape)
    if qs[-1] != ks[-1] or ks[-2] != vs[-2]:
        raise RuntimeError(
            f"{op}: query {qs}, key {ks} and value {vs} do not fit: expected (..., L, E), (..., S, E), "
            "(..., S, Ev)"
        )
    if not (query.dtype is key.dtype is value.dtype) or not query.dtype.is_floating_point:
        raise RuntimeError(
            f"{op}: expected query, key and value of one floating dtype, got {query.dtype!r}, {key.dtype!r}, "
            f"{value.dtype!r}"
        )
    if enable_gqa and len(qs) >= 3 and ks[-3] != qs[-3]:
        if ks[-3] == 0 or qs[-3] % ks[-3] or vs[-3] != ks[-3]:
            raise RuntimeError(
                f"{op}: with enable_gqa, query heads {qs[-3]} must be a multiple of key heads {ks[-3]}"
            )
        # query head h uses key head h // rep: view the query heads as (key heads, rep) and let
        # the key/value heads broadcast over rep, with no copy of key or value
        hk, rep = ks[-3], qs[-3] // ks[-3]
        if attn_mask is not None and attn_mask.ndim >= 3:
            m = attn_mask.shape[-3]
            attn_mask = (attn_mask.unflatten(-3, (hk, rep)) if m != 1 else attn_mask.unsqueeze(-3))
        out = scaled_dot_product_attention(
            query.unflatten(-3, (hk, rep)), key.unsqueeze(-3), value.unsqueeze(-3), attn_mask, dropout_p,
            is_causal, scale,
        )
        return out.flatten(-4, -3)
    elif not _broadcastable(qs[:-2], ks[:-2]) or not _broadcastable(ks[:-2], vs[:-2]):
        raise RuntimeError(
            f"{op}: batch dimensions of query {qs}, key {ks} and value {vs} are not broadcastable"
        )
    if not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"{op}: dropout_p must be in [0, 1), got {dropout_p}")
    if scale is None:
        scale = 1.0 / math.sqrt(qs[-1])
    opts: dict[str, Any] = {
        "scale": float(scale), "is_causal": bool(is_causal), "dropout_p": float(dropout_p)
    }
    if attn_mask is None:
        return fused.ScaledDotProductAttention.apply(query, key, value, **opts)
    if is_causal:
        raise RuntimeError(f"{op}: explicit attn_mask should not be set when is_causal=True")
    if not isinstance(attn_mask, TensorCore):
        raise TypeError(f"{op}: attn_mask must be a Tensor, got {type(attn_mask).__name__}")
    if attn_mask.dtype is not dtypes.bool_ and attn_mask.dtype is not query.dtype:
        raise RuntimeError(
            f"{op}: attn_mask must be bool or of the query's dtype {query.dtype!r}, got {attn_mask.dtype!r}"
        )
    target = tuple(query.shape[:-1]) + (ks[-2],)
    if not _broadcastable(tuple(attn_mask.shape), target) or attn_mask.ndim > len(target):
        raise RuntimeError(
            f"{op}: attn_mask of shape {tuple(attn_mask.shape)} does not broadcast to {target}"
        )
    return fused.ScaledDotProductAttention.apply(query, key, value, attn_mask, **opts)
