"""Functions that create tensors: ``tensor``, ``zeros``, ``arange``, ``randn``, ..."""

from __future__ import annotations

from typing import Any

from ember import dtypes
from ember._tensor import Tensor
from ember._tensor.core import TensorCore, _make
from ember._tensor.core import device as _device
from ember.backend import DEFAULT as _Buf
from ember.backend import rng

__all__ = [
    "arange",
    "as_tensor",
    "empty",
    "empty_like",
    "eye",
    "from_numpy",
    "full",
    "full_like",
    "get_rng_state",
    "is_tensor",
    "linspace",
    "manual_seed",
    "numel",
    "ones",
    "ones_like",
    "rand",
    "rand_like",
    "randint",
    "randint_like",
    "randn",
    "randn_like",
    "randperm",
    "seed",
    "set_rng_state",
    "tensor",
    "zeros",
    "zeros_like",
]


def _size(size: tuple[Any, ...], op: str) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    out = []
    for s in size:
        if isinstance(s, TensorCore):
            s = int(s.item())
        if not isinstance(s, int) or isinstance(s, bool):
            raise TypeError(f"{op}: size must be a sequence of ints, got {size!r}")
        if s < 0:
            raise RuntimeError(f"{op}: trying to create tensor with negative dimension {s}: {list(size)}")
        out.append(s)
    return tuple(out)


def _rng_of(generator: Any) -> Any:
    """The backend stream of an ``ember.Generator`` (None: the global generator)."""
    if generator is None:
        return None
    stream = getattr(generator, "_rng", None)
    if stream is None:
        raise TypeError(f"generator must be an ember.Generator, got {type(generator).__name__}")
    return stream


def _finish(buf: Any, requires_grad: bool) -> Tensor:
    t = _make(buf, None)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _float_dtype(dtype: Any) -> dtypes.dtype:
    return dtypes.get_default_dtype() if dtype is None else dtypes.to_dtype(dtype)


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Make a tensor that copies ``data`` (nested lists, numbers, arrays or tensors).

    Python floats become float32 (the default dtype), ints int64, bools bool.

    Example:
        >>> import ember
        >>> ember.tensor([[1, 2], [3, 4]]).dtype
        ember.int64
    """
    if device is not None:
        _device(device)
    if isinstance(data, TensorCore):
        src = data._buf
        buf = src.copy() if dtype is None else src.cast(dtypes.to_dtype(dtype))  # type: ignore[attr-defined]
        return _finish(buf, requires_grad)
    if isinstance(data, (list, tuple)) and _holds_tensor(data):
        data = _to_lists(data)
    target = None if dtype is None else dtypes.to_dtype(dtype)
    try:
        buf = _Buf.from_data(data, target)
    except (ValueError, TypeError, OverflowError):
        _explain_bad_data(data)
        raise TypeError(f"tensor: could not make a tensor from {type(data).__name__} data") from None
    return _finish(buf, requires_grad)


def _explain_bad_data(data: Any) -> None:
    """Raise PyTorch's message for strings and ragged nesting (NumPy's never reach the user)."""
    level = [data]
    dim = 0
    while level:
        bad = [x for x in level if isinstance(x, (str, bytes))]
        if bad:
            raise TypeError(f"tensor: invalid data type '{type(bad[0]).__name__}'")
        seqs = [x for x in level if isinstance(x, (list, tuple))]
        if not seqs:
            return
        if len(seqs) != len(level):
            raise ValueError(f"tensor: expected a sequence at dim {dim}, got a mix of numbers and sequences")
        n = len(seqs[0])
        for x in seqs:
            if len(x) != n:
                raise ValueError(f"tensor: expected sequence of length {n} at dim {dim} (got {len(x)})")
        level = [y for x in seqs for y in x]
        dim += 1


def _holds_tensor(data: list | tuple) -> bool:
    """True when a tensor sits anywhere in nested lists; looks at each element's type once,
    at C speed, so a list of a million token ids costs milliseconds, not a second."""
    kinds = set(map(type, data))
    if any(issubclass(k, TensorCore) for k in kinds):
        return True
    if any(issubclass(k, (list, tuple)) for k in kinds):
        return any(_holds_tensor(x) for x in data if isinstance(x, (list, tuple)))
    return False


def _to_lists(data: Any) -> Any:
    if isinstance(data, TensorCore):
        return data.tolist()
    if isinstance(data, (list, tuple)):
        return [_to_lists(x) for x in data]
    return data


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Convert ``data`` to a tensor like ``tensor``, but return a tensor of that dtype as it is."""
    if isinstance(data, TensorCore) and (dtype is None or dtypes.to_dtype(dtype) is data.dtype):
        return data  # type: ignore[return-value]
    return tensor(data, dtype=dtype)


def from_numpy(array: Any) -> Tensor:
    """Make a tensor that shares memory with a NumPy array (its dtype is kept)."""
    if not hasattr(array, "__array_interface__") or not hasattr(array, "strides"):
        raise TypeError(f"from_numpy: expected a NumPy array, got {type(array).__name__}")
    return _make(_Buf.from_data(array, None, copy=False), None)


def is_tensor(obj: Any) -> bool:
    """Return True if ``obj`` is an ember Tensor."""
    return isinstance(obj, TensorCore)


