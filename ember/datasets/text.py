"""Text corpora for language models: tiny Shakespeare, any local text file, or Python's own source.

``load_text()`` with no path finds ``tinyshakespeare.txt`` in ``$EMBER_DATA`` or the
cache (``download=True`` fetches and verifies it). ``python_stdlib_corpus()`` needs
no data at all: it joins the standard library's ``.py`` files in a fixed order.
"""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path

from ember.datasets._download import (
    HOW_TO_PROVIDE,
    DatasetCorruptError,
    DatasetNotFoundError,
    cache_dir,
    data_dirs,
    download,
)

__all__ = ["SHAKESPEARE_SHA256", "SHAKESPEARE_URL", "TextCorpus", "load_text", "python_stdlib_corpus"]

SHAKESPEARE_URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
SHAKESPEARE_NAME = "tinyshakespeare.txt"

# folders of the standard library that are not ordinary source: tests (some files there are
# deliberately malformed), installed third-party packages, caches
_SKIP_DIRS = {"site-packages", "dist-packages", "test", "tests", "idle_test", "__pycache__"}


def _shakespeare_candidates() -> list[Path]:
    out = []
    for d in data_dirs():
        out += [d / SHAKESPEARE_NAME, d / "tinyshakespeare" / "input.txt"]
    return out + [cache_dir("tinyshakespeare") / SHAKESPEARE_NAME]


class TextCorpus:
    """A text file held in memory as one string (tiny Shakespeare unless ``path`` is given).

    Args:
        path: a text file, or a folder holding ``tinyshakespeare.txt``.
        download: fetch tiny Shakespeare (verifying its SHA-256) when it is not found.
        encoding: the file's text encoding.

    Attributes:
        text: the whole corpus.
        path: the file it was read from.
    """

    def __init__(self, path: str | Path | None = None, download: bool = False,
                 encoding: str = "utf-8") -> None:
        if path is not None:
            p = Path(path).expanduser()
            if p.is_dir():
                p = p / SHAKESPEARE_NAME
            if not p.is_file():
                raise DatasetNotFoundError(f"TextCorpus: no such file: {p}")
        else:
            looked = _shakespeare_candidates()
            found = next((c for c in looked if c.is_file()), None)
            if found is None and download:
                found = _download_shakespeare()
            if found is None:
                where = "\n  ".join(map(str, looked))
                raise DatasetNotFoundError(
                    f"TextCorpus: cannot find {SHAKESPEARE_NAME}; looked in:\n  {where}\n"
                    f"Pass path= any text file, or {HOW_TO_PROVIDE}"
                )
            p = found
        self.path = p
        try:
            self.text = p.read_bytes().decode(encoding)
        except UnicodeDecodeError as e:
            raise DatasetCorruptError(
                f"TextCorpus: {p} is not valid {encoding} text (byte {e.start}: {e.reason}); "
                "pass encoding= to read it"
            ) from None
        except LookupError:
            raise ValueError(f"TextCorpus: unknown encoding {encoding!r}") from None

    def __len__(self) -> int:
        return len(self.text)

    def split(self, val_fraction: float = 0.1) -> tuple[str, str]:
        """Split into (train, validation) text: the last ``val_fraction`` of characters is validation."""
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"TextCorpus.split: val_fraction must be in [0, 1), got {val_fraction}")
        cut = int(len(self.text) * (1.0 - val_fraction))
        return self.text[:cut], self.text[cut:]

    def __repr__(self) -> str:
        return f"TextCorpus({len(self.text):,} characters from {self.path})"


def _download_shakespeare() -> Path:
    dest = cache_dir("tinyshakespeare")
    return download(SHAKESPEARE_NAME, [SHAKESPEARE_URL], dest, sha256=SHAKESPEARE_SHA256)


def load_text(path: str | Path | None = None, download: bool = False, encoding: str = "utf-8") -> str:
    """Return the text of ``path`` (default: tiny Shakespeare, found or downloaded) as one string."""
    return TextCorpus(path, download=download, encoding=encoding).text


def python_stdlib_corpus(max_bytes: int | None = 1 << 20, root: str | Path | None = None) -> str:
    """Join the Python standard library's ``.py`` files into one text, for training without any data.

    Files come in a fixed order (sorted paths, tests and site-packages left out), each
    after a ``# ---- <path> ----`` line, so the same Python gives the same corpus.

    Args:
        max_bytes: stop once the UTF-8 text reaches this size (None: every file).
        root: the folder to read instead of the standard library.
    """
    if max_bytes is not None and max_bytes <= 0:
        raise ValueError(f"python_stdlib_corpus: max_bytes must be positive, got {max_bytes}")
    base = Path(root) if root is not None else Path(sysconfig.get_paths()["stdlib"])
    if not base.is_dir():
        raise DatasetNotFoundError(f"python_stdlib_corpus: the standard library folder {base} does not exist")
    parts: list[str] = []
    size = 0
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if not name.endswith(".py"):
                continue
            path = Path(dirpath) / name
            try:
                src = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue  # unreadable or not UTF-8: not worth a failure
            piece = f"# ---- {path.relative_to(base).as_posix()} ----\n{src}\n"
            parts.append(piece)
            size += len(piece.encode("utf-8"))
            if max_bytes is not None and size >= max_bytes:
                data = "".join(parts).encode("utf-8")[:max_bytes]
                return data.decode("utf-8", errors="ignore")  # never split a character
    return "".join(parts)
