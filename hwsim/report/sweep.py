"""The report of a sweep folder (``hwsim report DIR``): every stored point in one table,
the Pareto fronts of the sweep's objectives, and the chosen point's run re-run for its
per-op records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hwsim.errors import HwsimError
from hwsim.report import figures
from hwsim.report.data import (
    SweepData,
    best_row,
    front_keys,
    load_sweep_data,
    rerun,
    rerun_differences,
)
from hwsim.report.html import (
    Figure,
    Section,
    Table,
    cell,
    check_outputs,
    figure_dir,
    render,
    write,
)
from hwsim.report.run import REPORT_NAME, run_sections
from hwsim.sweep.store import DB_NAME, SPEC_NAME

#: the most front points the energy figure shows (the table lists them all)
MAX_FRONT_BARS = 40


def points_table(data: SweepData, front: set[str], chosen: str) -> Table:
    """Every stored point: key, status, the parameters that vary, the store's metrics,
    energy by component, wall time, the constraint it breaks (if the store records them),
    error."""
    varying = data.varying()
    comps = sorted({c for r in data.rows for c in r["energy_pj"]})
    notes = ["violation"] if "violation" in data.frame.columns else []
    columns = ["key", "status", *varying, *data.metrics, *(f"energy_pj.{c}" for c in comps),
               "wall_s", *notes, "error"]
    rows, classes = [], []
    for r in data.rows:
        rows.append([cell(r["key"]), cell(r["status"]),
                     *(cell(r["params"].get(p)) for p in varying),
                     *(cell(r["metrics"][m]) for m in data.metrics),
                     *(cell(r["energy_pj"].get(c)) for c in comps),
                     cell(r["wall_s"]), *(cell(r[n]) for n in notes), cell(r["error"])])
        classes.append("chosen" if r["key"] == chosen else "front" if r["key"] in front
                       else "failed" if r["status"] == "failed" else "")
    return Table("points", columns, rows, row_class=classes)


def pareto_section(data: SweepData, front: list[str]) -> Section:
    if not front:
        return Section("pareto", "Pareto fronts", [
            "No point is done with every objective known (and within the sweep's constraints, "
            "where it has some): there is no front."])
    keys = set(front)
    rows = [r for r in data.done if r["key"] in keys][:MAX_FRONT_BARS]
    vary = data.varying()
    labels = [" ".join(dict.fromkeys([r["key"][:8], *(str(r["params"][v]) for v in vary)]))
              for r in rows]  # each value once: a format shows in several precision fields
    return Section(
        "pareto", "Pareto fronts",
        [f"{len(front)} of {len(data.done)} done points are on the front of "
         f"{', '.join(data.objectives)}; each figure is one pair of objectives. The last "
         f"one shows the stored energy by component of {len(rows)} front points, labelled "
         f"by key and {', '.join(vary) or 'nothing else (no parameter varies)'}."],
        [*(Figure(name, caption, png)
           for name, (caption, png) in figures.pareto_figures(data, front).items()),
         Figure("front_energy", "energy by component of the front's points",
                figures.front_energy_figure(rows, labels))],
        [Table("front", ["key", *data.objectives],
               [[cell(r["key"]), *(cell(r["metrics"][o]) for o in data.objectives)]
                for r in data.done if r["key"] in keys])])


def point_sections(data: SweepData, chosen: dict[str, Any], how: str
                   ) -> tuple[list[Section], list[str]]:
    """The chosen point re-run: its sections, and where the re-run differs from the store."""
    spec, res = rerun(chosen["raw_params"])
    diffs = rerun_differences(chosen, res)
    note = (f"Point {chosen['key']} ({how}). The store holds no per-op records, so this "
            f"point was re-run through hwsim.api.simulate for this report; " +
            ("its totals equal the stored ones." if not diffs else
             "its totals differ from the stored ones: " + "; ".join(diffs) + "."))
    out = [Section("point", f"Chosen point {chosen['key'][:12]}", [note],
                   items={k: chosen["params"][k] for k in data.varying()})]
    out += [Section(s.id, f"Chosen point: {s.title.lower()}", s.paragraphs, s.figures,
                    s.tables, s.items) for s in run_sections(spec, res, prefix="point-")]
    return out, diffs


def write_sweep_report(folder: str | Path, out: str | Path | None = None, *,
                       point: str | None = None, force: bool = False) -> dict[str, Any]:
    """Write the report of sweep ``folder`` to ``out`` (default ``folder/report.html``) and
    its PNGs beside it; returns what was written and shown."""
    folder = Path(folder)
    data = load_sweep_data(folder)
    html_path = Path(out) if out is not None else folder / REPORT_NAME
    own = {(folder / n).resolve() for n in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm",
                                            SPEC_NAME)}
    if html_path.resolve() in own or figure_dir(html_path).resolve() in own:
        raise HwsimError(f"report file {str(html_path)!r} would replace the sweep's own "
                         f"{html_path.name}; choose another -o")
    html_path = check_outputs(html_path, force=force)
    front = front_keys(data, data.objectives)
    if point is not None:
        chosen, how = data.point(point), "chosen with --point"
    else:
        chosen = best_row(data, front) if front else None
        how = f"the front's best on {data.objectives[0]}"
    st = data.status
    intro = [f"Sweep folder {folder}: {len(data.rows)} stored points ({st['done']} done, "
             f"{st['failed']} failed), {st['pending']} planned points pending.",
             f"Objectives ({data.objectives_from}): " + ", ".join(
                 f"{o} ({d}imised)" for o, d in zip(data.objectives, data.directions,
                                                    strict=True))
             + "."]
    sections = [Section(
        "table", "Every stored point",
        ["Rows on the Pareto front of all objectives are green, failed ones red, the chosen "
         "point bold. Parameters the same for every point are listed once; the table shows "
         "those that vary. Numbers are shown rounded; each cell keeps the stored value "
         "exactly (data-value)."],
        tables=[points_table(data, set(front), chosen["key"] if chosen else "")],
        items={f"(every point) {k}": v for k, v in data.fixed().items()}),
        pareto_section(data, front)]
    diffs = None
    if chosen is not None:
        more, diffs = point_sections(data, chosen, how)
        sections += more
    figs = [f for s in sections for f in s.figures]
    html = render(f"hwsim sweep report: {folder.name}", intro, sections,
                  f"{html_path.stem}_figures")
    paths = write(html_path, html, figs)
    return {"html": str(paths[0]), "figures": [str(p) for p in paths[1:]],
            **st, "objectives": list(data.objectives), "front": front,
            "point": chosen["key"] if chosen else None,
            "rerun_matches_store": None if diffs is None else not diffs}
