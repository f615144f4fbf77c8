"""MNIST training-step time, ember vs PyTorch in the same run.

One step = zero_grad, forward, cross-entropy, backward, Adam step, on random data of
MNIST's shape. MLP 784-512-512-10 (ReLU) at batch 128; CNN Conv2d(1,32,3)-ReLU-
MaxPool2d(2)-Conv2d(32,64,3)-ReLU-MaxPool2d(2)-Flatten-Linear(1600,10) at batch 64
(ember's ``ember.models.MLP`` and ``CNN``, the same ``nn.Sequential`` structures in
torch). Repeats of the two libraries alternate, so load from other processes falls
on both alike. Prints one JSON line per measurement, then a table of medians.

    python benchmarks/mnist.py [--steps 30] [--repeats 7] [--quick] [--threads 1]

``--threads N`` caps the BLAS/OpenMP threads of both libraries (set before NumPy
loads): on a machine shared with other jobs, threads that spin-wait for each other
can slow a step down by an order of magnitude, for both libraries, so a loaded
machine is best measured with ``--threads 1``. ``median_cpu_ms`` is the process's CPU
time per step: with one thread, it is close to what the step takes on an idle core,
however loaded the machine is (with more threads it adds up all of them).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=30, help="steps per timed repeat")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="3 steps x 2 repeats (a smoke test)")
    ap.add_argument("--models", default="mlp,cnn")
    ap.add_argument("--threads", type=int, default=None, help="BLAS/OpenMP threads for both libraries")
    args = ap.parse_args(argv)
    if args.quick:
        args.steps, args.repeats = 3, 2
    return args


def set_threads(n: int | None) -> None:
    """Cap BLAS/OpenMP threads; must run before NumPy or torch is imported."""
    if n is not None:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(n)


def build(lib, kind: str):
    if lib.__name__ == "ember":
        from ember.models import CNN, MLP

        return MLP() if kind == "mlp" else CNN()
    nn = lib.nn
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                             nn.Linear(512, 10))
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 10))


def make_step(lib, kind: str, batch: int):
    """A closure running one training step, after 5 warm-up steps."""
    import numpy as np

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
    return step


def time_repeat(step, steps: int) -> tuple[float, float]:
    """Wall-clock and process-CPU milliseconds per step over ``steps`` steps."""
    gc.collect()
    c, t = time.process_time(), time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - t) / steps * 1e3, (time.process_time() - c) / steps * 1e3


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    set_threads(args.threads)
    import torch

    import ember

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    threads = args.threads or torch.get_num_threads()
    rows = []
    for kind, batch in (("mlp", 128), ("cnn", 64)):
        if kind not in args.models.split(","):
            continue
        libs = {"ember": ember, "torch": torch}
        steps = {name: make_step(lib, kind, batch) for name, lib in libs.items()}
        times: dict[str, list[float]] = {name: [] for name in libs}
        cpu: dict[str, list[float]] = {name: [] for name in libs}
        for _ in range(args.repeats):
            for name in libs:
                wall, used = time_repeat(steps[name], args.steps)
                times[name].append(wall)
                cpu[name].append(used)
        med = {name: statistics.median(t) for name, t in times.items()}
        for name in libs:
            print(json.dumps({"bench": f"mnist_{kind}_step", "lib": name, "batch": batch, "threads": threads,
                              "median_ms": round(med[name], 3), "all_ms": [round(t, 3) for t in times[name]],
                              "median_cpu_ms": round(statistics.median(cpu[name]), 3),
                              "loadavg_1m": round(os.getloadavg()[0], 2)}))
        rows.append((kind, batch, med["ember"], med["torch"], med["ember"] / med["torch"]))
    print()
    print(f"{'model':<6}{'batch':>6}{'ember ms':>11}{'torch ms':>11}{'ember/torch':>13}")
    for kind, batch, e, t, r in rows:
        print(f"{kind:<6}{batch:>6}{e:>11.2f}{t:>11.2f}{r:>13.2f}")
    print(f"\n{threads} thread(s); load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}; "
          f"Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
