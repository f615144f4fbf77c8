"""Tensor methods that order or pick entries: sort, argsort, topk, kthvalue, median, and the
random picks multinomial and bernoulli.

``SortingMixin`` is a base of ``ReduceMixin`` (``reduce.py``), which re-exports the
module-level functions. Operations with values and indices return a namedtuple
``(values, indices)``: a non-differentiable Function finds the indices and ``TakeAlong``
picks the values, so the gradient flows to exactly those positions.
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import TYPE_CHECKING, Any

from ember import dtypes
from ember._tensor.core import TensorCore, _make, _norm_dim
from ember.ops import reduce as R

if TYPE_CHECKING:
    from ember._tensor import Tensor
    from ember._tensor.core import TensorCore as _TensorBase
else:
    _TensorBase = object  # the mixins are typed as Tensors, built as plain classes

__all__ = ["argsort", "bernoulli", "kthvalue", "median", "multinomial", "sort", "topk"]


def _result(name: str) -> Any:
    cls = namedtuple(name, ["values", "indices"])  # type: ignore[misc]
    cls.__module__ = "ember.return_types"
    return cls


# The (values, indices) results, named after the operation as in ``torch.return_types``.
max_result = _result("max")
min_result = _result("min")
sort_result = _result("sort")
topk_result = _result("topk")
median_result = _result("median")
kthvalue_result = _result("kthvalue")


def one_dim(t: Any, dim: int, op: str) -> tuple[Any, int]:
    """Return the tensor to work on and its axis; a 0-d tensor is viewed as shape (1,)."""
    if t.ndim == 0:
        _norm_dim(dim, 0, op)
        return t.reshape(1), 0
    return t, _norm_dim(dim, t.ndim, op)


def values_indices(x: Any, idx: Any, axis: int, keepdim: bool, scalar: bool, result: Any) -> Any:
    """Pick the values at ``idx`` (same rank as x) and return ``result(values, indices)``.

    ``scalar``: x is a 0-d tensor viewed as shape (1,) by ``one_dim``; both outputs become 0-d.
    """
    values = R.TakeAlong.apply(x, idx, axis=axis, keepdim=keepdim)
    if scalar:
        return result(values.reshape(()), idx.reshape(()))
    if not keepdim:
        idx = _make(idx._buf.reshape(values._buf.shape), None)
    return result(values, idx)


def check_nonempty(t: Any, axes: tuple[int, ...], full: bool, op: str, exc: type = RuntimeError) -> None:
    """Raise PyTorch's error for an extremum over no elements (``full``: no dim was given)."""
    shape = tuple(t._buf.shape)
    if full and t.numel() == 0:
        raise exc(
            f"{op}: expected reduction dim to be specified for input.numel() == 0 (shape {shape}); pass dim="
        )
    for a in axes:
        if shape[a] == 0:
            raise IndexError(f"{op}: expected reduction dim {a} to have non-zero size (shape {shape})")


