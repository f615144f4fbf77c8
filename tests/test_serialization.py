"""Tests for ember.save / ember.load: round trips, checkpoints, PyTorch files, damaged files, atomicity."""

from __future__ import annotations

import io
import json
import struct
import sys

import numpy as np
import pytest
import safetensors.numpy
import safetensors.torch
import torch

import ember
import ember.serialization as ser

ALL_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


def make(dtype: str, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.random(shape) > 0.5
    if dtype.startswith(("int", "uint")):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    return rng.standard_normal(shape).astype(dtype)


def same(t: ember.Tensor, a: np.ndarray) -> None:
    assert t.dtype == getattr(ember, a.dtype.name if a.dtype.name != "bool" else "bool")
    assert tuple(t.shape) == a.shape
    assert np.array_equal(t.numpy(), a)


# ----------------------------------------------------------------- round trips

@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (1,), (3, 4), (2, 0, 3), (2, 3, 4, 5)])
def test_round_trip_every_dtype_and_shape(tmp_path, dtype, shape):
    a = make(dtype, shape)
    path = tmp_path / "t.safetensors"
    ember.save({"x": ember.tensor(a)}, path)
    out = ember.load(path)
    assert list(out) == ["x"]
    same(out["x"], a)
    out["x"].fill_(1)  # loaded tensors are writable
    assert out["x"].numpy().all()


def test_flat_state_dict_is_a_plain_safetensors_file(tmp_path):
    sd = {"fc.weight": ember.randn(3, 4), "fc.bias": ember.zeros(3), "steps": ember.tensor([7])}
    path = tmp_path / "model.safetensors"
    ember.save(sd, path)
    np_view = safetensors.numpy.load_file(str(path))
    assert sorted(np_view) == sorted(sd)
    for k, v in sd.items():
        assert np.array_equal(np_view[k], v.numpy())
    torch_view = safetensors.torch.load_file(str(path))
    assert torch_view["steps"].dtype == torch.int64
    back = ember.load(path)
    assert list(back) == list(sd)  # order kept
    for k in sd:
        assert np.array_equal(back[k].numpy(), sd[k].numpy())


def test_single_tensor_and_non_contiguous(tmp_path):
    x = ember.arange(12, dtype=ember.float32).reshape(3, 4).t()  # a transposed (strided) view
    ember.save(x, tmp_path / "t")
    y = ember.load(tmp_path / "t")
    assert isinstance(y, ember.Tensor) and y.tolist() == x.tolist()
    w = ember.ones(2, requires_grad=True)
    ember.save({"w": w}, tmp_path / "w")
    assert ember.load(tmp_path / "w")["w"].tolist() == [1.0, 1.0]


def test_nested_checkpoint_round_trip(tmp_path):
    ember.manual_seed(11)
    ember.randn(5)
    ckpt = {
        "model": {"fc.weight": ember.randn(3, 4), "fc.bias": ember.zeros(3)},
        "optimizer": {
            "state": {0: {"step": ember.tensor(3.0), "exp_avg": ember.randn(3, 4)}, 1: {"step": 3}},
            "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0,
                              "amsgrad": False, "params": [0, 1], "foreach": None}],
        },
        "scheduler": {"last_epoch": 5, "base_lrs": [0.001], "_get_lr_called_within_step": False},
        "rng": ember.get_rng_state(),
        "step": 123,
        "config": {"name": "gpt", "dims": (4, 8), "dropout": 0.1, "big": 2**70, "tags": ["a", "b"],
                   "nan": float("nan"), "inf": float("-inf"), "dtype": ember.float16, "raw": b"\x00\xff"},
        "empty": {}, "none": None, (1, 2): "tuple key", 3.5: "float key",
    }
    path = tmp_path / "ckpt.safetensors"
    ember.save(ckpt, path)
    back = ember.load(path, map_location="cpu", weights_only=True)
    assert list(back) == list(ckpt)
    assert back["optimizer"]["param_groups"] == ckpt["optimizer"]["param_groups"]
    assert back["optimizer"]["state"][1] == {"step": 3}
    assert back["optimizer"]["state"][0]["step"].item() == 3.0
    exp_avg = ckpt["optimizer"]["state"][0]["exp_avg"]
    assert np.array_equal(back["optimizer"]["state"][0]["exp_avg"].numpy(), exp_avg.numpy())
    assert back["scheduler"] == ckpt["scheduler"] and back["step"] == 123
    cfg = back["config"]
    assert cfg["dims"] == (4, 8) and isinstance(cfg["dims"], tuple) and cfg["big"] == 2**70
    assert np.isnan(cfg["nan"]) and cfg["inf"] == float("-inf") and cfg["dtype"] is ember.float16
    assert cfg["raw"] == b"\x00\xff" and cfg["tags"] == ["a", "b"]
    assert back["empty"] == {} and back["none"] is None
    assert back[(1, 2)] == "tuple key" and back[3.5] == "float key"
    # the RNG state restores the exact stream
    expect = ember.randn(4).tolist()
    ember.manual_seed(0)
    ember.set_rng_state(back["rng"])
    assert ember.randn(4).tolist() == expect
    # tensors live under readable path-like keys
    keys = set(safetensors.numpy.load_file(str(path)))
    assert keys == {"model.fc.weight", "model.fc.bias", "optimizer.state.0.step", "optimizer.state.0.exp_avg"}


