"""The synthesis dataset: sweep the RTL generators and record cost figures per design.

Per design (one :class:`costmodel.space.DesignPoint`) the sweep records Yosys generic-CMOS
cell counts by type and the transistor estimate, ice40 LUT/carry/DSP/FF counts, logic depth,
PyRTL's area and delay estimates, netlist features and the switching-activity energy proxy of
:mod:`costmodel.activity`. The Yosys figures are one synthesis run, or for a design whose runs
move with the order of its Verilog's statements (:func:`label_orders`) the run of median area
over five orders. Each design's record is one JSON file ``<out>/designs/<key>.json``
written atomically, so an interrupted sweep loses at most the designs in flight and a rerun
skips what is done. :func:`collect` gathers the records into the table (``designs.csv``) whose
columns :data:`SCHEMA` documents.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from costmodel.data import shipped_path
from costmodel.features import FEATURES_VERSION, compute_design_features
from costmodel.space import DesignPoint, design_space
from hwsim.errors import HwsimError
from hwsim.io import atomic_write_json, atomic_write_text, check_output_dir, make_dirs

RECORD_VERSION = 1  # bump when a record's fields change: older records are recomputed
FAMILY_FPGA = "ice40"
# Yosys' CMOS estimate counts no transistors for flip-flops; a static master-slave D flip-flop
# with synchronous reset mux is ~24 transistors (two latches of 8-10 plus clock inverters)
DFF_TRANSISTORS = 24

#: column -> description; the parameters, then features (costmodel.features), then targets
SCHEMA: dict[str, str] = {
    "key": "hash of the unit and its parameters (cache file name)",
    "unit": "generator / unit family (costmodel.space.FAMILIES)",
    "format": "operand format name (element, integer or block format)",
    "pipeline": "pipeline register stages",
    "saturate": "overflow saturates to the largest finite value",
    "acc": "accumulator: fp32/fp16/bf16 (mac) or width in bits (int-mac); empty otherwise",
    "mul": "mac multiplier: exact or lmul; empty otherwise",
    "block": "block-dot elements per block; 0 otherwise",
    "direction": "convert: 'to' (fp32 -> format) or 'from'; empty otherwise",
    "module": "Verilog module name",
    "latency_cycles": "cycles from input to output",
    "cmos_cells_total": "Yosys abc -g cmos2 cell count",
    "cell_<TYPE>": "Yosys generic CMOS cells of each type (NAND, NOR, NOT, ..., DFF_*)",
    "transistors": "Yosys transistor estimate for the CMOS netlist (flip-flops excluded)",
    "dff_bits": "flip-flops in the CMOS netlist",
    "area_transistors": "transistors + 24 per flip-flop: the area target",
    "logic_depth": "gates on the longest path (Yosys ltp -noff)",
    "fpga_luts": "ice40 LUT4 count (the FPGA target)",
    "fpga_carry": "ice40 SB_CARRY count",
    "fpga_dsp": "ice40 DSP (SB_MAC16) count",
    "fpga_ff": "ice40 flip-flop count",
    "pyrtl_area_mm2": "PyRTL logic-area estimate at 130 nm (mm^2)",
    "pyrtl_delay_ps": "PyRTL critical-path estimate (ps): the delay target",
    "pyrtl_fmax_mhz": "1e6 / pyrtl_delay_ps",
    "energy_ge_normal": "weighted toggles per operation (GE), normal operand stream",
    "energy_ge_llm": "weighted toggles per operation (GE), LLM-activation-like stream",
    "toggles_normal": "raw bit toggles per cycle over all nets, normal stream",
    "toggles_llm": "raw bit toggles per cycle over all nets, LLM stream",
    "energy_ge": "mean of the two streams (GE per operation)",
    "energy_pj": "energy_ge calibrated to pJ at 45 nm (proxy; see costmodel.activity)",
    "synth_s": "seconds the design took to synthesise and simulate",
}
#: columns added after the first tables were collected: a table without one reads its default
OPTIONAL_COLUMNS: dict[str, tuple[str, int]] = {
    "yosys_orders": ("statement orders synthesised (costmodel.dataset.label_orders); the Yosys "
                     "columns are the run of median area among them", 1),
}
# the feature columns (costmodel.features.FEATURES) follow the parameters in the CSV
#: parameter columns added with the LUT families: a table collected before them lacks them
#: (read as 0, the value every other family has), so they are not required
LUT_COLUMNS: dict[str, str] = {
    "k": "LUT units: activations per table (group size K); 0 otherwise",
    "m": "lut-mpgemm: tile rows (tables per cycle); 0 otherwise",
    "n": "lut-mpgemm: tile columns (weight columns per table); 0 otherwise",
    "weight_bits": "lut-mpgemm: weight bits (bit-serial planes); 0 otherwise",
}


@dataclass(frozen=True)
class SweepResult:
    out: Path
    csv: Path
    done: int
    failed: int
    total: int


def record_path(out: Path, p: DesignPoint) -> Path:
    return out / "designs" / f"{p.key}.json"


#: statement orders an order-sensitive design is synthesised in (see :func:`label_orders`)
LABEL_ORDERS = 5
#: the (family, pipelined) strata whose Yosys figures move with the order of the Verilog's
#: continuous assignments by more than the cost model's area tolerance (5%): measured by
#: ``sim_results/costmodel/label_noise.py`` (combinational converters: 8.9% on average, single
#: runs up to 25% from the median; every other stratum under 2%)
ORDER_SENSITIVE = frozenset({("convert", False)})


def label_orders(p: DesignPoint) -> int:
    """Statement orders the dataset synthesises ``p`` in (``rtl.synth.synthesize``'s
    ``order_seed`` 0, 1, ...): :data:`LABEL_ORDERS` for a design of an :data:`ORDER_SENSITIVE`
    stratum, else 1 (the generated order)."""
    return LABEL_ORDERS if (p.unit, p.pipeline > 0) in ORDER_SENSITIVE else 1


def median_run(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Of the :func:`synthesised_costs` of one design's runs (order 0 first), the run of median
    area (an odd count; equal areas keep the earlier order): the Yosys figures the dataset
    records, all from one real run."""
    ranked = sorted(range(len(runs)), key=lambda i: (runs[i]["area_transistors"], i))
    return runs[ranked[len(runs) // 2]]


def evaluate_design(p: DesignPoint, build_dir: str | Path) -> dict[str, Any]:
    """Synthesise and simulate one design; return its record (parameters, features, costs).

    The Yosys figures are those of the run of median area over :func:`label_orders` statement
    orders (one, the generated order, but for an order-sensitive design)."""
    from costmodel.activity import design_energy_ge, pj_per_ge
    from rtl.synth import synthesize
    from rtl.unit import build_unit

    t0 = time.perf_counter()
    unit = build_unit(p.unit, **p.params())
    orders = label_orders(p)
    reps = [synthesize(unit, families=(FAMILY_FPGA,), build_dir=build_dir, order_seed=k)
            for k in range(orders)]
    rep = reps[0]  # PyRTL's figures and the latency read the circuit, not the Verilog's order
    rec: dict[str, Any] = {"record_version": RECORD_VERSION, **p.to_dict(), "key": p.key}
    rec["module"] = unit.name
    rec.update(_features(p))
    rec.update({
        "latency_cycles": rep.latency_cycles,
        **median_run([synthesised_costs(r) for r in reps]),
        "yosys_orders": orders,
        "pyrtl_area_mm2": rep.pyrtl_area_mm2,
        "pyrtl_delay_ps": rep.pyrtl_delay_ps,
        "pyrtl_fmax_mhz": rep.pyrtl_fmax_mhz,
    })
    energy = design_energy_ge(p, unit)
    rec.update(energy)
    rec["energy_pj"] = energy["energy_ge"] * pj_per_ge()
    rec["synth_s"] = round(time.perf_counter() - t0, 3)
    return rec


#: the Yosys columns of a row besides its ``cell_<TYPE>`` counts (:func:`synthesised_costs`)
YOSYS_COLUMNS = ("cmos_cells_total", "transistors", "dff_bits", "area_transistors",
                 "logic_depth", "fpga_luts", "fpga_carry", "fpga_dsp", "fpga_ff")


def synthesised_costs(rep: Any) -> dict[str, int]:
    """The dataset's Yosys columns of a :class:`rtl.synth.SynthReport` (synthesised with
    :data:`FAMILY_FPGA`): CMOS cells, transistors, flip-flops, area, depth, FPGA resources."""
    fpga = rep.fpga[FAMILY_FPGA]
    dff = sum(n for c, n in rep.cmos_cells.items() if "DFF" in c.upper())
    return {"cmos_cells_total": rep.cmos_cells_total,
            **{f"cell_{c}": n for c, n in sorted(rep.cmos_cells.items())},
            "transistors": rep.transistors, "dff_bits": dff,
            "area_transistors": rep.transistors + DFF_TRANSISTORS * dff,
            "logic_depth": rep.logic_depth,
            "fpga_luts": fpga.luts, "fpga_carry": fpga.carry, "fpga_dsp": fpga.dsp,
            "fpga_ff": fpga.ff}


def _features(p: DesignPoint) -> dict[str, Any]:
    return {"features_version": FEATURES_VERSION, **compute_design_features(p)}


def _load_record(path: Path) -> dict[str, Any] | None:
    try:
        rec = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return rec if rec.get("record_version") == RECORD_VERSION else None


def _is_current(rec: dict[str, Any] | None) -> bool:
    return rec is not None and rec.get("features_version") == FEATURES_VERSION


def _worker(p: DesignPoint, out: str, build_dir: str) -> tuple[str, bool, str]:
    path = record_path(Path(out), p)
    rec = _load_record(path)
    if rec is not None and rec.get("yosys_orders", 1) < label_orders(p):
        rec = None  # synthesised in fewer statement orders than its design needs: again
    if _is_current(rec):
        return p.key, True, "cached"
    if rec is not None:  # synthesised under an older feature set: refresh the features only
        atomic_write_json(path, {**rec, **_features(p)})
        return p.key, True, "features refreshed"
    try:
        rec = evaluate_design(p, build_dir)
    except Exception as exc:  # noqa: BLE001  (one failing design must not stop the sweep)
        atomic_write_json(path.with_suffix(".err"), {
            **p.to_dict(), "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc()})
        return p.key, False, f"{type(exc).__name__}: {exc}"
    atomic_write_json(path, rec)
    return p.key, True, f"{rec['synth_s']:.1f}s"


def check_sweep_folder(out: str | Path, *, force: bool = False) -> Path:
    """``out`` if a sweep may write there: a new or empty folder, or one holding a dataset
    this tool wrote (``designs.csv`` empty or with the :data:`SCHEMA` columns), which the
    sweep resumes. Any other ``designs.csv`` is refused unless ``force`` (it would be
    replaced)."""
    out = check_output_dir(out, what="sweep folder")
    csv = out / "designs.csv"
    if force or not csv.is_file():
        return out
    try:
        with csv.open(encoding="utf-8", errors="replace") as fh:
            header = fh.readline().strip()
    except OSError as exc:
        raise HwsimError(f"cannot read {str(csv)!r}: {exc.strerror}") from None
    required = [c for c in SCHEMA if "<" not in c]
    if header and not set(required) <= set(header.split(",")):
        raise HwsimError(f"{str(csv)!r} is not a dataset 'hwsim cost dataset' wrote (its "
                         "columns differ) and the sweep would replace it; choose another "
                         "folder or pass --force")
    return out


def run_sweep(out: str | Path, *, jobs: int = 1, points: Sequence[DesignPoint] | None = None,
              limit: int | None = None, build_dir: str | Path | None = None,
              progress: bool = True, force: bool = False) -> SweepResult:
    """Evaluate every design of ``points`` (default: the whole space) not already cached.

    ``out`` is checked by :func:`check_sweep_folder` first."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise HwsimError(f"jobs must be an integer >= 1, got {jobs!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                              or limit < 0):
        raise HwsimError(f"limit must be an integer >= 0, got {limit!r}")
    out = check_sweep_folder(out, force=force)
    make_dirs(out / "designs")
    pts = list(points) if points is not None else design_space()
    if limit is not None:
        pts = pts[:limit]
    bdir = str(build_dir) if build_dir is not None else str(out / "rtl")
    todo = [p for p in pts if not _is_current(_load_record(record_path(out, p)))]
    failed = 0
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    cols = (TextColumn("[bold]designs"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.description}"))
    with Progress(*cols, disable=not progress) as bar:
        task = bar.add_task("", total=len(pts), completed=len(pts) - len(todo))
        if jobs == 1:
            results: Iterable[tuple[str, bool, str]] = (
                _worker(p, str(out), bdir) for p in todo)
            for key, ok, msg in results:
                failed += not ok
                bar.update(task, advance=1, description=f"{key} {msg}")
        else:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                futs = [pool.submit(_worker, p, str(out), bdir) for p in todo]
                for fut in as_completed(futs):
                    key, ok, msg = fut.result()
                    failed += not ok
                    bar.update(task, advance=1, description=f"{key} {msg}")
    csv = collect(out)
    done = sum(_load_record(record_path(out, p)) is not None for p in pts)
    return SweepResult(out=out, csv=csv, done=done, failed=failed, total=len(pts))


def collect(out: str | Path) -> Path:
    """Gather every finished record under ``out/designs`` into ``out/designs.csv``."""
    out = Path(out)
    recs = [r for f in sorted((out / "designs").glob("*.json"))
            if (r := _load_record(f)) is not None]
    path = out / "designs.csv"
    if not recs:
        atomic_write_text(path, "")
        return path
    atomic_write_text(path, records_frame(recs).to_csv(index=False))
    return path


def records_frame(recs: Sequence[dict[str, Any]]):
    """The dataset table (the rows of ``designs.csv``) of design records as
    :func:`evaluate_design` returns them; ``hwsim.sweep`` builds the same table from a unit
    sweep's store (``sweeps/costmodel_dataset.yaml``)."""
    import pandas as pd

    df = pd.DataFrame.from_records(list(recs))
    cells = sorted(c for c in df.columns if c.startswith("cell_"))
    df[cells] = df[cells].fillna(0).astype(int)
    for c in ("acc", "mul", "direction"):
        df[c] = df[c].fillna("").astype(str)
    df = _with_optional_columns(df)
    df = df.drop(columns=["record_version", "features_version"], errors="ignore")
    return df.sort_values(["unit", "format", "key"])


def shipped_dataset_path() -> Path:
    return shipped_path("designs.csv")


def order_runs_path() -> Path:
    """Every run of the shipped dataset's designs synthesised in several statement orders."""
    return shipped_path("order_runs.csv")


def load_dataset(path: str | Path | None = None):
    """The dataset as a DataFrame (default: the one shipped in ``costmodel/data``)."""
    import pandas as pd

    p = Path(path) if path is not None else shipped_dataset_path()
    if p.is_dir():
        p = p / "designs.csv"
    if not p.is_file():
        raise HwsimError(f"no dataset at {p}; run 'hwsim cost dataset' first")
    try:
        df = pd.read_csv(p, keep_default_na=False, na_values=[""],
                         dtype={"acc": str, "mul": str, "direction": str})
    except (ValueError, OSError) as exc:
        raise HwsimError(f"cannot read dataset {p}: {exc}") from exc
    required = [c for c in SCHEMA if "<" not in c]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise HwsimError(f"dataset {p} lacks columns: {', '.join(missing)}")
    for c in ("acc", "mul", "direction"):
        df[c] = df[c].fillna("").astype(str)
    df = _with_optional_columns(df)
    _check_values(df, p)
    return df


def _with_optional_columns(df):
    """``df`` with the :data:`LUT_COLUMNS` (0 where absent or empty) and the
    :data:`OPTIONAL_COLUMNS` (their default) as integers."""
    import pandas as pd

    defaults = {**dict.fromkeys(LUT_COLUMNS, 0),
                **{c: d for c, (_, d) in OPTIONAL_COLUMNS.items()}}
    fill = {c: (pd.to_numeric(df[c], errors="coerce").fillna(d).astype(int)
                if c in df.columns else d) for c, d in defaults.items()}
    return df.assign(**fill)


#: Required columns that hold names, not measurements.
_TEXT_COLUMNS = ("key", "unit", "format", "acc", "mul", "direction", "module", "saturate")


def _check_values(df, p: Path) -> None:
    """Refuse rows a model cannot learn from: unknown units, measurements that are not finite
    non-negative numbers (text, empty, NaN, inf, negative)."""
    import numpy as np
    import pandas as pd

    from costmodel.space import FAMILIES

    unknown = sorted(set(df["unit"].astype(str)) - set(FAMILIES))
    if unknown:
        raise HwsimError(f"dataset {p}: unknown unit(s) {', '.join(map(repr, unknown[:5]))}; "
                         f"known: {', '.join(FAMILIES)}")
    for c in (c for c in SCHEMA if "<" not in c and c not in _TEXT_COLUMNS):
        values = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
        bad = ~(np.isfinite(values) & (values >= 0))
        if bad.any():
            row = int(np.argmax(bad))
            raise HwsimError(f"dataset {p}: column {c!r} holds '{df[c].iloc[row]}' (data row "
                             f"{row + 1}); expected a finite non-negative number")
