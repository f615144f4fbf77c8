"""``repr`` of a Tensor, laid out the way PyTorch prints it.

PyTorch's rules: one format for all elements of a tensor, chosen from its nonzero
finite values (integers print as ``1.``; a spread over 1000x, values above 1e8 or
below 1e-4 switch to ``1.0000e+00``; otherwise four decimals), every element padded
to the widest, rows wrapped at 80 columns, and tensors over 1000 elements summarised
to their first and last three entries along each dimension.
"""

from __future__ import annotations

import math
from typing import Any

from ember import dtypes

PRECISION = 4
THRESHOLD = 1000
EDGEITEMS = 3
LINEWIDTH = 80


class _Skip:
    """Marks the elided middle of a summarised dimension."""


_SKIP = _Skip()


def _summarised(buf: Any) -> Any:
    """Nested lists holding only the first and last EDGEITEMS entries of every long dimension."""
    n = buf.shape[0]
    keep = n > 2 * EDGEITEMS
    if len(buf.shape) == 1:
        if not keep:
            return buf.tolist()
        head, tail = buf.getitem(slice(0, EDGEITEMS)), buf.getitem(slice(n - EDGEITEMS, n))
        return head.tolist() + [_SKIP] + tail.tolist()
    rows = list(range(EDGEITEMS)) + [-1] + list(range(n - EDGEITEMS, n)) if keep else range(n)
    return [_SKIP if i == -1 else _summarised(buf.getitem(i)) for i in rows]


def _flat(data: Any, out: list) -> list:
    if isinstance(data, list):
        for x in data:
            _flat(x, out)
    elif data is not _SKIP:
        out.append(data)
    return out


class _ElementFormat:
    """One format for every element, chosen from all the values as PyTorch chooses it."""

    def __init__(self, values: list, floating: bool) -> None:
        self.floating = floating
        self.int_mode = True
        self.sci_mode = False
        self.width = 1
        if not floating:
            self.width = max([len(str(v)) for v in values], default=1)
            return
        finite = [v for v in values if v != 0 and math.isfinite(v)]
        if not finite:
            return
        mags = [abs(v) for v in finite]
        lo, hi = min(mags), max(mags)
        self.int_mode = all(v == math.ceil(v) for v in finite)
        if self.int_mode:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8
        else:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
        if self.sci_mode:
            self.width = max(len(f"{v:.{PRECISION}e}") for v in finite)
        elif self.int_mode:
            self.width = max(len(f"{v:.0f}") + 1 for v in finite)  # + 1 for the trailing "."
        else:
            self.width = max(len(f"{v:.{PRECISION}f}") for v in finite)

    def __call__(self, v: Any) -> str:
        if not self.floating:
            s = str(v)
        elif self.sci_mode:
            s = f"{v:.{PRECISION}e}"
        elif self.int_mode:
            s = f"{v:.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
        else:
            s = f"{v:.{PRECISION}f}"
        return s.rjust(self.width)


def _lay_out(data: Any, ndim: int, indent: int, fmt: _ElementFormat) -> str:
    if ndim == 0:
        return fmt(data)
    if ndim == 1:
        per_line = max(1, (LINEWIDTH - indent) // (fmt.width + 2))
        items = [" ..." if v is _SKIP else fmt(v) for v in data]
        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    rows = ["..." if r is _SKIP else _lay_out(r, ndim - 1, indent + 1, fmt) for r in data]
    return "[" + ("," + "\n" * (ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _with_suffixes(body: str, suffixes: list[str], indent: int) -> str:
    out = [body]
    last = len(body) - body.rfind("\n") + 1
    for s in suffixes:
        if last + len(s) + 2 > LINEWIDTH:
            out.append(",\n" + " " * indent + s)
            last = indent + len(s)
        else:
            out.append(", " + s)
            last += len(s) + 2
    return "".join(out) + ")"


def tensor_repr(t: Any) -> str:
    """``tensor([1., 2.], requires_grad=True)``, as PyTorch prints it."""
    buf = t._buf
    shape = tuple(buf.shape)
    d = buf.dtype
    prefix = "tensor("
    suffixes = []
    numel = math.prod(shape)
    if numel == 0:
        body = "[]"
        if len(shape) != 1:
            suffixes.append(f"size={shape}")
        if d is not dtypes.get_default_dtype():
            suffixes.append(f"dtype={d!r}")
    else:
        if d not in (dtypes.get_default_dtype(), dtypes.int64, dtypes.bool_):
            suffixes.append(f"dtype={d!r}")
        data = buf.tolist() if numel <= THRESHOLD or not shape else _summarised(buf)
        fmt = _ElementFormat(_flat(data, []), d.is_floating_point)
        body = _lay_out(data, len(shape), len(prefix), fmt)
    if t._ctx is not None:
        suffixes.append(f"grad_fn={t._ctx!r}")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _with_suffixes(prefix + body, suffixes, len(prefix))
