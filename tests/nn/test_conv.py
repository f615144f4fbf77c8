"""Convolution against torch: conv1d/conv2d/conv_transpose values and input/weight/bias gradients,
float64 finite differences, hypothesis sweeps, the layers (state_dict from torch), and errors."""

import importlib
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from optest import Case, check_case, gradcheck_case

import ember
from ember.ops.conv import Convolution, ConvTranspose


def F(L):
    """The library's functional namespace (ember's re-export once it exists)."""
    if L is torch:
        return torch.nn.functional
    try:
        fn = importlib.import_module("ember.nn.functional")
    except ImportError:
        fn = None
    return fn if hasattr(fn, "max_pool2d") else importlib.import_module("ember.nn._conv")


C, CT = (Convolution,), (ConvTranspose,)


def conv2d(**kw):
    return lambda L, x, w, b=None: F(L).conv2d(x, w, b, **kw)


def conv1d(**kw):
    return lambda L, x, w, b=None: F(L).conv1d(x, w, b, **kw)


def convT2d(**kw):
    return lambda L, x, w, b=None: F(L).conv_transpose2d(x, w, b, **kw)


def convT1d(**kw):
    return lambda L, x, w, b=None: F(L).conv_transpose1d(x, w, b, **kw)


TABLE = [
    # conv2d: the sweep of stride / padding / dilation / groups / kernel shapes / bias
    Case("conv2d", conv2d(), [(2, 3, 7, 6), (4, 3, 3, 3), (4,)], C, gradcheck=False),
    Case("conv2d_nobias", conv2d(), [(2, 3, 6, 6), (4, 3, 3, 3)], C, gradcheck=False),
    Case("conv2d_stride2_pad1", conv2d(stride=2, padding=1), [(2, 3, 7, 7), (4, 3, 3, 3), (4,)], C,
         gradcheck=False),
    Case("conv2d_stride_tuple", conv2d(stride=(2, 1), padding=(1, 2)), [(2, 2, 6, 5), (3, 2, 3, 2), (3,)], C,
         gradcheck=False),
    Case("conv2d_stride_gt_kernel", conv2d(stride=3), [(1, 2, 8, 8), (3, 2, 2, 2), (3,)], C, gradcheck=False),
    Case("conv2d_dilation", conv2d(dilation=2, padding=1), [(2, 2, 8, 7), (3, 2, 3, 3), (3,)], C,
         gradcheck=False),
    Case("conv2d_dilation_tuple", conv2d(dilation=(1, 3), stride=(1, 2)), [(1, 2, 6, 9), (2, 2, 2, 3)], C,
         gradcheck=False),
    Case("conv2d_groups", conv2d(groups=2), [(2, 4, 6, 6), (6, 2, 3, 3), (6,)], C, gradcheck=False),
    Case("conv2d_depthwise", conv2d(groups=3, padding=1), [(2, 3, 5, 5), (3, 1, 3, 3), (3,)], C,
         gradcheck=False),
    Case("conv2d_depthwise_mult", conv2d(groups=3, stride=2), [(1, 3, 6, 6), (6, 1, 2, 2)], C,
         gradcheck=False),
    Case("conv2d_same_odd", conv2d(padding="same"), [(2, 3, 5, 6), (2, 3, 3, 3), (2,)], C, gradcheck=False),
    Case("conv2d_same_even", conv2d(padding="same"), [(2, 2, 5, 6), (2, 2, 2, 4), (2,)], C, gradcheck=False),
    Case("conv2d_same_dilated", conv2d(padding="same", dilation=2), [(1, 2, 6, 6), (2, 2, 2, 3)], C,
         gradcheck=False),
    Case("conv2d_valid", conv2d(padding="valid"), [(2, 2, 5, 5), (3, 2, 3, 3)], C, gradcheck=False),
    Case("conv2d_1x1", conv2d(), [(2, 5, 4, 4), (3, 5, 1, 1), (3,)], C, gradcheck=False),
    # fewer kernel entries than output channels: the weight gradient's product turns around
    Case("conv2d_wide_out", conv2d(), [(2, 1, 5, 5), (8, 1, 2, 2), (8,)], C, gradcheck=False),
    Case("conv2d_kernel_is_input", conv2d(), [(3, 2, 4, 3), (5, 2, 4, 3), (5,)], C, gradcheck=False),
    Case("conv2d_unbatched", conv2d(padding=1), [(3, 5, 5), (2, 3, 3, 3), (2,)], C, gradcheck=False),
    Case("conv2d_noncontig", conv2d(stride=2), [(2, 3, 7, 6), (4, 3, 3, 3), (4,)], C, noncontig=True,
         gradcheck=False),
    # the MNIST net's second layer: sums of 288 products, float32 rounding differs from torch's
    Case("conv2d_mnist2", conv2d(), [(4, 32, 13, 13), (64, 32, 3, 3), (64,)], C, low=-1.0, high=1.0,
         rtol=1e-4, atol=1e-4, gradcheck=False),
    # layouts flowing between layers: conv output (channels-last memory) into pool and conv
    Case("conv_relu_pool_conv",
         lambda L, x, w1, w2: F(L).conv2d(F(L).max_pool2d(F(L).conv2d(x, w1).relu(), 2), w2, padding=1),
         # two stacked convolutions sum ~100 float32 products per weight-gradient entry
         # in a different order than torch: allow 1e-5 relative
         [(2, 3, 10, 10), (4, 3, 3, 3), (5, 4, 3, 3)], C, gradcheck=False, rtol=1e-5),
    Case("pool_then_conv", lambda L, x, w: F(L).conv2d(F(L).avg_pool2d(x, 2), w, groups=2),
         [(2, 4, 8, 8), (4, 2, 3, 3)], C, gradcheck=False),
    # conv1d
    Case("conv1d", conv1d(), [(2, 3, 9), (4, 3, 3), (4,)], C, gradcheck=False),
    Case("conv1d_stride_pad_dil", conv1d(stride=2, padding=2, dilation=2), [(2, 3, 11), (4, 3, 3), (4,)], C,
         gradcheck=False),
    Case("conv1d_groups", conv1d(groups=2), [(2, 4, 7), (2, 2, 2)], C, gradcheck=False),
    Case("conv1d_same_even", conv1d(padding="same"), [(2, 2, 7), (3, 2, 4), (3,)], C, gradcheck=False),
    Case("conv1d_unbatched", conv1d(), [(3, 8), (2, 3, 3), (2,)], C, gradcheck=False),
    # transposed convolution
    Case("convT2d", convT2d(), [(2, 3, 4, 5), (3, 2, 3, 3), (2,)], CT, gradcheck=False),
    Case("convT2d_stride2_outpad", convT2d(stride=2, padding=1, output_padding=1),
         [(2, 3, 4, 4), (3, 4, 3, 3), (4,)], CT, gradcheck=False),
    Case("convT2d_1x1_many_in", convT2d(stride=2), [(2, 6, 3, 3), (6, 2, 1, 1), (2,)], CT, gradcheck=False),
    Case("convT2d_upsample", convT2d(stride=2), [(2, 4, 3, 3), (4, 2, 2, 2), (2,)], CT, gradcheck=False),
    Case("convT2d_groups", convT2d(groups=2, stride=(2, 1)), [(1, 4, 3, 4), (4, 3, 3, 2), (6,)], CT,
         gradcheck=False),
    Case("convT2d_dilation_outpad", convT2d(dilation=2, output_padding=1), [(1, 2, 4, 4), (2, 3, 3, 3)], CT,
         gradcheck=False),
    Case("convT2d_big_padding", convT2d(stride=3, padding=2, output_padding=2), [(1, 2, 3, 4), (2, 2, 4, 4)],
         CT, gradcheck=False),
    Case("convT2d_unbatched", convT2d(stride=2), [(3, 3, 3), (3, 2, 3, 3), (2,)], CT, gradcheck=False),
    Case("convT2d_noncontig", convT2d(stride=2), [(2, 3, 4, 5), (3, 2, 3, 3), (2,)], CT, noncontig=True,
         gradcheck=False),
    Case("convT1d", convT1d(stride=2, padding=1), [(2, 3, 5), (3, 2, 4), (2,)], CT, gradcheck=False),
    # float64 finite differences on small shapes (the full Jacobian)
    Case("gc_conv2d", conv2d(stride=(2, 1), padding=1, dilation=(1, 2)),
         [(1, 2, 5, 5), (2, 2, 2, 2), (2,)], C),
    Case("gc_conv2d_groups", conv2d(groups=2, padding="same"), [(1, 4, 3, 4), (2, 2, 2, 2)], C),
    Case("gc_conv1d", conv1d(padding=1, stride=2), [(2, 2, 6), (3, 2, 3), (3,)], C),
    Case("gc_convT2d", convT2d(stride=2, padding=1, output_padding=1, groups=2), [(1, 2, 3, 3), (2, 1, 3, 3),
         (2,)], CT),
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's note about its own copy
@pytest.mark.parametrize("case", TABLE, ids=str)
def test_against_torch(case):
    check_case(case)


@pytest.mark.parametrize("case", [c for c in TABLE if c.gradcheck], ids=str)
def test_gradcheck(case):
    gradcheck_case(case)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 2), groups=st.sampled_from([1, 2]), cg=st.integers(1, 3), og=st.integers(1, 3),
    h=st.integers(1, 8), w=st.integers(1, 8), kh=st.integers(1, 3), kw=st.integers(1, 3),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    padding=st.tuples(st.integers(0, 2), st.integers(0, 2)), bias=st.booleans(),
)
def test_conv2d_hypothesis(n, groups, cg, og, h, w, kh, kw, stride, dilation, padding, bias):
    if any(dl * (k - 1) + 1 > s + 2 * p for dl, k, s, p in zip(dilation, (kh, kw), (h, w), padding)):
        return  # kernel larger than the padded input: an error (tested below)
    shapes = [(n, groups * cg, h, w), (groups * og, cg, kh, kw)] + ([(groups * og,)] if bias else [])
    check_case(Case(f"hyp_conv2d_{shapes}_{stride}_{dilation}_{padding}", conv2d(
        stride=stride, padding=padding, dilation=dilation, groups=groups), shapes, C))


