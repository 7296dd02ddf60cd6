"""MixPE (arXiv 2411.16158): the shift-and-add, dequantise-per-group PE beside the per-element
dequantise MAC it replaces, as units and as systolic-array PE kinds on LLaMA-2-7B GEMMs.

    python sim_results/mixpe/run.py

Writes units.csv, arrays.csv, summary.csv, results.json and mixpe.png here; findings in
README.md.

- ``units``: the Yosys rows of ``mixpe`` (dequantiser in the PE, or shared outside it) and
  ``dequant-mac`` in the cost dataset (costmodel/data/designs.csv, filled by ``hwsim cost
  dataset``), int8 and fp16 activations, beside the int8 MAC (32-bit accumulator):
  transistors, logic depth, energy per cycle (= per MAC) of the switching-activity proxy.
- ``arrays``: the linear layers of one LLaMA-2-7B decoder layer (q, k, v, o: 4096 x 4096;
  gate, up: 4096 x 11008; down: 11008 x 4096) at W4A8 and W4A16, decode (M = 1) and prefill
  (M = 2048), on a 32x32 output-stationary array with 16 DRAM words/cycle, for each PE kind
  (``mac``: an int8/fp16 MAC reading packed int4 weights; ``mixpe``; ``dequant-mac``: each
  priced by its row for the activation format), and at iso-area: the ``mixpe`` array with as
  many PEs as fit the PE area of the 32x32 ``dequant-mac`` array of the same activation
  format (32 columns, rows rounded down; the dequantiser shared by each row).
"""

from __future__ import annotations

import argparse
import itertools
import math
from pathlib import Path

import pandas as pd

from costmodel.data import shipped_path
from hwsim.devices.systolic import SystolicSpec
from hwsim.devices.systolic.device import run as run_array
from hwsim.devices.systolic.pe_kinds import unit_module
from hwsim.io import save_figure, write_tables
from workloads import Graph, MatMul, OpFormats

HERE = Path(__file__).resolve().parent
#: MixPE's abstract (arXiv 2411.16158): speedup and energy reduction over "state-of-the-art
#: quantization accelerators". Tolerance fixed before measuring: agree if ours is within
#: +-25% of the figure (speedup 1.95..3.25, energy 1.05..1.75).
CLAIM_SPEEDUP, CLAIM_ENERGY, TOLERANCE = 2.6, 1.4, 0.25
HIDDEN, FFN = 4096, 11008  # LLaMA-2-7B (meta-llama/Llama-2-7b-hf config.json)
LINEARS = (("q", HIDDEN, HIDDEN), ("k", HIDDEN, HIDDEN), ("v", HIDDEN, HIDDEN),
           ("o", HIDDEN, HIDDEN), ("gate", HIDDEN, FFN), ("up", HIDDEN, FFN),
           ("down", FFN, HIDDEN))
PHASES = {"decode": 1, "prefill": 2048}
BANDWIDTH_WORDS = 16.0  # DRAM words/cycle: an assumption (SCALE-Sim's example uses 10)
#: DRAM settings: the bandwidth limit above, and SCALE-Sim's CALC mode (no stalls: compute)
DRAM = {"16 words/cycle": BANDWIDTH_WORDS, "no limit (CALC)": None}
GROUP = 128
PE_KINDS = ("mac", "mixpe", "dequant-mac")
ACTS = ("int8", "fp16")


def layer(m: int, act: str) -> Graph:
    acc = "int32" if act == "int8" else "fp32"
    ops = tuple(MatMul(name=n, a_shape=(m, k), b_shape=(k, nout),
                       fmt=OpFormats(x=act, w="int4", y=act, acc=acc))
                for n, k, nout in LINEARS)
    return Graph(f"llama2-7b layer M={m} W4A{8 if act == 'int8' else 16}", ops)


def wa(act: str) -> str:
    return f"W4A{8 if act == 'int8' else 16}"


