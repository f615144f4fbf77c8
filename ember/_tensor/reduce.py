"""Tensor methods for reductions: sum, mean, prod, cumsum, max/min, var/std, norm, the softmax
family, and the logical all/any.

Sorting, top-k, medians and sampling live in ``sorting.py`` (``SortingMixin``, a base of
``ReduceMixin``); this module re-exports their module-level functions.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

from ember import dtypes
from ember._tensor import sorting as S
from ember._tensor.core import TensorCore, _norm_dim
from ember._tensor.sorting import argsort, bernoulli, functional, kthvalue, median, multinomial, sort, topk
from ember.ops import reduce as R

if TYPE_CHECKING:
    from ember._tensor import Tensor

__all__ = [
    "all", "amax", "amin", "any", "argmax", "argmin", "argsort", "bernoulli", "count_nonzero", "cumsum",
    "kthvalue", "log_softmax", "logsumexp", "max", "mean", "median", "min", "multinomial", "nansum", "norm",
    "prod", "softmax", "sort", "std", "std_mean", "sum", "topk", "var", "var_mean",
]  # fmt: skip


def norm_dims(dim: Any, ndim: int, op: str) -> tuple[int, ...]:
    """Normalise ``dim`` (None, int, or a sequence of ints; None and () mean all) to sorted axes."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (list, tuple)):
        if not dim:
            return tuple(range(ndim))
        axes = tuple(sorted(_norm_dim(d, ndim, op) for d in dim))
        if len(set(axes)) != len(axes):
            raise RuntimeError(f"{op}: dim {tuple(dim)} appears multiple times in the list of dims")
        return axes if ndim else ()
    d = _norm_dim(dim, ndim, op)
    return (d,) if ndim else ()


def _axis(dim: int, ndim: int, op: str) -> tuple[int, ...]:
    """One int ``dim`` as an axis tuple (empty for a 0-d tensor)."""
    d = _norm_dim(dim, ndim, op)
    return (d,) if ndim else ()


def _accumulating(x: Any, dtype: Any) -> Any:
    """``x`` in the dtype sum/prod/cumsum work in: ``dtype`` if given, int64 for bool and integers."""
    if dtype is not None:
        return x.to(dtype)
    d = x._buf.dtype
    return x if d.is_floating_point or d is dtypes.int64 else x.to(dtypes.int64)


def _require_float(x: Any, op: str, exc: type = RuntimeError) -> None:
    if not x._buf.dtype.is_floating_point:
        raise exc(f"{op}: expected a floating point tensor, got {x.dtype!r}")


