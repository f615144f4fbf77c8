"""``examples/mnist_pytorch_style.py`` is a real PyTorch script that runs on ember unchanged.

The same file text runs twice: once with its import block swapped for PyTorch's
(proving the script itself is PyTorch code, and the test is right), once as written
on ember. Outside the import block the text never mentions ember.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "mnist_pytorch_style.py"
DATA = ROOT / ".." / "shared" / "data"
BLOCK = re.compile(r"^# ---- begin imports.*?\n(.*?)^# ---- end imports ----\n", re.S | re.M)
TORCH_IMPORTS = """\
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, Dataset
"""
ARGS = ["--data", str(DATA), "--epochs", "2", "--train-limit", "640", "--test-limit", "500",
        "--log-interval", "5"]


def source(lib: str) -> str:
    text = SCRIPT.read_text()
    match = BLOCK.search(text)
    assert match, "the script must mark its import block"
    if lib == "torch":
        torch_text = text[: match.start(1)] + TORCH_IMPORTS + text[match.end(1):]
        # the swap changes nothing but the imports: same names, same modules
        ported = match.group(1).replace("import ember as torch", "import torch").replace("ember", "torch")
        assert ported.strip() == TORCH_IMPORTS.strip()
        return torch_text
    return text


def run_script(lib: str, tmp_path: Path, capsys) -> tuple[dict, dict, str]:
    ns = {"__name__": f"mnist_pytorch_style_{lib}", "__file__": str(SCRIPT)}
    exec(compile(source(lib), f"{SCRIPT.name}[{lib}]", "exec"), ns)
    history = ns["main"]([*ARGS, "--save-model", str(tmp_path / f"{lib}.pt")])
    return history, ns, capsys.readouterr().out


def test_only_the_import_block_mentions_ember():
    text = SCRIPT.read_text()
    outside = BLOCK.sub("", text)
    code = "\n".join(line for line in outside.splitlines() if not line.lstrip().startswith("#"))
    body = code.split('"""', 2)[2]  # after the module docstring
    assert "ember" not in body
    assert len(BLOCK.search(text).group(1).strip().splitlines()) == 6


@pytest.mark.skipif(not (DATA / "mnist_5k.csv.gz").is_file(), reason="../shared/data is not available")
@pytest.mark.parametrize("lib", ["torch", "ember"])
def test_script_trains(lib, tmp_path, capsys):
    if lib == "torch":
        torch = pytest.importorskip("torch")
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # on a shared machine, spinning intra-op threads cost more than they give
        try:
            history, ns, out = run_script(lib, tmp_path, capsys)
        finally:
            torch.set_num_threads(threads)
    else:
        history, ns, out = run_script(lib, tmp_path, capsys)
    module = __import__(lib)
    assert ns["torch"] is module and isinstance(history["model"], module.nn.Module)  # really ran on `lib`
    assert history["lr"] == pytest.approx([1e-3, 7e-4])  # StepLR(gamma=0.7) stepped once per epoch
    losses, accs = history["train_loss"], history["test_accuracy"]
    assert losses[1] < losses[0]
    assert accs[-1] > 0.6, out  # chance is 0.1
    assert "Test set: Average loss:" in out and "Accuracy: " in out
    assert (tmp_path / f"{lib}.pt").is_file()


@pytest.mark.skipif(not (DATA / "mnist_5k.csv.gz").is_file(), reason="../shared/data is not available")
def test_same_state_dict_keys_and_shapes(tmp_path, capsys):
    pytest.importorskip("torch")
    shapes = {}
    for lib in ("torch", "ember"):
        ns = {"__name__": f"mnist_pytorch_style_{lib}"}
        exec(compile(source(lib), SCRIPT.name, "exec"), ns)
        shapes[lib] = [(k, tuple(v.shape)) for k, v in ns["Net"]().state_dict().items()]
    assert shapes["torch"] == shapes["ember"]