@settings(max_examples=25, deadline=None)
@given(
    groups=st.sampled_from([1, 2]), h=st.integers(1, 5), w=st.integers(1, 5), kh=st.integers(1, 3),
    kw=st.integers(1, 3), stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    padding=st.tuples(st.integers(0, 2), st.integers(0, 2)), data=st.data(),
)
def test_conv_transpose2d_hypothesis(groups, h, w, kh, kw, stride, dilation, padding, data):
    out_pad = tuple(data.draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    sizes = [(n - 1) * s - 2 * p + d * (k - 1) + op + 1
             for n, s, p, d, k, op in zip((h, w), stride, padding, dilation, (kh, kw), out_pad)]
    if min(sizes) <= 0:
        return
    shapes = [(2, 2 * groups, h, w), (2 * groups, 2, kh, kw), (2 * groups,)]
    check_case(Case(f"hyp_convT2d_{shapes}_{stride}_{dilation}_{padding}_{out_pad}", convT2d(
        stride=stride, padding=padding, output_padding=out_pad, dilation=dilation, groups=groups),
        shapes, CT))


def test_float64_and_int_dtypes():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3))
    out = F(ember).conv2d(ember.tensor(x), ember.tensor(w), padding=1)
    assert out.dtype == ember.float64
    np.testing.assert_allclose(out.numpy(), torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w),
                                                                        padding=1).numpy(), rtol=1e-12)
    xi, wi = rng.integers(-3, 4, (1, 2, 4, 4)), rng.integers(-3, 4, (2, 2, 2, 2))
    out = F(ember).conv2d(ember.tensor(xi), ember.tensor(wi))
    assert out.dtype == ember.int64
    np.testing.assert_array_equal(out.numpy(), torch.nn.functional.conv2d(torch.tensor(xi), torch.tensor(wi)))


