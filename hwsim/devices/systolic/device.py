"""The systolic array behind the device protocol: its kind, presets and per-piece model.

A layer (one GEMM instance, or one op's vector work) is simulated on its own SimPy
environment by :func:`hwsim.devices.systolic.array._simulate_gemm`: each layer starts with empty
buffers and ends drained, as SCALE-Sim simulates layers, and the steady-state jump inside a
large GEMM needs an environment to itself. The run's one environment (the shared driver,
:func:`hwsim.engine.driver.run_ops`) then places each layer after the previous one; layers
never overlap on this device (``concurrent_ops = False``), so its cycle counts stay
SCALE-Sim's.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import simpy

from hwsim.devices.base import DeviceKind
from hwsim.devices.systolic import fpga
from hwsim.devices.systolic.array import _simulate_gemm, _simulate_vector
from hwsim.devices.systolic.pe_kinds import (
    PeCosts,
    get_pe_kind,
    plain_mac,
    plain_mac_format,
)
from hwsim.devices.systolic.spec import SystolicSpec
from hwsim.engine.driver import Piece, run_ops
from hwsim.engine.lowering import Gemm, Lowered, format_bits, lower_op
from hwsim.engine.result import RunResult
from hwsim.engine.trace import TraceSink
from hwsim.numerics import resolve
from hwsim.numerics.mixpe import check_group


@dataclass(frozen=True)
class PackedLowered(Lowered):
    """A lowered op whose weights are narrower than its activations: the filter SRAM and the
    weights' DRAM traffic hold ``weight_bits``-bit words, packed."""

    weight_bits: int = 8


class SystolicModel:
    """:class:`hwsim.engine.driver.DeviceModel` of a :class:`SystolicSpec`."""

    memory_levels: Mapping[str, str] = {"dram": "dram"}
    replayable = True
    concurrent_ops = False

    def __init__(self, env: simpy.Environment, sink: TraceSink, spec: SystolicSpec) -> None:
        self.env = env
        self.spec = spec
        self.description = spec.describe()
        self.clock_mhz = spec.clock_mhz
        self.peak_macs_per_cycle = spec.rows * spec.cols
        # a piece's trace follows from the frozen spec and its shape key alone
        self.piece_identity = spec
        self.plain_macs = self.plain_ops = 0  # MACs/ops in the PE kind's plain MAC mode

    def lower(self, op: Any) -> Lowered:
        low = lower_op(op, device=self.spec.name)
        fmt = getattr(op, "fmt", None)
        if not low.gemms or fmt is None:
            return low
        kind = get_pe_kind(self.spec.pe)
        where = f"op {op.name!r}"
        if kind.rows is not None and plain_mac(op):
            self.plain_macs += sum(g.macs for g in low.gemms)
            self.plain_ops += 1
            return replace(low, detail=f"{low.detail} on the array's plain MAC mode (no "
                           f"weight operand for PE {kind.name}; priced as the "
                           f"{plain_mac_format(op)} MAC)")
        kind.check(fmt.x, fmt.w, where)
        if kind.dequant == "group":
            for g in low.gemms:
                check_group(g.k, self.spec.pe_group, f"{where} on PE kind {kind.name!r}")
        wbits = format_bits(fmt.w)
        if wbits >= low.word_bits:
            return low
        return PackedLowered(**{f.name: getattr(low, f.name) for f in fields(low)},
                             weight_bits=wbits)

    def _place(self, seg: Piece) -> Generator[Any, Any, Piece]:
        yield self.env.timeout(seg.total)
        return seg

    def run_gemm(self, g: Gemm, low: Lowered, tag: str) -> Generator[Any, Any, Piece]:
        return self._place(_simulate_gemm(g, self.spec, low.word_bits, low.out_bits,
                                          weight_bits=getattr(low, "weight_bits", None)))

    def run_vector(self, low: Lowered, tag: str) -> Generator[Any, Any, Piece]:
        return self._place(_simulate_vector(low, self.spec))

    def notes(self, counts: Mapping[str, int]) -> list[str]:
        spec = self.spec
        notes = []
        if counts["vector_ops"]:
            notes.append(f"{counts['vector_ops']} ops ran on the vector-unit fallback "
                         f"({spec.lanes} lanes)")
        if counts["masked_macs"]:
            notes.append(f"{counts['masked_macs']:,} of the {counts['macs']:,} MACs are "
                         "causal-attention work the mask discards: the array runs the full "
                         "QK^T and PV GEMMs")
        if spec.bandwidth_words is not None and spec.memory_model == "scalesim":
            notes.append("stalls from SCALE-Sim 3.0.0's USER-bandwidth buffer model "
                         "(memory_model='scalesim'), shown as one slice per layer")
        kind = get_pe_kind(spec.pe)
        if self.plain_ops:
            notes.append(f"PE {kind.name}: {self.plain_macs:,} MACs of {self.plain_ops} ops "
                         "without a quantised weight operand (attention's activations x "
                         "activations, an LM head kept in high precision) ran in the array's "
                         "plain MAC mode, priced as the MAC of their wider operand")
        weighted = counts["macs"] - self.plain_macs
        if kind.dequant != "none" and weighted:
            per = spec.pe_group if kind.dequant == "group" else 1
            notes.append(f"PE {kind.name}: {weighted // per:,} weight dequantisations "
                         f"(one per {'group of ' + str(per) + ' MACs' if per > 1 else 'MAC'}), "
                         "pipelined in the PE: no extra cycles")
        if spec.bandwidth_words is None:
            notes.append("DRAM in SCALE-Sim CALC mode: no stalls; only the first prefetch and "
                         "the last ofmap drain of each layer add to total_cycles")
        return notes


