"""``ember.save`` / ``ember.load``: checkpoints as safetensors files, written atomically.

A flat ``{name: tensor}`` dict (a state dict) becomes a plain safetensors file that
other tools open, and ``ember.load`` reads one saved by PyTorch
(``safetensors.torch.save_file(model.state_dict(), path)``). Nested objects (an
optimizer state dict, a training checkpoint with model, optimizer, scheduler, RNG
state and step) are flattened: each tensor becomes an entry under a path-like key
(``optimizer.state.0.exp_avg``), and the structure with every non-tensor value is
one JSON document in the header's metadata under ``"ember"``.

A file is written to a temporary name in the same folder and renamed over the
target, so a crash never leaves a half-written checkpoint. ``load`` checks the whole
file (size, header, offsets, dtypes, structure) before it builds anything: a
truncated or corrupt file raises an error naming the path, and nothing is loaded.
No pickle is involved, so loading an untrusted file runs no code.
"""

from __future__ import annotations

import base64
import json
import math
import os
import secrets
import struct
from pathlib import Path
from typing import Any, BinaryIO

from ember import dtypes
from ember._tensor.core import TensorCore, _make
from ember.backend import DEFAULT as _Buf

__all__ = ["load", "save"]

FORMAT_VERSION = 1
# safetensors dtype codes ember reads, with their sizes in bytes
_CODES = {
    "BOOL": (dtypes.bool_, 1), "U8": (dtypes.uint8, 1), "I8": (dtypes.int8, 1),
    "I16": (dtypes.int16, 2), "I32": (dtypes.int32, 4), "I64": (dtypes.int64, 8),
    "F16": (dtypes.float16, 2), "F32": (dtypes.float32, 4), "F64": (dtypes.float64, 8),
}
_PICKLE_HINT = ("in PyTorch, save the state dict as safetensors instead: "
                "safetensors.torch.save_file(model.state_dict(), 'model.safetensors')")


def _safetensors_numpy(op: str) -> Any:
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError(f"{op}: ember checkpoints are safetensors files and need the safetensors package: "
                          "pip install safetensors") from None
    return safetensors.numpy


# ---------------------------------------------------------------------------------- save

class _Flattener:
    """Walk an object: tensors go to ``arrays`` under path keys, the rest into a JSON tree."""

    def __init__(self) -> None:
        self.arrays: dict[str, Any] = {}
        self._key_of_buffer: dict[int, str] = {}  # tied tensors (one Buffer, two names) are stored once

    def tensor_key(self, t: TensorCore, path: str) -> str:
        buf = t._buf
        key = self._key_of_buffer.get(id(buf))
        if key is None:
            key, n = path or "tensor", 1
            while key in self.arrays:  # e.g. {"a.b": x, "a": {"b": y}}
                n += 1
                key = f"{path}#{n}"
            # safetensors copies memory as laid out, so strided views must be made contiguous
            self.arrays[key] = (buf if buf.is_contiguous() else buf.contiguous()).numpy()
            self._key_of_buffer[id(buf)] = key
        return key

    def node(self, obj: Any, path: str) -> Any:
        if isinstance(obj, TensorCore):
            return {"tensor": self.tensor_key(obj, path)}
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {"float": repr(float(obj))}
        if isinstance(obj, dtypes.dtype):
            return {"dtype": obj.name}
        if isinstance(obj, (bytes, bytearray)):
            return {"bytes": base64.b64encode(bytes(obj)).decode("ascii")}
        if type(obj).__module__ == "numpy" and hasattr(obj, "item") and getattr(obj, "ndim", None) == 0:
            return self.node(obj.item(), path)  # a NumPy scalar (e.g. inside an RNG state)
        sub = f"{path}." if path else ""
        if isinstance(obj, dict):
            if all(isinstance(k, str) for k in obj):
                return {"dict": {k: self.node(v, sub + k) for k, v in obj.items()}}
            return {"items": [[self.node(k, f"{path}[key]"), self.node(v, f"{sub}{_key_text(k)}")]
                              for k, v in obj.items()]}
        if isinstance(obj, list):
            return [self.node(v, f"{sub}{i}") for i, v in enumerate(obj)]
        if isinstance(obj, tuple):
            return {"tuple": [self.node(v, f"{sub}{i}") for i, v in enumerate(obj)]}
        raise TypeError(f"save: cannot store a value of type {type(obj).__name__} at '{path or '<root>'}'; "
                        "ember.save stores tensors, numbers, strings, bytes, None, dtypes, and lists, tuples "
                        "and dicts of them")