def test_tied_tensors_are_stored_once_and_stay_tied(tmp_path):
    w = ember.randn(5, 3)
    ember.save({"wte.weight": w, "lm_head.weight": w.detach(), "other": ember.randn(5, 3)}, tmp_path / "t")
    assert sorted(safetensors.numpy.load_file(str(tmp_path / "t"))) == ["other", "wte.weight"]
    back = ember.load(tmp_path / "t")
    assert list(back) == ["wte.weight", "lm_head.weight", "other"]
    assert back["wte.weight"] is back["lm_head.weight"]


def test_key_collisions_get_distinct_entries(tmp_path):
    a, b = ember.ones(1), ember.zeros(1)
    ember.save({"a.b": a, "a": {"b": b}}, tmp_path / "c")
    back = ember.load(tmp_path / "c")
    assert back["a.b"].tolist() == [1.0] and back["a"]["b"].tolist() == [0.0]


def test_file_objects(tmp_path):
    buf = io.BytesIO()
    ember.save({"x": ember.arange(3), "n": 1}, buf)
    buf.seek(0)
    back = ember.load(buf)
    assert back["x"].tolist() == [0, 1, 2] and back["n"] == 1


# ----------------------------------------------------------------- PyTorch interop

def test_load_pytorch_safetensors_state_dict(tmp_path):
    torch.manual_seed(0)
    sd = {
        "layer.weight": torch.randn(4, 3),
        "layer.bias": torch.randn(4, dtype=torch.float64),
        "half": torch.randn(2, 2).half(),
        "count": torch.tensor(5),
        "ids": torch.arange(6, dtype=torch.int32).reshape(2, 3),
        "mask": torch.tensor([True, False, True]),
        "bytes": torch.tensor([0, 255], dtype=torch.uint8),
        "small": torch.tensor([-3, 3], dtype=torch.int8),
        "short": torch.tensor([-300], dtype=torch.int16),
    }
    path = tmp_path / "torch.safetensors"
    safetensors.torch.save_file(sd, str(path))
    back = ember.load(path)
    assert sorted(back) == sorted(sd)
    for k, v in sd.items():
        assert str(back[k].dtype) == str(v.dtype).replace("torch.", "ember."), k
        assert tuple(back[k].shape) == tuple(v.shape)
        assert np.array_equal(back[k].numpy(), v.numpy()), k


