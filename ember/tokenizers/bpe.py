"""Byte-level byte-pair-encoding tokenizer in the style of GPT-2."""

from __future__ import annotations

import itertools
import re
import warnings
from collections.abc import Collection, Iterable, Sequence
from typing import Any, Literal, Self, SupportsIndex

from ._bpe_train import count_words, learn_merges, merge_pair
from ._readable import bytes_to_readable, readable_to_bytes
from .base import Tokenizer, as_id_list

# GPT-2's split pattern is
#   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
# The stdlib re has no \p{...} classes, so letters are written [^\W\d_]
# (word characters that are neither digits nor "_"), numbers \d, and the rest
# as "not space, not word character, or _". The four classes partition all of
# Unicode, so every character lands in some chunk and encoding is lossless.
# It differs from GPT-2 only on rare characters (e.g. "½" counts as a letter).
GPT2_SPLIT_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+"""

# Per-chunk encodings are memoized; natural text reuses a small set of words.
# The bound keeps memory flat on huge or adversarial inputs.
_CACHE_LIMIT = 100_000

AllowedSpecial = Literal["all", "none"] | Collection[str]


class BPETokenizer(Tokenizer):
    """Byte-level BPE tokenizer: 256 byte tokens, learned merges, then special tokens.

    Ids ``0..255`` are single bytes, learned merges create ids ``256, 257, ...``
    in order, and special tokens (e.g. ``"<|endoftext|>"``) take the ids after the merges.
    Any string, including emoji and combining characters, encodes losslessly
    because every string is a byte sequence.

    Example:
        >>> tok = BPETokenizer.train("low lower lowest " * 50, vocab_size=260)
        >>> tok.decode(tok.encode("lowest lows"))
        'lowest lows'
    """

    kind = "bpe"

    def __init__(
        self,
        merges: Sequence[tuple[int, int]],
        special_tokens: Sequence[str] = (),
        pattern: str = GPT2_SPLIT_PATTERN,
    ) -> None:
        """Build a tokenizer from learned merges; most users call :meth:`train` or :meth:`load`.

        Args:
            merges: Pairs of ids in the order learned. Each merge's bytes get
                the next free id, unless they already form a token.
            special_tokens: Strings that encode to a single id each, numbered
                after the merges in the given order.
            pattern: Pre-tokenization regex (stdlib ``re`` syntax); merges never
                cross the boundaries of its matches.

        Raises:
            ValueError: If a merge refers to an id not yet defined, or special
                tokens are empty or repeated.
        """
        self._pattern_str = pattern
        self._pattern = re.compile(pattern)
        self._merges: list[tuple[int, int]] = []
        self._vocab: list[bytes] = [bytes([i]) for i in range(256)]
        self._bytes_to_id: dict[bytes, int] = {t: i for i, t in enumerate(self._vocab)}
        # Encoding needs both when a pair was learned (its rank) and the id it
        # becomes; ids are not always in rank order (see learn_merges).
        self._ranks: dict[tuple[int, int], int] = {}
        self._results: dict[tuple[int, int], int] = {}
        for k, (a, b) in enumerate(merges):
            n = len(self._vocab)
            if not (0 <= a < n and 0 <= b < n):
                raise ValueError(f"merge {k} ({a}, {b}) uses an id that no earlier merge defines (have {n})")
            if (a, b) in self._ranks:
                raise ValueError(f"merge {k} ({a}, {b}) repeats merge {self._ranks[(a, b)]}")
            merged = self._vocab[a] + self._vocab[b]
            new_id = self._bytes_to_id.get(merged)
            if new_id is None:
                new_id = self._bytes_to_id[merged] = n
                self._vocab.append(merged)
            self._merges.append((a, b))
            self._ranks[(a, b)] = k
            self._results[(a, b)] = new_id
        self._num_regular = len(self._vocab)
        self._special: dict[str, int] = {}
        for s in special_tokens:
            if not isinstance(s, str) or not s:
                raise ValueError(f"special tokens must be non-empty strings, got {s!r}")
            if s in self._special:
                raise ValueError(f"special token {s!r} is listed twice")
            self._special[s] = len(self._vocab)
            self._vocab.append(s.encode("utf-8"))
        self._splitters: dict[frozenset[str], re.Pattern[str]] = {}
        self._cache: dict[str, list[int]] = {}

    @classmethod
    def train(
        cls,
        text: str,
        vocab_size: int,
        special_tokens: Sequence[str] | None = None,
        *,
        pattern: str = GPT2_SPLIT_PATTERN,
    ) -> Self:
        """Learn a vocabulary of ``vocab_size`` tokens from ``text``.

        The text is split into chunks by ``pattern``; identical chunks are
        counted once and the most frequent adjacent pair is merged repeatedly.
        Occurrences of the special tokens are cut out of the training text.

        Args:
            text: Training text.
            vocab_size: Total vocabulary size: 256 bytes + merges + special tokens.
            special_tokens: Strings to reserve single ids for, e.g. ``["<|endoftext|>"]``.
            pattern: Pre-tokenization regex (stdlib ``re`` syntax).

        Returns:
            The trained tokenizer. If the text runs out of pairs to merge, it
            has fewer merges than asked for and a warning is issued.

        Raises:
            ValueError: If ``vocab_size`` is smaller than 256 + number of special tokens.
        """
        specials = list(special_tokens or [])
        num_merges = vocab_size - 256 - len(specials)
        if num_merges < 0:
            raise ValueError(
                f"vocab_size={vocab_size} is too small: it must be at least 256 (byte tokens) "
                f"+ {len(specials)} (special tokens) = {256 + len(specials)}"
            )
        # Building the tokenizer first validates the special tokens and pattern.
        base = cls([], specials, pattern)
        segments = base._split_special(text, frozenset(base._special))[::2] if specials else [text]
        merges = learn_merges(count_words(segments, base._pattern), num_merges)
        tok = cls(merges, specials, pattern)
        if tok.vocab_size < vocab_size:
            warnings.warn(
                f"the training text has too few distinct pairs: vocab_size is {tok.vocab_size} "
                f"instead of {vocab_size}",
                stacklevel=2,
            )
        return tok

    @property
    def vocab_size(self) -> int:
        """Return 256 byte tokens + learned tokens + special tokens."""
        return len(self._vocab)

    @property
    def merges(self) -> list[tuple[int, int]]:
        """Return the learned merges as ``(left_id, right_id)`` pairs in rank order (a copy)."""
        return list(self._merges)

    @property
    def special_tokens(self) -> dict[str, int]:
        """Return a copy of the mapping from special-token string to id."""
        return dict(self._special)

    @property
    def pattern(self) -> str:
        """Return the pre-tokenization regex."""
        return self._pattern_str

    def id_to_bytes(self, idx: int) -> bytes:
        """Return the bytes that id ``idx`` decodes to.

        Raises:
            ValueError: If ``idx`` is out of range.
        """
        if not 0 <= idx < len(self._vocab):
            raise ValueError(f"token id {idx} is out of range for vocabulary size {len(self._vocab)}")
        return self._vocab[idx]

    def id_to_token(self, idx: int) -> str:
        """Return a readable string for id ``idx``: the special token itself, or the token's readable form.

        Bytes that are not valid UTF-8 on their own show as ``\\xNN`` and a
        backslash as ``\\\\``; this is the form used in saved files and the
        one :meth:`token_to_id` accepts.
        """
        token = self.id_to_bytes(idx)
        return token.decode("utf-8") if idx >= self._num_regular else bytes_to_readable(token)

    def token_to_id(self, token: str | bytes) -> int:
        """Return the id of a special token, a token's readable form, or its raw bytes.

        Raises:
            ValueError: If no single token has that text.
        """
        if isinstance(token, str):
            if token in self._special:
                return self._special[token]
            raw = readable_to_bytes(token)
        else:
            raw = bytes(token)
        try:
            return self._bytes_to_id[raw]  # holds regular tokens only
        except KeyError:
            if isinstance(token, bytes) and raw.decode("utf-8", errors="replace") in self._special:
                return self._special[raw.decode("utf-8")]
            raise ValueError(f"{token!r} is not a single token in this vocabulary") from None

    def encode(self, text: str, allowed_special: AllowedSpecial = "all") -> list[int]:
        """Convert ``text`` to token ids.

        Args:
            text: Any string without lone surrogates.
            allowed_special: Which special tokens in ``text`` become their
                single id: ``"all"`` (default), ``"none"`` (their text is
                encoded as ordinary bytes, e.g. for untrusted input), or a set
                of special-token strings.

        Returns:
            The token ids; ``decode`` of them gives back ``text`` exactly.

        Raises:
            ValueError: If ``allowed_special`` names an unknown special token or
                ``text`` contains a lone surrogate (not encodable as UTF-8).
        """
        allowed = self._resolve_allowed(allowed_special)
        if not allowed:
            return self._encode_ordinary(text)
        parts = self._split_special(text, allowed)
        ids: list[int] = []
        special = self._special
        for i, part in enumerate(parts):
            if i % 2:
                ids.append(special[part])
            elif part:
                ids.extend(self._encode_ordinary(part))
        return ids

    def decode(self, ids: Iterable[SupportsIndex], errors: str = "replace") -> str:
        """Convert token ids back to text.

        Args:
            ids: Token ids; a list, tuple, NumPy array or tensor of integers.
            errors: How to handle byte sequences that are not valid UTF-8 (an
                arbitrary id list can split a character); ``"replace"`` gives U+FFFD.

        Raises:
            ValueError: If an id is outside ``[0, vocab_size)``.
        """
        ids = as_id_list(ids)
        vocab = self._vocab
        n = len(vocab)
        # Negative ids would silently index from the end of the list, so check both ends.
        if ids and (min(ids) < 0 or max(ids) >= n):
            bad = next(i for i in ids if not 0 <= i < n)
            raise ValueError(f"token id {bad} is out of range for vocabulary size {n}")
        return b"".join([vocab[i] for i in ids]).decode("utf-8", errors=errors)

    def _resolve_allowed(self, allowed_special: AllowedSpecial) -> frozenset[str]:
        if isinstance(allowed_special, str):
            if allowed_special == "all":
                return frozenset(self._special)
            if allowed_special == "none":
                return frozenset()
            raise ValueError(
                f"allowed_special must be 'all', 'none' or a set of special tokens, got {allowed_special!r}"
            )
        allowed = frozenset(allowed_special)
        unknown = allowed - self._special.keys()
        if unknown:
            raise ValueError(
                f"allowed_special names unknown special tokens {sorted(unknown)}; "
                f"this tokenizer has {sorted(self._special)}"
            )
        return allowed

    def _split_special(self, text: str, allowed: frozenset[str]) -> list[str]:
        """Split ``text`` into ``[plain, special, plain, special, ..., plain]``."""
        splitter = self._splitters.get(allowed)
        if splitter is None:
            # Longest first, so a special token that contains another one wins.
            alternatives = sorted(allowed, key=len, reverse=True)
            splitter = re.compile("(" + "|".join(map(re.escape, alternatives)) + ")")
            self._splitters[allowed] = splitter
        return splitter.split(text)

    def _encode_ordinary(self, text: str) -> list[int]:
        ids: list[int] = []
        cache = self._cache
        for chunk in self._pattern.findall(text):
            tokens = cache.get(chunk)
            if tokens is None:
                tokens = self._encode_chunk(chunk)
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                cache[chunk] = tokens
            ids.extend(tokens)
        return ids

    def _encode_chunk(self, chunk: str) -> list[int]:
        try:
            ids = list(chunk.encode("utf-8"))
        except UnicodeEncodeError as e:
            bad = chunk[e.start]
            raise ValueError(
                f"cannot encode lone surrogate {bad!r} (U+{ord(bad):04X}): text must be valid Unicode"
            ) from None
        ranks = self._ranks
        missing = 1 << 62
        # Apply the learned merges in training order: repeatedly merge the
        # present pair that was learned earliest, which reproduces training.
        while len(ids) > 1:
            best = min(itertools.pairwise(ids), key=lambda p: ranks.get(p, missing))
            if best not in ranks:
                break
            ids = merge_pair(ids, best[0], best[1], self._results[best])
        return ids

    def to_dict(self) -> dict[str, Any]:
        """Return the vocabulary size, pattern, special tokens and readable merges."""
        return {
            "vocab_size": self.vocab_size,
            "pattern": self._pattern_str,
            "special_tokens": dict(self._special),
            "merges": [
                [bytes_to_readable(self._vocab[a]), bytes_to_readable(self._vocab[b])]
                for a, b in self._merges
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild from :meth:`to_dict` output.

        Raises:
            ValueError: If a merge names a token that no earlier merge or byte
                defines, or the special-token ids are not the ones after the merges.
        """
        try:
            merge_strs = data["merges"]
            special = data.get("special_tokens", {})
            pattern = data.get("pattern", GPT2_SPLIT_PATTERN)
        except (KeyError, AttributeError):
            raise ValueError("BPE tokenizer data needs a 'merges' list") from None
        # Tokens are identified by their bytes, so ids follow from the order
        # in which merges first create each byte string (as in training).
        known = {bytes([i]): i for i in range(256)}
        merges = []
        for k, pair in enumerate(merge_strs):
            if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(t, str) for t in pair)):
                raise ValueError(f"merge {k} must be a pair of token strings, got {pair!r}")
            left, right = (readable_to_bytes(t) for t in pair)
            if left not in known or right not in known:
                missing = pair[0] if left not in known else pair[1]
                raise ValueError(f"merge {k} {pair!r} uses token {missing!r}, which no earlier merge creates")
            merges.append((known[left], known[right]))
            known.setdefault(left + right, len(known))
        # Ids are implied by order; the stored ids are there for readers and
        # are checked so a hand-edited file cannot silently shift them.
        names = sorted(special, key=special.get)
        tok = cls(merges, names, pattern)
        if tok._special != dict(special):
            raise ValueError(
                f"special token ids {dict(special)} must follow the {len(merges)} merges, "
                f"i.e. be {tok._special}"
            )
        return tok

    def __repr__(self) -> str:
        return (
            f"BPETokenizer(vocab_size={self.vocab_size}, merges={len(self._merges)}, "
            f"special_tokens={list(self._special)})"
        )
