"""Measure ember's per-op overhead, matmul and elementwise throughput against PyTorch and NumPy.

All libraries run in the same process, and their repeats alternate (ember, torch,
NumPy, ember, ...), so a load spike on a shared machine hits them alike. Prints one
JSON object per measurement, then a table with ember, torch, NumPy and the ratios. Run
from the repository root:

    python benchmarks/ops.py            # full run (about a minute)
    python benchmarks/ops.py --quick    # a smoke run with small sizes

Measurements:
    chain: ``x = tanh(x * w + b)`` repeated ``--chain`` times on 0-d float32 tensors with
        ``requires_grad`` x0, w and b, then ``x.backward()``; microseconds per op, where
        one link is three ops (mul, add, tanh). Forward and backward are also reported
        apart (the graph's teardown counts in backward), and so is the time the cyclic
        garbage collector took during the run (``gc_us_per_op``, part of the total).
        ``chain_alone`` repeats ember's chain in a fresh process that never imported
        torch, whose many objects make each full collection slower.
    matmul: ``a @ b`` of two (n, n) float32 matrices, GFLOP/s (2 n^3 flops per product).
    add: ``a + b`` of two float32 vectors of ``--add-size`` elements, GB/s counting three
        arrays (two read, one written).

Every figure is the median of ``--repeats`` timed runs after warm-up runs, with
``gc.collect()`` before each run; the garbage collector stays enabled while timing,
since that is what users get.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # so the script runs from a checkout without installing ember

import numpy as np  # noqa: E402  # the NumPy baseline

import ember  # noqa: E402

try:
    import torch
except ImportError:  # the table then has no torch column
    torch = None


class GcTimer:
    """Sum the time the cyclic garbage collector spends, through ``gc.callbacks``."""

    def __init__(self) -> None:
        self.total = 0.0
        self._start = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.total += time.perf_counter() - self._start


def interleaved(runs: dict[str, Callable[[], Any]], repeats: int, warmup: int) -> dict[str, list[Any]]:
    """Call each of ``runs`` in turn, ``warmup`` rounds untimed then ``repeats`` rounds; return the results.

    Each call returns its own timing (a float, or a dict of floats); ``gc.collect()``
    runs before each call so that no run pays for the garbage of the one before.
    """
    out: dict[str, list[Any]] = {name: [] for name in runs}
    for r in range(warmup + repeats):
        for name, run in runs.items():
            gc.collect()
            res = run()
            if r >= warmup:
                out[name].append(res)
    return out


def timed(fn: Callable[[], Any]) -> Callable[[], float]:
    def run() -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    return run


def chain_run(lib: Any, n: int) -> Callable[[], dict[str, float]]:
    """One run of ``n`` links of ``x = tanh(x * w + b)``, forward then backward; seconds of each."""
    x0 = lib.tensor(0.5, requires_grad=True)
    w = lib.tensor(0.9, requires_grad=True)
    b = lib.tensor(0.1, requires_grad=True)

    def run() -> dict[str, float]:
        for t in (x0, w, b):
            t.grad = None
        gc_timer = GcTimer()
        gc.callbacks.append(gc_timer)
        try:
            t0 = time.perf_counter()
            x = x0
            for _ in range(n):
                x = (x * w + b).tanh()
            t1 = time.perf_counter()
            x.backward()
            del x  # the graph's teardown is part of the step's cost
            t2 = time.perf_counter()
        finally:
            gc.callbacks.remove(gc_timer)
        return {"fwd": t1 - t0, "bwd": t2 - t1, "gc": gc_timer.total}

    return run


def main() -> None:
    """Run the measurements and print JSON lines, then the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats (a smoke run)")
    parser.add_argument("--chain", type=int, default=10_000, help="links in the scalar chain")
    parser.add_argument("--matmul-size", type=int, default=1024)
    parser.add_argument("--add-size", type=int, default=16 * 2**20)
    parser.add_argument("--repeats", type=int, default=9, help="timed runs per measurement (median)")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out even if it is installed")
    parser.add_argument(
        "--chain-only", action="store_true", help="run only the chain (used for the 'alone' row)"
    )
    args = parser.parse_args()
    if args.quick:
        args.chain, args.matmul_size, args.add_size, args.repeats = 300, 128, 2**16, 3
    tlib = None if args.no_torch else torch
    warmup = 1 if args.quick else 2
    frameworks = {"ember": ember} | ({"torch": tlib} if tlib is not None else {})

    rows: list[dict[str, Any]] = []

    def record(benchmark: str, lib: str, unit: str, value: float, **extra: Any) -> None:
        row = {"benchmark": benchmark, "lib": lib, "unit": unit, "value": round(value, 4), **extra}
        rows.append(row)
        print(json.dumps(row), flush=True)

    # (a) per-op overhead: microseconds per op, three ops per link
    n = args.chain
    res = interleaved({name: chain_run(lib, n) for name, lib in frameworks.items()}, args.repeats, warmup)
    us = 1e6 / (3 * n)
    for name, runs in res.items():
        med = {k: statistics.median(r[k] for r in runs) for k in ("fwd", "bwd", "gc")}
        total = statistics.median(r["fwd"] + r["bwd"] for r in runs)
        record("chain_fwd_bwd", name, "us/op", total * us, n=n, gc_us_per_op=round(med["gc"] * us, 3))
        record("chain_fwd", name, "us/op", med["fwd"] * us, n=n)
        record("chain_bwd", name, "us/op", med["bwd"] * us, n=n)
    if args.chain_only:
        return
    if tlib is not None and not args.quick:
        # the same chain in a fresh process that never imported torch: the collector's
        # full collections there walk ember's objects only, as in an ember-only program
        cmd = [sys.executable, __file__, "--chain-only", "--no-torch", "--chain", str(n),
               "--repeats", str(args.repeats)]
        alone = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        for row in (json.loads(line) for line in alone.splitlines() if line.startswith("{")):
            if row["benchmark"] == "chain_fwd_bwd":
                record("chain_alone", "ember", "us/op", row["value"], n=n, gc_us_per_op=row["gc_us_per_op"])

    # (b) matmul of two (n, n) float32 matrices
    m = args.matmul_size
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, m), dtype=np.float32)
    b = rng.standard_normal((m, m), dtype=np.float32)
    ea, eb = ember.from_numpy(a), ember.from_numpy(b)
    runs = {"numpy": timed(lambda: a @ b), "ember": timed(lambda: ea @ eb)}
    if tlib is not None:
        ta, tb = tlib.from_numpy(a), tlib.from_numpy(b)
        runs["torch"] = timed(lambda: ta @ tb)
    for name, secs in interleaved(runs, 2 * args.repeats, warmup).items():
        record("matmul", name, "GFLOP/s", 2.0 * m**3 / statistics.median(secs) / 1e9, n=m)

    # (c) elementwise add of two float32 vectors
    k = args.add_size
    x = rng.standard_normal(k, dtype=np.float32)
    y = rng.standard_normal(k, dtype=np.float32)
    ex, ey = ember.from_numpy(x), ember.from_numpy(y)
    runs = {"numpy": timed(lambda: x + y), "ember": timed(lambda: ex + ey)}
    if tlib is not None:
        tx, ty = tlib.from_numpy(x), tlib.from_numpy(y)
        runs["torch"] = timed(lambda: tx + ty)
    for name, secs in interleaved(runs, args.repeats, warmup).items():
        record("add", name, "GB/s", 3 * 4 * k / statistics.median(secs) / 1e9, n=k)

    print_table(rows, args, tlib)


