"""Measure BPE training time and encode/decode throughput on tiny Shakespeare.

Prints one JSON object per measurement, then a table. Run from the repository root:

    python benchmarks/tokenizers.py
    python benchmarks/tokenizers.py --vocab-size 2048 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # so the script runs from a checkout without installing ember

from ember.tokenizers import BPETokenizer, CharTokenizer  # noqa: E402

DEFAULT_DATA = ROOT / ".." / "shared" / "data" / "tinyshakespeare.txt"


def best_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Run ``fn`` ``repeats`` times and return the fastest wall time and the last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    """Run the measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="UTF-8 text file")
    parser.add_argument("--vocab-size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3, help="report the fastest of this many runs")
    args = parser.parse_args()

    text = args.data.read_text(encoding="utf-8")
    mb = len(text.encode("utf-8")) / 1e6
    specials = ["<|endoftext|>"]
    rows: list[dict[str, Any]] = []

    def record(name: str, seconds: float, **extra: Any) -> None:
        row = {"benchmark": name, "seconds": round(seconds, 4), **extra}
        rows.append(row)
        print(json.dumps(row), flush=True)

    secs, tok = best_time(lambda: BPETokenizer.train(text, args.vocab_size, specials), args.repeats)
    record("bpe_train", secs, vocab_size=tok.vocab_size, input_mb=round(mb, 3))

    # A fresh tokenizer per run, so the per-chunk cache starts empty.
    def encode_cold() -> list[int]:
        return BPETokenizer(tok.merges, specials).encode(text)

    secs, ids = best_time(encode_cold, args.repeats)
    ratio = round(mb * 1e6 / len(ids), 3)
    record("bpe_encode_cold", secs, mb_per_s=round(mb / secs, 2), tokens=len(ids), bytes_per_token=ratio)
    secs, _ = best_time(lambda: tok.encode(text), args.repeats)
    record("bpe_encode_warm", secs, mb_per_s=round(mb / secs, 2))
    secs, decoded = best_time(lambda: tok.decode(ids), args.repeats)
    assert decoded == text, "BPE round trip failed"
    record("bpe_decode", secs, mb_per_s=round(mb / secs, 2))

    secs, char = best_time(lambda: CharTokenizer.from_text(text), args.repeats)
    record("char_build", secs, vocab_size=char.vocab_size)
    secs, char_ids = best_time(lambda: char.encode(text), args.repeats)
    record("char_encode", secs, mb_per_s=round(mb / secs, 2))
    secs, _ = best_time(lambda: char.decode(char_ids), args.repeats)
    record("char_decode", secs, mb_per_s=round(mb / secs, 2))

    print(f"\n{args.data.name}: {mb:.2f} MB, Python {platform.python_version()}, best of {args.repeats}")
    print(f"{'benchmark':<18}{'seconds':>10}{'MB/s':>10}  notes")
    for row in rows:
        notes = ", ".join(f"{k}={v}" for k, v in row.items() if k not in ("benchmark", "seconds", "mb_per_s"))
        speed = f"{row['mb_per_s']:.2f}" if "mb_per_s" in row else "-"
        print(f"{row['benchmark']:<18}{row['seconds']:>10.3f}{speed:>10}  {notes}")


if __name__ == "__main__":
    main()
