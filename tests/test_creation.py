"""Creation functions, attributes, conversions and ``repr`` against torch.

Deterministic factories are compared value for value; random ones for shape,
dtype, range, rough statistics and reproducibility under ``manual_seed``.
"""

import numpy as np
import pytest
import torch

import ember


def _same(make):
    """Run ``make(lib)`` for both libraries; compare dtype, shape and values."""
    t, e = make(torch), make(ember)
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_allclose(np.asarray(e.tolist(), dtype=np.float64),
                               np.asarray(t.tolist(), dtype=np.float64), rtol=1e-6, atol=1e-7)


FACTORIES = {
    "tensor_float_list": lambda L: L.tensor([1.0, 2]),
    "tensor_int_list": lambda L: L.tensor([[1, 2], [3, 4]]),
    "tensor_bool_list": lambda L: L.tensor([True, False]),
    "tensor_bool_int_mix": lambda L: L.tensor([True, 2]),
    "tensor_int_scalar": lambda L: L.tensor(3),
    "tensor_float_scalar": lambda L: L.tensor(3.5),
    "tensor_bool_scalar": lambda L: L.tensor(False),
    "tensor_empty": lambda L: L.tensor([]),
    "tensor_nested_empty": lambda L: L.tensor([[], []]),
    "tensor_tuple": lambda L: L.tensor((1, 2)),
    "tensor_dtype": lambda L: L.tensor([1, 2], dtype=L.float64),
    "tensor_dtype_half": lambda L: L.tensor([1.5], dtype=L.float16),
    "tensor_dtype_from_float": lambda L: L.tensor([1.7, -1.7], dtype=L.int32),
    "tensor_of_0d_tensors": lambda L: L.tensor([L.tensor(1.0), L.tensor(2.0)]),
    "tensor_numpy_uint8": lambda L: L.tensor(np.array([1, 2], dtype=np.uint8)),
    "tensor_numpy_int16": lambda L: L.tensor(np.array([1, 2], dtype=np.int16)),
    "tensor_numpy_float64": lambda L: L.tensor(np.array([1.25, 2.0])),
    "Tensor_list": lambda L: L.Tensor([1, 2]),
    "Tensor_nested": lambda L: L.Tensor([[1.5], [2]]),
    "Tensor_empty": lambda L: L.Tensor(),
    "zeros": lambda L: L.zeros(2, 3),
    "zeros_tuple": lambda L: L.zeros((2, 3)),
    "zeros_list": lambda L: L.zeros([2, 3]),
    "zeros_0d": lambda L: L.zeros(()),
    "zeros_empty_dim": lambda L: L.zeros(2, 0),
    "zeros_int": lambda L: L.zeros(2, dtype=L.int64),
    "ones": lambda L: L.ones(3),
    "ones_bool": lambda L: L.ones(2, dtype=L.bool),
    "ones_double": lambda L: L.ones(2, 2, dtype=L.float64),
    "full_int": lambda L: L.full((2,), 3),
    "full_float": lambda L: L.full((2,), 3.0),
    "full_bool": lambda L: L.full((2,), True),
    "full_list_size": lambda L: L.full([2, 1], -1.5),
    "full_dtype": lambda L: L.full((2,), 3, dtype=L.float32),
    "full_uint8_wraps": lambda L: L.full((2,), -1, dtype=L.uint8),
    "arange": lambda L: L.arange(5),
    "arange_start_end": lambda L: L.arange(2, 7),
    "arange_float_step": lambda L: L.arange(0, 1, 0.25),
    "arange_float_end": lambda L: L.arange(2.5),
    "arange_negative_step": lambda L: L.arange(5, 0, -2),
    "arange_dtype": lambda L: L.arange(5, dtype=L.float32),
    "arange_inexact_step": lambda L: L.arange(0, 0.3, 0.1),
    "arange_half_steps": lambda L: L.arange(1, 2.5, 0.5),
    "arange_empty": lambda L: L.arange(3, 3),
    "linspace": lambda L: L.linspace(0, 1, 5),
    "linspace_one": lambda L: L.linspace(0, 1, 1),
    "linspace_zero": lambda L: L.linspace(0, 1, 0),
    "linspace_int": lambda L: L.linspace(0, 10, 5, dtype=L.int64),
    "linspace_long": lambda L: L.linspace(-3.3, 7.1, 101),
    "linspace_descending": lambda L: L.linspace(2, -2, 9),
    "eye": lambda L: L.eye(3),
    "eye_rect": lambda L: L.eye(2, 3),
    "eye_int": lambda L: L.eye(2, dtype=L.int64),
    "zeros_like": lambda L: L.zeros_like(L.tensor([1, 2])),
    "ones_like_dtype": lambda L: L.ones_like(L.tensor([1.0, 2.0]), dtype=L.float64),
    "full_like_int": lambda L: L.full_like(L.tensor([1, 2]), 7.5),
    "full_like_float": lambda L: L.full_like(L.tensor([[1.0, 2.0]]), 7),
    "from_numpy_float64": lambda L: L.from_numpy(np.array([1.5, -2.0])),
    "from_numpy_int32": lambda L: L.from_numpy(np.array([[1], [2]], dtype=np.int32)),
    "from_numpy_bool": lambda L: L.from_numpy(np.array([True, False])),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_factory_matches_torch(name):
    _same(FACTORIES[name])


@pytest.mark.parametrize("expr, exc, match", [
    (lambda: ember.zeros(-1), RuntimeError, r"zeros: trying to create tensor with negative dimension -1"),
    (lambda: ember.full((-1,), 2.0), RuntimeError, "full: trying to create tensor with negative dimension"),
    (lambda: ember.randn(2, -2), RuntimeError, "randn: trying to create tensor with negative dimension -2"),
    (lambda: ember.zeros(2.5), TypeError, r"zeros: size must be a sequence of ints"),
    (lambda: ember.arange(0, 5, 0), RuntimeError, "arange: step must be nonzero"),
    (lambda: ember.arange(0, 5, -1), RuntimeError,
     "arange: upper bound and lower bound inconsistent with step sign"),
    (lambda: ember.linspace(0, 1, -1), RuntimeError,
     "linspace: number of steps must be non-negative, got -1"),
    (lambda: ember.eye(-1), RuntimeError, "eye: n must be greater or equal to 0, got -1"),
    (lambda: ember.randint(5, 5, (3,)), RuntimeError, "randint: expected low < high, got low=5, high=5"),
    (lambda: ember.rand(2, dtype=ember.int64), NotImplementedError, "rand: not implemented for ember.int64"),
    (lambda: ember.rand_like(ember.zeros(2, dtype=ember.int64)), NotImplementedError,
     "rand: not implemented"),
    (lambda: ember.from_numpy([1, 2]), TypeError, "from_numpy: expected a NumPy array, got list"),
    (lambda: ember.tensor([[1, 2], [3]]), ValueError,
     r"tensor: expected sequence of length 2 at dim 1 \(got 1\)"),
    (lambda: ember.tensor("abc"), TypeError, "tensor: invalid data type 'str'"),
    (lambda: ember.tensor([1, 2], requires_grad=True), RuntimeError,
     "only tensors of floating point dtype can require gradients, got ember.int64"),
    (lambda: ember.zeros(2, dtype=ember.int32, requires_grad=True), RuntimeError,
     "only tensors of floating point dtype can require gradients"),
    (lambda: ember.tensor([1.0], device="cuda"), RuntimeError, "device: ember has no 'cuda' backend"),
])
def test_creation_errors(expr, exc, match):
    with pytest.raises(exc, match=match):
        expr()


def test_requires_grad_argument():
    for make in (lambda: ember.zeros(2, requires_grad=True), lambda: ember.tensor([1.0], requires_grad=True),
                 lambda: ember.randn(2, requires_grad=True),
                 lambda: ember.full((2,), 1.0, requires_grad=True),
                 lambda: ember.ones_like(ember.ones(2), requires_grad=True),
                 lambda: ember.arange(3.0, requires_grad=True),
                 lambda: ember.linspace(0, 1, 3, requires_grad=True)):
        t = make()
        assert t.requires_grad and t.is_leaf and t.grad is None and t.grad_fn is None


def test_empty_shapes_and_dtypes():
    assert ember.empty(2, 3).shape == (2, 3) and ember.empty(2, 3).dtype is ember.float32
    assert ember.empty(2, dtype=ember.int32).dtype is ember.int32
    assert ember.empty_like(ember.ones(2, dtype=ember.float64)).dtype is ember.float64


# ---- random factories ---------------------------------------------------------------------


@pytest.mark.parametrize("make, dtype", [
    (lambda: ember.rand(200, 50), ember.float32),
    (lambda: ember.rand(200, 50, dtype=ember.float64), ember.float64),
    (lambda: ember.rand_like(ember.zeros(200, 50)), ember.float32),
])
def test_rand_shape_dtype_range(make, dtype):
    x = make()
    assert x.shape == (200, 50) and x.dtype is dtype
    v = x.numpy()
    assert v.min() >= 0.0 and v.max() < 1.0
    assert abs(v.mean() - 0.5) < 0.02 and abs(v.std() - (1 / 12) ** 0.5) < 0.02


@pytest.mark.parametrize("make, dtype", [
    (lambda: ember.randn(200, 50), ember.float32),
    (lambda: ember.randn((200, 50), dtype=ember.float64), ember.float64),
    (lambda: ember.randn_like(ember.zeros(200, 50, dtype=ember.float16)), ember.float16),
])
def test_randn_shape_dtype_statistics(make, dtype):
    x = make()
    assert x.shape == (200, 50) and x.dtype is dtype
    v = x.numpy().astype(np.float64)
    assert abs(v.mean()) < 0.05 and abs(v.std() - 1.0) < 0.05


def test_randint_range_and_forms():
    x = ember.randint(-3, 4, (1000,))
    assert x.dtype is ember.int64 and x.shape == (1000,)
    assert x.numpy().min() == -3 and x.numpy().max() == 3  # every value in [low, high) appears
    assert ember.randint(5, (2, 3)).shape == (2, 3)
    assert ember.randint(0, 5, (3,), dtype=ember.int32).dtype is ember.int32
    assert set(ember.randint(0, 2, size=(100,)).tolist()) == {0, 1}


@pytest.mark.parametrize("make", [
    lambda: ember.rand(5), lambda: ember.randn(2, 3), lambda: ember.randint(0, 100, (6,)),
    lambda: ember.rand_like(ember.ones(4)), lambda: ember.randn_like(ember.ones(4)),
])
def test_manual_seed_makes_random_factories_reproducible(make):
    ember.manual_seed(1234)
    a = make().tolist()
    b = make().tolist()
    ember.manual_seed(1234)
    assert make().tolist() == a
    assert a != b  # the generator moves on between calls
    ember.manual_seed(4321)
    assert make().tolist() != a


def test_rng_state_round_trip():
    ember.manual_seed(7)
    state = ember.get_rng_state()
    a = ember.randn(4).tolist()
    ember.set_rng_state(state)
    assert ember.randn(4).tolist() == a


# ---- memory sharing ------------------------------------------------------------------------


def test_from_numpy_shares_memory_and_tensor_copies():
    arr = np.zeros(3, dtype=np.float32)
    shared, copied = ember.from_numpy(arr), ember.tensor(arr)
    arr[0] = 5.0
    assert shared.tolist() == [5.0, 0.0, 0.0] and copied.tolist() == [0.0, 0.0, 0.0]
    shared += 1
    assert arr.tolist() == [6.0, 1.0, 1.0]
    assert shared.numpy() is arr or np.shares_memory(shared.numpy(), arr)


def test_tensor_of_a_tensor_copies_and_detaches():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = ember.tensor(x)
    assert not y.requires_grad and y.is_leaf
    y += 1
    assert x.tolist() == [1.0, 2.0]
    assert ember.tensor(x, dtype=ember.float64).dtype is ember.float64


# ---- attributes and conversion ---------------------------------------------------------------


def test_attributes_match_torch():
    for lib in (torch, ember):
        x = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
        assert x.shape == (2, 3) and x.size() == (2, 3) and x.size(0) == 2 and x.size(-1) == 3
        assert list(x.shape) == [2, 3] and isinstance(x.shape, tuple)
        assert x.ndim == 2 and x.dim() == 2 and x.numel() == 6 and len(x) == 2
        assert x.device == lib.device("cpu") and str(x.device) == "cpu" and x.device.type == "cpu"
        assert x.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
        assert x.T.tolist() == [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]
        assert x[0].tolist() == [1.0, 2.0, 3.0]
        assert lib.tensor(2.5).item() == 2.5 and isinstance(lib.tensor(2).item(), int)
        assert isinstance(lib.tensor(True).item(), bool)
        assert lib.tensor([7]).item() == 7
        assert not x.requires_grad and x.is_leaf and x.grad is None and x.grad_fn is None
    assert repr(ember.ones(2, 3).shape) == "ember.Size([2, 3])"
    assert ember.ones(2, 3).shape.numel() == 6


def test_numpy_shares_memory_and_refuses_grad():
    x = ember.tensor([1.0, 2.0])
    arr = x.numpy()
    arr[0] = 9.0
    assert x.tolist() == [9.0, 2.0] and arr.dtype == np.float32
    w = ember.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"numpy: can't call numpy\(\) on a Tensor that requires grad"):
        w.numpy()
    assert w.detach().numpy().tolist() == [1.0]


