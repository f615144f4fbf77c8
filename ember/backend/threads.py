"""Worker threads for the CPU backend's elementwise kernels.

NumPy runs each ufunc on one core, while BLAS (and PyTorch's elementwise kernels) use
all of them. NumPy releases the GIL inside every ufunc loop, so a large fused kernel
(GELU, a softmax) can be cut into contiguous parts that run on several threads at
once; the Python between two ufunc calls is short next to a call on tens of thousands
of elements, so the threads rarely wait for the GIL.

``parallel_for(fn, n)`` runs ``fn(lo, hi)`` over parts of ``range(n)``; the calling
thread does the first part itself. The thread count follows ``set_num_threads`` (as
``torch.set_num_threads``); by default ``EMBER_NUM_THREADS`` or ``OMP_NUM_THREADS`` when
set, else the number of CPUs this process may use.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable

# Below this many elements per part a kernel runs on one thread: the hand-off to a worker
# (a wake-up through the OS, ~5-20 us) would cost more than the part's arithmetic.
MIN_PART = 1 << 16


def _default_threads() -> int:
    for var in ("EMBER_NUM_THREADS", "OMP_NUM_THREADS"):
        env = os.environ.get(var, "").strip()
        if env.isdigit() and int(env) > 0:
            return int(env)
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


_num_threads = _default_threads()
_workers: list[_Worker] = []
_lock = threading.Lock()
_busy = threading.Lock()  # held while a parallel_for uses the workers; others run on their own thread


class _Worker:
    """A daemon thread that runs the ``(fn, lo, hi)`` tasks put on its queue, one at a time."""

    def __init__(self) -> None:
        self.tasks: queue.SimpleQueue = queue.SimpleQueue()
        self.done: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._run, name="ember-worker", daemon=True).start()

    def _run(self) -> None:
        while True:
            fn, lo, hi = self.tasks.get()
            try:
                fn(lo, hi)
                self.done.put(None)
            except BaseException as e:  # noqa: BLE001 - handed to the caller, raised there
                self.done.put(e)


def get_num_threads() -> int:
    """Return the number of threads the CPU backend's fused kernels use."""
    return _num_threads


def set_num_threads(n: int) -> None:
    """Use ``n`` threads (n >= 1) for the CPU backend's fused elementwise kernels."""
    global _num_threads
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive integer, got {n!r}")
    _num_threads = n


def _pool(k: int) -> list[_Worker]:
    if len(_workers) < k:
        with _lock:
            while len(_workers) < k:
                _workers.append(_Worker())
    return _workers[:k]


def parallel_for(fn: Callable[[int, int], None], n: int, min_part: int = MIN_PART) -> None:
    """Run ``fn(lo, hi)`` over contiguous parts covering ``range(n)``, on up to ``get_num_threads()`` threads.

    Parts are at least ``min_part`` long (one part, on the calling thread, when ``n`` is
    smaller); ``fn`` must only write to what belongs to its own part.
    """
    parts = min(_num_threads, n // min_part) if min_part > 0 else _num_threads
    if parts <= 1 or not _busy.acquire(blocking=False):
        fn(0, n)  # small, or the workers serve another thread's kernel (or this is a nested call)
        return
    try:
        bounds = [n * i // parts for i in range(parts + 1)]
        workers = _pool(parts - 1)
        for w, lo, hi in zip(workers, bounds[1:-1], bounds[2:]):
            w.tasks.put((fn, lo, hi))
        err: BaseException | None = None
        try:
            fn(0, bounds[1])
        except BaseException as e:  # noqa: BLE001 - wait for the workers before raising
            err = e
        for w in workers:
            r = w.done.get()
            if err is None and r is not None:
                err = r
    finally:
        _busy.release()
    if err is not None:
        raise err


def _after_fork_in_child() -> None:
    # a forked child (a DataLoader worker) has none of the parent's threads: start anew
    global _lock, _busy
    _workers.clear()
    _lock, _busy = threading.Lock(), threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
