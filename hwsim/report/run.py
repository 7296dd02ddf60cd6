"""The report of one run (``hwsim run ... --report DIR``), and the sections a sweep report
shows for its chosen point: totals, energy by component, per-op breakdown, roofline (GPU)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from hwsim.report import figures
from hwsim.report.data import roofline
from hwsim.report.html import Figure, Section, Table, cell, check_outputs, render, write
from hwsim.sweep import METRICS

REPORT_NAME = "report.html"
OP_COLUMNS = ("name", "op_type", "unit", "macs", "compute_cycles", "total_cycles",
              "stall_cycles", "start_cycle", "dram_bytes", "energy_pj", "utilisation", "detail")


def run_sections(spec: Any, res: Any, *, prefix: str = "", note: str = "") -> list[Section]:
    """Sections for one :class:`~hwsim.engine.result.RunResult` on ``spec``; ``prefix``
    keeps element ids unique when a page holds more than one run."""
    totals = {m: getattr(res, m) for m in METRICS}
    totals.update({"device": getattr(spec, "describe", lambda: res.device)(),
                   "workload": res.workload, "ops": len(res.ops),
                   "energy source": res.energy_source})
    out = [Section(f"{prefix}totals", "Totals", [note] if note else [], items=totals)]
    energy = {k: v for k, v in res.energy_pj.items()}
    out.append(Section(
        f"{prefix}energy", "Energy by component",
        ["Estimates: MACs priced by the run's cost provider, memory bytes by its 45 nm prices."],
        [Figure(f"{prefix}energy", "energy by component",
                figures.energy_figure(energy, f"{res.workload} on {res.device}"))],
        [Table(f"{prefix}energy-table", ["component", "energy_pj", "share"],
               [[cell(k), cell(v), cell(v / (res.energy_total_pj or 1.0))]
                for k, v in energy.items()])]))
    ops = [asdict(o) for o in res.ops]
    out.append(Section(
        f"{prefix}ops", "Per-op breakdown",
        [f"{len(ops)} ops; the figure names the {min(len(ops), figures.TOP_OPS)} longest, the "
         "table lists all (click a heading to sort)."],
        [Figure(f"{prefix}ops", "cycles by op type and the longest ops",
                figures.ops_figure(res.ops, f"{res.workload} on {res.device}"))],
        [Table(f"{prefix}ops-table", list(OP_COLUMNS),
               [[cell(o[c]) for c in OP_COLUMNS] for o in ops])]))
    roof = roofline(spec, res)
    if roof is not None:
        rows = [[cell(n), cell(t), cell(x), cell(y), cell(roof.roof(x)), cell(y / roof.roof(x))]
                for n, t, x, y in roof.points]
        out.append(Section(
            f"{prefix}roofline", "Roofline",
            [f"Ops with MACs as points: FLOPs (2 x MACs) over the op's simulated HBM bytes, "
             f"against the {roof.device} preset's dense peaks and bandwidths. "
             f"{roof.skipped} ops without MACs or HBM traffic have no point."],
            [Figure(f"{prefix}roofline", f"roofline of the run on {roof.device}",
                    figures.roofline_figure(roof))],
            [Table(f"{prefix}roofline-table",
                   ["op", "op_type", "flop_per_byte", "flop_per_s", "highest_roof_flop_per_s",
                    "fraction_of_highest_roof"], rows)],
            items={f"roof {k}": v for k, v in {**roof.compute_roofs,
                                               **roof.bandwidth_roofs}.items()}))
    if res.notes:
        out.append(Section(f"{prefix}notes", "Notes", list(res.notes)))
    return out


def write_run_report(folder: str | Path, spec: Any, res: Any, *, force: bool = False
                     ) -> dict[str, Any]:
    """Write ``folder/report.html`` (and ``folder/report_figures/``) for one run."""
    html_path = check_outputs(Path(folder) / REPORT_NAME, force=force)
    sections = run_sections(spec, res)
    figs = [f for s in sections for f in s.figures]
    html = render(f"hwsim run: {res.workload} on {res.device}", [res.summary()], sections,
                  f"{html_path.stem}_figures")
    paths = write(html_path, html, figs)
    return {"html": str(paths[0]), "figures": [str(p) for p in paths[1:]]}
