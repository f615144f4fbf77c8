"""dtype objects, aliases and PyTorch's type promotion, swept over every dtype pair.

The sweep pairs every dtype as a tensor with dimensions, a 0-d tensor and a Python
scalar, for ``+ * / < where``, and compares result dtypes and values with torch.
"""

import itertools

import numpy as np
import pytest
import torch

import ember
from ember import dtypes

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
KINDS = ["tensor", "0d", "scalar"]


def _dt(lib, name):
    return getattr(lib, name)


def _operand(lib, kind, name):
    if kind == "scalar":
        return {"bool": True, "float16": 2.5, "float32": 2.5, "float64": 2.5}.get(name, 3)
    vals = [True, False] if name == "bool" else [1, 2]
    if kind == "0d":
        return lib.tensor(vals[0], dtype=_dt(lib, name))
    return lib.tensor(vals, dtype=_dt(lib, name))


OPS = {
    "add": lambda L, a, b: a + b,
    "mul": lambda L, a, b: a * b,
    "div": lambda L, a, b: a / b,
    "lt": lambda L, a, b: a < b,
    "where": lambda L, a, b: L.where(L.tensor([True, False]), a, b),
}
OPERANDS = [(k, n) for k in KINDS for n in NAMES]


def _result(lib, op, a, b):
    try:
        out = OPS[op](lib, _operand(lib, *a), _operand(lib, *b))
    except Exception as e:  # noqa: BLE001 - compared below: both must fail, or neither
        return "error", type(e).__name__
    return str(out.dtype).split(".")[-1], np.asarray(out.tolist(), dtype=np.float64)


@pytest.mark.parametrize("op", sorted(OPS))
def test_promotion_sweep_matches_torch(op):
    mismatches = []
    for a, b in itertools.product(OPERANDS, OPERANDS):
        if a[0] == "scalar" and b[0] == "scalar" and op != "where":
            continue  # a Python expression, not a tensor operation
        want = _result(torch, op, a, b)
        got = _result(ember, op, a, b)
        if want[0] == "error":
            assert got[0] == "error", f"{op}{a, b}: torch raises {want[1]}, ember returns {got[0]}"
            continue
        if got[0] != want[0]:
            mismatches.append(f"{op}{a, b}: ember {got[0]}, torch {want[0]}")
        elif not np.allclose(got[1], want[1], rtol=1e-3, equal_nan=True):
            mismatches.append(f"{op}{a, b}: values {got[1]} != torch's {want[1]}")
    assert not mismatches, "\n".join(mismatches[:40])


def test_promote_types_matches_torch_for_every_pair():
    for x, y in itertools.product(NAMES, NAMES):
        want = str(torch.promote_types(_dt(torch, x), _dt(torch, y))).split(".")[-1]
        assert ember.promote_types(_dt(ember, x), _dt(ember, y)).name == want, (x, y)


@pytest.mark.parametrize("other", [True, 3, 2.5, "0d_int64", "0d_float64", "0d_bool", "int8_tensor"])
@pytest.mark.parametrize("name", NAMES)
def test_result_type_matches_torch(name, other):
    def make(lib):
        t = lib.tensor([1, 0], dtype=_dt(lib, name))
        o = {"0d_int64": lambda: lib.tensor(2), "0d_float64": lambda: lib.tensor(2.0, dtype=lib.float64),
             "0d_bool": lambda: lib.tensor(True), "int8_tensor": lambda: lib.tensor([1, 2], dtype=lib.int8)}
        return t, o[other]() if isinstance(other, str) else other

    want = torch.result_type(*make(torch))
    assert ember.result_type(*make(ember)).name == str(want).split(".")[-1]


# ---- no float64 unless asked ------------------------------------------------------------------


@pytest.mark.parametrize("make, want", [
    (lambda: ember.tensor([1.0, 2.0]), "float32"),
    (lambda: ember.tensor(1.5), "float32"),
    (lambda: ember.tensor([[1, 2.5]]), "float32"),
    (lambda: ember.tensor([1, 2]), "int64"),
    (lambda: ember.tensor([True]), "bool"),
    (lambda: ember.tensor(np.array([1.0])), "float64"),  # as torch.tensor / from_numpy keep NumPy's dtype
    (lambda: ember.tensor(np.float64(1.0)), "float64"),
    (lambda: ember.from_numpy(np.array([1.0])), "float64"),
    (lambda: ember.tensor(np.array([1], dtype=np.int32)), "int32"),
    (lambda: ember.tensor(np.array([1.0], dtype=np.float32)), "float32"),
    (lambda: ember.tensor([1, 2]) / ember.tensor([2, 4]), "float32"),
    (lambda: ember.tensor([1, 2]) * 2.5, "float32"),
    (lambda: ember.tensor([1.0]) * 2.5, "float32"),
    (lambda: ember.tensor([1.0]) * np.float64(2.5), "float32"),
    (lambda: np.float64(2.5) * ember.tensor([1.0]), "float32"),
    (lambda: ember.tensor([1.0]) + ember.tensor(2.0, dtype=ember.float64), "float32"),
    (lambda: ember.tensor([1.0], dtype=ember.float16) * 1e3, "float16"),
    (lambda: ember.tensor([1.0], dtype=ember.float16) + ember.tensor([1.0]), "float32"),
    (lambda: ember.tensor([1], dtype=ember.uint8) + ember.tensor([1], dtype=ember.int8), "int16"),
    (lambda: ember.tensor([True]) + ember.tensor([True]), "bool"),
    (lambda: ember.tensor([1, 2]).exp(), "float32"),
    (lambda: ember.tensor([1, 2]).sqrt(), "float32"),
    (lambda: ember.tensor([1, 2]) ** 0.5, "float32"),
    (lambda: 2.0 ** ember.tensor([1, 2]), "float32"),
    (lambda: ember.zeros(2), "float32"),
    (lambda: ember.arange(3.0), "float32"),
    (lambda: ember.linspace(0, 1, 3), "float32"),
    (lambda: ember.full((2,), 1.5), "float32"),
])
def test_default_dtypes(make, want):
    assert make().dtype.name == want


