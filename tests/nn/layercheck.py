"""Compare an ember layer with the same torch layer: weights copied from torch, outputs and all grads "
"compared."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

import ember


def _np(t: Any) -> np.ndarray:
    return t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t.detach().numpy())


def _outputs(out: Any) -> list[Any]:
    return [o for o in out if o is not None] if isinstance(out, (tuple, list)) else [out]


def compare_layer(
    make: Callable[[Any], Any],
    inputs: list[np.ndarray],
    call: Callable[[Any, Any, list[Any]], Any] | None = None,
    train: bool = True,
    rtol: float = 1e-5,
    atol: float = 1e-5,
    seed: int = 0,
) -> tuple[Any, Any]:
    """Build ``make(torch)`` and ``make(ember)``, load torch's state_dict into ember, compare.

    Compares outputs, then runs backward with one random upstream gradient per output
    and compares the gradient of every float input and every parameter, then the
    buffers (running statistics). Returns (torch_module, ember_module).
    """
    torch.manual_seed(seed)
    tm, em = make(torch), make(ember)
    em.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    tm.train(train)
    em.train(train)
    t_in = [torch.from_numpy(a.copy()) for a in inputs]
    e_in = [ember.from_numpy(a.copy()) for a in inputs]
    for t, e in zip(t_in, e_in):
        if t.dtype.is_floating_point:
            t.requires_grad_(True)
            e.requires_grad_(True)
    call = call or (lambda m, L, xs: m(*xs))
    t_out, e_out = _outputs(call(tm, torch, t_in)), _outputs(call(em, ember, e_in))
    assert len(t_out) == len(e_out)
    for k, (to, eo) in enumerate(zip(t_out, e_out)):
        assert tuple(eo.shape) == tuple(to.shape), (
            f"output {k}: shape {tuple(eo.shape)} != torch {tuple(to.shape)}"
        )
        assert str(eo.dtype).split(".")[1] == str(to.dtype).split(".")[1], f"output {k} dtype"
        np.testing.assert_allclose(_np(eo), _np(to), rtol=rtol, atol=atol, err_msg=f"output {k}")
    rng = np.random.default_rng(seed + 1)
    roots = [(to, eo) for to, eo in zip(t_out, e_out) if to.requires_grad]
    if roots:
        grads = [rng.standard_normal(tuple(to.shape)).astype(np.float32) for to, _ in roots]
        torch.autograd.backward([to for to, _ in roots], [torch.from_numpy(g) for g in grads])
        ember.autograd.backward([eo for _, eo in roots], [ember.from_numpy(g.copy()) for g in grads])
        for i, (t, e) in enumerate(zip(t_in, e_in)):
            if t.grad is not None:
                assert e.grad is not None, f"input {i} got no gradient"
                np.testing.assert_allclose(_np(e.grad), _np(t.grad), rtol=rtol, atol=atol,
                                           err_msg=f"grad of input {i}")
        e_params = dict(em.named_parameters())
        for name, p in tm.named_parameters():
            if p.grad is None:
                assert e_params[name].grad is None or not _np(e_params[name].grad).any(), name
                continue
            assert e_params[name].grad is not None, f"parameter {name} got no gradient"
            np.testing.assert_allclose(_np(e_params[name].grad), _np(p.grad), rtol=rtol, atol=atol,
                                       err_msg=name)
    e_bufs = dict(em.named_buffers())
    for name, b in tm.named_buffers():
        np.testing.assert_allclose(_np(e_bufs[name]), _np(b), rtol=rtol, atol=atol, err_msg=f"buffer {name}")
    return tm, em


def randn(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
