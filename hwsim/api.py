"""The Python API behind every CLI command that simulates: the CLI only parses and prints.

>>> from hwsim.api import simulate
>>> res = simulate("systolic", "resnet18", rows=16, cols=16, dataflow="ws")
>>> res.total_cycles, res.energy_pj["mac"]

``device`` is a kind, a preset (``hwsim devices`` lists them), a YAML/JSON device file or a
spec object; ``workload`` a built-in name, a saved graph (``.json``), a
:class:`workloads.Graph` or a sequence of ops. The sweep layer calls the same functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from costmodel.provider import CostProvider, get_provider
from hwsim.devices.base import get_device, kind_of, kinds, spec_fields
from hwsim.devices.base import run as run_on_device
from hwsim.engine.driver import graph_of
from hwsim.engine.result import RunResult
from hwsim.errors import HwsimError


def resolve_device(device: Any, **overrides: Any) -> Any:
    """A device spec from a name, a file or a spec (overrides applied in every case)."""
    if isinstance(device, str | Path):
        return get_device(device, **overrides)
    from hwsim.devices.base import build_spec

    return build_spec(kind_of(device), device, overrides)


def resolve_workload(workload: Any, *, phase: str | None = None, seq: int | None = None,
                     batch: int = 1, kv_len: int | None = None, precision: Any = None,
                     optimizer: str = "sgd", blocks: int | None = None) -> Any:
    """A :class:`workloads.Graph` from a built-in name, a saved graph file or a graph;
    ``blocks`` keeps an LLM's first N transformer blocks."""
    import workloads

    if isinstance(workload, workloads.Graph):
        return workload.with_precision(precision) if precision is not None else workload
    if isinstance(workload, Sequence) and not isinstance(workload, str):
        return graph_of(workload)
    target = str(workload)
    path = Path(target)
    if target.endswith(".json") or path.is_file():
        if any(v is not None for v in (phase, seq, kv_len, blocks)) or batch != 1:
            raise HwsimError("--phase/--seq/--batch/--kv-len/--blocks apply to built-in workloads, "
                             f"not to a saved graph ({target})")
        graph = workloads.load_graph(path)
        return graph.with_precision(precision) if precision is not None else graph
    return workloads.build_workload(target, phase=phase, seq=seq, batch=batch, kv_len=kv_len,
                                    precision=precision, optimizer=optimizer, blocks=blocks)


def resolve_costs(costs: str | CostProvider | None) -> CostProvider:
    if costs is None:
        return get_provider("analytical")
    return get_provider(costs) if isinstance(costs, str) else costs


def simulate(device: Any, workload: Any, *, costs: str | CostProvider | None = None,
             trace: bool = False, layers: int | None = None, **overrides: Any) -> RunResult:
    """Run ``workload`` on ``device`` (see the module doc); ``layers`` keeps the first N ops.

    ``overrides`` are device spec fields (``rows=16``, ``dataflow="ws"``, ...)."""
    spec = resolve_device(device, **overrides)
    graph = resolve_workload(workload)
    if layers is not None:
        graph = graph.head(layers)
    return run_on_device(spec, graph, costs=resolve_costs(costs), trace=trace)


def list_devices() -> list[dict[str, Any]]:
    """Every device kind with its presets and its default spec's fields."""
    out = []
    for k in kinds().values():
        out.append({"kind": k.name, "summary": k.summary, "default_preset": k.default_preset,
                    "presets": k.preset_names(),
                    "fields": _plain(spec_fields(k.preset(k.default_preset)))})
    return out


def describe_device(device: Any, **overrides: Any) -> dict[str, Any]:
    """One device spec as plain data: its kind and every field."""
    spec = resolve_device(device, **overrides)
    return {"kind": kind_of(spec).name, "fields": _plain(spec_fields(spec))}


def _plain(d: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


__all__ = ["describe_device", "list_devices", "resolve_costs", "resolve_device",
           "resolve_workload", "simulate"]
