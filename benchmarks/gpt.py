"""GPT training-step time (nanoGPT's CPU Shakespeare recipe), ember vs PyTorch in one run.

Recipe: vocab 65, block_size 64, batch 12, n_layer 4, n_head 4, n_embd 128, dropout 0,
bias, AdamW(lr 1e-3, betas (0.9, 0.99), weight_decay 0.1 on matrices), grad clip 1.0.
Reports median ms per step, tokens/s, the fraction of NumPy's measured float32 matmul
peak the step reaches (model FLOPs / time / peak, FLOPs as nanoGPT's estimate), and
ember's generation speed with and without the key/value cache. Ember and torch steps
alternate repeat by repeat, and the load average is printed, as the machine may be shared.

    python benchmarks/gpt.py [--steps 20] [--repeats 5] [--quick] [--threads 1]

``--threads N`` caps the BLAS/OpenMP threads of both libraries (set before NumPy
loads): on a loaded machine, threads that spin-wait for each other can make a step
several times slower, so a shared machine is best measured with ``--threads 1``.
``median_cpu_ms`` is the process's CPU time per step: with one thread it stays close
to what the step takes on an idle core, however loaded the machine is.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

CFG = {"block_size": 64, "vocab_size": 65, "n_layer": 4, "n_head": 4, "n_embd": 128, "dropout": 0.0, "bias": True}
BATCH = 12


def set_threads(n: int | None) -> None:
    """Cap BLAS/OpenMP threads; must run before NumPy or torch is imported."""
    if n is not None:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(n)


def matmul_peak_gflops(n: int = 1024, reps: int = 10) -> float:
    import numpy as np

    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    b = a.copy()
    a @ b
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return 2 * n**3 / min(times) / 1e9


def make_step(lib, model):
    """One training step of the recipe on a fixed batch (forward, backward, clip, AdamW)."""
    import numpy as np

    opt = model.configure_optimizers(0.1, 1e-3, (0.9, 0.99))
    rng = np.random.default_rng(0)
    data = rng.integers(0, CFG["vocab_size"], size=(BATCH, CFG["block_size"] + 1)).astype(np.int64)
    x = lib.from_numpy(data[:, :-1].copy())
    y = lib.from_numpy(data[:, 1:].copy())

    def step():
        _, loss = model(x, y)
        loss.backward()
        lib.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    return step


def time_steps(step, steps: int) -> tuple[float, float]:
    """Wall and CPU milliseconds per step."""
    gc.collect()
    t, c = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    return (time.perf_counter() - t) / steps * 1e3, (time.process_time() - c) / steps * 1e3


def flops_per_step(n_params: int) -> float:
    """nanoGPT's estimate: 6 FLOPs per parameter per token plus attention, forward and backward."""
    L, H, C, T = CFG["n_layer"], CFG["n_head"], CFG["n_embd"], CFG["block_size"]
    per_token = 6 * n_params + 12 * L * H * (C // H) * T
    return per_token * T * BATCH


def generation_speed(model, lib, tokens: int, use_cache: bool, repeats: int) -> float:
    """Median tokens/s of sampling ``tokens`` tokens after a 1-token prompt (batch 1)."""
    idx = lib.zeros(1, 1, dtype=lib.long)
    rates = []
    for _ in range(repeats):
        t = time.perf_counter()
        model.generate(idx, tokens, temperature=1.0, top_k=None, use_cache=use_cache)
        rates.append(tokens / (time.perf_counter() - t))
    return statistics.median(rates)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20, help="training steps per timed repeat")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=None, help="BLAS/OpenMP threads for both libraries")
    args = ap.parse_args()
    if args.quick:
        args.steps, args.repeats = 2, 2
    set_threads(args.threads)
    import torch
    from torch_gpt import TorchGPT

    import ember
    from ember.models import GPT, GPTConfig

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    threads = args.threads or torch.get_num_threads()
    load_before = os.getloadavg()[0]
    peak = matmul_peak_gflops()
    print(json.dumps({"bench": "numpy_matmul_peak", "gflops": round(peak, 1)}))
    cfg = GPTConfig(**CFG)
    ember.manual_seed(0)
    torch.manual_seed(0)
    models = {"ember": (ember, GPT(cfg)), "torch": (torch, TorchGPT(cfg))}
    steps = {name: make_step(lib, model) for name, (lib, model) in models.items()}
    for step in steps.values():  # warm up: first calls allocate, import lazily, fill caches
        for _ in range(3):
            step()
    # ember and torch alternate, repeat by repeat, so a burst of load from elsewhere hits both
    times: dict[str, list[float]] = {name: [] for name in models}
    cpu: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(args.repeats):
        for name, step in steps.items():
            wall_ms, cpu_ms = time_steps(step, args.steps)
            times[name].append(wall_ms)
            cpu[name].append(cpu_ms)
    res = {}
    for name, (lib, model) in models.items():
        n_params = sum(p.numel() for p in model.parameters()) - model.transformer.wpe.weight.numel()
        ms = statistics.median(times[name])
        mfu = flops_per_step(n_params) / (ms / 1e3) / (peak * 1e9)
        res[name] = (ms, BATCH * CFG["block_size"] / (ms / 1e3), mfu)
        print(json.dumps({"bench": "gpt_train_step", "lib": name, "median_ms": round(ms, 2),
                          "median_cpu_ms": round(statistics.median(cpu[name]), 2), "threads": threads,
                          "tokens_per_s": round(res[name][1]), "fraction_of_matmul_peak": round(mfu, 3),
                          "all_ms": [round(t, 2) for t in times[name]]}))
    # within one block (63 new tokens after a 1-token prompt) the cache holds the whole context; past
    # block_size the window slides, every position changes, and cached generation recomputes like uncached
    gen_tokens = 15 if args.quick else CFG["block_size"] - 1
    model = models["ember"][1]
    gen = {c: generation_speed(model, ember, gen_tokens, c, 1 if args.quick else 3) for c in (True, False)}
    for c, v in gen.items():
        print(json.dumps({"bench": "gpt_generate", "lib": "ember", "kv_cache": c, "tokens": gen_tokens,
                          "tokens_per_s": round(v, 1)}))
    load_after = os.getloadavg()[0]
    print(json.dumps({"bench": "load_average_1min", "before": round(load_before, 2), "after": round(load_after, 2),
                      "cpus": os.cpu_count()}))
    print()
    print(f"{'':<10}{'ms/step':>10}{'cpu ms':>10}{'tokens/s':>12}{'of peak':>10}")
    for name, (ms, tps, mfu) in res.items():
        print(f"{name:<10}{ms:>10.2f}{statistics.median(cpu[name]):>10.2f}{tps:>12,.0f}{mfu:>10.1%}")
    print(f"ember/torch step time: {res['ember'][0] / res['torch'][0]:.2f}x  "
          f"(median of {args.repeats} x {args.steps} steps, {threads} thread(s); "
          f"NumPy matmul peak {peak:.1f} GFLOP/s)")
    print(f"ember generation ({gen_tokens} tokens, batch 1): {gen[True]:.1f} tokens/s with the KV cache, "
          f"{gen[False]:.1f} without")
    print(f"load average (1 min): {load_before:.2f} before, {load_after:.2f} after, on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
