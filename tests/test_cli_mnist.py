"""``ember mnist train|eval`` end to end on a small subset of the real data.

Training runs in-process through ``ember.cli.main`` (fast); the exit-code and
stderr contract of the real command line is checked with ``python -m ember``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ember
from ember import cli
from ember.models import MLP
from ember.recipes import mnist as recipe

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
needs_data = pytest.mark.skipif(not (DATA / "mnist_5k.csv.gz").is_file() or not (DATA / "mnist").is_dir(),
                                reason="../shared/data (MNIST) is not available")
SMALL = ["--data", str(DATA), "--train-limit", "384", "--test-limit", "300", "--batch-size", "64", "--quiet"]


@pytest.fixture(autouse=True)
def _no_ambient_data(monkeypatch, tmp_path):
    """Neither the user's $EMBER_DATA nor their cache may make a test pass or fail."""
    monkeypatch.delenv("EMBER_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def run(*argv: str) -> int:
    return cli.main(list(argv))


def train(out: Path, model: str, epochs: int, *extra: str) -> dict:
    code = run("mnist", "train", "--model", model, "--epochs", str(epochs), "--out", str(out), *SMALL, *extra)
    assert code == 0
    return json.loads((out / "summary.json").read_text())


def torch_model(torch, name: str):
    """The torch.nn.Sequential with the structure of ember's MLP or CNN."""
    nn = torch.nn
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                             nn.Linear(512, 10))
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 10))


def accuracy_printed(text: str) -> float:
    return float(re.findall(r"test accuracy (\d+\.\d+)%", text)[-1])


@pytest.fixture
def torch_one_thread():
    """torch with one intra-op thread: on a shared machine, spinning threads cost more than they give."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One uninterrupted 2-epoch run per model, shared by the tests that inspect it."""
    saved = os.environ.pop("EMBER_DATA", None)
    root = tmp_path_factory.mktemp("mnist_runs")
    out = {}
    try:
        if (DATA / "mnist_5k.csv.gz").is_file():
            for model in ("mlp", "cnn"):
                out[model] = (root / model, train(root / model, model, 2))
    finally:
        if saved is not None:
            os.environ["EMBER_DATA"] = saved
    return out


@needs_data
@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_train_writes_checkpoint_curves_and_summary(runs, model):
    out, summary = runs[model]
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert summary["model"] == model and summary["epochs"] == 2
    assert summary["train_images"] == 384 and summary["test_images"] == 300
    hist = summary["history"]
    assert hist["epoch"] == [1, 2] and len(hist["test_acc"]) == 2
    assert hist["train_loss"][1] < hist["train_loss"][0]  # it learns
    assert summary["test_accuracy"] > 0.5  # chance is 0.1
    ckpt = ember.load(out / "last.safetensors")
    assert ckpt["epoch"] == 2 and ckpt["model_name"] == model
    assert set(ckpt["model"]) == set(recipe.build_model(model).state_dict())
    assert ckpt["optimizer"]["state"]  # Adam's moments are in the checkpoint


@needs_data
def test_train_prints_epochs_and_data_source(tmp_path, capsys):
    train(tmp_path, "mlp", 1)
    text = capsys.readouterr().out
    assert "data: 384 training images from" in text and "mnist_5k.csv.gz" in text
    assert re.search(r"epoch 1: train loss \d+\.\d+  test loss \d+\.\d+  test accuracy \d+\.\d+%", text)


@needs_data
@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_resume_after_epoch_1_equals_uninterrupted_run(runs, model, tmp_path, capsys):
    ref_dir, ref = runs[model]
    train(tmp_path, model, 1)
    resumed = train(tmp_path, model, 2, "--resume")
    assert "resumed from" in capsys.readouterr().out
    a, b = ember.load(ref_dir / "last.safetensors"), ember.load(tmp_path / "last.safetensors")
    for k, v in a["model"].items():
        np.testing.assert_array_equal(b["model"][k].numpy(), v.numpy(), err_msg=k)
    for i, state in a["optimizer"]["state"].items():
        for k, v in state.items():
            got = b["optimizer"]["state"][i][k]
            np.testing.assert_array_equal(np.asarray(got.numpy() if hasattr(got, "numpy") else got),
                                          np.asarray(v.numpy() if hasattr(v, "numpy") else v))
    assert a["rng"] == b["rng"]
    for key in ("epoch", "train_loss", "test_loss", "test_acc"):
        assert resumed["history"][key] == ref["history"][key]
    assert resumed["test_accuracy"] == ref["test_accuracy"]


