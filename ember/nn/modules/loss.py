"""Loss modules: ``CrossEntropyLoss``, ``NLLLoss``, ``MSELoss``, ``L1Loss``, ``BCELoss``, ...

Each stores its options (and ``weight``/``pos_weight`` as buffers, as PyTorch does)
and calls the functional form in ``forward(input, target)``.
"""

from __future__ import annotations

from ember._tensor import Tensor
from ember.nn import _loss as F
from ember.nn.module import Module


class _Loss(Module):
    def __init__(
        self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean"
    ) -> None:
        super().__init__()
        self.reduction = F._reduction(type(self).__name__, reduction, size_average, reduce)

    def extra_repr(self) -> str:
        return ""


class _WeightedLoss(_Loss):
    def __init__(
        self, weight: Tensor | None = None, size_average: bool | None = None, reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class CrossEntropyLoss(_WeightedLoss):
    """Compute the cross entropy between logits and class indices or class probabilities.

    The loss of one sample is ``logsumexp(x) - x[target]``, computed as one fused,
    stable Function (see ``ember.nn.functional.cross_entropy``).

    Args:
        weight: a (C,) tensor of per-class weights; ``'mean'`` then divides by the total
            weight of the counted targets.
        ignore_index: targets equal to it contribute nothing (default -100).
        reduction: ``'mean'`` (default), ``'sum'``, or ``'none'`` for one loss per element.
        size_average, reduce: PyTorch's deprecated flags; when either is given it overrides ``reduction``.
        label_smoothing: in [0, 1]; mixes the target with the uniform distribution (default 0.0).

    Shape:
        input (N, C), (N, C, d1, ...) or unbatched (C,); target of class indices (N),
        (N, d1, ...) or (), any integer dtype, or of class probabilities with the input's
        shape and dtype -> a 0-d loss, or the target's shape with ``reduction='none'``.

    Example:
        >>> import ember
        >>> loss = ember.nn.CrossEntropyLoss()(ember.zeros(2, 4), ember.tensor([0, 3]))
        >>> round(loss.item(), 4)  # log(4)
        1.3863
    """

    def __init__(
        self, weight: Tensor | None = None, size_average: bool | None = None, ignore_index: int = -100,
        reduce: bool | None = None, reduction: str = "mean", label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(
            input, target, weight=self.weight, ignore_index=self.ignore_index, reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )


class NLLLoss(_WeightedLoss):
    """Compute the negative log likelihood ``-x[target]`` of log-probabilities at class indices.

    Use it after ``LogSoftmax``; ``CrossEntropyLoss`` fuses the two.

    Args:
        weight: a (C,) tensor of per-class weights; ``'mean'`` then divides by the total
            weight of the counted targets.
        ignore_index: targets equal to it contribute nothing (default -100).
        reduction: ``'mean'`` (default), ``'sum'``, or ``'none'`` for one loss per element.
        size_average, reduce: PyTorch's deprecated flags; when either is given it overrides ``reduction``.

    Shape:
        input (N, C), (N, C, d1, ...) or unbatched (C,); target of class indices (N),
        (N, d1, ...) or () -> a 0-d loss, or the target's shape with ``reduction='none'``.
    """

    def __init__(
        self, weight: Tensor | None = None, size_average: bool | None = None, ignore_index: int = -100,
        reduce: bool | None = None, reduction: str = "mean",
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.nll_loss(
            input, target, weight=self.weight, ignore_index=self.ignore_index, reduction=self.reduction
        )


class MSELoss(_Loss):
    """Compute the squared error ``(x - y)^2``, averaged by default.

    Args:
        reduction: ``'mean'`` (default), ``'sum'``, or ``'none'`` for one loss per element.
        size_average, reduce: PyTorch's deprecated flags; when either is given it overrides ``reduction``.

    Shape:
        input (*), target of the same shape (or broadcastable to it) -> a 0-d loss, or the
        broadcast shape with ``reduction='none'``.
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Compute the absolute error ``|x - y|``, averaged by default.

    Args:
        reduction: ``'mean'`` (default), ``'sum'``, or ``'none'`` for one loss per element.
        size_average, reduce: PyTorch's deprecated flags; when either is given it overrides ``reduction``.

    Shape:
        input (*), target of the same shape (or broadcastable to it) -> a 0-d loss, or the
        broadcast shape with ``reduction='none'``.
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """Compute ``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``, for ``d = x - y``.

    Args:
        reduction: ``'mean'`` (default), ``'sum'``, or ``'none'`` for one loss per element.
        size_average, reduce: PyTorch's deprecated flags; when either is given it overrides ``reduction``.
        beta: where the loss turns from quadratic to linear, >= 0 (default 1.0; 0 gives L1).

    Shape:
        input (*), target of the same shape (or broadcastable to it) -> a 0-d loss, or the
        broadcast shape with ``reduction='none'``.
    """

    def __init__(
        self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean",
        beta: float = 1.0,
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """Compute ``0.5 d^2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``, for ``d = x - y``.

    Args:
        reduction: ``'mean'`` (default), ``'sum'``, or ``'none'`` for one loss per element.
        delta: where the loss turns from quadratic to linear, > 0 (default 1.0).

    Shape:
        input (*), target of the same shape (or broadcastable to it) -> a 0-d loss, or the
        broadcast shape with ``reduction='none'``.
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class BCELoss(_WeightedLoss):
    """Compute the binary cross entropy ``-w (y log x + (1 - y) log(1 - x))`` of probabilities.

    Each log is clamped to >= -100, as in PyTorch, so a probability of exactly 0 or 1
    gives a finite loss. Prefer ``BCEWithLogitsLoss`` on logits: it is stable.

    Args:
        weight: a rescaling weight broadcast to the input's shape.
        reduction: ``'mean'`` (default), ``'sum'``, or ``'none'`` for one loss per element.
        size_average, reduce: PyTorch's deprecated flags; when either is given it overrides ``reduction``.

    Shape:
        input (*) of probabilities in [0, 1], target of the same shape -> a 0-d loss, or
        (*) with ``reduction='none'``.
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Compute the binary cross entropy of ``sigmoid(x)`` directly from the logits ``x``, stably.

    Args:
        weight: a rescaling weight broadcast to the input's shape.
        reduction: ``'mean'`` (default), ``'sum'``, or ``'none'`` for one loss per element.
        size_average, reduce: PyTorch's deprecated flags; when either is given it overrides ``reduction``.
        pos_weight: a weight of the positive term, broadcast over the last dimension
            (e.g. one per class, to trade recall for precision).

    Shape:
        input (*) of logits, target of the same shape -> a 0-d loss, or (*) with
        ``reduction='none'``.
    """

    def __init__(
        self, weight: Tensor | None = None, size_average: bool | None = None, reduce: bool | None = None,
        reduction: str = "mean", pos_weight: Tensor | None = None,
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(
            input, target, self.weight, pos_weight=self.pos_weight, reduction=self.reduction
        )


class KLDivLoss(_Loss):
    """Compute the KL divergence ``y (log y - x)`` of log-probabilities ``x`` from targets ``y``.

    Args:
        reduction: ``'mean'`` (default: over all elements), ``'batchmean'`` (the sum
            divided by the batch size: the true KL divergence), ``'sum'`` or ``'none'``.
        size_average, reduce: PyTorch's deprecated flags; when either is given it overrides ``reduction``.
        log_target: whether the target is given as log-probabilities too (default False).

    Shape:
        input (*) of log-probabilities, target of the same shape -> a 0-d loss, or (*)
        with ``reduction='none'``.
    """

    def __init__(
        self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean",
        log_target: bool = False,
    ) -> None:
        if reduction == "batchmean" and size_average is None and reduce is None:
            super().__init__()
            self.reduction = "batchmean"
        else:
            super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)
