"""GPT training-step time (nanoGPT's CPU Shakespeare recipe), ember vs PyTorch in one run.

Recipe: vocab 65, block_size 64, batch 12, n_layer 4, n_head 4, n_embd 128, dropout 0,
bias, AdamW(lr 1e-3, betas (0.9, 0.99), weight_decay 0.1 on matrices), grad clip 1.0.
Reports median ms per step, tokens/s, the fraction of NumPy's measured float32 matmul
peak the step reaches (model FLOPs / time / peak, FLOPs as nanoGPT's estimate), and
ember's generation speed with and without the key/value cache.

    python benchmarks/gpt.py [--steps 10] [--repeats 15] [--quick] [--threads N]

Each library runs in a worker process of its own, as its users run it: ember's process
never imports torch, torch's never imports ember. In one process the two would share a
heap and a garbage collector (``import torch`` alone brings ~150,000 objects that every
full collection walks), and ember's allocator settings would speed torch up as well.
The parent hands out repeats of ``--steps`` steps to the two workers in turn, so a burst
of load from elsewhere on a shared machine falls on both alike, and prints the load
average before and after.

``--threads N`` caps the BLAS/OpenMP threads of both libraries (NumPy's elementwise
kernels, and so ember's, always run on one). ``median_cpu_ms`` is the worker's CPU time per
step. ``--tune-torch-malloc`` gives torch's process ember's glibc malloc settings, to
show that they are not what separates the two.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
CFG = {"block_size": 64, "vocab_size": 65, "n_layer": 4, "n_head": 4, "n_embd": 128,
       "dropout": 0.0, "bias": True}
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


def _tune_malloc_like_ember() -> None:
    """The glibc settings ember's CPU backend makes at import (see ember/backend/numpy_cpu.py)."""
    import ctypes

    mallopt = ctypes.CDLL("libc.so.6").mallopt
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    mallopt(-3, 64 << 20)  # M_MMAP_THRESHOLD
    mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD


