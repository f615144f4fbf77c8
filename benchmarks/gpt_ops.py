"""Per-op forward + backward time at the GPT benchmark's sizes, ember vs PyTorch in one run.

The shapes are those of nanoGPT's CPU recipe (``benchmarks/gpt.py``): batch 12, block 64,
n_embd 128, 4 heads, vocab 65. Each row runs one layer function (or the optimizer step)
forward and backward with a fixed random upstream gradient; ember's and torch's repeats
alternate, so load from other processes falls on both alike. Prints one JSON object per
row, then a table of medians: wall-clock times, their ratio ember / torch, and the ratio of
process CPU times (with one thread, the steadier figure on a loaded machine; with more, it
adds up every thread, spinning ones included).

    python benchmarks/gpt_ops.py [--iters 30] [--repeats 7] [--threads 1] [--only gelu,layer_norm]

``--threads N`` caps the BLAS/OpenMP threads of both libraries (set before NumPy loads);
on a loaded machine ``--threads 1`` gives the steadier numbers.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

B, T, C, H, V = 12, 64, 128, 4, 65  # batch, block, n_embd, heads, vocab


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iters", type=int, default=30, help="calls per timed repeat")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=None, help="BLAS/OpenMP threads for both libraries")
    ap.add_argument("--only", default=None, help="comma-separated row names")
    ap.add_argument("--quick", action="store_true", help="3 calls x 2 repeats (a smoke test)")
    args = ap.parse_args(argv)
    if args.quick:
        args.iters, args.repeats = 3, 2
    return args


def _gpt_param_shapes() -> list[tuple[int, ...]]:
    """The parameter shapes of the recipe's GPT (the tied wte/lm_head counted once)."""
    shapes: list[tuple[int, ...]] = [(V, C), (T, C)]
    for _ in range(4):  # ln_1, attn.c_attn, attn.c_proj, ln_2, mlp.c_fc, mlp.c_proj
        shapes += [(C,), (C,), (3 * C, C), (3 * C,), (C, C), (C,)]
        shapes += [(C,), (C,), (4 * C, C), (4 * C,), (C, 4 * C), (C,)]
    return shapes + [(C,), (C,)]


