"""The standalone LUT array behind the device protocol: its kind, presets and per-piece model.

Each GEMM whose weights are a quantisable parameter runs on the LUT tiles, and only there:
weights must be integers of 1-4 bits and activations int8 or fp16 (one clean error naming
the constraint otherwise: 8-bit weights would be 8 bit-planes, outside what the tile is
built for). A GEMM with no weight operand of that kind (attention, the fp16 LM head) runs on
the MAC array beside; everything else on the vector unit. Each piece streams its operands
from DRAM alongside its compute (double-buffered: a piece takes the longer of the two).

LUT GEMM timing, exact for the tile: a ``M x K x N`` GEMM with ``b``-bit weights needs
``ceil(M/tile_m) x ceil(N/tile_n) x ceil(K/tile_k) x b`` tile-cycles (one bit-plane of one
K-group per tile per cycle), spread over the tiles. Its A operand is the table
(2^(K-1)/K times the activation bytes), built by the operator before it
(:mod:`hwsim.devices.lut.precompute`: counted there).
"""

from __future__ import annotations

import math
from collections.abc import Generator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import simpy

from hwsim.devices.base import DeviceKind
from hwsim.devices.lut.driver import run_with_luts
from hwsim.devices.lut.precompute import Precompute
from hwsim.devices.lut.spec import PRESETS, LutArraySpec
from hwsim.devices.lut.units import (
    TableSource,
    check_lut_operands,
    lut_vs_mac,
    shipped_table,
)
from hwsim.engine.driver import PieceStats
from hwsim.engine.lowering import Gemm, Lowered, check_cycles, format_bits, lower_op
from hwsim.engine.resources import ComputeUnit, MemoryLevel, MemorySpec
from hwsim.engine.result import RunResult
from hwsim.engine.trace import TraceSink


@dataclass(frozen=True)
class ArrayGemm(Gemm):
    """A lowered GEMM with where it runs: ``planes`` > 0 on the LUT tiles, 0 on the MACs."""

    planes: int = 0
    x_bytes: float = 1.0
    w_bytes: float = 1.0
    out_bytes: float = 1.0


def lut_gemm_cycles(spec: LutArraySpec, g: Gemm, planes: int) -> int:
    """Cycles of one instance of ``g`` on the LUT tiles (see the module docstring)."""
    tile_cycles = (math.ceil(g.m / spec.tile_m) * math.ceil(g.n / spec.tile_n)
                   * math.ceil(g.k / spec.tile_k) * planes)
    return math.ceil(tile_cycles / spec.tiles)


