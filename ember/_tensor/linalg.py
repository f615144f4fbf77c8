"""Tensor methods for linear algebra: matmul and its named forms (mm, bmm, mv, dot), outer, einsum.

As in PyTorch, the matrix products take operands of one dtype (no promotion) and
``einsum`` broadcasts size-1 dimensions and ellipses.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from ember import dtypes
from ember._tensor.core import TensorCore
from ember._tensor.promotion import broadcast_shapes
from ember.ops import linalg as L

if TYPE_CHECKING:
    from ember._tensor import Tensor
    from ember._tensor.core import TensorCore as _TensorBase
else:
    _TensorBase = object  # the mixins are typed as Tensors, built as plain classes

__all__ = ["bmm", "cdist", "diag", "diagonal", "dot", "einsum", "matmul", "mm", "mv", "outer", "trace"]


def _operands(op: str, a: Any, b: Any, name: str = "other") -> None:
    """Check that both operands are tensors of one dtype that matrix products support."""
    if not isinstance(b, TensorCore):
        raise TypeError(f"{op}: argument '{name}' must be a Tensor, not {type(b).__name__}")
    if a.dtype is not b.dtype:
        raise RuntimeError(
            f"{op}: expected both operands to have the same dtype, got {a.dtype!r} and {b.dtype!r}"
        )
    if a.dtype is dtypes.bool_:
        raise NotImplementedError(f"{op}: not implemented for dtype {a.dtype!r}")


def _inner(op: str, a: tuple[int, ...], b: tuple[int, ...]) -> None:
    k_a = a[-1]
    k_b = b[0] if len(b) == 1 else b[-2]
    if k_a != k_b:
        raise RuntimeError(f"{op}: {a} @ {b}: inner dimensions {k_a} and {k_b} differ")


def _matmul_shapes(a: tuple[int, ...], b: tuple[int, ...], op: str) -> None:
    if not a or not b:
        raise RuntimeError(f"{op}: both arguments need at least 1 dimension, got shapes {a} and {b}")
    _inner(op, a, b)
    if len(a) > 2 or len(b) > 2:
        try:
            broadcast_shapes(a[:-2], b[:-2], op)
        except RuntimeError:
            raise RuntimeError(
                f"{op}: {a} @ {b}: batch dimensions {a[:-2]} and {b[:-2]} are not broadcastable"
            ) from None


class LinalgMixin(_TensorBase):
    __slots__ = ()

    def matmul(self, other: Tensor) -> Tensor:
        """Return the matrix product, with batching and broadcasting; 1-d operands act as vectors.

        Shape:
            ``(..., n, k) @ (..., k, m) -> (..., n, m)`` with the batch dimensions
            broadcast; a 1-d left operand is a row vector and a 1-d right operand a column
            vector, and their dimension is dropped from the result (two 1-d operands give a
            0-d dot product).

        Example:
            >>> import ember
            >>> (ember.ones(2, 3) @ ember.ones(3)).tolist()
            [3.0, 3.0]
        """
        _operands("matmul", self, other)
        _matmul_shapes(self._buf.shape, other._buf.shape, "matmul")  # type: ignore[attr-defined]
        return L.MatMul.apply(self, other)  # type: ignore[arg-type]

    def __matmul__(self, other: Any) -> Tensor:
        if not isinstance(other, TensorCore):
            return NotImplemented
        return self.matmul(other)  # type: ignore[arg-type]

    def __rmatmul__(self, other: Any) -> Tensor:
        if not isinstance(other, TensorCore):
            return NotImplemented
        return LinalgMixin.matmul(other, self)  # type: ignore[arg-type]

    def mm(self, mat2: Tensor) -> Tensor:
        """Return the product of two matrices: ``(n, k) @ (k, m) -> (n, m)``."""
        _operands("mm", self, mat2, "mat2")
        a, b = self._buf.shape, mat2._buf.shape  # type: ignore[attr-defined]
        if len(a) != 2 or len(b) != 2:
            raise RuntimeError(f"mm: expected 2-d tensors, got shapes {a} and {b}")
        _inner("mm", a, b)
        return L.MatMul.apply(self, mat2)  # type: ignore[arg-type]

    def bmm(self, mat2: Tensor) -> Tensor:
        """Return a batch of matrix products without broadcasting: ``(B, n, k) @ (B, k, m) -> (B, n, m)``."""
        _operands("bmm", self, mat2, "mat2")
        a, b = self._buf.shape, mat2._buf.shape  # type: ignore[attr-defined]
        if len(a) != 3 or len(b) != 3:
            raise RuntimeError(f"bmm: expected 3-d tensors, got shapes {a} and {b}")
        if a[0] != b[0]:
            raise RuntimeError(f"bmm: batch sizes {a[0]} and {b[0]} differ: shapes {a} and {b}")
        _inner("bmm", a, b)
        return L.MatMul.apply(self, mat2)  # type: ignore[arg-type]

    def mv(self, vec: Tensor) -> Tensor:
        """Return the matrix-vector product: ``(n, k) @ (k,) -> (n,)``."""
        _operands("mv", self, vec, "vec")
        a, b = self._buf.shape, vec._buf.shape  # type: ignore[attr-defined]
        if len(a) != 2 or len(b) != 1:
            raise RuntimeError(f"mv: expected a 2-d matrix and a 1-d vector, got shapes {a} and {b}")
        _inner("mv", a, b)
        return L.MatMul.apply(self, vec)  # type: ignore[arg-type]

    def dot(self, other: Tensor) -> Tensor:
        """Return the inner product of two 1-d tensors of the same length (a 0-d result)."""
        _operands("dot", self, other)
        a, b = self._buf.shape, other._buf.shape  # type: ignore[attr-defined]
        if len(a) != 1 or len(b) != 1:
            raise RuntimeError(f"dot: expected 1-d tensors, got shapes {a} and {b}")
        if a != b:
            raise RuntimeError(f"dot: vectors of lengths {a[0]} and {b[0]} differ")
        return L.MatMul.apply(self, other)  # type: ignore[arg-type]

    def outer(self, vec2: Tensor) -> Tensor:
        """Return the outer product of two 1-d tensors: ``(n,), (m,) -> (n, m)`` (dtypes promote)."""
        if not isinstance(vec2, TensorCore):
            raise TypeError(f"outer: argument 'vec2' must be a Tensor, not {type(vec2).__name__}")
        a, b = self._buf.shape, vec2._buf.shape  # type: ignore[attr-defined]
        if len(a) != 1 or len(b) != 1:
            raise RuntimeError(f"outer: expected 1-d tensors, got shapes {a} and {b}")
        return self.reshape(-1, 1) * vec2  # type: ignore[attr-defined,no-any-return]

    ger = outer

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        """The entries ``[i, i + offset]`` of the matrices over ``dim1``, ``dim2``, as a new last dim."""
        from ember._tensor.core import _norm_dim
        from ember._tensor.creation import arange

        nd = self.ndim  # type: ignore[attr-defined]
        if nd < 2:
            raise RuntimeError(
                f"diagonal: expected a tensor of at least 2 dims, got shape {tuple(self.shape)}"  # type: ignore[attr-defined]
            )
        d1, d2 = _norm_dim(dim1, nd, "diagonal"), _norm_dim(dim2, nd, "diagonal")
        if d1 == d2:
            raise RuntimeError(f"diagonal: dim1 and dim2 must differ, both are {dim1}")
        x = self.movedim((d1, d2), (-2, -1))  # type: ignore[attr-defined]
        rows, cols = x.shape[-2], x.shape[-1]
        first_row, first_col = max(0, -offset), max(0, offset)
        n = max(0, min(rows - first_row, cols - first_col))
        i = arange(first_row, first_row + n)
        return x[..., i, i + (first_col - first_row)]  # type: ignore[no-any-return]

    def diag(self, diagonal: int = 0) -> Tensor:
        """1-d input: the square matrix with it on the ``diagonal``-th diagonal; 2-d input: that diagonal."""
        nd = self.ndim  # type: ignore[attr-defined]
        if nd == 2:
            return self.diagonal(diagonal)
        if nd != 1:
            raise RuntimeError(f"diag: expected a 1-d or 2-d tensor, got shape {tuple(self.shape)}")  # type: ignore[attr-defined]
        from ember._tensor._join import pad
        from ember._tensor.creation import eye
        from ember._tensor.elementwise import where

        n = self.shape[0]  # type: ignore[attr-defined]
        # where, not eye * x: the off-diagonal stays 0 even where x is inf or nan
        square = where(eye(n, dtype=dtypes.bool_), self.unsqueeze(0).expand(n, n), 0)  # type: ignore[attr-defined]
        k = abs(diagonal)
        return pad(square, (k, 0, 0, k) if diagonal > 0 else (0, k, k, 0)) if k else square

    def trace(self) -> Tensor:
        """The sum of the main diagonal of a matrix."""
        if self.ndim != 2:  # type: ignore[attr-defined]
            raise RuntimeError(f"trace: expected a matrix, got shape {tuple(self.shape)}")  # type: ignore[attr-defined]
        return self.diagonal().sum()  # type: ignore[no-any-return]


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Return the matrix product of two tensors (see ``Tensor.matmul``)."""
    if not isinstance(input, TensorCore):
        raise TypeError(f"matmul: argument 'input' must be a Tensor, not {type(input).__name__}")
    return input.matmul(other)


