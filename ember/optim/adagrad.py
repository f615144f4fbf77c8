"""Layer 4 (optim): Adagrad, steps divided by the root of the summed squared gradients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ember._tensor import Tensor
from ember.optim.optimizer import Optimizer, check, check_flags, count_step, grad_of, new_step, zeros_like


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011): per-coordinate steps that shrink as squared gradients add up.

    With ``g = grad + weight_decay * p`` (``-grad`` when ``maximize``) at step ``t``::

        s = s + g * g                       (s starts at initial_accumulator_value)
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)

    Args:
        params: the parameters to optimize, or parameter-group dicts.
        lr: learning rate (default 1e-2).
        lr_decay: learning-rate decay per step (default 0).
        weight_decay: L2 penalty (default 0).
        initial_accumulator_value: the starting value of the sum ``s`` (default 0).
        eps: added to the denominator for stability (default 1e-10).
        maximize: maximize the objective instead of minimizing it.
        foreach, fused: accepted for PyTorch compatibility.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "fused": fused,
        }
        super().__init__(params, defaults)
        # PyTorch creates Adagrad's state up front (the sum has a non-zero start)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    @staticmethod
    def _validate(name: str, group: dict[str, Any]) -> None:
        check(name, group["lr"] >= 0.0, "learning rate", group["lr"])
        check(name, group["lr_decay"] >= 0.0, "lr_decay value", group["lr_decay"])
        check(name, group["weight_decay"] >= 0.0, "weight_decay value", group["weight_decay"])
        check(
            name,
            group["initial_accumulator_value"] >= 0.0,
            "initial_accumulator_value value",
            group["initial_accumulator_value"],
        )
        check(name, group["eps"] >= 0.0, "epsilon value", group["eps"])
        check_flags(name, group)

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        state = self.state[p]
        if not state:
            state["step"] = new_step()
            state["sum"] = zeros_like(p, float(group["initial_accumulator_value"]))
        return state

    def _update(self, group: dict[str, Any]) -> None:
        lr, lr_decay, eps = float(group["lr"]), float(group["lr_decay"]), float(group["eps"])
        weight_decay, maximize = float(group["weight_decay"]), group["maximize"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self._init_state(p, group)
            step = count_step(state)
            g = grad_of(p, "Adagrad", weight_decay, maximize)
            s = state["sum"]._buf
            s.addcmul_(g, g)
            std = s.sqrt()
            std.iadd_(eps)
            p._buf.addcdiv_(g, std, -lr / (1 + (step - 1) * lr_decay))
