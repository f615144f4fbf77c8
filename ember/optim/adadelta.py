"""Layer 4 (optim): Adadelta, steps scaled by the ratio of running RMS of updates and gradients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ember.optim.optimizer import Optimizer, check, check_flags, count_step, grad_of, new_step, zeros_like


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012): a learning-rate-free step from two running averages.

    With ``g = grad + weight_decay * p`` (``-grad`` when ``maximize``)::

        v = rho * v + (1 - rho) * g * g
        d = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * d * d
        p = p - lr * d

    Args:
        params: the parameters to optimize, or parameter-group dicts.
        lr: scale of the update (default 1.0).
        rho: decay rate of the running averages (default 0.9).
        eps: added inside the square roots for stability (default 1e-6).
        weight_decay: L2 penalty (default 0).
        maximize: maximize the objective instead of minimizing it.
        foreach, capturable: accepted for PyTorch compatibility.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "rho": rho,
            "eps": eps,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "capturable": capturable,
            "maximize": maximize,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    @staticmethod
    def _validate(name: str, group: dict[str, Any]) -> None:
        check(name, group["lr"] >= 0.0, "learning rate", group["lr"])
        check(name, 0.0 <= group["rho"] <= 1.0, "rho value", group["rho"])
        check(name, group["eps"] >= 0.0, "epsilon value", group["eps"])
        check(name, group["weight_decay"] >= 0.0, "weight_decay value", group["weight_decay"])
        check_flags(name, group)

    def _update(self, group: dict[str, Any]) -> None:
        lr, rho, eps = float(group["lr"]), float(group["rho"]), float(group["eps"])
        weight_decay, maximize = float(group["weight_decay"]), group["maximize"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:
                state["step"] = new_step()
                state["square_avg"] = zeros_like(p)
                state["acc_delta"] = zeros_like(p)
            count_step(state)
            g = grad_of(p, "Adadelta", weight_decay, maximize)
            v, u = state["square_avg"]._buf, state["acc_delta"]._buf
            v.imul_(rho)
            v.addcmul_(g, g, 1 - rho)
            std = v + eps
            std.sqrt_()
            delta = u + eps
            delta.sqrt_()
            delta.idiv_(std)
            delta.imul_(g)
            u.imul_(rho)
            u.addcmul_(delta, delta, 1 - rho)
            p._buf.add_(delta, -lr)
