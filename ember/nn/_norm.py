"""Functional normalisation: ``layer_norm``, ``rms_norm``, ``group_norm``, ``batch_norm``, ``normalize``."""

from __future__ import annotations

from typing import Any

from ember._tensor import Tensor
from ember._tensor.core import TensorCore
from ember.ops import fused

__all__ = ["layer_norm", "rms_norm", "group_norm", "batch_norm", "normalize", "cosine_similarity",
           "pairwise_distance"]

# machine epsilon per float dtype (torch.finfo(dtype).eps), RMSNorm's default eps
_FINFO_EPS = {"float16": 0.0009765625, "float32": 1.1920928955078125e-07, "float64": 2.220446049250313e-16}


def _tensor(x: Any, op: str, what: str = "input") -> Tensor:
    if not isinstance(x, TensorCore):
        raise TypeError(f"{op}: {what} must be a Tensor, got {type(x).__name__}")
    return x  # type: ignore[return-value]


def _normalized_shape(shape: Any) -> tuple[int, ...]:
    return (int(shape),) if isinstance(shape, int) else tuple(int(s) for s in shape)


def _check_normalized(op: str, x: Tensor, shape: tuple[int, ...], params: dict[str, Tensor | None]) -> None:
    k = len(shape)
    if k == 0 or x.ndim < k or tuple(x.shape[x.ndim - k :]) != shape:
        raise RuntimeError(
            f"{op}: normalized_shape {list(shape)} does not match the last dimensions of the input of shape "
            f"{tuple(x.shape)}"
        )
    for name, p in params.items():
        if p is not None and tuple(_tensor(p, op, name).shape) != shape:
            raise RuntimeError(
                f"{op}: {name} of shape {tuple(p.shape)} does not match normalized_shape {list(shape)}"
            )


def layer_norm(
    input: Tensor, normalized_shape: Any, weight: Tensor | None = None, bias: Tensor | None = None,
    eps: float = 1e-05,
) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dimensions, then scale and shift."""
    x = _tensor(input, "layer_norm")
    shape = _normalized_shape(normalized_shape)
    _check_normalized("layer_norm", x, shape, {"weight": weight, "bias": bias})
    params = [p for p in (weight, bias) if p is not None]
    return fused.LayerNorm.apply(
        x, *params, normalized_ndim=len(shape), eps=float(eps), has_weight=weight is not None,
        has_bias=bias is not None,
    )


def rms_norm(
    input: Tensor, normalized_shape: Any, weight: Tensor | None = None, eps: float | None = None
) -> Tensor:
    """x / sqrt(mean(x^2) + eps) * weight over the trailing dims; eps None is the dtype's machine epsilon."""
    x = _tensor(input, "rms_norm")
    shape = _normalized_shape(normalized_shape)
    _check_normalized("rms_norm", x, shape, {"weight": weight})
    if eps is None:
        eps = _FINFO_EPS.get(x.dtype.name, _FINFO_EPS["float32"])
    params = [weight] if weight is not None else []
    return fused.RMSNorm.apply(x, *params, normalized_ndim=len(shape), eps=float(eps))


def group_norm(
    input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
    eps: float = 1e-05,
) -> Tensor:
    """Normalise each group of ``C / num_groups`` channels (with all spatial positions) of every sample."""
    x = _tensor(input, "group_norm")
    if x.ndim < 2:
        raise RuntimeError(f"group_norm: expected an input of shape (N, C, ...), got {tuple(x.shape)}")
    c = x.shape[1]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError(
            f"group_norm: expected number of channels in input ({c}) to be divisible by num_groups "
            f"({num_groups})"
        )
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(_tensor(p, "group_norm", name).shape) != (c,):
            raise RuntimeError(f"group_norm: {name} of shape {tuple(p.shape)} does not match {c} channels")
    n = x.shape[0]
    # (N, C, *) -> (N, G, C/G * prod(*)): each row is one group of one sample
    y = fused.LayerNorm.apply(
        x.reshape(n, num_groups, -1), normalized_ndim=1, eps=float(eps), has_weight=False, has_bias=False
    ).reshape(tuple(x.shape))
    bshape = (c,) + (1,) * (x.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(bshape)
    if bias is not None:
        y = y + bias.reshape(bshape)
    return y


def batch_norm(
    input: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None = None,
    bias: Tensor | None = None, training: bool = False, momentum: float = 0.1, eps: float = 1e-05,
) -> Tensor:
    """Normalise each channel (dim 1) with batch statistics (training) or the running ones.

    In training, ``running_mean``/``running_var`` (when given) are updated in place
    with ``momentum``, the variance unbiased, as PyTorch does.
    """
    x = _tensor(input, "batch_norm")
    if x.ndim < 2:
        raise RuntimeError(f"batch_norm: expected an input of shape (N, C, ...), got {tuple(x.shape)}")
    c = x.shape[1]
    named = (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias))
    for name, t in named:
        if t is not None and tuple(_tensor(t, "batch_norm", name).shape) != (c,):
            raise RuntimeError(f"batch_norm: {name} of shape {tuple(t.shape)} does not match {c} channels")
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError("batch_norm: running_mean and running_var must be defined in evaluation mode")
    if training and x.numel() // c <= 1:
        raise ValueError(
            "batch_norm: expected more than 1 value per channel when training, got input of shape "
            f"{tuple(x.shape)}"
        )
    params: list[Tensor] = []
    if weight is not None or bias is not None:
        from ember._tensor.creation import ones, zeros

        params = [
            weight if weight is not None else ones(c, dtype=x.dtype),
            bias if bias is not None else zeros(c, dtype=x.dtype),
        ]
    return fused.BatchNorm.apply(
        x, *params, training=bool(training), momentum=float(momentum), eps=float(eps),
        running_mean=None if running_mean is None else running_mean._buf,
        running_var=None if running_var is None else running_var._buf,
    )


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Any = None) -> Tensor:
    """x / max(||x||_p, eps) along ``dim``."""
    x = _tensor(input, "normalize")
    return x / x.norm(p=p, dim=dim, keepdim=True).clamp(min=eps).expand_as(x)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1 x2) / (||x1|| ||x2||) along ``dim`` (broadcast), each norm raised to at least ``eps``."""
    from ember._tensor.promotion import broadcast_shapes

    a, b = _tensor(x1, "cosine_similarity"), _tensor(x2, "cosine_similarity")
    shape = broadcast_shapes(tuple(a.shape), tuple(b.shape), "cosine_similarity")
    a, b = a.expand(shape), b.expand(shape)
    na, nb = _floored(a.norm(dim=dim, keepdim=True), eps), _floored(b.norm(dim=dim, keepdim=True), eps)
    return ((a / na) * (b / nb)).sum(dim)


def _floored(n: Tensor, eps: float) -> Tensor:
    """``n`` raised to at least ``eps`` in value, with the gradient of ``n`` itself: PyTorch clamps
    the norms of cosine_similarity outside autograd, so a tiny vector's gradient keeps the norm's term."""
    m = n.detach()
    return n + (m.clamp(min=eps) - m)


def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """||x1 - x2 + eps||_p over the last dim (broadcast)."""
    a, b = _tensor(x1, "pairwise_distance"), _tensor(x2, "pairwise_distance")
    return (a - b + eps).norm(p=p, dim=-1, keepdim=keepdim)