def rows_of(act: str) -> dict[str, str]:
    """The module names of the W4 group-GROUP designs for activation format ``act``."""
    return {"pe": unit_module("mixpe", act, "int4", block=GROUP, direction="pe"),
            "shared": unit_module("mixpe", act, "int4", block=GROUP, direction="shared"),
            "dequant": unit_module("dequant-mac", act, "int4")}


def unit_rows() -> pd.DataFrame:
    df = pd.read_csv(shipped_path("designs.csv"))
    keep = df.unit.isin(("mixpe", "dequant-mac")) | (df.module == "int_mac_int8_acc32_p0")
    cols = ["unit", "module", "format", "mul", "block", "direction", "transistors",
            "logic_depth", "energy_pj"]
    out = df.loc[keep, cols].rename(columns={"format": "activations", "mul": "weights",
                                             "block": "group", "direction": "dequantiser"})
    out = out.astype(object).where(out.notna(), "")  # int-mac has no weights/group/place
    return out.sort_values(["activations", "unit", "module"]).reset_index(drop=True)


def iso_area_rows(units: pd.DataFrame, act: str) -> tuple[int, float]:
    """The mixpe array (shared dequantiser per row) fitting the PE area of a 32x32
    dequant-mac array, activations ``act``; the dequantiser's area is the pe variant's less
    the shared one's."""
    t, m = units.set_index("module").transistors, rows_of(act)
    budget = 32 * 32 * t[m["dequant"]]
    deq = t[m["pe"]] - t[m["shared"]]
    return math.floor(budget / (32 * t[m["shared"]] + deq)), budget


def array_rows(iso_rows: dict[str, int]) -> list[dict]:
    rows = []
    for (act, (phase, m)), (dram, bw) in itertools.product(
            itertools.product(ACTS, PHASES.items()), DRAM.items()):
        g = layer(m, act)
        specs = [(pe, SystolicSpec(bandwidth_words=bw, pe=pe, pe_group=GROUP))
                 for pe in PE_KINDS]
        specs.append(("mixpe iso-area", SystolicSpec(rows=iso_rows[act], cols=32,
                                                     bandwidth_words=bw, pe="mixpe",
                                                     pe_group=GROUP)))
        for label, spec in specs:
            r = run_array(spec, g)
            rows.append({
                "weights_acts": wa(act), "phase": phase, "dram": dram,
                "pe": label, "array": f"{spec.rows}x{spec.cols}", "macs": r.macs,
                "cycles": r.total_cycles, "stall_cycles": r.stall_cycles,
                "utilisation": round(r.utilisation, 4),
                "energy_uj": r.energy_total_pj / 1e6,
                "mac_energy_uj": r.energy_pj.get("mac", 0.0) / 1e6,
                "dram_mb": r.bytes_moved.get("dram", 0) / 1e6,
                "mac_pj": r.energy_pj.get("mac", 0.0) / r.macs,
                "dequantisations": r.macs // GROUP if label.startswith("mixpe") else
                (r.macs if label == "dequant-mac" else 0),
                "pricing": r.energy_source,
            })
    return rows


