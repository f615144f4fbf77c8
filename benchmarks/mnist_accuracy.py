"""MNIST accuracy protocol: ember and PyTorch trained the same way on the same data.

Train on the 5,000 digits of ``../shared/data/mnist_5k.csv.gz`` for 10 epochs (batch
128, Adam lr 1e-3, a fresh shuffle each epoch, pixels standardised with MNIST's mean
and std), then evaluate on the official 10,000 test digits (``../shared/data/mnist``).
Each library initialises and shuffles with its own generator, seeded per run. The
models are ``ember.models.MLP`` (784-512-512-10) and ``ember.models.CNN``, and the same
``nn.Sequential`` structures in torch. The training loop is the one ``ember mnist
train`` runs.

Prints one JSON line per (model, library, seed): test accuracy, the wall time of the
10 epochs of training (evaluation excluded; also the process's CPU time, which with
``--threads 1`` stays close to the idle-machine time however loaded the machine is)
and of the final evaluation; then a table
with the mean over seeds and the issue's targets (MLP >= 93.5%, CNN >= 96.5%).

    python benchmarks/mnist_accuracy.py [--seeds 0,1,2] [--models mlp,cnn] [--libs ember,torch] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

TARGETS = {"mlp": 0.935, "cnn": 0.965}
DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--models", default="mlp,cnn")
    ap.add_argument("--libs", default="ember,torch")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=None, help="BLAS/OpenMP threads for both libraries")
    ap.add_argument("--quick", action="store_true", help="1 epoch, 1 seed, 1,000 test digits (a smoke test)")
    return ap.parse_args(argv)


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


def run(lib, kind: str, seed: int, data: tuple, epochs: int, batch_size: int, lr: float) -> dict:
    """Train one model from scratch and evaluate it; returns accuracy and timings."""
    train_x, train_y, test_x, test_y = (lib.from_numpy(a) for a in data)
    F = lib.nn.functional
    lib.manual_seed(seed)
    model = build(lib, kind)
    opt = lib.optim.Adam(model.parameters(), lr=lr)
    n = train_x.shape[0]
    steps = (n + batch_size - 1) // batch_size
    losses = []
    model.train()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(epochs):
        perm = lib.randperm(n)
        total = 0.0
        for i in range(steps):
            idx = perm[i * batch_size : (i + 1) * batch_size]
            loss = F.cross_entropy(model(train_x[idx]), train_y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        losses.append(total / steps)
    train_s, train_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    model.eval()
    t0 = time.perf_counter()
    correct = 0
    with lib.no_grad():
        for i in range(0, test_x.shape[0], 1000):
            correct += (model(test_x[i : i + 1000]).argmax(dim=1) == test_y[i : i + 1000]).sum().item()
    eval_s = time.perf_counter() - t0
    return {"accuracy": correct / test_x.shape[0], "train_s": train_s, "train_cpu_s": train_cpu_s,
            "eval_s": eval_s, "train_loss": [round(v, 4) for v in losses]}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.threads is not None:  # before NumPy and torch load their thread pools
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    import ember
    from ember.recipes.mnist import load_test, load_train

    libs = {"ember": ember}
    if "torch" in args.libs.split(","):
        import torch

        if args.threads is not None:
            torch.set_num_threads(args.threads)
        libs["torch"] = torch
    if "ember" not in args.libs.split(","):
        del libs["ember"]
    seeds = [int(s) for s in args.seeds.split(",")]
    test_limit = None
    if args.quick:
        args.epochs, seeds, test_limit = 1, seeds[:1], 1000
    train_x, train_y, train_src = load_train(args.data)
    test_x, test_y, test_src = load_test(args.data, limit=test_limit)
    data = tuple(t.numpy() for t in (train_x, train_y, test_x, test_y))
    print(f"# train: {train_x.shape[0]:,} digits from {train_src}; test: {test_x.shape[0]:,} digits from "
          f"{test_src}; {args.epochs} epochs, batch {args.batch_size}, Adam lr {args.lr}", file=sys.stderr)
    results: dict[tuple[str, str], list[dict]] = {}
    for kind in args.models.split(","):
        for seed in seeds:
            for name, lib in libs.items():  # libraries alternate, so load falls on both alike
                r = run(lib, kind, seed, data, args.epochs, args.batch_size, args.lr)
                results.setdefault((kind, name), []).append(r)
                print(json.dumps({"bench": "mnist_accuracy", "model": kind, "lib": name, "seed": seed,
                                  "epochs": args.epochs, "test_accuracy": r["accuracy"],
                                  "train_s": round(r["train_s"], 3),
                                  "train_cpu_s": round(r["train_cpu_s"], 3), "eval_s": round(r["eval_s"], 3),
                                  "train_loss": r["train_loss"], "loadavg_1m": round(os.getloadavg()[0], 2)}),
                      flush=True)
    print()
    print(f"{'model':<6}{'lib':<7}{'mean acc':>10}{'target':>9}{'per seed':>26}{'train s':>10}"
          f"{'cpu s':>8}{'eval s':>9}{'time/torch':>12}")
    for (kind, name), rs in results.items():
        acc = statistics.mean(r["accuracy"] for r in rs)
        train_s = statistics.median(r["train_s"] for r in rs)
        torch_rs = results.get((kind, "torch"))
        ratio = train_s / statistics.median(r["train_s"] for r in torch_rs) if torch_rs else float("nan")
        per_seed = " ".join(f"{100 * r['accuracy']:.2f}" for r in rs)
        mark = "ok" if acc >= TARGETS[kind] else "LOW"
        print(f"{kind:<6}{name:<7}{100 * acc:>9.2f}%{100 * TARGETS[kind]:>7.1f}% {mark:<3}{per_seed:>22}"
              f"{train_s:>10.2f}{statistics.median(r['train_cpu_s'] for r in rs):>8.2f}"
              f"{statistics.median(r['eval_s'] for r in rs):>9.2f}{ratio:>12.2f}")
    print(f"\nload average {' '.join(f'{v:.2f}' for v in os.getloadavg())}; train s / cpu s = median over "
          f"seeds of {args.epochs} epochs' wall / process CPU time")


if __name__ == "__main__":
    main()
