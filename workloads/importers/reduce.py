"""A mean over any axes as the IR's average pooling (shared by both importers)."""

from __future__ import annotations

import math
from collections.abc import Iterable

from workloads.ops import Pool


def mean_as_pool(name: str, shape: tuple[int, ...], axes: Iterable[int] | None) -> Pool:
    """``mean(x, axes)`` (all axes when None or empty) priced like a global average pool of
    a ``(rest, 1, 1, reduced)`` tensor: one add per input element, one write per output."""
    dims = {a % len(shape) for a in axes} if axes else set(range(len(shape)))
    reduced = math.prod(shape[d] for d in dims)
    return Pool(name=name, kind="avg", x_shape=(math.prod(shape) // reduced, 1, 1, reduced),
                global_pool=True)