def numel(input: Tensor) -> int:
    """Return the number of elements of ``input``."""
    return input.numel()


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Return a tensor of zeros (float32 unless ``dtype`` says otherwise)."""
    return _finish(_Buf.full(_size(size, "zeros"), 0, _float_dtype(dtype)), requires_grad)


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Return a tensor of ones (float32 unless ``dtype`` says otherwise)."""
    return _finish(_Buf.full(_size(size, "ones"), 1, _float_dtype(dtype)), requires_grad)


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Return an uninitialised tensor."""
    return _finish(_Buf.empty(_size(size, "empty"), _float_dtype(dtype)), requires_grad)


def full(
    size: Any, fill_value: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """Return a tensor filled with ``fill_value``; its dtype follows the value as in PyTorch."""
    if isinstance(fill_value, TensorCore):
        fill_value = fill_value.item()
    d = dtypes.scalar_dtype(fill_value) if dtype is None else dtypes.to_dtype(dtype)
    return _finish(_Buf.full(_size((size,), "full"), dtypes.fit_scalar(fill_value, d), d), requires_grad)


def arange(start: Any, end: Any = None, step: Any = 1, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Return the values from ``start`` up to (not including) ``end`` in steps of ``step``."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange: upper bound and lower bound inconsistent with step sign "
                           f"(start={start}, end={end}, step={step})")
    if dtype is None:
        is_float = any(isinstance(v, float) for v in (start, end, step))
        dtype = dtypes.get_default_dtype() if is_float else dtypes.int64
    return _finish(_Buf.arange(start, end, step, dtypes.to_dtype(dtype)), requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """Return ``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    if steps < 0:
        raise RuntimeError(f"linspace: number of steps must be non-negative, got {steps}")
    return _finish(_Buf.linspace(start, end, steps, _float_dtype(dtype)), requires_grad)


def eye(
    n: int, m: int | None = None, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """Return a 2-d tensor with ones on the diagonal and zeros elsewhere."""
    for name, v in (("n", n), ("m", m)):
        if v is not None and v < 0:
            raise RuntimeError(f"eye: {name} must be greater or equal to 0, got {v}")
    return _finish(_Buf.eye(n, n if m is None else m, _float_dtype(dtype)), requires_grad)


def rand(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
         generator: Any = None) -> Tensor:
    """Return uniform random values in [0, 1)."""
    return _finish(
        _Buf.uniform(_size(size, "rand"), 0.0, 1.0, _random_float(dtype, "rand"), _rng_of(generator)),
        requires_grad,
    )


def randn(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
          generator: Any = None) -> Tensor:
    """Return standard normal random values."""
    return _finish(
        _Buf.normal(_size(size, "randn"), 0.0, 1.0, _random_float(dtype, "randn"), _rng_of(generator)),
        requires_grad,
    )


def _random_float(dtype: Any, op: str) -> dtypes.dtype:
    d = _float_dtype(dtype)
    if not d.is_floating_point:
        raise NotImplementedError(f"{op}: not implemented for {d!r}; rand and randn make floating tensors")
    return d


def randint(low: int, high: Any = None, size: Any = None, dtype: Any = None, device: Any = None,
            generator: Any = None, requires_grad: bool = False) -> Tensor:
    """Return random integers in [low, high) (``randint(high, size)`` also works)."""
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint: expected randint(low, high, size) or randint(high, size)")
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if low >= high:
        raise RuntimeError(f"randint: expected low < high, got low={low}, high={high}")
    return _finish(
        _Buf.randint(
            low, high, _size((size,), "randint"), dtypes.to_dtype(dtype or dtypes.int64), _rng_of(generator)
        ),
        False,
    )


def randperm(n: int, dtype: Any = None, device: Any = None, generator: Any = None) -> Tensor:
    """Return a random permutation of 0 .. n-1."""
    return _make(_Buf.permutation(n, dtypes.to_dtype(dtype or dtypes.int64), _rng_of(generator)), None)


def _like(name: str, maker: Any) -> Any:
    def fn(input: Tensor, *args: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
           **kw: Any) -> Tensor:
        return maker(tuple(input.shape), *args, dtype=dtype or input.dtype, requires_grad=requires_grad, **kw)

    fn.__name__ = name
    fn.__doc__ = f"``{maker.__name__}`` with the shape (and dtype, unless given) of ``input``."
    return fn


zeros_like = _like("zeros_like", zeros)
ones_like = _like("ones_like", ones)
empty_like = _like("empty_like", empty)
rand_like = _like("rand_like", rand)
randn_like = _like("randn_like", randn)


def full_like(input: Tensor, fill_value: Any, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    """Return ``full`` with the shape (and dtype, unless given) of ``input``."""
    return full(tuple(input.shape), fill_value, dtype=dtype or input.dtype, requires_grad=requires_grad)


def randint_like(input: Tensor, low: int, high: int | None = None, dtype: Any = None) -> Tensor:
    """Return random integers in ``[low, high)`` with ``input``'s shape (``low`` defaults to 0)."""
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), dtype=dtype or input.dtype)


def manual_seed(seed: int) -> Any:
    """Seed ember's global random generator (used by rand, randn, init, dropout, sampling)."""
    rng.seed(int(seed))
    return rng


def seed() -> int:
    """Seed the generator from the operating system's entropy and return the seed."""
    import secrets

    s = secrets.randbits(63)
    rng.seed(s)
    return s


def get_rng_state() -> dict:
    """Return the global generator's state (a JSON-friendly dict), for checkpoints."""
    return rng.get_state()


def set_rng_state(state: dict) -> None:
    """Restore a state from ``get_rng_state``."""
    rng.set_state(state)
