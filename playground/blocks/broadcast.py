"""Keras' broadcasting rule for element-wise merges (Add, Multiply...), as one pure function.

Squeeze-and-excitation multiplies an H x W x C map by a 1 x 1 x C gate; Keras' merge layers
align the two shapes from the right and stretch any axis of size 1. The checker applies the same
rule so that such a merge checks exactly when Keras builds it.
"""

from __future__ import annotations

Shape = tuple[int, ...]


def broadcast_shape(shapes: list[Shape]) -> Shape | None:
    """The shape Keras gives an element-wise merge of ``shapes`` (no batch axis), or None when
    two axes differ and neither is 1."""
    out: list[int] = []
    rank = max(len(s) for s in shapes)
    for axis in range(1, rank + 1):
        sizes = {s[-axis] for s in shapes if len(s) >= axis}
        wide = sizes - {1}
        if len(wide) > 1:
            return None
        out.append(wide.pop() if wide else 1)
    return tuple(reversed(out))
