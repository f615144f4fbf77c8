"""Time one optimizer step on the MNIST MLP's parameters, ember against torch in the same run.

The parameters are those of a 784-512-512-10 MLP (784x512, 512, 512x512, 512, 512x10,
10; 0.67 M floats). Prints one JSON object per measurement, then a table. Run from the
repository root:

    python benchmarks/optim.py
    python benchmarks/optim.py --steps 200 --threads 1
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # so the script runs from a checkout without installing ember

import ember  # noqa: E402

SHAPES = [(512, 784), (512,), (512, 512), (512,), (10, 512), (10,)]
CONFIGS = [
    ("Adam", {"lr": 1e-3}),
    ("AdamW", {"lr": 1e-3, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("RMSprop", {"lr": 1e-3}),
    ("Adagrad", {"lr": 1e-2}),
    ("Adadelta", {}),
]


def step_time(lib: Any, name: str, kwargs: dict[str, Any], steps: int, repeats: int, **extra: Any) -> float:
    """The fastest mean time of one ``opt.step()`` over ``repeats`` runs of ``steps`` steps."""
    rng = np.random.default_rng(0)
    params = [lib.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True) for s in SHAPES]
    for p in params:
        p.grad = lib.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32) * 1e-2)
    opt = getattr(lib.optim, name)(params, **kwargs, **extra)
    for _ in range(3):  # create the state, warm the caches
        opt.step()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            opt.step()
        best = min(best, (time.perf_counter() - start) / steps)
    return best


def main() -> None:
    """Run the measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50, help="steps per timed run")
    parser.add_argument("--repeats", type=int, default=5, help="report the fastest of this many runs")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    args = parser.parse_args()

    import torch

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    rows = []
    for name, kwargs in CONFIGS:
        ours = step_time(ember, name, kwargs, args.steps, args.repeats)
        theirs = step_time(torch, name, kwargs, args.steps, args.repeats, foreach=False)
        theirs_foreach = step_time(torch, name, kwargs, args.steps, args.repeats, foreach=True)
        row = {
            "benchmark": f"{name}.step",
            "ember_ms": round(ours * 1e3, 3),
            "torch_ms": round(theirs * 1e3, 3),
            "torch_foreach_ms": round(theirs_foreach * 1e3, 3),
            "ratio": round(ours / theirs, 2),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)

    n = sum(int(np.prod(s)) for s in SHAPES)
    print(
        f"\nMNIST MLP parameters ({n / 1e6:.2f} M floats), Python {platform.python_version()}, "
        f"torch {torch.__version__} with {torch.get_num_threads()} threads, best of {args.repeats}"
    )
    print(f"{'benchmark':<18}{'ember ms':>10}{'torch ms':>10}{'foreach ms':>12}{'ember/torch':>13}")
    for r in rows:
        print(
            f"{r['benchmark']:<18}{r['ember_ms']:>10.3f}{r['torch_ms']:>10.3f}"
            f"{r['torch_foreach_ms']:>12.3f}{r['ratio']:>13.2f}"
        )


if __name__ == "__main__":
    main()
