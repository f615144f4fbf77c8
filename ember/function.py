"""Layer 2 of 4: Function, one class per differentiable operation.

A Function subclass computes its forward over Buffers and writes the only
derivative of that operation in ``backward``. ``apply`` runs it on Tensors and, when
any input needs a gradient, records the Function as the output's ``grad_fn``.

Example (a user-written operation):
    >>> import ember
    >>> class Abs(ember.Function):
    ...     def forward(self, x):
    ...         self.x = x
    ...         return x.abs()
    ...     def backward(self, grad):
    ...         return grad * self.x.sign()
    >>> t = ember.tensor([-2.0, 3.0], requires_grad=True)
    >>> Abs.apply(t).sum().backward()
    >>> t.grad
    tensor([-1.,  1.])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ember.autograd.grad_mode import state as _grad_state
from ember.buffer import Buffer, inplace_clock

if TYPE_CHECKING:
    from ember._tensor import Tensor
    from ember._tensor.core import TensorCore

_new = object.__new__
_F, _T = (False,), (True,)
_FF, _FT, _TF, _TT = (False, False), (False, True), (True, False), (True, True)
# Set by ember._tensor once the Tensor class exists (the two layers refer to each other).
_make_tensor: Any = None


class Function:
    """Base class of every operation: subclass it and write ``forward`` and ``backward``.

    ``forward(self, *buffers, **options)`` receives one Buffer per Tensor input and the
    keyword options given to ``apply``, saves on ``self`` what backward needs, and
    returns the output Buffer. ``backward(self, grad)`` receives the gradient of the
    output and returns one gradient per input (a tuple, or a single Buffer for one
    input), ``None`` where ``self.needs_input_grad[i]`` is False. Gradients may have
    the broadcast shape: the engine sums them back to each input's shape.

    Attributes:
        needs_input_grad: one bool per input, True where that input requires grad.
        inputs: the input Tensors, kept while the graph is alive (``None`` once freed).
        parents: the Function that made each input (``None`` for leaves), fixed when this
            one runs: a later in-place write that gives an input a new ``grad_fn``
            (``x[i] = v``) must not reroute the gradients of what was computed before it.
        differentiable: class flag; False for operations such as comparisons whose
            outputs never require grad and record no graph node.
    """

    differentiable: bool = True
    inputs: tuple[TensorCore, ...] | None = None
    parents: tuple[Function | None, ...] = ()
    needs_input_grad: tuple[bool, ...] = ()
    _hooks: list | None = None
    _stamp: int = 0

    def forward(self, *args: Any, **kwargs: Any) -> Buffer:
        """Compute the output Buffer from the input Buffers; save on ``self`` what backward needs."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward")

    def backward(self, grad: Buffer) -> Any:
        """Return the gradient of each input given ``grad``, the gradient of the output."""
        raise NotImplementedError(f"{type(self).__name__} must implement backward")

    @classmethod
    def apply(cls, *inputs: TensorCore, **kwargs: Any) -> Tensor:
        """Run the operation on Tensors; record it for autograd if an input needs grad."""
        # The hot path of every operation. One- and two-input calls build no temporary
        # lists or tuples (the needs_input_grad tuples are shared constants): every object
        # that outlives the call is one more for the cyclic garbage collector to track.
        ctx = _new(cls)
        n = len(inputs)
        if n == 2:
            a, b = inputs
            ra, rb = a.requires_grad, b.requires_grad
            ctx.needs_input_grad = (_TT if rb else _TF) if ra else (_FT if rb else _FF)
            out = ctx.forward(a._buf, b._buf, **kwargs) if kwargs else ctx.forward(a._buf, b._buf)
            record = ra or rb
        elif n == 1:
            a = inputs[0]
            record = a.requires_grad
            ctx.needs_input_grad = _T if record else _F
            out = ctx.forward(a._buf, **kwargs) if kwargs else ctx.forward(a._buf)
        else:
            needs = ctx.needs_input_grad = tuple([t.requires_grad for t in inputs])
            out = ctx.forward(*[t._buf for t in inputs], **kwargs)
            record = True in needs
        if _grad_state.anomaly:
            _check_forward(ctx, out)
        if record and _grad_state.enabled and cls.differentiable:
            ctx.inputs = inputs
            if n == 2:
                ctx.parents = (a._ctx, b._ctx)
            elif n == 1:
                ctx.parents = (a._ctx,)
            else:
                ctx.parents = tuple([t._ctx for t in inputs])
            ctx._stamp = inplace_clock.now
            return _make_tensor(out, ctx)
        return _make_tensor(out, None)

    @classmethod
    def name(cls) -> str:
        """The operation's name as shown in graphs and error messages."""
        return cls.__name__

    @property
    def next_functions(self) -> tuple[Function | None, ...]:
        """The Functions that produced this Function's inputs (None for leaves)."""
        return self.parents

    def register_hook(self, hook: Any) -> None:
        """Call ``hook(grad)`` with the output's gradient before this backward runs."""
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}Backward>"


def _check_forward(ctx: Function, out: Buffer) -> None:
    if out.dtype.is_floating_point and not out.all_finite():
        raise RuntimeError(
            f"detect_anomaly: {type(ctx).__name__} produced NaN or inf in its forward output "
            f"of shape {tuple(out.shape)}"
        )
