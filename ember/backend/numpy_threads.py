"""Intra-op threads for the CPU backend: one primitive's work split over the cores.

NumPy runs each ufunc on one core, and its BLAS (OpenBLAS) threads its matrix products
itself. Left alone, the second core sits idle through every elementwise pass, and
OpenBLAS's helper thread, having idled, starts each product slowly (on the 2-core
machine ember is measured on, a (768, 128) x (128, 512) product after 1.5 ms of
single-core work takes 1.3x its back-to-back time). So ember runs its large
primitives on its own threads, as PyTorch does with OpenMP: the caller cuts the output
into disjoint parts along the first axis, part 0 runs on the calling thread and the
others on resident workers, and NumPy, BLAS and the compiled kernels all release the
GIL while they compute. Elementwise passes and row kernels compute each output element
by the same code as without threads, so their results do not depend on the thread count;
products agree to rounding (BLAS picks kernels by the band's shape, and a product cut along
its inner axis adds its threads' partial sums after).

While ember's threads are on, NumPy's BLAS is held to one thread (two layers of
threads would fight over the same cores); ``set_num_threads(1)`` gives it back its own.
That limit needs ``threadpoolctl`` (in the ``fast`` and ``train`` extras); without it
ember stays on one thread and leaves BLAS as it was.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import Any


def _intel_cpu() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    return line.split(":", 1)[1].strip() == "GenuineIntel"
    except OSError:
        pass
    return False


INTEL_CPU = _intel_cpu()

# splitting pays only when each part's work dwarfs the hand-off to a worker (~10-15 us); these
# are the least work of one part, so a split starts at twice as much
MIN_ELEMENTS = 1 << 16  # compiled kernels (many operations per element): 256 KB of float32
# a plain pass (one add) gains less than it costs below parts of ~512 KB: its result, left half
# in the other core's cache, slows whatever the calling thread does with it next. On AMD's cores
# (a cache shared by the cores of a complex), parts of 64 K slowed the GPT step and 128 K (GELU's
# backward product, 393 K elements, now split) sped it up by 0.4-1.2 ms against 256 K. On an
# Intel Xeon (2 MiB of cache per core, the others reached over the mesh), reading the other
# core's half of an operand costs more than the hand-off: parts of 48 K, so that the residual
# adds (98 K elements) are split as the products before them were, took the step's forward from
# 13.7-13.9 to 13.0-13.1 ms, the whole step 35.8-36.4 to 35.1-35.3 (300 steps, alternating runs)
MIN_PASS_ELEMENTS = 48 << 10 if INTEL_CPU else 1 << 17
MIN_FLOPS = 1 << 20  # matrix products: 1 MFLOP, ~10 us of one core
# how long an idle worker spins before it sleeps: ~1-3 ms (a turn is one load and compare)
SPIN_TURNS = 1 << 22
# a worker that sees a Python job first waits this many turns (~6 us here), about as long as the
# calling thread takes from handing the job over to entering native code itself: asked for earlier,
# the GIL is still held and the worker sleeps until it is woken (a start 7 us later, measured)
PYTHON_JOB_DELAY = 20_000


def _default_threads() -> int:
    for var in ("EMBER_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class _Worker:
    """A resident thread that runs one job at a time.

    With Numba, the worker waits between jobs in a compiled loop that holds no GIL
    (``numpy_jit.serve``): it spins on ``flag`` for the next job's number, runs a compiled
    job there and then (a matrix product through BLAS's gemm, or one of the compiled
    kernels: no Python and so no GIL involved), and returns to Python only for a Python
    job. Completion is published in ``finished``, which the calling thread also watches
    in a compiled spin. Each hand-over of the GIL
    between two threads costs a wake-up of the sleeping one (10-20 us on the machines
    ember is measured on), and these paths need none. After a while without work the
    worker sleeps on ``go``: a core that has slept starts its next job slowly (a product
    after 5 ms of sleep ran at half speed here), and the gaps between an op's splits are
    mostly shorter than the spin.

    Without Numba, jobs are handed over through two locks (``go``, ``done``).
    """

    def __init__(self, kernels: Any) -> None:
        import numpy as np

        self.go = threading.Lock()
        self.go.acquire()
        self.done = threading.Lock()  # the lock-only protocol's signal of a finished job
        self.done.acquire()
        self.state = threading.Lock()  # guards ``sleeping`` against a lost wake-up
        self.sleeping = False
        self.job: tuple[Callable[..., Any], tuple] | None = None
        self.error: BaseException | None = None
        self.stop = False
        self.flag = np.zeros(1, np.int64)  # the number of the latest job handed over
        self.finished = np.zeros(1, np.int64)  # the number of the latest job done (compiled wait)
        # a compiled job to run (numpy_jit.run_job), or compiled[0] = 0 for a Python job
        self.compiled = np.zeros(kernels.JOB_FIELDS if kernels is not None else 1, np.int64)
        self.jobs = 0
        self.kernels = kernels
        self.thread = threading.Thread(target=self._loop, daemon=True, name="ember-worker")
        self.thread.start()

    def hand(self, fn: Callable[..., Any], args: tuple) -> None:
        self.job = (fn, args)
        self.compiled[0] = 0
        self._post()

    def hand_compiled(self, job: Any) -> None:
        self.compiled[:] = job
        self._post()

    def _post(self) -> None:
        self.jobs += 1
        self.flag[0] = self.jobs
        if self.kernels is None:
            self.go.release()
            return
        with self.state:  # the worker decides to sleep under this lock, after a last look at flag
            if self.sleeping:
                self.sleeping = False
                self.go.release()

    def wait(self) -> None:
        """Return once the latest job handed over has finished."""
        if self.kernels is None:
            self.done.acquire()
            return
        while not self.kernels.spin_until(self.finished, self.jobs, SPIN_TURNS):
            if not self.thread.is_alive():  # a job longer than one spin, or a worker that is gone
                raise RuntimeError("an ember worker thread stopped before finishing its job")

    def _loop(self) -> None:
        if self.kernels is None:
            self._loop_locks()
            return
        serve = self.kernels.serve
        seen = finished = 0
        while True:
            n = serve(self.flag, self.finished, self.compiled, seen, finished, SPIN_TURNS, PYTHON_JOB_DELAY)
            finished = 0
            if n < 0:  # no job for a while: sleep until one is posted
                seen = -1 - n
                with self.state:
                    self.sleeping = int(self.flag[0]) == seen
                    asleep = self.sleeping
                if asleep:
                    self.go.acquire()
                continue
            seen = n
            if self.stop:
                return
            self._run_job()
            finished = n  # published by serve, once this thread has let go of the GIL

    def _loop_locks(self) -> None:
        while True:
            self.go.acquire()
            if self.stop:
                return
            self._run_job()
            self.done.release()

    def _run_job(self) -> None:
        fn, args = self.job  # type: ignore[misc]
        self.job = None
        try:
            fn(*args)
        except BaseException as e:  # noqa: BLE001 - re-raised on the calling thread
            self.error = e
        # drop the views of the job's arrays now: held until the next job, they would keep
        # the caller's temporaries alive, and each new one would be fresh, page-faulting memory
        del fn, args


def _nothing() -> None:
    pass


class _State:
    def __init__(self) -> None:
        self.requested = 0  # 0: not chosen yet (the default is read on first use)
        self.workers: list[_Worker] = []
        self.busy = threading.Lock()  # held while a split runs: nested or concurrent calls go serial
        self.blas_limit: Any = None  # threadpoolctl's limiter while BLAS is held to one thread
        self.no_limit = False  # threadpoolctl is missing: ember's primitives stay on one thread


_state = _State()


def get_num_threads() -> int:
    """The number of threads ember's CPU primitives use."""
    if not _state.requested:
        _state.requested = _default_threads()
    return _state.requested


