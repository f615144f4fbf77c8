"""Measure ember's per-op overhead, matmul and elementwise throughput against PyTorch and NumPy.

Both frameworks run in the same process, one after the other, so the numbers share the
machine's state. Prints one JSON object per measurement, then a table with ember, torch,
NumPy and the ratios. Run from the repository root:

    python benchmarks/ops.py            # full run (about a minute)
    python benchmarks/ops.py --quick    # a smoke run with small sizes

Measurements:
    chain: ``x = tanh(x * w + b)`` repeated ``--chain`` times on 0-d float32 tensors with
        ``requires_grad`` x0, w and b, then ``x.backward()``; microseconds per op, where
        one link is three ops (mul, add, tanh). Forward and backward are also reported
        apart. The graph's teardown is counted in backward.
    matmul: ``a @ b`` of two (n, n) float32 matrices, GFLOP/s (2 n^3 flops per product).
    add: ``a + b`` of two float32 vectors of ``--add-size`` elements, GB/s counting three
        arrays (two read, one written).

Every figure is the median of ``--repeats`` timed runs after warm-up runs, with
``gc.collect()`` between runs; the garbage collector stays enabled while timing, since
that is what users get.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # so the script runs from a checkout without installing ember

import numpy as np  # noqa: E402 - the NumPy baseline

import ember  # noqa: E402

try:
    import torch
except ImportError:  # the table then has no torch column
    torch = None


def median_time(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> float:
    """Run ``fn`` ``warmup`` times untimed, then ``repeats`` times; return the median seconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def chain(lib: Any, n: int, repeats: int) -> dict[str, float]:
    """Time ``n`` links of ``x = tanh(x * w + b)`` forward and backward; microseconds per op."""
    x0 = lib.tensor(0.5, requires_grad=True)
    w = lib.tensor(0.9, requires_grad=True)
    b = lib.tensor(0.1, requires_grad=True)
    fwd: list[float] = []
    bwd: list[float] = []
    for r in range(repeats + 2):  # the first two runs warm up
        for t in (x0, w, b):
            t.grad = None
        gc.collect()
        t0 = time.perf_counter()
        x = x0
        for _ in range(n):
            x = (x * w + b).tanh()
        t1 = time.perf_counter()
        x.backward()
        del x  # the graph's teardown is part of the step's cost
        t2 = time.perf_counter()
        if r >= 2:
            fwd.append(t1 - t0)
            bwd.append(t2 - t1)
    total = [f + b for f, b in zip(fwd, bwd)]
    ops = 3 * n
    us = 1e6 / ops
    return {
        "us_per_op": statistics.median(total) * us,
        "fwd_us_per_op": statistics.median(fwd) * us,
        "bwd_us_per_op": statistics.median(bwd) * us,
    }


def main() -> None:
    """Run the measurements and print JSON lines, then the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats (a smoke run)")
    parser.add_argument("--chain", type=int, default=10_000, help="links in the scalar chain")
    parser.add_argument("--matmul-size", type=int, default=1024)
    parser.add_argument("--add-size", type=int, default=16 * 2**20)
    parser.add_argument("--repeats", type=int, default=9, help="timed runs per measurement (median)")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if it is installed")
    args = parser.parse_args()
    if args.quick:
        args.chain, args.matmul_size, args.add_size, args.repeats = 300, 128, 2**16, 3
    tlib = None if args.no_torch else torch

    rows: list[dict[str, Any]] = []

    def record(benchmark: str, lib: str, unit: str, value: float, **extra: Any) -> None:
        row = {"benchmark": benchmark, "lib": lib, "unit": unit, "value": round(value, 4), **extra}
        rows.append(row)
        print(json.dumps(row), flush=True)

    # (a) per-op overhead
    libs = [("ember", ember)] + ([("torch", tlib)] if tlib is not None else [])
    for name, lib in libs:
        res = chain(lib, args.chain, args.repeats)
        record("chain_fwd_bwd", name, "us/op", res["us_per_op"], n=args.chain)
        record("chain_fwd", name, "us/op", res["fwd_us_per_op"], n=args.chain)
        record("chain_bwd", name, "us/op", res["bwd_us_per_op"], n=args.chain)

    # (b) matmul
    n = args.matmul_size
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    flops = 2.0 * n**3
    mm_reps = max(args.repeats, 3) * 2
    secs = median_time(lambda: a @ b, mm_reps, warmup=2)
    record("matmul", "numpy", "GFLOP/s", flops / secs / 1e9, n=n)
    ea, eb = ember.from_numpy(a), ember.from_numpy(b)
    secs = median_time(lambda: ea @ eb, mm_reps, warmup=2)
    record("matmul", "ember", "GFLOP/s", flops / secs / 1e9, n=n)
    if tlib is not None:
        ta, tb = tlib.from_numpy(a), tlib.from_numpy(b)
        secs = median_time(lambda: ta @ tb, mm_reps, warmup=2)
        record("matmul", "torch", "GFLOP/s", flops / secs / 1e9, n=n)

    # (c) elementwise add
    m = args.add_size
    x = rng.standard_normal(m, dtype=np.float32)
    y = rng.standard_normal(m, dtype=np.float32)
    nbytes = 3 * 4 * m
    secs = median_time(lambda: x + y, args.repeats, warmup=2)
    record("add", "numpy", "GB/s", nbytes / secs / 1e9, n=m)
    ex, ey = ember.from_numpy(x), ember.from_numpy(y)
    secs = median_time(lambda: ex + ey, args.repeats, warmup=2)
    record("add", "ember", "GB/s", nbytes / secs / 1e9, n=m)
    if tlib is not None:
        tx, ty = tlib.from_numpy(x), tlib.from_numpy(y)
        secs = median_time(lambda: tx + ty, args.repeats, warmup=2)
        record("add", "torch", "GB/s", nbytes / secs / 1e9, n=m)

    print_table(rows, args, tlib)


def print_table(rows: list[dict[str, Any]], args: argparse.Namespace, tlib: Any) -> None:
    """Print one line per benchmark: each library's figure and ember's ratio to torch and NumPy."""
    threads = f", torch threads {tlib.get_num_threads()}" if tlib is not None else ""
    print(
        f"\nPython {platform.python_version()}, NumPy {np.__version__}"
        + (f", torch {tlib.__version__}" if tlib is not None else "")
        + f"{threads}; median of {args.repeats} runs (matmul: {max(args.repeats, 3) * 2})"
    )
    print(f"{'benchmark':<15}{'unit':<9}{'ember':>10}{'torch':>10}{'numpy':>10}{'ember/torch':>13}{'ember/numpy':>13}")
    names = list(dict.fromkeys(r["benchmark"] for r in rows))
    for name in names:
        vals = {r["lib"]: r["value"] for r in rows if r["benchmark"] == name}
        unit = next(r["unit"] for r in rows if r["benchmark"] == name)
        e = vals.get("ember")

        def cell(lib: str) -> str:
            return f"{vals[lib]:>10.2f}" if lib in vals else f"{'-':>10}"

        def ratio(lib: str) -> str:
            return f"{e / vals[lib]:>12.2f}x" if lib in vals and e is not None and vals[lib] else f"{'-':>13}"

        print(f"{name:<15}{unit:<9}{cell('ember')}{cell('torch')}{cell('numpy')}{ratio('torch')}{ratio('numpy')}")
    print("us/op: lower is better (a ratio below 1 means ember is faster); GFLOP/s, GB/s: higher is better.")


if __name__ == "__main__":
    main()