def test_output_is_channels_last_view_and_grad_is_not_aliased():
    # the output is a view of channels-last memory; gradients handed to leaves must be owned
    x = ember.randn(2, 3, 5, 5, requires_grad=True)
    conv_w = ember.randn(4, 3, 3, 3, requires_grad=True)
    y = F(ember).conv2d(x, conv_w)
    y.sum().backward()
    g1 = conv_w.grad.numpy().copy()
    F(ember).conv2d(x, conv_w).sum().backward()
    np.testing.assert_allclose(conv_w.grad.numpy(), 2 * g1, rtol=1e-6)


# ---- layers -------------------------------------------------------------------------------


def layer(kind):
    """ember.nn's layer class (from its own module until ember.nn exports it)."""
    from ember.nn.modules import conv

    return getattr(ember.nn, kind, None) or getattr(conv, kind)


@pytest.mark.parametrize("kind,args,kwargs,shape", [
    ("Conv2d", (3, 8, 3), {"stride": 2, "padding": 1}, (2, 3, 9, 9)),
    ("Conv2d", (4, 6, (2, 3)), {"groups": 2, "bias": False, "dilation": (2, 1)}, (2, 4, 8, 8)),
    ("Conv2d", (2, 4, 4), {"padding": "same"}, (1, 2, 6, 7)),
    ("Conv2d", (2, 4, 3), {"padding": 1}, (2, 6, 6)),
    ("Conv1d", (3, 5, 3), {"padding": 2, "stride": 2}, (2, 3, 11)),
    ("ConvTranspose2d", (4, 2, 3), {"stride": 2, "padding": 1, "output_padding": 1}, (2, 4, 5, 5)),
    ("ConvTranspose2d", (4, 6, 2), {"stride": 2, "groups": 2, "bias": False}, (1, 4, 3, 3)),
    ("ConvTranspose1d", (3, 2, 3), {"stride": 2}, (2, 3, 6)),
])
def test_layer_loads_torch_state_dict(kind, args, kwargs, shape):
    torch.manual_seed(0)
    tm = getattr(torch.nn, kind)(*args, **kwargs)
    em = layer(kind)(*args, **kwargs)
    assert [n for n, _ in em.named_parameters()] == [n for n, _ in tm.named_parameters()]
    em.load_state_dict({k: ember.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    assert repr(em).replace("ember.", "") == repr(tm)
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    to, eo = tm(tx), em(ex)
    np.testing.assert_allclose(eo.detach().numpy(), to.detach().numpy(), rtol=1e-5, atol=1e-5)
    g = np.random.default_rng(2).standard_normal(tuple(to.shape)).astype(np.float32)
    to.backward(torch.tensor(g))
    eo.backward(ember.tensor(g))
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-5)
    for (n, ep), (_, tp) in zip(em.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(ep.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-5, err_msg=n)


@pytest.mark.parametrize("kind,args", [("Conv2d", (3, 8, 3)), ("Conv2d", (4, 8, (3, 5), 1, 0, 1, 2)),
                                       ("Conv1d", (2, 3, 4)), ("ConvTranspose2d", (6, 4, 3))])
def test_layer_default_init(kind, args):
    ember.manual_seed(0)
    m = layer(kind)(*args)
    tm = getattr(torch.nn, kind)(*args)
    assert m.weight.shape == tm.weight.shape and m.bias.shape == tm.bias.shape
    assert m.weight.dtype == ember.float32
    fan_in = m.weight.shape[1] * math.prod(m.weight.shape[2:])
    bound = 1 / math.sqrt(fan_in)
    for p in (m.weight, m.bias):
        v = p.detach().numpy()
        assert np.abs(v).max() <= bound * (1 + 1e-6)
        assert np.abs(v).max() > 0.5 * bound  # spread over the range, not zeros


def test_layer_padding_modes():
    if not hasattr(importlib.import_module("ember.nn.functional"), "pad"):
        pytest.skip("ember.nn.functional.pad is not there yet")
    x = np.random.default_rng(0).standard_normal((1, 2, 5, 6)).astype(np.float32)
    for mode in ("reflect", "replicate", "circular"):
        torch.manual_seed(0)
        tm = torch.nn.Conv2d(2, 3, 3, padding=(1, 2), padding_mode=mode)
        em = layer("Conv2d")(2, 3, 3, padding=(1, 2), padding_mode=mode)
        em.load_state_dict({k: ember.tensor(v.numpy()) for k, v in tm.state_dict().items()})
        np.testing.assert_allclose(em(ember.tensor(x)).detach().numpy(), tm(torch.tensor(x)).detach().numpy(),
                                   rtol=1e-5, atol=1e-5, err_msg=mode)


def test_conv_transpose_output_size():
    m = layer("ConvTranspose2d")(2, 3, 3, stride=2, padding=1)
    x = ember.randn(1, 2, 4, 4)
    assert m(x).shape == (1, 3, 7, 7)
    assert m(x, output_size=(1, 3, 8, 8)).shape == (1, 3, 8, 8)
    with pytest.raises(ValueError, match=r"ConvTranspose2d: requested an output size of \(9, 9\)"):
        m(x, output_size=(9, 9))


@pytest.mark.parametrize("make,exc,match", [
    (lambda: layer("Conv2d")(3, 4, 3, groups=2), ValueError,
     "Conv2d: in_channels must be divisible by groups"),
    (lambda: layer("Conv2d")(4, 3, 3, groups=2), ValueError,
     "Conv2d: out_channels must be divisible by groups"),
    (lambda: layer("Conv2d")(4, 4, 3, groups=0), ValueError, "Conv2d: groups must be a positive integer"),
    (lambda: layer("Conv2d")(4, 3, 3, padding_mode="foo"), ValueError, "Conv2d: padding_mode must be one of"),
    (lambda: layer("Conv2d")(4, 3, 3, padding="foo"), ValueError, "Conv2d: invalid padding string 'foo'"),
    (lambda: layer("Conv2d")(4, 3, 3, padding="same", stride=2), ValueError,
     "Conv2d: padding='same' is not supported for strided"),
    (lambda: layer("Conv2d")(4, 3, (3, 3, 3)), ValueError,
     r"Conv2d: kernel_size must be an int or a tuple of 2"),
    (lambda: layer("ConvTranspose2d")(4, 3, 3, padding="same"), TypeError,
     "ConvTranspose2d: padding must be"),
    (lambda: layer("ConvTranspose2d")(4, 3, 3, padding_mode="reflect"), ValueError,
     "ConvTranspose2d: only 'zeros' padding_mode"),
])
def test_layer_errors(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


# ---- functional errors ----------------------------------------------------------------------

x4, w4 = ember.ones(1, 3, 5, 5), ember.ones(4, 3, 3, 3)
ERRORS = [
    (lambda f: f.conv2d(ember.ones(5, 5), w4), RuntimeError,
     r"conv2d: expected a 3-d \(unbatched\) or 4-d \(batched\) input, got shape \(5, 5\)"),
    (lambda f: f.conv1d(ember.ones(1, 2, 3, 5), ember.ones(1, 2, 3)), RuntimeError,
     r"conv1d: expected a 2-d \(unbatched\) or 3-d \(batched\) input, got shape \(1, 2, 3, 5\)"),
    (lambda f: f.conv2d(ember.ones(1, 3, 0, 5), w4), RuntimeError,
     r"conv2d: expected non-empty .* \(1, 3, 0, 5\)"),
    (lambda f: f.conv2d([1.0], w4), TypeError, "conv2d: input must be a Tensor, got list"),
    (lambda f: f.conv2d(x4, ember.ones(4, 3, 3)), RuntimeError,
     r"conv2d: expected a 4-d weight, got shape \(4, 3, 3\)"),
    (lambda f: f.conv2d(x4, ember.ones(4, 4, 3, 3)), RuntimeError,
     r"conv2d: input has 3 channels but weight expects 4 \(groups=1\)"),
    (lambda f: f.conv2d(ember.ones(1, 4, 5, 5), ember.ones(4, 3, 3, 3), groups=2), RuntimeError,
     r"conv2d: input has 4 channels but weight expects 6 \(groups=2\)"),
    (lambda f: f.conv2d(ember.ones(1, 4, 5, 5), ember.ones(3, 2, 3, 3), groups=2), RuntimeError,
     r"conv2d: weight of shape \(3, 2, 3, 3\) has 3 output channels, not divisible by groups=2"),
    (lambda f: f.conv2d(x4, w4, groups=0), RuntimeError, "conv2d: groups must be positive, got groups=0"),
    (lambda f: f.conv2d(x4, w4, groups=1.5), TypeError, "conv2d: groups must be an int, got float"),
    (lambda f: f.conv2d(ember.ones(1, 3, 2, 2), w4), RuntimeError,
     r"conv2d: kernel size \(3, 3\) \(dilated\) is larger than the padded input \(2, 2\)"),
    (lambda f: f.conv2d(x4, w4, dilation=3), RuntimeError,
     r"conv2d: kernel size \(7, 7\) \(dilated\) is larger than the padded input \(5, 5\)"),
    (lambda f: f.conv2d(x4, w4, stride=(1, 1, 1)), RuntimeError,
     r"conv2d: expected stride to be a single integer value or a list of 2 values, "
     r"but got stride=\(1, 1, 1\)"),
    (lambda f: f.conv2d(x4, w4, stride=0), RuntimeError,
     r"conv2d: stride must be positive, got stride=\(0, 0\)"),
    (lambda f: f.conv2d(x4, w4, dilation=(1, 0)), RuntimeError, r"conv2d: dilation must be positive"),
    (lambda f: f.conv2d(x4, w4, padding=-1), RuntimeError, r"conv2d: negative padding is not supported"),
    (lambda f: f.conv2d(x4, w4, padding="foo"), RuntimeError, r"conv2d: invalid padding string 'foo'"),
    (lambda f: f.conv2d(x4, w4, padding="same", stride=2), RuntimeError,
     r"conv2d: padding='same' is not supported for strided convolutions \(stride=\(2, 2\)\)"),
    (lambda f: f.conv2d(x4, w4, ember.ones(3)), RuntimeError,
     r"conv2d: bias of shape \(3,\) does not match the weight's 4 output channels"),
    (lambda f: f.conv2d(x4, w4, [1.0]), TypeError, r"conv2d: bias must be a Tensor or None, got list"),
    (lambda f: f.conv2d(x4.double(), w4), RuntimeError,
     r"conv2d: input dtype .*float64 and weight dtype .*float32"),
    (lambda f: f.conv2d(x4, w4, ember.ones(4).double()), RuntimeError,
     r"conv2d: input dtype .*float32 and bias"),
    (lambda f: f.conv_transpose2d(x4, ember.ones(4, 2, 3, 3)), RuntimeError,
     r"conv_transpose2d: input has 3 channels but weight expects 4"),
    (lambda f: f.conv_transpose2d(ember.ones(1, 3, 5, 5), ember.ones(3, 2, 3, 3), groups=2), RuntimeError,
     r"conv_transpose2d: weight of shape \(3, 2, 3, 3\) has 3 input channels, not divisible by groups=2"),
    (lambda f: f.conv_transpose2d(x4, w4.permute(1, 0, 2, 3), stride=2, output_padding=2), RuntimeError,
     r"conv_transpose2d: output padding must be smaller than either stride or dilation"),
    (lambda f: f.conv_transpose2d(ember.ones(1, 3, 1, 1), ember.ones(3, 2, 1, 1), padding=1), RuntimeError,
     r"conv_transpose2d: output size \(-1, -1\) is too small"),
    (lambda f: f.conv_transpose2d(x4, ember.ones(3, 2, 3, 3), ember.ones(3)), RuntimeError,
     r"conv_transpose2d: bias of shape \(3,\) does not match the 2 output channels"),
    (lambda f: f.conv_transpose2d(x4, ember.ones(3, 2, 3, 3), padding=-1), RuntimeError,
     r"conv_transpose2d: negative padding is not supported"),
]


@pytest.mark.parametrize("call,exc,match", ERRORS)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call(F(ember))
