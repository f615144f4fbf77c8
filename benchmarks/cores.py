"""How fast this machine's cores multiply matrices alone and all at once, sampled over time.

A shared machine's cores are not always its own: on the 2-core VM ember is measured on,
each core alone ran a float32 matrix product at 100-105 GFLOP/s, but for seconds to
minutes at a time two threads at once got about half that each. Every benchmark that
uses both cores slows in those phases, so a long run (``gpt_run.py``) can fall in one
while its partner does not. Run this beside, before or after a benchmark to see which
phase a machine is in.

    python benchmarks/cores.py [--seconds 30] [--every 2]

Each sample: one thread pinned to each core in turn, then one thread per core at once,
each multiplying (512, 512) float32 matrices for 0.1 s with NumPy's BLAS held to one
thread. Prints a JSON line per sample and a summary table (Linux only: it pins threads
with ``os.sched_setaffinity``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy loads its BLAS

import numpy as np  # noqa: E402

N = 512


def _rate(cpu: int, out: dict, key: tuple, seconds: float = 0.1) -> None:
    os.sched_setaffinity(0, {cpu})  # this thread only
    a = np.random.default_rng(cpu).standard_normal((N, N), dtype=np.float32)
    a @ a
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ a
        count += 1
    out[key] = 2 * N**3 * count / (time.perf_counter() - start) / 1e9


def sample(cpus: list[int]) -> dict:
    rates: dict = {}
    for c in cpus:
        _rate(c, rates, ("alone", c))
    threads = [threading.Thread(target=_rate, args=(c, rates, ("together", c))) for c in cpus]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"bench": "cores", "time": time.strftime("%H:%M:%S"),
            "alone_gflops": [round(rates[("alone", c)], 1) for c in cpus],
            "together_gflops": [round(rates[("together", c)], 1) for c in cpus]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--every", type=float, default=2.0, help="seconds between samples")
    args = p.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    mask = os.sched_getaffinity(0)
    rows, end = [], time.time() + args.seconds
    try:
        while True:
            rows.append(sample(cpus))
            print(json.dumps(rows[-1]), flush=True)
            if time.time() + args.every > end:
                break
            time.sleep(args.every)
    finally:
        os.sched_setaffinity(0, mask)
    alone = [r for row in rows for r in row["alone_gflops"]]
    together = [r for row in rows for r in row["together_gflops"]]
    slow = sum(1 for row in rows if min(row["together_gflops"]) < 0.75 * statistics.median(alone))
    print(f"\n{len(rows)} samples on {len(cpus)} cores, GFLOP/s per core (median, min):")
    print(f"  alone     {statistics.median(alone):7.1f} {min(alone):7.1f}")
    print(f"  together  {statistics.median(together):7.1f} {min(together):7.1f}")
    print(f"samples where a core ran at under 3/4 of its alone speed with all cores busy: {slow}")


if __name__ == "__main__":
    main()
