"""Backends: one Buffer subclass per device, each implementing the primitives in ``ember.buffer``.

``DEFAULT`` is the Buffer class that creation functions use. A new device adds one
file here (a ``Buffer`` subclass) and an entry in ``BACKENDS``; nothing above changes.
"""

from __future__ import annotations

from ember.backend.numpy_cpu import NumpyBuffer, ember_dtype, rng
from ember.backend.numpy_threads import get_num_threads, set_num_threads

BACKENDS = {"cpu": NumpyBuffer}
DEFAULT = NumpyBuffer

__all__ = ["BACKENDS", "DEFAULT", "NumpyBuffer", "ember_dtype", "get_num_threads", "rng", "set_num_threads"]
