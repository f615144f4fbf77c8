"""Every Function defined in ``ember.ops`` has a row in some op table.

A Function is covered when it appears in the ``ops=`` of an ``optest.Case`` held
in a module-level list (``TABLE``, or any other list of Cases) of a test module
anywhere under ``tests/``. Adding an operation therefore means adding a row.
"""

import importlib
import importlib.util
import inspect
import pkgutil
import sys
from pathlib import Path

import optest

import ember.ops
from ember.function import Function

TESTS = Path(__file__).resolve().parent


def ops_functions() -> dict[str, type]:
    """Every public Function subclass defined in a module of ``ember.ops``, by qualified name."""
    found = {}
    for info in pkgutil.iter_modules(ember.ops.__path__):
        module = importlib.import_module(f"ember.ops.{info.name}")
        for name, obj in vars(module).items():
            if (inspect.isclass(obj) and issubclass(obj, Function) and obj.__module__ == module.__name__
                    and not name.startswith("_")):
                found[f"{module.__name__}.{name}"] = obj
    return found


def _import_test_module(path: Path):
    name = "_optables_" + "_".join(path.relative_to(TESTS).with_suffix("").parts)
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def table_rows() -> tuple[list, list[str]]:
    """All Cases in module-level lists of test modules under tests/, and the modules that failed to import."""
    rows, broken = [], []
    for path in sorted(TESTS.rglob("test_*.py")):
        if path.resolve() == Path(__file__).resolve() or "Case" not in path.read_text(encoding="utf-8"):
            continue
        try:
            module = _import_test_module(path)
        except Exception as e:  # noqa: BLE001 - reported as a failure below
            broken.append(f"{path.relative_to(TESTS)}: {type(e).__name__}: {e}")
            continue
        for value in vars(module).values():
            if isinstance(value, (list, tuple)):
                rows.extend(v for v in value if isinstance(v, optest.Case))
    return rows, broken


def test_finds_the_functions_and_the_tables():
    functions = ops_functions()
    assert "ember.ops.elementwise.Add" in functions and "ember.ops.elementwise._NoGrad" not in functions
    rows, _ = table_rows()
    assert any(r.name == "add_same" for r in rows)


def test_every_function_has_a_row():
    rows, broken = table_rows()
    assert not broken, "test modules with op tables failed to import:\n" + "\n".join(broken)
    covered = {op for row in rows for op in row.ops}
    missing = sorted(name for name, cls in ops_functions().items() if cls not in covered)
    assert not missing, (
        f"{len(missing)} Function(s) in ember.ops have no row in any op table (add an optest.Case with "
        f"ops=(TheFunction,) to the family's tests/ops/test_<family>.py TABLE):\n  " + "\n  ".join(missing)
    )


def test_rows_name_only_functions():
    rows, _ = table_rows()
    bad = sorted({f"{row.name}: {op!r}" for row in rows for op in row.ops
                  if not (inspect.isclass(op) and issubclass(op, Function))})
    assert not bad, "ops= must list Function classes:\n" + "\n".join(bad)
