"""Finding, downloading and verifying data files: ``$EMBER_DATA``, the cache folder, mirrors, checksums.

A download goes to a temporary file in the destination folder, is verified against
its published checksum, and only then renamed into place, so an interrupted or
corrupted download never leaves a file that looks complete.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

ENV_VAR = "EMBER_DATA"

HOW_TO_PROVIDE = (
    f"set ${ENV_VAR} to a folder holding the files, pass their folder (root=/path or --data /path on "
    "the command line), or pass download=True to fetch them"
)


class DatasetNotFoundError(FileNotFoundError):
    """The data files are in none of the places ember looked."""


class DatasetCorruptError(RuntimeError):
    """A data file is truncated, damaged, or fails its checksum."""


class DownloadError(RuntimeError):
    """No mirror delivered a file with the right checksum."""


def data_dirs() -> list[Path]:
    """The folders named by ``$EMBER_DATA`` (several may be joined with ``os.pathsep``)."""
    value = os.environ.get(ENV_VAR, "")
    return [Path(p).expanduser() for p in value.split(os.pathsep) if p]


def cache_dir(name: str) -> Path:
    """Where downloads of data set ``name`` are kept: ``$XDG_CACHE_HOME/ember/<name>`` or ``~/.cache/...``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ember" / name


def file_digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm, usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def checksum_problem(path: Path, md5: str | None = None, sha256: str | None = None) -> str | None:
    """Describe how ``path`` fails its checksum, or return None when it matches."""
    for algorithm, want in (("md5", md5), ("sha256", sha256)):
        if want is not None:
            got = file_digest(path, algorithm)
            if got != want.lower():
                return f"{algorithm} checksum mismatch: got {got}, expected {want}"
    return None


def fetch(url: str, out: BinaryIO, timeout: float = 60.0) -> None:
    """Copy the bytes at ``url`` (http, https or file) into ``out``; tests replace this."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        shutil.copyfileobj(response, out, 1 << 20)


def download(filename: str, urls: Sequence[str], dest_dir: Path, md5: str | None = None,
             sha256: str | None = None) -> Path:
    """Download ``filename`` from the first mirror whose copy passes the checksum; return its path.

    Raises:
        DownloadError: if every mirror failed; the message lists each URL and why.
    """
    dest_dir = Path(dest_dir)
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DownloadError(f"download: cannot create the folder {dest_dir} for {filename}: {e}") from None
    failures = []
    for url in urls:
        fd, tmp_name = tempfile.mkstemp(dir=dest_dir, prefix=f".{filename}.", suffix=".part")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                fetch(url, out)
            problem = checksum_problem(tmp, md5, sha256)
            if problem is not None:
                failures.append(f"{url}: {problem}")
                continue
            final = dest_dir / filename
            os.replace(tmp, final)
            return final
        except (OSError, ValueError) as e:  # URLError and HTTPError are OSErrors; ValueError: bad URL
            failures.append(f"{url}: {e}")
        finally:
            tmp.unlink(missing_ok=True)
    tried = "\n  ".join(failures)
    raise DownloadError(
        f"download: could not get a verified copy of {filename}; tried:\n  {tried}\n"
        f"Download it by hand into {dest_dir}, or set ${ENV_VAR} to a folder that holds it"
    )
