"""``ember.nn.utils``: gradient clipping and flattening parameters to one vector."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ember._tensor import Tensor
from ember._tensor.core import TensorCore, _make
from ember.autograd.grad_mode import no_grad

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]


def _as_list(parameters: Any) -> list[Tensor]:
    if isinstance(parameters, TensorCore):
        return [parameters]  # type: ignore[list-item]
    return list(parameters)


@no_grad()
def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Scale all gradients in place so that their joint norm is at most ``max_norm``.

    The norm is taken over all gradients together, as if concatenated into one
    vector. Gradients are multiplied by ``min(1, max_norm / (norm + 1e-6))``.

    Returns:
        The total norm of the gradients before clipping (a 0-d tensor).

    Raises:
        RuntimeError: if ``error_if_nonfinite`` and the total norm is NaN or infinite.
    """
    from ember._tensor.creation import tensor

    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    norm_type = float(norm_type)
    if not grads:
        return tensor(0.0)
    bufs = [g._buf for g in grads]
    if norm_type == 2.0 and all(b.dtype is bufs[0].dtype for b in bufs):
        # the hot path of every training loop: all gradients in one compiled pass split over the
        # threads where the backend has one (PyTorch's foreach norm), else one dot product each
        sq = type(bufs[0]).sum_squares_all(bufs)
        if sq is None:
            for b in bufs:
                flat = b.reshape((-1,))
                s = flat.dot_last(flat)
                sq = s if sq is None else sq + s
        assert sq is not None  # bufs is not empty
        total = _make(sq.sqrt(), None)
    else:
        norms = [g.norm(norm_type) for g in grads]
        if norm_type == math.inf:
            total = norms[0]
            for n in norms[1:]:
                total = total.maximum(n)
        elif norm_type == 2.0:
            total = sum((n * n for n in norms[1:]), norms[0] * norms[0]).sqrt()
        else:
            total = sum((n**norm_type for n in norms[1:]), norms[0] ** norm_type) ** (1.0 / norm_type)
    if error_if_nonfinite and not bool(total.isfinite()):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite "
            f"({float(total)}), so it cannot be clipped; set error_if_nonfinite=False to clip anyway"
        )
    coef = (max_norm / (total + 1e-6)).clamp(max=1.0)
    c = coef.item()
    if c != 1.0 and not type(bufs[0]).mul_all_(bufs, c):  # a factor of 1 would change nothing
        for g in grads:
            g.mul_(coef.to(g.dtype))
    return total


@no_grad()
def clip_grad_value_(
    parameters: Tensor | Iterable[Tensor], clip_value: float, foreach: bool | None = None
) -> None:
    """Clamp every gradient in place to [-clip_value, clip_value]."""
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        if p.grad is not None:
            p.grad.clamp_(-clip_value, clip_value)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """Concatenate the flattened parameters into one 1-D tensor."""
    from ember._tensor.movement import cat

    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into ``parameters`` (``parameters_to_vector`` undone)."""
    if not isinstance(vec, TensorCore):
        raise TypeError(f"vector_to_parameters: expected vec to be a Tensor, but got {type(vec).__name__}")
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.numel() != total:
        raise RuntimeError(
            f"vector_to_parameters: vec of shape {tuple(vec.shape)} does not hold the {total} parameter "
            "values"
        )
    pointer = 0
    with no_grad():
        for p in params:
            n = p.numel()
            p.copy_(vec[pointer : pointer + n].reshape(tuple(p.shape)))
            pointer += n