def set_num_threads(n: int) -> None:
    """Use ``n`` threads for ember's CPU primitives (1: everything on the calling thread)."""
    # PyTorch's errors, RuntimeError in both cases
    if isinstance(n, bool) or not isinstance(n, int):
        raise RuntimeError(f"set_num_threads expects an int, but got {type(n).__name__}")
    if n < 1:
        raise RuntimeError(f"set_num_threads expects a positive integer, got {n}")
    with _state.busy:
        _state.requested = n
        _resize(1)  # workers start again on the next split, at the new count


def _resize(n: int) -> None:
    """Keep ``n - 1`` workers (and BLAS on one thread while there are any)."""
    workers = _state.workers
    while len(workers) > n - 1:
        w = workers.pop()
        w.stop = True
        w.hand(_nothing, ())
    if n > 1:
        if _state.blas_limit is None:
            if _state.no_limit:
                return
            _state.blas_limit = _limit_blas()
            if _state.blas_limit is None:  # no way to hold BLAS to one thread: stay serial
                _state.no_limit = True  # rather than oversubscribe, and do not look again
                return
        kernels = _wait_kernels()
        while len(workers) < n - 1:
            workers.append(_Worker(kernels))
    elif _state.blas_limit is not None:
        limiter, _state.blas_limit = _state.blas_limit, None
        if limiter is not False:
            limiter.restore_original_limits()


