"""Character-level tokenizer: one id per distinct character of the training text."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Self, SupportsIndex

from .base import Tokenizer, as_id_list


class CharTokenizer(Tokenizer):
    """Give every distinct character of a text its own id.

    Ids follow the sorted order of the characters, so the same text always
    yields the same vocabulary. This is the tokenizer of char-rnn and of
    nanoGPT's Shakespeare example.

    Example:
        >>> tok = CharTokenizer.from_text("hello")
        >>> tok.encode("hole")
        [1, 3, 2, 0]
        >>> tok.decode([1, 0, 2, 2, 3])
        'hello'
    """

    kind = "char"

    def __init__(self, chars: Iterable[str]) -> None:
        """Build a tokenizer whose id ``i`` is the ``i``-th element of ``chars``.

        Args:
            chars: Distinct single characters in id order.

        Raises:
            ValueError: If an element is not exactly one character or repeats.
        """
        self._itos: list[str] = list(chars)
        self._stoi: dict[str, int] = {}
        for i, c in enumerate(self._itos):
            if not isinstance(c, str) or len(c) != 1:
                raise ValueError(f"vocabulary entry {i} must be a single character, got {c!r}")
            if c in self._stoi:
                raise ValueError(
                    f"character {c!r} appears twice in the vocabulary (ids {self._stoi[c]}, {i})"
                )
            self._stoi[c] = i

    @classmethod
    def from_text(cls, text: str) -> Self:
        """Build a tokenizer whose vocabulary is the sorted set of characters in ``text``."""
        return cls(sorted(set(text)))

    @classmethod
    def train(cls, text: str) -> Self:
        """Build a tokenizer from ``text``; an alias of :meth:`from_text` matching BPE's API."""
        return cls.from_text(text)

    @property
    def vocab_size(self) -> int:
        """Return the number of distinct characters."""
        return len(self._itos)

    @property
    def chars(self) -> list[str]:
        """Return the vocabulary, in id order (a copy)."""
        return list(self._itos)

    def token_to_id(self, char: str) -> int:
        """Return the id of ``char``.

        Raises:
            ValueError: If ``char`` is not in the vocabulary.
        """
        try:
            return self._stoi[char]
        except KeyError:
            raise ValueError(f"character {char!r} is not in the vocabulary") from None

    def id_to_token(self, idx: int) -> str:
        """Return the character with id ``idx``.

        Raises:
            ValueError: If ``idx`` is out of range.
        """
        if not 0 <= idx < len(self._itos):
            raise ValueError(f"token id {idx} is out of range for vocabulary size {len(self._itos)}")
        return self._itos[idx]

    def encode(self, text: str) -> list[int]:
        """Return the id of every character of ``text``.

        Raises:
            ValueError: If ``text`` contains a character that was not in the
                training text; the message names the character and its index.
        """
        stoi = self._stoi
        try:
            return [stoi[c] for c in text]
        except KeyError:
            pos = next(i for i, c in enumerate(text) if c not in stoi)
            char = text[pos]
            raise ValueError(
                f"unknown character {char!r} (U+{ord(char):04X}) at index {pos}: "
                f"it was not in the text this CharTokenizer was built from"
            ) from None

    def decode(self, ids: Iterable[SupportsIndex]) -> str:
        """Join the characters for ``ids``.

        Args:
            ids: Token ids; a list, tuple, NumPy array or tensor of integers.

        Raises:
            ValueError: If an id is outside ``[0, vocab_size)``.
        """
        itos = self._itos
        n = len(itos)
        ids = as_id_list(ids)
        # Negative ids would silently index from the end of the list, so check both ends.
        if ids and (min(ids) < 0 or max(ids) >= n):
            bad = next(i for i in ids if not 0 <= i < n)
            raise ValueError(f"token id {bad} is out of range for vocabulary size {n}")
        return "".join([itos[i] for i in ids])

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"vocab": [chars in id order]}``."""
        return {"vocab_size": self.vocab_size, "vocab": list(self._itos)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild from :meth:`to_dict` output (extra keys such as ``"type"`` are ignored)."""
        try:
            vocab = data["vocab"]
        except KeyError:
            raise ValueError("char tokenizer data has no 'vocab' list") from None
        return cls(vocab)

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size})"
