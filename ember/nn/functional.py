"""``ember.nn.functional``: layers, activations and losses as functions (PyTorch's ``torch.nn.functional``).

The implementations live in one private file per family (``_activation``,
``_layers``, ``_norm``, ``_attention``, ``_loss``); this module gathers them.
"""

from ember.nn._activation import *  # noqa: F403
from ember.nn._activation import __all__ as _act
from ember.nn._attention import *  # noqa: F403
from ember.nn._attention import __all__ as _attn
from ember.nn._layers import *  # noqa: F403
from ember.nn._layers import __all__ as _lay
from ember.nn._loss import *  # noqa: F403
from ember.nn._loss import __all__ as _loss
from ember.nn._norm import *  # noqa: F403
from ember.nn._norm import __all__ as _nrm

__all__ = [*_act, *_attn, *_lay, *_loss, *_nrm]
