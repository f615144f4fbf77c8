"""Data types: the dtype objects, PyTorch's aliases, and PyTorch's type promotion.

This module knows nothing about NumPy; each backend maps these objects to its own
array dtypes by ``dtype.name``.
"""

from __future__ import annotations

import builtins


class dtype:
    """A tensor element type, such as ``ember.float32``."""

    __slots__ = ("_category", "is_floating_point", "is_signed", "itemsize", "name")

    def __init__(
        self, name: str, itemsize: builtins.int, category: builtins.int, is_signed: builtins.bool
    ) -> None:
        self.name = name
        self.itemsize = itemsize
        # promotion categories, lowest to highest: 0 bool, 1 integer, 2 floating
        self._category = category
        self.is_floating_point = category == 2
        self.is_signed = is_signed

    def __repr__(self) -> str:
        return f"ember.{self.name}"

    def __reduce__(self) -> str:
        return self.name


bool_ = dtype("bool", 1, 0, False)
uint8 = dtype("uint8", 1, 1, False)
int8 = dtype("int8", 1, 1, True)
int16 = dtype("int16", 2, 1, True)
int32 = dtype("int32", 4, 1, True)
int64 = dtype("int64", 8, 1, True)
float16 = dtype("float16", 2, 2, True)
float32 = dtype("float32", 4, 2, True)
float64 = dtype("float64", 8, 2, True)

# PyTorch's aliases
float = float32
double = float64
half = float16
long = int64
int = int32
short = int16
bool = bool_

ALL: tuple[dtype, ...] = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
BY_NAME: dict[str, dtype] = {d.name: d for d in ALL}

_default_float = float32


def get_default_dtype() -> dtype:
    """Return the dtype that Python floats and float factories produce (float32 unless changed)."""
    return _default_float


def set_default_dtype(d: dtype) -> None:
    """Set the default floating dtype, as ``torch.set_default_dtype`` does."""
    global _default_float
    if not isinstance(d, dtype) or not d.is_floating_point:
        raise TypeError(f"set_default_dtype: only floating dtypes are allowed, got {d!r}")
    _default_float = d


def _promote_pair(a: dtype, b: dtype) -> dtype:
    """Promote two dtypes of tensors that take part on equal footing."""
    if a is b:
        return a
    if a._category != b._category:
        return a if a._category > b._category else b
    if a._category == 2:
        return a if a.itemsize >= b.itemsize else b
    # integers: mixing unsigned uint8 with a signed type needs a wider signed one
    if a is uint8 or b is uint8:
        other = b if a is uint8 else a
        return other if other.itemsize > 1 else int16
    return a if a.itemsize >= b.itemsize else b


def promote_types(a: dtype, b: dtype) -> dtype:
    """Return the dtype PyTorch gives an operation on tensors of dtypes ``a`` and ``b``."""
    return _promote_pair(a, b)


def scalar_dtype(value: object) -> dtype:
    """The dtype PyTorch gives a Python scalar (bool, int64, or the default float)."""
    if isinstance(value, builtins_bool):
        return bool_
    if isinstance(value, builtins_int):
        return int64
    return _default_float


builtins_bool = builtins.bool
builtins_int = builtins.int


def result_type(operands: list[tuple[dtype, builtins.int]]) -> dtype:
    """Apply PyTorch's promotion to operands given as (dtype, priority) pairs.

    Priority 2 is a tensor with dimensions, 1 a 0-d tensor, 0 a Python scalar. A
    lower-priority operand only changes the result when its category (bool < int <
    float) is higher than every higher-priority operand's: ``float32_tensor * 2.0``
    stays float32, ``int_tensor * 2.0`` becomes the default float.
    """
    best: dtype | None = None
    for prio in (2, 1, 0):
        group = [d for d, p in operands if p == prio]
        if not group:
            continue
        if prio == 0:
            # Python scalars: a float scalar gives the default float, an int gives int64
            cat = max(d._category for d in group)
            if best is None or cat > best._category:
                best = _default_float if cat == 2 else (int64 if cat == 1 else bool_)
            continue
        cand = group[0]
        for d in group[1:]:
            cand = _promote_pair(cand, d)
        if best is None or cand._category > best._category:
            best = cand
    if best is None:
        raise TypeError("result_type: expected at least one operand")
    return best


