"""Functional losses: cross entropy, NLL, regression losses, binary cross entropy, KL divergence.

Cross entropy, NLL and the binary cross entropies are fused Functions
(``ember.ops.loss``); the rest are compositions of Tensor operations.
"""

from __future__ import annotations

import warnings
from typing import Any

from ember import dtypes
from ember._tensor import Tensor
from ember._tensor.core import TensorCore
from ember._tensor.elementwise import where
from ember.ops import loss as L

__all__ = [
    "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
]

_REDUCTIONS = ("mean", "sum", "none")


def _tensor(x: Any, op: str, what: str) -> Tensor:
    if not isinstance(x, TensorCore):
        raise TypeError(f"{op}: {what} must be a Tensor, got {type(x).__name__}")
    return x  # type: ignore[return-value]


def _reduction(op: str, reduction: str, size_average: bool | None = None, reduce: bool | None = None) -> str:
    """Resolve PyTorch's legacy ``size_average``/``reduce`` flags and check ``reduction``."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else ("mean" if size_average else "sum")
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"{op}: reduction={reduction!r} is not a valid value (expected 'mean', 'sum' or 'none')"
        )
    return reduction


def _check_classes(op: str, x: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int) -> bool:
    """Check a class-index target: integer dtype, shape (N, d1, ...) and values in [0, C) or ignore_index.

    Returns whether some target may equal ``ignore_index`` (False when none can).
    """
    if target.dtype.is_floating_point or target.dtype is dtypes.bool_:
        raise RuntimeError(
            f"{op}: expected class indices of an integer dtype (or probabilities of the input's shape "
            f"{tuple(x.shape)}), got target {target.dtype!r} of shape {tuple(target.shape)}"
        )
    want = tuple(x.shape[:1]) + tuple(x.shape[2:])
    if tuple(target.shape) != want:
        if target.ndim >= 1 and target.shape[0] != x.shape[0] and target.ndim == len(want):
            raise ValueError(
                f"{op}: expected input batch_size ({x.shape[0]}) to match target batch_size "
                f"({target.shape[0]})"
            )
        raise RuntimeError(
            f"{op}: input of shape {tuple(x.shape)} expects a target of shape {want}, got "
            f"{tuple(target.shape)}"
        )
    c = x.shape[1]
    if weight is not None and tuple(_tensor(weight, op, "weight").shape) != (c,):
        raise RuntimeError(f"{op}: weight of shape {tuple(weight.shape)} does not match {c} classes")
    if not target.numel():
        return False
    t = target._buf  # checked on the buffer: no graph, no Tensors
    lo, hi = t.min().item(), t.max().item()
    ignored = lo <= ignore_index <= hi
    if ignored and not 0 <= ignore_index < c:
        t = t.ne(ignore_index).where(t, 0)  # ignored entries count as class 0 for the range check
        lo, hi = t.min().item(), t.max().item()
    if lo < 0 or hi >= c:
        raise IndexError(f"{op}: target {lo if lo < 0 else hi} is out of bounds for {c} classes")
    return ignored


def _batched(x: Tensor, target: Tensor) -> tuple[Tensor, Tensor, bool]:
    """Give an unbatched input (C,) a batch dimension of 1."""
    if x.ndim != 1:
        return x, target, False
    return x.unsqueeze(0), target.unsqueeze(0), True


def cross_entropy(
    input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: bool | None = None,
    ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross entropy of logits (N, C, d1, ...) against class indices (N, d1, ...) or probabilities.

    Computed as one fused, log-sum-exp stable Function. Entries equal to
    ``ignore_index`` contribute nothing; ``'mean'`` divides by the total weight of
    the counted targets (their number when ``weight`` is None).
    """
    op = "cross_entropy"
    x, t = _tensor(input, op, "input"), _tensor(target, op, "target")
    reduction = _reduction(op, reduction, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    if x.ndim == 0 or not x.dtype.is_floating_point:
        raise RuntimeError(f"{op}: input must be floating point logits of shape (C,) or (N, C, ...), got "
                           f"{x.dtype!r} of shape {tuple(x.shape)}")
    prob = t.dtype.is_floating_point and tuple(t.shape) == tuple(x.shape)
    x, t, unbatched = _batched(x, t)
    extra = [] if weight is None else [_tensor(weight, op, "weight")]
    index: int | None = ignore_index  # None: no target is ignored
    if prob:
        if t.dtype is not x.dtype:
            raise RuntimeError(
                f"{op}: probability target {t.dtype!r} must have the input's dtype {x.dtype!r}"
            )
        if weight is not None and tuple(weight.shape) != (x.shape[1],):
            raise RuntimeError(
                f"{op}: weight of shape {tuple(weight.shape)} does not match {x.shape[1]} classes"
            )
    elif not _check_classes(op, x, t, weight, ignore_index):
        index = None  # no target is ignored: the Function needs no mask
    out = L.CrossEntropy.apply(
        x, t, *extra, reduction=reduction, ignore_index=None if index is None else int(index),
        label_smoothing=float(label_smoothing), prob_target=prob,
    )
    return out.squeeze(0) if unbatched and reduction == "none" else out


def nll_loss(
    input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: bool | None = None,
    ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean",
) -> Tensor:
    """Negative log likelihood of log-probabilities (N, C, d1, ...) at class indices (N, d1, ...)."""
    op = "nll_loss"
    x, t = _tensor(input, op, "input"), _tensor(target, op, "target")
    reduction = _reduction(op, reduction, size_average, reduce)
    if x.ndim == 0 or not x.dtype.is_floating_point:
        raise RuntimeError(
            f"{op}: input must be floating point of shape (C,) or (N, C, ...), got shape {tuple(x.shape)}"
        )
    x, t, unbatched = _batched(x, t)
    _check_classes(op, x, t, weight, ignore_index)
    extra = [] if weight is None else [weight]
    out = L.NllLoss.apply(x, t, *extra, reduction=reduction, ignore_index=int(ignore_index))
    return out.squeeze(0) if unbatched and reduction == "none" else out


def _pair(op: str, input: Any, target: Any, same_shape: bool = False,
          warn_broadcast: bool = False) -> tuple[Tensor, Tensor]:
    x, t = _tensor(input, op, "input"), _tensor(target, op, "target")
    xs, ts = tuple(x.shape), tuple(t.shape)
    if same_shape and xs != ts:
        raise ValueError(f"{op}: target of shape {ts} must have the same shape as the input {xs}")
    if xs != ts and not all(a == b or a == 1 or b == 1 for a, b in zip(reversed(xs), reversed(ts))):
        raise RuntimeError(f"{op}: input of shape {xs} and target of shape {ts} are not broadcastable")
    if warn_broadcast and xs != ts:
        # PyTorch's warning: a (N,) prediction against an (N, 1) target silently becomes (N, N)
        warnings.warn(f"Using a target size ({t.shape}) that is different to the input size ({x.shape}). "
                      "This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", stacklevel=3)
    return x, t


def _weighted(op: str, loss: Tensor, weight: Tensor | None, reduction: str, normalise: bool = True) -> Tensor:
    if weight is None:
        return _apply_reduction(loss, reduction)
    if tuple(_tensor(weight, op, "weight").shape) != tuple(loss.shape):
        raise ValueError(
            f"{op}: weight of shape {tuple(weight.shape)} must have the input's shape {tuple(loss.shape)}"
        )
    loss = loss * weight
    if reduction == "mean" and normalise:
        return loss.sum() / weight.sum()
    return _apply_reduction(loss, reduction)


def _apply_reduction(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def mse_loss(
    input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
    reduction: str = "mean", weight: Tensor | None = None,
) -> Tensor:
    """(x - y)^2, reduced."""
    reduction = _reduction("mse_loss", reduction, size_average, reduce)
    x, t = _pair("mse_loss", input, target, warn_broadcast=True)
    return _weighted("mse_loss", (x - t).square(), weight, reduction)


def l1_loss(
    input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
    reduction: str = "mean", weight: Tensor | None = None,
) -> Tensor:
    """|x - y|, reduced."""
    reduction = _reduction("l1_loss", reduction, size_average, reduce)
    x, t = _pair("l1_loss", input, target, warn_broadcast=True)
    return _weighted("l1_loss", (x - t).abs(), weight, reduction)


def smooth_l1_loss(
    input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
    reduction: str = "mean", beta: float = 1.0,
) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = x - y); plain L1 when beta is 0."""
    reduction = _reduction("smooth_l1_loss", reduction, size_average, reduce)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    x, t = _pair("smooth_l1_loss", input, target, warn_broadcast=True)
    d = (x - t).abs()
    if beta == 0.0:
        return _apply_reduction(d, reduction)
    loss = where(d < beta, d.square() * (0.5 / beta), d - 0.5 * beta)
    return _apply_reduction(loss, reduction)


def huber_loss(
    input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0, weight: Tensor | None = None,
) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta) (d = x - y)."""
    reduction = _reduction("huber_loss", reduction)
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    x, t = _pair("huber_loss", input, target, warn_broadcast=True)
    d = (x - t).abs()
    loss = where(d < delta, d.square() * 0.5, (d - 0.5 * delta) * delta)
    return _weighted("huber_loss", loss, weight, reduction, normalise=False)


def binary_cross_entropy(
    input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: bool | None = None,
    reduce: bool | None = None, reduction: str = "mean",
) -> Tensor:
    """-w (y log x + (1 - y) log(1 - x)) for probabilities x, each log clamped to >= -100."""
    op = "binary_cross_entropy"
    reduction = _reduction(op, reduction, size_average, reduce)
    x, t = _pair(op, input, target, same_shape=True)
    extra = []
    if weight is not None:
        _pair(op, input, _tensor(weight, op, "weight"))
        extra = [weight]
    return L.BinaryCrossEntropy.apply(x, t.to(x.dtype), *extra, reduction=reduction)


def binary_cross_entropy_with_logits(
    input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: bool | None = None,
    reduce: bool | None = None, reduction: str = "mean", pos_weight: Tensor | None = None,
) -> Tensor:
    """Binary cross entropy of sigmoid(x), computed stably from the logits x.

    ``pos_weight`` (broadcast over the last dimension) weights the positive term.
    """
    op = "binary_cross_entropy_with_logits"
    reduction = _reduction(op, reduction, size_average, reduce)
    x, t = _pair(op, input, target, same_shape=True)
    extra = []
    for name, w in (("weight", weight), ("pos_weight", pos_weight)):
        if w is not None:
            _pair(op, input, _tensor(w, op, name))
            extra.append(w)
    return L.BinaryCrossEntropyWithLogits.apply(
        x, t.to(x.dtype), *extra, reduction=reduction, has_weight=weight is not None,
        has_pos_weight=pos_weight is not None,
    )


def kl_div(
    input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
    reduction: str = "mean", log_target: bool = False,
) -> Tensor:
    """KL(target || input) pointwise: y (log y - x), with x log-probabilities (and y too if ``log_target``).

    ``reduction='batchmean'`` divides the sum by the batch size (the mathematically right mean).
    """
    op = "kl_div"
    if reduction == "batchmean":
        if size_average is not None or reduce is not None:
            reduction = _reduction(op, "mean", size_average, reduce)
    else:
        reduction = _reduction(op, reduction, size_average, reduce)
        if reduction == "mean":
            warnings.warn(
                "reduction: 'mean' divides the total loss by both the batch size and the support size."
                "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                stacklevel=2,
            )
    x, t = _pair(op, input, target)
    if log_target:
        loss = t.exp() * (t - x)
    else:
        # xlogy: 0 log 0 = 0, so zero targets contribute nothing
        pos = t > 0
        loss = t * (where(pos, t, 1.0).log() - x)
    if reduction == "batchmean":
        return loss.sum() / (x.shape[0] if x.ndim else 1)
    return _apply_reduction(loss, reduction)
