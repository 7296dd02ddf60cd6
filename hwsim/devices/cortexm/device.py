"""The Cortex-M core behind the device protocol: its kind, presets, SRAM plan and per-op model.

A run first plans the SRAM (:mod:`hwsim.devices.cortexm.schedule`): the live bytes of every op
under the spec's schedule, the peak and where it occurs, and, for the patch schedule, the
output pixels each op of the patch stage computes over all patches (halo recomputation
included). A network whose peak exceeds the SRAM under every schedule the kind has is refused
with the layer and the bytes it needs. Then the shared driver runs the ops one at a time on the
one core: a MAC-based op takes its MACs (recomputation included) over the MAC/cycle of its
CMSIS-NN kernel class, element-wise work its operations over ``vector_ops_per_cycle``;
batchnorm and clamp activations after a convolution are folded into it (no cycles).

Every op runs as int8 (CMSIS-NN's s8 kernels) whatever the graph's formats say; a note says
when that changed the formats. Weights stay in flash (their bytes are reported against the
flash size, not priced); the energy is the driver's estimate from MACs and SRAM bytes.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import simpy

from hwsim.devices.base import DeviceKind
from hwsim.devices.cortexm import schedule as sched
from hwsim.devices.cortexm.spec import AUTO_SPLIT, PRESETS, CortexmSpec
from hwsim.engine.driver import PieceStats, graph_of, run_ops
from hwsim.engine.lowering import Gemm, Lowered, lower_op
from hwsim.engine.resources import ComputeUnit
from hwsim.engine.result import RunResult
from hwsim.engine.trace import TraceSink
from hwsim.errors import HwsimError

KIB = 1024


@dataclass(frozen=True)
class SramPlan:
    """Where a schedule puts the SRAM peak, and what the patch stage recomputes."""

    schedule: str
    op_names: tuple[str, ...]
    op_bytes: tuple[int, ...]  # live bytes per op (patch stage: its largest patch + output)
    peak_bytes: int
    peak_op: str
    split: str | None = None
    grid: int = 1
    pixels: Mapping[str, int] = field(default_factory=dict)  # patch stage: pixels computed
    stage_macs: int = 0  # MACs of the patch stage, recomputation included
    stage_macs_once: int = 0  # the same ops' MACs run once (layer by layer)

    @property
    def recompute_macs(self) -> int:
        return self.stage_macs - self.stage_macs_once

    def describe(self) -> str:
        if self.schedule == "layer":
            return "layer by layer"
        return f"patch-based, {self.grid}x{self.grid} patches up to {self.split!r}"

    def report(self, spec: CortexmSpec, graph_macs: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schedule": self.schedule, "peak_bytes": self.peak_bytes,
            "peak_kib": self.peak_bytes / KIB, "peak_op": self.peak_op,
            "sram_bytes": spec.sram_bytes, "fits": self.peak_bytes <= spec.sram_bytes,
            "bytes_per_element": 1,
            "op_bytes": dict(zip(self.op_names, self.op_bytes, strict=True)),
        }
        if self.schedule == "patch":
            out.update({"patch_grid": self.grid, "patch_split": self.split,
                        "recompute_macs": self.recompute_macs,
                        "recompute_fraction": self.recompute_macs / graph_macs
                        if graph_macs else 0.0})
        return out


def layer_plan(df: sched.Dataflow) -> SramPlan:
    names = tuple(n.name for n in df.nodes)
    lb = sched.layer_bytes(df)
    i = max(range(len(lb)), key=lb.__getitem__)
    return SramPlan("layer", names, tuple(lb), lb[i], names[i])


def patch_plan(df: sched.Dataflow, grid: int, split: str = AUTO_SPLIT,
               where: str = "") -> SramPlan:
    """The patch schedule ending at op ``split`` (``"auto"``: the least peak SRAM, then the
    fewest MACs, then the earliest op)."""
    names = tuple(n.name for n in df.nodes)
    cands = sched.split_candidates(df, grid)
    if not cands:
        raise HwsimError(f"{where}no op can end a patch stage with {grid}x{grid} patches: the "
                         "ops from the first up to the split must be convolutions, pooling or "
                         f"element-wise ops on 4-D tensors with at least {grid} rows and "
                         "columns; use --schedule layer")
    lb = sched.layer_bytes(df)

    def plan(i: int) -> SramPlan:
        st = sched.patch_stage(df, i, grid)
        op_bytes = (*st.node_bytes, *lb[i + 1:])
        j = max(range(len(op_bytes)), key=op_bytes.__getitem__)
        return SramPlan("patch", names, op_bytes, op_bytes[j], names[j], names[i], grid,
                        st.pixels, st.macs, st.macs_layer)

    if split != AUTO_SPLIT:
        if split not in names:
            raise HwsimError(f"{where}patch_split {split!r} is not an op of the workload; "
                             f"give an op name or {AUTO_SPLIT!r}")
        i = names.index(split)
        if i not in cands:
            shown = ", ".join(names[c] for c in cands[:12])
            raise HwsimError(f"{where}patch_split {split!r} cannot end a patch stage (an op "
                             "before it is not spatial, a tensor it holds is read after it, or "
                             f"the next op works in place on its output); allowed: {shown}"
                             f"{', ...' if len(cands) > 12 else ''} or {AUTO_SPLIT!r}")
        return plan(i)
    plans = [plan(i) for i in cands]
    return min(plans, key=lambda p: (p.peak_bytes, p.stage_macs - p.stage_macs_once,
                                     names.index(p.split or "")))


def plan_sram(graph: Any, spec: CortexmSpec) -> tuple[SramPlan, list[str]]:
    """The SRAM plan of ``spec.schedule`` and its notes; an error when no schedule fits."""
    where = f"{graph.name} on {spec.name}: "
    df = sched.dataflow(graph.ops, in_place=spec.in_place)
    chosen = (layer_plan(df) if spec.schedule == "layer"
              else patch_plan(df, spec.patch_grid, spec.patch_split, where))
    notes = [f"peak SRAM {chosen.peak_bytes:,} B ({chosen.peak_bytes / KIB:.1f} KiB, int8) at "
             f"{chosen.peak_op!r}, {chosen.describe()}; SRAM {spec.sram_bytes:,} B"]
    if chosen.schedule == "patch":
        notes.append(f"patch stage recomputes {chosen.recompute_macs:,} MACs of overlapping "
                     f"halos ({chosen.recompute_macs / max(graph.macs, 1):.1%} of the "
                     "network's MACs)")
    if chosen.peak_bytes <= spec.sram_bytes:
        return chosen, notes
    others = [layer_plan(df)] if spec.schedule == "patch" else []
    try:
        others.append(patch_plan(df, spec.patch_grid, AUTO_SPLIT, where))
    except HwsimError:
        pass  # no patch stage possible: layer by layer is the only schedule
    best = min([chosen, *others], key=lambda p: p.peak_bytes)
    if best.peak_bytes > spec.sram_bytes:
        raise HwsimError(
            f"{where}layer {best.peak_op!r} needs {best.peak_bytes:,} B of SRAM "
            f"({best.peak_bytes / KIB:.1f} KiB at int8) under the best schedule the cortexm "
            f"kind has ({best.describe()}), more than the {spec.sram_bytes:,} B "
            f"({spec.sram_kb:g} KiB) of {spec.name}")
    notes.append(f"does not fit: {chosen.describe()} needs {chosen.peak_bytes:,} B at "
                 f"{chosen.peak_op!r}, more than the SRAM; {best.describe()} fits "
                 f"({best.peak_bytes:,} B)")
    return chosen, notes


@dataclass(frozen=True)
class CmGemm(Gemm):
    """A GEMM instance priced at one CMSIS-NN kernel class's MAC/cycle."""

    macs_per_cycle: float = 1.0
    kernel: str = "conv"


