"""Every public name of SPEC.md's Tensor API runs on ember and agrees with torch.

Each entry is one call written once for both libraries (``L`` is ``torch`` or
``ember``); the test runs it twice and compares what comes back (tensors by dtype,
shape and value; tuples, named tuples and Python values recursively). This catches
a method that exists but forgot to return, or a functional form that is missing;
the op tables test gradients in depth.
"""

import numpy as np
import pytest
import torch

import ember


def X(L):
    return L.tensor([[0.5, -1.25, 2.0], [3.0, 0.25, -0.75]])


def V(L):
    return L.tensor([1.0, -2.0, 0.5])


def I(L):  # noqa: E743
    return L.tensor([[0, 2], [1, 0]])


def _unary(name):
    """Method and functional form of a unary op, on positive inputs."""
    return lambda L: (getattr(X(L).abs() + 0.5, name)(), getattr(L, name)(X(L).abs() + 0.5))


def _f(L):
    return torch.nn.functional if L is torch else ember.nn.functional


API = {
    # ---- creation -------------------------------------------------------------------------------
    "tensor": lambda L: L.tensor([[1, 2]], dtype=L.float32),
    "Tensor": lambda L: L.Tensor([1, 2]),
    "zeros": lambda L: L.zeros(2, 3), "ones": lambda L: L.ones((2,)), "full": lambda L: L.full((2, 2), 1.5),
    "empty": lambda L: L.empty(2, 3).shape, "arange": lambda L: L.arange(1, 7, 2),
    "linspace": lambda L: L.linspace(-1, 1, 5), "eye": lambda L: L.eye(3),
    "rand": lambda L: (L.rand(2, 3).shape, L.rand(2).dtype),
    "randn": lambda L: (L.randn(4).shape, L.randn(1).dtype),
    "randint": lambda L: (L.randint(0, 3, (5,)).shape, L.randint(0, 3, (5,)).dtype),
    "zeros_like": lambda L: L.zeros_like(X(L)), "ones_like": lambda L: L.ones_like(X(L)),
    "full_like": lambda L: L.full_like(X(L), 7), "rand_like": lambda L: L.rand_like(X(L)).shape,
    "randn_like": lambda L: L.randn_like(X(L)).dtype, "from_numpy": lambda L: L.from_numpy(np.arange(3)),
    "manual_seed": lambda L: (L.manual_seed(0), None)[1],
    # ---- dtypes ---------------------------------------------------------------------------------
    "dtype_names": lambda L: [str(d).split(".")[-1] for d in (L.float32, L.float64, L.float16, L.int32,
                                                              L.int64, L.bool, L.uint8, L.float, L.long)],
    "to": lambda L: X(L).to(L.float64), "float": lambda L: I(L).float(), "double": lambda L: X(L).double(),
    "long": lambda L: X(L).long(), "int": lambda L: X(L).int(), "bool": lambda L: X(L).bool(),
    # ---- attributes and conversion ----------------------------------------------------------------
    "shape": lambda L: tuple(X(L).shape), "size": lambda L: (tuple(X(L).size()), X(L).size(1)),
    "ndim": lambda L: X(L).ndim, "dim": lambda L: X(L).dim(),
    "dtype": lambda L: str(X(L).dtype).split(".")[-1], "device": lambda L: str(X(L).device),
    "numel": lambda L: X(L).numel(), "item": lambda L: X(L)[0, 0].item(),
    "tolist": lambda L: X(L).tolist(), "numpy": lambda L: X(L).numpy().tolist(), "T": lambda L: X(L).T,
    "data": lambda L: L.tensor([1.0], requires_grad=True).data.requires_grad,
    "grad": lambda L: L.tensor([1.0], requires_grad=True).grad,
    "requires_grad": lambda L: L.tensor([1.0], requires_grad=True).requires_grad,
    "is_leaf": lambda L: (X(L).is_leaf, (L.ones(1, requires_grad=True) * 2).is_leaf),
    "grad_fn": lambda L: X(L).grad_fn, "len": lambda L: len(X(L)),
    "repr": lambda L: repr(X(L)).replace("torch.", "").replace("ember.", ""),
    # ---- arithmetic ---------------------------------------------------------------------------------
    "add": lambda L: (X(L) + V(L), 1 + X(L), L.add(X(L), V(L), alpha=2), X(L).add(1)),
    "sub": lambda L: (X(L) - V(L), 1 - X(L), L.sub(X(L), 2), X(L).sub(V(L))),
    "mul": lambda L: (X(L) * V(L), 2 * X(L), L.mul(X(L), 3), X(L).mul(V(L))),
    "div": lambda L: (X(L) / V(L), 2 / X(L), L.div(X(L), 4), X(L).div(V(L), rounding_mode="floor")),
    "pow": lambda L: (X(L).abs() ** V(L), 2 ** X(L), X(L) ** 2, L.pow(X(L).abs(), 0.5), X(L).pow(3)),
    "floordiv": lambda L: (X(L) // V(L), 7 // V(L), L.floor_divide(X(L), 0.3)),
    "mod": lambda L: (X(L) % V(L), X(L) % 0.7, L.remainder(X(L), -2), L.fmod(X(L), 0.7)),
    "matmul_op": lambda L: (X(L) @ X(L).T, V(L) @ X(L).T),
    "neg": lambda L: (-X(L), X(L).neg(), L.neg(X(L))), "abs": lambda L: (abs(X(L)), X(L).abs(), L.abs(X(L))),
    "inplace": lambda L: _inplace(L),
    "comparisons": lambda L: (X(L) < V(L), X(L) <= 0.5, X(L) > V(L), X(L) >= 0, X(L) == 0.5, X(L) != V(L)),
    # ---- elementwise math ----------------------------------------------------------------------------
    **{name: _unary(name) for name in ["exp", "log", "log2", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid",
                                       "relu", "abs", "sign", "reciprocal", "square"]},
    "gelu": lambda L: (_act(L, "gelu", X(L)), _act(L, "gelu", X(L), approximate="tanh")),
    "silu": lambda L: _act(L, "silu", X(L)), "softplus": lambda L: _act(L, "softplus", X(L), beta=2.0),
    "leaky_relu": lambda L: _act(L, "leaky_relu", X(L), 0.1),
    "elu": lambda L: _act(L, "elu", X(L), alpha=0.5),
    "clamp": lambda L: (X(L).clamp(-1, 1), L.clamp(X(L), min=0), X(L).clamp(max=V(L)), X(L).clip(-0.5, 0.5),
                        L.clip(X(L), max=1.0)),
    "maximum": lambda L: (L.maximum(X(L), V(L)), X(L).maximum(V(L))),
    "minimum": lambda L: (L.minimum(X(L), V(L)), X(L).minimum(V(L))),
    "where": lambda L: (L.where(X(L) > 0, X(L), V(L)), X(L).where(X(L) > 0, 0.0)),
    "masked_fill": lambda L: (X(L).masked_fill(X(L) > 0, 0.0), X(L).masked_fill(V(L) < 0, L.tensor(9.0))),
    "lerp": lambda L: (L.lerp(X(L), V(L), 0.25), X(L).lerp(V(L), L.full((2, 3), 0.5))),
    # ---- reductions -----------------------------------------------------------------------------------
    "sum": lambda L: (X(L).sum(), X(L).sum(0), L.sum(X(L), dim=(0, 1), keepdim=True),
                      X(L).sum(-1, keepdim=True)),
    "mean": lambda L: (X(L).mean(), L.mean(X(L), 1), X(L).mean(dim=0, keepdim=True)),
    "max": lambda L: (X(L).max(), tuple(X(L).max(1)), tuple(L.max(X(L), dim=0, keepdim=True)),
                      L.max(X(L), V(L))),
    "min": lambda L: (X(L).min(), tuple(X(L).min(dim=1)), X(L).min(0).values, X(L).min(0).indices),
    "amax": lambda L: (X(L).amax(), L.amax(X(L), dim=1)), "amin": lambda L: (X(L).amin(0), L.amin(X(L))),
    "prod": lambda L: (X(L).prod(), L.prod(X(L), 1)),
    "var": lambda L: (X(L).var(), X(L).var(1, correction=0), L.var(X(L), dim=0, keepdim=True)),
    "std": lambda L: (X(L).std(), X(L).std(dim=1, correction=0), L.std(X(L), 0)),
    "argmax": lambda L: (X(L).argmax(), L.argmax(X(L), dim=1), X(L).argmax(0, keepdim=True)),
    "argmin": lambda L: (X(L).argmin(), L.argmin(X(L), 1)),
    "logsumexp": lambda L: (X(L).logsumexp(1), L.logsumexp(X(L), dim=0)),
    "softmax": lambda L: (X(L).softmax(1), L.softmax(X(L), dim=0), _f(L).softmax(X(L), dim=-1)),
    "log_softmax": lambda L: (X(L).log_softmax(1), L.log_softmax(X(L), 0), _f(L).log_softmax(X(L), dim=1)),
    "cumsum": lambda L: (X(L).cumsum(1), L.cumsum(X(L), dim=0)),
    "all": lambda L: ((X(L) > -5).all(), (X(L) > 0).all(1), L.all(X(L) > 0)),
    "any": lambda L: ((X(L) > 2).any(), (X(L) > 0).any(dim=0), L.any(X(L) > 5)),
    "topk": lambda L: (tuple(X(L).topk(2)), tuple(L.topk(X(L), 1, dim=0, largest=False))),
    "sort": lambda L: (tuple(X(L).sort(1)), tuple(L.sort(X(L), dim=0, descending=True))),
    "argsort": lambda L: (X(L).argsort(1), L.argsort(X(L), dim=0, descending=True)),
    "multinomial": lambda L: (L.multinomial(X(L).abs(), 2).shape, X(L).abs().multinomial(1).dtype),
    "bernoulli": lambda L: (L.bernoulli(L.full((3,), 0.5)).shape, L.full((3,), 0.5).bernoulli().dtype),
    # ---- movement and indexing ------------------------------------------------------------------------
    "reshape": lambda L: (X(L).reshape(3, 2), X(L).reshape(-1), L.reshape(X(L), (1, 6))),
    "view": lambda L: (X(L).view(3, 2), X(L).view(-1, 2)),
    "flatten": lambda L: (X(L).flatten(), L.flatten(X(L)[None], 1)),
    "unflatten": lambda L: (X(L).unflatten(1, (3, 1)),),
    "squeeze": lambda L: (X(L)[None].squeeze(), X(L)[:, None].squeeze(1), L.squeeze(X(L)[None], 0)),
    "unsqueeze": lambda L: (X(L).unsqueeze(0), L.unsqueeze(X(L), -1)),
    "permute": lambda L: (X(L).permute(1, 0), L.permute(X(L)[None], (2, 0, 1))),
    "transpose": lambda L: (X(L).transpose(0, 1), L.transpose(X(L), 1, 0)),
    "t": lambda L: (X(L).t(), L.t(X(L))),
    "expand": lambda L: (V(L).expand(2, 3), V(L)[:, None].expand(-1, 4)),
    "expand_as": lambda L: V(L).expand_as(X(L)), "repeat": lambda L: (V(L).repeat(2), X(L).repeat(2, 1)),
    "contiguous": lambda L: X(L).T.contiguous(), "flip": lambda L: (X(L).flip(0), L.flip(X(L), (0, 1))),
    "roll": lambda L: (X(L).roll(1, 1), L.roll(X(L), -1, 0)),
    "pad": lambda L: (_f(L).pad(X(L), (1, 2)), _f(L).pad(X(L), (0, 1, 1, 0), value=-1.0)),
    "narrow": lambda L: (X(L).narrow(1, 1, 2), L.narrow(X(L), 0, 0, 1)),
    "chunk": lambda L: (X(L).chunk(3, 1), L.chunk(X(L), 2)),
    "split": lambda L: (X(L).split(2, 1), L.split(X(L), [1, 2], dim=1)),
    "cat": lambda L: (L.cat([X(L), X(L)]), L.cat((X(L), V(L)[None]), dim=0)),
    "stack": lambda L: (L.stack([V(L), V(L)]), L.stack([V(L), V(L)], dim=1)),
    "tril": lambda L: (X(L).tril(), L.tril(X(L), -1)), "triu": lambda L: (X(L).triu(1), L.triu(X(L))),
    "gather": lambda L: (X(L).gather(1, I(L)), L.gather(X(L), 1, I(L))),
    "scatter": lambda L: (L.zeros(2, 3).scatter(1, I(L), 1.0),
                          L.zeros(2, 3).scatter_add(1, I(L), X(L)[:, :2]),
                          L.scatter_add(L.zeros(2, 3), 1, I(L), X(L)[:, :2])),
    "index_select": lambda L: (X(L).index_select(1, L.tensor([2, 0])),
                               L.index_select(X(L), 0, L.tensor([1]))),
    "masked_select": lambda L: (X(L).masked_select(X(L) > 0), L.masked_select(X(L), V(L) > 0)),
    "getitem": lambda L: (X(L)[1], X(L)[:, ::2], X(L)[None, ..., 1], X(L)[L.tensor([1, 0])],
                          X(L)[[0, 1], [2, 0]], X(L)[X(L) > 0], X(L)[-1, -2], X(L)[..., 1:]),
    "setitem": lambda L: _setitem(L),
    # ---- linear algebra -------------------------------------------------------------------------------
    "matmul": lambda L: (X(L).matmul(X(L).T), L.matmul(V(L), V(L)), L.matmul(X(L)[None], X(L).T)),
    "mm": lambda L: (X(L).mm(X(L).T), L.mm(X(L), X(L).T)),
    "bmm": lambda L: (X(L)[None].bmm(X(L).T[None]), L.bmm(X(L)[None], X(L).T[None])),
    "dot": lambda L: (V(L).dot(V(L)), L.dot(V(L), V(L))),
    "outer": lambda L: (V(L).outer(V(L)), L.outer(V(L), V(L))),
    "einsum": lambda L: (L.einsum("ij,kj->ik", X(L), X(L)),
                         L.einsum("bij,bjk->bik", X(L)[None], X(L).T[None]),
                         L.einsum("i,i->", V(L), V(L))),
    # ---- autograd -------------------------------------------------------------------------------------
    "autograd": lambda L: _autograd(L),
}


def _act(L, name, x, *args, **kw):
    return getattr(_f(L), name)(x, *args, **kw) if L is torch else getattr(x, name)(*args, **kw)


def _inplace(L):
    x = X(L)
    x += 1
    x -= V(L)
    x *= 2
    x /= 4
    x.data += 1
    return x


def _setitem(L):
    x = X(L)
    x[0] = 5.0
    x[:, 1] = V(L)[:2]
    x[x < 0] = 0.0
    return x


def _autograd(L):
    x = L.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()))
    y = x * x
    y.retain_grad()
    y.sum().backward()
    with L.no_grad():
        z = x * 2
    with L.enable_grad():
        w = x * 2
    (g,) = L.autograd.grad((x * 3).sum(), x)
    x64 = L.tensor([0.5], dtype=L.float64, requires_grad=True)
    return (x.grad, y.grad, seen, z.requires_grad, w.requires_grad, g, x.detach().requires_grad,
            L.ones(1).requires_grad_().requires_grad, L.autograd.gradcheck(lambda t: t.exp(), (x64,)))


def _compare(got, want, where):
    if isinstance(want, torch.Tensor):
        assert isinstance(got, ember.Tensor), f"{where}: {type(got).__name__} instead of a Tensor"
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1], f"{where}: dtype {got.dtype}"
        assert tuple(got.shape) == tuple(want.shape), f"{where}: shape {tuple(got.shape)}"
        np.testing.assert_allclose(np.asarray(got.detach().numpy(), dtype=np.float64),
                                   want.detach().numpy().astype(np.float64), rtol=1e-5, atol=1e-6,
                                   err_msg=where)
    elif isinstance(want, (tuple, list)):
        assert isinstance(got, (tuple, list)) and len(got) == len(want), f"{where}: {got!r} vs {want!r}"
        for k, (g, w) in enumerate(zip(got, want)):
            _compare(g, w, f"{where}[{k}]")
    elif isinstance(want, torch.dtype):
        assert isinstance(got, ember.dtype) and got.name == str(want).split(".")[-1], f"{where}: {got!r}"
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-6), where
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"


@pytest.mark.parametrize("name", list(API))
def test_api_agrees_with_torch(name):
    torch.manual_seed(0)
    ember.manual_seed(0)
    _compare(API[name](ember), API[name](torch), name)
