"""Tests for ember.datasets: MNIST (IDX and CSV), downloads with checksums, text corpora.

The real files come from the shared data folder (``../shared/data`` beside the
repository); tests that need them skip when it is absent. No test uses the network:
downloads go through a replaced fetcher or ``file://`` URLs.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

import ember
from ember.datasets import (
    MNIST,
    MNISTCSV,
    DatasetCorruptError,
    DatasetNotFoundError,
    DownloadError,
    TextCorpus,
    _download,
    load_mnist,
    load_mnist_csv,
    load_text,
    python_stdlib_corpus,
    read_idx,
)
from ember.utils.data import DataLoader, default_collate, random_split

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
MNIST_DIR = DATA / "mnist"
TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"
CSV = DATA / "mnist_5k.csv.gz"
SHAKESPEARE = DATA / "tinyshakespeare.txt"

needs_mnist = pytest.mark.skipif(not (MNIST_DIR / TEST_IMAGES).is_file(), reason="shared MNIST files absent")
needs_csv = pytest.mark.skipif(not CSV.is_file(), reason="shared mnist_5k.csv.gz absent")
needs_text = pytest.mark.skipif(not SHAKESPEARE.is_file(), reason="shared tinyshakespeare.txt absent")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    """No test sees the user's $EMBER_DATA or cache, and none reaches the network."""
    monkeypatch.delenv("EMBER_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def no_network(url, out, timeout=60.0):
        if not url.startswith("file:"):
            raise OSError(f"network disabled in tests: {url}")
        _real_fetch(url, out, timeout)

    monkeypatch.setattr(_download, "fetch", no_network)


_real_fetch = _download.fetch


def write_idx(path: Path, array: np.ndarray, code: int = 0x08, compress: bool = True) -> Path:
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


@pytest.fixture(scope="module")
def mnist_test():
    if not (MNIST_DIR / TEST_IMAGES).is_file():
        pytest.skip("shared MNIST files absent")
    return MNIST(MNIST_DIR, train=False)


# ----------------------------------------------------------------- MNIST from IDX files

@needs_mnist
def test_mnist_test_set(mnist_test):
    ds = mnist_test
    assert len(ds) == 10000
    assert ds.data.shape == (10000, 28, 28) and ds.data.dtype == ember.uint8
    assert ds.targets.shape == (10000,) and ds.targets.dtype == ember.int64
    assert ds.targets.numpy()[:5].tolist() == [7, 2, 1, 0, 4]  # the published first test labels
    assert np.bincount(ds.targets.numpy()).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    # independent parse of the raw bytes
    raw = gzip.decompress((MNIST_DIR / TEST_IMAGES).read_bytes())
    assert np.array_equal(ds.data.numpy(), np.frombuffer(raw, np.uint8, offset=16).reshape(10000, 28, 28))
    img, label = ds[0]
    assert isinstance(label, int) and label == 7
    assert img.shape == (1, 28, 28) and img.dtype == ember.float32
    assert np.array_equal(img.numpy()[0], ds.data.numpy()[0].astype(np.float32) / np.float32(255))
    assert ds[-1][1] == int(ds.targets.numpy()[-1])
    assert "10000 images" in repr(ds) and "test" in repr(ds)


@needs_mnist
def test_mnist_tensors_helper(mnist_test):
    x, y = mnist_test.tensors(normalize=False)
    assert x.shape == (10000, 1, 28, 28) and x.dtype == ember.float32 and y.dtype == ember.int64
    assert float(x.numpy().min()) == 0.0 and float(x.numpy().max()) == 1.0
    xn, _ = mnist_test.tensors(normalize=True, flatten=True)
    assert xn.shape == (10000, 784) and xn.dtype == ember.float32
    expect = (x.numpy().reshape(10000, 784) - np.float32(0.1307)) / np.float32(0.3081)
    np.testing.assert_allclose(xn.numpy(), expect, rtol=1e-6)
    assert abs(float(xn.numpy().mean()) - 0.006) < 0.01  # the test set's mean is close to the train set's
    y.numpy()[0] = 99  # a copy: the dataset is untouched
    assert int(mnist_test.targets.numpy()[0]) == 7
    data, targets = load_mnist(MNIST_DIR, train=False)
    assert data.dtype == ember.uint8 and data.shape == (10000, 28, 28) and targets.dtype == ember.int64
    assert np.array_equal(data.numpy().reshape(10000, 1, 28, 28) / np.float32(255), x.numpy())


@needs_mnist
def test_mnist_dataloader_fast_path_matches_per_sample(mnist_test):
    sub, _ = random_split(mnist_test, [100, 9900], generator=3)
    fast = list(DataLoader(sub, batch_size=32, shuffle=True, generator=5))
    slow = list(DataLoader(sub, batch_size=32, shuffle=True, generator=5, collate_fn=default_collate))
    assert len(fast) == len(slow) == 4
    for (fx, fy), (sx, sy) in zip(fast, slow):
        assert fx.shape == sx.shape and fx.dtype == sx.dtype == ember.float32
        assert np.array_equal(fx.numpy(), sx.numpy()) and fy.tolist() == sy.tolist()
        assert fy.dtype == sy.dtype == ember.int64


@needs_mnist
def test_mnist_transforms(tmp_path):
    ds = MNIST(MNIST_DIR, train=False, transform=lambda x: x * 2, target_transform=lambda y: -y)
    img, label = ds[0]
    assert label == -7 and float(img.numpy().max()) == 2.0
    x, y = next(iter(DataLoader(ds, batch_size=4)))  # per-sample path, since transforms run per sample
    assert x.shape == (4, 1, 28, 28) and y.tolist() == [-7, -2, -1, 0]


@needs_mnist
@pytest.mark.parametrize("layout", ["flat", "torchvision", "mnist_sub", "uncompressed", "env"])
def test_mnist_root_layouts(tmp_path, monkeypatch, layout):
    folder = {"flat": tmp_path, "torchvision": tmp_path / "MNIST" / "raw", "mnist_sub": tmp_path / "mnist",
              "uncompressed": tmp_path, "env": tmp_path / "mnist"}[layout]
    folder.mkdir(parents=True, exist_ok=True)
    for name in (TEST_IMAGES, TEST_LABELS):
        if layout == "uncompressed":
            (folder / name[:-3]).write_bytes(gzip.decompress((MNIST_DIR / name).read_bytes()))
        else:
            shutil.copy(MNIST_DIR / name, folder / name)
    if layout == "env":
        monkeypatch.setenv("EMBER_DATA", str(tmp_path))
        ds = MNIST(train=False)
    else:
        ds = MNIST(tmp_path, train=False)
    assert len(ds) == 10000 and ds.image_file.parent == folder


def test_mnist_missing_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBER_DATA", str(tmp_path / "data"))
    with pytest.raises(DatasetNotFoundError, match=r"(?s)MNIST: cannot find train-images-idx3-ubyte.gz and "
                       r"train-labels-idx1-ubyte.gz \(train set\); looked in:.*data.*cache.*ember.*mnist.*"
                       r"EMBER_DATA.*--data.*download=True"):
        MNIST()
    with pytest.raises(FileNotFoundError, match=r"looked in:\n  .*nowhere"):
        MNIST(tmp_path / "nowhere", train=False)


# ----------------------------------------------------------------- corrupt IDX files

def _good_pair(folder: Path, n: int = 3) -> None:
    write_idx(folder / TEST_IMAGES, np.arange(n * 28 * 28, dtype=np.uint8).reshape(n, 28, 28))
    write_idx(folder / TEST_LABELS, np.arange(n, dtype=np.uint8))


def test_small_synthetic_mnist(tmp_path):
    _good_pair(tmp_path)
    ds = MNIST(tmp_path, train=False)
    assert len(ds) == 3 and ds.targets.tolist() == [0, 1, 2]


@pytest.mark.parametrize("damage,match", [
    (lambda p: p.write_bytes(p.read_bytes()[:-10]), r"damaged or truncated gzip file"),
    (lambda p: p.write_bytes(gzip.compress(gzip.decompress(p.read_bytes())[:-5])),
     r"truncated: the header promises shape \(3, 28, 28\) \(2368 bytes\) but the file has 2363 bytes"),
    (lambda p: p.write_bytes(gzip.compress(gzip.decompress(p.read_bytes()) + b"xx")), r"has trailing bytes"),
    (lambda p: p.write_bytes(gzip.compress(b"\x12\x34\x08\x03" + gzip.decompress(p.read_bytes())[4:])),
     r"bad magic number 12340803"),
    (lambda p: p.write_bytes(b""), r"bad magic number \(empty file\)"),
    (lambda p: p.write_bytes(b"\0\0\x08\x03\0\0"), r"truncated header \(6 bytes\)"),
    (lambda p: write_idx(p, np.zeros((3, 28), np.uint8)), r"expected uint8 images \(N, 28, 28\)"),
    (lambda p: write_idx(p, np.zeros((3, 28, 28), np.float32), code=0x0D), r"holds float32 data"),
])
def test_corrupt_image_file(tmp_path, damage, match):
    _good_pair(tmp_path)
    damage(tmp_path / TEST_IMAGES)
    with pytest.raises(DatasetCorruptError, match=match) as info:
        MNIST(tmp_path, train=False)
    assert str(tmp_path) in str(info.value)


def test_label_count_mismatch(tmp_path):
    _good_pair(tmp_path)
    write_idx(tmp_path / TEST_LABELS, np.zeros(2, np.uint8))
    with pytest.raises(DatasetCorruptError, match=r"holds labels of shape \(2,\) but .* holds 3 images"):
        MNIST(tmp_path, train=False)


@pytest.mark.parametrize("code,dtype", [(0x08, np.uint8), (0x09, np.int8), (0x0B, np.int16), (0x0C, np.int32),
                                        (0x0D, np.float32), (0x0E, np.float64)])
def test_read_idx_types(tmp_path, code, dtype):
    a = (np.arange(24) - 5).reshape(2, 3, 4).astype(dtype)
    if dtype == np.uint8:
        a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    got = read_idx(write_idx(tmp_path / "x.idx", a, code=code, compress=False))
    assert got.dtype == np.dtype(dtype) and np.array_equal(got, a) and got.flags.writeable


# ----------------------------------------------------------------- downloads

@needs_mnist
def test_mnist_download_with_checksums(tmp_path, monkeypatch):
    calls = []

    def fake_fetch(url, out, timeout=60.0):
        calls.append(url)
        if "ossci" in url:
            raise OSError("mirror down")
        out.write((MNIST_DIR / url.rsplit("/", 1)[1]).read_bytes())

    monkeypatch.setattr(_download, "fetch", fake_fetch)
    ds = MNIST(tmp_path, train=False, download=True)
    assert len(ds) == 10000
    raw = tmp_path / "MNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == [TEST_IMAGES, TEST_LABELS]  # no temporary files left
    assert calls == ["https://ossci-datasets.s3.amazonaws.com/mnist/" + TEST_IMAGES,
                     "http://yann.lecun.com/exdb/mnist/" + TEST_IMAGES,
                     "https://ossci-datasets.s3.amazonaws.com/mnist/" + TEST_LABELS,
                     "http://yann.lecun.com/exdb/mnist/" + TEST_LABELS]
    calls.clear()
    MNIST(tmp_path, train=False, download=True)  # already there: nothing fetched
    assert calls == []


@needs_mnist
def test_mnist_download_to_cache_when_no_root(tmp_path, monkeypatch):
    monkeypatch.setattr(_download, "fetch", lambda url, out, timeout=60.0: out.write(
        (MNIST_DIR / url.rsplit("/", 1)[1]).read_bytes()))
    ds = MNIST(train=False, download=True)
    assert ds.image_file == tmp_path / "cache" / "ember" / "mnist" / TEST_IMAGES
    assert len(MNIST(train=False)) == 10000  # found in the cache next time, without download=True


def test_mnist_download_checksum_mismatch(tmp_path, monkeypatch):
    monkeypatch.setattr(_download, "fetch", lambda url, out, timeout=60.0: out.write(b"not mnist"))
    with pytest.raises(DownloadError, match=r"(?s)could not get a verified copy of "
                                            r"t10k-images-idx3-ubyte.gz.*"
                       r"ossci.*md5 checksum mismatch: got [0-9a-f]{32}, expected "
                       r"9fb629c4189551a2d022fa330f9573f3.*"
                       r"lecun.*md5 checksum mismatch.*Download it by hand into .*MNIST.raw"):
        MNIST(tmp_path, train=False, download=True)
    assert list((tmp_path / "MNIST" / "raw").iterdir()) == []  # nothing half-written stays behind


def test_download_file_url_and_errors(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"hello")
    sha = hashlib.sha256(b"hello").hexdigest()
    out = _download.download("hello.bin", [src.as_uri()], tmp_path / "dest", sha256=sha)
    assert out.read_bytes() == b"hello" and sorted(p.name for p in out.parent.iterdir()) == ["hello.bin"]
    with pytest.raises(DownloadError, match=r"sha256 checksum mismatch: got .*, expected 00"):
        _download.download("x.bin", [src.as_uri()], tmp_path / "dest", sha256="00")
    with pytest.raises(DownloadError, match=r"(?s)could not get a verified copy of y.bin; tried:\n  "
                                            r"file:.*missing"):
        _download.download("y.bin", [(tmp_path / "missing").as_uri()], tmp_path / "dest")
    with pytest.raises(DownloadError, match=r"network disabled in tests"):
        _download.download("z.bin", ["https://example.invalid/z"], tmp_path / "dest")
    assert sorted(p.name for p in (tmp_path / "dest").iterdir()) == ["hello.bin"]
    (tmp_path / "afile").write_text("")
    with pytest.raises(DownloadError, match=r"download: cannot create the folder"):
        _download.download("w.bin", [src.as_uri()], tmp_path / "afile" / "sub")


def test_data_dirs_and_cache_dir(monkeypatch, tmp_path):
    import os

    monkeypatch.setenv("EMBER_DATA", f"{tmp_path / 'a'}{os.pathsep}{tmp_path / 'b'}")
    assert _download.data_dirs() == [tmp_path / "a", tmp_path / "b"]
    assert _download.cache_dir("x") == tmp_path / "cache" / "ember" / "x"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert _download.cache_dir("x") == Path.home() / ".cache" / "ember" / "x"


# ----------------------------------------------------------------- MNIST from CSV

@needs_csv
def test_mnist_csv():
    ds = MNISTCSV(CSV)
    assert len(ds) == 5000 and ds.data.shape == (5000, 28, 28) and ds.data.dtype == ember.uint8
    assert np.bincount(ds.targets.numpy()).tolist() == [500] * 10
    assert ds.targets.numpy()[:3].tolist() == [0, 0, 0]  # sorted by label
    img, label = ds[4999]
    assert label == 9 and img.shape == (1, 28, 28)
    assert 0.0 <= float(img.numpy().min()) <= float(img.numpy().max()) <= 1.0
    x, y = ds.tensors(flatten=True)
    assert x.shape == (5000, 784) and x.dtype == ember.float32 and y.dtype == ember.int64
    data, targets = load_mnist_csv(CSV)
    assert data.dtype == ember.uint8 and data.shape == (5000, 28, 28) and targets.tolist() == y.tolist()
    first = gzip.decompress(CSV.read_bytes()).split(b"\n", 1)[0].split(b",")
    assert ds.data.numpy()[0].ravel().tolist() == [int(v) for v in first[:784]]
    assert "5000 images" in repr(ds)


@needs_csv
def test_mnist_csv_from_ember_data(monkeypatch, tmp_path):
    monkeypatch.setenv("EMBER_DATA", str(DATA))
    assert len(MNISTCSV()) == 5000
    assert len(MNISTCSV(DATA)) == 5000  # a folder holding the file


def _csv_rows(n=3, label=1):
    return "\n".join(",".join(["0"] * 784 + [str(label)]) for _ in range(n)) + "\n"


@pytest.mark.parametrize("text,exc,match", [
    (_csv_rows() + "1,2,3\n", DatasetCorruptError,
     (r"MNISTCSV: .*bad.csv, line 4: expected 785 comma-separated integers \(784 pixels then the label\), "
     r"got 3")),
    (_csv_rows().replace("0,0", "0,x", 1), DatasetCorruptError, r"line 1: expected 785"),
    (_csv_rows(label=12), DatasetCorruptError, r"pixel values must be in 0..255 and labels in 0..9"),
])
def test_mnist_csv_corrupt(tmp_path, text, exc, match):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(exc, match=match):
        MNISTCSV(p)


def test_mnist_csv_header_and_missing(tmp_path):
    p = tmp_path / "h.csv"
    p.write_text(",".join(f"p{i}" for i in range(784)) + ",label\n" + _csv_rows(2, label=4))
    assert MNISTCSV(p).targets.tolist() == [4, 4]
    with pytest.raises(DatasetNotFoundError, match=r"MNISTCSV: no such file: .*nope.csv"):
        MNISTCSV(tmp_path / "nope.csv")
    with pytest.raises(DatasetNotFoundError, match=r"(?s)MNISTCSV: cannot find mnist_5k.csv.gz; looked in:.*"
                       r"EMBER_DATA is not set.*Pass its path"):
        MNISTCSV()


# ----------------------------------------------------------------- text

@needs_text
def test_text_from_path_and_ember_data(monkeypatch):
    text = load_text(SHAKESPEARE)
    assert len(text) == 1115394 and text.startswith("First Citizen:")
    monkeypatch.setenv("EMBER_DATA", str(DATA))
    corpus = TextCorpus()
    assert corpus.text == text and corpus.path == DATA / "tinyshakespeare.txt" and len(corpus) == 1115394
    train, val = corpus.split(0.1)
    assert train + val == text and len(val) == len(text) - int(len(text) * 0.9)
    assert "1,115,394 characters" in repr(corpus)
    assert TextCorpus(DATA).text == text  # a folder holding tinyshakespeare.txt


@needs_text
def test_text_download_verifies_sha256(monkeypatch, tmp_path):
    urls = []

    def fake_fetch(url, out, timeout=60.0):
        urls.append(url)
        out.write(SHAKESPEARE.read_bytes())

    monkeypatch.setattr(_download, "fetch", fake_fetch)
    text = load_text(download=True)
    assert len(text) == 1115394
    assert urls == ["https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"]
    assert (tmp_path / "cache" / "ember" / "tinyshakespeare" / "tinyshakespeare.txt").is_file()
    assert load_text() == text  # cached


def test_text_download_mismatch_and_missing(monkeypatch, tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"(?s)TextCorpus: cannot find tinyshakespeare.txt; looked "
                       r"in:.*cache.*Pass path= any text file, or set \$EMBER_DATA"):
        load_text()
    monkeypatch.setattr(_download, "fetch", lambda url, out, timeout=60.0: out.write(b"To be or not"))
    with pytest.raises(DownloadError, match=r"sha256 checksum mismatch: got .*, expected 86c4e6aa"):
        load_text(download=True)
    with pytest.raises(DatasetNotFoundError, match=r"TextCorpus: no such file: .*missing.txt"):
        load_text(tmp_path / "missing.txt")


def test_text_encoding_and_split_errors(tmp_path):
    p = tmp_path / "latin.txt"
    p.write_bytes("café".encode("latin-1"))
    with pytest.raises(DatasetCorruptError, match=r"TextCorpus: .*latin.txt is not valid utf-8 text "
                       r"\(byte 3"):
        load_text(p)
    assert load_text(p, encoding="latin-1") == "café"
    with pytest.raises(ValueError, match=r"TextCorpus: unknown encoding 'nope'"):
        load_text(p, encoding="nope")
    with pytest.raises(ValueError, match=r"TextCorpus.split: val_fraction must be in \[0, 1\), got 1.5"):
        TextCorpus(p, encoding="latin-1").split(1.5)


def test_python_stdlib_corpus():
    a = python_stdlib_corpus(max_bytes=200_000)
    assert a == python_stdlib_corpus(max_bytes=200_000)  # deterministic
    assert 200_000 - 4 < len(a.encode("utf-8")) <= 200_000  # cut at a character boundary
    assert a.startswith("# ---- ") and "\ndef " in a
    assert python_stdlib_corpus(max_bytes=1000) == a.encode()[:1000].decode("utf-8", errors="ignore")
    with pytest.raises(ValueError, match=r"python_stdlib_corpus: max_bytes must be positive, got 0"):
        python_stdlib_corpus(max_bytes=0)


def test_python_stdlib_corpus_order_and_skips(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "b" / "z.py").write_text("z = 1\n")
    (tmp_path / "a.py").write_text("a = 1\n")
    (tmp_path / "c.py").write_bytes(b"\xff\xfe bad")  # not UTF-8: skipped
    (tmp_path / "tests" / "t.py").write_text("t = 1\n")
    (tmp_path / "notes.txt").write_text("no")
    text = python_stdlib_corpus(max_bytes=None, root=tmp_path)
    assert text == "# ---- a.py ----\na = 1\n\n# ---- b/z.py ----\nz = 1\n\n"
    with pytest.raises(DatasetNotFoundError, match=r"the standard library folder .*nope does not exist"):
        python_stdlib_corpus(root=tmp_path / "nope")
