"""Containers: ``Sequential``, ``ModuleList``, ``ModuleDict``, ``ParameterList``, ``ParameterDict``."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, cast

from ember.nn.module import Module, _indent
from ember.nn.parameter import Parameter

if TYPE_CHECKING:
    from ember._tensor import Tensor


def _index(idx: int, n: int, name: str) -> int:
    if not isinstance(idx, int) or isinstance(idx, bool):
        raise TypeError(f"{name} indices must be integers or slices, not {type(idx).__name__}")
    if not -n <= idx < n:
        raise IndexError(f"{name}: index {idx} is out of range for length {n}")
    return idx % n


class Sequential(Module):
    """Apply modules one after another: ``Sequential(a, b)(x) == b(a(x))``.

    Takes modules as arguments (named "0", "1", ...) or one ``OrderedDict`` of named modules.

    Example:
        >>> import ember
        >>> net = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.ReLU(), ember.nn.Linear(8, 2))
        >>> net(ember.zeros(3, 4)).shape
        ember.Size([3, 2])
    """

    def __init__(self, *args: Any) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, m in args[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(args):
                self.add_module(str(i), m)

    def forward(self, input: Any) -> Any:
        for m in self._modules.values():
            input = m(input)
        return input

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, idx: int | slice) -> Any:
        if isinstance(idx, slice):
            return type(self)(OrderedDict(list(self._modules.items())[idx]))
        keys = list(self._modules)
        return self._modules[keys[_index(idx, len(keys), "Sequential")]]

    def __setitem__(self, idx: int, module: Module) -> None:
        keys = list(self._modules)
        setattr(self, keys[_index(idx, len(keys), "Sequential")], module)

    def __delitem__(self, idx: int | slice) -> None:
        keys = list(self._modules)
        doomed = keys[idx] if isinstance(idx, slice) else [keys[_index(idx, len(keys), "Sequential")]]
        for k in doomed:
            delattr(self, k)
        # renumber so indices stay contiguous, as PyTorch does
        items = list(self._modules.items())
        for k, _ in items:
            delattr(self, k)
        for i, (_, m) in enumerate(items):
            self.add_module(str(i), m)

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end and return this Sequential."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> Sequential:
        """Append each of ``modules`` in order and return this Sequential."""
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> Sequential:
        """Insert ``module`` before position ``index`` (renumbering the rest) and return this Sequential."""
        mods = list(self._modules.values())
        n = len(mods)
        if not -n <= index <= n:
            raise IndexError(f"Sequential.insert: index {index} is out of range for length {n}")
        mods.insert(index, module)
        for k in list(self._modules):
            delattr(self, k)
        for i, m in enumerate(mods):
            self.add_module(str(i), m)
        return self


class ModuleList(Module):
    """Hold submodules in a list; they are registered (and so appear in ``parameters()``).

    Example:
        >>> import ember
        >>> layers = ember.nn.ModuleList([ember.nn.Linear(2, 2) for _ in range(3)])
        >>> len(list(layers.parameters()))
        6
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, idx: int | slice) -> Any:
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return self._modules[str(_index(idx, len(self), "ModuleList"))]

    def __setitem__(self, idx: int, module: Module) -> None:
        setattr(self, str(_index(idx, len(self), "ModuleList")), module)

    def __delitem__(self, idx: int | slice) -> None:
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            del mods[idx]
        else:
            del mods[_index(idx, len(mods), "ModuleList")]
        for k in list(self._modules):
            delattr(self, k)
        self.extend(mods)

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end and return this ModuleList."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Append each of ``modules`` in order and return this ModuleList."""
        if isinstance(modules, Module) and not isinstance(modules, (ModuleList, Sequential)):
            raise TypeError(
                f"ModuleList.extend should be called with an iterable, but got {type(modules).__name__}"
            )
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert ``module`` before position ``index``, renumbering the modules after it."""
        mods = list(self._modules.values())
        mods.insert(index, module)
        for k in list(self._modules):
            delattr(self, k)
        self.extend(mods)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleList has no forward: iterate over it and call its modules")

    def __repr__(self) -> str:
        # runs of identical modules print once, as "(0-11): 12 x Block(...)"
        mods = list(self._modules.items())
        if not mods:
            return "ModuleList()"
        lines, start = [], 0
        reprs = [repr(m) for _, m in mods]
        for i in range(1, len(mods) + 1):
            if i < len(mods) and reprs[i] == reprs[start]:
                continue
            body = _indent(reprs[start], 2)
            if i - start == 1:
                lines.append(f"({mods[start][0]}): {body}")
            else:
                lines.append(f"({mods[start][0]}-{mods[i - 1][0]}): {i - start} x {body}")
            start = i
        return "ModuleList(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """Hold submodules in an ordered dict; they are registered under their keys."""

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]  # type: ignore[return-value]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def clear(self) -> None:
        """Remove every module."""
        for k in list(self._modules):
            delattr(self, k)

    def pop(self, key: str) -> Module:
        """Remove the module under ``key`` and return it."""
        m = self._modules[key]
        delattr(self, key)
        return m  # type: ignore[return-value]

    def keys(self) -> Iterable[str]:
        """Return the keys, in insertion order."""
        return self._modules.keys()

    def items(self) -> Iterable[tuple[str, Module]]:
        """Return the ``(key, module)`` pairs, in insertion order."""
        return self._modules.items()  # type: ignore[return-value]

    def values(self) -> Iterable[Module]:
        """Return the modules, in insertion order."""
        return self._modules.values()  # type: ignore[return-value]

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        """Add or replace modules from a mapping or an iterable of ``(key, module)`` pairs."""
        pairs = modules.items() if isinstance(modules, (Mapping, ModuleDict)) else modules
        for key, m in pairs:
            self[key] = m

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleDict has no forward: index it and call its modules")


class ParameterList(Module):
    """Hold parameters in a list; they are registered as "0", "1", ..."""

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        self._size = 0
        if values is not None:
            self.extend(values)

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[Any]:
        return (self._parameters[str(i)] for i in range(self._size))

    def __getitem__(self, idx: int) -> Any:
        return self._parameters[str(_index(idx, self._size, "ParameterList"))]

    def __setitem__(self, idx: int, param: Any) -> None:
        setattr(self, str(_index(idx, self._size, "ParameterList")), _as_param(param))

    def append(self, value: Any) -> ParameterList:
        """Add ``value`` at the end (a plain tensor becomes a Parameter) and return this ParameterList."""
        self._size += 1
        setattr(self, str(self._size - 1), _as_param(value))
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        """Append each of ``values`` in order and return this ParameterList."""
        for v in values:
            self.append(v)
        return self

    def extra_repr(self) -> str:
        return "\n".join(
            f"({i}): Parameter containing: [{p.dtype!r} of size {'x'.join(map(str, p.shape))}]"
            for i, p in enumerate(self)
        )


class ParameterDict(Module):
    """Hold parameters in an ordered dict; they are registered under their keys."""

    def __init__(self, parameters: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str) -> Any:
        return self._parameters[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.register_parameter(key, _as_param(value))

    def __delitem__(self, key: str) -> None:
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[str]:
        return iter(self._parameters)

    def __contains__(self, key: object) -> bool:
        return key in self._parameters

    def keys(self) -> Iterable[str]:
        """Return the keys, in insertion order."""
        return self._parameters.keys()

    def items(self) -> Iterable[tuple[str, Any]]:
        """Return the ``(key, parameter)`` pairs, in insertion order."""
        return self._parameters.items()

    def values(self) -> Iterable[Any]:
        """Return the parameters, in insertion order."""
        return self._parameters.values()

    def update(self, parameters: Mapping[str, Any]) -> None:
        """Add or replace parameters from a mapping (plain tensors become Parameters)."""
        for k, v in parameters.items():
            self[k] = v


def _as_param(value: Any) -> Any:
    from ember._tensor.core import TensorCore

    if isinstance(value, TensorCore) and not isinstance(value, Parameter):
        return Parameter(cast("Tensor", value))  # every TensorCore is a Tensor
    return value
