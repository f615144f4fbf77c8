"""ember.models.GPT: parity with a PyTorch GPT of the same architecture, generation, init, errors.

The reference model is ``benchmarks/torch_gpt.py`` (same parameter names, PyTorch's
public API only). Its weights are randomised (so no bias is zero and no LayerNorm an
identity) and loaded into ember's GPT through ``load_state_dict``.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
from ember.models import GPT, GPTConfig
from ember.models.gpt import sample_next

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from torch_gpt import TorchGPT

SMALL = {"block_size": 16, "vocab_size": 37, "n_layer": 2, "n_head": 2, "n_embd": 32}


def _gpt2_names(n_layer: int, bias: bool) -> set[str]:
    per_block = ["ln_1.weight", "attn.c_attn.weight", "attn.c_proj.weight", "ln_2.weight",
                 "mlp.c_fc.weight", "mlp.c_proj.weight"]
    if bias:
        per_block += ["ln_1.bias", "attn.c_attn.bias", "attn.c_proj.bias", "ln_2.bias",
                      "mlp.c_fc.bias", "mlp.c_proj.bias"]
    names = {"transformer.wte.weight", "transformer.wpe.weight", "transformer.ln_f.weight", "lm_head.weight"}
    names |= {f"transformer.h.{i}.{n}" for i in range(n_layer) for n in per_block}
    if bias:
        names.add("transformer.ln_f.bias")
    return names


def _pair(scale: float = 0.05, seed: int = 0, **overrides) -> tuple[TorchGPT, GPT]:
    """A torch GPT with randomised weights and an ember GPT loaded from its state dict."""
    cfg = GPTConfig(**{**SMALL, **overrides})
    torch.manual_seed(seed)
    tm = TorchGPT(cfg)
    with torch.no_grad():
        for name, p in tm.named_parameters():
            if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            else:
                p.copy_(scale * torch.randn_like(p))
    em = GPT(cfg)
    em.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    return tm, em


def _tokens(shape: tuple[int, ...], vocab: int = SMALL["vocab_size"], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, vocab, shape).astype(np.int64)


def _assert_close(actual: np.ndarray, expected: np.ndarray, what: str, rtol: float = 1e-4) -> None:
    # relative tolerance, with an absolute floor scaled to the tensor (entries near 0 have no relative size)
    atol = rtol * float(np.abs(expected).max() or 1.0)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


# ------------------------------------------------------------------------------------------ parity

@pytest.mark.parametrize("bias", [True, False])
def test_state_dict_keys_are_gpt2_names_and_match_torch(bias):
    tm, em = _pair(bias=bias)
    assert set(em.state_dict()) == set(tm.state_dict()) == _gpt2_names(SMALL["n_layer"], bias)
    assert [n for n, _ in em.named_parameters()] == [n for n, _ in tm.named_parameters()]


@pytest.mark.parametrize("bias,dropout,train,root", [
    (True, 0.0, True, "loss"),
    (False, 0.0, True, "loss"),
    (True, 0.0, True, "logits"),
    (False, 0.0, True, "logits"),
    (True, 0.2, False, "loss"),  # dropout is off in eval mode, so the two still agree
])
def test_parity_logits_loss_and_every_gradient(bias, dropout, train, root):
    tm, em = _pair(bias=bias, dropout=dropout)
    tm.train(train)
    em.train(train)
    x, y = _tokens((3, 16), seed=1), _tokens((3, 16), seed=2)
    y[0, :4] = -1  # ignore_index=-1, as nanoGPT's loss
    t_logits, t_loss = tm(torch.from_numpy(x), torch.from_numpy(y))
    e_logits, e_loss = em(ember.from_numpy(x), ember.from_numpy(y))
    assert tuple(e_logits.shape) == (3, 16, SMALL["vocab_size"]) and e_logits.dtype == ember.float32
    _assert_close(e_logits.detach().numpy(), t_logits.detach().numpy(), "logits")
    _assert_close(np.float32(e_loss.item()), np.float32(t_loss.item()), "loss")
    if root == "loss":
        t_loss.backward()
        e_loss.backward()
    else:  # a random upstream gradient: a .sum() would hide a backward that forgets to multiply by it
        g = np.random.default_rng(3).standard_normal(tuple(t_logits.shape)).astype(np.float32)
        t_logits.backward(torch.from_numpy(g))
        e_logits.backward(ember.from_numpy(g))
    t_params, e_params = dict(tm.named_parameters()), dict(em.named_parameters())
    assert set(t_params) == set(e_params)
    for name, tp in t_params.items():
        assert e_params[name].grad is not None, name
        _assert_close(e_params[name].grad.numpy(), tp.grad.numpy(), f"grad of {name}")


def test_parity_shorter_sequence_than_block():
    tm, em = _pair()
    x = _tokens((2, 5), seed=4)
    t_logits, _ = tm(torch.from_numpy(x))
    e_logits, e_loss = em(ember.from_numpy(x))
    assert e_loss is None
    _assert_close(e_logits.detach().numpy(), t_logits.detach().numpy(), "logits")


def test_training_steps_match_torch():
    """AdamW with decay groups, tied weights and gradient clipping: three steps agree with torch."""
    tm, em = _pair(scale=0.1)
    t_opt = tm.configure_optimizers(0.1, 1e-2, (0.9, 0.99))
    e_opt = em.configure_optimizers(0.1, 1e-2, (0.9, 0.99))
    assert len(t_opt.param_groups) == len(e_opt.param_groups) == 2
    for step in range(3):
        x, y = _tokens((4, 16), seed=10 + step), _tokens((4, 16), seed=20 + step)
        _, t_loss = tm(torch.from_numpy(x), torch.from_numpy(y))
        _, e_loss = em(ember.from_numpy(x), ember.from_numpy(y))
        _assert_close(np.float32(e_loss.item()), np.float32(t_loss.item()), f"loss at step {step}")
        t_loss.backward()
        e_loss.backward()
        t_norm = torch.nn.utils.clip_grad_norm_(tm.parameters(), 0.5)
        e_norm = ember.nn.utils.clip_grad_norm_(em.parameters(), 0.5)
        _assert_close(np.float32(e_norm.item()), np.float32(t_norm.item()), f"grad norm at step {step}")
        t_opt.step()
        e_opt.step()
        t_opt.zero_grad(set_to_none=True)
        e_opt.zero_grad(set_to_none=True)
    C = SMALL["n_embd"]
    for name, tp in tm.named_parameters():
        e, t = em.get_parameter(name).detach().numpy(), tp.detach().numpy()
        if name.endswith("attn.c_attn.bias"):
            # the key bias adds q.b_k to every score of a row, which softmax ignores: its true gradient
            # is 0, both libraries get rounding noise, and Adam scales noise up to steps of size lr
            assert np.abs(e[C:2 * C] - t[C:2 * C]).max() < 2 * 3 * 1e-2  # two runs, 3 steps of at most ~lr
            e, t = np.delete(e, np.s_[C:2 * C]), np.delete(t, np.s_[C:2 * C])
        _assert_close(e, t, name, rtol=2e-4)
    assert em.lm_head.weight is em.transformer.wte.weight


def test_loads_a_torch_state_dict_saved_as_safetensors(tmp_path):
    from safetensors.torch import save_file

    tm, _ = _pair(seed=5)
    # safetensors refuses tensors that share memory: save the tied pair as two copies
    save_file({k: v.detach().clone().contiguous() for k, v in tm.state_dict().items()},
              tmp_path / "gpt.safetensors")
    em = GPT(GPTConfig(**SMALL))
    em.load_state_dict(ember.load(tmp_path / "gpt.safetensors"))
    assert em.lm_head.weight is em.transformer.wte.weight
    x = _tokens((2, 16), seed=6)
    _assert_close(em(ember.from_numpy(x))[0].detach().numpy(), tm(torch.from_numpy(x))[0].detach().numpy(),
                  "logits")


# -------------------------------------------------------------------------------------- generation

def _peaked_model(seed: int = 0, **overrides) -> GPT:
    # large weights make the next-token distribution peaked, so no argmax sits on a near-tie
    # that float rounding (cached vs. full recompute) could flip
    _, em = _pair(scale=0.3, seed=seed, **overrides)
    return em


def _reference_generate(model: GPT, idx: ember.Tensor, n: int, **sampling) -> ember.Tensor:
    """The plain definition: crop to block_size, run the whole context, sample from the last logits."""
    model.eval()
    with ember.no_grad():
        for _ in range(n):
            logits, _ = model(idx[:, -model.config.block_size:])
            idx = ember.cat([idx, sample_next(logits[:, -1, :], **sampling)], dim=1)
    return idx


@pytest.mark.parametrize("sampling", [
    {"temperature": 0.0},
    {"temperature": 1.0},
    {"temperature": 0.8, "top_k": 5},
    {"temperature": 1.2, "top_p": 0.9},
    {"temperature": 1.0, "top_k": 10, "top_p": 0.8},
], ids=["greedy", "sampled", "top_k", "top_p", "top_k+top_p"])
@pytest.mark.parametrize("new_tokens", [8, 30], ids=["within_block", "past_block"])
def test_generate_with_cache_equals_without_and_the_definition(sampling, new_tokens):
    model = _peaked_model(seed=7)
    prompt = ember.from_numpy(_tokens((2, 5), seed=8))
    results = []
    for run in ("cache", "no_cache", "reference"):
        ember.manual_seed(123)
        if run == "reference":
            results.append(_reference_generate(model, prompt, new_tokens, **sampling))
        else:
            results.append(model.generate(prompt, new_tokens, use_cache=run == "cache", **sampling))
    cached, uncached, reference = (r.tolist() for r in results)
    assert len(cached[0]) == 5 + new_tokens
    assert cached[0][:5] == prompt.tolist()[0]
    assert cached == uncached == reference
    assert results[0].dtype == ember.int64


def test_generate_cache_feeds_one_token_per_step():
    model = _peaked_model()
    seen: list[tuple[int, int]] = []
    hidden = model._hidden

    def recording(idx, caches=None, start=0):
        seen.append((idx.shape[1], start))
        return hidden(idx, caches, start)

    model._hidden = recording
    model.generate(ember.from_numpy(_tokens((1, 3))), 6, temperature=0.0)
    assert seen == [(3, 0), (1, 3), (1, 4), (1, 5), (1, 6), (1, 7)]
    seen.clear()
    model.generate(ember.from_numpy(_tokens((1, 3))), 3, temperature=0.0, use_cache=False)
    assert seen == [(3, 0), (4, 0), (5, 0)]


def test_cache_accepts_chunks_of_several_tokens():
    # a prompt fed in pieces through the cache (new queries see the cached keys and each other,
    # causally) gives the hidden states of one full pass
    model = _peaked_model()
    model.eval()
    idx = ember.from_numpy(_tokens((2, 12), seed=9))
    with ember.no_grad():
        full, _ = model._hidden(idx)
        h1, caches = model._hidden(idx[:, :5])
        h2, caches = model._hidden(idx[:, 5:9], caches, start=5)
        h3, _ = model._hidden(idx[:, 9:], caches, start=9)
    pieces = np.concatenate([h.numpy() for h in (h1, h2, h3)], axis=1)
    np.testing.assert_allclose(pieces, full.numpy(), rtol=1e-4, atol=1e-5)


def test_generate_restores_training_mode_and_records_no_graph():
    model = _peaked_model()
    model.train()
    out = model.generate(ember.from_numpy(_tokens((1, 2))), 3)
    assert model.training and not out.requires_grad
    model.eval()
    model.generate(ember.from_numpy(_tokens((1, 2))), 1)
    assert not model.training


def test_generate_zero_new_tokens_returns_the_prompt():
    model = _peaked_model()
    prompt = ember.from_numpy(_tokens((2, 4)))
    assert model.generate(prompt, 0).tolist() == prompt.tolist()


# ---------------------------------------------------------------------------------------- sampling

def _logits(rows: int, vocab: int = 50, seed: int = 0) -> ember.Tensor:
    return ember.from_numpy(np.random.default_rng(seed).standard_normal((rows, vocab)).astype(np.float32) * 3)


@pytest.mark.parametrize("seed", range(4))
def test_top_k_1_and_tiny_top_p_are_greedy(seed):
    logits = _logits(16, seed=seed)
    greedy = logits.argmax(dim=-1, keepdim=True).tolist()
    assert sample_next(logits, temperature=0.0).tolist() == greedy
    assert sample_next(logits, temperature=1.0, top_k=1).tolist() == greedy
    assert sample_next(logits, temperature=1.0, top_p=1e-6).tolist() == greedy
    assert sample_next(logits, temperature=5.0, top_k=3, top_p=1e-6).tolist() == greedy


def test_top_k_samples_only_the_k_most_likely():
    row = _logits(1, seed=1)
    top3 = set(row.topk(3, dim=-1).indices.tolist()[0])
    samples = sample_next(row.expand(4000, -1), temperature=1.0, top_k=3)
    assert samples.shape == (4000, 1) and samples.dtype == ember.int64
    assert set(samples.flatten().tolist()) == top3
    # top_k larger than the vocabulary keeps every token
    assert sample_next(row, top_k=10_000).shape == (1, 1)


def test_top_p_keeps_the_smallest_set_reaching_p():
    probs = np.array([0.05, 0.5, 0.15, 0.3], dtype=np.float32)
    row = ember.from_numpy(np.log(probs)[None, :])
    n = 20_000
    # cumulative in sorted order: 0.5, 0.8, 0.95, 1.0 -> p=0.9 keeps {1, 3, 2}; p=0.5 keeps {1}
    samples = np.array(sample_next(row.expand(n, -1), top_p=0.9).flatten().tolist())
    counts = np.bincount(samples, minlength=4) / n
    assert counts[0] == 0
    np.testing.assert_allclose(counts[1:], probs[1:] / probs[1:].sum(), atol=0.02)
    assert set(sample_next(row.expand(200, -1), top_p=0.5).flatten().tolist()) == {1}
    assert set(sample_next(row.expand(2000, -1), top_p=1.0).flatten().tolist()) == {0, 1, 2, 3}


@settings(max_examples=40, deadline=None)
@given(vocab=st.integers(1, 30), rows=st.integers(1, 4), k=st.integers(1, 35), p=st.floats(0.01, 1.0),
       seed=st.integers(0, 2**16))
def test_samples_stay_inside_the_top_k_and_nucleus_sets(vocab, rows, k, p, seed):
    logits = _logits(rows, vocab, seed)
    ember.manual_seed(seed)
    picked = np.array(sample_next(logits, temperature=0.7, top_k=k, top_p=p).flatten().tolist())
    scaled = logits.numpy().astype(np.float64) / 0.7
    for row, tok in zip(scaled, picked):
        rank = int((row > row[tok]).sum())  # how many tokens are strictly more likely
        assert rank < min(k, vocab)
        # the nucleus is taken within the top k: the tokens before this one must not already reach p
        kept = np.sort(row)[::-1][:min(k, vocab)]
        probs = np.exp(kept - kept.max()) / np.exp(kept - kept.max()).sum()
        assert probs[:rank].sum() < p + 1e-5


def test_temperature_reshapes_the_distribution():
    logits = np.array([0.0, 1.0, 2.0], dtype=np.float32)
    row = ember.from_numpy(logits[None, :]).expand(20_000, -1)
    for t in (0.5, 2.0):
        counts = np.bincount(
            np.array(sample_next(row, temperature=t).flatten().tolist()), minlength=3
        ) / 20_000
        expected = np.exp(logits / t) / np.exp(logits / t).sum()
        np.testing.assert_allclose(counts, expected, atol=0.02)


@pytest.mark.parametrize("kwargs,match", [
    ({"temperature": -1.0}, r"temperature must be >= 0, got -1.0"),
    ({"temperature": float("nan")}, r"temperature must be >= 0, got nan"),
    ({"top_k": 0}, r"top_k must be a positive integer, got 0"),
    ({"top_k": 2.5}, r"top_k must be a positive integer, got 2.5"),
    ({"top_p": 0.0}, r"top_p must be in \(0, 1\], got 0.0"),
    ({"top_p": 1.5}, r"top_p must be in \(0, 1\], got 1.5"),
])
def test_sampling_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match="sample_next: " + match):
        sample_next(_logits(2), **kwargs)
    model = GPT(GPTConfig(**SMALL))
    with pytest.raises(ValueError, match="generate: " + match):
        model.generate(ember.zeros(1, 1, dtype=ember.long), 2, **kwargs)


# ------------------------------------------------------------------------------------ init, tying

def test_gpt2_initialisation_statistics():
    ember.manual_seed(0)
    cfg = GPTConfig(block_size=64, vocab_size=65, n_layer=4, n_head=4, n_embd=128)
    model = GPT(cfg)
    proj_std = 0.02 / math.sqrt(2 * cfg.n_layer)
    for name, p in model.named_parameters():
        a = p.detach().numpy()
        if name.endswith("c_proj.weight"):
            assert abs(a.std() / proj_std - 1) < 0.05, (name, a.std())
        elif name.endswith(".weight") and p.dim() == 2:  # c_attn, c_fc, wte (= lm_head), wpe
            assert abs(a.std() / 0.02 - 1) < 0.05, (name, a.std())
        elif "ln_" in name and name.endswith(".weight"):
            assert (a == 1).all(), name
        else:
            assert name.endswith(".bias") and (a == 0).all(), name
        if p.dim() == 2:
            assert abs(a.mean()) < 3 * a.std() / math.sqrt(a.size) + 1e-6, name


def test_weight_tying():
    tm, model = _pair()
    assert model.lm_head.weight is model.transformer.wte.weight
    params = list(model.parameters())
    assert len(params) == len({id(p) for p in params}) == len(list(tm.parameters()))
    n_all = sum(p.numel() for p in tm.parameters())
    assert model.num_parameters(non_embedding=False) == n_all
    assert model.num_parameters() == n_all - SMALL["block_size"] * SMALL["n_embd"]
    # one tensor, two names in the state dict (as PyTorch), one entry among the parameters
    sd = model.state_dict()
    np.testing.assert_array_equal(sd["lm_head.weight"].numpy(), sd["transformer.wte.weight"].numpy())
    assert "lm_head.weight" not in dict(model.named_parameters())
    # the head and the embedding both contribute to the one gradient
    _, loss = model(ember.from_numpy(_tokens((2, 8))), ember.from_numpy(_tokens((2, 8), seed=1)))
    loss.backward()
    assert model.lm_head.weight.grad is model.transformer.wte.weight.grad


@pytest.mark.parametrize("bias", [True, False])
def test_configure_optimizers_groups(bias):
    model = GPT(GPTConfig(**SMALL, bias=bias))
    opt = model.configure_optimizers(weight_decay=0.1, learning_rate=3e-4, betas=(0.9, 0.95))
    assert isinstance(opt, ember.optim.AdamW)
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    for g in opt.param_groups:
        assert g["lr"] == 3e-4 and tuple(g["betas"]) == (0.9, 0.95)
    names = {id(p): n for n, p in model.named_parameters()}
    decay_names = {names[id(p)] for p in decay["params"]}
    no_decay_names = {names[id(p)] for p in no_decay["params"]}
    L = SMALL["n_layer"]
    # matrices decay: both embeddings (wte is also the head, counted once) and 4 Linear weights per block
    assert decay_names == {"transformer.wte.weight", "transformer.wpe.weight"} | {
        f"transformer.h.{i}.{m}.weight" for i in range(L) for m in ("attn.c_attn", "attn.c_proj", "mlp.c_fc",
                                                                    "mlp.c_proj")}
    assert all(n.endswith(".bias") or "ln_" in n for n in no_decay_names)
    assert len(no_decay_names) == (2 * L + 1) * (2 if bias else 1) + (4 * L if bias else 0)
    assert decay_names.isdisjoint(no_decay_names)
    assert decay_names | no_decay_names == set(names.values())


# -------------------------------------------------------------------------------------------- errors

@pytest.mark.parametrize("overrides,match", [
    ({"n_embd": 30, "n_head": 4}, r"GPT: n_embd \(30\) must be divisible by n_head \(4\)"),
    ({"vocab_size": 0}, r"GPT: vocab_size must be a positive integer, got 0"),
    ({"block_size": 2.5}, r"GPT: block_size must be a positive integer, got 2.5"),
    ({"n_head": 0}, r"GPT: n_head must be a positive integer, got 0"),
    ({"dropout": 1.0}, r"GPT: dropout must be in \[0, 1\), got 1.0"),
])
def test_config_errors(overrides, match):
    with pytest.raises(ValueError, match=match):
        GPT(GPTConfig(**{**SMALL, **overrides}))


def test_input_errors():
    model = GPT(GPTConfig(**SMALL))
    with pytest.raises(RuntimeError, match=r"GPT: sequence of length 17 is longer than block_size 16"):
        model(ember.zeros(2, 17, dtype=ember.long))
    with pytest.raises(RuntimeError, match=r"GPT: expected token ids of shape \(B, T\) and an integer dtype, "
                                           r"got shape \(2, 4\) and ember.float32"):
        model(ember.zeros(2, 4))
    with pytest.raises(RuntimeError, match=r"GPT: expected token ids of shape \(B, T\).*got shape \(4,\)"):
        model(ember.zeros(4, dtype=ember.long))
    with pytest.raises(RuntimeError,
                       match=r"GPT: targets of shape \(2, 3\) do not match idx of shape \(2, 4\)"):
        model(ember.zeros(2, 4, dtype=ember.long), ember.zeros(2, 3, dtype=ember.long))
    with pytest.raises(ValueError, match=r"generate: max_new_tokens must be >= 0, got -1"):
        model.generate(ember.zeros(1, 1, dtype=ember.long), -1)
    with pytest.raises(RuntimeError,
                       match=r"generate: expected a prompt of shape \(B, T\) with T >= 1, got \(1, 0\)"):
        model.generate(ember.zeros(1, 0, dtype=ember.long), 2)
    # a prompt longer than block_size is cropped, not an error
    assert model.generate(ember.zeros(1, 20, dtype=ember.long), 2).shape == (1, 22)
