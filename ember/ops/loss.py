"""Loss Functions with fused, numerically stable backwards: cross entropy, NLL, binary cross entropy.

The other losses (MSE, L1, smooth L1, KL divergence) are compositions of Tensor
operations in ``ember.nn.functional``. Class axes are axis 1, as in PyTorch; the
Tensor layer has already checked shapes, dtypes and class indices.
"""

from __future__ import annotations

from ember.buffer import Buffer
from ember.function import Function

Grads = tuple[Buffer | None, ...]


def _reduce(loss: Buffer, reduction: str, denom: Buffer | float | None = None) -> Buffer:
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    return total / denom if denom is not None else total * (1.0 / _numel(loss))


def _numel(b: Buffer) -> int:
    n = 1
    for s in b.shape:
        n *= s
    return n


def _class_targets(
    target: Buffer, ignore_index: int, weight: Buffer | None, x: Buffer
) -> tuple[Buffer, Buffer, Buffer]:
    """Return (target with ignored entries set to 0, valid mask, per-sample weight), all (N, 1, d...)."""
    t = target.reshape(target.shape[:1] + (1,) + target.shape[1:])
    valid = t.ne(ignore_index)
    t = valid.where(t, 0)
    coef = valid.cast(x.dtype) if weight is None else valid.where(weight.getitem(t), 0)
    return t, valid, coef


