"""The backward pass: walk the graph of Functions in reverse topological order.

A first pass counts how many Functions consume each Function's output; the second
runs a Function's backward once all of them have passed their gradients on (Kahn's
algorithm), so each output gradient is complete, summed, before its backward runs.
Both passes are iterative (a 100,000-op chain needs no recursion), and every
gradient a backward returns is summed back to its input's shape here, in one place,
then checked.

Gradients that reach one tensor from several consumers are summed as they arrive.
The first sum allocates a new buffer that the engine alone holds; later ones add into
it in place. A backward may return a ``Padded`` gradient (the gradient of a slice:
zero outside one region). Slices that lie side by side along one axis, as the pieces
of a ``split`` do, are kept apart until the tensor's gradient is needed and then
joined in one concatenation (zeros fill any gap), so a tensor split three ways costs
one buffer and one copy of each piece: no padding, no sums. Pieces that already lie
side by side in one buffer (attention's gradients of q, k and v viewed out of one
projection) are handed on as that buffer, with no copy at all. Any other slice
gradient is added into its region of the sum.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ember.autograd.grad_mode import state as _grad_state
from ember.buffer import Buffer, inplace_clock

if TYPE_CHECKING:
    from ember._tensor import Tensor
    from ember.function import Function


class Padded:
    """The gradient ``grad`` padded with zeros by ``widths`` ((before, after) per axis), left unpadded.

    What a slice's backward returns: the engine adds ``grad`` into that region of the
    input's gradient instead of building the zeros around it.
    """

    __slots__ = ("grad", "widths")

    def __init__(self, grad: Buffer, widths: tuple[tuple[int, int], ...]) -> None:
        self.grad, self.widths = grad, widths

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(n + a + b for n, (a, b) in zip(self.grad.shape, self.widths))

    def region(self) -> tuple[slice, ...]:
        return tuple(slice(a, a + n) for n, (a, _) in zip(self.grad.shape, self.widths))

    def dense(self) -> Buffer:
        return self.grad.pad(self.widths)


class _Pieces:
    """Slice gradients of one tensor that lie side by side along ``axis``, not yet joined.

    Each is a ``Padded`` whose widths are zero on every other axis; no two overlap.
    """

    __slots__ = ("axis", "parts")

    def __init__(self, first: Padded, axis: int) -> None:
        self.axis, self.parts = axis, [first]

    @staticmethod
    def start(g: Padded) -> _Pieces | None:
        """Pieces begun with ``g``; None when ``g`` is cut along more than one axis."""
        cut = [i for i, w in enumerate(g.widths) if w != (0, 0)]
        return _Pieces(g, cut[0]) if len(cut) == 1 else None

    def add(self, g: Padded) -> bool:
        """Keep ``g`` as one more piece if it is cut along ``axis`` only and overlaps no other piece."""
        ax = self.axis
        if any(w != (0, 0) for i, w in enumerate(g.widths) if i != ax):
            return False
        lo = g.widths[ax][0]
        hi = lo + g.grad.shape[ax]
        for p in self.parts:
            a = p.widths[ax][0]
            if lo < a + p.grad.shape[ax] and a < hi:
                return False
        self.parts.append(g)
        return True

    def dense(self, view: bool = False) -> Buffer:
        """The pieces joined into one buffer of their tensor's shape, a new one; with ``view``, the
        memory the pieces already fill side by side, where they do (it may be shared with them)."""
        ax = self.axis
        parts = sorted((p for p in self.parts if p.grad.shape[ax]), key=lambda p: p.widths[ax][0])
        if len(parts) <= 1:  # one piece (or only empty ones): a padded copy
            return (parts or self.parts)[0].dense()
        first = parts[0].grad
        full = parts[0].shape
        cls = type(first)
        if view and sum(p.grad.shape[ax] for p in parts) == full[ax]:  # no gap to fill with zeros
            joined_view = cls.joined([p.grad for p in parts], ax)
            if joined_view is not None:
                return joined_view
        joined: list[Buffer] = []
        at = 0
        for p in parts + [None]:
            a = full[ax] if p is None else p.widths[ax][0]
            if a > at:  # a gap no piece covers
                joined.append(cls.full(full[:ax] + (a - at,) + full[ax + 1:], 0, first.dtype))
            if p is not None:
                joined.append(p.grad)
                at = a + p.grad.shape[ax]
        return cls.concatenate(joined, ax)


def _dense(g: Any, view: bool = False) -> Any:
    """A gradient ready to hand on: pieces still apart are joined (``_Pieces.dense``)."""
    return g.dense(view) if g.__class__ is _Pieces else g


def _sum_into(prev: Buffer | _Pieces | None, g: Buffer | Padded, owned: set[int]) -> Buffer | _Pieces:
    """``prev + g`` for two gradients of one tensor, in place when ``prev`` is a sum the engine owns.

    ``owned`` holds the ids of buffers this backward allocated and has handed to no one. The
    result may be ``_Pieces``, which ``_dense`` joins when the gradient is handed on.
    """
    if prev is None:
        if not isinstance(g, Padded):
            return g
        pieces = _Pieces.start(g)
        if pieces is not None:
            return pieces
        out = g.dense()
        owned.add(id(out))
        return out
    if isinstance(prev, _Pieces):
        if isinstance(g, Padded) and prev.add(g):
            return prev
        prev = prev.dense()
        owned.add(id(prev))
    if id(prev) in owned:
        if isinstance(g, Padded):
            prev.getitem(g.region()).accumulate_(g.grad)
        else:
            prev.accumulate_(g)
        return prev
    if isinstance(g, Padded):
        out = prev.copy()
        out.getitem(g.region()).accumulate_(g.grad)
    else:
        out = prev + g
    owned.add(id(out))
    return out


def dependencies(roots: list[Function]) -> dict[Function, int]:
    """Count, for every Function reachable from ``roots``, how many graph edges consume its output.

    Backward runs a Function once this count drops to zero, i.e. after every Function
    that uses its output has passed its gradient on (Kahn's topological order). The walk
    is iterative, so a 100,000-op chain needs no recursion.
    """
    deps = dict.fromkeys(roots, 0)
    stack = list(deps)
    push, pop = stack.append, stack.pop
    while stack:
        fn = pop()
        if fn.inputs is None:
            raise _freed_error(fn)
        for p in fn.parents:
            if p is not None:
                if p in deps:
                    deps[p] += 1
                else:
                    deps[p] = 1
                    push(p)
    return deps


def _freed_error(fn: Function) -> RuntimeError:
    return RuntimeError(
        f"backward: trying to backward through the graph a second time (through {fn.name()}); "
        "its saved values were freed by the first backward. Pass retain_graph=True to the "
        "first backward if you need to call it twice."
    )


def sum_to_shape(g: Buffer, shape: tuple[int, ...]) -> Buffer:
    """Sum a broadcast gradient back to ``shape`` (the inverse of broadcasting)."""
    gshape = g.shape
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and gshape[i + lead] != 1
    )
    if axes:
        g = g.sum(axes, keepdims=True)
    if lead > 0 or g.shape != shape:
        g = g.reshape(shape)
    return g


def _fit(fn: Function, i: int, given: Buffer | Padded, t: Tensor) -> Buffer:
    shape = t._buf.shape
    g = given.dense() if isinstance(given, Padded) else given
    try:
        ok = len(g.shape) >= len(shape) and all(
            a == b or b == 1 for a, b in zip(g.shape[len(g.shape) - len(shape):], shape)
        )
        if ok:
            g = sum_to_shape(g, shape)
    except Exception:  # noqa: BLE001 - reported below with the Function's name
        ok = False
    if not ok or g.shape != shape:
        raise RuntimeError(
            f"{fn.name()}.backward returned a gradient of shape {tuple(g.shape)} for input {i}, "
            f"which has shape {tuple(shape)}"
        )
    return g


def _check_versions(fn: Function) -> None:
    for name, v in vars(fn).items():
        if isinstance(v, Buffer) and v.modified_since(fn._stamp):
            raise RuntimeError(
                f"backward: a tensor of shape {tuple(v.shape)} saved by {fn.name()} (as '{name}') "
                "was modified by an in-place operation after it was used; backward needs its "
                "old value. Clone it before changing it in place."
            )


def _check_grad(fn: Function, i: int, g: Buffer) -> None:
    if g.dtype.is_floating_point and not g.all_finite():
        raise RuntimeError(
            f"detect_anomaly: {fn.name()}.backward produced NaN or inf in the gradient of input {i} "
            f"(shape {tuple(g.shape)})"
        )


def run_backward(
    roots: list[tuple[Tensor, Buffer]],
    retain_graph: bool = False,
    capture: list[Tensor] | None = None,
) -> list[Buffer | None] | None:
    """Propagate ``roots`` (tensor, gradient) pairs back through the graph.

    With ``capture`` (``autograd.grad``), gradients for those tensors are returned
    instead of being accumulated into any leaf's ``.grad``.
    """
    from ember.function import _make_tensor  # late: set once Tensor exists

    grads: dict[Function, Buffer | _Pieces] = {}
    # Leaf gradients are summed here first and stored once at the end, so a leaf's
    # hooks see its total gradient (as PyTorch's AccumulateGrad does).
    leaf_grads: dict[int, list] = {}
    for t, root_grad in roots:
        if t._ctx is None:
            entry = leaf_grads.get(id(t))
            if entry is None:
                leaf_grads[id(t)] = [t, root_grad]
            else:
                entry[1] = entry[1] + root_grad
        else:
            prev = grads.get(t._ctx)
            grads[t._ctx] = root_grad if prev is None else prev + root_grad
    captured: dict[int, Buffer] = {}
    cap_ids: dict[int, int] = {}
    cap_fns: dict[int, int] = {}
    if capture is not None:
        for slot, t in enumerate(capture):
            cap_ids[id(t)] = slot
            if t._ctx is not None:
                cap_fns[id(t._ctx)] = slot
    deps = dependencies([t._ctx for t, _ in roots if t._ctx is not None])
    ready = [fn for fn, n in deps.items() if n == 0]
    owned: set[int] = set()
    anomaly = _grad_state.anomaly
    was_enabled = _grad_state.enabled
    _grad_state.enabled = False  # backward builds no graph of its own
    try:
        while ready:
            fn = ready.pop()
            inputs: tuple[Tensor, ...] = fn.inputs  # type: ignore[assignment]  # dependencies() checked it
            # the pieces may be joined as a view: a Function's backward reads its gradient, never
            # writes it (a leaf's .grad, which optimizers and users update in place, is a new buffer)
            g = _dense(grads.pop(fn, None), view=True)
            if owned:
                owned.discard(id(g))  # handed to fn: from now on others may hold it
            res: Any = ()
            if g is not None:  # else no gradient reached fn: only release its inputs below
                if fn._hooks:
                    for h in fn._hooks:
                        r: Tensor | None = h(_make_tensor(g, None))
                        if r is not None:
                            g = r._buf
                if cap_fns:
                    k = cap_fns.get(id(fn))
                    if k is not None:
                        prev = captured.get(k)
                        captured[k] = g if prev is None else prev + g
                if inplace_clock.now != fn._stamp:
                    _check_versions(fn)
                res = fn.backward(g)
                if res.__class__ is not tuple:
                    res = (res,)
                if len(res) != len(inputs):
                    raise RuntimeError(
                        f"{fn.name()}.backward returned {len(res)} gradients, but the operation has "
                        f"{len(inputs)} inputs"
                    )
            parents, needs = fn.parents, fn.needs_input_grad
            for i, t in enumerate(inputs):
                p = parents[i]
                gi = res[i] if res else None
                if gi is not None and needs[i]:
                    if gi.shape != t._buf.shape:
                        gi = _fit(fn, i, gi, t)
                    if anomaly:
                        _check_grad(fn, i, gi.grad if gi.__class__ is Padded else gi)
                    if p is None:
                        entry = leaf_grads.get(id(t))
                        if entry is None:
                            leaf_grads[id(t)] = [t, _sum_into(None, gi, owned)]
                        else:
                            entry[1] = _sum_into(entry[1], gi, owned)
                    else:
                        grads[p] = _sum_into(grads.get(p), gi, owned)
                if p is not None:
                    n = deps[p] - 1
                    deps[p] = n
                    if n == 0:
                        ready.append(p)
            if g is not None and not retain_graph:
                fn.__dict__.clear()  # frees saved buffers; inputs falls back to None
    finally:
        _grad_state.enabled = was_enabled
    _store_leaf_grads(leaf_grads, capture, cap_ids, captured)
    if capture is not None:
        return [captured.get(k) for k in range(len(capture))]
    return None


def _store_leaf_grads(leaf_grads: dict, capture: Any, cap_ids: dict, captured: dict) -> None:
    from ember.function import _make_tensor

    handed: set[int] = set()
    for t, g in leaf_grads.values():
        g = _dense(g)
        if t._hooks:
            for h in t._hooks:
                r = h(_make_tensor(g, None))
                if r is not None:
                    g = r._buf
        if capture is not None:
            k = cap_ids.get(id(t))
            if k is not None:
                captured[k] = g
            continue
        _accumulate_grad(t, g, handed)


def _accumulate_grad(t: Tensor, g: Buffer, handed: set[int]) -> None:
    """Add ``g`` into ``t.grad`` (set it on the first gradient)."""
    from ember.function import _make_tensor

    if t.grad is None:
        # never hand the same array (or a view into one) to two tensors
        if id(g) in handed or g.is_view():
            g = g.copy()
        handed.add(id(g))
        t.grad = _make_tensor(g, None)
    else:
        t.grad._buf.accumulate_(g)


def backward_into(
    roots: list[tuple[Tensor, Buffer]], inputs: list[Tensor], retain_graph: bool, op: str
) -> None:
    """``backward(inputs=...)``: accumulate into the ``.grad`` of ``inputs`` only (leaves or not)."""
    if not inputs:
        raise RuntimeError(f"{op}: 'inputs' cannot be empty; leave it out to fill every leaf's .grad")
    unique: list[Tensor] = []
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"{op}: inputs[{i}] does not require grad")
        if all(t is not u for u in unique):
            unique.append(t)
    retained = [t.retains_grad for t in unique]  # asked before backward frees the graph
    res = run_backward(roots, retain_graph=retain_graph, capture=unique)
    assert res is not None
    handed: set[int] = set()
    for t, g, kept in zip(unique, res, retained):
        if g is not None and not kept:  # retain_grad's hook has stored it already
            _accumulate_grad(t, g, handed)
