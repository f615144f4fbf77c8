"""Layer 4 (optim): Adam, adaptive moment estimation (AdamW is Adam with decoupled weight decay)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ember.optim.optimizer import Optimizer, check, check_flags, count_step, grad_of, new_step, zeros_like


class Adam(Optimizer):
    """Adam: steps scaled by running averages of the gradient and of its square.

    With ``g = grad + weight_decay * p`` (``-grad`` when ``maximize``; with
    ``decoupled_weight_decay`` the decay is ``p = p * (1 - lr * weight_decay)`` instead)::

        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v)                         (amsgrad; v_max replaces v below)
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    Args:
        params: the parameters to optimize, or parameter-group dicts.
        lr: learning rate (default 1e-3).
        betas: decay rates of the two running averages (default (0.9, 0.999)).
        eps: added to the denominator for stability (default 1e-8).
        weight_decay: L2 penalty (default 0).
        amsgrad: use the maximum of past second moments (AMSGrad).
        maximize: maximize the objective instead of minimizing it.
        decoupled_weight_decay: decay the weights directly, as AdamW does.
        foreach, fused, capturable: accepted for PyTorch compatibility; ember has one
            CPU implementation.

    Example:
        >>> import ember
        >>> w = ember.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = ember.optim.Adam([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> [round(v, 4) for v in w.tolist()]
        [0.9, -1.9]
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
            "fused": fused,
            "decoupled_weight_decay": decoupled_weight_decay,
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
        name = type(self).__name__
        lr, eps, weight_decay = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = float(group["betas"][0]), float(group["betas"][1])
        amsgrad, maximize, decoupled = group["amsgrad"], group["maximize"], group["decoupled_weight_decay"]
        decay = 1 - lr * weight_decay if decoupled else 1.0
        fused: list[tuple[Any, Any, Any, Any, float, float]] = []
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:
                state["step"] = new_step()
                state["exp_avg"] = zeros_like(p)
                state["exp_avg_sq"] = zeros_like(p)
                if amsgrad:
                    state["max_exp_avg_sq"] = zeros_like(p)
            step = count_step(state)
            # the bias corrections are Python floats (double), as in PyTorch
            step_size = lr / (1 - beta1**step)
            bc2_sqrt = (1 - beta2**step) ** 0.5
            g = grad_of(p, name, 0.0 if decoupled else weight_decay, maximize)
            m, v = state["exp_avg"]._buf, state["exp_avg_sq"]._buf
            if amsgrad:
                if "max_exp_avg_sq" not in state:  # amsgrad switched on after the first step
                    state["max_exp_avg_sq"] = zeros_like(p)
                _adam_step(p._buf, g, m, v, beta1, beta2, decay, step_size, bc2_sqrt, eps,
                           state["max_exp_avg_sq"]._buf)
            else:
                fused.append((p._buf, g, m, v, step_size, bc2_sqrt))
        # every parameter's update in compiled passes split over the threads, where the backend
        # has them (PyTorch's fused/foreach Adam); else one parameter at a time from primitives
        for param, g, m, v, step_size, bc2_sqrt in type(fused[0][0]).adam_steps_(
                fused, beta1, beta2, decay, eps) if fused else ():
            _adam_step(param, g, m, v, beta1, beta2, decay, step_size, bc2_sqrt, eps, None)


def _adam_step(param: Any, g: Any, m: Any, v: Any, beta1: float, beta2: float, decay: float, step_size: float,
               bc2_sqrt: float, eps: float, v_max: Any) -> None:
    """One parameter's Adam step from primitives (with AMSGrad's running maximum ``v_max``)."""
    if decay != 1.0:
        param.imul_(decay)
    m.lerp_(g, 1 - beta1)
    v.imul_(beta2)
    v.addcmul_(g, g, 1 - beta2)
    if v_max is not None:
        v_max.maximum_(v)
        v = v_max
    denom = v.sqrt()
    denom.idiv_(bc2_sqrt)
    denom.iadd_(eps)
    param.addcdiv_(m, denom, -step_size)