def _wait_kernels() -> Any:
    """The compiled kernels with the workers' waits (``numpy_jit``), or None without Numba
    (workers then only sleep between jobs, and hand jobs over through locks)."""
    if SPIN_TURNS <= 0:
        return None
    from ember.backend import numpy_cpu

    return numpy_cpu.jit_kernels()


def _limit_blas() -> Any:
    """Hold NumPy's BLAS to one thread; the limiter, False when there is nothing to limit, or None."""
    try:
        import numpy as np
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    blas = ThreadpoolController().select(user_api="blas")
    # only the library NumPy itself loaded: another framework's BLAS in the process is its own
    numpy_dir = os.path.dirname(os.path.dirname(np.__file__))
    ours = [c.filepath for c in blas.lib_controllers if c.filepath.startswith(numpy_dir)]
    controller = blas.select(filepath=ours) if ours else blas
    if not controller.lib_controllers:
        return False
    return controller.limit(limits=1)


def _reset_after_fork() -> None:
    # a forked child has none of the parent's threads: start afresh
    global _state
    old = _state
    _state = _State()
    _state.requested = old.requested
    if old.blas_limit is not None:
        _state.blas_limit = old.blas_limit  # the limit itself is inherited with the library's state


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def parts(n: int, work: float, min_work: float) -> int:
    """How many threads to give ``n`` rows that cost ``work`` in all (1 when a split would not pay)."""
    k = get_num_threads()
    if k == 1 or work < 2 * min_work:
        return 1
    return max(1, min(k, n, int(work // min_work)))


def bounds(n: int, k: int, align: int = 1) -> list[tuple[int, int]]:
    """Cut ``range(n)`` into at most ``k`` contiguous pieces of near-equal length.

    Every piece but the last starts and ends on a multiple of ``align``.
    """
    step = max(1, -(-n // k))
    step = -(-step // align) * align
    return [(lo, min(lo + step, n)) for lo in range(0, n, step)] or [(0, n)]


def split(n: int, work: float, min_work: float = MIN_ELEMENTS) -> list[tuple[int, int]]:
    """The (start, end) pieces of ``range(n)`` for ember's threads (one when a split would not pay)."""
    if work < 2 * min_work:
        return [(0, n)]
    return bounds(n, parts(n, work, min_work))


def _take_workers(n: int, compiled: bool = False) -> list[_Worker] | None:
    """``n`` workers for one split, with ``_state.busy`` held (the caller releases it); None, and
    nothing held, when the split must run on the calling thread instead: nothing to hand over, a
    split already running (from a worker, or from a second user thread), no workers to be had
    (see _resize), or, with ``compiled``, workers without the compiled wait."""
    if n < 1 or not _state.busy.acquire(blocking=False):
        return None
    try:
        if len(_state.workers) < n:
            _resize(get_num_threads())
    except BaseException:
        _state.busy.release()
        raise
    workers = _state.workers[:n]
    if len(workers) < n or (compiled and any(w.kernels is None for w in workers)):
        _state.busy.release()
        return None
    return workers


def run(fn: Callable[..., Any], jobs: Sequence[tuple]) -> None:
    """Call ``fn(*args)`` for each args in ``jobs``, concurrently; return when all have finished.

    The jobs must write to disjoint memory. A call made while another split is running
    (from a worker, or from a second user thread) runs its jobs one after another.
    """
    workers = _take_workers(len(jobs) - 1)
    if workers is None:
        for args in jobs:
            fn(*args)
        return
    try:
        for w, args in zip(workers, jobs[1:]):
            w.hand(fn, args)
        try:
            fn(*jobs[0])
        finally:
            for w in workers:
                w.wait()
        for w in workers:
            if w.error is not None:
                err, w.error = w.error, None
                raise err
    finally:
        _state.busy.release()


def compiled_waits() -> Any:
    """The kernels with which workers run compiled jobs (``run_compiled``), or None (then use ``run``)."""
    if get_num_threads() == 1 or _state.no_limit:
        return None
    return _wait_kernels()


def run_compiled(jobs: Sequence[Any], kernels: Any) -> None:
    """Run the compiled jobs ``jobs`` (``numpy_jit.run_job``'s, over disjoint outputs) concurrently:
    the first on the calling thread, each other in a worker's compiled wait."""
    workers = _take_workers(len(jobs) - 1, compiled=True)
    if workers is None:
        for job in jobs:
            kernels.run_job(job)
        return
    try:
        for w, job in zip(workers, jobs[1:]):
            w.hand_compiled(job)
        kernels.run_job(jobs[0])
        for w in workers:
            w.wait()
    finally:
        _state.busy.release()
