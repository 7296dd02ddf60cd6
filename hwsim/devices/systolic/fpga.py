"""FPGA flavour of the systolic array: a public board's resource budget decides the array.

The PE kind (``int8-dsp``: int8 MAC on a DSP slice; ``fp8-lut``: fp8 e4m3 MAC with fp32
accumulator in LUTs; ``lmul-lut``: the same with an L-Mul multiplier) has a LUT/DSP cost per
PE, which the cost provider gives (:meth:`costmodel.provider.CostProvider.fpga_resources`;
both providers read the measured Yosys table ``hwsim/data/fpga_pe_yosys.yaml``, Yosys runs of
our own RTL made by ``sim_results/fpga_minifloat_vs_int/synth_pes.py``). The array is the
largest ``2^a x 2^b`` (``b`` in ``{a, a+1}``) that fits :data:`LUT_BUDGET_FRACTION` of the
LUTs and all DSPs; the clock is an analytical estimate from logic depth (see
:func:`clock_estimate_mhz`), an assumption, not a measurement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from costmodel.provider import AnalyticalCostProvider, CostProvider, FpgaResources, Op
from hwsim.devices.systolic.spec import SystolicSpec
from hwsim.errors import HwsimError
from hwsim.sourced import load_table

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

#: PE kind -> its unit in the measured PE table
PE_KINDS: dict[str, str] = {
    "int8-dsp": "mac_int8",
    "fp8-lut": "mac_fp8_e4m3fn",
    "lmul-lut": "mac_lmul_fp8_e4m3fn",
}


@dataclass(frozen=True)
class Board:
    name: str
    device: str
    luts: int
    dsps: int
    bram_kb: int
    dram_gb_s: float


def get_board(name: str) -> Board:
    t = load_table("hwsim", "data/fpga_boards.yaml")
    key = str(name).lower()
    if key not in t.children():
        raise HwsimError(f"unknown FPGA board {name!r}; known: {', '.join(t.children())}")
    return Board(key, str(t.value(f"{key}.device")), int(t.value(f"{key}.luts")),
                 int(t.value(f"{key}.dsps")), int(t.value(f"{key}.bram_kb")),
                 float(t.value(f"{key}.dram_gb_s")))


def board_names() -> tuple[str, ...]:
    """Every board in the table, in its order."""
    return tuple(load_table("hwsim", "data/fpga_boards.yaml").children())


def pe_resources(pe_kind: str, costs: CostProvider | None = None) -> FpgaResources:
    """LUT/DSP/FF use of a PE kind (synth_xilinx -family xc7), asked of ``costs``."""
    if pe_kind not in PE_KINDS:
        raise HwsimError(f"unknown PE kind {pe_kind!r}; known: {', '.join(PE_KINDS)}")
    costs = costs if costs is not None else AnalyticalCostProvider()
    return costs.fpga_resources(Op("fpga_pe", unit=PE_KINDS[pe_kind]), "xilinx")


def clock_estimate_mhz(cost: FpgaResources) -> float:
    """Analytical clock: LUT levels per pipeline stage from the gate depth, a fixed delay
    per level, capped (every constant here is an assumption, named above)."""
    levels = max(1, math.ceil(cost.logic_depth_gates / GATES_PER_LUT_LEVEL
                              / PE_PIPELINE_STAGES))
    return min(CLOCK_CAP_MHZ, 1e3 / (levels * NS_PER_LUT_LEVEL))


def fpga_spec(board: str = "pynq-z2", pe_kind: str = "int8-dsp", *, dataflow: str = "ws",
              costs: CostProvider | None = None) -> SystolicSpec:
    """The systolic array a board affords with a PE kind (see module doc)."""
    b = get_board(board)
    c = pe_resources(pe_kind, costs)
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
