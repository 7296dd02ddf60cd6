"""A batch prediction spread over the CPU's cores: row chunks on a pool of threads.

numpy releases the GIL in its matrix products and element-wise loops, where a batch prediction
spends most of its time (:mod:`costmodel.mlp`'s networks, :mod:`costmodel.predictors`' trees),
so threads sharing one model and one batch run side by side without copying either. BLAS is
held to one thread of its own meanwhile: the chunks are the parallelism, and a BLAS pool per
chunk would oversubscribe the cores. A chunk's rows never depend on another chunk's, so the
result is the serial one; only the last bits of a float32 product may differ with where the
chunks begin, as they already do between a batch and its rows predicted one at a time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

from hwsim.errors import HwsimError

#: fewest rows a chunk is cut to for the sake of another thread: below ~1,000 rows a chunk's
#: fixed cost (a few hundred numpy calls over five targets) outweighs the second core
MIN_CHUNK = 1024


def cores() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def check_workers(workers: int | None) -> int:
    """``workers`` threads (None: one per core); a user error for anything but a positive
    integer or None."""
    if workers is None:
        return cores()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise HwsimError(f"workers must be a positive integer or None (one per core), got "
                         f"{workers!r}")
    return workers


def chunks(n: int, workers: int, most: int) -> list[slice]:
    """Row ranges covering ``n`` rows: at most ``most`` rows each, and, where ``n`` allows
    chunks of :data:`MIN_CHUNK` rows or more, at least ``workers`` of them."""
    size = min(most, max(MIN_CHUNK, -(-n // workers)))
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


@lru_cache(maxsize=1)
def _controller() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()  # inspects the loaded BLAS/OpenMP libraries once


def map_chunks(fn: Callable[[slice], Any], parts: Sequence[slice], workers: int) -> list[Any]:
    """``fn`` of every part, in order: on ``workers`` threads (BLAS at one thread each) when
    there is more than one part and more than one worker, else in this thread as it is."""
    if workers <= 1 or len(parts) <= 1:
        return [fn(p) for p in parts]
    with _controller().limit(limits=1), ThreadPoolExecutor(min(workers, len(parts))) as pool:
        return list(pool.map(fn, parts))
