"""The GPT-2 architecture on ember: embeddings, pre-norm transformer blocks, tied output head.

Parameter names follow GPT-2's (``transformer.wte``, ``transformer.h.0.attn.c_attn``,
...), so a GPT-2-style state dict of the same shape loads directly. Generation keeps
a key/value cache per layer, so each new token attends over stored keys and values
instead of re-running the whole context.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import ember
import ember.nn.functional as F
from ember import nn
from ember.optim import AdamW

KVCache = list[tuple[Any, Any]]  # per layer: keys and values, each (B, n_head, T, head_size)


@dataclass
class GPTConfig:
    """Hyper-parameters of a GPT.

    Args:
        block_size: the longest context the model sees (number of positions).
        vocab_size: number of token ids.
        n_layer: transformer blocks.
        n_head: attention heads per block; must divide ``n_embd``.
        n_embd: width of the residual stream.
        dropout: dropout probability in training.
        bias: whether Linear and LayerNorm layers have biases (GPT-2 has them).
    """

    block_size: int = 256
    vocab_size: int = 65
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True

    def to_dict(self) -> dict:
        """Return the configuration as a plain dict (for checkpoints; ``GPTConfig(**d)`` rebuilds it)."""
        return asdict(self)

    def validate(self) -> None:
        """Raise ValueError naming the first hyper-parameter that cannot build a model."""
        for name in ("block_size", "vocab_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if (not isinstance(value, int) or isinstance(value, bool)
                    or value < (0 if name == "n_layer" else 1)):
                raise ValueError(f"GPT: {name} must be a positive integer, got {value!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"GPT: n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"GPT: dropout must be in [0, 1), got {self.dropout}")


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where each position sees only itself and the past."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        # one projection makes queries, keys and values for all heads at once
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.dropout = config.dropout

    def forward(self, x: Any, cache: tuple[Any, Any] | None = None) -> tuple[Any, tuple[Any, Any]]:
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        # (B, T, C) -> (B, n_head, T, head_size)
        q = q.view(B, T, self.n_head, hs).transpose(1, 2)
        k = k.view(B, T, self.n_head, hs).transpose(1, 2)
        v = v.view(B, T, self.n_head, hs).transpose(1, 2)
        if cache is not None:
            k = ember.cat([cache[0], k], dim=2)
            v = ember.cat([cache[1], v], dim=2)
        # with a cache, the T new queries sit at the end of the key sequence
        if cache is None or T > 1:
            mask = None if cache is None else _offset_causal_mask(T, k.shape[2])
            y = F.scaled_dot_product_attention(
                q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0,
                is_causal=cache is None,
            )
        else:
            y = F.scaled_dot_product_attention(q, k, v)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # re-assemble the heads side by side
        return self.resid_dropout(self.c_proj(y)), (k, v)


def _offset_causal_mask(t_new: int, t_total: int) -> Any:
    """Bool mask letting new query i (at position t_total - t_new + i) see keys up to itself."""
    return ember.ones(t_new, t_total, dtype=ember.bool).tril(diagonal=t_total - t_new)


class MLP(nn.Module):
    """The position-wise feed-forward network: expand 4x, GELU, project back."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: Any) -> Any:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """A pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: Any, cache: tuple[Any, Any] | None = None) -> tuple[Any, tuple[Any, Any]]:
        a, new_cache = self.attn(self.ln_1(x), cache)
        x = x + a
        x = x + self.mlp(self.ln_2(x))
        return x, new_cache


