"""Batch normalisation: ``BatchNorm1d``, ``BatchNorm2d``, ``BatchNorm3d``."""

from __future__ import annotations

from typing import Any

from ember import dtypes
from ember._tensor import Tensor
from ember._tensor.creation import ones, tensor, zeros
from ember.nn import _norm as F
from ember.nn import init
from ember.nn.module import Module
from ember.nn.parameter import Parameter


class _BatchNorm(Module):
    """Normalise per channel (dim 1): the shared code of ``BatchNorm1d``, ``2d`` and ``3d``.

    In training the batch's statistics are used (biased variance) and the running
    ones are updated: ``running = (1 - momentum) running + momentum batch`` with the
    unbiased variance; ``momentum=None`` gives a cumulative average. In evaluation the
    running statistics are used; without them (``track_running_stats=False``) the
    batch's statistics are used in both modes.
    """

    _expected_dims: tuple[int, ...] = ()

    def __init__(
        self, num_features: int, eps: float = 1e-05, momentum: float | None = 0.1, affine: bool = True,
        track_running_stats: bool = True, device: Any = None, dtype: Any = None, *, bias: bool = True,
    ) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(ones(num_features, dtype=dtype))
            if bias:
                self.bias = Parameter(zeros(num_features, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", tensor(0, dtype=dtypes.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Reset ``running_mean`` to zeros, ``running_var`` to ones, ``num_batches_tracked`` to 0."""
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def _check_input_dim(self, x: Tensor) -> None:
        if x.ndim not in self._expected_dims:
            want = " or ".join(f"{d}D" for d in self._expected_dims)
            raise ValueError(
                f"{type(self).__name__}: expected {want} input, got {x.ndim}D input of shape {tuple(x.shape)}"
            )

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.item())
        use_batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        # running statistics are updated only while training and tracking
        track = not self.training or self.track_running_stats
        return F.batch_norm(
            input, self.running_mean if track else None, self.running_var if track else None, self.weight,
            self.bias, use_batch_stats, factor, self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Apply batch normalisation per channel to (N, C) or (N, C, L) inputs.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias``. In training the batch's mean
    and biased variance are used, and the buffers ``running_mean`` (zeros at first) and
    ``running_var`` (ones) are updated as ``(1 - momentum) * running + momentum * batch``
    with the unbiased variance; ``num_batches_tracked`` counts the steps. In evaluation
    the running statistics are used instead (unless ``track_running_stats=False``, which
    keeps no buffers and always uses the batch's statistics).

    Args:
        num_features: C, the number of channels.
        eps: added to the variance (default 1e-5).
        momentum: the weight of the new batch in the running statistics (default 0.1);
            None gives a cumulative average over ``num_batches_tracked``.
        affine: whether to learn ``weight`` (ones) and ``bias`` (zeros) per channel (default True).
        track_running_stats: whether to keep the running statistics (default True).
        device, dtype: the parameters' dtype (default float32); ``device`` is accepted
            for PyTorch compatibility.
        bias: whether to learn ``bias`` when ``affine`` (default True).

    Shape:
        input (N, C) or (N, C, L) -> output of the same shape.
    """

    _expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Apply batch normalisation per channel to (N, C, H, W) images.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias``. In training the batch's mean
    and biased variance are used, and the buffers ``running_mean`` (zeros at first) and
    ``running_var`` (ones) are updated as ``(1 - momentum) * running + momentum * batch``
    with the unbiased variance; ``num_batches_tracked`` counts the steps. In evaluation
    the running statistics are used instead (unless ``track_running_stats=False``, which
    keeps no buffers and always uses the batch's statistics).

    Args:
        num_features: C, the number of channels.
        eps: added to the variance (default 1e-5).
        momentum: the weight of the new batch in the running statistics (default 0.1);
            None gives a cumulative average over ``num_batches_tracked``.
        affine: whether to learn ``weight`` (ones) and ``bias`` (zeros) per channel (default True).
        track_running_stats: whether to keep the running statistics (default True).
        device, dtype: the parameters' dtype (default float32); ``device`` is accepted
            for PyTorch compatibility.
        bias: whether to learn ``bias`` when ``affine`` (default True).

    Shape:
        input (N, C, H, W) -> output of the same shape.
    """

    _expected_dims = (4,)


class BatchNorm3d(_BatchNorm):
    """Apply batch normalisation per channel to (N, C, D, H, W) volumes.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias``. In training the batch's mean
    and biased variance are used, and the buffers ``running_mean`` (zeros at first) and
    ``running_var`` (ones) are updated as ``(1 - momentum) * running + momentum * batch``
    with the unbiased variance; ``num_batches_tracked`` counts the steps. In evaluation
    the running statistics are used instead (unless ``track_running_stats=False``, which
    keeps no buffers and always uses the batch's statistics).

    Args:
        num_features: C, the number of channels.
        eps: added to the variance (default 1e-5).
        momentum: the weight of the new batch in the running statistics (default 0.1);
            None gives a cumulative average over ``num_batches_tracked``.
        affine: whether to learn ``weight`` (ones) and ``bias`` (zeros) per channel (default True).
        track_running_stats: whether to keep the running statistics (default True).
        device, dtype: the parameters' dtype (default float32); ``device`` is accepted
            for PyTorch compatibility.
        bias: whether to learn ``bias`` when ``affine`` (default True).

    Shape:
        input (N, C, D, H, W) -> output of the same shape.
    """

    _expected_dims = (5,)
