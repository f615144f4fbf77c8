"""The layers stay in their places: NumPy computes only inside ``ember/backend/``.

Every file under ``ember/`` is parsed with ``ast``; an import of NumPy (``import
numpy``, ``from numpy... import``, ``importlib.import_module("numpy")``) outside
the backend fails this test unless the file is in the allowlist below, each entry
with the reason its use is not computation. A new device then really is one new
file in ``ember/backend/``.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "ember"

# path relative to ember/ -> why its NumPy use is not computation on tensors
ALLOWLIST = {
    "autograd/gradcheck.py": "a testing tool: reads values into float64 arrays for finite differences",
    "datasets/mnist.py": "a data loader: decodes IDX/CSV files (frombuffer, loadtxt) for a Buffer",
}


def numpy_imports(source: str) -> list[int]:
    """Line numbers of NumPy imports in ``source``."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            hit = any(a.name.split(".")[0] == "numpy" for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            hit = node.level == 0 and (node.module or "").split(".")[0] == "numpy"
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            name = getattr(node.func, "attr", getattr(node.func, "id", None))
            hit = name in ("import_module", "__import__") and str(node.args[0].value).split(".")[0] == "numpy"
        else:
            hit = False
        if hit:
            lines.append(node.lineno)
    return sorted(lines)


def _python_files():
    return sorted(p for p in ROOT.rglob("*.py") if "backend" not in p.relative_to(ROOT).parts)


def test_numpy_only_in_the_backend():
    offenders = []
    for path in _python_files():
        rel = path.relative_to(ROOT).as_posix()
        found = numpy_imports(path.read_text(encoding="utf-8"))
        if found and rel not in ALLOWLIST:
            offenders.append(f"ember/{rel}: line(s) {found}")
    assert not offenders, (
        "NumPy is imported for computation outside ember/backend/ (add a Buffer primitive instead, or an "
        "allowlist entry with a reason if the use is not computation):\n  " + "\n  ".join(offenders)
    )


def test_allowlist_entries_exist_and_have_reasons():
    for rel, reason in ALLOWLIST.items():
        assert len(reason) > 20, rel
        path = ROOT / rel
        if path.exists():  # an entry for a file that stopped importing NumPy is stale
            assert numpy_imports(path.read_text(encoding="utf-8")), f"ember/{rel} no longer imports NumPy"


@pytest.mark.parametrize("source, lines", [
    ("import numpy as np\n", [1]),
    ("import os\nfrom numpy.random import default_rng\n", [2]),
    ("def f():\n    import numpy\n", [2]),
    ("import importlib\nnp = importlib.import_module('numpy')\n", [2]),
    ("import numbers\nfrom . import numpy_cpu\n", []),
])
def test_the_detector(source, lines):
    assert numpy_imports(source) == lines
