"""Train and evaluate an MLP or CNN on MNIST (``ember mnist train`` / ``ember mnist eval``).

Data: the official IDX files (``train-images-idx3-ubyte.gz`` and friends) or, for
training, the 5,000-digit ``mnist_5k.csv.gz``, found in ``--data``, else in
``$EMBER_DATA``, else in the cache (``~/.cache/ember/mnist``); ``--download`` fetches
the official files into the cache (or into ``--data``) when they are in none of those.

Training is Adam with a fresh shuffle every epoch; each epoch ends with an evaluation
on the test set and a checkpoint (model, optimizer, RNG state, epoch, history), so
``--resume`` continues exactly where the last completed epoch left off.
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
from ember.serialization import load as load_checkpoint
from ember.serialization import save as save_checkpoint

MODELS = {"mlp": MLP, "cnn": CNN}
TRAIN_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
CSV_NAME = "mnist_5k.csv.gz"
CHECKPOINT = "last.safetensors"


def _positive(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {n}")
    return n


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", choices=sorted(MODELS), default="mlp")
    p.add_argument("--data", default=None,
                   help="folder with the MNIST files (default: $EMBER_DATA, then the cache)")
    p.add_argument("--download", action="store_true",
                   help="download the official files if they are not found")
    p.add_argument("--epochs", type=_positive, default=10, help="total epochs (also when resuming)")
    p.add_argument("--batch-size", type=_positive, default=128)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate")
    p.add_argument("--seed", type=int, default=0, help="seeds initialisation and shuffling")
    p.add_argument("--train-limit", type=_positive, default=None, metavar="N",
                   help="train on N evenly spaced training images (quick runs)")
    p.add_argument("--test-limit", type=_positive, default=None, metavar="N",
                   help="evaluate on the first N test images")
    p.add_argument("--out", default=None,
                   help="folder for checkpoints and plots (default: runs/mnist-<model>)")
    p.add_argument("--resume", action="store_true", help=f"continue from <out>/{CHECKPOINT}")
    p.add_argument("--graph", default=None, help="write the model's computation graph (DOT/SVG/PNG) here")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def add_eval_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ckpt", required=True,
                   help="checkpoint written by `ember mnist train`, or a bare state dict (safetensors)")
    p.add_argument("--model", choices=sorted(MODELS), default=None,
                   help="architecture of a bare state dict (default: recognised from its keys)")
    p.add_argument("--data", default=None,
                   help="folder with the test files (default: $EMBER_DATA, then the cache)")
    p.add_argument("--download", action="store_true", help="download the official test files if not found")
    p.add_argument("--test-limit", type=_positive, default=None, metavar="N",
                   help="evaluate on the first N test images")
    p.add_argument("--batch-size", type=_positive, default=1000)


# ----------------------------------------------------------------------------------------- data

def _search_dirs(data: str | None) -> list[Path]:
    """The folders searched, in order: ``--data`` alone if given, else ``$EMBER_DATA``'s, then the cache."""
    from ember.datasets._download import cache_dir, data_dirs

    roots = [Path(data).expanduser()] if data else data_dirs()
    dirs = [sub for r in roots for sub in (r, r / "mnist", r / "MNIST" / "raw")]
    return dirs if data else [*dirs, cache_dir("mnist")]


def _has(folder: Path, names: tuple[str, ...]) -> bool:
    return all((folder / n).is_file() or (folder / n.removesuffix(".gz")).is_file() for n in names)


def _not_found(what: str, wanted: str, data: str | None) -> Exception:
    from ember.datasets import DatasetNotFoundError
    from ember.datasets._download import cache_dir

    looked = "\n  ".join(str(d) for d in _search_dirs(data)) or "(nowhere)"
    if data:
        where = "in --data"
    else:
        where = "in $EMBER_DATA" if os.environ.get("EMBER_DATA") else "($EMBER_DATA is not set)"
    return DatasetNotFoundError(
        f"cannot find the MNIST {what} {where}: looked for {wanted} in:\n  {looked}\n"
        f"To provide it: pass --data DIR (a folder holding the files), set EMBER_DATA=DIR, or add --download "
        f"to fetch the official files (into {Path(data) / 'MNIST' / 'raw' if data else cache_dir('mnist')})"
    )


