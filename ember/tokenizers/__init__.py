"""Text tokenizers: character-level and byte-level BPE (GPT-2 style).

This package depends only on the Python standard library, so it can be used
without the rest of ember (e.g. to prepare data on a machine without NumPy).
"""

from .base import Tokenizer, load_tokenizer
from .bpe import GPT2_SPLIT_PATTERN, BPETokenizer
from .char import CharTokenizer

__all__ = ["GPT2_SPLIT_PATTERN", "BPETokenizer", "CharTokenizer", "Tokenizer", "load_tokenizer"]