def test_set_default_dtype():
    try:
        ember.set_default_dtype(ember.float64)
        assert ember.tensor([1.0]).dtype is ember.float64
        assert ember.zeros(2).dtype is ember.float64
        assert (ember.tensor([1, 2]) / 2).dtype is ember.float64
        assert ember.get_default_dtype() is ember.float64
    finally:
        ember.set_default_dtype(ember.float32)
    assert ember.tensor([1.0]).dtype is ember.float32
    with pytest.raises(
        TypeError, match="set_default_dtype: only floating dtypes are allowed, got ember.int64"
    ):
        ember.set_default_dtype(ember.int64)


# ---- dtype objects, aliases, conversion methods --------------------------------------------------


def test_aliases_and_attributes():
    assert ember.float is ember.float32 and ember.double is ember.float64 and ember.half is ember.float16
    assert ember.long is ember.int64 and ember.int is ember.int32 and ember.short is ember.int16
    assert ember.bool.name == "bool"
    assert repr(ember.float32) == "ember.float32"
    for name in NAMES:
        d, t = _dt(ember, name), _dt(torch, name)
        assert d.is_floating_point == t.is_floating_point, name
        assert d.itemsize == t.itemsize, name
        assert d.is_signed == t.is_signed, name


@pytest.mark.parametrize("method, want", [("float", "float32"), ("double", "float64"), ("half", "float16"),
                                          ("long", "int64"), ("int", "int32"), ("short", "int16"),
                                          ("bool", "bool"), ("byte", "uint8"), ("char", "int8")])
def test_conversion_methods(method, want):
    for lib in (torch, ember):
        assert str(getattr(lib.tensor([1.5, -2.0, 0.0]), method)().dtype).split(".")[-1] == want
    assert getattr(ember.tensor([1.5, -2.0, 0.0]), method)().tolist() == \
        getattr(torch.tensor([1.5, -2.0, 0.0]), method)().tolist()


def test_to_forms():
    x = ember.tensor([1.5, 2.5], requires_grad=True)
    assert x.to(ember.float32) is x  # nothing to do: the same tensor, as in PyTorch
    assert x.to("cpu") is x and x.to(device="cpu") is x
    assert x.to(ember.float64).dtype is ember.float64 and x.to(ember.float64).requires_grad
    assert x.to("float64").dtype is ember.float64
    assert x.to(ember.zeros(1, dtype=ember.float16)).dtype is ember.float16
    assert x.to("cpu", ember.float64).dtype is ember.float64
    as_int = x.to(ember.int64)
    assert as_int.dtype is ember.int64 and not as_int.requires_grad
    assert x.type() == "ember.FloatTensor" and ember.tensor([1]).type() == "ember.LongTensor"
    assert x.type(ember.float64).dtype is ember.float64


def test_to_errors():
    with pytest.raises(TypeError, match="unknown dtype 'complex64'"):
        ember.ones(2).to(dtype="complex64")
    with pytest.raises(RuntimeError, match="device: ember has no 'cuda' backend"):
        ember.ones(2).to("cuda")


def test_cast_gradient_comes_back_in_the_input_dtype():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    (x.double() * 3).sum().backward()
    assert x.grad.dtype is ember.float32 and x.grad.tolist() == [3.0, 3.0]


@pytest.mark.parametrize("value, name, want", [
    (-1, "uint8", 255), (256, "uint8", 0), (200, "int8", -56), (2**40 + 1, "int8", 1), (-129, "int8", 127),
    (2.7, "int64", 2), (-2.7, "int32", -2), (3, "bool", True), (0, "bool", False), (1.5, "float16", 1.5),
])
def test_fit_scalar_wraps_like_c(value, name, want):
    assert dtypes.fit_scalar(value, _dt(ember, name)) == want
