"""Functional entry points to the engine: ``grad``, ``backward``, ``detect_anomaly``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ember.autograd.engine import run_backward
from ember.autograd.grad_mode import state

if TYPE_CHECKING:
    from ember._tensor import Tensor


def _as_list(x: Any) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _roots(outputs: list, grad_outputs: Any, op: str) -> list:
    from ember._tensor.core import _root_grad

    gos = _as_list(grad_outputs) if grad_outputs is not None else [None] * len(outputs)
    if len(gos) != len(outputs):
        raise RuntimeError(f"{op}: got {len(gos)} grad_outputs for {len(outputs)} outputs")
    roots = []
    for i, (o, g) in enumerate(zip(outputs, gos)):
        if not o.requires_grad:
            raise RuntimeError(
                f"{op}: element {i} of tensors does not require grad and does not have a grad_fn"
            )
        roots.append((o, _root_grad(o, g, op)))
    return roots


def grad(
    outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
    create_graph: bool = False, allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """Return the gradients of ``outputs`` with respect to ``inputs`` without touching ``.grad``.

    Example:
        >>> import ember
        >>> x = ember.tensor(3.0, requires_grad=True)
        >>> ember.autograd.grad(x * x, x)
        (tensor(6.),)
    """
    from ember._tensor.core import _make

    if create_graph:
        raise NotImplementedError("grad: create_graph=True (higher-order gradients) is not supported")
    outs = _as_list(outputs)
    ins = _as_list(inputs)
    for i, t in enumerate(ins):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad")
    res = run_backward(_roots(outs, grad_outputs, "grad"), retain_graph=bool(retain_graph), capture=ins)
    assert res is not None
    out = []
    for i, g in enumerate(res):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {i} was not used in the graph of the outputs; pass allow_unused=True "
                "to get None for it"
            )
        out.append(None if g is None else _make(g, None))
    return tuple(out)


def backward(
    tensors: Any, grad_tensors: Any = None, retain_graph: bool | None = None, create_graph: bool = False,
    inputs: Any = None,
) -> None:
    """Backpropagate from several outputs at once, accumulating into leaves' ``.grad``.

    With ``inputs``, only those tensors' ``.grad`` is filled (leaves or not).
    """
    from ember.autograd.engine import backward_into

    if create_graph:
        raise NotImplementedError("backward: create_graph=True (higher-order gradients) is not supported")
    roots = _roots(_as_list(tensors), grad_tensors, "backward")
    if inputs is not None:
        backward_into(roots, _as_list(inputs), bool(retain_graph), "backward")
        return
    run_backward(roots, retain_graph=bool(retain_graph))


class detect_anomaly:
    """Context manager that raises as soon as a Function produces NaN or inf.

    Forward outputs and backward gradients are checked, and the error names the
    Function that produced the first bad value.
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.check = check_nan

    def __enter__(self) -> None:
        self._prev = state.anomaly
        state.anomaly = self.check

    def __exit__(self, *exc: object) -> None:
        state.anomaly = self._prev


def _unused(x: Sequence) -> None:  # pragma: no cover
    pass
