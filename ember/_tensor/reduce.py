"""Tensor methods for reductions: sum, mean, max/min, var/std, softmax family, sorting."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ember import dtypes
from ember._tensor.core import TensorCore, _norm_dim
from ember.ops import elementwise as E
from ember.ops import reduce as R

if TYPE_CHECKING:
    from ember._tensor import Tensor

__all__ = ["sum", "mean", "amax", "amin"]


def norm_dims(dim: Any, ndim: int, op: str) -> tuple[int, ...]:
    """Normalise ``dim`` (None, int, or a sequence of ints) to a sorted tuple of axes."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (list, tuple)):
        axes = tuple(sorted(_norm_dim(d, ndim, op) for d in dim))
        if len(set(axes)) != len(axes):
            raise RuntimeError(f"{op}: dim {tuple(dim)} appears multiple times in the list of dims")
        return axes if ndim else ()
    return (_norm_dim(dim, ndim, op),) if ndim else ()


class ReduceMixin:
    __slots__ = ()

    def sum(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
        """Sum over ``dim`` (all dims when None); bool and integer inputs sum as int64."""
        x = self
        if dtype is not None:
            x = x.to(dtype)  # type: ignore[attr-defined]
        elif not x.dtype.is_floating_point and x.dtype is not dtypes.int64:  # type: ignore[attr-defined]
            x = x.to(dtypes.int64)  # type: ignore[attr-defined]
        return R.Sum.apply(x, axis=norm_dims(dim, x.ndim, "sum"), keepdim=keepdim)  # type: ignore[attr-defined]

    def mean(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
        """Average over ``dim`` (all dims when None); the input must be floating point."""
        x = self.to(dtype) if dtype is not None else self  # type: ignore[attr-defined]
        if not x.dtype.is_floating_point:
            raise RuntimeError(
                f"mean: could not infer output dtype. Input dtype must be floating point, got {x.dtype!r}"
            )
        axes = norm_dims(dim, x.ndim, "mean")
        n = 1
        for a in axes:
            n *= x.shape[a]
        return R.Sum.apply(x, axis=axes, keepdim=keepdim) * (1.0 / n if n else float("nan"))

    def amax(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        _check_nonempty(self, "amax")
        return R.Amax.apply(self, axis=norm_dims(dim, self.ndim, "amax"), keepdim=keepdim)  # type: ignore[attr-defined]

    def amin(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        _check_nonempty(self, "amin")
        return R.Amin.apply(self, axis=norm_dims(dim, self.ndim, "amin"), keepdim=keepdim)  # type: ignore[attr-defined]


def _check_nonempty(t: Any, op: str) -> None:
    if t.numel() == 0:
        raise RuntimeError(f"{op}: expected a non-empty tensor, got shape {tuple(t.shape)}")


def _fn(name: str) -> Any:
    def fn(input: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
        if not isinstance(input, TensorCore):
            raise TypeError(f"{name}: expected a Tensor, got {type(input).__name__}")
        return getattr(input, name)(*args, **kwargs)

    fn.__name__ = name
    fn.__doc__ = f"Functional form of ``Tensor.{name}``."
    return fn


for _n in __all__:
    globals()[_n] = _fn(_n)
del E
