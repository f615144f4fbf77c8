"""GPT training-step time (nanoGPT's CPU Shakespeare recipe), ember vs PyTorch in one run.

Recipe: vocab 65, block_size 64, batch 12, n_layer 4, n_head 4, n_embd 128, dropout 0,
bias, AdamW(lr 1e-3, betas (0.9, 0.99), weight_decay 0.1 on matrices), grad clip 1.0.
Reports median ms per step, tokens/s, the fraction of NumPy's measured float32 matmul
peak the step reaches (model FLOPs / time / peak, FLOPs as nanoGPT's estimate), and
ember's generation speed with and without the key/value cache.

    python benchmarks/gpt.py [--steps 20] [--repeats 5] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

CFG = dict(block_size=64, vocab_size=65, n_layer=4, n_head=4, n_embd=128, dropout=0.0, bias=True)
BATCH = 12


def matmul_peak_gflops(n: int = 1024, reps: int = 10) -> float:
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    b = a.copy()
    a @ b
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return 2 * n**3 / min(times) / 1e9


def step_times(lib, model, steps: int, repeats: int) -> list[float]:
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

    for _ in range(3):
        step()
    out = []
    for _ in range(repeats):
        gc.collect()
        t = time.perf_counter()
        for _ in range(steps):
            step()
        out.append((time.perf_counter() - t) / steps * 1e3)
    return out


def flops_per_step(n_params: int) -> float:
    L, H, C, T = CFG["n_layer"], CFG["n_head"], CFG["n_embd"], CFG["block_size"]
    per_token = 6 * n_params + 12 * L * H * (C // H) * T
    return per_token * T * BATCH


def generation_speed(model, lib, tokens: int, use_cache: bool) -> float:
    idx = lib.zeros(1, 1, dtype=lib.long)
    t = time.perf_counter()
    model.generate(idx, tokens, temperature=1.0, top_k=None, use_cache=use_cache)
    return tokens / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.steps, args.repeats = 2, 2
    import torch
    from torch_gpt import TorchGPT

    import ember
    from ember.models import GPT, GPTConfig

    peak = matmul_peak_gflops()
    print(json.dumps({"bench": "numpy_matmul_peak", "gflops": round(peak, 1)}))
    cfg = GPTConfig(**CFG)
    ember.manual_seed(0)
    torch.manual_seed(0)
    models = {"ember": (ember, GPT(cfg)), "torch": (torch, TorchGPT(cfg))}
    res = {}
    for name, (lib, model) in models.items():
        n_params = sum(p.numel() for p in model.parameters()) - model.transformer.wpe.weight.numel()
        times = step_times(lib, model, args.steps, args.repeats)
        ms = statistics.median(times)
        mfu = flops_per_step(n_params) / (ms / 1e3) / (peak * 1e9)
        res[name] = (ms, BATCH * CFG["block_size"] / (ms / 1e3), mfu)
        print(json.dumps({"bench": "gpt_train_step", "lib": name, "median_ms": round(ms, 2),
                          "tokens_per_s": round(res[name][1]), "fraction_of_matmul_peak": round(mfu, 3),
                          "all_ms": [round(t, 2) for t in times]}))
    gen_tokens = 20 if args.quick else 200
    model = models["ember"][1]
    gen = {c: generation_speed(model, ember, gen_tokens, c) for c in (True, False)}
    for c, v in gen.items():
        print(json.dumps({"bench": "gpt_generate", "lib": "ember", "kv_cache": c, "tokens": gen_tokens,
                          "tokens_per_s": round(v, 1)}))
    print()
    print(f"{'':<10}{'ms/step':>10}{'tokens/s':>12}{'of peak':>10}")
    for name, (ms, tps, mfu) in res.items():
        print(f"{name:<10}{ms:>10.2f}{tps:>12,.0f}{mfu:>10.1%}")
    print(f"ember/torch step time: {res['ember'][0] / res['torch'][0]:.2f}x")
    print(f"ember generation: {gen[True]:.1f} tokens/s with the KV cache, {gen[False]:.1f} without")


if __name__ == "__main__":
    main()