def fit_scalar(value: object, d: dtype) -> object:
    """Convert a Python number to a value of dtype ``d`` as a C cast does (PyTorch's rule).

    Integers wrap around (``uint8_tensor - 5`` wraps to 251 and up), floats truncate
    toward zero when the target is an integer type, anything becomes bool by truth.
    """
    if d is bool_:
        return builtins_bool(value)
    if d._category == 2:
        return value
    if not isinstance(value, builtins_int):
        try:
            value = builtins_int(value)  # type: ignore[call-overload]
        except (OverflowError, ValueError):
            raise RuntimeError(
                f"value cannot be converted to type {d.name} without overflow: {value!r}"
            ) from None
    bits = 8 * d.itemsize
    lo = -(1 << (bits - 1)) if d.is_signed else 0
    if lo <= value < lo + (1 << bits):  # type: ignore[operator]
        return value
    return (value - lo) % (1 << bits) + lo  # type: ignore[operator]


def to_dtype(d: object) -> dtype:
    """Turn a dtype, a dtype name or a Python type into an ember dtype."""
    if isinstance(d, dtype):
        return d
    if d is builtins_bool:
        return bool_
    if d is builtins_int:
        return int64
    if d is builtins.float:
        return _default_float
    if isinstance(d, str) and d in BY_NAME:
        return BY_NAME[d]
    name = getattr(d, "name", None) or str(d)
    name = name.replace("torch.", "").replace("ember.", "")
    if name in BY_NAME:
        return BY_NAME[name]
    raise TypeError(f"unknown dtype {d!r}; expected one of {', '.join(BY_NAME)}")


# (max, eps, tiny, resolution) of each float format: IEEE 754 binary16/32/64
_FLOAT_LIMITS = {
    "float16": (65504.0, 0.0009765625, 6.103515625e-05, 0.001),
    "float32": (3.4028234663852886e38, 1.1920928955078125e-07, 1.1754943508222875e-38, 1e-06),
    "float64": (1.7976931348623157e308, 2.220446049250313e-16, 2.2250738585072014e-308, 1e-15),
}


class finfo:
    """The limits of a float dtype, as ``torch.finfo`` gives them.

    Attributes: ``max``, ``min``, ``eps``, ``tiny`` (the smallest normal number, also
    ``smallest_normal``), ``resolution``, ``bits`` and ``dtype`` (its name).
    """

    def __init__(self, type: object = None) -> None:  # noqa: A002 - PyTorch's argument name
        d = get_default_dtype() if type is None else to_dtype(type)
        if d.name not in _FLOAT_LIMITS:
            raise TypeError(f"finfo: {d!r} is not a floating point dtype; use ember.iinfo")
        self.dtype = d.name
        self.bits = d.itemsize * 8
        self.max, self.eps, self.tiny, self.resolution = _FLOAT_LIMITS[d.name]
        self.min = -self.max
        self.smallest_normal = self.tiny

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution}, min={self.min:.6g}, max={self.max:.6g}, "
                f"eps={self.eps:.6g}, smallest_normal={self.tiny:.6g}, tiny={self.tiny:.6g}, "
                f"dtype={self.dtype})")


class iinfo:
    """The limits of an integer dtype, as ``torch.iinfo``: ``max``, ``min`` and ``bits``."""

    def __init__(self, type: object) -> None:  # noqa: A002 - PyTorch's argument name
        d = to_dtype(type)
        if d.is_floating_point or d is bool_:
            raise TypeError(f"iinfo: {d!r} is not an integer dtype; use ember.finfo for floats")
        self.dtype = d.name
        self.bits = d.itemsize * 8
        if d is uint8:
            self.min, self.max = 0, 255
        else:
            self.min, self.max = -(1 << (self.bits - 1)), (1 << (self.bits - 1)) - 1

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"
