"""Tensor methods that move data: reshape, permute, expand, squeeze, cat, split, pad, ..."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ember._tensor.core import TensorCore, _norm_dim
from ember.ops import movement as M

if TYPE_CHECKING:
    from ember._tensor import Tensor

__all__ = ["reshape", "permute", "transpose", "flatten", "squeeze", "unsqueeze", "t"]


def _shape_arg(args: tuple[Any, ...]) -> tuple[int, ...]:
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(int(s) for s in args[0])
    return tuple(int(s) for s in args)


def infer_shape(shape: tuple[int, ...], numel: int, old: tuple[int, ...], op: str) -> tuple[int, ...]:
    """Resolve one -1 in ``shape`` and check the element count, with PyTorch's messages."""
    unknown = [i for i, s in enumerate(shape) if s == -1]
    if len(unknown) > 1:
        raise RuntimeError(f"{op}: only one dimension can be inferred, got shape {shape}")
    if any(s < -1 for s in shape):
        raise RuntimeError(f"{op}: invalid shape dimension in {shape}")
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if unknown:
        if known == 0 or numel % known:
            raise RuntimeError(f"{op}: shape {list(shape)} is invalid for input of size {numel} (shape {old})")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"{op}: shape {list(shape)} is invalid for input of size {numel} (shape {old})")
    return shape


class MovementMixin:
    __slots__ = ()

    def reshape(self, *shape: Any) -> Tensor:
        """Return the same elements with a new shape (one entry may be -1)."""
        old = self._buf.shape  # type: ignore[attr-defined]
        new = infer_shape(_shape_arg(shape), self.numel(), old, "reshape")  # type: ignore[attr-defined]
        if new == old:
            return self  # type: ignore[return-value]
        return M.Reshape.apply(self, shape=new)

    def view(self, *shape: Any) -> Tensor:
        """Same as ``reshape`` (ember copies only when the layout requires it)."""
        if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list)):
            return self.to(shape[0])  # type: ignore[attr-defined]
        old = self._buf.shape  # type: ignore[attr-defined]
        new = infer_shape(_shape_arg(shape), self.numel(), old, "view")  # type: ignore[attr-defined]
        return self if new == old else M.Reshape.apply(self, shape=new)  # type: ignore[return-value]

    def view_as(self, other: Tensor) -> Tensor:
        return self.view(tuple(other.shape))

    def reshape_as(self, other: Tensor) -> Tensor:
        return self.reshape(tuple(other.shape))

    def permute(self, *dims: Any) -> Tensor:
        """Reorder the dimensions."""
        nd = self.ndim  # type: ignore[attr-defined]
        d = _shape_arg(dims)
        if len(d) != nd:
            raise RuntimeError(f"permute: number of dims don't match: got {len(d)} dims for a {nd}-d tensor")
        d = tuple(_norm_dim(x, nd, "permute") for x in d)
        if len(set(d)) != nd:
            raise RuntimeError(f"permute: repeated dim in {dims}")
        if d == tuple(range(nd)):
            return self  # type: ignore[return-value]
        return M.Permute.apply(self, dims=d)

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        """Swap two dimensions."""
        nd = self.ndim  # type: ignore[attr-defined]
        if nd == 0:
            _norm_dim(dim0, 1, "transpose"), _norm_dim(dim1, 1, "transpose")
            return self  # type: ignore[return-value]
        a, b = _norm_dim(dim0, nd, "transpose"), _norm_dim(dim1, nd, "transpose")
        if a == b:
            return self  # type: ignore[return-value]
        order = list(range(nd))
        order[a], order[b] = b, a
        return M.Permute.apply(self, dims=tuple(order))

    swapaxes = swapdims = transpose

    def t(self) -> Tensor:
        """Transpose a tensor of at most 2 dimensions."""
        if self.ndim > 2:  # type: ignore[attr-defined]
            raise RuntimeError(f"t: expects a tensor with <= 2 dimensions, but self is {self.ndim}D")  # type: ignore[attr-defined]
        return self if self.ndim < 2 else self.transpose(0, 1)  # type: ignore[attr-defined,return-value]

    @property
    def T(self) -> Tensor:  # noqa: N802
        nd = self.ndim  # type: ignore[attr-defined]
        return self if nd < 2 else self.permute(tuple(range(nd - 1, -1, -1)))  # type: ignore[return-value]

    @property
    def mT(self) -> Tensor:  # noqa: N802
        return self.transpose(-2, -1)

    def expand(self, *sizes: Any) -> Tensor:
        """Broadcast to a larger shape without copying (-1 keeps a dimension)."""
        want = _shape_arg(sizes)
        old = self._buf.shape  # type: ignore[attr-defined]
        if len(want) < len(old):
            raise RuntimeError(
                f"expand: the number of sizes provided ({len(want)}) must be greater or equal to the "
                f"number of dimensions in the tensor ({len(old)})"
            )
        lead = len(want) - len(old)
        out = []
        for i, w in enumerate(want):
            cur = old[i - lead] if i >= lead else None
            if w == -1:
                if cur is None:
                    raise RuntimeError(f"expand: -1 is not allowed in a leading, new dimension (sizes {want})")
                w = cur
            elif cur is not None and cur != w and cur != 1:
                raise RuntimeError(
                    f"expand: the expanded size of the tensor ({w}) must match the existing size ({cur}) "
                    f"at non-singleton dimension {i}; target sizes {list(want)}, tensor sizes {list(old)}"
                )
            out.append(w)
        shape = tuple(out)
        return self if shape == old else M.Expand.apply(self, shape=shape)  # type: ignore[return-value]

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(tuple(other.shape))

    def unsqueeze(self, dim: int) -> Tensor:
        """Insert a size-1 dimension at ``dim``."""
        shape = list(self._buf.shape)  # type: ignore[attr-defined]
        d = _norm_dim(dim, len(shape) + 1, "unsqueeze")
        shape.insert(d, 1)
        return M.Reshape.apply(self, shape=tuple(shape))

    def squeeze(self, dim: Any = None) -> Tensor:
        """Remove size-1 dimensions (all of them, or those in ``dim``)."""
        shape = self._buf.shape  # type: ignore[attr-defined]
        if dim is None:
            axes = {i for i, s in enumerate(shape) if s == 1}
        else:
            dims = dim if isinstance(dim, (tuple, list)) else (dim,)
            axes = {i for i in (_norm_dim(d, len(shape), "squeeze") for d in dims) if shape and shape[i] == 1}
        new = tuple(s for i, s in enumerate(shape) if i not in axes)
        return self if new == shape else M.Reshape.apply(self, shape=new)  # type: ignore[return-value]

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge dimensions ``start_dim`` through ``end_dim`` into one."""
        shape = self._buf.shape  # type: ignore[attr-defined]
        if not shape:
            return self.reshape(1)
        s = _norm_dim(start_dim, len(shape), "flatten")
        e = _norm_dim(end_dim, len(shape), "flatten")
        if s > e:
            raise RuntimeError("flatten: start_dim cannot come after end_dim")
        n = 1
        for x in shape[s : e + 1]:
            n *= x
        return self.reshape(shape[:s] + (n,) + shape[e + 1 :])

    def unflatten(self, dim: int, sizes: Any) -> Tensor:
        """Split dimension ``dim`` into ``sizes``."""
        shape = self._buf.shape  # type: ignore[attr-defined]
        d = _norm_dim(dim, len(shape), "unflatten")
        sizes = tuple(sizes)
        sizes = infer_shape(sizes, shape[d], (shape[d],), "unflatten")
        return self.reshape(shape[:d] + sizes + shape[d + 1 :])


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