def _method(name: str) -> Any:
    def fn(input: Tensor, other: Tensor) -> Tensor:
        if not isinstance(input, TensorCore):
            raise TypeError(f"{name}: argument 'input' must be a Tensor, not {type(input).__name__}")
        return getattr(input, name)(other)  # type: ignore[no-any-return]

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = getattr(LinalgMixin, name).__doc__
    return fn


mm = _method("mm")
bmm = _method("bmm")
mv = _method("mv")
dot = _method("dot")
outer = _method("outer")


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """The p-norm distance between each row of ``x1`` (..., P, M) and each row of ``x2`` (..., R, M).

    As PyTorch, p = 2 with more than 25 rows on a side (or ``compute_mode='use_mm_for_euclid_dist'``)
    goes through one matrix product, ``sqrt(|a|^2 + |b|^2 - 2 a.b)`` floored at 1e-30 inside the
    root; otherwise the differences are taken one by one (``'donot_use_mm_for_euclid_dist'``
    always does that).
    """
    from ember._tensor.creation import ones
    from ember._tensor.movement import cat

    for name, t in (("x1", x1), ("x2", x2)):
        if not isinstance(t, TensorCore):
            raise TypeError(f"cdist: argument '{name}' must be a Tensor, not {type(t).__name__}")
        if t.ndim < 2 or not t.dtype.is_floating_point:
            raise RuntimeError(
                f"cdist only supports at least 2D floating tensors, {name} got: {t.ndim}D {t.dtype!r}"
            )
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"cdist: X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} "
                           f"X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError(f"cdist only supports non-negative p values, got {p}")
    modes = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist")
    if compute_mode not in modes:
        raise ValueError(f"cdist: {compute_mode} is not a valid value for compute_mode")
    rows, cols = x1.shape[-2], x2.shape[-2]
    use_mm = p == 2 and (compute_mode == "use_mm_for_euclid_dist"
                         or (compute_mode == modes[0] and (rows > 25 or cols > 25)))
    if use_mm:
        n1 = (x1 * x1).sum(-1, keepdim=True)
        n2 = (x2 * x2).sum(-1, keepdim=True)
        a = cat([x1 * -2, n1, ones(tuple(n1.shape), dtype=n1.dtype)], -1)
        b = cat([x2, ones(tuple(n2.shape), dtype=n2.dtype), n2], -1)
        return (a @ b.mT).clamp(min=1e-30).sqrt()  # type: ignore[no-any-return]
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)  # (..., P, R, M)
    if p == 0:  # a count of differing coordinates: in the graph, with a zero gradient, as PyTorch's
        from ember._tensor.elementwise import where

        count = (diff != 0).to(x1.dtype).sum(-1)
        return where(ones(tuple(count.shape), dtype=dtypes.bool_), count, diff.sum(-1))
    return diff.norm(p=p, dim=-1)  # type: ignore[no-any-return]


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """Functional form of ``Tensor.diagonal``."""
    return input.diagonal(offset, dim1, dim2)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """Functional form of ``Tensor.diag``."""
    return input.diag(diagonal)


