"""Every ```python block in README.md and docs/*.md runs, so the docs cannot rot.

Blocks of one file run in order in one namespace, from a temporary folder.
Doctest examples in ember's docstrings run through ``--doctest-modules`` below.
"""

import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import ember

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_markdown_code_blocks_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = ROOT.parent / "shared" / "data"
    if data.is_dir():  # docs show MNIST and Shakespeare found through $EMBER_DATA
        monkeypatch.setenv("EMBER_DATA", str(data))
    ns: dict = {"__name__": f"doc_{path.stem}"}
    for i, code in enumerate(BLOCK.findall(path.read_text())):
        try:
            exec(compile(code, f"{path.name}[block {i}]", "exec"), ns)
        except Exception as e:  # noqa: BLE001 - re-raised with the block's place
            raise AssertionError(f"{path.name}, python block {i} failed: {e!r}\n{code}") from e


def _modules():
    for info in pkgutil.walk_packages(ember.__path__, "ember."):
        if info.name.startswith("ember.__main__"):
            continue
        yield info.name


@pytest.mark.parametrize("name", sorted(_modules()))
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(mod, name):
        if test.examples:
            ember.manual_seed(0)
            runner.run(test)
    assert runner.failures == 0, f"{name}: {runner.failures} docstring example(s) failed (run pytest -s to see)"