def test_attribute_errors():
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(ember.tensor(1.0))
    with pytest.raises(
        RuntimeError, match=r"item: a Tensor with 2 elements \(shape \(2,\)\) cannot be converted"
    ):
        ember.ones(2).item()
    with pytest.raises(
        IndexError, match=r"size: dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"
    ):
        ember.ones(2, 3).size(2)


def test_data_grad_requires_grad_is_leaf_grad_fn():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    assert x.is_leaf and not y.is_leaf and y.requires_grad and x.grad_fn is None
    assert type(y.grad_fn).__name__ == "Mul"
    d = y.data
    assert not d.requires_grad and d.is_leaf and d.tolist() == [3.0, 6.0]
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0] and y.grad is None  # non-leaf grads are not kept
    x.grad = None
    assert x.grad is None
    x.data = ember.tensor([5.0, 6.0])
    assert x.tolist() == [5.0, 6.0] and x.requires_grad


# ---- repr looks like PyTorch's -----------------------------------------------------------------

REPRS = [
    "L.tensor([1., 2.])", "L.tensor([1., 2.], requires_grad=True)", "L.tensor([1, 2])", "L.tensor(1.5)",
    "L.tensor(3)", "L.tensor(True)", "L.tensor([True, False])", "L.tensor([True])", "L.zeros(0)",
    "L.zeros(0, dtype=L.int64)", "L.zeros(2, 0)", "L.tensor([1.5, 2.25], dtype=L.float64)",
    "L.tensor([1, 2], dtype=L.int32)", "L.tensor([1., 2.], dtype=L.float16)",
    "L.tensor([[1., 2.5], [3., 4.]])",
    "L.tensor([1e-5, 1.])", "L.tensor([1e10, 1.])", "L.tensor([0.1, 0.25, 100.])", "L.arange(2000.)",
    "L.tensor(2., requires_grad=True) * 2", "L.tensor([float('nan'), float('inf'), -1.])",
    "L.tensor([1, 2], dtype=L.uint8)", "L.tensor(1.5, dtype=L.float64)", "L.tensor([123456789.])",
    "L.tensor([-1.5, 2.])", "L.tensor([[1, 2], [30, 4]])", "L.tensor(1e-8)", "L.tensor([1.0, 2.0, 3.5e-3])",
    "L.arange(12.).reshape(3, 4)", "L.tensor([[True, False]])", "L.zeros(3)", "L.tensor([0., -0.])",
    "L.arange(30.) / 7", "L.arange(5000).reshape(50, 100)", "L.arange(24.).reshape(2, 3, 4) - 12",
    "(L.arange(3000.) / 7).reshape(10, 3, 100)", "L.arange(1200).reshape(3, 400) % 7 == 0",
    "L.tensor([float('inf'), -float('inf')])", "L.tensor([1e-3, 1e3])", "L.tensor([[1e-3], [1e3]])",
    "L.full((70,), 12345.678)", "L.tensor([-5, 10, 300])", "L.zeros(2, 3, dtype=L.float64)",
]


@pytest.mark.parametrize("expr", REPRS)
def test_repr_matches_torch(expr):
    want = repr(eval(expr.replace("L.", "torch."))).replace("torch.", "")
    got = repr(eval(expr.replace("L.", "ember."))).replace("ember.", "")
    want = want.replace("grad_fn=<MulBackward0>", "grad_fn=<MulBackward>")
    assert got == want
    assert str(eval(expr.replace("L.", "ember."))) == repr(eval(expr.replace("L.", "ember.")))


def test_random_factories_use_their_generator():
    def draw():
        g = ember.Generator().manual_seed(0)
        return [ember.randperm(10, generator=g).tolist(), ember.rand(3, generator=g).tolist(),
                ember.randn(3, generator=g).tolist(), ember.randint(0, 9, (4,), generator=g).tolist()]

    first = draw()
    ember.manual_seed(123)  # the global generator must not matter
    assert draw() == first


def test_cuda_is_not_available():
    assert ember.cuda.is_available() is False and ember.cuda.device_count() == 0
