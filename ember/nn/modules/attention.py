"""``MultiheadAttention``: PyTorch's layer, parameter names and mask conventions included."""

from __future__ import annotations

import math
from typing import Any

from ember import dtypes
from ember._tensor import Tensor
from ember._tensor.core import TensorCore
from ember._tensor.creation import empty, zeros
from ember.nn import _layers, init
from ember.nn._attention import scaled_dot_product_attention
from ember.nn.module import Module
from ember.nn.modules.linear import Linear
from ember.nn.parameter import Parameter


class NonDynamicallyQuantizableLinear(Linear):
    """A Linear under the name PyTorch gives ``MultiheadAttention.out_proj``."""


class MultiheadAttention(Module):
    """Attention over ``num_heads`` heads: softmax(Q K^T / sqrt(head_dim) + mask) V, projected back.

    Parameters as PyTorch: ``in_proj_weight`` (3E, E) and ``in_proj_bias`` (3E), or
    ``q_proj_weight``/``k_proj_weight``/``v_proj_weight`` when ``kdim``/``vdim`` differ
    from ``embed_dim``; ``out_proj`` (a Linear); ``bias_k``/``bias_v`` with
    ``add_bias_kv``. Masks follow PyTorch: in ``attn_mask`` and ``key_padding_mask``
    a True entry is *not* attended; float masks are added to the scores.

    Args:
        embed_dim: E, the model's width; split evenly over the heads.
        num_heads: H, the number of heads; must divide ``embed_dim``.
        dropout: dropout probability on the attention weights in training (default 0.0).
        bias: whether the input and output projections have biases (default True).
        add_bias_kv: append a learned ``bias_k``/``bias_v`` to the keys and values (default False).
        add_zero_attn: append a zero key and value (default False).
        kdim, vdim: the widths of key and value (default ``embed_dim``).
        batch_first: whether inputs and outputs are (N, L, E) rather than (L, N, E) (default False).
        device, dtype: the parameters' dtype (default float32); ``device`` is accepted
            for PyTorch compatibility.

    Shape:
        query (L, N, E), key (S, N, kdim), value (S, N, vdim), or batch first
        (N, L, E), or unbatched (L, E). Returns the output in the query's layout and
        the attention weights (N, L, S) (averaged over heads) or (N, H, L, S), or None
        when ``need_weights=False``.
    """

    def __init__(
        self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
        add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
        vdim: int | None = None, batch_first: bool = False,
        device: Any = None, dtype: Any = None,
    ) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(
                f"MultiheadAttention: embed_dim ({embed_dim}) and num_heads ({num_heads}) must be > 0"
            )
        if embed_dim % num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})"
            )
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads, self.dropout, self.batch_first = num_heads, dropout, batch_first
        self.head_dim = embed_dim // num_heads
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(empty(3 * embed_dim, embed_dim, dtype=dtype))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.q_proj_weight = Parameter(empty(embed_dim, embed_dim, dtype=dtype))
            self.k_proj_weight = Parameter(empty(embed_dim, self.kdim, dtype=dtype))
            self.v_proj_weight = Parameter(empty(embed_dim, self.vdim, dtype=dtype))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty(3 * embed_dim, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        if add_bias_kv:
            self.bias_k: Parameter | None = Parameter(empty(1, 1, embed_dim, dtype=dtype))
            self.bias_v: Parameter | None = Parameter(empty(1, 1, embed_dim, dtype=dtype))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            assert self.bias_v is not None  # __init__ sets the two together
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def _project(
        self, query: Tensor, key: Tensor, value: Tensor, same: bool
    ) -> tuple[Tensor, Tensor, Tensor]:
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else b.chunk(3)
        if self._qkv_same_embed_dim:
            if same:  # self-attention: one matrix multiply
                return _layers.linear(query, self.in_proj_weight, b).chunk(3, dim=-1)  # type: ignore[return-value]
            wq, wk, wv = self.in_proj_weight.chunk(3)
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        return _layers.linear(query, wq, bq), _layers.linear(key, wk, bk), _layers.linear(value, wv, bv)

    def forward(
        self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None = None,
        need_weights: bool = True, attn_mask: Tensor | None = None, average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        op = "MultiheadAttention"
        for name, t in (("query", query), ("key", key), ("value", value)):
            if not isinstance(t, TensorCore) or t.ndim not in (2, 3):
                raise RuntimeError(
                    f"{op}: {name} must be a 2-D (unbatched) or 3-D tensor, got {_describe(t)}"
                )
        same = query is key and key is value
        unbatched = query.ndim == 2
        if unbatched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        # from here on: query (L, N, E), key (S, N, kdim), value (S, N, vdim)
        tgt_len, bsz, e = query.shape
        src_len = key.shape[0]
        if e != self.embed_dim or key.shape[2] != self.kdim or value.shape[2] != self.vdim:
            raise RuntimeError(
                f"{op}: expected query, key, value feature sizes ({self.embed_dim}, {self.kdim}, "
                f"{self.vdim}), got "
                f"shapes {tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}"
            )
        if key.shape[:2] != value.shape[:2] or key.shape[1] != bsz:
            raise RuntimeError(
                f"{op}: key {tuple(key.shape)} and value {tuple(value.shape)} must share (S, N) with batch "
                f"{bsz}"
            )
        if is_causal and attn_mask is None:
            raise RuntimeError(f"{op}: need attn_mask if specifying the is_causal hint")
        mask = self._merge_masks(attn_mask, key_padding_mask, tgt_len, src_len, bsz, query.dtype)
        q, k, v = self._project(query, key, value, same)
        if self.bias_k is not None:
            from ember._tensor.movement import cat

            assert self.bias_v is not None  # __init__ sets the two together
            k = cat([k, self.bias_k.expand(1, bsz, e)])
            v = cat([v, self.bias_v.expand(1, bsz, e)])
            if mask is not None:
                mask = _pad_last(mask)
        h, hd = self.num_heads, self.head_dim
        # (L, N, E) -> (N, H, L, hd)
        q = q.reshape(tgt_len, bsz, h, hd).permute(1, 2, 0, 3)
        k = k.reshape(k.shape[0], bsz, h, hd).permute(1, 2, 0, 3)
        v = v.reshape(v.shape[0], bsz, h, hd).permute(1, 2, 0, 3)
        if self.add_zero_attn:
            from ember._tensor.movement import cat

            k = cat([k, zeros(bsz, h, 1, hd, dtype=k.dtype)], dim=2)
            v = cat([v, zeros(bsz, h, 1, hd, dtype=v.dtype)], dim=2)
            if mask is not None:
                mask = _pad_last(mask)
        p = self.dropout if self.training else 0.0
        weights = None
        if need_weights:
            scores = (q * (1.0 / math.sqrt(hd))) @ k.transpose(-2, -1)  # (N, H, L, S)
            if mask is not None:
                scores = scores + mask
            attn = scores.softmax(-1)
            out = _layers.dropout(attn, p, True) @ v
            weights = attn.mean(1) if average_attn_weights else attn
            if unbatched:
                weights = weights.squeeze(0)
        else:
            out = scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        # (N, H, L, hd) -> (L, N, E)
        out = self.out_proj(out.permute(2, 0, 1, 3).reshape(tgt_len, bsz, e))
        if unbatched:
            out = out.squeeze(1)
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, weights

    def _merge_masks(
        self, attn_mask: Tensor | None, key_padding_mask: Tensor | None, tgt_len: int, src_len: int, bsz: int,
        dtype: dtypes.dtype,
    ) -> Tensor | None:
        """Turn both masks into one additive float mask broadcastable to (N, H, L, S)."""
        op = "MultiheadAttention"
        mask = None
        if attn_mask is not None:
            m = _additive(attn_mask, dtype, "attn_mask")
            if m.ndim == 2:
                if tuple(m.shape) != (tgt_len, src_len):
                    raise RuntimeError(
                        f"{op}: 2-D attn_mask should be {(tgt_len, src_len)}, got {tuple(m.shape)}"
                    )
            elif m.ndim == 3:
                if tuple(m.shape) != (bsz * self.num_heads, tgt_len, src_len):
                    raise RuntimeError(
                        f"{op}: 3-D attn_mask should be {(bsz * self.num_heads, tgt_len, src_len)}, got "
                        f"{tuple(m.shape)}"
                    )
                m = m.reshape(bsz, self.num_heads, tgt_len, src_len)
            else:
                raise RuntimeError(f"{op}: attn_mask must be 2-D or 3-D, got shape {tuple(m.shape)}")
            mask = m
        if key_padding_mask is not None:
            kpm = _additive(key_padding_mask, dtype, "key_padding_mask")
            if tuple(kpm.shape) != (bsz, src_len):
                raise RuntimeError(
                    f"{op}: key_padding_mask should be {(bsz, src_len)}, got {tuple(kpm.shape)}"
                )
            kpm = kpm.reshape(bsz, 1, 1, src_len)
            mask = kpm if mask is None else mask + kpm
        return mask

    def extra_repr(self) -> str:
        return ""


def _describe(t: Any) -> str:
    return f"shape {tuple(t.shape)}" if isinstance(t, TensorCore) else type(t).__name__


def _additive(mask: Tensor, dtype: dtypes.dtype, name: str) -> Tensor:
    """A bool mask (True = not attended) becomes 0 / -inf; a float mask is used as it is."""
    if not isinstance(mask, TensorCore):
        raise TypeError(f"MultiheadAttention: {name} must be a Tensor, got {type(mask).__name__}")
    if mask.dtype is dtypes.bool_:
        return zeros(tuple(mask.shape), dtype=dtype).masked_fill(mask, float("-inf"))
    if not mask.dtype.is_floating_point:
        raise TypeError(
            f"MultiheadAttention: only bool and floating types of {name} are supported, got {mask.dtype!r}"
        )
    return mask.to(dtype)


def _pad_last(mask: Tensor) -> Tensor:
    """Append one attended (zero) column for the extra key (bias_k or the zero key)."""
    from ember._tensor.movement import cat

    return cat([mask, zeros(tuple(mask.shape[:-1]) + (1,), dtype=mask.dtype)], dim=-1)