class GPT(nn.Module):
    """A GPT-2 language model.

    Example:
        >>> import ember
        >>> from ember.models import GPT, GPTConfig
        >>> model = GPT(GPTConfig(block_size=8, vocab_size=11, n_layer=1, n_head=2, n_embd=8))
        >>> logits, loss = model(ember.zeros(2, 8, dtype=ember.long))
        >>> tuple(logits.shape)
        (2, 8, 11)
    """

    def __init__(self, config: GPTConfig) -> None:
        config.validate()
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict({
            "wte": nn.Embedding(config.vocab_size, config.n_embd),
            "wpe": nn.Embedding(config.block_size, config.n_embd),
            "drop": nn.Dropout(config.dropout),
            "h": nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            "ln_f": nn.LayerNorm(config.n_embd, bias=config.bias),
        })
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        # weight tying: the output head reads tokens with the same matrix that embeds them
        self.transformer.wte.weight = self.lm_head.weight
        self.apply(self._init_weights)
        # GPT-2 scales the residual projections by 1/sqrt(2 * n_layer): each block adds two
        # of them to the residual stream, and this keeps its variance from growing with depth
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_parameters(self, non_embedding: bool = True) -> int:
        """Count parameters (tied ones once); position embeddings excluded by default."""
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n -= self.transformer.wpe.weight.numel()
        return n

    def _hidden(self, idx: Any, caches: KVCache | None = None, start: int = 0) -> tuple[Any, KVCache]:
        if idx.ndim != 2 or idx.dtype.is_floating_point:
            raise RuntimeError(f"GPT: expected token ids of shape (B, T) and an integer dtype, "
                               f"got shape {tuple(idx.shape)} and {idx.dtype!r}")
        T = idx.shape[1]
        if start + T > self.config.block_size:
            raise RuntimeError(
                f"GPT: sequence of length {start + T} is longer than block_size {self.config.block_size}"
            )
        pos = ember.arange(start, start + T, dtype=ember.long)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))  # (B, T, C)
        new_caches: KVCache = []
        for i, block in enumerate(self.transformer.h):
            x, kv = block(x, None if caches is None else caches[i])
            new_caches.append(kv)
        return self.transformer.ln_f(x), new_caches

    def forward(self, idx: Any, targets: Any = None) -> tuple[Any, Any]:
        """Return logits (B, T, vocab) and, when ``targets`` (B, T) are given, the mean cross-entropy."""
        if targets is not None and tuple(targets.shape) != tuple(idx.shape):
            raise RuntimeError(f"GPT: targets of shape {tuple(targets.shape)} do not match "
                               f"idx of shape {tuple(idx.shape)}")
        x, _ = self._hidden(idx)
        logits = self.lm_head(x)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-1)
        return logits, loss

    def configure_optimizers(
        self, weight_decay: float, learning_rate: float, betas: tuple[float, float]
    ) -> Any:
        """AdamW where matrices (weights, embeddings) decay and vectors (biases, norms) do not."""
        params = [p for p in self.parameters() if p.requires_grad]
        decay = [p for p in params if p.dim() >= 2]
        no_decay = [p for p in params if p.dim() < 2]
        groups = [
            {"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]
        return AdamW(groups, lr=learning_rate, betas=betas)

    @ember.no_grad()
    def generate(
        self, idx: Any, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
        top_p: float | None = None, use_cache: bool = True,
    ) -> Any:
        """Append ``max_new_tokens`` sampled tokens to ``idx`` (B, T) and return the result.

        Args:
            temperature: divides the logits; 0 picks the most likely token (greedy).
            top_k: sample only among the k most likely tokens.
            top_p: sample only among the smallest set of tokens whose probability
                reaches ``top_p`` (nucleus sampling).
            use_cache: keep keys and values of past tokens (same tokens, less time).
        """
        if max_new_tokens < 0:
            raise ValueError(f"generate: max_new_tokens must be >= 0, got {max_new_tokens}")
        _check_sampling("generate", temperature, top_k, top_p)
        if idx.ndim != 2 or idx.shape[1] == 0:
            raise RuntimeError(
                f"generate: expected a prompt of shape (B, T) with T >= 1, got {tuple(idx.shape)}"
            )
        was_training = self.training
        self.eval()
        block = self.config.block_size
        caches: KVCache | None = None
        cached_len = 0
        for _ in range(max_new_tokens):
            if not use_cache or caches is None or cached_len >= block:
                # (re)fill: the whole (cropped) context; positions restart at 0
                ctx = idx if idx.shape[1] <= block else idx[:, -block:]
                x, caches = self._hidden(ctx)
                cached_len = ctx.shape[1]
            else:
                x, caches = self._hidden(idx[:, -1:], caches, start=cached_len)
                cached_len += 1
            logits = self.lm_head(x[:, -1, :])  # (B, vocab)
            nxt = sample_next(logits, temperature, top_k, top_p)
            idx = ember.cat([idx, nxt], dim=1)
            if not use_cache:
                caches = None
        self.train(was_training)
        return idx


def sample_next(
    logits: Any, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> Any:
    """Pick one token id per row of ``logits`` (B, vocab); returns (B, 1) int64."""
    _check_sampling("sample_next", temperature, top_k, top_p)
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    logits = logits / temperature
    if top_k is not None:
        k = min(top_k, logits.shape[-1])
        kth = logits.topk(k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        sorted_probs = sorted_logits.softmax(dim=-1)
        # drop a token once the tokens before it already reach top_p (the first always stays)
        drop_sorted = (sorted_probs.cumsum(dim=-1) - sorted_probs) >= top_p
        drop = ember.zeros_like(drop_sorted).scatter(1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    probs = logits.softmax(dim=-1)
    return ember.multinomial(probs, num_samples=1)


def _check_sampling(op: str, temperature: float, top_k: int | None, top_p: float | None) -> None:
    if not temperature >= 0:  # also rejects NaN
        raise ValueError(f"{op}: temperature must be >= 0, got {temperature}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"{op}: top_k must be a positive integer, got {top_k!r}")
    if top_p is not None and not 0.0 < top_p <= 1.0:
        raise ValueError(f"{op}: top_p must be in (0, 1], got {top_p}")
