"""Layer 4 (optim): NAdam, Adam with Nesterov momentum (Dozat, 2016)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ember import dtypes
from ember.backend import DEFAULT as _Buf
from ember.optim.optimizer import (
    Optimizer,
    as_tensor,
    check,
    check_flags,
    count_step,
    grad_of,
    new_step,
    zeros_like,
)


class NAdam(Optimizer):
    """NAdam: Adam whose step looks one momentum step ahead, with a warming-up momentum.

    With ``g = grad + weight_decay * p`` (``-grad`` when ``maximize``; with
    ``decoupled_weight_decay`` the decay is ``p = p * (1 - lr * weight_decay)`` instead)
    at step ``t``, and ``mu_t = beta1 (1 - 0.5 * 0.96 ** (t * momentum_decay))``::

        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        d = sqrt(v / (1 - beta2**t)) + eps
        p = p - lr (1 - mu_t) / (1 - prod(mu_1..mu_t)) * g / d
              - lr mu_{t+1} / (1 - prod(mu_1..mu_{t+1})) * m / d

    Args:
        params: the parameters to optimize, or parameter-group dicts.
        lr: learning rate (default 2e-3).
        betas: decay rates of the two running averages (default (0.9, 0.999)).
        eps: added to the denominator for stability (default 1e-8).
        weight_decay: L2 penalty (default 0).
        momentum_decay: how fast the momentum warms up to ``beta1`` (default 4e-3).
        decoupled_weight_decay: decay the weights directly, as AdamW does.
        maximize: maximize the objective instead of minimizing it.
        foreach, capturable: accepted for PyTorch compatibility.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = {
            "lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
            "momentum_decay": momentum_decay, "decoupled_weight_decay": decoupled_weight_decay,
            "foreach": foreach, "maximize": maximize,
            "capturable": capturable, "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    @staticmethod
    def _validate(name: str, group: dict[str, Any]) -> None:
        check(name, group["lr"] >= 0.0, "learning rate", group["lr"])
        check(name, group["eps"] >= 0.0, "epsilon value", group["eps"])
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair of floats, got {betas!r}")
        check(name, 0.0 <= betas[0] < 1.0, "beta parameter at index 0", betas[0])
        check(name, 0.0 <= betas[1] < 1.0, "beta parameter at index 1", betas[1])
        check(name, group["weight_decay"] >= 0.0, "weight_decay value", group["weight_decay"])
        check(name, group["momentum_decay"] >= 0.0, "momentum_decay value", group["momentum_decay"])
        check_flags(name, group)

    def _update(self, group: dict[str, Any]) -> None:
        lr, eps, weight_decay = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = float(group["betas"][0]), float(group["betas"][1])
        psi, decoupled = float(group["momentum_decay"]), group["decoupled_weight_decay"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:
                state["step"] = new_step()
                # a float32 0-d tensor, as in PyTorch: the running product rounds in float32
                state["mu_product"] = as_tensor(_Buf.full((), 1.0, dtypes.float32))
                state["exp_avg"] = zeros_like(p)
                state["exp_avg_sq"] = zeros_like(p)
            step = count_step(state)
            param = p._buf
            if decoupled and weight_decay:
                param.imul_(1 - lr * weight_decay)
            g = grad_of(p, "NAdam", 0.0 if decoupled else weight_decay, group["maximize"])
            mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
            mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
            prod = state["mu_product"]._buf
            prod.imul_(mu)
            mu_product = float(prod.item())
            m, v = state["exp_avg"]._buf, state["exp_avg_sq"]._buf
            m.lerp_(g, 1 - beta1)
            v.imul_(beta2)
            v.addcmul_(g, g, 1 - beta2)
            denom = (v / (1 - beta2**step)).sqrt()
            denom.iadd_(eps)
            param.addcdiv_(g, denom, -lr * (1.0 - mu) / (1.0 - mu_product))
            param.addcdiv_(m, denom, -lr * mu_next / (1.0 - mu_product * mu_next))
