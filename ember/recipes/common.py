"""Pieces shared by the training programs: progress bars, loss plots, checkpoint files."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def progress(iterable: Iterable, total: int | None = None, desc: str = "", disable: bool = False) -> Any:
    """A tqdm progress bar when tqdm is installed, otherwise the iterable itself."""
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is in the train extra
        return iterable
    return tqdm(iterable, total=total, desc=desc, disable=disable, dynamic_ncols=True, leave=False)


def plot_curves(path: str | Path, series: dict[str, tuple[list[float], list[float]]], title: str,
                ylabel: str = "loss", right: dict[str, tuple[list[float], list[float]]] | None = None,
                right_label: str = "") -> Path | None:
    """Draw named (x, y) series into a PNG; a second y axis holds ``right`` (e.g. accuracy)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except ImportError:  # pragma: no cover - matplotlib is in the train extra
        print("matplotlib is not installed: skipping the loss plot (pip install matplotlib)")
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, (xs, ys) in series.items():
        if xs:
            ax.plot(xs, ys, label=name, marker="o" if len(xs) < 30 else None)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs and steps are whole numbers
    ax.set_xlabel("step" if "step" in title else "epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if right:
        ax2 = ax.twinx()
        for name, (xs, ys) in right.items():
            ax2.plot(xs, ys, label=name, color="tab:green", marker="s")
        ax2.set_ylabel(right_label)
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, loc="best")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)
    return path


class Timer:
    """Wall-clock seconds since construction."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def __call__(self) -> float:
        return time.perf_counter() - self.start


def write_json(path: str | Path, obj: Any) -> None:
    """Write JSON atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2))
    os.replace(tmp, path)


def copy_checkpoint(src: str | Path, dst: str | Path) -> None:
    """Make ``dst`` hold what ``src`` holds now, replacing it atomically.

    A hard link where the file system has them: checkpoints are always replaced by a
    rename, never written in place, so the link keeps today's contents after ``src``
    moves on, and costs no second write and fsync of the whole file.
    """
    src, dst = Path(src), Path(dst)
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.link")
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copyfile(src, tmp)
    os.replace(tmp, dst)