def trace(input: Tensor) -> Tensor:
    """Functional form of ``Tensor.trace``."""
    return input.trace()


def einsum(equation: str, *operands: Any) -> Tensor:
    """Sum the product of operands over the indices that an Einstein-notation equation names.

    Each operand gets one letter per dimension (``'bij,bjk->bik'``); letters shared by
    operands are multiplied along, letters missing from the output (after ``->``) are
    summed. Without ``->``, the output holds the letters that appear once, in
    alphabetical order. ``...`` stands for broadcast leading (or middle) dimensions, and
    dimensions of size 1 broadcast against the same letter's size elsewhere. Operands may
    also be passed as one list.

    Example:
        >>> import ember
        >>> a, b = ember.ones(2, 3), ember.ones(3, 4)
        >>> ember.einsum('ij,jk->ik', a, b).shape
        ember.Size([2, 4])
        >>> ember.einsum('ii', ember.eye(3)).item()
        3.0
    """
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the equation must be a string, got {type(equation).__name__}")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    for i, x in enumerate(operands):
        if not isinstance(x, TensorCore):
            raise TypeError(f"einsum: operand {i} must be a Tensor, not {type(x).__name__}")
    if not operands:
        raise RuntimeError("einsum: must provide at least one operand")
    for x in operands[1:]:
        if x.dtype is not operands[0].dtype:
            raise RuntimeError(
                f"einsum: expected all operands to have the same dtype, got "
                f"{', '.join(repr(o.dtype) for o in operands)}"
            )
    explicit, shapes = _parse_einsum(equation, tuple(o._buf.shape for o in operands))
    ops = [o if o._buf.shape == s else o.expand(*s) for o, s in zip(operands, shapes)]
    return L.Einsum.apply(*ops, equation=explicit)


