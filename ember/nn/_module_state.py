"""Layer 4 (nn): the part of ``Module`` that handles its tensors as a whole.

Saving and loading them by dotted name (``state_dict``/``load_state_dict``) and
converting them to another dtype (``to``, ``float``, ``double``). ``Module``
inherits these from ``ModuleStateMixin``; the registries they walk
(``_parameters``, ``_buffers``, ``_modules``) are set up in ``module.py``.
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self

from ember import dtypes
from ember._tensor import Tensor
from ember._tensor.core import TensorCore, _make
from ember.autograd.grad_mode import no_grad
from ember.backend import DEFAULT as _Buf

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ember.nn.module import Module
    from ember.nn.parameter import Parameter

_IncompatibleKeys = namedtuple("_IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class ModuleStateMixin:
    """``state_dict``, ``load_state_dict`` and dtype conversion for ``Module``."""

    if TYPE_CHECKING:  # set up and defined by Module (module.py)
        _parameters: dict[str, Parameter | None]
        _buffers: dict[str, Tensor | None]
        _non_persistent_buffers_set: set[str]
        _modules: dict[str, Any]  # Module | None values (Any: the containers never hold None)

        def named_modules(
            self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True
        ) -> Iterator[tuple[str, Module]]: ...

        def modules(self) -> Iterator[Module]: ...

    def state_dict(
        self, destination: dict | None = None, prefix: str = "", keep_vars: bool = False
    ) -> OrderedDict[str, Tensor]:
        """Return parameters and persistent buffers by dotted name, in PyTorch's order.

        Each module contributes its own parameters, then its buffers, then its
        children's entries. Values share storage with the module (detached unless
        ``keep_vars``).
        """
        out: Any = OrderedDict() if destination is None else destination
        for name, p in self._parameters.items():
            if p is not None:
                out[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                out[prefix + name] = b if keep_vars else b.detach()
        for name, mod in self._modules.items():
            if mod is not None:
                mod.state_dict(out, prefix + name + ".", keep_vars)
        return out

    def _state_entries(self) -> dict[str, Tensor]:
        """Every state_dict entry, tensors themselves (tied ones under each name)."""
        out: dict[str, Tensor] = {}
        for prefix, mod in self.named_modules(remove_duplicate=False):
            pre = prefix + "." if prefix else ""
            for name, p in mod._parameters.items():
                if p is not None:
                    out[pre + name] = p
            for name, b in mod._buffers.items():
                if b is not None and name not in mod._non_persistent_buffers_set:
                    out[pre + name] = b
        return out

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        """Copy parameters and buffers from ``state_dict`` into this module, in place.

        Values may be ember Tensors, NumPy arrays, or anything with a ``shape`` that
        ``ember.tensor`` accepts (PyTorch tensors included); each is cast to the
        target's dtype. Every key and shape is checked first and nothing is loaded
        if any check fails.

        Returns:
            ``(missing_keys, unexpected_keys)`` as a named tuple.

        Raises:
            RuntimeError: naming all missing keys, unexpected keys (when ``strict``)
                and shape mismatches in one message.
        """
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(
                f"load_state_dict: expected a dict-like state_dict, got {type(state_dict).__name__}"
            )
        own = self._state_entries()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        if strict and missing:
            problems.append(f"missing keys {missing}")
        if strict and unexpected:
            problems.append(f"unexpected keys {unexpected}")
        staged: list[tuple[Tensor, Any]] = []
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            shape = getattr(value, "shape", None)
            if shape is None:
                problems.append(f"value for '{key}' is a {type(value).__name__}, not a tensor or array")
                continue
            shape = tuple(int(s) for s in shape)
            if shape != tuple(target.shape):
                problems.append(
                    f"shape mismatch for '{key}': model {tuple(target.shape)}, checkpoint {shape}"
                )
                continue
            staged.append((target, value))
        if problems:
            raise RuntimeError("load_state_dict: " + "; ".join(problems))
        bufs = []
        for target, value in staged:  # convert everything before writing anything
            if isinstance(value, TensorCore):
                src = value._buf
            else:
                try:
                    src = _Buf.from_data(_plain(value), target.dtype)
                except (TypeError, ValueError):
                    key, kind = _key_of(own, target), type(value).__name__
                    raise TypeError(
                        f"load_state_dict: cannot convert the {kind} for '{key}' to {target.dtype!r}"
                    ) from None
            bufs.append((target, src))
        with no_grad():
            for target, src in bufs:
                if assign:
                    target._buf = src if src.dtype is target.dtype else src.cast(target.dtype)
                else:
                    target._buf.assign_(src)
        return _IncompatibleKeys(missing, unexpected)


    # ---- dtype conversion -----------------------------------------------------------
    def _apply_to_tensors(self, fn: Callable[[Tensor], Tensor]) -> Self:
        for m in self.modules():
            for p in m._parameters.values():
                if p is not None:
                    p._buf = fn(p)._buf  # the Parameter object stays: optimizers keep working
                    if p.grad is not None:
                        p.grad = fn(p.grad)
            for name, b in m._buffers.items():
                if b is not None:
                    nb = fn(b)
                    m._buffers[name] = nb
                    m.__dict__[name] = nb
        return self

    def to(self, *args: Any, **kwargs: Any) -> Self:
        """Cast floating-point parameters and buffers to a dtype (``to(device)`` checks the device)."""
        dtype = kwargs.get("dtype")
        for a in args:
            if isinstance(a, dtypes.dtype):
                dtype = a
            elif isinstance(a, TensorCore):
                dtype = a.dtype
            else:
                from ember._tensor.core import device

                device(a)
        if kwargs.get("device") is not None:
            from ember._tensor.core import device

            device(kwargs["device"])
        if dtype is None:
            return self
        if not dtype.is_floating_point:
            raise TypeError(f"Module.to: only floating point dtypes are accepted, got {dtype!r}")
        return self._float_to(dtype)

    def _float_to(self, dtype: dtypes.dtype) -> Self:
        def cast(t: Tensor) -> Tensor:
            if not t.dtype.is_floating_point or t.dtype is dtype:
                return t
            return _make(t._buf.cast(dtype), None)

        return self._apply_to_tensors(cast)

    def float(self) -> Self:
        """Cast the floating-point parameters and buffers to float32 in place and return this module."""
        return self._float_to(dtypes.float32)

    def double(self) -> Self:
        """Cast the floating-point parameters and buffers to float64 in place and return this module."""
        return self._float_to(dtypes.float64)

    def half(self) -> Self:
        """Cast the floating-point parameters and buffers to float16 in place and return this module."""
        return self._float_to(dtypes.float16)

    def cpu(self) -> Self:
        """Return this module itself: ember's NumPy backend keeps everything on the CPU."""
        return self

    def type(self, dst_type: Any) -> Self:
        """Cast the floating-point parameters and buffers to ``dst_type`` and return this module."""
        return self._float_to(dtypes.to_dtype(dst_type))


def _plain(value: Any) -> Any:
    """Another framework's tensor (e.g. PyTorch's) as its own NumPy view; arrays pass through."""
    to_numpy = getattr(value, "numpy", None)
    if callable(to_numpy):
        detach = getattr(value, "detach", None)
        return (detach() if callable(detach) else value).numpy()
    return value


def _key_of(entries: dict[str, Tensor], target: Tensor) -> str:
    return next(k for k, v in entries.items() if v is target)