def run(spec: SystolicSpec, workload: Any, *, costs: Any = None,
        trace: bool = False) -> RunResult:
    """Run a graph (or ops in order) on the array; ``costs`` prices MACs and traffic
    (default: the analytical Horowitz 45 nm provider)."""
    if get_pe_kind(spec.pe).rows is not None:
        from costmodel.provider import get_provider

        costs = PeCosts(costs if costs is not None else get_provider("analytical"), spec)
    return run_ops(lambda env, sink: SystolicModel(env, sink, spec), workload, costs=costs,
                   keep_trace=trace)


def simulate_gemm(m: int, k: int, n: int, spec: SystolicSpec, *, fmt: str = "int8",
                  trace: bool = False, costs: Any = None) -> RunResult:
    """One ``M x K`` by ``K x N`` GEMM with every operand in ``fmt`` (accumulating in int32
    for integer formats, fp32 otherwise): the shape SCALE-Sim's GEMM topologies describe."""
    from workloads import Graph, MatMul, OpFormats

    f = resolve(fmt)
    acc = "int32" if f.kind == "int" else "fp32"
    op = MatMul(name="gemm", a_shape=(m, k), b_shape=(k, n),
                fmt=OpFormats(x=f.name, w=f.name, y=f.name, acc=acc))
    return run(spec, Graph(f"gemm {m}x{k}x{n}", (op,)), costs=costs, trace=trace)


def presets() -> dict[str, Any]:
    """``systolic`` (SCALE-Sim's example configuration) and ``fpga:<board>:<pe>`` for every
    board and PE kind: the array a board's LUT/DSP budget affords."""
    out: dict[str, Any] = {"systolic": SystolicSpec}
    for board in fpga.board_names():
        for pe in fpga.PE_KINDS:
            out[f"fpga:{board}:{pe}"] = (lambda b=board, p=pe: fpga.fpga_spec(b, p))
    return out


KIND = DeviceKind(
    name="systolic",
    summary="systolic array, any rows x cols, OS/WS/IS dataflow, double-buffered SRAMs over "
            "DRAM (SCALE-Sim v3 cycle-exact); fpga:<board>:<pe> presets size it from a "
            "board's LUT/DSP budget and the PE's synthesised cost",
    spec_type=SystolicSpec, run=run, presets=presets, default_preset="systolic")

__all__ = ["KIND", "SystolicModel", "presets", "run", "simulate_gemm"]
