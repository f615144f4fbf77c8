"""Train and evaluate an MLP or CNN on MNIST (``ember mnist train`` / ``ember mnist eval``).

Data: a folder holding the official IDX files (``train-images-idx3-ubyte.gz``, ...)
or, for training, the 5,000-digit ``mnist_5k.csv.gz``; the folder comes from
``--data``, then ``$EMBER_DATA``, then the cache (``--download`` fills it).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import ember
import ember.nn.functional as F
from ember.models import CNN, MLP
from ember.recipes.common import Timer, plot_curves, progress, write_json

MEAN, STD = 0.1307, 0.3081  # the MNIST training set's pixel statistics


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", choices=["mlp", "cnn"], default="mlp")
    p.add_argument("--data", default=None, help="folder with MNIST files (default: $EMBER_DATA, then the cache)")
    p.add_argument("--download", action="store_true", help="download the official files into the cache")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="folder for checkpoints and plots (default: runs/mnist-<model>)")
    p.add_argument("--resume", action="store_true", help="continue from <out>/last.safetensors")
    p.add_argument("--graph", default=None, help="write the model's computation graph (DOT/SVG/PNG) here")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _normalise(images: Any) -> Any:
    """uint8 (N, 28, 28) -> float32 (N, 1, 28, 28), standardised."""
    return ((images.float() / 255.0 - MEAN) / STD).unsqueeze(1)


def load_data(data: str | None, download: bool = False) -> tuple[tuple[Any, Any], tuple[Any, Any], str]:
    """Return ((train_x, train_y), (test_x, test_y), description) as normalised tensors."""
    from ember import datasets

    root = data or os.environ.get("EMBER_DATA")
    candidates = [Path(root), Path(root) / "mnist"] if root else []
    for folder in candidates:
        csv = folder / "mnist_5k.csv.gz"
        has_test = any((folder / "mnist").glob("t10k-images*")) or any(folder.glob("t10k-images*"))
        if csv.exists() and not any(folder.glob("train-images*")) and has_test:
            test_root = folder / "mnist" if any((folder / "mnist").glob("t10k-images*")) else folder
            train_x, train_y = datasets.load_mnist_csv(csv)
            test = datasets.MNIST(test_root, train=False)
            return ((_normalise(train_x), train_y), (_normalise(test.data), test.targets),
                    f"{csv} (5,000 digits) + official test set in {test_root}")
    kwargs: dict[str, Any] = {"download": download}
    if root:
        kwargs["root"] = root
    train = datasets.MNIST(train=True, **kwargs)
    test = datasets.MNIST(train=False, **kwargs)
    return ((_normalise(train.data), train.targets), (_normalise(test.data), test.targets),
            f"official MNIST in {train.image_file.parent}")


def build_model(name: str) -> Any:
    return MLP() if name == "mlp" else CNN()


@ember.no_grad()
def evaluate(model: Any, x: Any, y: Any, batch_size: int = 1000) -> tuple[float, float]:
    """Return (mean loss, accuracy) over a whole set."""
    model.eval()
    total_loss, correct = 0.0, 0
    for i in range(0, x.shape[0], batch_size):
        logits = model(x[i : i + batch_size])
        target = y[i : i + batch_size]
        total_loss += F.cross_entropy(logits, target, reduction="sum").item()
        correct += (logits.argmax(dim=1) == target).sum().item()
    model.train()
    return total_loss / x.shape[0], correct / x.shape[0]


def train(args: argparse.Namespace) -> dict[str, Any]:
    """Train with Adam, evaluate every epoch, checkpoint every epoch; returns a summary."""
    out = Path(args.out or f"runs/mnist-{args.model}")
    out.mkdir(parents=True, exist_ok=True)
    ember.manual_seed(args.seed)
    (train_x, train_y), (test_x, test_y), source = load_data(args.data, args.download)
    model = build_model(args.model)
    optimizer = ember.optim.Adam(model.parameters(), lr=args.lr)
    start_epoch = 0
    history: dict[str, list] = {"epoch": [], "train_loss": [], "test_loss": [], "test_acc": []}
    if args.resume and (out / "last.safetensors").exists():
        ckpt = ember.load(out / "last.safetensors")
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        ember.set_rng_state(ckpt["rng"])
        start_epoch, history = ckpt["epoch"], ckpt["history"]
        print(f"resumed from {out / 'last.safetensors'} after epoch {start_epoch}")
    if not args.quiet:
        print(f"data: {source}: {train_x.shape[0]:,} training and {test_x.shape[0]:,} test images")
    if args.graph:
        from ember import viz

        viz.draw(F.cross_entropy(model(train_x[:8]), train_y[:8]), args.graph)
    timer = Timer()
    n = train_x.shape[0]
    steps = (n + args.batch_size - 1) // args.batch_size
    model.train()
    for epoch in range(start_epoch, args.epochs):
        perm = ember.randperm(n)
        running = 0.0
        bar = progress(range(steps), total=steps, desc=f"epoch {epoch + 1}/{args.epochs}", disable=args.quiet)
        for i in bar:
            idx = perm[i * args.batch_size : (i + 1) * args.batch_size]
            loss = F.cross_entropy(model(train_x[idx]), train_y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            running += loss.item()
            if hasattr(bar, "set_postfix") and i % 10 == 0:
                bar.set_postfix(loss=f"{loss.item():.4f}")
        test_loss, test_acc = evaluate(model, test_x, test_y)
        history["epoch"].append(epoch + 1)
        history["train_loss"].append(running / steps)
        history["test_loss"].append(test_loss)
        history["test_acc"].append(test_acc)
        print(f"epoch {epoch + 1}: train loss {running / steps:.4f}  test loss {test_loss:.4f}  "
              f"test accuracy {100 * test_acc:.2f}%")
        ember.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "rng": ember.get_rng_state(),
                    "epoch": epoch + 1, "history": history, "model_name": args.model}, out / "last.safetensors")
    elapsed = timer()
    plot_curves(out / "curves.png", {"train loss": (history["epoch"], history["train_loss"]),
                                     "test loss": (history["epoch"], history["test_loss"])},
                title=f"MNIST {args.model.upper()} by epoch",
                right={"test accuracy": (history["epoch"], history["test_acc"])}, right_label="accuracy")
    summary = {"model": args.model, "epochs": args.epochs, "test_accuracy": history["test_acc"][-1] if
               history["test_acc"] else None, "seconds": elapsed}
    write_json(out / "summary.json", summary)
    print(f"done in {elapsed:.1f} s; checkpoint and curves.png in {out}")
    return summary


def add_eval_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ckpt", required=True, help="checkpoint written by `ember mnist train`")
    p.add_argument("--data", default=None)
    p.add_argument("--download", action="store_true")


def evaluate_checkpoint(args: argparse.Namespace) -> float:
    ckpt = ember.load(args.ckpt)
    model = build_model(ckpt["model_name"])
    model.load_state_dict(ckpt["model"])
    _, (test_x, test_y), source = load_data(args.data, args.download)
    loss, acc = evaluate(model, test_x, test_y)
    print(f"{args.ckpt}: test loss {loss:.4f}, test accuracy {100 * acc:.2f}% ({source})")
    return acc
