"""``ember.cuda``: what PyTorch scripts ask before choosing a device. ember runs on the CPU."""

from __future__ import annotations


def is_available() -> bool:
    """Return False: ember has no CUDA backend (scripts then pick the CPU)."""
    return False


def device_count() -> int:
    """Return 0: no CUDA devices are visible to ember."""
    return 0


def manual_seed(seed: int) -> None:
    """Accept a seed for the (absent) GPU generators, as ``torch.cuda.manual_seed`` does."""


manual_seed_all = manual_seed