class CrossEntropy(Function):
    """loss_i = (1 - e) w_t (lse_i - x_it) + (e / C) sum_c w_c (lse_i - x_ic) with lse the log-sum-exp.

    Targets are class indices (``prob_target=False``) or probabilities of x's shape.
    With p = softmax(x): dx = a (p W' - (1 - e) w_t onehot - (e / C) w), a the upstream
    gradient per sample (divided by the weight total for ``'mean'``) and W' the weight
    each sample's row of p carries. ``ignore_index=None`` says that no target is ignored.
    """

    def forward(
        self, x: Buffer, target: Buffer, *weight: Buffer, reduction: str = "mean",
        ignore_index: int | None = -100, label_smoothing: float = 0.0, prob_target: bool = False,
    ) -> Buffer:
        w = weight[0] if weight else None
        n_cls = x.shape[1]
        fused = x.softmax_lse_rows() if len(x.shape) == 2 else None  # one compiled pass, where there is one
        z: Buffer | float
        if fused is not None:
            (e, lse), z = fused, 1.0  # e holds the softmax itself
        else:
            m = x.max(1, keepdims=True)
            e = x - m
            e.tmp_exp_()  # e is ours: exponentiate in place
            z = e.sum(1, keepdims=True)
            lse = z.log() + m  # (N, 1, d...)
        self.e, self.z = e, z  # softmax(x) = e / z, formed in backward only
        self.eps, self.reduction, self.prob = label_smoothing, reduction, prob_target
        self.wb = None if w is None else w.reshape((1, n_cls) + (1,) * (len(x.shape) - 2))
        self.out_shape = x.shape[:1] + x.shape[2:]
        if prob_target:
            self.logp = x - lse
            tt = target
            if label_smoothing > 0.0:
                tt = target * (1.0 - label_smoothing) + label_smoothing / n_cls
            self.tw = tt if self.wb is None else tt * self.wb
            loss = -(self.logp * self.tw).sum(1)
            self.denom: Buffer | float | None = None if reduction != "mean" else float(_numel(loss))
            return _reduce(loss, reduction, self.denom)
        if (ignore_index is not None and w is None and label_smoothing == 0.0
                and not target.eq(ignore_index).any().item()):
            ignore_index = None  # nanoGPT's ignore_index=-1 with no target -1: the masks would change nothing
        if ignore_index is None and w is None and label_smoothing == 0.0:
            # the common case (no target is ignore_index, no weights): no masks, mean over N
            self.t = target.reshape(target.shape[:1] + (1,) + target.shape[1:])
            self.valid = None
            loss = (lse - x.take_along(self.t, 1)).reshape(self.out_shape)
            self.denom = float(_numel(loss)) if reduction == "mean" else None
            return _reduce(loss, reduction, self.denom)
        t, valid, coef = _class_targets(target, -100 if ignore_index is None else ignore_index, w, x)
        self.t, self.valid, self.coef = t, valid, coef
        loss = (lse - x.take_along(t, 1)) * coef
        if label_smoothing > 0.0:
            logp = x - lse
            smooth = -(logp if self.wb is None else logp * self.wb).sum(1, keepdims=True)
            loss = loss * (1.0 - label_smoothing) + valid.where(smooth, 0) * (label_smoothing / n_cls)
        loss = loss.reshape(self.out_shape)
        self.denom = coef.sum() if reduction == "mean" else None
        return _reduce(loss, reduction, self.denom)

    def backward(self, grad: Buffer) -> Grads:
        needs = self.needs_input_grad
        n_extra = len(needs) - 2
        a = _per_sample(grad, self.reduction, self.denom, self.out_shape)
        if self.prob:
            gx = (self.e * (self.tw.sum(1, keepdims=True) / self.z) - self.tw) * a if needs[0] else None
            gt = None
            if needs[1]:
                gl = -self.logp if self.wb is None else -self.logp * self.wb
                gt = gl * a if self.eps == 0.0 else gl * (a * (1.0 - self.eps))
            return (gx, gt) + (None,) * n_extra
        gx = None
        if needs[0] and self.valid is None:
            gx = self.e * (a / self.z)  # softmax * a, minus a at each target (one per sample)
            gx.tmp_put_along_(self.t, gx.take_along(self.t, 1) - a, 1)
        elif needs[0]:
            eps = self.eps
            n_cls = self.e.shape[1]
            assert self.valid is not None  # the branch above took valid None
            a_valid = self.valid.where(a, 0)
            if self.wb is None:
                gx = self.e * (a_valid / self.z)  # p * a in one pass: the scale is per sample
                if eps > 0.0:
                    gx = gx - a_valid * (eps / n_cls)
            else:
                w_total = self.wb.sum()
                gx = self.e * ((self.coef * a * (1.0 - eps) + a_valid * (w_total * (eps / n_cls))) / self.z)
                if eps > 0.0:
                    gx = gx - a_valid * (eps / n_cls) * self.wb
            hit = self.coef * a * (1.0 - eps) if (self.wb is not None or eps > 0.0) else a_valid
            # one target per sample, so the onehot term is a plain write at each target (gx is ours: in place)
            gx.tmp_put_along_(self.t, gx.take_along(self.t, 1) - hit, 1)
        return (gx, None) + (None,) * n_extra


def _per_sample(
    grad: Buffer, reduction: str, denom: Buffer | float | None, out_shape: tuple[int, ...]
) -> Buffer:
    """The upstream gradient of each sample's loss, shaped (N, 1, d...) or 0-d."""
    if reduction == "none":
        return grad.reshape(out_shape[:1] + (1,) + out_shape[1:])
    if reduction == "sum":
        return grad
    return grad / denom


class NllLoss(Function):
    """loss_i = -w_t x_it (x holds log-probabilities);  dx_it = -w_t a_i, zero elsewhere."""

    def forward(
        self, x: Buffer, target: Buffer, *weight: Buffer, reduction: str = "mean", ignore_index: int = -100
    ) -> Buffer:
        w = weight[0] if weight else None
        t, valid, coef = _class_targets(target, ignore_index, w, x)
        self.t, self.valid, self.coef, self.reduction = t, valid, coef, reduction
        self.x_shape, self.dtype, self.buffer_class = x.shape, x.dtype, type(x)
        self.out_shape = x.shape[:1] + x.shape[2:]
        loss = (-x.take_along(t, 1) * coef).reshape(self.out_shape)
        self.denom = coef.sum() if reduction == "mean" else None
        return _reduce(loss, reduction, self.denom)

    def backward(self, grad: Buffer) -> Grads:
        a = _per_sample(grad, self.reduction, self.denom, self.out_shape)
        hit = -(self.coef * a)
        gx = self.buffer_class.full(self.x_shape, 0, self.dtype)
        gx.tmp_put_along_(self.t, hit, 1)  # one target per sample: a plain write into the new zeros
        return (gx,) + (None,) * (len(self.needs_input_grad) - 1)


