"""Functional layers: ``linear``, ``bilinear``, ``dropout``, ``embedding``, ``one_hot``.

Each validates its arguments (messages name the public function and the shapes),
then calls one fused Function from ``ember.ops.fused``.
"""

from __future__ import annotations

from typing import Any

from ember import dtypes
from ember._tensor import Tensor
from ember._tensor.core import TensorCore
from ember._tensor.elementwise import where
from ember.autograd.grad_mode import no_grad
from ember.ops import fused

__all__ = ["linear", "bilinear", "dropout", "embedding", "one_hot"]


def _tensor(x: Any, op: str, what: str = "input") -> Tensor:
    if not isinstance(x, TensorCore):
        raise TypeError(f"{op}: {what} must be a Tensor, got {type(x).__name__}")
    return x  # type: ignore[return-value]


def _shape(t: Any) -> tuple[int, ...]:
    return tuple(t._buf.shape)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x W^T + b for x of shape (..., in_features) and W of shape (out_features, in_features)."""
    xs = _shape(_tensor(input, "linear"))
    ws = _shape(_tensor(weight, "linear", "weight"))
    if len(ws) != 2 or not xs or xs[-1] != ws[1]:
        raise RuntimeError(
            f"linear: input {tuple(xs)} and weight {tuple(ws)}: expected input (..., in_features) and weight "
            "(out_features, in_features) with the same in_features"
        )
    if input._buf.dtype is not weight._buf.dtype:
        raise RuntimeError(f"linear: input dtype {input.dtype!r} and weight dtype {weight.dtype!r} differ")
    if bias is None:
        return fused.Linear.apply(input, weight)
    bs = _shape(_tensor(bias, "linear", "bias"))
    if bs not in ((ws[0],), ()):
        raise RuntimeError(f"linear: bias shape {bs} does not match out_features {ws[0]}")
    if bias._buf.dtype is not weight._buf.dtype:
        raise RuntimeError(f"linear: bias dtype {bias.dtype!r} and weight dtype {weight.dtype!r} differ")
    return fused.Linear.apply(input, weight, bias)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y_k = x1^T W_k x2 + b_k, for x1 (..., in1), x2 (..., in2), W (out, in1, in2)."""
    a, b = _tensor(input1, "bilinear", "input1"), _tensor(input2, "bilinear", "input2")
    w = _tensor(weight, "bilinear", "weight")
    if w.ndim != 3 or a.shape[-1] != w.shape[1] or b.shape[-1] != w.shape[2] or a.shape[:-1] != b.shape[:-1]:
        raise RuntimeError(
            f"bilinear: input1 {tuple(a.shape)}, input2 {tuple(b.shape)} and weight {tuple(w.shape)} do not "
            "fit "
            "(expected (..., in1), (..., in2) and (out, in1, in2))"
        )
    lead = tuple(a.shape[:-1])
    a2 = a.reshape(-1, a.shape[-1])  # (N, in1)
    b2 = b.reshape(-1, b.shape[-1])  # (N, in2)
    # (N, in1) @ (in1, out * in2) -> (N, out, in2), then contract in2 with x2
    t = (a2 @ w.permute(1, 0, 2).reshape(w.shape[1], -1)).reshape(a2.shape[0], w.shape[0], w.shape[2])
    out = (t @ b2.unsqueeze(-1)).squeeze(-1)
    if bias is not None:
        out = out + bias
    return out.reshape(*lead, w.shape[0])


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p), when ``training``."""
    x = _tensor(input, "dropout")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    return fused.Dropout.apply(x, p=float(p))


def embedding(
    input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
    norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False,
) -> Tensor:
    """Look up rows of ``weight`` (num_embeddings, embedding_dim) at the integer indices ``input``.

    Rows at ``padding_idx`` get no gradient; with ``max_norm`` the looked-up rows are
    first renormalised in place to at most that norm, as in PyTorch.
    """
    idx, w = _tensor(input, "embedding"), _tensor(weight, "embedding", "weight")
    if idx.dtype.is_floating_point or idx.dtype is dtypes.bool_:
        raise RuntimeError(f"embedding: indices must be an integer tensor, got {idx.dtype!r}")
    if w.ndim != 2:
        raise RuntimeError(
            f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got shape {tuple(w.shape)}"
        )
    n = w.shape[0]
    if idx.numel():
        lo, hi = idx._buf.min().item(), idx._buf.max().item()  # on the buffer: no graph, no Tensors
        if lo < 0 or hi >= n:
            bad = lo if lo < 0 else hi
            raise IndexError(f"embedding: index {bad} is out of range for {n} embeddings")
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(f"embedding: padding_idx {padding_idx} must be within num_embeddings ({n})")
        padding_idx %= n
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: scale_grad_by_freq and sparse gradients are not supported")
    if max_norm is not None:
        _renorm_rows(w, idx, float(max_norm), float(norm_type))
    return fused.Embedding.apply(idx, w, padding_idx=padding_idx)


def _renorm_rows(w: Tensor, idx: Tensor, max_norm: float, norm_type: float) -> None:
    """Scale the rows of ``w`` used by ``idx`` in place so their norm is at most ``max_norm``."""
    with no_grad():
        rows = idx.reshape(-1)  # repeated rows get the same value written twice
        sel = w.data[rows]
        norms = sel.norm(p=norm_type, dim=1, keepdim=True)
        scale = where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        w.data[rows] = sel * scale


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Return int64 one-hot vectors of length ``num_classes`` (max + 1 when -1) in a new last dimension."""
    from ember._tensor.creation import arange

    t = _tensor(tensor, "one_hot", "tensor")
    if t.dtype.is_floating_point or t.dtype is dtypes.bool_:
        raise RuntimeError(f"one_hot: is only applicable to index tensors, got {t.dtype!r}")
    if t.numel():
        lo, hi = int(t.min()), int(t.max())
        if lo < 0:
            raise RuntimeError(f"one_hot: class values must be non-negative, got {lo}")
        if num_classes == -1:
            num_classes = hi + 1
        elif hi >= num_classes:
            raise RuntimeError(
                f"one_hot: class values must be smaller than num_classes ({num_classes}), got {hi}"
            )
    elif num_classes == -1:
        raise RuntimeError("one_hot: can not infer total number of classes from an empty tensor")
    return (t.unsqueeze(-1) == arange(num_classes, dtype=t.dtype)).long()