def load_train(data: str | None, download: bool = False, limit: int | None = None) -> tuple[Any, Any, str]:
    """Return (images, labels, description): normalised float32 (N, 1, 28, 28) and int64 (N,).

    The official training files win over ``mnist_5k.csv.gz`` where a folder holds both.
    ``limit`` keeps that many evenly spaced images (so every class stays, even in the
    label-sorted CSV).
    """
    from ember import datasets

    ds: Any = None
    for folder in _search_dirs(data):
        if _has(folder, TRAIN_FILES):
            ds = datasets.MNIST(folder, train=True)
        elif (folder / CSV_NAME).is_file():
            ds = datasets.MNISTCSV(folder / CSV_NAME)
        if ds is not None:
            break
    if ds is None and download:
        ds = datasets.MNIST(data, train=True, download=True)
    if ds is None:
        raise _not_found("training set", f"{' + '.join(TRAIN_FILES)}, or {CSV_NAME}", data)
    x, y = ds.tensors()
    source = str(ds.path) if isinstance(ds, datasets.MNISTCSV) else str(ds.image_file.parent)
    if limit is not None and limit < x.shape[0]:
        keep = ember.arange(limit) * x.shape[0] // limit
        x, y = x[keep], y[keep]
    return x, y, source


def load_test(data: str | None, download: bool = False, limit: int | None = None) -> tuple[Any, Any, str]:
    """Return the official test set's (images, labels, folder), normalised like the training set."""
    from ember import datasets

    folder = next((f for f in _search_dirs(data) if _has(f, TEST_FILES)), None)
    if folder is None and not download:
        raise _not_found("test set", " + ".join(TEST_FILES), data)
    ds = datasets.MNIST(folder if folder is not None else data, train=False, download=folder is None)
    x, y = ds.tensors()
    if limit is not None:
        x, y = x[:limit], y[:limit]
    return x, y, str(ds.image_file.parent)


# ------------------------------------------------------------------------------------ training

def build_model(name: str) -> Any:
    return MODELS[name]()


@ember.no_grad()
def evaluate(model: Any, x: Any, y: Any, batch_size: int = 1000) -> tuple[float, float]:
    """Return (mean cross-entropy, accuracy) over a whole set, in eval mode."""
    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, 0
    for i in range(0, x.shape[0], batch_size):
        logits = model(x[i : i + batch_size])
        target = y[i : i + batch_size]
        total_loss += F.cross_entropy(logits, target, reduction="sum").item()
        correct += (logits.argmax(dim=1) == target).sum().item()
    model.train(was_training)
    return total_loss / x.shape[0], correct / x.shape[0]