class SortingMixin(_TensorBase):
    __slots__ = ()

    def sort(self, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Any:
        """Sort along ``dim``: return the values and the indices they came from (``stable``: ties in order).

        Example:
            >>> import ember
            >>> ember.tensor([3.0, 1.0, 2.0]).sort(descending=True).indices
            tensor([0, 2, 1])
        """
        x, axis = one_dim(self, dim, "sort")
        idx = R.Argsort.apply(x, axis=axis, descending=bool(descending), stable=bool(stable))
        return values_indices(x, idx, axis, True, x is not self, sort_result)

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
        """Return the indices that sort the tensor along ``dim``."""
        x, axis = one_dim(self, dim, "argsort")
        idx = R.Argsort.apply(x, axis=axis, descending=bool(descending), stable=bool(stable))
        return idx.reshape(()) if x is not self else idx

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
        """Return the ``k`` largest (or smallest) values along ``dim``, best first, and their indices.

        The result is always sorted (PyTorch leaves the order open when ``sorted=False``).
        """
        x, axis = one_dim(self, dim, "topk")
        n = x._buf.shape[axis]
        if not isinstance(k, int) or isinstance(k, bool):
            raise TypeError(f"topk: k must be an int, got {type(k).__name__}")
        if k < 0 or k > n:
            raise RuntimeError(
                f"topk: selected index k out of range: k={k} for dimension {axis} of size {n} "
                f"(shape {tuple(x._buf.shape)})"
            )
        if x._buf.dtype is dtypes.bool_:
            raise RuntimeError("topk: bool tensors are not supported")
        idx = R.TopkIndices.apply(x, k=k, axis=axis, largest=bool(largest))
        return values_indices(x, idx, axis, True, x is not self, topk_result)

    def kthvalue(self, k: int, dim: int = -1, keepdim: bool = False) -> Any:
        """Return the ``k``-th smallest value along ``dim`` (k counts from 1) and its index."""
        x, axis = one_dim(self, dim, "kthvalue")
        n = x._buf.shape[axis]
        if not 1 <= k <= n:
            raise RuntimeError(
                f"kthvalue: selected number k out of range: k={k} for dimension {axis} of size {n}"
            )
        idx = R.KthvalueIndices.apply(x, k=k - 1, axis=axis)
        return values_indices(x, idx, axis, keepdim, x is not self, kthvalue_result)

    def median(self, dim: int | None = None, keepdim: bool = False) -> Any:
        """Return the lower median of all entries (a 0-d tensor), or (values, indices) along ``dim``.

        The full median sends the gradient to one entry even when values tie.
        """
        x: Any = self
        if dim is None:
            flat = x.reshape(-1)
            n = flat._buf.shape[0]
            if n == 0:
                return _make(x._buf.full((), math.nan, x._buf.dtype), None)
            idx = R.KthvalueIndices.apply(flat, k=(n - 1) // 2, axis=0)
            return R.TakeAlong.apply(flat, idx, axis=0, keepdim=False)
        x, axis = one_dim(self, dim, "median")
        n = x._buf.shape[axis]
        check_nonempty(x, (axis,), False, "median")
        idx = R.KthvalueIndices.apply(x, k=(n - 1) // 2, axis=axis)
        return values_indices(x, idx, axis, keepdim, x is not self, median_result)

    # ---- sampling ------------------------------------------------------------------------
    def multinomial(self, num_samples: int, replacement: bool = False, *, generator: Any = None) -> Tensor:
        """Draw ``num_samples`` category indices per row, with probabilities proportional to the row.

        Uses ember's global generator (``ember.manual_seed``). Without replacement no
        index repeats within a row.
        """
        x: Any = self
        _check_generator(generator, "multinomial")
        shape = tuple(x._buf.shape)
        if not x._buf.dtype.is_floating_point:
            raise RuntimeError(
                f"multinomial: only floating point probabilities are supported, got {x.dtype!r}"
            )
        if len(shape) not in (1, 2):
            raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape {shape}")
        if num_samples <= 0:
            raise RuntimeError(
                f"multinomial: cannot sample n_sample <= 0 samples (num_samples={num_samples})"
            )
        if not replacement and num_samples > shape[-1]:
            raise RuntimeError(
                "multinomial: cannot sample n_sample > prob_dist.size(-1) samples without replacement "
                f"(num_samples={num_samples}, {shape[-1]} categories)"
            )
        if x.numel():
            p = x._buf
            if not (p.isfinite().all().item() and (p >= 0).all().item()):
                raise RuntimeError(
                    "multinomial: probability tensor contains either `inf`, `nan` or element < 0"
                )
            positive = (p > 0).sum(-1)
            if not (positive > 0).all().item():
                raise RuntimeError(
                    "multinomial: invalid multinomial distribution (sum of probabilities <= 0)"
                )
            if not replacement and not (positive >= num_samples).all().item():
                raise RuntimeError(
                    "multinomial: invalid multinomial distribution (with replacement=False, fewer than "
                    f"num_samples={num_samples} categories have non-zero probability)"
                )
        return R.Multinomial.apply(x, num_samples=num_samples, replacement=bool(replacement))

    def bernoulli(self, p: float | None = None, *, generator: Any = None) -> Tensor:
        """Draw 1 with probability given by each entry (or by the number ``p``), else 0."""
        x: Any = self
        _check_generator(generator, "bernoulli")
        if not x._buf.dtype.is_floating_point:
            raise NotImplementedError(f"bernoulli: expected a floating point tensor, got {x.dtype!r}")
        if p is not None:
            _check_probability(p, "bernoulli")
        elif x.numel() and not ((x._buf >= 0).all().item() and (x._buf <= 1).all().item()):
            raise RuntimeError(
                "bernoulli: all probabilities must be in [0, 1], got values in "
                f"[{x.amin().item()}, {x.amax().item()}]"
            )
        return R.Bernoulli.apply(x, p=p)

    def bernoulli_(self, p: Any = 0.5, *, generator: Any = None) -> Tensor:
        """Fill in place with draws of 1 with probability ``p`` (a number or a tensor), else 0."""
        from ember._tensor.elementwise import _check_inplace

        x: Any = self
        _check_generator(generator, "bernoulli_")
        _check_inplace(x, "bernoulli_")
        if isinstance(p, TensorCore):
            sample = p.to(x.dtype).expand(x.shape).bernoulli()  # type: ignore[attr-defined]
        else:
            _check_probability(p, "bernoulli_")
            sample = R.Bernoulli.apply(x, p=float(p))
        x._buf.assign_(sample._buf)
        return x


def _check_probability(p: Any, op: str) -> None:
    if not 0 <= p <= 1:
        raise RuntimeError(f"{op}: expects p to be in [0, 1], but got p={p}")


def _check_generator(generator: Any, op: str) -> None:
    if generator is not None:
        raise NotImplementedError(
            f"{op}: generator= is not supported; seed the global generator with ember.manual_seed"
        )


def functional(name: str) -> Any:
    """The module-level form of ``Tensor.<name>`` (``ember.sort(x, ...)``)."""

    def fn(input: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(input, TensorCore):
            raise TypeError(f"{name}: expected a Tensor, got {type(input).__name__}")
        return getattr(input, name)(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Functional form of ``Tensor.{name}``."
    return fn


sort = functional("sort")
argsort = functional("argsort")
topk = functional("topk")
kthvalue = functional("kthvalue")
median = functional("median")
multinomial = functional("multinomial")
bernoulli = functional("bernoulli")
