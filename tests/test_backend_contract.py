"""The Buffer base class declares exactly the primitives the NumPy backend implements.

A new backend implements what ``Buffer`` declares; this keeps the declaration (the
contract a backend author reads) and the reference implementation from drifting apart.
"""

import inspect

from ember.backend.numpy_cpu import NumpyBuffer
from ember.buffer import Buffer


def _primitives(cls):
    out = {}
    for name, obj in vars(cls).items():
        if name.startswith("_") and not (name.startswith("__") and name.endswith("__")):
            continue
        fn = obj.__func__ if isinstance(obj, staticmethod) else obj.fget if isinstance(obj, property) else obj
        if callable(fn) and name not in ("__init__", "__repr__"):
            out[name] = fn
    return out


def test_every_primitive_is_declared_and_every_declaration_implemented():
    declared, implemented = _primitives(Buffer), _primitives(NumpyBuffer)
    assert sorted(set(implemented) - set(declared)) == [], (
        "implemented in NumpyBuffer but not declared on Buffer"
    )
    assert sorted(set(declared) - set(implemented)) == [], "declared on Buffer but NumpyBuffer lacks it"


def test_signatures_agree():
    declared, implemented = _primitives(Buffer), _primitives(NumpyBuffer)
    for name, fn in declared.items():
        want = list(inspect.signature(fn).parameters)
        got = list(inspect.signature(implemented[name]).parameters)
        assert got == want, f"{name}: Buffer declares {want}, NumpyBuffer has {got}"


def test_base_declarations_raise():
    b = Buffer(None)
    try:
        b.exp()
    except NotImplementedError:
        return
    raise AssertionError("Buffer.exp should raise NotImplementedError")


def test_composed_defaults_agree_with_the_numpy_backend():
    """A primitive with a default made of others (here ReLU's gradient) gives what the NumPy backend's
    own version gives, at PyTorch's edge cases: a NaN output passes the gradient, a masked inf is 0."""
    import numpy as np

    out = NumpyBuffer(np.array([np.nan, -0.0, 0.0, 1.0, -2.0, 3.0], np.float32))
    grad = NumpyBuffer(np.array([1.0, 2.0, 3.0, 4.0, np.inf, np.nan], np.float32))
    base = Buffer.mask_positive(out, grad)
    assert base.data.dtype == np.float32
    np.testing.assert_array_equal(base.data, [1.0, 0.0, 0.0, 4.0, 0.0, np.nan])
    np.testing.assert_array_equal(out.mask_positive(grad).data, base.data)