class BinaryCrossEntropy(Function):
    """loss = -w (t log x + (1 - t) log(1 - x)), each log clamped to >= -100 as in PyTorch.

    dx = w (x - t) / max(x (1 - x), 1e-12);  dt = w (log(1 - x) - log x).
    """

    def forward(self, x: Buffer, t: Buffer, *weight: Buffer, reduction: str = "mean") -> Buffer:
        self.x, self.t, self.reduction = x, t, reduction
        self.w = weight[0] if weight else None
        self.log_x = x.log().maximum(-100.0)
        self.log_1mx = (1 - x).log().maximum(-100.0)
        loss = -(t * self.log_x + (1 - t) * self.log_1mx)
        if self.w is not None:
            loss = loss * self.w
        self.shape = loss.shape
        return _reduce(loss, reduction)

    def backward(self, grad: Buffer) -> Grads:
        needs = self.needs_input_grad
        a = _elementwise_upstream(grad, self.reduction, self.shape)
        if self.w is not None:
            a = a * self.w
        x = self.x
        gx = a * (x - self.t) / (x * (1 - x)).maximum(1e-12) if needs[0] else None
        gt = a * (self.log_1mx - self.log_x) if needs[1] else None
        return (gx, gt) + (None,) * (len(needs) - 2)


class BinaryCrossEntropyWithLogits(Function):
    """loss = w ((1 - t) x + l softplus(-x)) with l = 1 + (pos_weight - 1) t; softplus(-x) computed stably.

    dx = w ((1 - t) - l sigmoid(-x));  dt = w (-x + (pos_weight - 1) softplus(-x)).
    """

    def forward(
        self, x: Buffer, t: Buffer, *extra: Buffer, reduction: str = "mean", has_weight: bool = False,
        has_pos_weight: bool = False,
    ) -> Buffer:
        self.w = extra[0] if has_weight else None
        self.pw = extra[-1] if has_pos_weight else None
        self.x, self.t, self.reduction = x, t, reduction
        self.sp = (-x.abs()).exp().log1p() + (-x).maximum(0)  # softplus(-x) = log(1 + e^-x)
        self.lw = None if self.pw is None else (self.pw - 1) * t + 1
        loss = (1 - t) * x + (self.sp if self.lw is None else self.lw * self.sp)
        if self.w is not None:
            loss = loss * self.w
        self.shape = loss.shape
        return _reduce(loss, reduction)

    def backward(self, grad: Buffer) -> Grads:
        needs = self.needs_input_grad
        a = _elementwise_upstream(grad, self.reduction, self.shape)
        if self.w is not None:
            a = a * self.w
        gx = gt = None
        if needs[0]:
            sig_neg = (self.x * -0.5).tanh() * 0.5 + 0.5  # sigmoid(-x)
            gx = a * ((1 - self.t) - (sig_neg if self.lw is None else self.lw * sig_neg))
        if needs[1]:
            gt = a * (-self.x if self.pw is None else (self.pw - 1) * self.sp - self.x)
        return (gx, gt) + (None,) * (len(needs) - 2)


def _elementwise_upstream(grad: Buffer, reduction: str, shape: tuple[int, ...]) -> Buffer:
    if reduction == "mean":
        n = 1
        for s in shape:
            n *= s
        return grad * (1.0 / n)
    return grad
