"""The MNIST models: shapes, parameter counts, PyTorch-compatible state dicts, default init, and
outputs and gradients equal to the same torch.nn.Sequential with the same weights."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import ember
from ember.models import CNN, MLP


def torch_mlp(hidden=(512, 512), in_features=784, num_classes=10):
    layers, width = [torch.nn.Flatten()], in_features
    for h in hidden:
        layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
        width = h
    return torch.nn.Sequential(*layers, torch.nn.Linear(width, num_classes))


def torch_cnn(in_channels=1, num_classes=10):
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(in_channels, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(1600, num_classes))


PAIRS = {"mlp": (MLP, torch_mlp), "cnn": (CNN, torch_cnn)}


@pytest.mark.parametrize("name", PAIRS)
@pytest.mark.parametrize("batch", [1, 5])
def test_output_shape_and_dtype(name, batch):
    out = PAIRS[name][0]()(ember.randn(batch, 1, 28, 28))
    assert tuple(out.shape) == (batch, 10)
    assert out.dtype == ember.float32


def test_mlp_takes_flat_rows_and_custom_sizes():
    assert tuple(MLP()(ember.randn(3, 784)).shape) == (3, 10)
    m = MLP(in_features=20, hidden=(16, 8, 4), num_classes=3)
    assert tuple(m(ember.randn(2, 4, 5)).shape) == (2, 3)
    assert [type(x).__name__ for x in m] == ["Flatten"] + ["Linear", "ReLU"] * 3 + ["Linear"]
    with_dropout = MLP(hidden=(32,), dropout=0.5)
    assert [type(x).__name__ for x in with_dropout] == ["Flatten", "Linear", "ReLU", "Dropout", "Linear"]


def test_cnn_custom_channels_and_classes():
    assert tuple(CNN(in_channels=3, num_classes=5)(ember.randn(2, 3, 28, 28)).shape) == (2, 5)


@pytest.mark.parametrize("name, expected", [("mlp", 669_706), ("cnn", 34_826)])
def test_parameter_count_equals_torch(name, expected):
    ours, theirs = PAIRS[name]
    n = sum(p.numel() for p in ours().parameters())
    assert n == sum(p.numel() for p in theirs().parameters()) == expected


@pytest.mark.parametrize("name", PAIRS)
def test_state_dict_keys_and_shapes_equal_torch_sequential(name):
    ours, theirs = PAIRS[name]
    mine = [(k, tuple(v.shape)) for k, v in ours().state_dict().items()]
    torch_keys = [(k, tuple(v.shape)) for k, v in theirs().state_dict().items()]
    assert mine == torch_keys


@pytest.mark.parametrize("name", PAIRS)
def test_default_init_matches_pytorch(name):
    """PyTorch's Linear/Conv2d default: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    ember.manual_seed(0)
    for mod in PAIRS[name][0]():
        if not isinstance(mod, (ember.nn.Linear, ember.nn.Conv2d)):
            continue
        w = mod.weight.detach().numpy()
        bound = 1 / math.sqrt(w[0].size)
        for p in (w, mod.bias.detach().numpy()):
            assert np.abs(p).max() <= bound
            if p.size > 1000:  # a uniform distribution's std is bound / sqrt(3)
                assert abs(p.std() - bound / math.sqrt(3)) < 0.05 * bound


@pytest.mark.parametrize("name", PAIRS)
@pytest.mark.parametrize("train", [True, False])
def test_torch_weights_give_torch_outputs_and_gradients(name, train):
    ours, theirs = PAIRS[name]
    torch.manual_seed(0)
    tm, em = theirs(), ours()
    em.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    tm.train(train)
    em.train(train)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, size=6)
    t_loss = torch.nn.functional.cross_entropy(tm(torch.from_numpy(x)), torch.from_numpy(y))
    e_loss = ember.nn.functional.cross_entropy(em(ember.from_numpy(x)), ember.from_numpy(y))
    np.testing.assert_allclose(e_loss.item(), t_loss.item(), rtol=1e-5)
    t_loss.backward()
    e_loss.backward()
    t_grads = {k: p.grad.numpy() for k, p in tm.named_parameters()}
    for k, p in em.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), t_grads[k], rtol=1e-4, atol=1e-6, err_msg=k)


@pytest.mark.parametrize("name", PAIRS)
def test_slice_is_a_plain_sequential(name):
    model = PAIRS[name][0]()
    head = model[:-1]
    assert type(head) is ember.nn.Sequential
    assert head[0] is model[0]
    assert isinstance(model[-1], ember.nn.Linear)


def test_repr_lists_layers():
    text = repr(MLP())
    assert text.startswith("MLP(") and "(5): Linear(in_features=512, out_features=10, bias=True)" in text