def _rate(spec: CortexmSpec, role: str) -> float:
    return {"conv": spec.conv_macs_per_cycle, "pointwise": spec.pointwise_macs_per_cycle,
            "depthwise": spec.depthwise_macs_per_cycle, "fc": spec.fc_macs_per_cycle}[role]


class CortexmModel:
    """:class:`hwsim.engine.driver.DeviceModel` of a :class:`CortexmSpec` and its SRAM plan."""

    memory_levels: Mapping[str, str] = {}
    replayable = False  # two ops with one GEMM shape may run different kernels
    concurrent_ops = False

    def __init__(self, env: simpy.Environment, sink: TraceSink, spec: CortexmSpec,
                 nodes: Mapping[str, sched.Node], plan: SramPlan, notes: list[str]) -> None:
        self.env = env
        self.spec = spec
        self.nodes = nodes
        self.plan = plan
        self.plan_notes = notes
        self.description = spec.describe()
        self.clock_mhz = spec.clock_mhz
        # the fastest kernel's rate, rounded up (utilisation is measured against it)
        self.peak_macs_per_cycle = math.ceil(max(_rate(spec, r) for r in sched.MAC_ROLES))
        self.core = ComputeUnit(env, "core", sink)

    def _scale(self, op: Any) -> float:
        """Output pixels the schedule computes over the op's pixels (1: no recomputation)."""
        px = self.plan.pixels.get(op.name)
        if px is None:
            return 1.0
        shape = getattr(op, "out_shape", None) or getattr(op, "shape", None)
        return px / (shape[0] * shape[2] * shape[3])

    def lower(self, op: Any) -> Lowered:
        low = lower_op(op, device=self.spec.name)
        node = self.nodes[op.name]
        scale = self._scale(op)
        if node.role == "fused":
            return Lowered(word_bits=8, out_bits=8,
                           detail="folded into the convolution before it (CMSIS-NN "
                                  "requantisation and output clamp)")
        if node.role in sched.MAC_ROLES and low.gemms:
            rate = _rate(self.spec, node.role)
            gemms = tuple(CmGemm(round(g.m * scale) if i == 0 else g.m, g.k, g.n, g.repeat,
                                 macs_per_cycle=rate, kernel=node.role)
                          for i, g in enumerate(low.gemms))
            extra = f", {scale:.3f}x its pixels (patch halos)" if scale != 1.0 else ""
            return replace(low, gemms=gemms, word_bits=8, out_bits=8,
                           detail=f"{low.detail}: CMSIS-NN {node.role} kernel at {rate:g} "
                                  f"MAC/cycle{extra}")
        if low.vector_flops or low.vector_bytes:
            return replace(low, vector_flops=math.ceil(low.vector_flops * scale), word_bits=8,
                           out_bits=8, vector_bytes=low.vector_bytes * scale,
                           detail=f"element-wise on the core at "
                                  f"{self.spec.vector_ops_per_cycle:g} op/cycle")
        return replace(low, word_bits=8, out_bits=8)

    def run_gemm(self, g: Gemm, low: Lowered, tag: str) -> Generator[Any, Any, PieceStats]:
        if not isinstance(g, CmGemm):
            raise AssertionError("internal error: the cortexm model lowers GEMMs to CmGemm")
        macs = g.m * g.k * g.n
        cyc = max(1, math.ceil(macs / g.macs_per_cycle))
        sram = g.m * g.k + g.m * g.n  # int8 activations read and written
        yield from self.core.run_tile(cyc, g.kernel, tag, macs=macs, sram_bytes=sram)
        return PieceStats(compute_cycles=cyc, macs=macs)

    def run_vector(self, low: Lowered, tag: str) -> Generator[Any, Any, PieceStats]:
        cyc = max(1, math.ceil(low.vector_flops / self.spec.vector_ops_per_cycle))
        yield from self.core.run_tile(cyc, "element-wise", tag, kind="vector",
                                      sram_bytes=math.ceil(low.vector_bytes))
        return PieceStats(compute_cycles=cyc)

    def notes(self, counts: Mapping[str, int]) -> list[str]:
        return [*self.plan_notes,
                "one core runs the ops one after another; batchnorm and clamp activations "
                "after a convolution are folded into it"]