class LutArrayModel:
    """:class:`hwsim.engine.driver.DeviceModel` of a :class:`LutArraySpec`."""

    memory_levels: Mapping[str, str] = {"dram": "dram"}
    replayable = False
    concurrent_ops = False

    def __init__(self, env: simpy.Environment, sink: TraceSink, spec: LutArraySpec,
                 precompute: Mapping[str, Precompute], source: TableSource) -> None:
        self.env = env
        self.spec = spec
        self.description = spec.describe()
        self.clock_mhz = spec.clock_mhz
        self.peak_macs_per_cycle = spec.plane_products_per_cycle
        self.precompute = dict(precompute)
        self.source = source
        self.lut_ops: dict[str, Any] = {}
        self.lut = ComputeUnit(env, "lut", sink)
        self.mac = ComputeUnit(env, "mac", sink)
        self.vector = ComputeUnit(env, "vector", sink)
        self.dram = MemoryLevel(env, MemorySpec("dram", None, spec.dram_bytes_per_cycle()),
                                sink)

    def lower(self, op: Any) -> Lowered:
        low = lower_op(op, device=self.spec.name)
        fmt = op.fmt
        if low.gemms and fmt is not None:
            xb, ob = format_bits(fmt.x) / 8, format_bits(fmt.y) / 8
            if getattr(op, "w_kind", None) == "weight":
                n_planes = check_lut_operands(fmt.x, fmt.w, f"lut {self.spec.name}: {op.where}")
                cmp = lut_vs_mac(n_planes, fmt.x, self.source)
                self.lut_ops[op.name] = cmp
                tb = 2 ** (self.spec.tile_k - 1) / self.spec.tile_k * xb
                gemms = tuple(ArrayGemm(g.m, g.k, g.n, g.repeat, n_planes, tb,
                                        format_bits(fmt.w) / 8, ob) for g in low.gemms)
                where = f"LUT tiles, {n_planes} weight bit-planes"
            else:
                wb = format_bits(fmt.w) / 8 if fmt.w else xb
                gemms = tuple(ArrayGemm(g.m, g.k, g.n, g.repeat, 0, xb, wb, ob)
                              for g in low.gemms)
                where = "MAC array (no LUT path: no low-bit weight operand)"
            low = replace(low, gemms=gemms, detail=f"{low.detail} on the {where}")
        pre = self.precompute.get(op.name)
        if pre is not None:
            low = replace(low, vector_flops=low.vector_flops + pre.flops,
                          vector_bytes=low.vector_bytes + pre.nbytes,
                          detail=f"{low.detail} {pre.describe()}")
        return low

    def _piece(self, unit: ComputeUnit, cycles: int, nbytes: float, tag: str, what: str,
               macs: int = 0, sram_bytes: int = 0) -> Generator[Any, Any, PieceStats]:
        check_cycles(cycles, what)
        work = [self.env.process(unit.run_tile(cycles, what, tag, macs=macs,
                                               sram_bytes=sram_bytes))]
        if nbytes:
            work.append(self.env.process(self.dram.transfer(math.ceil(nbytes), what, tag)))
        t0 = int(self.env.now)
        yield simpy.AllOf(self.env, work)
        return PieceStats(compute_cycles=cycles,
                          stall_cycles=max(0, int(self.env.now) - t0 - cycles), macs=macs)

    def run_gemm(self, g: Gemm, low: Lowered, tag: str) -> Generator[Any, Any, PieceStats]:
        if not isinstance(g, ArrayGemm):
            raise AssertionError("internal error: the LUT array lowers every GEMM to ArrayGemm")
        one = Gemm(g.m, g.k, g.n)
        # A (activations, or the tables on the LUT tiles), weights and results, from/to DRAM
        traffic = g.m * g.k * g.x_bytes + g.k * g.n * g.w_bytes + g.m * g.n * g.out_bytes
        if g.planes:
            cycles = lut_gemm_cycles(self.spec, one, g.planes)
            tables = g.m * g.k * g.x_bytes * math.ceil(g.n / self.spec.tile_n)
            return self._piece(self.lut, cycles, traffic, tag, "LUT mpGEMM", one.macs,
                               math.ceil(tables + g.k * g.n * g.w_bytes))
        cycles = math.ceil(one.macs / self.spec.mac_macs_per_cycle)
        return self._piece(self.mac, cycles, traffic, tag, "MAC GEMM", one.macs)

    def run_vector(self, low: Lowered, tag: str) -> Generator[Any, Any, PieceStats]:
        cycles = math.ceil(low.vector_flops / self.spec.vector_flops_per_cycle)
        return self._piece(self.vector, cycles, low.vector_bytes, tag, "vector")

    def notes(self, counts: Mapping[str, int]) -> list[str]:
        notes = ["each piece streams its operands from DRAM beside its compute (the longer "
                 "of the two); the on-chip buffer is assumed to hold a piece's working set"]
        if self.precompute:
            notes.append(f"LUT table precompute fused into {len(self.precompute)} producer "
                         "ops (their cost is in those ops: see each op's detail)")
        if counts["masked_macs"]:
            notes.append(f"{counts['masked_macs']:,} of the {counts['macs']:,} MACs are causal "
                         "attention scores computed and discarded")
        return notes


def run(spec: LutArraySpec, workload: Any, *, costs: Any = None, trace: bool = False,
        source: TableSource = shipped_table) -> RunResult:
    """Run a graph (or ops in order) on the LUT array (``source``: the Yosys table)."""
    return run_with_luts(lambda env, sink, pre: LutArrayModel(env, sink, spec, pre, source),
                         workload, device=spec.name, luts=True, costs=costs, trace=trace,
                         source=source)


#: The presets of ``hwsim/data/lut_array_presets.yaml``.
presets = PRESETS.presets


KIND = DeviceKind(
    name="lut",
    summary="standalone LUT mpGEMM array (LUT Tensor Core tiles, bit-serial 1-4-bit weights x "
            "int8/fp16 activations, table precompute fused into the previous op) with a MAC "
            "array and vector unit beside; preset lut-array",
    spec_type=LutArraySpec, run=run, presets=presets, default_preset="lut-array")

__all__ = ["KIND", "ArrayGemm", "LutArrayModel", "lut_gemm_cycles", "presets", "run"]
