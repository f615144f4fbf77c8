"""Byte-pair-encoding merge learning on word counts with incremental pair statistics.

Training never touches the full token stream. The text is pre-tokenized into
chunks ("words"), identical chunks are counted once, and merges are applied to
the unique words only, weighting each by its frequency. After a merge only the
words that contained the merged pair change, so pair counts are updated for
those words alone, found through an index from pair to the words holding it.
The most frequent pair is kept at the top of a heap whose stale entries are
skipped when popped.
"""

from __future__ import annotations

import heapq
import itertools
import re
from collections import Counter
from collections.abc import Iterable

Pair = tuple[int, int]


def count_words(segments: Iterable[str], pattern: re.Pattern[str]) -> Counter[str]:
    """Count the pre-tokenized chunks of every segment.

    Args:
        segments: Pieces of training text (special tokens already removed).
        pattern: Pre-tokenization regex; its matches are the chunks.

    Returns:
        A counter from chunk to number of occurrences.
    """
    counts: Counter[str] = Counter()
    for segment in segments:
        counts.update(pattern.findall(segment))
    return counts


def learn_merges(word_counts: Counter[str] | dict[str, int], num_new_tokens: int) -> list[Pair]:
    """Learn byte-pair merges from chunk frequencies until ``num_new_tokens`` tokens exist.

    Token ids 0-255 are the raw bytes and each merge's result gets the next
    free id, except when its bytes already form a token (``(ab, c)`` and
    ``(a, bc)`` both give ``abc``), which then keeps a single id; so merges
    can outnumber new tokens slightly. At each step the adjacent pair with the
    highest total count wins; ties go to the pair with the smallest ids so
    training is deterministic. Pairs are counted with overlaps (``"aaa"``
    holds ``(a, a)`` twice) as in GPT-2.

    Args:
        word_counts: Chunk -> frequency, as returned by :func:`count_words`.
        num_new_tokens: Number of tokens to add to the 256 bytes; fewer are
            added when no adjacent pair is left (every chunk is one token).

    Returns:
        The merges in the order learned, each as ``(left_id, right_id)``,
        without repeats.
    """
    words: list[list[int]] = []
    freqs: list[int] = []
    for chunk, n in word_counts.items():
        ids = list(chunk.encode("utf-8"))
        # One-token words have no pairs and can never change; skip them.
        if len(ids) > 1:
            words.append(ids)
            freqs.append(n)

    pair_counts: dict[Pair, int] = {}
    where: dict[Pair, set[int]] = {}
    for wi, (w, f) in enumerate(zip(words, freqs)):
        for pair in itertools.pairwise(w):
            pair_counts[pair] = pair_counts.get(pair, 0) + f
            s = where.get(pair)
            if s is None:
                where[pair] = {wi}
            else:
                s.add(wi)

    heap = [(-c, a, b) for (a, b), c in pair_counts.items()]
    heapq.heapify(heap)

    vocab = [bytes([i]) for i in range(256)]
    bytes_to_id = {t: i for i, t in enumerate(vocab)}
    merges: list[Pair] = []
    seen: set[Pair] = set()
    while len(vocab) - 256 < num_new_tokens:
        best = _pop_best(heap, pair_counts)
        if best is None:
            break
        merged = vocab[best[0]] + vocab[best[1]]
        new_id = bytes_to_id.get(merged)
        if new_id is None:
            new_id = bytes_to_id[merged] = len(vocab)
            vocab.append(merged)
        # A pair can reappear after its first merge only when a token is
        # re-created under another split; its first rank already covers it.
        if best not in seen:
            seen.add(best)
            merges.append(best)
        touched = _apply_merge(best, new_id, words, freqs, pair_counts, where)
        for pair in touched:
            c = pair_counts.get(pair, 0)
            if c > 0:
                heapq.heappush(heap, (-c, pair[0], pair[1]))
            else:
                pair_counts.pop(pair, None)
    return merges


def _pop_best(heap: list[tuple[int, int, int]], pair_counts: dict[Pair, int]) -> Pair | None:
    # Entries go stale when a pair's count changes (a fresh entry is pushed
    # then); an entry is current only if its count still matches.
    while heap:
        neg, a, b = heapq.heappop(heap)
        if pair_counts.get((a, b), 0) == -neg and neg < 0:
            return (a, b)
    return None


def _apply_merge(
    pair: Pair,
    new_id: int,
    words: list[list[int]],
    freqs: list[int],
    pair_counts: dict[Pair, int],
    where: dict[Pair, set[int]],
) -> set[Pair]:
    """Merge ``pair`` into ``new_id`` in every word holding it; return pairs whose count changed."""
    a, b = pair
    touched: set[Pair] = set()
    # The index may list words that lost the pair through an earlier merge
    # (entries are never removed, only added); merge_pair leaves those unchanged.
    for wi in where.pop(pair, ()):
        old = words[wi]
        new = merge_pair(old, a, b, new_id)
        if len(new) == len(old):
            continue
        f = freqs[wi]
        for p in itertools.pairwise(old):
            pair_counts[p] -= f
            touched.add(p)
        for p in itertools.pairwise(new):
            pair_counts[p] = pair_counts.get(p, 0) + f
            touched.add(p)
            s = where.get(p)
            if s is None:
                where[p] = {wi}
            else:
                s.add(wi)
        words[wi] = new
    return touched


def merge_pair(ids: list[int], a: int, b: int, new_id: int) -> list[int]:
    """Replace each non-overlapping ``a, b`` in ``ids``, scanning left to right, with ``new_id``."""
    out: list[int] = []
    i = 0
    n = len(ids)
    while i < n:
        if i < n - 1 and ids[i] == a and ids[i + 1] == b:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out
