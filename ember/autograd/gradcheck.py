"""Finite-difference gradient checking in float64."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ember.autograd.grad_mode import no_grad


def gradcheck(
    fn: Callable[..., Any], inputs: Any, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Compare autograd's Jacobian of ``fn`` with central finite differences.

    Every floating input that requires grad must be float64. Each output element's
    gradient row is built by backward with a one-hot upstream gradient, then compared
    with ``(fn(x + eps) - fn(x - eps)) / (2 eps)`` column by column.

    Returns:
        True when they agree; otherwise raises (or returns False if
        ``raise_exception`` is False).

    Example:
        >>> import ember
        >>> x = ember.randn(3, dtype=ember.float64, requires_grad=True)
        >>> ember.autograd.gradcheck(lambda t: (t * t).sum(), (x,))
        True
    """
    import numpy as np  # gradcheck is a testing tool; it reads values, it does not compute ops

    from ember import tensor as _tensor
    from ember.autograd.functional import grad as _grad

    ins = tuple(inputs) if isinstance(inputs, (list, tuple)) else (inputs,)
    diff = [i for i, t in enumerate(ins) if hasattr(t, "requires_grad") and t.requires_grad]
    for i in diff:
        if ins[i].dtype.name != "float64":
            raise TypeError(
                f"gradcheck: input {i} has dtype {ins[i].dtype!r}; gradcheck needs float64 inputs"
            )

    def run(args: tuple) -> list:
        out = fn(*args)
        return list(out) if isinstance(out, (list, tuple)) else [out]

    outs = run(ins)
    for k, o in enumerate(outs):
        if o.requires_grad is False:
            continue
        n_out = o.numel()
        for i in diff:
            x = ins[i]
            base = np.array(x.detach().numpy(), dtype=np.float64)
            analytic = np.zeros((n_out, base.size))
            for r in range(n_out):
                g = np.zeros(n_out)
                g[r] = 1.0
                outs_r = run(ins)
                upstream = _tensor(g.reshape(tuple(o.shape)))
                (gi,) = _grad(outs_r[k], x, grad_outputs=upstream, allow_unused=True)
                if gi is not None:
                    analytic[r] = gi.numpy().reshape(-1)
            numeric = np.zeros((n_out, base.size))
            flat = base.reshape(-1)
            with no_grad():
                for c in range(base.size):
                    vals = []
                    for sgn in (1.0, -1.0):
                        pert = flat.copy()
                        pert[c] += sgn * eps
                        args = list(ins)
                        args[i] = _tensor(pert.reshape(base.shape))
                        vals.append(np.array(run(tuple(args))[k].numpy(), dtype=np.float64).reshape(-1))
                    numeric[:, c] = (vals[0] - vals[1]) / (2 * eps)
            if not np.allclose(analytic, numeric, atol=atol, rtol=rtol):
                if not raise_exception:
                    return False
                err = np.abs(analytic - numeric).max()
                raise RuntimeError(
                    f"gradcheck: Jacobian mismatch for output {k} with respect to input {i} "
                    f"(max abs difference {err:.3g});\nnumerical:\n{numeric}\nanalytical:\n{analytic}"
                )
    return True
