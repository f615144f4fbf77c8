"""Ready-made models: a GPT for text and an MLP and a small CNN for MNIST."""

from ember.models.cnn import CNN
from ember.models.gpt import GPT, GPTConfig
from ember.models.mlp import MLP

__all__ = ["CNN", "GPT", "GPTConfig", "MLP"]
