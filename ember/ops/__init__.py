"""Layer 2 of 4: the Function subclasses, one file per op family.

Each Function writes the forward and the only derivative of one operation, over
Buffers. The Tensor layer validates arguments and calls ``SomeFunction.apply``.
"""
