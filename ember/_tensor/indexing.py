"""Tensor methods for indexing: ``__getitem__``/``__setitem__``, gather, scatter, index_select, ..."""

from __future__ import annotations

__all__: list[str] = []


class IndexingMixin:
    __slots__ = ()
