"""Tensor methods that move data: reshape, permute, expand, squeeze, cat, split, pad, ..."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from ember import dtypes

# pad is not in __all__ (PyTorch has no torch.pad); ember.nn.functional re-exports it
from ember._tensor._join import cat, concat, concatenate, hstack, pad, stack, vstack  # noqa: F401
from ember._tensor.core import TensorCore, _norm_dim
from ember.ops import movement as M

if TYPE_CHECKING:
    from ember._tensor import Tensor
    from ember._tensor.core import TensorCore as _TensorBase
else:
    _TensorBase = object  # the mixins are typed as Tensors, built as plain classes

__all__ = [
    "reshape", "permute", "transpose", "swapaxes", "swapdims", "flatten", "unflatten", "squeeze", "unsqueeze",
    "t", "broadcast_to", "narrow", "chunk", "split", "flip", "fliplr", "flipud", "roll", "tril", "triu",
    "movedim", "moveaxis", "tile", "repeat_interleave", "meshgrid", "cat", "concat", "concatenate", "stack",
    "hstack", "vstack",
]
_COMPOSED = ("cat", "concat", "concatenate", "stack", "hstack", "vstack", "meshgrid")  # defined in _join


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
            raise RuntimeError(
                f"{op}: shape {list(shape)} is invalid for input of size {numel} (shape {old})"
            )
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"{op}: shape {list(shape)} is invalid for input of size {numel} (shape {old})")
    return shape


class MovementMixin(_TensorBase):
    __slots__ = ()

    def reshape(self, *shape: Any) -> Tensor:
        """Return the same elements with a new shape (one entry may be -1)."""
        old = self._buf.shape  # type: ignore[attr-defined]
        new = infer_shape(_shape_arg(shape), self.numel(), old, "reshape")  # type: ignore[attr-defined]
        if new == old:
            return self  # type: ignore[return-value]
        return M.Reshape.apply(self, shape=new)

    def view(self, *shape: Any) -> Tensor:
        """Return the same elements with a new shape, like ``reshape`` (ember copies only when it must)."""
        if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list)):
            return self.to(shape[0])  # type: ignore[attr-defined]
        old = self._buf.shape  # type: ignore[attr-defined]
        new = infer_shape(_shape_arg(shape), self.numel(), old, "view")  # type: ignore[attr-defined]
        return self if new == old else M.Reshape.apply(self, shape=new)  # type: ignore[return-value]

    def view_as(self, other: Tensor) -> Tensor:
        """Return a view with ``other``'s shape."""
        return self.view(tuple(other.shape))

    def reshape_as(self, other: Tensor) -> Tensor:
        """Return this tensor reshaped to ``other``'s shape (a view when possible)."""
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
        """This tensor with its dimensions reversed (the transpose of a matrix; 0-d and 1-d unchanged)."""
        nd = self.ndim  # type: ignore[attr-defined]
        return self if nd < 2 else self.permute(tuple(range(nd - 1, -1, -1)))  # type: ignore[return-value]

    @property
    def mT(self) -> Tensor:  # noqa: N802
        """This tensor with its last two dimensions swapped (a batch of transposed matrices)."""
        return self.transpose(-2, -1)

    @property
    def H(self) -> Tensor:  # noqa: N802
        """The conjugate transpose of a matrix: ``T`` for ember's real dtypes."""
        if self.ndim != 2 and self.ndim != 0:  # type: ignore[attr-defined]
            raise RuntimeError(f"H: expected a matrix or a scalar, got shape {tuple(self.shape)}; use mH")  # type: ignore[attr-defined]
        return self.T

    @property
    def mH(self) -> Tensor:  # noqa: N802
        """The conjugate transpose of a batch of matrices: ``mT`` for ember's real dtypes."""
        return self.mT

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
                    raise RuntimeError(
                        f"expand: -1 is not allowed in a leading, new dimension (sizes {want})"
                    )
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
        """Return a broadcast view of this tensor with ``other``'s shape."""
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


    def broadcast_to(self, size: Any) -> Tensor:
        """Return a broadcast view with shape ``size`` (the same as ``expand``)."""
        return self.expand(size)

    # ---- pieces: narrow, split, chunk ------------------------------------------------
    def narrow(self, dim: int, start: Any, length: int) -> Tensor:
        """Return the view ``self[..., start:start + length, ...]`` along ``dim``."""
        shape = self._buf.shape  # type: ignore[attr-defined]
        if not shape:
            raise RuntimeError("narrow: cannot be applied to a 0-dim tensor")
        d = _norm_dim(dim, len(shape), "narrow")
        n, start, length = shape[d], int(start), int(length)
        if not -n <= start <= n:
            raise IndexError(
                f"narrow: start out of range (expected to be in range of [{-n}, {n}], but got {start})"
            )
        if length < 0:
            raise RuntimeError(f"narrow: length must be non-negative, got {length}")
        start %= n if n else 1
        if start + length > n:
            raise RuntimeError(f"narrow: start ({start}) + length ({length}) exceeds dimension size ({n})")
        return _shrink(self, d, start, start + length)

    def split(self, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
        """Cut into pieces of ``split_size`` along ``dim`` (the last may be smaller) or of given sizes."""
        shape = self._buf.shape  # type: ignore[attr-defined]
        if not shape:
            raise RuntimeError("split: expects at least a 1-dimensional tensor")
        d = _norm_dim(dim, len(shape), "split")
        n = shape[d]
        if isinstance(split_size_or_sections, (list, tuple)):
            sizes = [int(s) for s in split_size_or_sections]
            if any(s < 0 for s in sizes):
                raise RuntimeError(
                    "split_with_sizes: expects split_sizes have only non-negative entries, "
                    f"but got split_sizes={sizes}"
                )
            if sum(sizes) != n:
                raise RuntimeError(
                    f"split_with_sizes: expects split_sizes to sum exactly to {n} (input tensor's size at "
                    f"dimension {d}), but got split_sizes={sizes}"
                )
        else:
            size = int(split_size_or_sections)
            if size < 0:
                raise RuntimeError(f"split: expects split_size be non-negative, but got split_size={size}")
            if size == 0 and n != 0:
                raise RuntimeError(
                    "split: split_size can only be 0 if dimension size is 0, "
                    f"but got dimension size of {n}"
                )
            sizes = [min(size, n - a) for a in range(0, n, size)] if n else [0]
        out, a = [], 0
        for s in sizes:
            out.append(_shrink(self, d, a, a + s))
            a += s
        return tuple(out)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        """Cut into at most ``chunks`` equal pieces along ``dim`` (the last may be smaller)."""
        shape = self._buf.shape  # type: ignore[attr-defined]
        if not shape:
            raise RuntimeError("chunk: expects at least a 1-dimensional tensor")
        if chunks <= 0:
            raise RuntimeError(f"chunk: expects `chunks` to be greater than 0, got: {chunks}")
        d = _norm_dim(dim, len(shape), "chunk")
        n = shape[d]
        if n == 0:
            return tuple(_shrink(self, d, 0, 0) for _ in range(chunks))
        return self.split(-(-n // chunks), d)

    # ---- reordering and repeating ----------------------------------------------------
    def flip(self, *dims: Any) -> Tensor:
        """Reverse the order of entries along ``dims``."""
        axes = _dims_arg(dims, self.ndim, "flip")  # type: ignore[attr-defined]
        if not self.ndim or not axes:  # type: ignore[attr-defined]
            return M.Reshape.apply(self, shape=self._buf.shape)  # type: ignore[attr-defined]
        return M.Flip.apply(self, axes=axes)

    def fliplr(self) -> Tensor:
        """Return the tensor with the order of dimension 1 (columns) reversed."""
        if self.ndim < 2:  # type: ignore[attr-defined]
            raise RuntimeError(f"fliplr: input must be >= 2-d, got {self.ndim}-d")  # type: ignore[attr-defined]
        return self.flip(1)

    def flipud(self) -> Tensor:
        """Return the tensor with the order of dimension 0 (rows) reversed."""
        if self.ndim < 1:  # type: ignore[attr-defined]
            raise RuntimeError("flipud: input must be >= 1-d, got 0-d")
        return self.flip(0)

    def roll(self, shifts: Any, dims: Any = None) -> Tensor:
        """Shift entries cyclically by ``shifts`` along ``dims`` (None: over the flattened tensor)."""
        sh = tuple(int(s) for s in shifts) if isinstance(shifts, (tuple, list)) else (int(shifts),)
        if dims is None:
            if len(sh) != 1:
                raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(sh)}, dims: 0")
            return M.Roll.apply(self, shifts=sh, axes=None)
        ds = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
        if len(sh) != len(ds):
            raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(sh)}, dims: {len(ds)}")
        nd = self.ndim  # type: ignore[attr-defined]
        if nd == 0:
            raise IndexError(f"roll: dimension specified as {ds[0]} but tensor has no dimensions")
        return M.Roll.apply(self, shifts=sh, axes=tuple(_norm_dim(d, nd, "roll") for d in ds))

    def movedim(self, source: Any, destination: Any) -> Tensor:
        """Move dims ``source`` to positions ``destination``; the others keep their order."""
        nd = self.ndim  # type: ignore[attr-defined]
        src = list(source) if isinstance(source, (tuple, list)) else [source]
        dst = list(destination) if isinstance(destination, (tuple, list)) else [destination]
        if len(src) != len(dst):
            raise RuntimeError(
                f"movedim: invalid source or destination dims: source ({src} dims) should contain the same "
                f"number of dims as destination ({dst} dims)"
            )
        s = [_norm_dim(d, nd, "movedim") for d in src]
        t = [_norm_dim(d, nd, "movedim") for d in dst]
        for name, v, orig in (("source", s, src), ("destination", t, dst)):
            if len(set(v)) != len(v):
                raise RuntimeError(f"movedim: repeated dim in `{name}` ({orig})")
        order: list[int | None] = [None] * nd
        for a, b in zip(s, t):
            order[b] = a
        rest = iter(d for d in range(nd) if d not in s)
        return self.permute(tuple(o if o is not None else next(rest) for o in order))

    moveaxis = movedim

    def repeat(self, *sizes: Any) -> Tensor:
        """Tile the tensor ``sizes[i]`` times along each dim (extra leading sizes add dims)."""
        reps = _shape_arg(sizes)
        shape = self._buf.shape  # type: ignore[attr-defined]
        if len(reps) < len(shape):
            raise RuntimeError(
                "repeat: number of dimensions of repeat dims can not be smaller than number of dimensions of "
                f"tensor (repeats {reps}, tensor shape {tuple(shape)})"
            )
        shape = (1,) * (len(reps) - len(shape)) + tuple(shape)
        out = tuple(r * n for r, n in zip(reps, shape))
        if any(r < 0 for r in reps):
            raise RuntimeError(
                f"repeat: trying to create tensor with negative dimension: repeats {list(reps)}"
            )
        # (s0, s1) -> (1, s0, 1, s1) -> expand (r0, s0, r1, s1) -> (r0*s0, r1*s1)
        ones = tuple(x for n in shape for x in (1, n))
        spread = tuple(x for r, n in zip(reps, shape) for x in (r, n))
        return self.reshape(ones).expand(spread).reshape(out)

    def repeat_interleave(
        self, repeats: Any, dim: int | None = None, *, output_size: int | None = None
    ) -> Tensor:
        """Repeat each element ``repeats`` times along ``dim`` (the flattened tensor when None).

        ``repeats`` is an int or a 1-d integer tensor with one count per element.
        """
        x = self.reshape(-1) if dim is None else cast("Tensor", self)  # the mixin is a Tensor
        d = 0 if dim is None else _norm_dim(dim, max(x.ndim, 1), "repeat_interleave")
        if x.ndim == 0:
            x = x.reshape(1)
        n = x.shape[d]
        if isinstance(repeats, TensorCore) and repeats.numel() != 1:
            counts = [int(c) for c in repeats.tolist()]
            if repeats.ndim != 1 or len(counts) != n:
                raise RuntimeError(f"repeat_interleave: repeats must have the same size as input along dim, "
                                   f"got repeats of shape {tuple(repeats.shape)} for size {n}")
            if any(c < 0 for c in counts):
                raise RuntimeError("repeat_interleave: repeats can not be negative")
            index = [i for i, c in enumerate(counts) for _ in range(c)]
            from ember._tensor.creation import tensor

            return x.index_select(d, tensor(index, dtype=dtypes.int64))
        r = int(repeats.item() if isinstance(repeats, TensorCore) else repeats)
        if r < 0:
            raise RuntimeError(f"repeat_interleave: repeats can not be negative, got {r}")
        shape = tuple(x.shape)
        # (.., n, ..) -> (.., n, 1, ..) -> expand (.., n, r, ..) -> (.., n*r, ..)
        spread = shape[:d + 1] + (r,) + shape[d + 1:]
        return x.unsqueeze(d + 1).expand(spread).reshape(shape[:d] + (n * r,) + shape[d + 1:])

    def tile(self, *dims: Any) -> Tensor:
        """Repeat the tensor like ``repeat``, but pad fewer ``dims`` than tensor dims with leading 1s."""
        reps = _shape_arg(dims)
        return self.repeat((1,) * (self.ndim - len(reps)) + reps)  # type: ignore[attr-defined]

    def tril(self, diagonal: int = 0) -> Tensor:
        """Zero the entries above the ``diagonal``-th diagonal of the last two dims."""
        if self.ndim < 2:  # type: ignore[attr-defined]
            raise RuntimeError(
                "tril: input tensor must have at least 2 dimensions, "
                f"got shape {tuple(self.shape)}"  # type: ignore[attr-defined]
            )
        return M.Tril.apply(self, k=int(diagonal))

    def triu(self, diagonal: int = 0) -> Tensor:
        """Zero the entries below the ``diagonal``-th diagonal of the last two dims."""
        if self.ndim < 2:  # type: ignore[attr-defined]
            raise RuntimeError(
                "triu: input tensor must have at least 2 dimensions, "
                f"got shape {tuple(self.shape)}"  # type: ignore[attr-defined]
            )
        return M.Triu.apply(self, k=int(diagonal))


def _shrink(x: Any, dim: int, start: int, stop: int) -> Tensor:
    """The view ``x[..., start:stop, ...]`` along ``dim`` (a Shrink, whose backward pads)."""
    bounds = tuple((start, stop) if a == dim else (0, n) for a, n in enumerate(x._buf.shape))
    return M.Shrink.apply(x, bounds=bounds)


def _dims_arg(dims: tuple[Any, ...], ndim: int, op: str) -> tuple[int, ...]:
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    axes = tuple(_norm_dim(d, ndim, op) for d in dims)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"{op}: dim {dims} appears multiple times in the list of dims")
    return axes if ndim else ()


