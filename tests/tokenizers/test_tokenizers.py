"""Tests for ember.tokenizers: round trips, training, special tokens, files and errors."""

from __future__ import annotations

import ast
import functools
import itertools
import json
import re
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ember.tokenizers import GPT2_SPLIT_PATTERN, BPETokenizer, CharTokenizer, Tokenizer, load_tokenizer
from ember.tokenizers._readable import bytes_to_readable, readable_to_bytes

EOT = "<|endoftext|>"
SHAKESPEARE = Path(__file__).parents[2] / ".." / "shared" / "data" / "tinyshakespeare.txt"
PACKAGE_DIR = Path(__file__).parents[2] / "ember" / "tokenizers"
DOCS = Path(__file__).parents[2] / "docs" / "tokenizers.md"

SAMPLE = (
    "First Citizen:\nBefore we proceed any further, hear me speak.\n\n"
    "All:\nSpeak, speak.\n\nFirst Citizen:\nYou are all resolved rather to die than to famish?\n\n"
    "Ünïcödé: naïve café, 日本語のテキスト, emoji 🙂👍🏽, combining e\u0301 and numbers 12345 1½.\n"
) * 8


@functools.cache
def trained_bpe() -> BPETokenizer:
    # Cached instead of a fixture so hypothesis tests can share it.
    return BPETokenizer.train(SAMPLE + EOT + SAMPLE.upper(), vocab_size=400, special_tokens=[EOT, "<|pad|>"])


# ---------------------------------------------------------------- reference BPE


def naive_learn_merges(text: str, num_new_tokens: int) -> list[tuple[int, int]]:
    """Learn merges by recounting every pair at every step (slow, obviously correct)."""
    words = Counter(re.findall(GPT2_SPLIT_PATTERN, text))
    seqs = [(list(w.encode()), n) for w, n in words.items()]
    vocab = {bytes([i]): i for i in range(256)}
    id_bytes = [bytes([i]) for i in range(256)]
    merges: list[tuple[int, int]] = []
    while len(vocab) - 256 < num_new_tokens:
        counts: Counter[tuple[int, int]] = Counter()
        for ids, n in seqs:
            for p in itertools.pairwise(ids):
                counts[p] += n
        if not counts:
            break
        best = min(counts, key=lambda p: (-counts[p], p))
        merged = id_bytes[best[0]] + id_bytes[best[1]]
        if merged not in vocab:
            vocab[merged] = len(id_bytes)
            id_bytes.append(merged)
        if best not in merges:
            merges.append(best)
        seqs = [(naive_merge(ids, best, vocab[merged]), n) for ids, n in seqs]
    return merges