def worker(lib_name: str, threads: int | None, tune_malloc: bool) -> None:
    """Build the model, warm up, then answer the parent's commands on stdin, one JSON line each."""
    sys.path.insert(0, str(HERE))
    if lib_name == "torch":
        if tune_malloc:
            _tune_malloc_like_ember()
        import torch as lib
        from torch_gpt import TorchGPT

        if threads is not None:
            lib.set_num_threads(threads)
        lib.manual_seed(0)
        model = TorchGPT(SimpleNamespace(**CFG))
        n_threads = lib.get_num_threads()
        blas = "mkl" if lib.backends.mkl.is_available() else "torch's own"
    else:
        import ember as lib
        from ember.models import GPT, GPTConfig

        lib.manual_seed(0)
        model = GPT(GPTConfig(**CFG))
        from ember.backend.numpy_linalg import gemm_library

        n_threads = lib.get_num_threads()
        blas = gemm_library() or "numpy's"  # the gemm of the products ember's threads split
    step = make_step(lib, model)
    for _ in range(3):  # warm up: first calls allocate, import lazily, fill caches
        step()
    n_params = sum(p.numel() for p in model.parameters()) - model.transformer.wpe.weight.numel()
    ready = {"ready": lib_name, "n_params": n_params, "threads": n_threads, "blas": blas}
    print(json.dumps(ready), flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if cmd[0] == "steps":
            gc.collect()
            t, c = time.perf_counter(), time.process_time()
            for _ in range(int(cmd[1])):
                step()
            n = int(cmd[1])
            print(json.dumps({"wall_ms": (time.perf_counter() - t) / n * 1e3,
                              "cpu_ms": (time.process_time() - c) / n * 1e3}), flush=True)
        elif cmd[0] == "generate":
            tokens, repeats = int(cmd[1]), int(cmd[2])
            rates = {"cache": generation_speed(model, lib, tokens, True, repeats),
                     "no_cache": generation_speed(model, lib, tokens, False, repeats)}
            print(json.dumps(rates), flush=True)
        else:
            break


class Worker:
    """A worker process and the pipe to it."""

    def __init__(self, lib: str, args: argparse.Namespace) -> None:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", lib]
        if args.threads is not None:
            cmd += ["--threads", str(args.threads)]
        if args.tune_torch_malloc:
            cmd.append("--tune-torch-malloc")
        env = dict(
            os.environ, PYTHONPATH=os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")])
        )
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.info = self.ask(None)

    def ask(self, command: str | None) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if command is not None:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"benchmark worker exited with code {self.proc.wait()}")
        return json.loads(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=60)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=10, help="training steps per timed repeat")
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=None, help="BLAS/OpenMP threads for both libraries")
    ap.add_argument("--tune-torch-malloc", action="store_true", help="give torch ember's malloc settings")
    ap.add_argument("--worker", choices=("ember", "torch"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    set_threads(args.threads)
    if args.worker:
        worker(args.worker, args.threads, args.tune_torch_malloc and args.worker == "torch")
        return
    if args.quick:
        args.steps, args.repeats = 2, 2
    load_before = os.getloadavg()[0]
    peak = matmul_peak_gflops()
    print(json.dumps({"bench": "numpy_matmul_peak", "gflops": round(peak, 1)}))
    workers = {name: Worker(name, args) for name in ("ember", "torch")}
    try:
        times: dict[str, list[float]] = {name: [] for name in workers}
        cpu: dict[str, list[float]] = {name: [] for name in workers}
        for _ in range(args.repeats):
            for name, w in workers.items():
                r = w.ask(f"steps {args.steps}")
                times[name].append(r["wall_ms"])
                cpu[name].append(r["cpu_ms"])
        # within one block (63 new tokens after a 1-token prompt) the cache holds the whole context;
        # past block_size the window slides and cached generation recomputes like uncached
        gen_tokens = 15 if args.quick else CFG["block_size"] - 1
        gen = workers["ember"].ask(f"generate {gen_tokens} {1 if args.quick else 3}")
    finally:
        for w in workers.values():
            w.close()
    res = {}
    for name, w in workers.items():
        ms = statistics.median(times[name])
        mfu = flops_per_step(w.info["n_params"]) / (ms / 1e3) / (peak * 1e9)
        res[name] = (ms, BATCH * CFG["block_size"] / (ms / 1e3), mfu)
        print(json.dumps({"bench": "gpt_train_step", "lib": name, "median_ms": round(ms, 2),
                          "median_cpu_ms": round(statistics.median(cpu[name]), 2),
                          "threads": w.info["threads"], "blas": w.info["blas"],
                          "tokens_per_s": round(res[name][1]),
                          "fraction_of_matmul_peak": round(mfu, 3),
                          "all_ms": [round(t, 2) for t in times[name]]}))
    ratios = [e / t for e, t in zip(times["ember"], times["torch"])]
    print(json.dumps({"bench": "gpt_step_ratio",
                      "median_of_paired_ratios": round(statistics.median(ratios), 3)}))
    for c in ("cache", "no_cache"):
        print(json.dumps({"bench": "gpt_generate", "lib": "ember", "kv_cache": c == "cache",
                          "tokens": gen_tokens, "tokens_per_s": round(gen[c], 1)}))
    load_after = os.getloadavg()[0]
    print(json.dumps({"bench": "load_average_1min", "before": round(load_before, 2),
                      "after": round(load_after, 2), "cpus": os.cpu_count()}))
    print()
    print(f"{'':<10}{'ms/step':>10}{'cpu ms':>10}{'tokens/s':>12}{'of peak':>10}")
    for name, (ms, tps, mfu) in res.items():
        print(f"{name:<10}{ms:>10.2f}{statistics.median(cpu[name]):>10.2f}{tps:>12,.0f}{mfu:>10.1%}")
    print(f"ember/torch step time: {res['ember'][0] / res['torch'][0]:.2f}x "
          f"(median of paired repeats: {statistics.median(ratios):.2f}x; "
          f"{args.repeats} x {args.steps} steps, "
          f"threads ember {workers['ember'].info['threads']}, torch {workers['torch'].info['threads']}; "
          f"gemm ember {workers['ember'].info['blas']}, torch {workers['torch'].info['blas']}; "
          f"NumPy matmul peak {peak:.1f} GFLOP/s)")
    print(f"ember generation ({gen_tokens} tokens, batch 1): {gen['cache']:.1f} tokens/s with the KV cache, "
          f"{gen['no_cache']:.1f} without")
    print(f"load average (1 min): {load_before:.2f} before, {load_after:.2f} after, on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
