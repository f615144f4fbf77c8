"""`ember gpt train` / `ember gpt sample`: artifacts, exact resume, BPE, the offline default, entry points.

Each run is a tiny model on a small text for a few dozen steps; most call
``ember.cli.main`` in this process, one goes through ``python -m ember`` and one
through the ``ember`` console script.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

import ember
from ember.cli import main

ROOT = Path(__file__).resolve().parents[1]
SHAKESPEARE = ROOT / ".." / "shared" / "data" / "tinyshakespeare.txt"
TINY = ["--block-size", "16", "--batch-size", "4", "--n-layer", "1", "--n-head", "2", "--n-embd", "16",
        "--eval-iters", "2", "--sample-tokens", "0", "--quiet"]


@pytest.fixture(scope="module")
def text_file(tmp_path_factory) -> Path:
    """About 20 kB of play text (tiny Shakespeare's opening when available)."""
    path = tmp_path_factory.mktemp("data") / "play.txt"
    if SHAKESPEARE.is_file():
        text = SHAKESPEARE.read_text(encoding="utf-8")[:20_000]
    else:
        lines = ["First Citizen:\nBefore we proceed any further, hear me speak.\n\n",
                 "All:\nSpeak, speak.\n\n", "MENENIUS:\nWhat work's, my countrymen, in hand?\n\n",
                 "ROMEO:\nIs the day so young?\n\n"]  # the samples' prompt must be in the vocabulary
        text = "".join(lines) * 120
    path.write_text(text, encoding="utf-8")
    return path


def _train(text_file: Path, out: Path, *extra: str) -> int:
    return main(["gpt", "train", "--data", str(text_file), "--out", str(out), *TINY, *extra])


def _flat(obj, prefix: str = "") -> dict:
    """Checkpoint contents as {path: numpy array or plain value}, for exact comparison."""
    if isinstance(obj, dict):
        return {k: v for key, val in obj.items() for k, v in _flat(val, f"{prefix}.{key}").items()}
    if isinstance(obj, list):
        return {k: v for i, val in enumerate(obj) for k, v in _flat(val, f"{prefix}.{i}").items()}
    return {prefix: obj.numpy() if isinstance(obj, ember.Tensor) else obj}


def _assert_same(a: dict, b: dict, what: str) -> None:
    fa, fb = _flat(a), _flat(b)
    assert fa.keys() == fb.keys(), what
    for k in fa:
        if isinstance(fa[k], np.ndarray):
            np.testing.assert_array_equal(fa[k], fb[k], err_msg=f"{what}{k}")
        else:
            assert fa[k] == fb[k], f"{what}{k}: {fa[k]!r} != {fb[k]!r}"


def test_train_writes_checkpoints_tokenizer_plot_and_summary(text_file, tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(text_file, out, "--max-iters", "20", "--eval-interval", "10") == 0
    printed = capsys.readouterr().out
    assert "step 10: train loss" in printed and "done: val loss" in printed
    for name in ("last.safetensors", "best.safetensors", "tokenizer.json", "loss.png", "summary.json"):
        assert (out / name).is_file(), name
    assert (out / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((out / "summary.json").read_text())
    tok = json.loads((out / "tokenizer.json").read_text())
    assert summary["step"] == 20 and summary["vocab_size"] == len(set(text_file.read_text(encoding="utf-8")))
    assert tok["type"] == "char"
    ckpt = ember.load(out / "last.safetensors")
    assert {"model", "optimizer", "rng", "step", "best_val", "history", "config"} <= set(ckpt)
    assert ckpt["step"] == 20 and ckpt["history"]["step"] == [10, 20]
    assert len(ckpt["history"]["iter_loss"]) == 20
    assert summary["best_val"] == ckpt["best_val"] == min(ckpt["history"]["val"])
    # losses are those of a real model: a fresh one starts near log(vocab)
    assert abs(ckpt["history"]["iter_loss"][0] - np.log(summary["vocab_size"])) < 0.3
    best = ember.load(out / "best.safetensors")
    assert best["best_val"] == summary["best_val"]


@pytest.mark.parametrize("eval_interval", ["6", "7"], ids=["stop_at_eval_step", "stop_between_evals"])
def test_resume_continues_exactly(text_file, tmp_path, eval_interval):
    # dropout and gradient accumulation draw random numbers too, so the RNG state must round-trip
    common = ["--eval-interval", eval_interval, "--lr-decay-iters", "24", "--warmup-iters", "5",
              "--dropout", "0.1", "--grad-accum", "2"]
    assert _train(text_file, tmp_path / "full", "--max-iters", "24", *common) == 0
    assert _train(text_file, tmp_path / "split", "--max-iters", "12", *common) == 0
    assert _train(text_file, tmp_path / "split", "--max-iters", "24", "--resume", *common) == 0
    full = ember.load(tmp_path / "full" / "last.safetensors")
    split = ember.load(tmp_path / "split" / "last.safetensors")
    for part in ("model", "optimizer", "rng", "config"):
        _assert_same(full[part], split[part], f"{part}: ")
    assert full["step"] == split["step"] == 24
    h_full, h_split = full["history"], split["history"]
    assert h_full["iter_step"] == h_split["iter_step"] == list(range(24))
    assert h_full["iter_loss"] == h_split["iter_loss"]
    if eval_interval == "6":  # the first run's final evaluation is one the full run makes too
        assert h_full == h_split and full["best_val"] == split["best_val"]
    else:  # the first run also evaluated where it stopped, at step 12
        assert h_split["step"] == [7, 12, 14, 21, 24] and h_full["step"] == [7, 14, 21, 24]
        drop = h_split["step"].index(12)
        assert [v for i, v in enumerate(h_split["val"]) if i != drop] == h_full["val"]
    full_summary = json.loads((tmp_path / "full" / "summary.json").read_text())
    split_summary = json.loads((tmp_path / "split" / "summary.json").read_text())
    assert full_summary["val_loss"] == split_summary["val_loss"]


def test_resume_of_a_finished_run_changes_nothing(text_file, tmp_path):
    out = tmp_path / "run"
    assert _train(text_file, out, "--max-iters", "8", "--eval-interval", "4") == 0
    before = ember.load(out / "last.safetensors")
    assert _train(text_file, out, "--max-iters", "8", "--eval-interval", "4", "--resume") == 0
    after = ember.load(out / "last.safetensors")
    _assert_same(before, after, "checkpoint: ")
    assert after["history"]["step"] == [4, 8]


def test_gradient_accumulation_equals_one_large_batch(text_file, tmp_path):
    # micro-batches are drawn one after another from the same stream, so 2 x 4 rows are the 8 rows of
    # one large batch, and the mean of the two micro-batch means is the large batch's mean
    _train(text_file, tmp_path / "big", "--max-iters", "5", "--batch-size", "8")
    _train(text_file, tmp_path / "accum", "--max-iters", "5", "--batch-size", "4", "--grad-accum", "2")
    big = ember.load(tmp_path / "big" / "last.safetensors")
    accum = ember.load(tmp_path / "accum" / "last.safetensors")
    for name, p in big["model"].items():
        np.testing.assert_allclose(accum["model"][name].numpy(), p.numpy(), rtol=1e-4, atol=1e-6,
                                   err_msg=name)
    np.testing.assert_allclose(accum["history"]["iter_loss"], big["history"]["iter_loss"], rtol=1e-5)


def test_graph_option_draws_the_model_without_changing_the_run(text_file, tmp_path):
    _train(text_file, tmp_path / "plain", "--max-iters", "3")
    _train(text_file, tmp_path / "drawn", "--max-iters", "3", "--graph", str(tmp_path / "gpt.dot"))
    assert (tmp_path / "gpt.dot").read_text().startswith("digraph")
    _assert_same(ember.load(tmp_path / "plain" / "last.safetensors")["model"],
                 ember.load(tmp_path / "drawn" / "last.safetensors")["model"], "model: ")


def test_sample_prints_text_and_cache_does_not_change_it(text_file, tmp_path, capsys):
    out = tmp_path / "run"
    _train(text_file, out, "--max-iters", "10", "--eval-interval", "5")
    capsys.readouterr()
    args = ["gpt", "sample", "--ckpt", str(out / "best.safetensors"), "--prompt", "ROMEO:",
            "--max-new-tokens", "30", "--top-k", "10", "--num-samples", "2", "--seed", "3"]
    assert main(args) == 0
    cached = capsys.readouterr().out
    samples = [s.strip("\n") for s in cached.split("---------------") if s.strip("\n")]
    assert len(samples) == 2 and all(s.startswith("ROMEO:") and len(s) == 36 for s in samples)
    assert samples[0] != samples[1]
    assert main(args + ["--no-cache"]) == 0
    assert capsys.readouterr().out == cached


def test_bpe_tokenizer(text_file, tmp_path, capsys):
    out = tmp_path / "bpe"
    assert _train(text_file, out, "--tokenizer", "bpe", "--vocab-size", "300", "--max-iters", "6",
                  "--sample-tokens", "5") == 0
    tok = json.loads((out / "tokenizer.json").read_text())
    assert tok["type"] == "bpe" and tok["vocab_size"] == 300
    assert ember.load(out / "last.safetensors")["config"]["vocab_size"] == 300
    capsys.readouterr()
    # byte-level: any prompt encodes, even characters the training text never had
    assert main(["gpt", "sample", "--ckpt", str(out / "last.safetensors"), "--prompt", "Ω thou",
                 "--max-new-tokens", "4"]) == 0
    assert capsys.readouterr().out.startswith("Ω thou")


def test_without_data_trains_offline_on_the_standard_library(tmp_path, monkeypatch, capsys):
    # no tiny Shakespeare anywhere: $EMBER_DATA empty, an empty download cache
    monkeypatch.setenv("EMBER_DATA", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out = tmp_path / "run"
    argv = ["gpt", "train", "--out", str(out), "--max-iters", "3", "--max-bytes", "100000",
            *[a for a in TINY if a != "--quiet"]]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "data: the Python standard library's source: " in printed
    assert json.loads((out / "summary.json").read_text())["step"] == 3


def test_errors_exit_with_a_message(text_file, tmp_path, capsys):
    assert main(["gpt", "train", "--data", str(tmp_path / "missing.txt"), "--out", str(tmp_path / "r"),
                 *TINY]) == 1
    assert "ember gpt train: error:" in capsys.readouterr().err
    assert main(["gpt", "sample", "--ckpt", str(tmp_path / "none.safetensors")]) == 1
    assert "ember gpt sample: error: load: no such file" in capsys.readouterr().err
    _train(text_file, tmp_path / "run", "--max-iters", "2")
    capsys.readouterr()
    assert main(["gpt", "sample", "--ckpt", str(tmp_path / "run" / "last.safetensors"), "--prompt", "Ω"]) == 1
    assert "ember gpt sample: error: unknown character 'Ω'" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse: a bad choice exits with its usage message
        main(["gpt", "train", "--tokenizer", "words"])


def _env() -> dict:
    # the child finds ember in this checkout even when it is not installed
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def test_python_m_ember(text_file, tmp_path):
    out = tmp_path / "run"
    train = subprocess.run([sys.executable, "-m", "ember", "gpt", "train", "--data", str(text_file), "--out",
                            str(out), *TINY, "--max-iters", "4"],
                           capture_output=True, text=True, env=_env(), timeout=300, check=False)
    assert train.returncode == 0, train.stderr
    assert "done: val loss" in train.stdout
    sample = subprocess.run([sys.executable, "-m", "ember", "gpt", "sample", "--ckpt",
                             str(out / "last.safetensors"), "--prompt", "First", "--max-new-tokens", "8"],
                            capture_output=True, text=True, env=_env(), timeout=300, check=False)
    assert sample.returncode == 0, sample.stderr
    assert sample.stdout.startswith("First") and len(sample.stdout.splitlines()[0]) >= len("First")


def test_ember_console_script():
    (ep,) = [e for e in metadata.entry_points(group="console_scripts") if e.name == "ember"] or [None]
    if ep is None:
        pytest.skip("ember is not installed (pip install -e .)")
    assert ep.value == "ember.cli:main"
    script = Path(sys.executable).parent / "ember"
    if not script.exists():
        pytest.skip(f"no console script at {script}")
    res = subprocess.run([str(script), "gpt", "sample", "--help"], capture_output=True, text=True,
                         timeout=120, check=False)
    assert res.returncode == 0 and "--ckpt" in res.stdout and "--top-p" in res.stdout


@pytest.mark.parametrize("links", [True, False], ids=["hard_link", "copy"])
def test_copy_checkpoint_keeps_its_contents_when_the_source_moves_on(tmp_path, monkeypatch, links):
    from ember.recipes.common import copy_checkpoint

    if not links:
        def no_link(*args):
            raise OSError("no hard links here")
        monkeypatch.setattr(os, "link", no_link)
    last, best = tmp_path / "last.safetensors", tmp_path / "best.safetensors"
    ember.save({"step": 1}, last)
    copy_checkpoint(last, best)
    ember.save({"step": 2}, last)  # replaced by a rename, as every checkpoint is
    assert ember.load(best) == {"step": 1} and ember.load(last) == {"step": 2}
    copy_checkpoint(last, best)
    assert ember.load(best) == {"step": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.safetensors", "last.safetensors"]


@pytest.mark.parametrize("tokens", [64, 128, 10_000],
                         ids=["one_per_forward", "two_and_a_remainder", "all_at_once"])
def test_stacked_evaluation_is_the_mean_of_the_batches(tokens, monkeypatch):
    """estimate_loss stacks its batches into larger forwards: the same batches, drawn in the same
    order from the evaluation seed, give the mean of the per-batch losses, and the training random
    stream is left where it was."""
    import argparse

    from ember.models.gpt import GPT, GPTConfig
    from ember.recipes import gpt as recipe

    args = argparse.Namespace(seed=3, eval_iters=5, batch_size=4, block_size=16)
    ember.manual_seed(0)
    config = GPTConfig(block_size=16, vocab_size=11, n_layer=1, n_head=2, n_embd=16, dropout=0.0, bias=True)
    model = GPT(config)
    splits = {"train": ember.randint(0, 11, (500,)), "val": ember.randint(0, 11, (300,))}
    ember.manual_seed(args.seed + 1)
    expected = {}
    with ember.no_grad():
        for name, data in splits.items():
            losses = [model(*recipe.get_batch(data, 16, 4))[1].item() for _ in range(args.eval_iters)]
            expected[name] = sum(losses) / len(losses)
    ember.manual_seed(42)
    before = ember.rand(3).tolist()
    ember.manual_seed(42)
    monkeypatch.setattr(recipe, "EVAL_TOKENS", tokens)  # 64 tokens a batch: groups of 1, 2 (2+2+1), 5
    got = recipe.estimate_loss(model, splits, args)
    assert ember.rand(3).tolist() == before
    assert model.training
    for name in splits:
        assert got[name] == pytest.approx(expected[name], rel=1e-6)