@dataclass(frozen=True)
class CortexmResult(RunResult):
    """A run's result plus its SRAM plan (``sram``: peak, where, per-op live bytes)."""

    sram: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "sram": dict(self.sram)}

    def summary(self) -> str:
        s = self.sram
        return (f"{super().summary()}; peak SRAM {s['peak_bytes']:,} B "
                f"({s['peak_kib']:.1f} KiB) at {s['peak_op']} ({s['schedule']})")


def _as_int8(graph: Any) -> tuple[Any, list[str]]:
    fmts = sorted({f for op in graph.ops if op.fmt is not None
                   for f in (op.fmt.x, op.fmt.w) if f is not None and f != "int8"})
    if not fmts:
        return graph, []
    return graph.with_precision("int8"), [f"operands in {', '.join(fmts)} run as int8 "
                                          "(CMSIS-NN's s8 kernels)"]


def run(spec: CortexmSpec, workload: Any, *, costs: Any = None,
        trace: bool = False) -> CortexmResult:
    """Run a graph (or ops in order) on the core under ``spec.schedule``; refuses training
    graphs and networks that fit the SRAM under no schedule."""
    from workloads import Backward, WeightUpdate

    graph = graph_of(workload)
    for op in graph.ops:
        if isinstance(op, Backward | WeightUpdate):
            lower_op(op, device=spec.name)  # the engine's "runs inference only" error
    graph, fmt_notes = _as_int8(graph)
    plan, notes = plan_sram(graph, spec)
    weights = sum(op.params for op in graph.ops)
    notes += fmt_notes
    notes.append(f"weights {weights:,} B at int8 in flash ({spec.flash_bytes:,} B"
                 f"{'' if weights <= spec.flash_bytes else ': does not fit'}); not priced")
    df_nodes = {n.name: n for n in sched.dataflow(graph.ops, in_place=spec.in_place).nodes}
    res = run_ops(lambda env, sink: CortexmModel(env, sink, spec, df_nodes, plan, notes),
                  graph, costs=costs, keep_trace=trace)
    base = {f.name: getattr(res, f.name) for f in dataclasses.fields(RunResult)}
    return CortexmResult(**base, sram=plan.report(spec, graph.macs))


#: ``cortex-m7`` (STM32F746) and ``cortex-m7-h743`` from ``hwsim/data/cortexm_presets.yaml``.
presets = PRESETS.presets


KIND = DeviceKind(
    name="cortexm",
    summary="one Arm Cortex-M core running int8 CMSIS-NN kernels, inference only: peak SRAM "
            "of a layer-by-layer or MCUNetV2 patch-based schedule, MACs with the halo "
            "recomputation, latency at the clock; presets cortex-m7, cortex-m7-h743",
    spec_type=CortexmSpec, run=run, presets=presets, default_preset="cortex-m7")

__all__ = ["KIND", "CortexmModel", "CortexmResult", "SramPlan", "layer_plan", "patch_plan",
           "plan_sram", "presets", "run"]
