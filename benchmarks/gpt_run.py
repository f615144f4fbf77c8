"""Wall time of the whole GPT training run (nanoGPT's CPU Shakespeare recipe), ember vs PyTorch.

``benchmarks/gpt.py`` times single steps; this times what a user waits for: ``ember gpt
train`` from start to end (2,000 steps, an evaluation of 20 batches per split every 250
steps, checkpoints), and the same loop written in PyTorch (``torch_gpt.TorchGPT``, the
same data split, schedule, AdamW groups, clipping, evaluations and checkpoints, as
nanoGPT's train.py does them; its evaluation batches are stacked into larger forwards as
ember's are, the same batches and the same mean loss). Each run is a process of its own; runs alternate
(ember, torch, ember, ...) so that load from elsewhere falls on both alike.

    python benchmarks/gpt_run.py [--data ../shared/data/tinyshakespeare.txt] [--pairs 1] [--max-iters 2000]

Reports each run's training seconds (``seconds`` in ember's summary.json: the loop and its
evaluations, after the text is tokenized), its process wall time and its final val loss.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EVAL_TOKENS = 8192  # as ember.recipes.gpt.EVAL_TOKENS: batches stacked into forwards of this many tokens
RECIPE = {"block_size": 64, "batch_size": 12, "n_layer": 4, "n_head": 4, "n_embd": 128, "lr": 1e-3,
          "min_lr": 1e-4, "warmup_iters": 100, "weight_decay": 0.1, "beta1": 0.9, "beta2": 0.99,
          "grad_clip": 1.0, "eval_interval": 250, "eval_iters": 20, "seed": 1337}


def torch_run(data: str, max_iters: int, out: str) -> dict:
    """The recipe's loop in PyTorch; mirrors ember/recipes/gpt.py step for step."""
    sys.path.insert(0, str(HERE))
    import torch
    from torch_gpt import TorchGPT

    r = argparse.Namespace(**RECIPE)
    t_start = time.perf_counter()
    torch.manual_seed(r.seed)
    text = Path(data).read_text(encoding="utf-8")
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = int(0.9 * len(ids))
    splits = {"train": ids[:n], "val": ids[n:]}
    cfg = argparse.Namespace(block_size=r.block_size, vocab_size=len(chars), n_layer=r.n_layer,
                             n_head=r.n_head, n_embd=r.n_embd, dropout=0.0, bias=True)
    model = TorchGPT(cfg)
    opt = model.configure_optimizers(r.weight_decay, r.lr, (r.beta1, r.beta2))

    def get_batch(d):
        starts = torch.randint(0, d.shape[0] - r.block_size, (r.batch_size, 1))
        offsets = starts + torch.arange(r.block_size)
        return d[offsets], d[offsets + 1]

    def lr_at(step):
        if step < r.warmup_iters:
            return r.lr * (step + 1) / (r.warmup_iters + 1)
        ratio = (step - r.warmup_iters) / max(1, max_iters - r.warmup_iters)
        return r.min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (r.lr - r.min_lr)

    @torch.no_grad()
    def evaluate():
        state = torch.get_rng_state()
        torch.manual_seed(r.seed + 1)
        model.eval()
        losses = {}
        group = max(1, EVAL_TOKENS // (r.batch_size * r.block_size))  # as ember's estimate_loss
        for name, d in splits.items():
            total = 0.0
            for first in range(0, r.eval_iters, group):
                pairs = [get_batch(d) for _ in range(min(group, r.eval_iters - first))]
                x, y = torch.cat([p[0] for p in pairs]), torch.cat([p[1] for p in pairs])
                total += model(x, y)[1].item() * len(pairs)
            losses[name] = total / r.eval_iters
        model.train()
        torch.set_rng_state(state)
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, Path(out) / "last.pt")
        return losses

    t0 = time.perf_counter()
    model.train()
    for step in range(max_iters):
        if step % r.eval_interval == 0 and step > 0:
            evaluate()
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        x, y = get_batch(splits["train"])
        _, loss = model(x, y)
        loss.backward()
        loss.item()
        torch.nn.utils.clip_grad_norm_(model.parameters(), r.grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
    losses = evaluate()
    t1 = time.perf_counter()
    return {"seconds": t1 - t0, "total_seconds": t1 - t_start, "val_loss": losses["val"]}


def run(lib: str, args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        if lib == "ember":
            cmd = [sys.executable, "-m", "ember", "gpt", "train", "--data", args.data, "--max-iters",
                   str(args.max_iters), "--out", out, "--quiet", "--sample-tokens", "0"]
            subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
            res = json.loads((Path(out) / "summary.json").read_text())
        else:
            cmd = [sys.executable, __file__, "--torch-worker", "--data", args.data, "--max-iters",
                   str(args.max_iters), "--out", out]
            res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        wall = time.perf_counter() - t
    return {"bench": "gpt_run", "lib": lib, "max_iters": args.max_iters, "seconds": round(res["seconds"], 2),
            "process_wall_s": round(wall, 2), "val_loss": round(res["val_loss"], 4),
            "load_average_1min": os.getloadavg()[0]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"))
    p.add_argument("--max-iters", type=int, default=2000)
    p.add_argument("--pairs", type=int, default=1)
    p.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.torch_worker:
        print(json.dumps(torch_run(args.data, args.max_iters, args.out)))
        return
    rows: dict[str, list[dict]] = {"ember": [], "torch": []}
    for _ in range(args.pairs):
        for lib in ("ember", "torch"):
            r = run(lib, args)
            rows[lib].append(r)
            print(json.dumps(r), flush=True)
    print(f"\n{'':8s}{'train s':>10s}{'process s':>12s}{'val loss':>10s}   "
          f"({args.max_iters} steps, median of {args.pairs})")
    for lib, rs in rows.items():
        med = {k: statistics.median(r[k] for r in rs) for k in ("seconds", "process_wall_s", "val_loss")}
        print(f"{lib:8s}{med['seconds']:10.1f}{med['process_wall_s']:12.1f}{med['val_loss']:10.4f}")
    ratios = [e["seconds"] / t["seconds"] for e, t in zip(rows["ember"], rows["torch"])]
    print(f"ember/torch training time: {statistics.median(ratios):.2f}x (median of paired runs)")


if __name__ == "__main__":
    main()
