"""Draw the computation graph behind a tensor as Graphviz DOT (and SVG/PNG when ``dot`` exists).

Each operation node shows the Function's name and its output's shape and dtype;
leaf tensors are boxes (parameters and other tensors that require grad are
highlighted), and after ``backward`` they show a summary of their gradient.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

MAX_NODES = 60_000


def _shape(shape: Any) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def _grad_summary(t: Any) -> str:
    g = t.grad
    if g is None:
        return ""
    if g.numel() == 0:
        return "\\ngrad: empty"
    a = g.detach().abs()
    return f"\\ngrad: |max| {a.max().item():.3g}, mean |g| {a.mean().item():.3g}"


def to_dot(tensor: Any, max_nodes: int = MAX_NODES, params: dict[str, Any] | None = None) -> str:
    """Return the graph that produced ``tensor`` as DOT text.

    Args:
        tensor: any ember tensor; its ``grad_fn`` chain is walked iteratively.
        max_nodes: stop after this many operation nodes and say so in the graph.
        params: optional ``dict(model.named_parameters())`` to label parameters by name.
    """
    names = {id(p): n for n, p in (params or {}).items()}
    lines = [
        "digraph ember {",
        '  graph [rankdir=BT, fontname="Helvetica"];',
        '  node [fontname="Helvetica", fontsize=10];',
    ]
    root = tensor.grad_fn
    out_shape = f"{_shape(tensor.shape)} {tensor.dtype.name}"
    if root is None:
        kind = "parameter" if tensor.requires_grad else "tensor"
        lines.append(f'  t0 [shape=box, style=filled, fillcolor=lightblue, label="{kind}\\n{out_shape}"];')
        lines.append("}")
        return "\n".join(lines)
    lines.append(f'  out [shape=box, style=filled, fillcolor=palegreen, label="output\\n{out_shape}"];')
    lines.append(f"  f{id(root)} -> out;")
    seen: set[int] = {id(root)}
    leaves: set[int] = set()
    stack = [(root, tensor)]
    count = 0
    truncated = False
    while stack:
        fn, out = stack.pop()
        count += 1
        if count > max_nodes:
            truncated = True
            break
        label = f"{fn.name()}\\n{_shape(out.shape)} {out.dtype.name}"
        lines.append(f'  f{id(fn)} [shape=ellipse, label="{label}"];')
        for t, p in zip(fn.inputs or (), fn.parents):
            if p is not None:
                lines.append(f"  f{id(p)} -> f{id(fn)};")
                if id(p) not in seen:
                    seen.add(id(p))
                    stack.append((p, t))
            elif t.requires_grad:
                if id(t) not in leaves:
                    leaves.add(id(t))
                    name = names.get(id(t), "leaf")
                    color = (
                        "lightblue" if type(t).__name__ == "Parameter" or id(t) in names else "lightyellow"
                    )
                    lines.append(
                        f'  t{id(t)} [shape=box, style=filled, fillcolor={color}, '
                        f'label="{name}\\n{_shape(t.shape)} {t.dtype.name}{_grad_summary(t)}"];'
                    )
                lines.append(f"  t{id(t)} -> f{id(fn)};")
    if truncated:
        lines.append(
            f'  note [shape=note, label="graph truncated: showing the first {max_nodes} operations '
            f'of a larger graph"];'
        )
    lines.append("}")
    return "\n".join(lines)


def draw(tensor: Any, path: str | os.PathLike | None = None, max_nodes: int = MAX_NODES,
         params: dict[str, Any] | None = None) -> str:
    """Return the DOT text of ``tensor``'s graph; also write it to ``path`` if given.

    The file format follows the suffix: ``.dot``/``.gv`` write the text, ``.svg`` and
    ``.png`` are rendered with Graphviz's ``dot`` program (a clear error if missing).

    Example:
        >>> import ember
        >>> x = ember.ones(2, requires_grad=True)
        >>> print(ember.viz.draw((x * 2).sum()).splitlines()[0])
        digraph ember {
    """
    dot = to_dot(tensor, max_nodes=max_nodes, params=params)
    if path is None:
        return dot
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = path.suffix.lstrip(".").lower()
    if fmt in ("", "dot", "gv"):
        path.write_text(dot)
        return dot
    if fmt not in ("svg", "png", "pdf"):
        raise ValueError(f"draw: unknown format '.{fmt}' for {path}; use .dot, .svg, .png or .pdf")
    exe = shutil.which("dot")
    if exe is None:
        raise RuntimeError(
            f"draw: rendering {path.name} needs Graphviz's `dot` program, which is not installed "
            "(apt install graphviz / brew install graphviz); write a .dot file instead"
        )
    with tempfile.NamedTemporaryFile("w", suffix=".dot", delete=False) as f:
        f.write(dot)
        src = f.name
    try:
        subprocess.run([exe, f"-T{fmt}", src, "-o", str(path)], check=True, capture_output=True, timeout=600)
    finally:
        os.unlink(src)
    return dot
