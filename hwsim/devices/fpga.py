"""FPGA flavour of the systolic array: a public board's resource budget decides the array.

The PE kind (``int8-dsp``: int8 MAC on a DSP slice; ``fp8-lut``: fp8 e4m3 MAC with fp32
accumulator in LUTs; ``lmul-lut``: the same with an L-Mul multiplier) has a LUT/DSP cost per
PE. Until the learned cost model exists, :func:`yosys_pe_costs` reads those numbers from
``hwsim/data/fpga_pe_yosys.json`` (Yosys runs of our own RTL, made by
``sim_results/fpga_minifloat_vs_int/synth_pes.py``); :class:`PeCostProvider` is the seam a
cost model plugs into. The array is the largest ``2^a x 2^b`` (``b`` in ``{a, a+1}``) that
fits :data:`LUT_BUDGET_FRACTION` of the LUTs and all DSPs; the clock is an analytical
estimate from logic depth (see :func:`clock_estimate_mhz`), an assumption, not a measurement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from hwsim.devices.data import load_data, sourced
from hwsim.devices.systolic import SystolicSpec
from hwsim.errors import HwsimError

#: share of the board's LUTs given to PEs (the rest: DMA, control, buffers' glue); assumption
LUT_BUDGET_FRACTION = 0.7
#: assumed delay of one LUT level plus routing on 7-series fabric (ns); an assumption
NS_PER_LUT_LEVEL = 0.6
#: 2-input gates one LUT6 level absorbs on average; an assumption
GATES_PER_LUT_LEVEL = 3
#: pipeline stages a PE is split into (the synthesized units are combinational); assumption
PE_PIPELINE_STAGES = 3
#: clock cap: DSP48E1/BRAM paths and timing closure of a full design; an assumption
CLOCK_CAP_MHZ = 250.0

PE_KINDS: dict[str, str] = {
    "int8-dsp": "mac_int8",
    "fp8-lut": "mac_fp8_e4m3fn",
    "lmul-lut": "mac_lmul_fp8_e4m3fn",
}


@dataclass(frozen=True)
class PeCost:
    luts: int
    dsps: int
    ffs: int
    logic_depth_gates: int


class PeCostProvider(Protocol):
    def __call__(self, pe_kind: str) -> PeCost: ...


@dataclass(frozen=True)
class Board:
    name: str
    device: str
    luts: int
    dsps: int
    bram_kb: int
    dram_gb_s: float


def get_board(name: str) -> Board:
    boards = load_data("fpga_boards.json")["boards"]
    key = str(name).lower()
    if key not in boards:
        raise HwsimError(f"unknown FPGA board {name!r}; known: {', '.join(boards)}")
    b = boards[key]
    return Board(key, str(sourced(b["device"], key)), int(sourced(b["luts"], key)),
                 int(sourced(b["dsps"], key)), int(sourced(b["bram_kb"], key)),
                 float(sourced(b["dram_gb_s"], key)))


def yosys_pe_costs(pe_kind: str) -> PeCost:
    """Measured Yosys costs (synth_xilinx -family xc7) of a PE kind."""
    if pe_kind not in PE_KINDS:
        raise HwsimError(f"unknown PE kind {pe_kind!r}; known: {', '.join(PE_KINDS)}")
    units = load_data("fpga_pe_yosys.json")["units"]
    u = units.get(PE_KINDS[pe_kind])
    if u is None or "fpga" not in u:
        raise HwsimError(f"no synthesis data for PE kind {pe_kind!r} in fpga_pe_yosys.json")
    x = u["fpga"]["xilinx"]
    return PeCost(x["luts"] + x["carry"], x["dsp"], x["ff"], int(u["logic_depth_gates"]))


def clock_estimate_mhz(cost: PeCost) -> float:
    """Analytical clock: LUT levels per pipeline stage from the gate depth, a fixed delay
    per level, capped (every constant here is an assumption, named above)."""
    levels = max(1, math.ceil(cost.logic_depth_gates / GATES_PER_LUT_LEVEL
                              / PE_PIPELINE_STAGES))
    return min(CLOCK_CAP_MHZ, 1e3 / (levels * NS_PER_LUT_LEVEL))


def fpga_spec(board: str = "pynq-z2", pe_kind: str = "int8-dsp", *, dataflow: str = "ws",
              costs: PeCostProvider = yosys_pe_costs) -> SystolicSpec:
    """The systolic array a board affords with a PE kind (see module doc)."""
    b = get_board(board)
    c = costs(pe_kind)
    max_pe = int(b.luts * LUT_BUDGET_FRACTION) // max(c.luts, 1)
    if c.dsps:
        max_pe = min(max_pe, b.dsps // c.dsps)
    if max_pe < 1:
        raise HwsimError(f"board {board!r} cannot fit one {pe_kind} PE")
    a = int(math.log2(max_pe)) // 2
    rows, cols = 2 ** a, 2 ** a
    if rows * cols * 2 <= max_pe:
        cols *= 2
    clock = clock_estimate_mhz(c)
    # BRAM split evenly over the three SRAMs; DRAM bytes/cycle at this clock, 1-byte words
    kb = b.bram_kb // 3
    bw = b.dram_gb_s * 1e9 / (clock * 1e6)
    return SystolicSpec(rows=rows, cols=cols, dataflow=dataflow, sram_kb=(kb, kb, kb),
                        bandwidth_words=round(bw, 3), clock_mhz=round(clock, 1),
                        name=f"fpga:{board}", pe=pe_kind)
