"""Layer 4 (optim): RMSprop, steps divided by a running root-mean-square of the gradient."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ember.optim.optimizer import Optimizer, check, check_flags, count_step, grad_of, new_step, zeros_like


class RMSprop(Optimizer):
    """RMSprop (Hinton), optionally centered and with momentum.

    With ``g = grad + weight_decay * p`` (``-grad`` when ``maximize``)::

        v = alpha * v + (1 - alpha) * g * g
        a = alpha * a + (1 - alpha) * g;  d = sqrt(v - a * a) + eps    (centered)
        d = sqrt(v) + eps                                               (otherwise)
        b = momentum * b + g / d;  p = p - lr * b                       (momentum > 0)
        p = p - lr * g / d                                              (otherwise)

    Args:
        params: the parameters to optimize, or parameter-group dicts.
        lr: learning rate (default 1e-2).
        alpha: smoothing constant of the running averages (default 0.99).
        eps: added to the denominator for stability (default 1e-8).
        weight_decay: L2 penalty (default 0).
        momentum: momentum factor (default 0).
        centered: normalize by an estimate of the gradient's variance instead of its
            second moment.
        maximize: maximize the objective instead of minimizing it.
        foreach, capturable: accepted for PyTorch compatibility.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "alpha": alpha,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "centered": centered,
            "capturable": capturable,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    @staticmethod
    def _validate(name: str, group: dict[str, Any]) -> None:
        check(name, group["lr"] >= 0.0, "learning rate", group["lr"])
        check(name, group["eps"] >= 0.0, "epsilon value", group["eps"])
        check(name, group["momentum"] >= 0.0, "momentum value", group["momentum"])
        check(name, group["weight_decay"] >= 0.0, "weight_decay value", group["weight_decay"])
        check(name, group["alpha"] >= 0.0, "alpha value", group["alpha"])
        check_flags(name, group)

    def _update(self, group: dict[str, Any]) -> None:
        lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
        weight_decay, momentum = float(group["weight_decay"]), float(group["momentum"])
        centered, maximize = group["centered"], group["maximize"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:
                state["step"] = new_step()
                state["square_avg"] = zeros_like(p)
                if momentum > 0:
                    state["momentum_buffer"] = zeros_like(p)
                if centered:
                    state["grad_avg"] = zeros_like(p)
            count_step(state)
            g = grad_of(p, "RMSprop", weight_decay, maximize)
            v = state["square_avg"]._buf
            v.imul_(alpha)
            v.addcmul_(g, g, 1 - alpha)
            if centered:
                if "grad_avg" not in state:  # centered switched on after the first step
                    state["grad_avg"] = zeros_like(p)
                a = state["grad_avg"]._buf
                a.lerp_(g, 1 - alpha)
                denom = v.copy()
                denom.addcmul_(a, a, -1.0)
                denom.sqrt_()
            else:
                denom = v.sqrt()
            denom.iadd_(eps)
            if momentum > 0:
                if "momentum_buffer" not in state:  # momentum switched on after the first step
                    state["momentum_buffer"] = zeros_like(p)
                b = state["momentum_buffer"]._buf
                b.imul_(momentum)
                b.addcdiv_(g, denom)
                p._buf.add_(b, -lr)
            else:
                p._buf.addcdiv_(g, denom, -lr)
