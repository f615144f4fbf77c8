"""Layer 4 (optim): optimizers that update parameters from their gradients, and LR schedules.

Every optimizer takes parameters (or parameter-group dicts) and PyTorch's hyper-parameter
names and defaults; ``step()`` updates the parameters in place, ``zero_grad()`` clears
their gradients, and ``state_dict()``/``load_state_dict()`` save and restore a run.
"""

from __future__ import annotations

from ember.optim import lr_scheduler
from ember.optim.adadelta import Adadelta
from ember.optim.adagrad import Adagrad
from ember.optim.adam import Adam
from ember.optim.adamw import AdamW
from ember.optim.nadam import NAdam
from ember.optim.optimizer import Optimizer
from ember.optim.radam import RAdam
from ember.optim.rmsprop import RMSprop
from ember.optim.sgd import SGD

__all__ = [
    "SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "NAdam", "Optimizer", "RAdam", "RMSprop", "lr_scheduler",
]
