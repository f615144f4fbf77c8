"""Layer 4 (optim): stochastic gradient descent with momentum, dampening and Nesterov."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ember.optim.optimizer import Optimizer, as_tensor, check, check_flags, grad_of


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    With ``g = grad + weight_decay * p`` (``-grad`` when ``maximize``)::

        b = g                                    first step
        b = momentum * b + (1 - dampening) * g   later steps
        g = g + momentum * b  if nesterov, else  g = b      (when momentum != 0)
        p = p - lr * g

    Args:
        params: the parameters to optimize, or parameter-group dicts.
        lr: learning rate (default 1e-3).
        momentum: momentum factor (default 0).
        dampening: dampening of the momentum (default 0).
        weight_decay: L2 penalty (default 0).
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening 0).
        maximize: maximize the objective instead of minimizing it.
        foreach, fused: accepted for PyTorch compatibility; ember has one CPU implementation.

    Example:
        >>> import ember
        >>> w = ember.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = ember.optim.SGD([w], lr=0.1, momentum=0.9)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> [round(v, 4) for v in w.tolist()]
        [0.8, -1.6]
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
            "foreach": foreach,
            "differentiable": differentiable,
            "fused": fused,
        }
        super().__init__(params, defaults)

    @staticmethod
    def _validate(name: str, group: dict[str, Any]) -> None:
        check(name, group["lr"] >= 0.0, "learning rate", group["lr"])
        check(name, group["momentum"] >= 0.0, "momentum value", group["momentum"])
        check(name, group["weight_decay"] >= 0.0, "weight_decay value", group["weight_decay"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                f"{name}: Nesterov momentum requires a momentum and zero dampening, got "
                f"momentum={group['momentum']}, dampening={group['dampening']}"
            )
        check_flags(name, group)

    def _update(self, group: dict[str, Any]) -> None:
        lr, momentum = float(group["lr"]), float(group["momentum"])
        dampening, weight_decay = float(group["dampening"]), float(group["weight_decay"])
        nesterov, maximize = group["nesterov"], group["maximize"]
        for p in group["params"]:
            if p.grad is None:
                continue
            g = grad_of(p, "SGD", weight_decay, maximize)
            if momentum != 0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    b = g.copy()
                    state["momentum_buffer"] = as_tensor(b)
                else:
                    b = buf._buf
                    b.imul_(momentum)
                    b.add_(g, 1 - dampening)
                if nesterov:
                    d = b * momentum
                    d.iadd_(g)
                    g = d
                else:
                    g = b
            p._buf.add_(g, -lr)
