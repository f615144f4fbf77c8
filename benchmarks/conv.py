"""Convolution and max-pooling forward+backward time, ember vs PyTorch in the same run.

The sizes are the MNIST CNN's (batch 64): Conv2d(1,32,3) on 28x28, MaxPool2d(2) on
26x26, Conv2d(32,64,3) on 13x13, MaxPool2d(2) on 11x11; ``mnist_cnn_step`` is a whole
Adam step of that network (forward, cross-entropy, backward, update). ember and torch
alternate within each repeat, so machine load hits both alike. Prints one JSON line per
measurement, then a table of medians.

    python benchmarks/conv.py [--repeats 30] [--threads N]
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


def functional(lib: Any) -> Any:
    return lib.nn.functional


def mnist_step(lib: Any) -> Callable[[], None]:
    """One Adam training step of the MNIST CNN on a random batch of 64."""
    nn = lib.nn
    lib.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 10))
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    x = lib.from_numpy(rng.standard_normal((64, 1, 28, 28)).astype(np.float32))
    y = lib.from_numpy(rng.integers(0, 10, size=64).astype(np.int64))

    def step() -> None:
        opt.zero_grad()
        lib.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    return step


def cases(lib: Any) -> dict[str, Callable[[], Any]]:
    """name -> a closure running one forward+backward (or forward only) on fixed inputs."""
    F = functional(lib)
    rng = np.random.default_rng(0)

    def t(shape: tuple[int, ...], grad: bool = True) -> Any:
        x = lib.from_numpy(rng.standard_normal(shape).astype(np.float32))
        return x.requires_grad_(True) if grad else x

    x1, w1, b1 = t((64, 1, 28, 28), False), t((32, 1, 3, 3)), t((32,))
    x2, w2, b2 = t((64, 32, 13, 13)), t((64, 32, 3, 3)), t((64,))
    p1, p2 = t((64, 32, 26, 26)), t((64, 64, 11, 11))
    g1, g2 = t((64, 32, 26, 26), False), t((64, 64, 11, 11), False)
    gp1, gp2 = t((64, 32, 13, 13), False), t((64, 64, 5, 5), False)

    def fwd_bwd(make: Callable[[], Any], g: Any) -> Callable[[], Any]:
        def run() -> None:
            make().backward(g)
        return run

    return {
        "mnist_cnn_step": mnist_step(lib),
        "conv1_fwd": lambda: F.conv2d(x1, w1, b1),
        "conv1_fwd_bwd": fwd_bwd(lambda: F.conv2d(x1, w1, b1), g1),
        "conv2_fwd": lambda: F.conv2d(x2, w2, b2),
        "conv2_fwd_bwd": fwd_bwd(lambda: F.conv2d(x2, w2, b2), g2),
        "pool1_fwd": lambda: F.max_pool2d(p1, 2),
        "pool1_fwd_bwd": fwd_bwd(lambda: F.max_pool2d(p1, 2), gp1),
        "pool2_fwd_bwd": fwd_bwd(lambda: F.max_pool2d(p2, 2), gp2),
        "cnn_fwd_bwd": fwd_bwd(lambda: F.max_pool2d(F.conv2d(F.max_pool2d(F.conv2d(
            x1, w1, b1).relu(), 2), w2, b2).relu(), 2).sum(), None),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's own)")
    ap.add_argument("--only", default="", help="comma-separated case names")
    args = ap.parse_args()
    import torch

    import ember

    if args.threads:
        torch.set_num_threads(args.threads)
    libs = {"ember": cases(ember), "torch": cases(torch)}
    names = [n for n in libs["ember"] if not args.only or n in args.only.split(",")]
    rows = []
    for name in names:
        times: dict[str, list[float]] = {"ember": [], "torch": []}
        for lib in libs:
            for _ in range(3):
                libs[lib][name]()  # warm up
        gc.collect()
        for _ in range(args.repeats):
            for lib in libs:
                start = time.perf_counter()
                libs[lib][name]()
                times[lib].append((time.perf_counter() - start) * 1e3)
        med = {lib: statistics.median(v) for lib, v in times.items()}
        for lib in libs:
            print(json.dumps({"bench": name, "lib": lib, "median_ms": round(med[lib], 3),
                              "min_ms": round(min(times[lib]), 3)}), flush=True)
        rows.append((name, med["ember"], med["torch"], med["ember"] / med["torch"]))
    print(f"\ntorch threads: {torch.get_num_threads()}, repeats: {args.repeats}")
    print(f"{'case':<16}{'ember ms':>10}{'torch ms':>10}{'ember/torch':>13}")
    for name, e, t, r in rows:
        print(f"{name:<16}{e:>10.2f}{t:>10.2f}{r:>13.2f}")


if __name__ == "__main__":
    main()