def _fn(name: str) -> Any:
    def fn(input: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
        if not isinstance(input, TensorCore):
            raise TypeError(f"{name}: expected a Tensor, got {type(input).__name__}")
        return getattr(input, name)(*args, **kwargs)

    fn.__name__ = name
    fn.__doc__ = f"Functional form of ``Tensor.{name}``."
    return fn


for _n in __all__:
    if _n not in _COMPOSED:
        globals()[_n] = _fn(_n)


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple[Tensor, ...]:
    """Return coordinate grids made from 1-d tensors, one expanded view per tensor.

    With ``indexing='ij'`` output i varies along dim i; ``'xy'`` (NumPy's default) swaps
    the first two dims.
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    for i, t in enumerate(tensors):
        if not isinstance(t, TensorCore) or t.ndim > 1:
            got = tuple(t.shape) if isinstance(t, TensorCore) else type(t).__name__
            raise RuntimeError(f"meshgrid: expected 0-d or 1-d tensors, got {got} at position {i}")
    flat = [t.reshape(-1) for t in tensors]
    swap = indexing == "xy" and len(flat) >= 2
    if swap:
        flat[0], flat[1] = flat[1], flat[0]
    sizes = tuple(t.shape[0] for t in flat)
    out = [t.reshape(tuple(-1 if j == i else 1 for j in range(len(flat)))).expand(sizes)
           for i, t in enumerate(flat)]
    if swap:
        out[0], out[1] = out[1], out[0]
    return tuple(out)