def summarise(units: pd.DataFrame, arrays: list[dict], budgets: dict[str, float]) -> dict:
    """Per activation format (suffix ``_w4a8``/``_w4a16``): the units' transistors and pJ per
    MAC, and the array's speedup and energy ratio of ``mixpe`` over ``dequant-mac``; the
    claims' verdicts on each format's best prefill figure."""
    t = units.set_index("module")
    df = pd.DataFrame(arrays)
    lo, hi = 1 - TOLERANCE, 1 + TOLERANCE
    out: dict = {"transistors_int8_mac": int(t.loc["int_mac_int8_acc32_p0", "transistors"]),
                 "pj_int8_mac": float(t.loc["int_mac_int8_acc32_p0", "energy_pj"]),
                 "claim_speedup": CLAIM_SPEEDUP, "claim_energy": CLAIM_ENERGY}
    for act in ACTS:
        w, m, sfx = wa(act), rows_of(act), f"_{wa(act).lower()}"

        def get(phase, pe, col, dram="16 words/cycle", w=w):
            return float(df[(df.weights_acts == w) & (df.phase == phase) & (df.pe == pe)
                            & (df.dram == dram)][col].iloc[0])

        out |= {f"transistors_mixpe_pe{sfx}": int(t.loc[m["pe"], "transistors"]),
                f"transistors_mixpe_shared{sfx}": int(t.loc[m["shared"], "transistors"]),
                f"transistors_dequant_mac{sfx}": int(t.loc[m["dequant"], "transistors"]),
                f"pj_mixpe{sfx}": float(t.loc[m["pe"], "energy_pj"]),
                f"pj_mixpe_shared{sfx}": float(t.loc[m["shared"], "energy_pj"]),
                f"pj_dequant_mac{sfx}": float(t.loc[m["dequant"], "energy_pj"]),
                f"iso_area_budget_transistors{sfx}": budgets[act]}
        calc = "no limit (CALC)"
        for phase in PHASES:
            base_c = get(phase, "dequant-mac", "cycles")
            out[f"speedup_same_array_{phase}{sfx}"] = base_c / get(phase, "mixpe", "cycles")
            out[f"speedup_iso_area_{phase}{sfx}"] = base_c / get(phase, "mixpe iso-area",
                                                                 "cycles")
            out[f"speedup_iso_area_{phase}_calc{sfx}"] = (
                get(phase, "dequant-mac", "cycles", calc)
                / get(phase, "mixpe iso-area", "cycles", calc))
            out[f"energy_ratio_{phase}{sfx}"] = (get(phase, "dequant-mac", "energy_uj")
                                                 / get(phase, "mixpe", "energy_uj"))
            out[f"mac_energy_ratio_{phase}{sfx}"] = (
                get(phase, "dequant-mac", "mac_energy_uj") / get(phase, "mixpe",
                                                                 "mac_energy_uj"))
        best_s = max(out[f"speedup_iso_area_prefill{sfx}"],
                     out[f"speedup_iso_area_prefill_calc{sfx}"])
        best_e = out[f"energy_ratio_prefill{sfx}"]
        out[f"speedup_agrees{sfx}"] = bool(lo * CLAIM_SPEEDUP <= best_s <= hi * CLAIM_SPEEDUP)
        out[f"energy_agrees{sfx}"] = bool(lo * CLAIM_ENERGY <= best_e <= hi * CLAIM_ENERGY)
    return out


def plot(units: pd.DataFrame, arrays: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(17, 4))
    u = units[units.weights.isin(["int4", ""])]
    labels = [f"{m.replace('_acc32_p0', '').replace('_fp32_p0', '').replace('_p0', '')}"
              for m in u.module]
    axes[0].barh(labels, u.transistors)
    axes[0].set_xlabel("transistors (Yosys, generic CMOS)")
    axes[1].barh(labels, u.energy_pj)
    axes[1].set_xlabel("energy per MAC (pJ, activity proxy)")
    df = pd.DataFrame(arrays)
    for ax, w in zip(axes[2:], ("W4A8", "W4A16"), strict=True):
        part = df[(df.weights_acts == w) & (df.dram == "16 words/cycle")]
        for pe, rows in part.groupby("pe", sort=False):
            ax.scatter(rows.cycles, rows.energy_uj, label=pe)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"cycles (one LLaMA-2-7B layer, {w})")
        ax.set_ylabel("energy (uJ)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args(argv)
    units = unit_rows()
    iso = {act: iso_area_rows(units, act) for act in ACTS}
    arrays = array_rows({act: rows for act, (rows, _) in iso.items()})
    summary = summarise(units, arrays, {act: budget for act, (_, budget) in iso.items()})
    text = write_tables(args.out, {"units": units.to_dict("records"), "arrays": arrays,
                                   "summary": [summary]})
    plot(units, arrays, args.out / "mixpe.png")
    print(text)


if __name__ == "__main__":
    main()
