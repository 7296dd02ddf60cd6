"""Running a device with LUT units: plan the fused table precompute over the whole graph,
hand the device's model to the shared driver, price the LUT GEMMs' energy afterwards.

Shared by the GPU's LUT tensor cores and the standalone LUT array: the precompute plan needs
the whole graph (a table is built by the op BEFORE its GEMM), which the driver's per-op
lowering does not see.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import simpy

from hwsim.devices.lut.energy import relabel_lut_energy
from hwsim.devices.lut.precompute import Precompute, low_bit_weights, plan_precompute
from hwsim.devices.lut.units import TableSource
from hwsim.engine.driver import graph_of, run_ops
from hwsim.engine.lowering import lower_op
from hwsim.engine.result import RunResult
from hwsim.engine.trace import TraceSink

#: builds a device model (with a ``lut_ops`` mapping filled while lowering) from the run's
#: environment, sink and precompute plan
LutModelFactory = Callable[[simpy.Environment, TraceSink, Mapping[str, Precompute]], Any]


def run_with_luts(make_model: LutModelFactory, workload: Any, *, device: str, luts: bool,
                  costs: Any, trace: bool, source: TableSource) -> RunResult:
    """Run ``workload`` on the model ``make_model`` builds; ``luts``: the device has LUT
    units (else no tables are planned and the energy is left as the driver priced it)."""
    graph = graph_of(workload)
    # every op lowered once up front: a training graph is refused as such before any op's
    # formats are judged
    gemms = {op.name: lower_op(op, device=device).gemms for op in graph.ops}
    pre = plan_precompute(graph.ops, {op.name: gemms[op.name] for op in graph.ops
                                      if low_bit_weights(op)}, source) if luts else {}
    models: list[Any] = []

    def factory(env: simpy.Environment, sink: TraceSink) -> Any:
        models.append(make_model(env, sink, pre))
        return models[-1]

    res = run_ops(factory, graph, costs=costs, keep_trace=trace)
    return relabel_lut_energy(res, graph, models[0].lut_ops, costs)


__all__ = ["LutModelFactory", "run_with_luts"]