@needs_data
def test_resume_when_already_done_trains_nothing(runs, tmp_path, capsys):
    shutil.copytree(runs["mlp"][0], tmp_path, dirs_exist_ok=True)
    before = (tmp_path / "last.safetensors").read_bytes()
    summary = train(tmp_path, "mlp", 2, "--resume")
    assert "nothing to train" in capsys.readouterr().out
    assert (tmp_path / "last.safetensors").read_bytes() == before
    assert summary["test_accuracy"] == runs["mlp"][1]["test_accuracy"]


@needs_data
def test_resume_without_checkpoint_starts_fresh(tmp_path, capsys):
    train(tmp_path, "mlp", 1, "--resume")
    assert "starting from scratch" in capsys.readouterr().out


@needs_data
def test_resume_with_other_model_is_a_clear_error(runs, tmp_path, capsys):
    shutil.copytree(runs["mlp"][0], tmp_path, dirs_exist_ok=True)
    code = run("mnist", "train", "--model", "cnn", "--epochs", "3", "--out", str(tmp_path), "--resume",
               *SMALL)
    assert code == 1
    assert re.search(r"holds a 'mlp' model but --model is 'cnn'", capsys.readouterr().err)


@needs_data
@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_eval_reports_the_training_accuracy(runs, model, capsys):
    out, summary = runs[model]
    assert run("mnist", "eval", "--ckpt", str(out / "last.safetensors"), "--data", str(DATA),
               "--test-limit", "300") == 0
    text = capsys.readouterr().out
    assert f"({model})" in text
    assert accuracy_printed(text) == round(100 * summary["test_accuracy"], 2)
    ckpt = ember.load(out / "last.safetensors")
    args = cli.build_parser().parse_args(["mnist", "eval", "--ckpt", str(out / "last.safetensors"),
                                          "--data", str(DATA), "--test-limit", "300"])
    assert recipe.evaluate_checkpoint(args) == summary["test_accuracy"] == ckpt["history"]["test_acc"][-1]


@needs_data
@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_eval_of_a_pytorch_state_dict(runs, model, tmp_path, capsys, torch_one_thread):
    """A torch.nn.Sequential's state dict saved as safetensors evaluates in ember with torch's accuracy."""
    torch = torch_one_thread
    st = pytest.importorskip("safetensors.torch")
    net = torch_model(torch, model)
    trained = ember.load(runs[model][0] / "last.safetensors")["model"]  # weights far from chance
    net.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in trained.items()})
    st.save_file(net.state_dict(), str(tmp_path / "torch.safetensors"))
    x, y, _ = recipe.load_test(str(DATA), limit=300)
    with torch.no_grad():
        expected = (net(torch.from_numpy(x.numpy())).argmax(1) == torch.from_numpy(y.numpy())).sum().item()
    assert run("mnist", "eval", "--ckpt", str(tmp_path / "torch.safetensors"), "--data", str(DATA),
               "--test-limit", "300") == 0
    text = capsys.readouterr().out
    assert f"({model})" in text  # recognised from the keys
    assert accuracy_printed(text) == round(100 * expected / 300, 2)


@needs_data
def test_train_limit_keeps_every_class():
    x, y, source = recipe.load_train(str(DATA), limit=50)
    assert tuple(x.shape) == (50, 1, 28, 28) and x.dtype == ember.float32
    assert sorted(set(y.tolist())) == list(range(10))
    assert source.endswith("mnist_5k.csv.gz")
    assert abs(x.mean().item()) < 0.5  # normalised with MNIST's mean and std