def naive_merge(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    out, i = [], 0
    while i < len(ids):
        if tuple(ids[i : i + 2]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def naive_encode(tok: BPETokenizer, text: str) -> list[int]:
    """Encode by applying every merge, in training order, to every chunk."""
    out: list[int] = []
    for chunk in re.findall(tok.pattern, text):
        ids = list(chunk.encode())
        for a, b in tok.merges:
            ids = naive_merge(ids, (a, b), tok.token_to_id(tok.id_to_bytes(a) + tok.id_to_bytes(b)))
        out.extend(ids)
    return out


# ---------------------------------------------------------------- CharTokenizer


def test_char_vocab_is_sorted_characters() -> None:
    tok = CharTokenizer.from_text("hello world")
    assert tok.chars == sorted(set("hello world"))
    assert tok.vocab_size == len(tok) == 8
    assert tok.encode("hello") == [tok.token_to_id(c) for c in "hello"]
    assert tok.decode(tok.encode("low world")) == "low world"
    assert CharTokenizer.train("hello world").chars == tok.chars


@given(st.text())
def test_char_round_trip(text: str) -> None:
    tok = CharTokenizer.from_text(text)
    assert tok.decode(tok.encode(text)) == text


def test_char_unknown_character_is_named() -> None:
    tok = CharTokenizer.from_text("abc")
    with pytest.raises(ValueError, match=r"unknown character 'z' \(U\+007A\) at index 2"):
        tok.encode("abz")


@pytest.mark.parametrize("ids", [[0, 3], [-1]])
def test_char_decode_rejects_bad_ids(ids: list[int]) -> None:
    with pytest.raises(ValueError, match="out of range for vocabulary size 3"):
        CharTokenizer.from_text("abc").decode(ids)


def test_char_decode_accepts_arrays_and_rejects_non_integers() -> None:
    tok = CharTokenizer.from_text("abc")
    assert tok.decode(np.array([2, 1, 0])) == "cba"
    assert tok.decode((np.int64(0), 1)) == "ab"
    with pytest.raises(ValueError, match="token ids must be integers"):
        tok.decode([0.5])  # type: ignore[list-item]


def test_char_rejects_bad_vocabulary() -> None:
    with pytest.raises(ValueError, match="appears twice"):
        CharTokenizer(["a", "a"])
    with pytest.raises(ValueError, match="single character"):
        CharTokenizer(["ab"])


def test_char_save_load(tmp_path: Path) -> None:
    tok = CharTokenizer.from_text(SAMPLE)
    path = tmp_path / "char.json"
    tok.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["type"] == "char" and data["vocab"] == tok.chars
    assert "日" in path.read_text(encoding="utf-8")  # stored readably, not as \\u escapes
    for loaded in (CharTokenizer.load(path), load_tokenizer(path), Tokenizer.load(path)):
        assert isinstance(loaded, CharTokenizer)
        assert loaded.encode(SAMPLE) == tok.encode(SAMPLE)


# ---------------------------------------------------------------- BPE round trips


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_bpe_round_trip_arbitrary_text(text: str) -> None:
    tok = trained_bpe()
    assert tok.decode(tok.encode(text)) == text
    assert tok.decode(tok.encode(text, allowed_special="none")) == text


@settings(deadline=None)
@given(st.lists(st.one_of(st.text(max_size=20), st.sampled_from([EOT, "<|pad|>", "<|", "|>"]))))
def test_bpe_round_trip_with_special_tokens(parts: list[str]) -> None:
    tok = trained_bpe()
    text = "".join(parts)
    for allowed in ("all", "none", {EOT}):
        assert tok.decode(tok.encode(text, allowed_special=allowed)) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "a",
        "\n\n\n",
        "  leading and trailing  ",
        "tab\tand\r\nCRLF",
        "👨‍👩‍👧‍👦 family",
        "e\u0301\u0301",
        "\x00\x7f\u200b",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
        "it's they're we'll I'd",
        "under_score x_1",
    ],
)
def test_bpe_round_trip_edge_cases(text: str) -> None:
    tok = trained_bpe()
    assert tok.decode(tok.encode(text)) == text


def test_bpe_empty_string() -> None:
    tok = trained_bpe()
    assert tok.encode("") == []
    assert tok.decode([]) == ""


def test_bpe_decode_invalid_utf8_uses_replacement_character() -> None:
    tok = trained_bpe()
    ids = tok.encode("🙂")
    assert tok.decode(ids[:1]) == "\ufffd"
    assert tok.decode([0xC3, ord("a")]) == "\ufffda"
    assert tok.decode(np.array(ids)) == "🙂"


def test_bpe_decode_rejects_out_of_range_ids() -> None:
    tok = trained_bpe()
    with pytest.raises(ValueError, match=f"token id {tok.vocab_size} is out of range"):
        tok.decode([1, tok.vocab_size])
    with pytest.raises(ValueError, match="token id -1 is out of range"):
        tok.decode([-1])


def test_bpe_lone_surrogate_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"lone surrogate .* \(U\+D800\)"):
        trained_bpe().encode("ab\ud800")


# ---------------------------------------------------------------- special tokens


def test_special_tokens_encode_to_single_ids() -> None:
    tok = trained_bpe()
    eot, pad = tok.special_tokens[EOT], tok.special_tokens["<|pad|>"]
    assert (eot, pad) == (tok.vocab_size - 2, tok.vocab_size - 1)
    assert tok.encode(EOT) == [eot]
    ids = tok.encode(f"Speak.{EOT}<|pad|>First")
    assert ids[-len(tok.encode("First")) - 2 : -len(tok.encode("First"))] == [eot, pad]
    assert tok.token_to_id(EOT) == eot and tok.id_to_token(eot) == EOT


def test_allowed_special_controls_which_become_single_ids() -> None:
    tok = trained_bpe()
    eot, pad = tok.special_tokens[EOT], tok.special_tokens["<|pad|>"]
    text = f"a{EOT}b<|pad|>"
    assert eot in tok.encode(text) and pad in tok.encode(text)
    none = tok.encode(text, allowed_special="none")
    assert eot not in none and pad not in none
    only_eot = tok.encode(text, allowed_special={EOT})
    assert eot in only_eot and pad not in only_eot


