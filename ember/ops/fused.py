"""Fused Functions for layers: linear, normalisation, attention, embedding, dropout.

Each could be written as a chain of smaller Functions; fusing them gives one graph
node with a hand-written backward, which saves memory passes and Python overhead on
the hot paths of an MLP or a transformer, and keeps the numerics stable.
"""

from __future__ import annotations

from typing import Any

from ember import dtypes
from ember.buffer import Buffer
from ember.function import Function
from ember.ops.linalg import mT

Grads = tuple[Buffer | None, ...]


def _prod(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


# ---- linear -------------------------------------------------------------------------
class Linear(Function):
    """y = x W^T + b;  dy/dx = g W, dy/dW = g^T x, dy/db = sum of g over all but the last axis.

    Leading axes of ``x`` are flattened so each product is one matrix multiply.
    """

    def forward(self, x: Buffer, weight: Buffer, bias: Buffer | None = None) -> Buffer:
        self.x_shape = x.shape
        if len(x.shape) != 2:
            x = x.reshape((_prod(x.shape[:-1]), x.shape[-1]))
        self.x, self.w = x, weight
        out = x @ mT(weight) if bias is None else x.matmul_add(mT(weight), bias)
        if len(self.x_shape) != 2:
            out = out.reshape(self.x_shape[:-1] + (weight.shape[0],))
        return out

    def backward(self, grad: Buffer) -> Grads:
        needs = self.needs_input_grad
        g = grad if len(grad.shape) == 2 else grad.reshape((_prod(grad.shape[:-1]), grad.shape[-1]))
        gx = gw = gb = None
        if needs[0]:
            gx = g @ self.w
            if len(self.x_shape) != 2:
                gx = gx.reshape(self.x_shape)
        bias = len(needs) == 3 and needs[2]
        if needs[1] and bias:
            # the bias gradient summed while each band of g^T is in cache for the weight's product
            both = mT(g).matmul_row_sums(self.x)
            if both is not None:
                gw, gb = both
        if needs[1] and gw is None:
            gw = mT(g) @ self.x
        if bias and gb is None:
            gb = g.sum_lead()
        return (gx, gw, gb) if len(needs) == 3 else (gx, gw)


# ---- normalisation ------------------------------------------------------------------
def _moments(x: Buffer, axes: tuple[int, ...]) -> tuple[Buffer, Buffer, Buffer]:
    """Return (mean, x - mean, biased variance) over ``axes``, kept as size-1 axes."""
    inv_n = 1.0 / _prod(tuple(x.shape[a] for a in axes))
    mean = x.sum(axes, keepdims=True) * inv_n
    xc = x - mean
    return mean, xc, (xc * xc).sum(axes, keepdims=True) * inv_n


def _normalize(x: Buffer, axes: tuple[int, ...], eps: float) -> tuple[Buffer, Buffer]:
    """xhat = (x - mean) / sqrt(var + eps) over ``axes`` (biased var); returns (xhat, rstd)."""
    _, xc, var = _moments(x, axes)
    rstd = 1.0 / (var + eps).sqrt()
    return xc * rstd, rstd


def _normalize_backward(gxhat: Buffer, xhat: Buffer, rstd: Buffer, axes: tuple[int, ...]) -> Buffer:
    """dL/dx from dL/dxhat: rstd (gxhat - mean(gxhat) - xhat mean(gxhat xhat)), means over ``axes``."""
    inv_n = 1.0 / _prod(tuple(xhat.shape[a] for a in axes))
    mean_g = gxhat.sum(axes, keepdims=True) * inv_n
    mean_gx = (gxhat * xhat).sum(axes, keepdims=True) * inv_n
    return (gxhat - mean_g - xhat * mean_gx) * rstd


class LayerNorm(Function):
    """y = (x - mean) / sqrt(var + eps) * w + b over the last ``normalized_ndim`` axes.

    dx = rstd (gx^ - mean(gx^) - x^ mean(gx^ x^)) with gx^ = g w;  dw = sum of g x^, db = sum of g
    over the leading axes. The normalised axes are flattened into one, so every mean is
    a row reduction; temporaries are updated in place (each one is a pass over memory).
    """

    def forward(
        self, x: Buffer, *params: Buffer, normalized_ndim: int, eps: float, has_weight: bool, has_bias: bool
    ) -> Buffer:
        shape = x.shape
        n = _prod(shape[len(shape) - normalized_ndim :])
        x = x.reshape((_prod(shape[: len(shape) - normalized_ndim]), n))  # (rows, n)
        inv_n = 1.0 / n if n else 0.0
        self.inv_n, self.x_shape = inv_n, shape
        self.norm_shape = shape[len(shape) - normalized_ndim :]
        self.w = params[0].reshape((n,)) if has_weight else None
        self.has_bias = has_bias
        b = params[-1].reshape((n,)) if has_bias else None
        fused = x.layer_norm_rows(self.w, b, eps)  # one compiled pass, where the backend has one
        if fused is not None:
            out, self.xhat, self.rstd = fused
            return out.reshape(shape)
        xhat = x - x.sum_last(keepdims=True) * inv_n  # x - mean, ours to scale in place
        self.rstd = 1.0 / (xhat.dot_last(xhat, keepdims=True) * inv_n + eps).sqrt()
        xhat.tmp_mul_(self.rstd)
        self.xhat = xhat
        out = xhat if self.w is None else xhat * self.w
        if b is not None:
            if out is xhat:
                out = xhat + b
            else:
                out.tmp_add_(b)
        return out.reshape(shape)

    def backward(self, grad: Buffer) -> Grads:
        needs = self.needs_input_grad
        xhat = self.xhat
        g = grad.reshape(xhat.shape)
        if needs[0]:
            fused = g.layer_norm_rows_backward(xhat, self.rstd, self.w)
            if fused is not None:
                fgx, gw, gb = fused
                rest: list[Buffer | None] = (
                    [gw.reshape(self.norm_shape) if needs[1] else None] if self.w is not None else []
                )
                if self.has_bias:
                    rest.append(gb.reshape(self.norm_shape) if needs[-1] else None)
                return (fgx.reshape(self.x_shape), *rest)
        gx = None
        if needs[0]:
            gxhat = g if self.w is None else g * self.w
            c1 = gxhat.sum_last(keepdims=True) * self.inv_n
            c2 = gxhat.dot_last(xhat, keepdims=True) * self.inv_n
            if gxhat is g:
                gx = g - c1
            else:
                gx = gxhat
                gx.tmp_sub_(c1)
            gx.tmp_sub_(xhat * c2)
            gx.tmp_mul_(self.rstd)
            gx = gx.reshape(self.x_shape)
        rest = []
        if self.w is not None:
            rest.append((g * xhat).sum_lead().reshape(self.norm_shape) if needs[1] else None)
        if self.has_bias:
            rest.append(g.sum_lead().reshape(self.norm_shape) if needs[-1] else None)
        return (gx, *rest)


class RMSNorm(Function):
    """y = x / sqrt(mean(x^2) + eps) * w over the last ``normalized_ndim`` axes.

    dx = r (gx^ - x^ mean(gx^ x^)) with r = 1 / rms, x^ = x r, gx^ = g w;  dw = g x^.
    """

    def forward(self, x: Buffer, *params: Buffer, normalized_ndim: int, eps: float) -> Buffer:
        nd = len(x.shape)
        self.axes = tuple(range(nd - normalized_ndim, nd))
        inv_n = 1.0 / _prod(x.shape[nd - normalized_ndim :])
        self.r = 1.0 / ((x * x).sum(self.axes, keepdims=True) * inv_n + eps).sqrt()
        self.xhat = x * self.r
        self.w = params[0] if params else None
        return self.xhat if self.w is None else self.xhat * self.w

    def backward(self, grad: Buffer) -> Grads | Buffer | None:  # one gradient alone when there is no weight
        needs = self.needs_input_grad
        gxhat = grad if self.w is None else grad * self.w
        gx = None
        if needs[0]:
            inv_n = 1.0 / _prod(tuple(self.xhat.shape[a] for a in self.axes))
            gx = (gxhat - self.xhat * ((gxhat * self.xhat).sum(self.axes, keepdims=True) * inv_n)) * self.r
        if self.w is None:
            return gx
        return gx, (grad * self.xhat if needs[1] else None)


class BatchNorm(Function):
    """y = (x - mean) / sqrt(var + eps) * w + b per channel (axis 1), statistics over the other axes.

    In training the batch statistics are used and, as PyTorch's kernel does, the
    running statistics (when given) are updated in place: ``r = (1 - m) r + m s``,
    with the unbiased variance. In evaluation the running statistics are used and
    dx = g w rstd. Backward in training is LayerNorm's over the batch axes.
    """

    def forward(
        self, x: Buffer, *params: Buffer, training: bool, momentum: float, eps: float,
        running_mean: Buffer | None = None, running_var: Buffer | None = None,
    ) -> Buffer:
        nd = len(x.shape)
        self.axes = (0,) + tuple(range(2, nd))
        bshape = (1, x.shape[1]) + (1,) * (nd - 2)  # per-channel values broadcast against x
        self.training = training
        if training:
            mean, xc, var = _moments(x, self.axes)
            self.rstd = 1.0 / (var + eps).sqrt()
            self.xhat = xc * self.rstd
            if running_mean is not None and running_var is not None:
                n = _prod(tuple(x.shape[a] for a in self.axes))
                unbiased = var.reshape(running_var.shape) * (n / max(n - 1, 1))
                batch_mean = mean.reshape(running_mean.shape)
                running_mean.assign_(running_mean * (1.0 - momentum) + batch_mean * momentum)
                running_var.assign_(running_var * (1.0 - momentum) + unbiased * momentum)
        else:
            self.rstd = 1.0 / (running_var.reshape(bshape) + eps).sqrt()  # type: ignore[union-attr]
            self.xhat = (x - running_mean.reshape(bshape)) * self.rstd  # type: ignore[union-attr]
        self.w = params[0].reshape(bshape) if params else None
        if self.w is None:
            return self.xhat
        return self.xhat * self.w + params[1].reshape(bshape)

    def backward(self, grad: Buffer) -> Grads | Buffer | None:  # one gradient alone when there is no weight
        needs = self.needs_input_grad
        gxhat = grad if self.w is None else grad * self.w
        gx = None
        if needs[0]:
            if self.training:
                gx = _normalize_backward(gxhat, self.xhat, self.rstd, self.axes)
            else:
                gx = gxhat * self.rstd
        if self.w is None:
            return gx
        gw = (grad * self.xhat).sum(self.axes) if needs[1] else None
        gb = grad.sum(self.axes) if needs[2] else None
        return gx, gw, gb


# ---- attention ----------------------------------------------------------------------
_causal_cache: dict[tuple[Any, Any, int, int], Buffer] = {}


def _causal_bias(like: Buffer, L: int, S: int) -> Buffer:
    """(L, S) of like's dtype: 0 where key j <= query i (top-left aligned), -inf above."""
    key = (type(like), like.dtype, L, S)
    m = _causal_cache.get(key)
    if m is None:
        if len(_causal_cache) > 64:
            _causal_cache.clear()
        allowed = type(like).full((L, S), True, dtypes.bool_).tril(0)
        m = _causal_cache[key] = allowed.where(0.0, float("-inf")).cast(like.dtype)
    return m


def _broadcasts_into(small: tuple[int, ...], big: tuple[int, ...]) -> bool:
    return len(small) <= len(big) and all(a == b or a == 1 for a, b in zip(small[::-1], big[::-1]))


# exp(-80) = 1.8e-35 is still a normal float32 (the smallest is 1.2e-38): see the forward below
_SHARED_SHIFT_SPAN = 80.0


class ScaledDotProductAttention(Function):
    """o = softmax(q k^T scale + mask) v over the last axis (dropout on the weights optional).

    With p the weights and gs = p (g v^T - sum(p g v^T)) the softmax backward:
    dq = gs k scale, dk = gs^T q scale, dv = p^T g, and d(float mask) = gs.
    Rows whose keys are all masked give zeros, as PyTorch's kernels do. The scores are
    turned into weights in place (one buffer for scores, exponentials and weights).
    """

    keep: Buffer | None = None  # the dropout mask, when there is one

    def forward(
        self, q: Buffer, k: Buffer, v: Buffer, mask: Buffer | None = None, *, scale: float,
        is_causal: bool = False, dropout_p: float = 0.0,
    ) -> Buffer:
        if mask is None and dropout_p == 0.0:
            # the whole forward in one pass over each band of heads, where the backend has one
            fused = q.attention(k, v, scale, is_causal)
            if fused is not None:
                o, self.p = fused
                self.pd, self.q, self.k, self.v, self.scale = self.p, q, k, v, scale
                return o
        if mask is None:
            # k^T goes to BLAS as a transposed view: a copy to rows first (a transposing read across
            # the rows of the packed qkv) took ~160 us a layer in the GPT step, and the product on
            # the view is no slower (206 against 239 us with the copy, measured alone)
            s = q @ mT(k)  # (..., L, S), ours: the weights are formed in it
            # softmax(c s) = softmax(c (s - m)) for any m constant along a row. m = each row's max
            # is the textbook choice, but a last-axis max costs ~60 ns a row here. When every score
            # lies within 80 / c of the largest, m = the largest score overall is as good: all
            # exponents fall in [-80, 0], none overflows, and none leaves float32's normal range.
            if s.softmax_rows_(scale, is_causal):  # one compiled pass, where the backend has one
                return self._finish(s, q, k, v, scale, dropout_p)
            hi, lo = s.max().item(), s.min().item()
            shared = (hi - lo) * scale <= _SHARED_SHIFT_SPAN
            if shared:
                s.tmp_sub_(hi)
            s.tmp_mul_(scale)
            if is_causal:  # every query sees at least key 0, so no row is fully masked
                s.tmp_add_(_causal_bias(s, s.shape[-2], s.shape[-1]))
            if not shared:  # the max of the keys a row sees (a masked key's may be far larger)
                s.tmp_sub_(s.max(-1, keepdims=True))
            s.tmp_exp_()
            s.tmp_div_(s.sum_last(keepdims=True))
            return self._finish(s, q, k, v, scale, dropout_p)
        qs = q * scale
        s = qs @ mT(k)
        if mask.dtype is dtypes.bool_:
            s = mask.where(s, float("-inf"))
        elif _broadcasts_into(mask.shape, s.shape):
            s.tmp_add_(mask)
        else:
            s = s + mask
        m = s.max(-1, keepdims=True)
        m = m.eq(float("-inf")).where(0.0, m)  # a fully masked row: keep exp(-inf) = 0
        s.tmp_sub_(m)
        s.tmp_exp_()
        z = s.sum(-1, keepdims=True)
        s.tmp_div_(z.eq(0).where(1.0, z))
        return self._finish(s, q, k, v, scale, dropout_p)

    def _finish(self, p: Buffer, q: Buffer, k: Buffer, v: Buffer, scale: float, dropout_p: float) -> Buffer:
        """Save what backward needs, apply dropout to the weights p, and return p v."""
        self.p, self.q, self.k, self.v, self.scale = p, q, k, v, scale
        if dropout_p > 0.0:
            self.keep = type(p).uniform(p.shape, 0.0, 1.0, p.dtype) >= dropout_p
            self.drop_scale = 1.0 / (1.0 - dropout_p)
            p = self.keep.where(p * self.drop_scale, 0)
        self.pd = p
        return p @ v

    def backward(self, grad: Buffer) -> Grads:
        needs = self.needs_input_grad
        p = self.p
        if self.keep is None and len(needs) == 3:
            fused = grad.attention_backward(p, self.q, self.k, self.v, self.scale)
            if fused is not None:
                return tuple(g if need else None for g, need in zip(fused, needs))
        # each gradient laid out like its input: q, k and v are often heads viewed out of one
        # (B, T, 3C) projection, and their gradients then reshape back to it as views
        gv = mT(self.pd).matmul_like(grad, self.v) if needs[2] else None
        gq = gk = gm = None
        if needs[0] or needs[1] or (len(needs) > 3 and needs[3]):
            gs = grad @ mT(self.v)  # dL/dp, then turned into dL/ds in place
            if self.keep is not None:
                gs = self.keep.where(gs * self.drop_scale, 0)
            # without a float mask to differentiate, gs is needed only times the scale: the scale
            # goes into gs's own pass, not into two more passes over dq and dk
            mask_grad = len(needs) > 3 and needs[3]
            c = 1.0 if mask_grad else self.scale
            if not gs.softmax_backward_rows_(p, c):
                gs.tmp_sub_(gs.dot_last(p, keepdims=True))
                gs.tmp_mul_(p)
                if c != 1.0:
                    gs.tmp_mul_(c)
            if needs[0]:
                gq = gs.matmul_like(self.k, self.q)
                if mask_grad:
                    gq.tmp_mul_(self.scale)
            if needs[1]:
                gk = mT(gs).matmul_like(self.q, self.k)
                if mask_grad:
                    gk.tmp_mul_(self.scale)
            gm = gs if mask_grad else None
        if len(needs) == 3:
            return gq, gk, gv
        return gq, gk, gv, (gm if needs[3] else None)


# ---- embedding and dropout ----------------------------------------------------------
class Embedding(Function):
    """y = W[idx] (rows of W picked by integer indices);  dW = rows of g added back at idx.

    Rows at ``padding_idx`` get no gradient. The scatter-add is the backend's
    ``index_add_``, which picks its way by the table's size (a compiled loop, a product
    with the one-hot matrix of the indices, or sorted rounds of indexed adds).
    """

    def forward(self, idx: Buffer, weight: Buffer, padding_idx: int | None = None) -> Buffer:
        self.idx, self.w_shape, self.w_dtype, self.padding_idx = idx, weight.shape, weight.dtype, padding_idx
        self.buffer_class = type(weight)
        return weight.getitem(idx)

    def backward(self, grad: Buffer) -> Grads:
        d = self.w_shape[1]
        n = _prod(self.idx.shape)
        flat_idx = self.idx.reshape((n,))
        g = grad.reshape((n, d))
        if self.padding_idx is not None:
            g = flat_idx.ne(self.padding_idx).reshape((n, 1)).where(g, 0)
        gw = self.buffer_class.full(self.w_shape, 0, self.w_dtype)
        # in place, as a temporary: gw is new (a copy of a vocabulary-sized table is costly), and
        # nothing saved can see it, so the in-place clock need not move
        gw.tmp_index_add_(flat_idx, g)
        return None, gw


class Dropout(Function):
    """y = x m / (1 - p) with m ~ Bernoulli(1 - p) drawn from ember's generator;  dx = g m / (1 - p)."""

    def forward(self, x: Buffer, p: float) -> Buffer:
        self.keep = type(x).uniform(x.shape, 0.0, 1.0, x.dtype) >= p
        self.scale = 1.0 / (1.0 - p)
        return self.keep.where(x * self.scale, 0)

    def backward(self, grad: Buffer) -> Buffer:
        return self.keep.where(grad * self.scale, 0)