@needs_data
def test_data_lookup_order(monkeypatch, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("EMBER_DATA", str(DATA))
    assert recipe.load_test(None, limit=10)[2].startswith(str(DATA))  # $EMBER_DATA when no --data
    with pytest.raises(FileNotFoundError, match="cannot find the MNIST test set in --data"):
        recipe.load_test(str(empty))  # --data wins over $EMBER_DATA
    monkeypatch.setenv("EMBER_DATA", str(empty))
    cache = tmp_path / "cache" / "ember" / "mnist"
    cache.mkdir(parents=True)
    for f in (DATA / "mnist").iterdir():
        shutil.copy(f, cache)
    assert recipe.load_test(None, limit=10)[2] == str(cache)  # then the cache


def test_missing_data_is_a_clear_error_without_traceback(tmp_path):
    empty = tmp_path / "nothing here"
    empty.mkdir()
    ember.save({"model": MLP().state_dict(), "model_name": "mlp"}, tmp_path / "x.safetensors")
    env = {k: v for k, v in os.environ.items() if k != "EMBER_DATA"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    for argv, what in ((["train", "--data", str(empty)], "training set"),
                       (["train"], "training set"),
                       (["eval", "--ckpt", "x.safetensors", "--data", str(empty)], "test set")):
        proc = subprocess.run([sys.executable, "-m", "ember", "mnist", *argv, "--out", str(tmp_path / "run")]
                              if argv[0] == "train" else [sys.executable, "-m", "ember", "mnist", *argv],
                              capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
        assert proc.returncode == 1, proc.stderr
        assert proc.stdout == ""
        err = proc.stderr
        assert "Traceback" not in err
        assert f"ember mnist {argv[0]}: error: cannot find the MNIST {what}" in err
        looked = str(empty) if "--data" in argv else str(tmp_path / "cache" / "ember" / "mnist")
        assert looked in err  # where ember looked
        assert "--data DIR" in err and "EMBER_DATA" in err and "--download" in err  # how to provide it
    assert not (tmp_path / "run").exists()  # nothing written before the data was found


@needs_data
def test_download_fills_the_cache(runs, tmp_path, monkeypatch, capsys):
    """``--download`` fetches the official files (checksums verified) into the cache, then uses them."""
    from ember.datasets import _download

    fetched = []

    def fake_fetch(url, out, timeout=60.0):  # the mirrors, served from ../shared/data
        fetched.append(url)
        out.write((DATA / "mnist" / url.rsplit("/", 1)[1]).read_bytes())

    monkeypatch.setattr(_download, "fetch", fake_fetch)
    ckpt = str(runs["mlp"][0] / "last.safetensors")
    assert run("mnist", "eval", "--ckpt", ckpt, "--test-limit", "300") == 1  # nothing local, no --download
    assert run("mnist", "eval", "--ckpt", ckpt, "--test-limit", "300", "--download") == 0
    cache = tmp_path / "cache" / "ember" / "mnist"
    assert sorted(p.name for p in cache.iterdir()) == list(recipe.TEST_FILES)
    assert len(fetched) == 2
    assert accuracy_printed(capsys.readouterr().out) == round(100 * runs["mlp"][1]["test_accuracy"], 2)
    assert run("mnist", "eval", "--ckpt", ckpt, "--test-limit", "300") == 0  # now found in the cache
    assert len(fetched) == 2


def test_missing_checkpoint_is_a_clear_error(tmp_path, capsys):
    assert run("mnist", "eval", "--ckpt", str(tmp_path / "none.safetensors")) == 1
    err = capsys.readouterr().err
    assert re.search(r"ember mnist eval: error: load: no such file: .*none\.safetensors", err)


def test_corrupt_checkpoint_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "bad.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    assert run("mnist", "eval", "--ckpt", str(tmp_path / "bad.safetensors")) == 1
    assert "is not a valid checkpoint" in capsys.readouterr().err


def test_unrecognised_state_dict_asks_for_model(tmp_path, capsys):
    ember.save({"w": ember.zeros(3)}, tmp_path / "w.safetensors")
    assert run("mnist", "eval", "--ckpt", str(tmp_path / "w.safetensors")) == 1
    assert "cannot tell which model" in capsys.readouterr().err


@pytest.mark.parametrize("bad", [["--epochs", "0"], ["--batch-size", "-1"], ["--model", "resnet"]])
def test_bad_arguments_exit_2(bad, capsys):
    with pytest.raises(SystemExit) as e:
        run("mnist", "train", *bad)
    assert e.value.code == 2
    assert "ember mnist train: error: argument" in capsys.readouterr().err


def test_help_of_python_m_ember_and_the_ember_script(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ember", "mnist", "train", "--help"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0
    for flag in ("--model", "--epochs", "--batch-size", "--lr", "--data", "--download", "--resume",
                 "--train-limit", "--out"):
        assert flag in proc.stdout
    script = shutil.which("ember", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the `ember` console script is not installed")
    proc = subprocess.run([script, "mnist", "eval", "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "--ckpt" in proc.stdout
