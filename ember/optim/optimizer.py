"""Layer 4 (optim): the Optimizer base: parameter groups, per-parameter state, state dicts.

An optimizer updates its parameters' Buffers in place with the backend's in-place
primitives (``add_``, ``addcmul_``, ``addcdiv_``, ``lerp_``, ``sqrt_`` ...), outside
autograd: a step records no graph and allocates little, because it is the hot path of
every training step. Subclasses write ``_update(group)``, the update of one group.
"""

from __future__ import annotations

import copy
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from ember._tensor import Tensor
from ember._tensor.core import _make
from ember.autograd.grad_mode import enable_grad, no_grad
from ember.backend import DEFAULT as _Buf
from ember.buffer import Buffer
from ember.dtypes import float32


class _RequiredParameter:
    """Marks a hyper-parameter that every parameter group must set (no default)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    """Base class of all optimizers.

    Args:
        params: an iterable of Tensors, of ``(name, Tensor)`` pairs, or of dicts that
            each define a parameter group (``{"params": [...], "lr": 0.1}``); options a
            group leaves out come from ``defaults``.
        defaults: the default hyper-parameters of every group.

    Attributes:
        param_groups: a list of dicts, each with ``"params"`` (a list of Tensors) and
            every hyper-parameter filled in.
        state: per-parameter state (``state[p]["exp_avg"]``...), a dict keyed by Tensor.
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        name = type(self).__name__
        self._validate(name, defaults)
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError(
                f"{name}: params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got a Tensor of shape {tuple(params.shape)}"
            )
        groups = list(params)
        if len(groups) == 0:
            raise ValueError(f"{name}: optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    @staticmethod
    def _validate(name: str, group: dict[str, Any]) -> None:
        """Raise ValueError for an invalid hyper-parameter; subclasses check theirs."""

    # ---- parameter groups -------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters, with its own hyper-parameters, to optimize from now on."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(
                f"add_param_group: param_group must be a dict, but got {type(param_group).__name__}"
            )
        group = dict(param_group)
        params = group.get("params")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "add_param_group: optimizer parameters need to be organized in ordered collections, but "
                "the ordering of tensors in sets will change between runs. Please use a list instead."
            )
        elif params is None:
            raise ValueError("add_param_group: param_group has no 'params' entry")
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        if names:
            if len(names) != len(params):
                raise ValueError(
                    "add_param_group: all optimizer params should be with/without names. Some param names "
                    "are missing"
                )
            group["param_names"] = names
            params = [p[1] for p in params]
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"add_param_group: optimizer can only optimize Tensors, but one of the params is "
                    f"{type(p).__name__}"
                )
            if not p.is_leaf and not p.retains_grad:
                raise ValueError(
                    f"add_param_group: can't optimize a non-leaf Tensor (shape {tuple(p.shape)})"
                )
        group["params"] = params
        for key, default in self.defaults.items():
            if default is required and key not in group:
                raise ValueError(
                    f"add_param_group: parameter group didn't specify a value of required optimization "
                    f"parameter {key}"
                )
            group.setdefault(key, default)
        self._validate(name, group)
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; their updates are applied "
                "twice per step",
                stacklevel=3,
            )
        taken = {id(p) for g in self.param_groups for p in g["params"]}
        if not taken.isdisjoint(ids):
            raise ValueError("add_param_group: some parameters appear in more than one parameter group")
        if self.param_groups and ("param_names" in group) != ("param_names" in self.param_groups[0]):
            raise ValueError(
                "add_param_group: all optimizer param groups should be with/without names. cannot add param "
                f"group {'with' if 'param_names' in group else 'without'} names to the optimizer"
            )
        self.param_groups.append(group)

    # ---- stepping -----------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized parameters (to None by default, else to zeros)."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if g._ctx is not None:
                        g.detach_()
                    g._buf.assign_(0)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; return ``closure()``'s loss if given.

        Args:
            closure: re-evaluates the model and returns the loss (run with grad enabled).
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                self._update(group)
        return loss

    def _update(self, group: dict[str, Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement step() or _update(group)")

    # ---- state dicts --------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Return the state as ``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}``.

        Parameters are numbered in group order, as in PyTorch. The state tensors are the
        live ones (not copies): save or deep-copy the result to keep a snapshot.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: s for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state from ``state_dict()``: checks everything first, then copies it in.

        Raises:
            ValueError: if the group count, a group's size, a state entry's parameter
                index or shape, or a hyper-parameter does not fit this optimizer.
        """
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            got = sorted(map(str, state_dict)) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(
                f"load_state_dict: expected a dict with keys 'state' and 'param_groups', got {got}"
            )
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"load_state_dict: loaded state dict has a different number of parameter groups: "
                f"{len(saved_groups)} in the state dict, {len(self.param_groups)} in the optimizer"
            )
        id_map: dict[Any, Tensor] = {}
        new_groups = []
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(
                    f"load_state_dict: loaded state dict contains a parameter group that doesn't match the "
                    f"size of optimizer's group: group {i} has {len(saved['params'])} parameters in the "
                    f"state dict, {len(group['params'])} in the optimizer"
                )
            id_map.update(zip(saved["params"], group["params"]))
            new = {**self.defaults, **copy.deepcopy({k: v for k, v in saved.items() if k != "params"})}
            if "param_names" in group and "param_names" not in saved:
                new["param_names"] = group["param_names"]
            new["params"] = group["params"]
            self._validate(f"load_state_dict: group {i}", new)
            new_groups.append(new)
        problems = []
        for key, entries in state_dict["state"].items():
            p = id_map.get(int(key) if isinstance(key, str) and key.isdigit() else key)
            if p is None:
                problems.append(f"state for parameter {key!r}, which is in no parameter group")
                continue
            for name, value in entries.items():
                shape = tuple(getattr(value, "shape", ()))
                if shape and shape != tuple(p.shape):
                    problems.append(
                        f"shape mismatch for state[{key!r}][{name!r}]: parameter {tuple(p.shape)}, "
                        f"state dict {shape}"
                    )
        if problems:
            raise ValueError("load_state_dict: " + "; ".join(problems))
        # everything checked: now replace the state, copying tensors so nothing aliases the dict
        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for key, entries in state_dict["state"].items():
            p = id_map[int(key) if isinstance(key, str) and key.isdigit() else key]
            state[p] = {name: _copy_state(p, name, value) for name, value in entries.items()}
        self.state = state
        self.param_groups = new_groups

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines + [")"])


# scalar state PyTorch keeps in float32 whatever the parameter's dtype
_FLOAT32_STATE = ("step", "mu_product")


def _copy_state(param: Tensor, name: str, value: Any) -> Any:
    """Copy one state value; tensors become ember tensors of the parameter's dtype ('step': float32)."""
    if name == "step" and not hasattr(value, "shape"):
        return _make(_Buf.from_data(float(value), float32), None)
    if isinstance(value, Tensor):
        buf = value._buf
    elif hasattr(value, "__array__") and hasattr(value, "shape"):  # NumPy arrays, torch tensors
        buf = _Buf.from_data(value.__array__(), None)
    else:
        return copy.deepcopy(value)
    dtype = float32 if name in _FLOAT32_STATE else param.dtype
    return _make(buf.cast(dtype) if buf.dtype is not dtype else buf.copy(), None)


# ---- helpers for the optimizers' update rules ----------------------------------------
def as_tensor(buf: Buffer) -> Tensor:
    """Wrap a state Buffer in a Tensor (state is kept as Tensors, as in PyTorch)."""
    return _make(buf, None)


def zeros_like(p: Tensor, value: float = 0.0) -> Tensor:
    """A state tensor shaped like ``p``, filled with ``value``."""
    return _make(_Buf.full(p._buf.shape, value, p._buf.dtype), None)


def new_step() -> Tensor:
    """The step counter kept in each parameter's state (a float32 0-d tensor, as in PyTorch)."""
    return _make(_Buf.full((), 0.0, float32), None)


def count_step(state: dict[str, Any]) -> float:
    """Add one to ``state['step']`` and return the new count."""
    buf = state["step"]._buf
    buf.iadd_(1)
    return float(buf.item())


def grad_of(p: Tensor, opt: str, weight_decay: float = 0.0, maximize: bool = False) -> Buffer:
    """The gradient a rule uses: ``±grad + weight_decay * p`` (``p.grad`` itself is never changed)."""
    g = p.grad._buf  # type: ignore[union-attr]
    if g.shape != p._buf.shape:
        raise RuntimeError(
            f"{opt}: parameter of shape {tuple(p._buf.shape)} has a gradient of shape {tuple(g.shape)}"
        )
    if weight_decay != 0:
        d = p._buf * weight_decay
        if maximize:
            d.isub_(g)
        else:
            d.iadd_(g)
        return d
    return -g if maximize else g


def check(name: str, ok: bool, what: str, value: Any) -> None:
    """Raise PyTorch's ``Invalid <what>: <value>`` ValueError unless ``ok``."""
    if not ok:
        raise ValueError(f"{name}: Invalid {what}: {value}")


def check_flags(name: str, group: dict[str, Any]) -> None:
    """Reject the PyTorch flags that ember cannot honour (``foreach``/``fused`` are accepted hints)."""
    if group.get("differentiable"):
        raise NotImplementedError(
            f"{name}: differentiable=True is not supported: ember's optimizer steps are not recorded "
            "by autograd"
        )
