"""Switching gradient recording on and off: ``no_grad``, ``enable_grad``, ``set_grad_enabled``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _GradState:
    __slots__ = ("anomaly", "enabled")

    def __init__(self) -> None:
        self.enabled = True
        self.anomaly = False


state = _GradState()


def is_grad_enabled() -> bool:
    """Return whether operations are being recorded for autograd."""
    return state.enabled


class _GradModeContext:
    """Base for the grad-mode context managers; each also works as a decorator."""

    _target: bool = True

    def __enter__(self) -> None:
        self._prev = state.enabled
        state.enabled = self._target

    def __exit__(self, *exc: object) -> None:
        state.enabled = self._prev

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_GradModeContext):
    """Context manager and decorator that stops operations from being recorded.

    Example:
        >>> import ember
        >>> x = ember.ones(2, requires_grad=True)
        >>> with ember.no_grad():
        ...     y = x * 2
        >>> y.requires_grad
        False
    """

    _target = False


class enable_grad(_GradModeContext):
    """Context manager and decorator that turns recording back on inside ``no_grad``."""

    _target = True


class set_grad_enabled(_GradModeContext):
    """Set recording on or off; usable as a function, a context manager or a decorator."""

    def __init__(self, mode: bool) -> None:
        self._target = bool(mode)
        self._prev = state.enabled
        state.enabled = self._target

    def __enter__(self) -> None:
        pass

    def __call__(self, fn: F) -> F:
        state.enabled = self._prev
        target = self._target

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(target):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class inference_mode(no_grad):
    """Same as ``no_grad`` in ember (PyTorch's name for a faster no-grad mode)."""

    def __init__(self, mode: bool = True) -> None:
        self._target = not mode