def test_pytorch_module_state_dict_loads_into_ember_module(tmp_path):
    if not hasattr(ember.nn, "Linear") or not hasattr(ember.nn.Module, "load_state_dict"):
        pytest.skip("ember.nn.Linear not available yet")
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    safetensors.torch.save_file(tm.state_dict(), str(tmp_path / "m.safetensors"))
    em = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.ReLU(), ember.nn.Linear(8, 2))
    em.load_state_dict(ember.load(tmp_path / "m.safetensors"))
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(em(ember.tensor(x)).detach().numpy(), tm(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    ember.save(em.state_dict(), tmp_path / "e.safetensors")  # and back into torch
    tm.load_state_dict(safetensors.torch.load_file(str(tmp_path / "e.safetensors")))


def test_bfloat16_gives_a_clear_error(tmp_path):
    path = tmp_path / "bf16.safetensors"
    safetensors.torch.save_file({"w": torch.ones(2, dtype=torch.bfloat16)}, str(path))
    with pytest.raises(RuntimeError, match=r"load: .*bf16.safetensors' is not a valid checkpoint: tensor 'w' "
                       r"has dtype BF16, which ember does not support \(supported: BOOL, U8, .*F64\); "
                       r"convert it"):
        ember.load(path)


def test_torch_pickle_checkpoint_gives_a_hint(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, path)
    with pytest.raises(RuntimeError, match=r"looks like a PyTorch pickle checkpoint \(torch.save\).*"
                       r"safetensors.torch.save_file\(model.state_dict\(\), 'model.safetensors'\)"):
        ember.load(path)


# ----------------------------------------------------------------- damaged files

@pytest.fixture
def good_file(tmp_path):
    path = tmp_path / "good.safetensors"
    ember.save({"model": {"w": ember.randn(8, 8), "b": ember.arange(5)}, "step": 4}, path)
    return path


def test_every_truncation_is_detected(good_file):
    raw = good_file.read_bytes()
    n = len(raw)
    cuts = sorted({0, 1, 7, 8, 9, 20, n // 2, n - 100, n - 1} | set(range(0, n, 37)))
    for cut in cuts:
        good_file.write_bytes(raw[:cut])
        with pytest.raises(RuntimeError, match=r"load: '.*good.safetensors' is not a valid checkpoint: .*"
                           r"nothing was loaded"):
            ember.load(good_file)


@pytest.mark.parametrize("edit,match", [
    (lambda raw: raw[:9] + b"{" + raw[10:], r"the header is not valid JSON"),
    (lambda raw: struct.pack("<Q", 10**9) + raw[8:], (r"the header claims 1000000000 bytes but the file "
                                                     r"has only")),
    (lambda raw: raw[:8] + raw[8:].replace(b'"F32"', b'"F99"', 1), r"tensor 'model.w' has dtype F99"),
    (lambda raw: raw + b"extra", (r"the data section has \d+ bytes but the tensors cover \d+ \(trailing "
                                 r"garbage\)")),
    (lambda raw: raw[:8] + raw[8:].replace(b'"model.w"', b'"model.x"', 1),
     r"the structure refers to a tensor 'model.w' that the file does not hold"),
    (lambda raw: _with_header(raw, lambda h: h.update(__metadata__={"ember": "{not json"})),
     r"the ember structure in the metadata is not valid JSON"),
    (lambda raw: _with_header(raw, lambda h: h["__metadata__"].update(
        ember=json.dumps({"version": 99, "tree": 1}))),
     r"it was written by a newer ember \(format 99"),
    (lambda raw: _with_header(raw, lambda h: h["__metadata__"].update(ember=json.dumps({"tree": 1}))),
     r"the ember structure in the metadata lacks 'version' or 'tree'"),
    (lambda raw: _with_header(raw, lambda h: h["__metadata__"].update(
        ember=json.dumps({"version": 1, "tree": {"mystery": 1}}))), (r"the ember structure holds an "
                                                                    r"unknown node")),
    (lambda raw: _with_header(raw, lambda h: h["model.b"].update(shape=[6])),
     r"tensor 'model.b': data offsets \[\d+, \d+\] do not fit shape \[6\] of I64"),
    (lambda raw: _with_header(raw, lambda h: h["model.b"].update(shape="x")), (r"the header entry for "
                                                                              r"'model.b' is malformed")),
    (lambda raw: _with_header(raw, lambda h: h.update(__metadata__=[1])), (r"the header's __metadata__ is "
                                                                          r"not a map")),
    (lambda raw: struct.pack("<Q", 2) + b"[]", r"the header is not a JSON object"),
])
def test_corrupt_header(good_file, edit, match):
    good_file.write_bytes(edit(good_file.read_bytes()))
    with pytest.raises(RuntimeError, match=r"load: '.*good.safetensors' is not a valid checkpoint: " + match):
        ember.load(good_file)


def _with_header(raw: bytes, change) -> bytes:
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    change(header)
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + raw[8 + n :]


def test_missing_path_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"load: no such file: '.*nope.safetensors'"):
        ember.load(tmp_path / "nope.safetensors")
    with pytest.raises(IsADirectoryError, match=r"load: '.*' is a folder, not a checkpoint file"):
        ember.load(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"save: the folder '.*no_dir' does not exist"):
        ember.save({"x": ember.ones(1)}, tmp_path / "no_dir" / "x.safetensors")


def test_unsupported_values(tmp_path):
    with pytest.raises(TypeError, match=r"save: cannot store a value of type object at 'config.fn'; "
                                        r"ember.save "
                       r"stores tensors, numbers, strings"):
        ember.save({"config": {"fn": object()}}, tmp_path / "x")
    with pytest.raises(TypeError, match=r"at 'xs.1'"):
        ember.save({"xs": [1, {2}]}, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_numpy_scalars_are_stored_as_numbers(tmp_path):
    ember.save({"lr": np.float32(0.5), "n": np.int64(3)}, tmp_path / "x")
    assert ember.load(tmp_path / "x") == {"lr": 0.5, "n": 3}


# ----------------------------------------------------------------- atomic writes

def test_failed_write_leaves_the_old_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    ember.save({"w": ember.ones(100), "step": 1}, path)
    before = path.read_bytes()

    def crash_halfway(f, data):
        f.write(data[: len(data) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(ser, "_write_all", crash_halfway)
    with pytest.raises(OSError, match="disk full"):
        ember.save({"w": ember.zeros(100), "step": 2}, path)
    assert path.read_bytes() == before and ember.load(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.safetensors"]  # no temporary file left


def test_interrupt_before_rename_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    ember.save({"step": 1}, path)

    def boom(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(ser.os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        ember.save({"step": 2}, path)
    monkeypatch.undo()
    assert ember.load(path) == {"step": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.safetensors"]


def test_save_overwrites_and_keeps_umask_permissions(tmp_path):
    import os

    path = tmp_path / "c"
    ember.save({"a": 1}, path)
    ember.save({"a": 2}, path)
    assert ember.load(path) == {"a": 2}
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_missing_safetensors_package(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match=r"save: ember checkpoints are safetensors files and need the "
                                          r"safetensors "
                       r"package: pip install safetensors"):
        ember.save({"x": ember.ones(1)}, tmp_path / "x")
    assert not (tmp_path / "x").exists()
