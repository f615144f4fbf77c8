"""Layer 4 of 4 (nn): ``Module``, ``Parameter``, layers, losses, ``functional``, ``init`` and ``utils``.

Example:
    >>> import ember
    >>> from ember import nn
    >>> model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 10))
    >>> loss = nn.functional.cross_entropy(model(ember.randn(8, 784)), ember.zeros(8, dtype=ember.long))
    >>> loss.backward()
    >>> model[0].weight.grad.shape
    ember.Size([512, 784])
"""

from ember.nn import functional, init, utils
from ember.nn.module import Module
from ember.nn.modules import *
from ember.nn.modules import __all__ as _modules_all
from ember.nn.parameter import Parameter

__all__ = ["Module", "Parameter", "functional", "init", "utils", *_modules_all]
