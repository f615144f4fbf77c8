"""``Embedding``: a lookup table of learnable vectors."""

from __future__ import annotations

from typing import Any

from ember._tensor import Tensor
from ember._tensor.creation import arange, empty
from ember.autograd.grad_mode import no_grad
from ember.nn import _layers as F
from ember.nn import init
from ember.nn.module import Module
from ember.nn.parameter import Parameter


class Embedding(Module):
    """Map integer indices to rows of a learnable (num_embeddings, embedding_dim) table.

    The weight starts from N(0, 1); the row at ``padding_idx`` starts at zero and gets
    no gradient.

    Args:
        num_embeddings: the number of rows (the vocabulary size).
        embedding_dim: the size of each row.
        padding_idx: a row (negative counts from the end) that stays zero and gets no gradient.
        max_norm: if given, the rows looked up are renormalised in place to at most this
            ``norm_type``-norm first, as in PyTorch.
        norm_type: the p of the norm for ``max_norm`` (default 2.0).
        scale_grad_by_freq, sparse: stored for PyTorch compatibility; ember does not
            implement them and the layer ignores them.
        device, dtype: the weight's dtype (default float32); ``device`` is accepted for
            PyTorch compatibility.

    Shape:
        indices (*) of an integer dtype -> output (*, embedding_dim).

    Example:
        >>> import ember
        >>> ember.nn.Embedding(10, 3)(ember.tensor([[1, 2], [4, 9]])).shape
        ember.Size([2, 2, 3])
    """

    def __init__(
        self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
        max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
        sparse: bool = False, _weight: Tensor | None = None,
        _freeze: bool = False, device: Any = None, dtype: Any = None,
    ) -> None:
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(
                    f"Embedding: padding_idx {padding_idx} must be within num_embeddings ({num_embeddings})"
                )
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            w = empty(num_embeddings, embedding_dim, dtype=dtype)
            self.weight = Parameter(w, requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(
                    f"Embedding: _weight of shape {tuple(_weight.shape)} does not match "
                    f"({num_embeddings}, {embedding_dim})"
                )
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                row = (arange(self.num_embeddings) == self.padding_idx).unsqueeze(1)
                self.weight.copy_(self.weight.masked_fill(row, 0.0))

    def forward(self, input: Tensor) -> Tensor:
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type)

    @classmethod
    def from_pretrained(
        cls, embeddings: Tensor, freeze: bool = True, padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False,
    ) -> Embedding:
        """Make an Embedding whose weight is ``embeddings`` (2-D); frozen unless ``freeze=False``."""
        if embeddings.ndim != 2:
            raise ValueError(
                f"Embedding.from_pretrained: embeddings must be 2-D, got shape {tuple(embeddings.shape)}"
            )
        rows, cols = embeddings.shape
        return cls(
            rows, cols, _weight=embeddings, _freeze=freeze, padding_idx=padding_idx, max_norm=max_norm,
            norm_type=norm_type, scale_grad_by_freq=scale_grad_by_freq, sparse=sparse,
        )

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        return s