def test_allowed_special_errors() -> None:
    tok = trained_bpe()
    with pytest.raises(ValueError, match=r"unknown special tokens \['<\|bos\|>'\]"):
        tok.encode("x", allowed_special={"<|bos|>"})
    with pytest.raises(ValueError, match="must be 'all', 'none' or a set"):
        tok.encode("x", allowed_special="some")


def test_special_tokens_are_cut_from_training_text() -> None:
    tok = BPETokenizer.train(("hello" + EOT) * 100, vocab_size=261, special_tokens=[EOT])
    learned = [tok.id_to_bytes(i) for i in range(256, tok.vocab_size - 1)]
    assert all(b"|" not in t and b"<" not in t for t in learned)


def test_overlapping_special_tokens_prefer_the_longest() -> None:
    tok = BPETokenizer([], special_tokens=["<|a|>", "<|a|><|b|>"])
    assert tok.encode("<|a|><|b|><|a|>") == [257, 256]


@pytest.mark.parametrize("specials, match", [([EOT, EOT], "listed twice"), ([""], "non-empty strings")])
def test_bad_special_tokens(specials: list[str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        BPETokenizer.train("abc", 300, special_tokens=specials)


# ---------------------------------------------------------------- training


def test_most_frequent_pair_is_merged_first() -> None:
    tok = BPETokenizer.train("abababab cdcd", vocab_size=259)
    # "ab" occurs 4 times; then "ab ab" 3 times; then "cd" twice.
    assert tok.merges == [(ord("a"), ord("b")), (256, 256), (ord("c"), ord("d"))]
    assert [tok.id_to_token(i) for i in (256, 257, 258)] == ["ab", "abab", "cd"]
    assert tok.encode("abababab") == [257, 257]


def test_training_matches_naive_reference() -> None:
    text = SAMPLE[:3000]
    tok = BPETokenizer.train(text, vocab_size=330)
    assert tok.merges == naive_learn_merges(text, 330 - 256)


def test_training_is_deterministic() -> None:
    assert BPETokenizer.train(SAMPLE, 350).merges == BPETokenizer.train(SAMPLE, 350).merges


@settings(deadline=None)
@given(st.text(alphabet="ab c\né", max_size=60))
def test_encode_matches_applying_all_merges_in_order(text: str) -> None:
    tok = bpe_on_small_alphabet()
    assert tok.encode(text) == naive_encode(tok, text)


@functools.cache
def bpe_on_small_alphabet() -> BPETokenizer:
    return BPETokenizer.train("aab abba cab ba éa\n" * 5 + "ababab bababa", vocab_size=272)


def test_vocab_size_too_small() -> None:
    with pytest.raises(ValueError, match=r"vocab_size=256 is too small: .* = 257"):
        BPETokenizer.train("abc", 256, special_tokens=[EOT])


def test_short_text_warns_when_it_cannot_fill_the_vocabulary() -> None:
    with pytest.warns(UserWarning, match="vocab_size is 258 instead of 1000"):
        tok = BPETokenizer.train("abc", 1000)
    assert tok.vocab_size == 258  # "ab", then "abc"


def test_merge_that_recreates_a_token_reuses_its_id(tmp_path: Path) -> None:
    a, b, c = ord("a"), ord("b"), ord("c")
    # (ab, c) and (a, bc) both spell "abc": one token, two merges.
    tok = BPETokenizer([(a, b), (b, c), (256, c), (a, 257)])
    assert tok.vocab_size == 259
    assert tok.token_to_id("abc") == 258
    path = tmp_path / "dup.json"
    tok.save(path)
    loaded = BPETokenizer.load(path)
    assert loaded.merges == tok.merges and loaded.vocab_size == 259


def test_token_lookup_round_trips_for_every_id() -> None:
    tok = trained_bpe()
    for i in range(tok.vocab_size):
        assert tok.token_to_id(tok.id_to_token(i)) == i
        assert tok.token_to_id(tok.id_to_bytes(i)) == i
    with pytest.raises(ValueError, match="not a single token"):
        tok.token_to_id("definitely not one token")


# ---------------------------------------------------------------- files


def test_bpe_save_load_gives_identical_encodings(tmp_path: Path) -> None:
    tok = trained_bpe()
    path = tmp_path / "bpe.json"
    tok.save(path)
    text = SAMPLE + EOT + "unseen text: 🚀 Ωμέγα"
    for loaded in (BPETokenizer.load(path), load_tokenizer(path)):
        assert isinstance(loaded, BPETokenizer)
        assert loaded.vocab_size == tok.vocab_size
        assert loaded.special_tokens == tok.special_tokens
        assert loaded.encode(text) == tok.encode(text)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["type"] == "bpe"
    assert all(isinstance(t, str) for pair in data["merges"] for t in pair)
    assert data["merges"][0] == [tok.id_to_token(i) for i in tok.merges[0]]


def test_saved_merges_are_readable(tmp_path: Path) -> None:
    tok = BPETokenizer.train(" the the the ééé \\\\ ", vocab_size=264)
    path = tmp_path / "bpe.json"
    tok.save(path)
    text = path.read_text(encoding="utf-8")
    assert '[" ", "t"]' in text  # one merge per line, as token strings
    assert '["é", "é"]' in text  # whole characters stay readable...
    assert '["\\\\xc3", "\\\\xa9"]' in text  # ...and partial ones show their bytes
    assert BPETokenizer.load(path).merges == tok.merges


@given(st.binary())
def test_readable_token_form_is_reversible(raw: bytes) -> None:
    assert readable_to_bytes(bytes_to_readable(raw)) == raw


def test_loading_the_wrong_kind_or_a_broken_file(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    CharTokenizer.from_text("abc").save(path)
    with pytest.raises(ValueError, match="holds a 'char' tokenizer, not a 'bpe' one"):
        BPETokenizer.load(path)
    path.write_text('{"type": "wordpiece", "version": 1}')
    with pytest.raises(ValueError, match="unknown tokenizer type 'wordpiece'"):
        load_tokenizer(path)
    path.write_text('{"type": "bpe", "version": 99, "merges": []}')
    with pytest.raises(ValueError, match="format version 99"):
        load_tokenizer(path)
    path.write_text("not json")
    with pytest.raises(ValueError, match="invalid JSON"):
        load_tokenizer(path)
    path.write_text('{"type": "bpe", "version": 1, "merges": [["a", "zz"]]}')
    with pytest.raises(ValueError, match="uses token 'zz', which no earlier merge creates"):
        load_tokenizer(path)
    path.write_text('{"type": "char", "version": 1, "vocab_size": 3, "vocab": ["a", "b"]}')
    with pytest.raises(ValueError, match="says vocab_size=3 but its contents define 2 tokens"):
        CharTokenizer.load(path)
    path.write_text('{"type": "bpe", "version": 1, "merges": [], "special_tokens": {"<|x|>": 5}}')
    with pytest.raises(ValueError, match="must follow the 0 merges"):
        load_tokenizer(path)


def test_tokenizer_is_an_abstract_base() -> None:
    assert isinstance(trained_bpe(), Tokenizer) and isinstance(CharTokenizer([]), Tokenizer)
    with pytest.raises(TypeError):
        Tokenizer()  # type: ignore[abstract]


def test_package_does_not_import_the_rest_of_ember() -> None:
    for path in PACKAGE_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                assert node.level <= 1, f"{path.name} imports from outside ember.tokenizers"
                assert node.level == 1 or not (node.module or "").startswith("ember"), path.name
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("ember") for a in node.names), path.name


# ---------------------------------------------------------------- real data


@pytest.mark.skipif(not SHAKESPEARE.exists(), reason="tiny Shakespeare not found in shared/data")
def test_tiny_shakespeare(tmp_path: Path) -> None:
    text = SHAKESPEARE.read_text(encoding="utf-8")
    train, held_out = text[:200_000], text[200_000:300_000]
    tok = BPETokenizer.train(train, vocab_size=300, special_tokens=[EOT])
    assert tok.vocab_size == 300
    learned = {tok.id_to_token(i) for i in range(256, 299)}
    assert {" t", "he", " the"} <= learned
    ids = tok.encode(held_out)
    assert tok.decode(ids) == held_out
    assert len(held_out.encode()) / len(ids) > 1.3  # merges compress unseen text
    path = tmp_path / "shakespeare.json"
    tok.save(path)
    assert load_tokenizer(path).encode(held_out) == ids
    char = CharTokenizer.from_text(text)
    assert char.vocab_size == 65
    assert char.decode(char.encode(held_out)) == held_out


@pytest.mark.skipif(not DOCS.exists(), reason="docs/tokenizers.md not found")
def test_docs_examples_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)
    assert blocks
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # examples should not trigger warnings either
        for block in blocks:
            exec(compile(block, str(DOCS), "exec"), {})  # noqa: S102 - the docs are our own code
