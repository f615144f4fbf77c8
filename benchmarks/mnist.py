"""MNIST training-step time, ember vs PyTorch in the same run.

One step = forward, cross-entropy, backward, Adam step, on random data of MNIST's
shape. MLP 784-512-512-10 (ReLU) at batch 128; CNN Conv2d(1,32,3)-ReLU-MaxPool2d(2)-
Conv2d(32,64,3)-ReLU-MaxPool2d(2)-Flatten-Linear(1600,10) at batch 64. Prints one
JSON line per measurement, then a table of medians.

    python benchmarks/mnist.py [--steps 50] [--repeats 5] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time

import numpy as np


def build(lib, kind: str):
    nn = lib.nn
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                             nn.Linear(512, 10))
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 10))


def time_steps(lib, kind: str, batch: int, steps: int, repeats: int) -> list[float]:
    """Median-ready list: ms per step for each repeat of ``steps`` steps."""
    lib.manual_seed(0)
    model = build(lib, kind)
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    x = lib.from_numpy(rng.standard_normal((batch, 1, 28, 28)).astype(np.float32))
    y = lib.from_numpy(rng.integers(0, 10, size=batch).astype(np.int64))
    lossf = lib.nn.functional.cross_entropy

    def step():
        opt.zero_grad()
        loss = lossf(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(5):
        step()
    out = []
    for _ in range(repeats):
        gc.collect()
        t = time.perf_counter()
        for _ in range(steps):
            step()
        out.append((time.perf_counter() - t) / steps * 1e3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--models", default="mlp,cnn")
    args = ap.parse_args()
    if args.quick:
        args.steps, args.repeats = 3, 2
    import torch

    import ember

    torch.set_num_threads(max(1, torch.get_num_threads()))
    rows = []
    for kind, batch in (("mlp", 128), ("cnn", 64)):
        if kind not in args.models.split(","):
            continue
        res = {}
        for name, lib in (("ember", ember), ("torch", torch)):
            times = time_steps(lib, kind, batch, args.steps, args.repeats)
            res[name] = statistics.median(times)
            print(json.dumps({"bench": f"mnist_{kind}_step", "lib": name, "batch": batch,
                              "median_ms": round(res[name], 3), "all_ms": [round(t, 3) for t in times]}))
        rows.append((kind, batch, res["ember"], res["torch"], res["ember"] / res["torch"]))
    print()
    print(f"{'model':<6}{'batch':>6}{'ember ms':>11}{'torch ms':>11}{'ember/torch':>13}")
    for kind, batch, e, t, r in rows:
        print(f"{kind:<6}{batch:>6}{e:>11.2f}{t:>11.2f}{r:>13.2f}")


if __name__ == "__main__":
    main()
