"""ember: a readable deep-learning framework with PyTorch's API, built on NumPy.

The four layers, bottom to top: ``ember.buffer``/``ember.backend`` (arrays and
primitives), ``ember.function``/``ember.ops`` (one Function per differentiable
operation), ``ember.Tensor`` with ``ember.autograd``, and ``ember.nn``,
``ember.optim``, ``ember.utils.data``, ``ember.models`` on top.
"""

from __future__ import annotations

from ember import autograd
from ember._tensor import Size, Tensor, device
from ember._tensor.creation import *  # noqa: F403
from ember._tensor.elementwise import *  # noqa: F403
from ember._tensor.indexing import *  # noqa: F403
from ember._tensor.inplace_fused import *  # noqa: F403
from ember._tensor.linalg import *  # noqa: F403
from ember._tensor.movement import *  # noqa: F403
from ember._tensor.reduce import *  # noqa: F403
from ember.autograd.grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from ember.backend import get_num_threads, set_num_threads
from ember.dtypes import (
    bool_ as bool,  # noqa: A004
)
from ember.dtypes import (
    double,
    dtype,
    finfo,
    float,  # noqa: A004
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    iinfo,
    int,  # noqa: A004
    int8,
    int16,
    int32,
    int64,
    long,
    set_default_dtype,
    short,
    uint8,
)
from ember.function import Function

__version__ = "0.1.0"

# The upper layers load on first use, so ``import ember`` stays fast and a problem in
# one of them never breaks the core.
_LAZY_MODULES = ("nn", "optim", "utils", "datasets", "tokenizers", "models", "viz", "serialization", "cuda")
_LAZY_NAMES = {"save": "serialization", "load": "serialization", "Generator": "utils.data.sampler"}


def __getattr__(name: str) -> object:
    import importlib

    if name in _LAZY_MODULES:
        return importlib.import_module(f"ember.{name}")
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(f"ember.{_LAZY_NAMES[name]}"), name)
    raise AttributeError(f"module 'ember' has no attribute '{name}'")
