"""``F.interpolate`` / ``nn.Upsample`` against PyTorch: every mode, sizes and scale factors,
align_corners, recomputed scales; values and input gradients, plus a float64 gradcheck."""

import numpy as np
import pytest
import torch

import ember
from ember.autograd import gradcheck

CASES = [
    ((2, 3, 5, 7), {"scale_factor": 2}),
    ((2, 3, 5, 7), {"size": (3, 4)}),
    ((2, 3, 5, 7), {"scale_factor": 0.3}),
    ((1, 2, 5, 7), {"scale_factor": (0.5, 1.5), "mode": "nearest-exact"}),
    ((1, 2, 5, 7), {"size": 9, "mode": "nearest-exact"}),
    ((2, 3, 5, 7), {"size": (8, 11), "mode": "bilinear"}),
    ((2, 3, 5, 7), {"scale_factor": 1.7, "mode": "bilinear"}),
    ((2, 3, 5, 7), {"scale_factor": 1.7, "mode": "bilinear", "recompute_scale_factor": True}),
    ((2, 3, 5, 7), {"size": (9, 3), "mode": "bilinear", "align_corners": True}),
    ((2, 3, 5, 7), {"size": (2, 2), "mode": "bilinear", "align_corners": False}),
    ((2, 3, 6), {"size": 10, "mode": "linear"}),
    ((2, 3, 6), {"scale_factor": 2.5, "mode": "linear", "align_corners": False}),
    ((2, 3, 6), {"size": 1, "mode": "linear", "align_corners": True}),
    ((2, 3, 6), {"scale_factor": 3}),
    ((1, 2, 3, 4, 5), {"scale_factor": 2, "mode": "trilinear"}),
    ((1, 2, 3, 4, 5), {"size": (2, 5, 3), "mode": "trilinear", "align_corners": True}),
    ((1, 2, 3, 4, 5), {"size": (4, 4, 4)}),
]


@pytest.mark.parametrize("shape, kw", CASES, ids=[f"{s}-{k}" for s, k in CASES])
def test_interpolate_matches_torch(shape, kw):
    rng = np.random.default_rng(len(str(kw)))
    x = rng.standard_normal(shape).astype(np.float32)
    te, tt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ye = ember.nn.functional.interpolate(te, **kw)
    yt = torch.nn.functional.interpolate(tt, **kw)
    assert tuple(ye.shape) == tuple(yt.shape)
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=2e-6)
    g = rng.standard_normal(tuple(yt.shape)).astype(np.float32)
    (ye * ember.tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(te.grad.numpy(), tt.grad.numpy(), rtol=1e-5, atol=5e-6)


@pytest.mark.parametrize("kw", [{"scale_factor": 2}, {"size": (3, 5), "mode": "bilinear"},
                                {"size": (4, 2), "mode": "bilinear", "align_corners": True}])
def test_interpolate_gradcheck(kw):
    x = ember.tensor(np.random.default_rng(0).standard_normal((1, 2, 3, 4)), dtype=ember.float64,
                     requires_grad=True)
    assert gradcheck(lambda t: ember.nn.functional.interpolate(t, **kw), (x,))


def test_upsample_module():
    x = np.random.default_rng(1).standard_normal((1, 2, 3, 4)).astype(np.float32)
    for kw in [{"scale_factor": 2}, {"size": (5, 5), "mode": "bilinear", "align_corners": True}]:
        ours = ember.nn.Upsample(**kw)
        theirs = torch.nn.Upsample(**kw)
        assert repr(ours) == repr(theirs)
        np.testing.assert_allclose(ours(ember.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(),
                                   rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("shape, kw, err, match", [
    ((1, 2, 3, 4), {}, ValueError, "exactly one of size or scale_factor"),
    ((1, 2, 3, 4), {"size": 2, "scale_factor": 2}, ValueError, "exactly one of size or scale_factor"),
    ((1, 2, 3, 4), {"size": 2, "mode": "linear"}, NotImplementedError, "mode 'linear' needs 3-d input"),
    ((1, 2, 3, 4), {"size": 2, "mode": "bicubic"}, NotImplementedError, "mode 'bicubic' is not supported"),
    ((1, 2, 3, 4), {"size": 2, "align_corners": True}, ValueError, "align_corners option can only be set"),
    ((1, 2, 3, 4), {"size": (2, 2, 2)}, ValueError, "one entry per spatial dim"),
    ((3,), {"size": 2}, ValueError, r"shape \(N, C, \*spatial\)"),
])
def test_interpolate_errors(shape, kw, err, match):
    with pytest.raises(err, match=match):
        ember.nn.functional.interpolate(ember.zeros(*shape), **kw)
