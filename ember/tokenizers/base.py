"""Common interface for ember tokenizers and a loader that detects the kind.

Every tokenizer serializes to a single JSON object whose ``"type"`` field names
its kind (``"char"`` or ``"bpe"``). :func:`load_tokenizer` reads that field and
hands the object to the matching class, so callers do not need to know which
kind a file holds.
"""

from __future__ import annotations

import json
import operator
import os
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any, ClassVar, Self, SupportsIndex

from ._readable import dumps_compact

PathLike = str | os.PathLike[str]

# Maps the "type" field of a saved file to the class that reads it. Filled in
# by Tokenizer.__init_subclass__ so adding a tokenizer kind needs no edit here.
_REGISTRY: dict[str, type[Tokenizer]] = {}

FORMAT_VERSION = 1


class Tokenizer(ABC):
    """Map text to lists of integer ids and back.

    Subclasses set the class attribute ``kind`` (the ``"type"`` written to saved
    files) and implement :meth:`encode`, :meth:`decode`, :attr:`vocab_size`,
    :meth:`to_dict` and :meth:`from_dict`; saving and loading are shared.
    """

    kind: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            _REGISTRY[cls.kind] = cls

    @property
    @abstractmethod
    def vocab_size(self) -> int:
        """Return the number of distinct ids this tokenizer can produce."""

    @abstractmethod
    def encode(self, text: str) -> list[int]:
        """Convert ``text`` to a list of token ids."""

    @abstractmethod
    def decode(self, ids: Iterable[SupportsIndex]) -> str:
        """Convert token ids back to text."""

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serializable description that :meth:`from_dict` accepts."""

    @classmethod
    @abstractmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild a tokenizer from the output of :meth:`to_dict`."""

    def __len__(self) -> int:
        return self.vocab_size

    def save(self, path: PathLike) -> None:
        """Write the tokenizer to ``path`` as human-readable UTF-8 JSON.

        Args:
            path: Destination file; parent directories must exist.
        """
        data = {"type": self.kind, "version": FORMAT_VERSION, **self.to_dict()}
        with open(path, "w", encoding="utf-8") as f:
            f.write(dumps_compact(data))

    @classmethod
    def load(cls, path: PathLike) -> Self:
        """Read a tokenizer written by :meth:`save`.

        Called on :class:`Tokenizer` itself this behaves like
        :func:`load_tokenizer`; called on a subclass it also checks the kind.

        Args:
            path: File written by :meth:`save`.

        Returns:
            The loaded tokenizer.

        Raises:
            ValueError: If the file is not a tokenizer file, has an unsupported
                version, or holds a different kind than ``cls``.
        """
        data = _read_json(path)
        target = _class_for(data, path)
        if cls is not Tokenizer and not issubclass(target, cls):
            raise ValueError(
                f"{os.fspath(path)!r} holds a {data['type']!r} tokenizer, "
                f"not a {cls.kind!r} one; use load_tokenizer() to load any kind"
            )
        return _check_size(target.from_dict(data), data, path)  # type: ignore[return-value]


def load_tokenizer(path: PathLike) -> Tokenizer:
    """Load a tokenizer of any kind, choosing the class from the file's ``"type"``.

    Args:
        path: File written by :meth:`Tokenizer.save`.

    Returns:
        A :class:`CharTokenizer`, :class:`BPETokenizer`, or other registered kind.

    Raises:
        ValueError: If the file is not valid tokenizer JSON or its kind is unknown.
    """
    data = _read_json(path)
    return _check_size(_class_for(data, path).from_dict(data), data, path)


def _check_size(tok: Tokenizer, data: dict[str, Any], path: PathLike) -> Tokenizer:
    # "vocab_size" is stored for readers; a mismatch means the file was edited inconsistently.
    stored = data.get("vocab_size", tok.vocab_size)
    if stored != tok.vocab_size:
        raise ValueError(
            f"{os.fspath(path)!r} says vocab_size={stored!r} but its contents define {tok.vocab_size} tokens"
        )
    return tok


def _read_json(path: PathLike) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{os.fspath(path)!r} is not a tokenizer file (invalid JSON: {e})") from e
    if not isinstance(data, dict) or "type" not in data:
        raise ValueError(f"{os.fspath(path)!r} is not a tokenizer file (no 'type' field)")
    return data


def _class_for(data: dict[str, Any], path: PathLike) -> type[Tokenizer]:
    kind = data["type"]
    if kind not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY))
        raise ValueError(f"{os.fspath(path)!r} holds unknown tokenizer type {kind!r} (known: {known})")
    version = data.get("version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{os.fspath(path)!r} has format version {version!r}; this ember reads version {FORMAT_VERSION}"
        )
    return _REGISTRY[kind]


def as_id_list(ids: Iterable[SupportsIndex]) -> list[int]:
    """Return ``ids`` as a list of Python ints.

    Accepts lists, tuples, ranges, NumPy arrays and tensors (anything with a
    ``tolist`` method is converted through it first).

    Raises:
        ValueError: If an element is not an integer.
    """
    tolist = getattr(ids, "tolist", None)
    items: list[Any] = tolist() if callable(tolist) else list(ids)
    if not isinstance(items, list):  # a 0-d array gives a bare scalar
        items = [items]
    try:
        # operator.index accepts NumPy integer scalars but rejects floats and strings.
        return list(map(operator.index, items))
    except TypeError:
        bad = next(i for i in items if not _is_index(i))
        raise ValueError(f"token ids must be integers, got {bad!r} of type {type(bad).__name__}") from None


def _is_index(x: object) -> bool:
    try:
        operator.index(x)  # type: ignore[arg-type]
    except TypeError:
        return False
    return True
