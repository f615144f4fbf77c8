"""Data sets: MNIST (IDX files or CSV) and text corpora, found locally or downloaded and verified.

Local data is looked up in ``$EMBER_DATA`` and then the cache (``~/.cache/ember``);
``download=True`` fetches missing files from public mirrors, checks their published
checksums, and caches them.
"""

from __future__ import annotations

from ember.datasets._download import DatasetCorruptError, DatasetNotFoundError, DownloadError
from ember.datasets.mnist import MNIST, MNIST_MEAN, MNIST_STD, MNISTCSV, load_mnist, load_mnist_csv, read_idx
from ember.datasets.text import TextCorpus, load_text, python_stdlib_corpus

__all__ = [
    "MNIST", "MNISTCSV", "MNIST_MEAN", "MNIST_STD", "DatasetCorruptError", "DatasetNotFoundError",
    "DownloadError", "TextCorpus", "load_mnist", "load_mnist_csv", "load_text", "python_stdlib_corpus",
    "read_idx",
]
