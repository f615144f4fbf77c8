"""Indexing on the GPT hot path, ember vs PyTorch in the same run, plus the scatter-add kernels.

- ``embedding``: ``w[idx]`` forward and backward for (B, T) int64 indices into a (V, C)
  float32 table (ember) against ``F.embedding`` (torch), at a char-level size, a mid
  size and GPT-2's vocabulary.
- ``scatter_add``: the backward's kernel alone, ``out[idx] += src`` with repeated rows:
  ``NumpyBuffer._add_rows_grouped`` (what ember uses) against ``np.add.at``.
- ``slice``: ``x[:, -1, :]`` on a (B, T, V) float32 tensor (per-call overhead).

Repeats alternate between the contenders, so load on a shared machine hits all alike.
Prints one JSON object per measurement, then a table of medians (milliseconds).

    python benchmarks/indexing.py [--repeats 9] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import ember
from ember.backend.numpy_cpu import NumpyBuffer

try:
    import torch
except ImportError:
    torch = None


def timed(fn: Callable[[], Any]) -> Callable[[], float]:
    def run() -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    return run


def interleaved(runs: dict[str, Callable[[], float]], repeats: int) -> dict[str, float]:
    """Median seconds of each run, after one warm-up round, calling them in turn."""
    out: dict[str, list[float]] = {k: [] for k in runs}
    for r in range(repeats + 1):
        for name, run in runs.items():
            gc.collect()
            t = run()
            if r:
                out[name].append(t)
    return {k: statistics.median(v) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--quick", action="store_true", help="small sizes, 3 repeats")
    args = parser.parse_args()
    sizes = [(65, 384, 64, 256), (1000, 128, 32, 128), (50257, 768, 8, 1024)]
    if args.quick:
        sizes, args.repeats = [(65, 64, 8, 32)], 3
    rows: list[dict[str, Any]] = []

    def record(bench: str, lib: str, value: float, unit: str = "ms", **extra: Any) -> None:
        row = {"benchmark": bench, "lib": lib, "unit": unit, "value": round(value, 4), **extra}
        rows.append(row)
        print(json.dumps(row), flush=True)

    rng = np.random.default_rng(0)
    for v, c, b, t in sizes:
        w = rng.standard_normal((v, c), dtype=np.float32)
        idx = rng.integers(0, v, (b, t))
        g = rng.standard_normal((b, t, c), dtype=np.float32)
        ew, ei, eg = ember.from_numpy(w.copy()).requires_grad_(), ember.from_numpy(idx), ember.from_numpy(g)

        def ember_step(ew: Any = ew, ei: Any = ei, eg: Any = eg) -> None:
            ew.grad = None
            ew[ei].backward(eg)

        runs = {"ember": timed(ember_step)}
        if torch is not None:
            tw, ti, tg = (
                torch.from_numpy(w.copy()).requires_grad_(), torch.from_numpy(idx), torch.from_numpy(g)
            )

            def torch_step(tw: Any = tw, ti: Any = ti, tg: Any = tg) -> None:
                tw.grad = None
                torch.nn.functional.embedding(ti, tw).backward(tg)

            runs["torch"] = timed(torch_step)
        tag = f"V={v} C={c} N={b * t}"
        for lib, secs in interleaved(runs, args.repeats).items():
            record("embedding fwd+bwd", lib, secs * 1e3, size=tag)

        flat, src = idx.reshape(-1), g.reshape(-1, c)

        def grouped(v: int = v, c: int = c, flat: Any = flat, src: Any = src) -> None:
            NumpyBuffer._add_rows_grouped(np.zeros((v, c), np.float32), flat, src)

        def add_at(v: int = v, c: int = c, flat: Any = flat, src: Any = src) -> None:
            np.add.at(np.zeros((v, c), np.float32), flat, src)

        for lib, secs in interleaved(
            {"ember": timed(grouped), "np.add.at": timed(add_at)}, args.repeats
        ).items():
            record("scatter_add", lib, secs * 1e3, size=tag)

    x = rng.standard_normal((12, 64, 65), dtype=np.float32)
    ex = ember.from_numpy(x)
    runs = {"ember": timed(lambda: [ex[:, -1, :] for _ in range(1000)])}
    if torch is not None:
        tx = torch.from_numpy(x)
        runs["torch"] = timed(lambda: [tx[:, -1, :] for _ in range(1000)])
    for lib, secs in interleaved(runs, args.repeats).items():
        record("slice x[:, -1, :]", lib, secs * 1e3, unit="us", size="per call")  # 1000 calls: s -> us/call

    print(f"\nmedians of {args.repeats} runs; ms (slice: us per call); lower is better")
    print(f"{'benchmark':<20}{'size':<24}{'ember':>10}{'other':>12}{'ratio':>9}  other is")
    keys = dict.fromkeys((r["benchmark"], r["size"]) for r in rows)
    for bench, size in keys:
        vals = {r["lib"]: r["value"] for r in rows if r["benchmark"] == bench and r["size"] == size}
        other = next((k for k in vals if k != "ember"), None)
        if other is None:
            print(f"{bench:<20}{size:<24}{vals['ember']:>10.3f}")
            continue
        ratio = vals["ember"] / vals[other] if vals[other] else float("nan")
        print(f"{bench:<20}{size:<24}{vals['ember']:>10.3f}{vals[other]:>12.3f}{ratio:>8.2f}x  {other}")


if __name__ == "__main__":
    main()