@functools.lru_cache(maxsize=256)  # a model calls the same few equations on the same shapes
def _parse_einsum(
    equation: str, shapes: tuple[tuple[int, ...], ...]
) -> tuple[str, tuple[tuple[int, ...], ...]]:
    """Rewrite ``equation`` with explicit letters only, and the shape each operand broadcasts to.

    Ellipsis dimensions get unused letters (right-aligned across operands), an implicit
    output is made explicit, and a letter's size-1 dimensions take its largest size.
    """
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    if "->" in rhs:
        raise RuntimeError(f"einsum: more than one '->' in the equation {equation!r}")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        more = "more" if len(shapes) > len(terms) else "fewer"
        raise RuntimeError(
            f"einsum: {more} operands were provided ({len(shapes)}) than specified in the equation "
            f"{equation!r} ({len(terms)})"
        )
    # each term as a list of letters with "..." kept as one item
    parsed = [_labels(t, i, equation) for i, t in enumerate(terms)]
    ell_dims = 0
    for i, (labels, shape) in enumerate(zip(parsed, shapes)):
        named = len(labels) - ("..." in labels)
        if ("..." in labels and named > len(shape)) or ("..." not in labels and named != len(shape)):
            raise RuntimeError(
                f"einsum: operand {i} has {len(shape)} dimensions (shape {shape}) but its subscripts "
                f"{terms[i]!r} name {named}" + ("" if "..." in labels else " and no ellipsis was given")
            )
        if "..." in labels:
            ell_dims = max(ell_dims, len(shape) - named)
    used = set(lhs + rhs)
    ell = "".join([c for c in L._LETTERS if c not in used][:ell_dims])
    if len(ell) < ell_dims:
        raise RuntimeError(f"einsum: too many dimensions for the 52 subscript letters in {equation!r}")
    subs = []
    for labels, shape in zip(parsed, shapes):
        k = len(shape) - (len(labels) - 1) if "..." in labels else 0
        subs.append("".join(ell[ell_dims - k:] if c == "..." else c for c in labels))
    # sizes: equal, or 1 broadcasting against the rest
    size: dict[str, int] = {}
    for i, (sub, shape) in enumerate(zip(subs, shapes)):
        mine: dict[str, int] = {}
        for c, n in zip(sub, shape):
            if mine.setdefault(c, n) != n:
                raise RuntimeError(
                    f"einsum: subscript {c!r} is repeated in operand {i} with different sizes {mine[c]} "
                    f"and {n} (shape {shape})"
                )
            prev = size.get(c, 1)
            if n != prev and n != 1 and prev != 1:
                what = "ellipsis dimension" if c in ell else f"subscript {c!r}"
                raise RuntimeError(
                    f"einsum: {what} has size {n} in operand {i} (shape {shape}), which does not "
                    f"broadcast with size {prev} in an earlier operand"
                )
            if c not in size or size[c] == 1:
                size[c] = n
    if arrow:
        out_labels = _labels(rhs, None, equation)
        out = "".join(ell if c == "..." else c for c in out_labels)
        for c in out:
            if out.count(c) > 1:
                raise RuntimeError(f"einsum: output subscript {c!r} appears more than once in {equation!r}")
            if c not in size:
                raise RuntimeError(
                    f"einsum: output subscript {c!r} does not appear in any operand of {equation!r}"
                )
    else:
        once = sorted(c for c in size if c not in ell and "".join(subs).count(c) == 1)
        out = ell + "".join(once)
    targets = tuple(tuple(size[c] for c in sub) for sub in subs)
    return ",".join(subs) + "->" + out, targets


def _labels(term: str, i: int | None, equation: str) -> list[str]:
    where = "the output" if i is None else f"operand {i}"
    rest = term.replace("...", "", 1)
    if "." in rest:
        raise RuntimeError(f"einsum: '.' in {where} of {equation!r} that is not part of an ellipsis '...'")
    for c in rest:
        if c not in L._LETTERS:
            raise RuntimeError(
                f"einsum: invalid subscript {c!r} in {equation!r}; subscripts must be in [a-zA-Z]"
            )
    labels: list[str] = []
    j = 0
    while j < len(term):
        if term.startswith("...", j):
            labels.append("...")
            j += 3
        else:
            labels.append(term[j])
            j += 1
    return labels
