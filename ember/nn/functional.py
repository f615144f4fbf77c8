"""``ember.nn.functional``: layers, activations and losses as functions (PyTorch's ``torch.nn.functional``).

The implementations live in one private file per family (``_activation``,
``_layers``, ``_norm``, ``_attention``, ``_loss``, ``_conv``); this module gathers
them, with ``pad`` from the Tensor layer.
"""

from ember._tensor.movement import pad
from ember.nn._activation import *  # noqa: F403
from ember.nn._activation import __all__ as _act
from ember.nn._attention import *  # noqa: F403
from ember.nn._attention import __all__ as _attn
from ember.nn._conv import *  # noqa: F403
from ember.nn._conv import __all__ as _conv
from ember.nn._layers import *  # noqa: F403
from ember.nn._layers import __all__ as _lay
from ember.nn._loss import *  # noqa: F403
from ember.nn._loss import __all__ as _loss
from ember.nn._norm import *  # noqa: F403
from ember.nn._norm import __all__ as _nrm
from ember.nn._resample import *  # noqa: F403
from ember.nn._resample import __all__ as _rs

__all__ = [*_act, *_attn, *_conv, *_lay, *_loss, *_nrm, *_rs, "pad"]