def train_epoch(model: Any, optimizer: Any, x: Any, y: Any, batch_size: int, desc: str = "",
                quiet: bool = True) -> float:
    """One pass over (x, y) in a fresh random order (ember's global RNG); returns the mean batch loss."""
    n = x.shape[0]
    steps = (n + batch_size - 1) // batch_size
    perm = ember.randperm(n)
    model.train()
    running = 0.0
    bar = progress(range(steps), total=steps, desc=desc, disable=quiet)
    for i in bar:
        idx = perm[i * batch_size : (i + 1) * batch_size]
        loss = F.cross_entropy(model(x[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        value = loss.item()
        running += value
        if not quiet and i % 10 == 0:
            bar.set_postfix(loss=f"{value:.4f}")  # type: ignore[attr-defined]
    return running / steps


def _resume(path: Path, args: argparse.Namespace, model: Any, optimizer: Any) -> tuple[int, dict]:
    ckpt = load_checkpoint(path)
    if not isinstance(ckpt, dict) or not {"model", "optimizer", "rng", "epoch", "history"} <= ckpt.keys():
        raise RuntimeError(f"resume: {path} is not a checkpoint written by `ember mnist train`")
    if ckpt.get("model_name") != args.model:
        name = ckpt.get("model_name")
        raise ValueError(f"resume: {path} holds a {name!r} model but --model is {args.model!r}; "
                         f"pass --model {name} or another --out")
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    ember.set_rng_state(ckpt["rng"])
    return int(ckpt["epoch"]), ckpt["history"]


def train(args: argparse.Namespace) -> dict[str, Any]:
    """Train with Adam, evaluate and checkpoint every epoch; write curves.png and summary.json."""
    out = Path(args.out or f"runs/mnist-{args.model}")
    # find the data first: a missing file should fail before anything is written
    train_x, train_y, train_src = load_train(args.data, args.download, args.train_limit)
    test_x, test_y, test_src = load_test(args.data, args.download, args.test_limit)
    out.mkdir(parents=True, exist_ok=True)
    ember.manual_seed(args.seed)
    model = build_model(args.model)
    optimizer = ember.optim.Adam(model.parameters(), lr=args.lr)
    start_epoch = 0
    history: dict[str, list] = {"epoch": [], "train_loss": [], "test_loss": [], "test_acc": [], "seconds": []}
    ckpt_path = out / CHECKPOINT
    if args.resume:
        if ckpt_path.exists():
            start_epoch, history = _resume(ckpt_path, args, model, optimizer)
            print(f"resumed from {ckpt_path} after epoch {start_epoch}")
        else:
            print(f"no checkpoint at {ckpt_path}: starting from scratch")
    print(f"data: {train_x.shape[0]:,} training images from {train_src}; "
          f"{test_x.shape[0]:,} test images from {test_src}")
    if args.graph:
        from ember import viz

        viz.draw(F.cross_entropy(model(train_x[:8]), train_y[:8]), args.graph)
    timer = Timer()
    for epoch in range(start_epoch, args.epochs):
        epoch_timer = Timer()
        train_loss = train_epoch(model, optimizer, train_x, train_y, args.batch_size,
                                 desc=f"epoch {epoch + 1}/{args.epochs}", quiet=args.quiet)
        seconds = epoch_timer()
        test_loss, test_acc = evaluate(model, test_x, test_y)
        for key, value in zip(history, (epoch + 1, train_loss, test_loss, test_acc, seconds), strict=True):
            history[key].append(value)
        print(f"epoch {epoch + 1}: train loss {train_loss:.4f}  test loss {test_loss:.4f}  "
              f"test accuracy {100 * test_acc:.2f}%  ({seconds:.1f} s)")
        save_checkpoint({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "rng": ember.get_rng_state(), "epoch": epoch + 1, "history": history,
                    "model_name": args.model}, ckpt_path)
    if start_epoch >= args.epochs:
        print(f"{ckpt_path} already holds {start_epoch} epochs (--epochs {args.epochs}): nothing to train")
    epochs = history["epoch"]
    plot_curves(out / "curves.png", {"train loss": (epochs, history["train_loss"]),
                                     "test loss": (epochs, history["test_loss"])},
                title=f"MNIST {args.model.upper()} by epoch",
                right={"test accuracy": (epochs, history["test_acc"])}, right_label="accuracy")
    summary = {
        "model": args.model, "epochs": epochs[-1] if epochs else 0, "batch_size": args.batch_size,
        "lr": args.lr, "seed": args.seed, "train_images": train_x.shape[0], "test_images": test_x.shape[0],
        "train_data": train_src, "test_data": test_src,
        "test_accuracy": history["test_acc"][-1] if epochs else None,
        "test_loss": history["test_loss"][-1] if epochs else None,
        "train_loss": history["train_loss"][-1] if epochs else None,
        "train_seconds": sum(history["seconds"]), "seconds": timer(), "checkpoint": str(ckpt_path),
        "history": history,
    }
    write_json(out / "summary.json", summary)
    print(f"done in {summary['seconds']:.1f} s; {CHECKPOINT}, curves.png and summary.json in {out}")
    return summary


# ---------------------------------------------------------------------------------- evaluation

def _guess_model(state: dict, path: str) -> str:
    """Recognise a bare state dict by its keys (CNN: 0.weight is the first conv; MLP: 1.weight)."""
    for name, cls in MODELS.items():
        if set(state) == set(cls().state_dict()):
            return name
    raise ValueError(f"eval: cannot tell which model {path} holds (keys {sorted(state)[:6]}...); "
                     "pass --model")


def evaluate_checkpoint(args: argparse.Namespace) -> float:
    """Load a checkpoint (or a bare state dict) and print its test loss and accuracy."""
    ckpt = load_checkpoint(args.ckpt)
    if not isinstance(ckpt, dict):
        raise ValueError(f"eval: {args.ckpt} holds a {type(ckpt).__name__}, not a checkpoint or state dict")
    if "model" in ckpt and isinstance(ckpt["model"], dict):
        state, name = ckpt["model"], args.model or ckpt.get("model_name")
    else:
        state, name = ckpt, args.model
    if name is None:
        name = _guess_model(state, args.ckpt)
    model = build_model(name)
    model.load_state_dict(state)
    x, y, source = load_test(args.data, args.download, args.test_limit)
    loss, acc = evaluate(model, x, y, args.batch_size)
    print(f"{args.ckpt} ({name}): test loss {loss:.4f}, test accuracy {100 * acc:.2f}% "
          f"on {x.shape[0]:,} images from {source}")
    return acc
