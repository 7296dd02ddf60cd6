"""A sweep point's workload graph (built once per process) and the format its MACs are
priced by."""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=64)
def workload_graph(name: str, phase: str, seq: int | None, kv_len: int | None, batch: int,
                   layers: int | None, precision: str | None) -> Any:
    """A workload graph, built once per worker process for each distinct workload."""
    import json

    from hwsim.api import resolve_workload
    from workloads.formats import Precision

    prec = Precision(**json.loads(precision)) if precision else None
    graph = resolve_workload(name, phase=phase, seq=seq, kv_len=kv_len, batch=batch,
                             precision=prec)
    return graph.head(layers) if layers is not None else graph


def mac_format(graph: Any) -> tuple[str | None, str | None]:
    """(activation format, accumulator) of the op with the most MACs: what a MAC is priced
    by (hwsim.engine.pricing) on the bulk of the work."""
    ops = [o for o in graph.ops if o.fmt is not None and getattr(o, "macs", 0)]
    if not ops:
        return None, None
    top = max(ops, key=lambda o: o.macs)
    return top.fmt.x, top.fmt.acc


__all__ = ["mac_format", "workload_graph"]