class ReduceMixin(S.SortingMixin):
    __slots__ = ()

    # ---- sums, means, products ------------------------------------------------------------
    def sum(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
        """Sum over ``dim`` (all dims when None); bool and integer inputs sum as int64."""
        x = _accumulating(self, dtype)
        return R.Sum.apply(x, axis=norm_dims(dim, x.ndim, "sum"), keepdim=keepdim)

    def nansum(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
        """Sum over ``dim`` treating NaN as zero."""
        x: Any = self
        return x.where(~x.isnan(), 0).sum(dim, keepdim, dtype)

    def mean(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
        """Average over ``dim`` (all dims when None); the input must be floating point."""
        x: Any = self.to(dtype) if dtype is not None else self  # type: ignore[attr-defined]
        if not x._buf.dtype.is_floating_point:
            raise RuntimeError(
                f"mean: could not infer output dtype. Input dtype must be floating point, got {x.dtype!r}"
            )
        axes = norm_dims(dim, x.ndim, "mean")
        n = 1
        for a in axes:
            n *= x._buf.shape[a]
        return R.Sum.apply(x, axis=axes, keepdim=keepdim) * (1.0 / n if n else math.nan)

    def prod(self, dim: int | None = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
        """Multiply over ``dim`` (all dims when None); bool and integer inputs multiply as int64."""
        x = _accumulating(self, dtype)
        return R.Prod.apply(x, axis=norm_dims(dim, x.ndim, "prod"), keepdim=keepdim)

    def cumsum(self, dim: int, dtype: Any = None) -> Tensor:
        """Return the running sum along ``dim``; bool and integer inputs accumulate as int64."""
        x = _accumulating(self, dtype)
        if x.ndim == 0:
            _norm_dim(dim, 0, "cumsum")
            return R.Cumsum.apply(x.reshape(1), axis=0).reshape(())
        return R.Cumsum.apply(x, axis=_norm_dim(dim, x.ndim, "cumsum"))

    # ---- extrema --------------------------------------------------------------------------
    def amax(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        """Return the largest value over ``dim`` (all dims when None); ties share the gradient."""
        x: Any = self
        axes = norm_dims(dim, x.ndim, "amax")
        S.check_nonempty(x, axes, dim is None or dim == (), "amax")
        return R.Amax.apply(x, axis=axes, keepdim=keepdim)

    def amin(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        """Return the smallest value over ``dim`` (all dims when None); ties share the gradient."""
        x: Any = self
        axes = norm_dims(dim, x.ndim, "amin")
        S.check_nonempty(x, axes, dim is None or dim == (), "amin")
        return R.Amin.apply(x, axis=axes, keepdim=keepdim)

    def max(self, dim: Any = None, keepdim: bool = False) -> Any:
        """Return the largest value; with ``dim``, (values, indices) along it; with a tensor, ``maximum``.

        ``max()`` shares the gradient among tied maxima; ``max(dim)`` sends it to the
        returned index.

        Example:
            >>> import ember
            >>> x = ember.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
            >>> values, indices = x.max(dim=1)
            >>> indices
            tensor([1, 0])
            >>> x.max()
            tensor(7.)
        """
        if isinstance(dim, TensorCore):
            return self.maximum(dim)  # type: ignore[attr-defined]
        return _extremum(self, dim, keepdim, "max")

    def min(self, dim: Any = None, keepdim: bool = False) -> Any:
        """Return the smallest value; with ``dim``, (values, indices) along it; with a tensor, ``minimum``."""
        if isinstance(dim, TensorCore):
            return self.minimum(dim)  # type: ignore[attr-defined]
        return _extremum(self, dim, keepdim, "min")

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """Return the index of the largest value along ``dim`` (in the flattened tensor when None)."""
        return _arg_extremum(self, dim, keepdim, "argmax", R.Argmax)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """Return the index of the smallest value along ``dim`` (in the flattened tensor when None)."""
        return _arg_extremum(self, dim, keepdim, "argmin", R.Argmin)

    # ---- variance and norms ---------------------------------------------------------------
    def var(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: float | None = None) -> Tensor:
        """Return the variance over ``dim``, dividing by N - correction (correction=1 by default).

        ``unbiased=False`` means ``correction=0``. Computed around the mean, never as
        E[x^2] - E[x]^2.
        """
        x: Any = self
        axes, c = _var_args(x, dim, unbiased, correction, "var")
        return R.Var.apply(x, axis=axes, correction=c, keepdim=keepdim)

    def std(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: float | None = None) -> Tensor:
        """Return the standard deviation over ``dim``: the square root of ``var`` with the same arguments."""
        x: Any = self
        axes, c = _var_args(x, dim, unbiased, correction, "std")
        return R.Var.apply(x, axis=axes, correction=c, keepdim=keepdim).sqrt()

    def norm(self, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
        """Return the p-norm over ``dim`` (all dims when None): p = 'fro', a number, inf or -inf."""
        x: Any = self.to(dtype) if dtype is not None else self  # type: ignore[attr-defined]
        _require_float(x, "norm")
        if p == "fro" or p is None:
            if p == "fro" and isinstance(dim, (tuple, list)) and len(dim) > 2:
                raise RuntimeError(
                    f"norm: p='fro' takes at most 2 dims (a matrix norm), got dim={tuple(dim)}"
                )
            p = 2
        if p == "nuc":
            raise NotImplementedError("norm: p='nuc' (the nuclear norm) is not supported")
        if not isinstance(p, (int, float)):
            raise TypeError(f"norm: p must be 'fro', 'nuc' or a number, got {p!r}")
        axes = norm_dims(dim, x.ndim, "norm")
        if p == math.inf:
            return x.abs().amax(axes, keepdim)
        if p == -math.inf:
            return x.abs().amin(axes, keepdim)
        if p == 0:  # the number of non-zero entries (zero gradient in PyTorch)
            return (x != 0).sum(axes, keepdim).to(x.dtype)
        if p < 0:
            return (x.abs() ** p).sum(axes, keepdim) ** (1.0 / p)
        return R.Norm.apply(x, p=float(p), axis=axes, keepdim=keepdim)

    # ---- the softmax family ---------------------------------------------------------------
    def logsumexp(self, dim: Any, keepdim: bool = False) -> Tensor:
        """Return log(sum(exp(x))) over ``dim``, computed around the maximum so it does not overflow."""
        x: Any = self if self._buf.dtype.is_floating_point else self.float()  # type: ignore[attr-defined]
        return R.Logsumexp.apply(x, axis=norm_dims(dim, x.ndim, "logsumexp"), keepdim=keepdim)

    def softmax(self, dim: int, dtype: Any = None) -> Tensor:
        """Return exp(x) / sum(exp(x)) along ``dim``, shifted by the maximum for stability.

        Example:
            >>> import ember
            >>> ember.tensor([1e4, 1e4]).softmax(dim=0)
            tensor([0.5000, 0.5000])
        """
        x: Any = self.to(dtype) if dtype is not None else self  # type: ignore[attr-defined]
        _require_float(x, "softmax", NotImplementedError)
        return R.Softmax.apply(x, axis=_axis(dim, x.ndim, "softmax"))

    def log_softmax(self, dim: int, dtype: Any = None) -> Tensor:
        """Return log(softmax(x)) along ``dim``, computed without forming softmax (no log of 0)."""
        x: Any = self.to(dtype) if dtype is not None else self  # type: ignore[attr-defined]
        _require_float(x, "log_softmax", NotImplementedError)
        return R.LogSoftmax.apply(x, axis=_axis(dim, x.ndim, "log_softmax"))

    # ---- logical --------------------------------------------------------------------------
    def all(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        """Return True where every entry over ``dim`` is non-zero (a bool tensor)."""
        x: Any = self
        return R.All.apply(x, axis=norm_dims(dim, x.ndim, "all"), keepdim=keepdim)

    def any(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        """Return True where some entry over ``dim`` is non-zero (a bool tensor)."""
        x: Any = self
        return R.Any.apply(x, axis=norm_dims(dim, x.ndim, "any"), keepdim=keepdim)

    def count_nonzero(self, dim: Any = None) -> Tensor:
        """Count the non-zero entries over ``dim`` (an int64 tensor)."""
        x: Any = self
        return (x != 0).sum(dim)


def _extremum(t: Any, dim: Any, keepdim: bool, op: str) -> Any:
    if dim is None:
        S.check_nonempty(t, (), True, op)
        return (R.Amax if op == "max" else R.Amin).apply(t, axis=tuple(range(t.ndim)), keepdim=False)
    x, axis = S.one_dim(t, dim, op)
    S.check_nonempty(x, (axis,), False, op)
    idx = (R.Argmax if op == "max" else R.Argmin).apply(x, axis=axis, keepdim=True)
    return S.values_indices(x, idx, axis, keepdim, x is not t, S.max_result if op == "max" else S.min_result)


def _arg_extremum(t: Any, dim: int | None, keepdim: bool, op: str, fn: Any) -> Tensor:
    if t._buf.dtype is dtypes.bool_:
        raise RuntimeError(f"{op}: does not support bool input")
    if dim is None:
        S.check_nonempty(t, (), True, op, IndexError)
        return fn.apply(t, axis=None, keepdim=keepdim)
    x, axis = S.one_dim(t, dim, op)
    S.check_nonempty(x, (axis,), False, op)
    out = fn.apply(x, axis=axis, keepdim=keepdim)
    return out.reshape(()) if x is not t else out


def _var_args(t: Any, dim: Any, unbiased: Any, correction: Any, op: str) -> tuple[tuple[int, ...], float]:
    if isinstance(dim, bool):  # the var(unbiased) overload: x.var(False)
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{op}: cannot specify both unbiased and correction")
    if not t._buf.dtype.is_floating_point:
        raise RuntimeError(f"{op}: std and var only support floating point dtypes, got {t.dtype!r}")
    c = correction if correction is not None else (0 if unbiased is False else 1)
    axes = norm_dims(dim, t.ndim, op)
    n = 1
    for a in axes:
        n *= t._buf.shape[a]
    if n - c <= 0:
        warnings.warn(f"{op}: degrees of freedom is <= 0 (N={n}, correction={c})", UserWarning, stacklevel=3)
    return axes, c


# ---- module-level functions (ember.sum, ember.softmax, ...) --------------------------------
def var_mean(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction: float | None = None) -> tuple[Tensor, Tensor]:
    """Return ``(var, mean)`` over ``dim`` (the same arguments as ``var``)."""
    v = input.var(dim, unbiased, keepdim, correction=correction)
    return v, input.mean(None if isinstance(dim, bool) else dim, keepdim)


def std_mean(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction: float | None = None) -> tuple[Tensor, Tensor]:
    """Return ``(std, mean)`` over ``dim`` (the same arguments as ``std``)."""
    s = input.std(dim, unbiased, keepdim, correction=correction)
    return s, input.mean(None if isinstance(dim, bool) else dim, keepdim)


# Bound last: from here on these names shadow the builtins sum/max/min/all/any in this module.
sum = functional("sum")
nansum = functional("nansum")
mean = functional("mean")
prod = functional("prod")
cumsum = functional("cumsum")
amax = functional("amax")
amin = functional("amin")
max = functional("max")
min = functional("min")
argmax = functional("argmax")
argmin = functional("argmin")
var = functional("var")
std = functional("std")
norm = functional("norm")
logsumexp = functional("logsumexp")
softmax = functional("softmax")
log_softmax = functional("log_softmax")
all = functional("all")
any = functional("any")
count_nonzero = functional("count_nonzero")
