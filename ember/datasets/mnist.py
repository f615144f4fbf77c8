"""MNIST handwritten digits: the official IDX files (local or downloaded) and a CSV variant.

Samples are ``(image, label)``: a float32 tensor of shape (1, 28, 28) with values in
[0, 1] (what torchvision's ``ToTensor`` gives), and a Python int. A ``transform``
receives that tensor (ember has no PIL images), a ``target_transform`` the int. For
training, ``tensors()`` returns the whole set at once, which is much faster than
sample by sample.
"""

from __future__ import annotations

import gzip
import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ember import dtypes
from ember._tensor.core import _make
from ember.backend import DEFAULT as _Buf
from ember.buffer import Buffer
from ember.datasets._download import (
    HOW_TO_PROVIDE,
    DatasetCorruptError,
    DatasetNotFoundError,
    cache_dir,
    data_dirs,
    download,
)
from ember.utils.data.dataset import Dataset, _index

if TYPE_CHECKING:
    from ember._tensor import Tensor

__all__ = ["MNIST", "MNISTCSV", "MNIST_MEAN", "MNIST_STD", "load_mnist", "load_mnist_csv", "read_idx"]

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081  # of the 60,000 training images, as used by PyTorch's examples
MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
# (images file, md5), (labels file, md5) as published with the data set
FILES = {
    True: (("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
           ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432")),
    False: (("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
            ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c")),
}
CSV_NAME = "mnist_5k.csv.gz"

# IDX type codes -> big-endian element types
_IDX_TYPES: dict[int, np.dtype] = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def _read_maybe_gzip(path: Path, op: str) -> bytes:
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise DatasetCorruptError(
            f"{op}: {path} is a damaged or truncated gzip file ({e}); delete it and {HOW_TO_PROVIDE}"
        ) from None


def read_idx(path: str | Path, op: str = "read_idx") -> np.ndarray:
    """Read an IDX file (gzip-compressed or not) into a NumPy array, checking its header and size."""
    path = Path(path)
    raw = _read_maybe_gzip(path, op)
    bad = f"{op}: {path} is not a valid IDX file"
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in _IDX_TYPES:
        magic = raw[:4].hex() if raw else "(empty file)"
        raise DatasetCorruptError(f"{bad}: bad magic number {magic}; delete it and {HOW_TO_PROVIDE}")
    ndim, header = raw[3], 4 + 4 * raw[3]
    if len(raw) < header:
        raise DatasetCorruptError(
            f"{bad}: truncated header ({len(raw)} bytes); delete it and {HOW_TO_PROVIDE}"
        )
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dt = _IDX_TYPES[raw[2]]
    count = 1
    for d in dims:
        count *= d
    want = header + count * dt.itemsize
    if len(raw) != want:
        what = "truncated" if len(raw) < want else "has trailing bytes"
        raise DatasetCorruptError(f"{bad}: {what}: the header promises shape {dims} ({want} bytes) but the "
                                  f"file has {len(raw)} bytes; delete it and {HOW_TO_PROVIDE}")
    arr = np.frombuffer(raw, dtype=dt, offset=header).reshape(dims)
    return arr.astype(dt.newbyteorder("="))  # a writable copy in native byte order


class _Digits(Dataset):
    """Images (N, H, W) uint8 in ``.data`` and labels (N,) int64 in ``.targets``."""

    classes: ClassVar[list[str]] = [
        "0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
        "8 - eight", "9 - nine",
    ]
    data: Tensor
    targets: Tensor

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform: Callable | None,
                 target_transform: Callable | None) -> None:
        self.data = _make(_Buf.from_data(images, dtypes.uint8, copy=False), None)
        # a compact int64 copy: labels may be a strided view into a larger array
        self.targets = _make(_Buf.from_data(np.array(labels, dtype=np.int64), dtypes.int64, copy=False), None)
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self) -> int:
        return self.data.shape[0]

    def _images(self, idx: Any) -> Buffer:
        """Images at ``idx`` as float32 in [0, 1] with a channel axis: (..., 1, H, W)."""
        x = self.data._buf.getitem(idx)
        x = x.cast(dtypes.float32) / 255.0  # exactly torchvision's ToTensor
        return x.reshape(x.shape[:-2] + (1,) + x.shape[-2:])

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        i = _index(index, len(self), type(self).__name__)
        img: Any = _make(self._images(i), None)
        target: Any = int(self.targets._buf.getitem(i).item())
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def _batch_gatherer(self) -> Callable[[slice | Buffer], list[Tensor]] | None:
        if self.transform is not None or self.target_transform is not None:
            return None  # transforms run per sample

        def gather(idx: slice | Buffer) -> list[Tensor]:
            return [_make(self._images(idx), None), _make(self.targets._buf.getitem(idx).copy(), None)]

        return gather

    def tensors(self, normalize: bool = True, flatten: bool = False) -> tuple[Tensor, Tensor]:
        """The whole set as ``(images, labels)``: float32 (N, 1, 28, 28) (or (N, 784)) and int64 (N,).

        Args:
            normalize: subtract MNIST's mean and divide by its std; else values are in [0, 1].
            flatten: give each image as one row of 784 values.
        """
        x = self._images(slice(None))
        if normalize:
            x = (x - MNIST_MEAN) / MNIST_STD
        if flatten:
            x = x.reshape((x.shape[0], -1))
        return _make(x, None), _make(self.targets._buf.copy(), None)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        return f"{type(self).__name__}({len(self)} images{', ' + extra if extra else ''})"


def _candidate_dirs(root: str | Path | None) -> list[Path]:
    if root is not None:
        r = Path(root).expanduser()
        return [r, r / "MNIST" / "raw", r / "mnist"]
    out = []
    for d in data_dirs():
        out += [d, d / "mnist", d / "MNIST" / "raw"]
    return out + [cache_dir("mnist")]


def _find(dirs: list[Path], names: tuple[str, ...]) -> list[Path] | None:
    """The first folder holding every file in ``names`` (each gzip-compressed or not)."""
    for d in dirs:
        found = []
        for name in names:
            for candidate in (d / name, d / name.removesuffix(".gz")):
                if candidate.is_file():
                    found.append(candidate)
                    break
        if len(found) == len(names):
            return found
    return None


class MNIST(_Digits):
    """The MNIST digits from the official IDX files: 60,000 training or 10,000 test images.

    Args:
        root: a folder holding ``train-images-idx3-ubyte.gz`` and friends (gzip or not),
            or torchvision's layout ``root/MNIST/raw``. Default: ``$EMBER_DATA`` (also
            its ``mnist`` subfolder), then the cache ``~/.cache/ember/mnist``.
        train: the training set, else the test set.
        download: fetch missing files from the public mirrors (checking their MD5) into
            ``root/MNIST/raw``, or the cache when ``root`` is None.

    Raises:
        DatasetNotFoundError: the files are missing (the message lists where ember looked).
        DatasetCorruptError: a file is truncated or damaged.
    """

    mirrors = MIRRORS

    def __init__(self, root: str | Path | None = None, train: bool = True, download: bool = False,
                 transform: Callable | None = None, target_transform: Callable | None = None) -> None:
        self.root = root
        self.train = bool(train)
        (img_name, img_md5), (lbl_name, lbl_md5) = FILES[self.train]
        dirs = _candidate_dirs(root)
        found = _find(dirs, (img_name, lbl_name))
        if found is None and download:
            dest = Path(root).expanduser() / "MNIST" / "raw" if root is not None else cache_dir("mnist")
            for name, md5 in ((img_name, img_md5), (lbl_name, lbl_md5)):
                if _find([dest], (name,)) is None:
                    _download_file(name, md5, dest)
            found = _find([dest], (img_name, lbl_name))
        if found is None:
            looked = "\n  ".join(str(d) for d in dirs)
            raise DatasetNotFoundError(
                f"MNIST: cannot find {img_name} and {lbl_name} ({'train' if self.train else 'test'} set); "
                f"looked in:\n  {looked}\nTo provide them, {HOW_TO_PROVIDE}"
            )
        self.image_file, self.label_file = found
        images = read_idx(self.image_file, "MNIST")
        labels = read_idx(self.label_file, "MNIST")
        if images.ndim != 3 or images.dtype != np.uint8:
            raise DatasetCorruptError(f"MNIST: {self.image_file} holds {images.dtype} data of shape "
                                      f"{images.shape}, expected uint8 images (N, 28, 28)")
        if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
            raise DatasetCorruptError(f"MNIST: {self.label_file} holds labels of shape {labels.shape} but "
                                      f"{self.image_file} holds {images.shape[0]} images")
        super().__init__(images, labels, transform, target_transform)

    def extra_repr(self) -> str:
        return f"split={'train' if self.train else 'test'}, files in {self.image_file.parent}"


def _download_file(name: str, md5: str, dest: Path) -> Path:
    return download(name, [m + name for m in MIRRORS], dest, md5=md5)


def load_mnist(root: str | Path | None = None, train: bool = True,
               download: bool = False) -> tuple[Tensor, Tensor]:
    """Return one split's ``(data, targets)``: uint8 images (N, 28, 28) and int64 labels (N,).

    For float32 images ready for a model, use ``MNIST(...).tensors()``.
    """
    ds = MNIST(root, train=train, download=download)
    return ds.data, ds.targets


def _csv_path(path: str | Path | None) -> Path:
    if path is not None:
        p = Path(path).expanduser()
        if p.is_dir():
            p = p / CSV_NAME
        if not p.is_file():
            raise DatasetNotFoundError(f"MNISTCSV: no such file: {p}")
        return p
    looked = [d / CSV_NAME for d in data_dirs()] + [d / "mnist" / CSV_NAME for d in data_dirs()]
    for p in looked:
        if p.is_file():
            return p
    where = "\n  ".join(map(str, looked)) or "(nowhere: $EMBER_DATA is not set)"
    raise DatasetNotFoundError(f"MNISTCSV: cannot find {CSV_NAME}; looked in:\n  {where}\n"
                               f"Pass its path, or set $EMBER_DATA (or --data) to the folder holding it")


def _parse_csv(path: Path) -> np.ndarray:
    text = _read_maybe_gzip(path, "MNISTCSV")
    first = text[: text.find(b"\n")]
    skip = 0 if first[:1].isdigit() else 1  # a header line
    try:
        rows = np.loadtxt(io.BytesIO(text), delimiter=",", dtype=np.int64, skiprows=skip, ndmin=2)
    except ValueError:
        rows = None
    if rows is None or rows.shape[1] != 785:
        # find the first bad line, so the message can name it
        for lineno, line in enumerate(text.splitlines()[skip:], 1 + skip):
            fields = line.split(b",")
            if len(fields) != 785 or not all(f.strip().isdigit() for f in fields):
                raise DatasetCorruptError(f"MNISTCSV: {path}, line {lineno}: expected 785 comma-separated "
                                          f"integers (784 pixels then the label), got {len(fields)} fields")
        raise DatasetCorruptError(f"MNISTCSV: {path} is not a CSV of 785 integers per line")
    return rows


class MNISTCSV(_Digits):
    """MNIST digits from a CSV file (gzip or not): per line 784 pixel values 0-255, then the label.

    ``path`` defaults to ``mnist_5k.csv.gz`` in ``$EMBER_DATA`` (or its ``mnist`` subfolder).
    """

    def __init__(self, path: str | Path | None = None, transform: Callable | None = None,
                 target_transform: Callable | None = None) -> None:
        self.path = _csv_path(path)
        rows = _parse_csv(self.path)
        pixels, labels = rows[:, :784], rows[:, 784]
        if rows.size and (pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() > 9):
            raise DatasetCorruptError(
                f"MNISTCSV: {self.path}: pixel values must be in 0..255 and labels in 0..9"
            )
        images = pixels.astype(np.uint8).reshape(-1, 28, 28)
        super().__init__(images, labels, transform, target_transform)

    def extra_repr(self) -> str:
        return f"from {self.path}"


def load_mnist_csv(path: str | Path | None = None) -> tuple[Tensor, Tensor]:
    """Return a CSV file's ``(data, targets)``: uint8 images (N, 28, 28) and int64 labels (N,)."""
    ds = MNISTCSV(path)
    return ds.data, ds.targets