def make_cases(lib: Any, np: Any) -> dict[str, Callable[[], None]]:
    """One closure per row: forward, then backward with a fixed upstream gradient."""
    F = lib.nn.functional
    rng = np.random.default_rng(0)

    def t(*shape: int, grad: bool = True, scale: float = 1.0) -> Any:
        x = lib.from_numpy((rng.standard_normal(shape) * scale).astype(np.float32))
        return x.requires_grad_(grad)

    def fwd_bwd(fn: Callable[[], Any], out_shape: tuple[int, ...] | None) -> Callable[[], None]:
        g = None if out_shape is None else t(*out_shape, grad=False)

        def run() -> None:
            out = fn()
            out.backward(g)

        return run

    cases: dict[str, Callable[[], None]] = {}
    x = t(B, T, C)
    for name, n_in, n_out in (("linear_qkv", C, 3 * C), ("linear_fc", C, 4 * C), ("linear_proj", 4 * C, C),
                              ("linear_attn_proj", C, C)):
        xi = x if n_in == C else t(B, T, n_in)
        w, b = t(n_out, n_in, scale=0.02), t(n_out)
        cases[name] = fwd_bwd(lambda xi=xi, w=w, b=b: F.linear(xi, w, b), (B, T, n_out))
    wte = t(V, C, scale=0.02)
    cases["lm_head"] = fwd_bwd(lambda: F.linear(x, wte), (B, T, V))
    lw, lb = t(C), t(C)
    cases["layer_norm"] = fwd_bwd(lambda: F.layer_norm(x, (C,), lw, lb), (B, T, C))
    h = t(B, T, 4 * C)
    cases["gelu"] = fwd_bwd(lambda: F.gelu(h), (B, T, 4 * C))
    y = t(B, T, C)
    cases["residual_add"] = fwd_bwd(lambda: x + y, (B, T, C))
    q, k, v = (t(B, H, T, C // H) for _ in range(3))
    cases["sdpa_causal"] = fwd_bwd(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                                   (B, H, T, C // H))
    qkv = t(B, T, 3 * C)

    def heads() -> Any:
        # the model's split into heads and back, around attention (the part outside SDPA)
        a, b_, c = qkv.split(C, dim=2)
        a, b_, c = (z.view(B, T, H, C // H).transpose(1, 2) for z in (a, b_, c))
        return (a + b_ + c).transpose(1, 2).contiguous().view(B, T, C)

    cases["attn_heads_reshape"] = fwd_bwd(heads, (B, T, C))

    def attention() -> Any:
        a, b_, c = qkv.split(C, dim=2)
        a, b_, c = (z.view(B, T, H, C // H).transpose(1, 2) for z in (a, b_, c))
        o = F.scaled_dot_product_attention(a, b_, c, is_causal=True)
        return o.transpose(1, 2).contiguous().view(B, T, C)

    cases["attention_from_qkv"] = fwd_bwd(attention, (B, T, C))
    logits = t(B * T, V)
    targets = lib.from_numpy(rng.integers(0, V, size=B * T).astype(np.int64))
    cases["cross_entropy"] = fwd_bwd(lambda: F.cross_entropy(logits, targets, ignore_index=-1), None)
    idx = lib.from_numpy(rng.integers(0, V, size=(B, T)).astype(np.int64))
    pos = lib.arange(T, dtype=lib.long)
    wpe = t(T, C, scale=0.02)
    cases["embedding_wte_wpe"] = fwd_bwd(lambda: F.embedding(idx, wte) + F.embedding(pos, wpe), (B, T, C))
    params = [t(*s, scale=0.02) for s in _gpt_param_shapes()]
    for p in params:
        p.grad = t(*p.shape, grad=False, scale=0.01)
    decay = [p for p in params if p.dim() >= 2]
    opt = lib.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                           {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}],
                          lr=1e-3, betas=(0.9, 0.99))
    cases["adamw_step"] = opt.step
    cases["clip_grad_norm"] = lambda: lib.nn.utils.clip_grad_norm_(params, 1.0)
    return cases


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.threads is not None:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    import numpy as np
    import torch

    import ember

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    threads = args.threads or torch.get_num_threads()
    libs = {"ember": ember, "torch": torch}
    cases = {name: make_cases(lib, np) for name, lib in libs.items()}
    rows = list(cases["ember"])
    if args.only:
        rows = [r for r in rows if r in args.only.split(",")]
    table = []
    for row in rows:
        times: dict[str, list[float]] = {name: [] for name in libs}
        cpu: dict[str, list[float]] = {name: [] for name in libs}
        for name in libs:  # warm up
            for _ in range(2):
                cases[name][row]()
        for _ in range(args.repeats):
            for name in libs:
                fn = cases[name][row]
                gc.collect()
                c0, t0 = time.process_time(), time.perf_counter()
                for _ in range(args.iters):
                    fn()
                times[name].append((time.perf_counter() - t0) / args.iters * 1e6)
                cpu[name].append((time.process_time() - c0) / args.iters * 1e6)
        med = {name: statistics.median(v) for name, v in times.items()}
        med_cpu = {name: statistics.median(v) for name, v in cpu.items()}
        for name in libs:
            print(json.dumps({"bench": "gpt_op_fwd_bwd", "op": row, "lib": name, "threads": threads,
                              "median_us": round(med[name], 1), "median_cpu_us": round(med_cpu[name], 1),
                              "all_us": [round(v, 1) for v in times[name]]}))
        table.append((row, med["ember"], med["torch"], med_cpu["ember"], med_cpu["torch"]))
    print()
    print(f"{'op (fwd+bwd)':<22}{'ember us':>11}{'torch us':>11}{'ember/torch':>13}{'cpu ratio':>11}")
    for row, e, tt, ec, tc in table:
        print(f"{row:<22}{e:>11.1f}{tt:>11.1f}{e / tt:>13.2f}{ec / tc:>11.2f}")
    geo = math.exp(statistics.fmean(math.log(r[1] / r[2]) for r in table)) if table else float("nan")
    print(f"\ngeometric mean ember/torch {geo:.2f} (wall); {threads} thread(s); load average "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}; Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