def _key_text(k: Any) -> str:
    return k if isinstance(k, str) else repr(k)


def _serialize(obj: Any) -> bytes:
    st = _safetensors_numpy("save")
    flat = _Flattener()
    tree = flat.node(obj, "")
    doc = json.dumps({"version": FORMAT_VERSION, "tree": tree}, allow_nan=False, separators=(",", ":"))
    return st.save(flat.arrays, metadata={"format": "pt", "ember": doc})


def _write_all(f: BinaryIO, data: bytes) -> None:
    f.write(data)


def save(obj: Any, f: str | os.PathLike | BinaryIO, pickle_module: Any = None, pickle_protocol: Any = None,
         _use_new_zipfile_serialization: bool = True) -> None:
    """Save tensors, state dicts or a whole training checkpoint to a safetensors file.

    The file is written under a temporary name and renamed into place, so an
    existing checkpoint is replaced only by a complete one. The pickle arguments
    are accepted for PyTorch compatibility and ignored.

    Example:
        >>> import ember, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.safetensors")
        >>> ember.save({"w": ember.ones(2), "step": 3}, path)
        >>> ember.load(path)
        {'w': tensor([1., 1.]), 'step': 3}
    """
    data = _serialize(obj)
    if hasattr(f, "write"):
        _write_all(f, data)  # type: ignore[arg-type]
        return
    path = Path(os.fspath(f))
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"save: the folder {str(path.parent)!r} does not exist (saving {str(path)!r})"
        )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "xb") as out:  # "x": never clobber a file of the same name; respects the umask
            _write_all(out, data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable; not possible on every platform, so best effort."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------- load

class _Corrupt(Exception):
    """Internal: what is wrong with the file; ``load`` turns it into a RuntimeError naming the path."""


def _check_header(raw: bytes) -> tuple[dict, dict]:
    """Validate the safetensors layout; return (tensor entries, metadata)."""
    if len(raw) < 8:
        raise _Corrupt(f"the file has {len(raw)} bytes, too short for a safetensors header (truncated?)")
    if raw[:4] == b"PK\x03\x04" or raw[:2] in (b"\x80\x02", b"\x80\x04", b"\x80\x05"):
        raise _Corrupt(f"it looks like a PyTorch pickle checkpoint (torch.save), which ember does not read; "
                       f"{_PICKLE_HINT}")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise _Corrupt(f"the header claims {n} bytes but the file has only {len(raw) - 8} after the length "
                       "field (truncated, or not a safetensors file)")
    try:
        header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise _Corrupt(f"the header is not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise _Corrupt("the header is not a JSON object")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise _Corrupt("the header's __metadata__ is not a map of strings")
    size = len(raw) - 8 - n
    end = 0
    for key, ent in header.items():
        if not (isinstance(ent, dict) and isinstance(ent.get("shape"), list)
                and isinstance(ent.get("data_offsets"), list) and len(ent["data_offsets"]) == 2
                and all(isinstance(x, int) and x >= 0 for x in ent["shape"])
                and all(isinstance(x, int) for x in ent["data_offsets"])):
            raise _Corrupt(f"the header entry for {key!r} is malformed: {ent!r}")
        code = ent.get("dtype")
        if code not in _CODES:
            raise _Corrupt(f"tensor {key!r} has dtype {code}, which ember does not support (supported: "
                           f"{', '.join(_CODES)}); convert it, e.g. to float32, before saving")
        a, b = ent["data_offsets"]
        count = math.prod(ent["shape"])
        if not 0 <= a <= b or b - a != count * _CODES[code][1]:
            raise _Corrupt(f"tensor {key!r}: data offsets [{a}, {b}] do not fit shape {ent['shape']} "
                           f"of {code}")
        if b > size:
            raise _Corrupt(f"tensor {key!r} needs bytes {a}..{b} of the data section, which has only {size} "
                           "(the file is truncated)")
        end = max(end, b)
    if end != size:
        raise _Corrupt(f"the data section has {size} bytes but the tensors cover {end} (trailing garbage)")
    return header, meta


def _rebuild(node: Any, tensors: dict[str, Any]) -> Any:
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list):
        return [_rebuild(v, tensors) for v in node]
    if isinstance(node, dict) and len(node) == 1:
        (tag, v), = node.items()
        if tag == "tensor":
            if v not in tensors:
                raise _Corrupt(f"the structure refers to a tensor {v!r} that the file does not hold")
            return tensors[v]
        if tag == "dict" and isinstance(v, dict):
            return {k: _rebuild(x, tensors) for k, x in v.items()}
        if tag == "items" and isinstance(v, list) and all(isinstance(p, list) and len(p) == 2 for p in v):
            return {_freeze(_rebuild(k, tensors)): _rebuild(x, tensors) for k, x in v}
        if tag == "tuple" and isinstance(v, list):
            return tuple(_rebuild(x, tensors) for x in v)
        if tag == "float" and v in ("nan", "inf", "-inf"):
            return float(v)
        if tag == "dtype" and v in dtypes.BY_NAME:
            return dtypes.BY_NAME[v]
        if tag == "bytes" and isinstance(v, str):
            return base64.b64decode(v)
    raise _Corrupt(f"the ember structure holds an unknown node {str(node)[:80]}")


def _freeze(k: Any) -> Any:
    if isinstance(k, list):
        raise _Corrupt("the ember structure has a list as a dict key")
    return k


def _read(f: Any) -> tuple[bytes, str]:
    if hasattr(f, "read"):
        return f.read(), repr(getattr(f, "name", f))
    path = Path(os.fspath(f))
    name = repr(str(path))
    if not path.exists():
        raise FileNotFoundError(f"load: no such file: {name}")
    if path.is_dir():
        raise IsADirectoryError(f"load: {name} is a folder, not a checkpoint file")
    return path.read_bytes(), name


def load(f: str | os.PathLike | BinaryIO, map_location: Any = None, pickle_module: Any = None, *,
         weights_only: bool | None = None, mmap: bool | None = None, **pickle_load_args: Any) -> Any:
    """Load what ``ember.save`` wrote, or any safetensors file (as a dict of tensors).

    ``map_location``, ``weights_only``, ``mmap`` and the pickle arguments are accepted
    for PyTorch compatibility and ignored (ember reads no pickle and has one device).

    Raises:
        FileNotFoundError: if the path does not exist.
        RuntimeError: if the file is truncated, corrupt, not a safetensors file, or
            holds a dtype ember lacks (bfloat16); the message names the path.
    """
    raw, name = _read(f)
    st = _safetensors_numpy("load")
    from safetensors import SafetensorError
    try:
        header, meta = _check_header(raw)
        tree = None
        if "ember" in meta:
            try:
                doc = json.loads(meta["ember"])
            except json.JSONDecodeError as e:
                raise _Corrupt(f"the ember structure in the metadata is not valid JSON ({e})") from None
            if not isinstance(doc, dict) or "tree" not in doc or not isinstance(doc.get("version"), int):
                raise _Corrupt("the ember structure in the metadata lacks 'version' or 'tree'")
            if doc["version"] > FORMAT_VERSION:
                raise _Corrupt(f"it was written by a newer ember (format {doc['version']}; this ember reads "
                               f"up to {FORMAT_VERSION})")
            tree = doc["tree"]
            _rebuild(tree, dict.fromkeys(header))  # check the structure before building any tensor
        try:
            arrays = st.load(raw)
        except SafetensorError as e:  # the checks above should have caught it first
            raise _Corrupt(f"safetensors could not read it ({e})") from None
    except _Corrupt as e:
        raise RuntimeError(f"load: {name} is not a valid checkpoint: {e}; nothing was loaded") from None
    tensors = {k: _make(_Buf.from_data(arrays[k], _CODES[e["dtype"]][0], copy=False), None)
               for k, e in header.items()}
    if tree is None:
        order = sorted(header, key=lambda k: header[k]["data_offsets"][0])
        return {k: tensors[k] for k in order}
    return _rebuild(tree, tensors)
