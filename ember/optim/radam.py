"""Layer 4 (optim): RAdam, Adam with the variance of its early steps rectified (Liu et al., 2019)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ember.optim.optimizer import Optimizer, check, check_flags, count_step, grad_of, new_step, zeros_like


class RAdam(Optimizer):
    """RAdam: Adam that takes plain momentum steps until its second-moment estimate is reliable.

    With ``g = grad + weight_decay * p`` (``-grad`` when ``maximize``; with
    ``decoupled_weight_decay`` the decay is ``p = p * (1 - lr * weight_decay)`` instead)
    at step ``t``, ``rho_inf = 2 / (1 - beta2) - 1`` and
    ``rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t)``::

        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t)
        p = p - lr * m_hat * sqrt(1 - beta2**t) / (sqrt(v) + eps) * r_t    if rho_t > 5
        p = p - lr * m_hat                                                 otherwise
        r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))

    Args:
        params: the parameters to optimize, or parameter-group dicts.
        lr: learning rate (default 1e-3).
        betas: decay rates of the two running averages (default (0.9, 0.999)).
        eps: added to the denominator for stability (default 1e-8).
        weight_decay: L2 penalty (default 0).
        decoupled_weight_decay: decay the weights directly, as AdamW does.
        maximize: maximize the objective instead of minimizing it.
        foreach, capturable: accepted for PyTorch compatibility.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = {
            "lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
            "decoupled_weight_decay": decoupled_weight_decay, "foreach": foreach, "maximize": maximize,
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
        check_flags(name, group)

    def _update(self, group: dict[str, Any]) -> None:
        lr, eps, weight_decay = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = float(group["betas"][0]), float(group["betas"][1])
        decoupled = group["decoupled_weight_decay"]
        rho_inf = 2 / (1 - beta2) - 1
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:
                state["step"] = new_step()
                state["exp_avg"] = zeros_like(p)
                state["exp_avg_sq"] = zeros_like(p)
            step = count_step(state)
            param = p._buf
            if decoupled and weight_decay:
                param.imul_(1 - lr * weight_decay)
            g = grad_of(p, "RAdam", 0.0 if decoupled else weight_decay, group["maximize"])
            m, v = state["exp_avg"]._buf, state["exp_avg_sq"]._buf
            m.lerp_(g, 1 - beta1)
            v.imul_(beta2)
            v.addcmul_(g, g, 1 - beta2)
            bias_correction2 = 1 - beta2**step
            m_hat = m / (1 - beta1**step)
            rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
            if rho_t > 5.0:
                rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                root = v.sqrt()
                root.iadd_(eps)
                # the order of PyTorch's products, so the float32 roundings agree
                param.add_(m_hat * lr * (bias_correction2**0.5 / root) * rect, -1.0)
            else:
                param.add_(m_hat * lr, -1.0)
