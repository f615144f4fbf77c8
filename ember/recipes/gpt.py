"""Train a GPT on a text file and sample from it (``ember gpt train`` / ``ember gpt sample``).

The recipe follows nanoGPT's character-level Shakespeare run: random contiguous
blocks from a 90/10 train/val split, AdamW with decay only on matrices, linear
warmup then cosine decay, gradient clipping, periodic evaluation, and checkpoints
(``last`` and ``best``) that hold everything needed to resume exactly.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import ember
from ember import nn
from ember.models.gpt import GPT, GPTConfig
from ember.recipes.common import Timer, copy_checkpoint, plot_curves, progress, write_json
from ember.serialization import load as load_checkpoint
from ember.serialization import save as save_checkpoint


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default=None,
                   help="text file; default: $EMBER_DATA/tinyshakespeare.txt if present, "
                        "else the Python standard library's source (always available offline)")
    p.add_argument("--download", action="store_true",
                   help="download tiny Shakespeare when --data is not given")
    p.add_argument("--tokenizer", choices=["char", "bpe"], default="char")
    p.add_argument("--vocab-size", type=int, default=512, help="BPE vocabulary size")
    p.add_argument("--max-bytes", type=int, default=1_000_000,
                   help="size of the standard-library corpus used when no text file is found (bytes)")
    p.add_argument("--block-size", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=12)
    p.add_argument("--n-layer", type=int, default=4)
    p.add_argument("--n-head", type=int, default=4)
    p.add_argument("--n-embd", type=int, default=128)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--no-bias", action="store_true")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--min-lr", type=float, default=1e-4)
    p.add_argument("--warmup-iters", type=int, default=100)
    p.add_argument("--max-iters", type=int, default=2000)
    p.add_argument("--lr-decay-iters", type=int, default=None,
                   help="length of the cosine schedule (default: max-iters); give the final length here to "
                        "stop early and --resume later on the same schedule")
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--beta1", type=float, default=0.9)
    p.add_argument("--beta2", type=float, default=0.99)
    p.add_argument("--grad-clip", type=float, default=1.0)
    p.add_argument("--grad-accum", type=int, default=1, help="micro-batches per optimizer step")
    p.add_argument("--eval-interval", type=int, default=250)
    p.add_argument("--eval-iters", type=int, default=20)
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--out", default="runs/gpt", help="folder for checkpoints, tokenizer, plot and log")
    p.add_argument("--resume", action="store_true", help="continue from <out>/last.safetensors")
    p.add_argument("--sample-tokens", type=int, default=200, help="tokens to sample at the end (0: none)")
    p.add_argument("--graph", default=None, help="write the model's computation graph (DOT/SVG/PNG) here")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def load_corpus(args: argparse.Namespace) -> tuple[str, str]:
    """Return (text, description of where it came from)."""
    from ember.datasets import text as text_data

    if args.data:
        return Path(args.data).read_text(encoding="utf-8"), args.data
    if args.download:
        return text_data.load_text(download=True), "tiny Shakespeare (downloaded)"
    try:
        return text_data.load_text(), "tiny Shakespeare ($EMBER_DATA or cache)"
    except (FileNotFoundError, RuntimeError):
        return (
            text_data.python_stdlib_corpus(max_bytes=args.max_bytes), "the Python standard library's source"
        )


def lr_at(step: int, args: argparse.Namespace) -> float:
    """Linear warmup to ``lr``, then cosine decay to ``min_lr`` at ``lr_decay_iters``."""
    decay_iters = args.lr_decay_iters or args.max_iters
    if step < args.warmup_iters:
        return args.lr * (step + 1) / (args.warmup_iters + 1)
    if step > decay_iters:
        return args.min_lr
    ratio = (step - args.warmup_iters) / max(1, decay_iters - args.warmup_iters)
    return args.min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (args.lr - args.min_lr)


def get_batch(data: Any, block: int, batch: int) -> tuple[Any, Any]:
    """Random contiguous blocks: inputs (B, T) and next-token targets (B, T)."""
    starts = ember.randint(0, data.shape[0] - block, (batch, 1))  # the last target is data[start + block]
    offsets = starts + ember.arange(block)  # (B, T)
    return data[offsets], data[offsets + 1]


# Evaluation batches are stacked into forwards of up to this many tokens: one forward of ten
# batches is ~1.4x faster than ten of one at the recipe's size (fewer, larger products; a tenth of
# the per-operation overhead), and the cap keeps a large model's activations near one batch's.
EVAL_TOKENS = 8192


@ember.no_grad()
def estimate_loss(model: GPT, splits: dict[str, Any], args: argparse.Namespace) -> dict[str, float]:
    """Mean loss over ``eval_iters`` batches per split, the same batches at every evaluation.

    The batches come from their own seed and the training random stream is restored
    afterwards, so evaluating (or not) never changes the training run: a resumed run
    and an uninterrupted one draw the same training batches. Every batch holds the same
    number of targets, so the mean of the batches' mean losses is the mean loss over the
    stacked batches: they are drawn one by one, as nanoGPT draws them, and run several at
    a time (``EVAL_TOKENS``).
    """
    state = ember.get_rng_state()
    ember.manual_seed(args.seed + 1)
    model.eval()
    group = max(1, EVAL_TOKENS // (args.batch_size * args.block_size))
    out = {}
    for name, data in splits.items():
        total = 0.0
        for first in range(0, args.eval_iters, group):
            n = min(group, args.eval_iters - first)
            pairs = [get_batch(data, args.block_size, args.batch_size) for _ in range(n)]
            x = ember.cat([p[0] for p in pairs]) if n > 1 else pairs[0][0]
            y = ember.cat([p[1] for p in pairs]) if n > 1 else pairs[0][1]
            _, loss = model(x, y)
            total += loss.item() * n
        out[name] = total / args.eval_iters
    model.train()
    ember.set_rng_state(state)
    return out


def train(args: argparse.Namespace) -> dict[str, Any]:
    """Run the training recipe; returns a summary (final losses, timing)."""
    from ember.tokenizers import BPETokenizer, CharTokenizer, load_tokenizer

    total_timer = Timer()  # includes reading and tokenizing the text
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ember.manual_seed(args.seed)
    text, source = load_corpus(args)
    tok_path = out / "tokenizer.json"
    if args.resume and tok_path.exists():  # the ids in the checkpoint mean this tokenizer's tokens
        tokenizer = load_tokenizer(tok_path)
    elif args.tokenizer == "bpe":
        tokenizer = BPETokenizer.train(text, args.vocab_size)
    else:
        tokenizer = CharTokenizer.from_text(text)
    tokenizer.save(tok_path)
    ids = ember.tensor(tokenizer.encode(text), dtype=ember.long)
    n = int(0.9 * ids.shape[0])
    splits = {"train": ids[:n], "val": ids[n:]}
    config = GPTConfig(block_size=args.block_size, vocab_size=tokenizer.vocab_size, n_layer=args.n_layer,
                       n_head=args.n_head, n_embd=args.n_embd, dropout=args.dropout, bias=not args.no_bias)
    model = GPT(config)
    optimizer = model.configure_optimizers(args.weight_decay, args.lr, (args.beta1, args.beta2))
    step, best_val = 0, float("inf")
    history: dict[str, list] = {"step": [], "train": [], "val": [], "iter_step": [], "iter_loss": []}
    if args.resume and (out / "last.safetensors").exists():
        ckpt = load_checkpoint(out / "last.safetensors")
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        ember.set_rng_state(ckpt["rng"])
        step, best_val, history = ckpt["step"], ckpt["best_val"], ckpt["history"]
        print(f"resumed from {out / 'last.safetensors'} at step {step}")
    if not args.quiet:
        print(f"data: {source}: {len(text):,} characters -> {ids.shape[0]:,} tokens "
              f"({args.tokenizer}, vocab {tokenizer.vocab_size})")
        print(f"model: {model.num_parameters() / 1e6:.2f}M parameters; training to step {args.max_iters}")
    if args.graph:
        from ember import viz

        state = ember.get_rng_state()  # drawing the graph must not change the run
        x, y = get_batch(splits["train"], args.block_size, args.batch_size)
        viz.draw(model(x, y)[1], args.graph)
        ember.set_rng_state(state)

    def save(name: str) -> None:
        save_checkpoint({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                         "rng": ember.get_rng_state(), "step": step, "best_val": best_val,
                         "history": history, "config": config.to_dict(),
                         "tokenizer": "tokenizer.json"}, out / name)

    def evaluate(step: int) -> dict[str, float]:
        """Evaluate, log and checkpoint at ``step`` (before its update).

        Once per step, even across resumes.
        """
        nonlocal best_val
        if history["step"] and history["step"][-1] == step:  # done before the checkpoint we resumed from
            return {"train": history["train"][-1], "val": history["val"][-1]}
        losses = estimate_loss(model, splits, args)
        history["step"].append(step)
        history["train"].append(losses["train"])
        history["val"].append(losses["val"])
        improved = losses["val"] < best_val
        best_val = min(best_val, losses["val"])
        save("last.safetensors")
        if improved:  # the same contents: no second serialization and write
            copy_checkpoint(out / "last.safetensors", out / "best.safetensors")
        msg = f"step {step}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}"
        bar.write(msg) if hasattr(bar, "write") else print(msg)
        return losses

    timer = Timer()
    tokens_per_step = args.batch_size * args.block_size * args.grad_accum
    bar = progress(range(step, args.max_iters), total=args.max_iters - step, desc="gpt", disable=args.quiet)
    model.train()
    last_t = timer()
    for step in bar:
        if step % args.eval_interval == 0 and step > 0:
            evaluate(step)
        lr = lr_at(step, args)
        for group in optimizer.param_groups:
            group["lr"] = lr
        step_loss = 0.0
        for _ in range(args.grad_accum):
            x, y = get_batch(splits["train"], args.block_size, args.batch_size)
            _, loss = model(x, y)
            (loss / args.grad_accum).backward()
            step_loss += loss.item() / args.grad_accum
        if args.grad_clip:
            nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        history["iter_step"].append(step)
        history["iter_loss"].append(step_loss)
        if hasattr(bar, "set_postfix") and step % 10 == 0:
            now = timer()
            rate = tokens_per_step * 10 / max(now - last_t, 1e-9) if step else 0.0
            last_t = now
            bar.set_postfix(loss=f"{step_loss:.3f}", tok_s=f"{rate:,.0f}")
    step = max(step, args.max_iters)
    losses = evaluate(step)
    elapsed = timer()
    # single batches are noisy: the batch curve is a running mean, drawn first so the evaluations lie on top
    window = max(1, min(25, len(history["iter_loss"]) // 20))
    smooth = [sum(history["iter_loss"][max(0, i + 1 - window): i + 1]) / (i + 1 - max(0, i + 1 - window))
              for i in range(len(history["iter_loss"]))]
    plot_curves(out / "loss.png", {f"train (batch, mean of {window})": (history["iter_step"], smooth),
                                   "train (eval)": (history["step"], history["train"]),
                                   "val": (history["step"], history["val"])},
                title="GPT loss by step")
    summary = {"step": step, "train_loss": losses["train"], "val_loss": losses["val"], "best_val": best_val,
               "seconds": elapsed, "total_seconds": total_timer(), "tokens": ids.shape[0],
               "vocab_size": tokenizer.vocab_size}
    write_json(out / "summary.json", summary)
    print(f"done: val loss {losses['val']:.4f} (best {best_val:.4f}) in {elapsed:.1f} s; "
          f"checkpoints, tokenizer and loss.png in {out}")
    if args.sample_tokens:
        print("---- sample ----")
        # start from a line break, as a play's text does (a char vocabulary may lack one)
        print(sample_text(
            model, tokenizer, "\n" if "\n" in text else text[0], args.sample_tokens, 0.8, 40, None
        ))
    return summary


def sample_text(model: GPT, tokenizer: Any, prompt: str, max_new_tokens: int, temperature: float,
                top_k: int | None, top_p: float | None) -> str:
    ids = tokenizer.encode(prompt) or [0]
    idx = ember.tensor([ids], dtype=ember.long)
    out = model.generate(idx, max_new_tokens, temperature=temperature, top_k=top_k, top_p=top_p)
    return tokenizer.decode(out[0].tolist())


def add_sample_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ckpt", required=True, help="checkpoint written by `ember gpt train`")
    p.add_argument("--tokenizer-file", default=None, help="default: tokenizer.json beside the checkpoint")
    p.add_argument("--prompt", default="\n")
    p.add_argument("--max-new-tokens", type=int, default=500)
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--top-p", type=float, default=None)
    p.add_argument("--num-samples", type=int, default=1)
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--no-cache", action="store_true", help="recompute the whole context for every token")


def sample(args: argparse.Namespace) -> list[str]:
    """Load a checkpoint and print samples."""
    from ember.tokenizers import load_tokenizer

    ckpt_path = Path(args.ckpt)
    ckpt = load_checkpoint(ckpt_path)
    tokenizer = load_tokenizer(
        args.tokenizer_file or ckpt_path.parent / ckpt.get("tokenizer", "tokenizer.json")
    )
    model = GPT(GPTConfig(**ckpt["config"]))
    model.load_state_dict(ckpt["model"])
    model.eval()
    ember.manual_seed(args.seed)
    texts = []
    for _ in range(args.num_samples):
        ids = tokenizer.encode(args.prompt) or [0]
        idx = ember.tensor([ids], dtype=ember.long)
        out = model.generate(idx, args.max_new_tokens, temperature=args.temperature, top_k=args.top_k,
                             top_p=args.top_p, use_cache=not args.no_cache)
        texts.append(tokenizer.decode(out[0].tolist()))
        print(texts[-1])
        print("---------------")
    return texts