def print_table(rows: list[dict[str, Any]], args: argparse.Namespace, tlib: Any) -> None:
    """Print one line per benchmark: each library's figure and ember's ratio to torch and NumPy."""
    print(
        f"\nPython {platform.python_version()}, NumPy {np.__version__}"
        + (f", torch {tlib.__version__} ({tlib.get_num_threads()} threads)" if tlib is not None else "")
        + f"; medians of {args.repeats} runs ({2 * args.repeats} for matmul); chain of {args.chain} links"
    )
    print(f"{'benchmark':<15}{'unit':<9}{'ember':>10}{'torch':>10}{'numpy':>10}{'ember/torch':>13}{'ember/numpy':>13}")
    for name in dict.fromkeys(r["benchmark"] for r in rows):
        vals = {r["lib"]: r["value"] for r in rows if r["benchmark"] == name}
        unit = next(r["unit"] for r in rows if r["benchmark"] == name)
        e = vals.get("ember")
        cells = "".join(
            f"{vals[lib]:>10.2f}" if lib in vals else f"{'-':>10}" for lib in ("ember", "torch", "numpy")
        )
        ratios = "".join(
            f"{e / vals[lib]:>12.2f}x" if lib in vals and e is not None and vals[lib] else f"{'-':>13}"
            for lib in ("torch", "numpy")
        )
        print(f"{name:<15}{unit:<9}{cells}{ratios}")
    gc_rows = {f"{r['lib']} ({r['benchmark']})": r["gc_us_per_op"] for r in rows if "gc_us_per_op" in r}
    print("of which garbage collection: " + ", ".join(f"{k} {v:.2f} us/op" for k, v in gc_rows.items()))
    print("chain_alone: ember's chain in a separate process that never imported torch.")
    print("us/op: lower is better (ratio < 1: ember is faster); GFLOP/s and GB/s: higher is better.")


if __name__ == "__main__":
    main()
