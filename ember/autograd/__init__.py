"""Autograd: the backward engine, gradient modes, ``grad``, ``gradcheck`` and anomaly detection."""

from __future__ import annotations

from ember.autograd.functional import backward, detect_anomaly, grad
from ember.autograd.grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from ember.autograd.gradcheck import gradcheck
from ember.function import Function

__all__ = [
    "Function", "backward", "detect_anomaly", "enable_grad", "grad", "gradcheck", "inference_mode",
    "is_grad_enabled", "no_grad", "set_grad_enabled",
]
