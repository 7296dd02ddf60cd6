"""Minifloats vs integers on an FPGA LUT budget; writes results.csv/json, layers.csv and plots.

    .venv/bin/python sim_results/fpga_minifloat_vs_int/run.py [--out DIR] [--rows 256]
        [--workers N] [--fresh] [--quick]

Reads ``hwsim/data/fpga_pe_luts.yaml`` (LUT-only Yosys table; re-make it with
``synth_pe_luts.py``).
The study itself is :func:`hwsim.studies.fpga_minifloat_vs_int.run`; about two minutes on two
cores. Its array simulations run as a sweep into the ``hwsim.sweep`` store in ``OUT/sweep/``
(a re-run resumes it; ``--fresh`` starts it afresh) and the tables are made from the store.
``--quick`` (three formats, the multiplier view, two layers, 32 rows) is for tests.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

from hwsim.io import atomic_write_json, atomic_write_text, csv_text, save_figure
from hwsim.studies import fpga_minifloat_vs_int as study
from hwsim.studies.registry import SWEEP_STORE as SWEEP_DIR
from hwsim.sweep import Point, Store, Sweep, run_sweep
from hwsim.sweep.runner import Evaluator
from hwsim.sweep.spec import point_key

HERE = Path(__file__).resolve().parent
QUICK_FORMATS = ("int4", "int8", "fp8_e4m3fn")
MODEL_TITLES = {"resnet18": "ResNet-18", "vit-b16": "ViT-B/16"}
VIEW_TITLES = {
    "mac_fp16": "PE = whole MAC (int: 2N+16-bit int acc; minifloat: fp16 acc)",
    "mac_fp32": "PE = whole MAC (int: 2N+16-bit int acc; minifloat: fp32 acc)",
    "mul": "PE = multiplier only (accumulator left out)",
}


@dataclass(frozen=True)
class ArraySweep(Sweep):
    """The study's array simulations as a sweep built in code, one point per distinct
    (model, array shape, clock): a format's array follows from its PE's LUTs and logic depth,
    which a product of axes in a sweep file cannot say."""

    fixed: tuple[Point, ...] = ()

    @classmethod
    def of(cls, points: list[Point]) -> ArraySweep:
        fixed = tuple({p.key: p for p in points}.values())
        source = {"study": "fpga_minifloat_vs_int",
                  "metrics": "the array's ops only (study.array_metrics)",
                  "points": [p.canonical for p in fixed]}
        return cls(axes=(), objectives=("total_cycles",), search="grid", samples=None, seed=0,
                   source=source, fixed=fixed)

    @property
    def grid_size(self) -> int:
        return len(self.fixed)

    def points(self) -> list[Point]:
        return list(self.fixed)


def _evaluator(workers: int) -> Evaluator:
    """:func:`study.evaluate_point` on each point, here (1 worker) or on a process pool."""
    def run(points: list[Point]) -> Iterator[tuple[Point, dict]]:
        if workers <= 1:
            yield from ((p, study.evaluate_point(p.task)) for p in points)
            return
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(study.evaluate_point, p.task): p for p in points}
            yield from ((futures[f], f.result()) for f in as_completed(futures))
    return run


def sweep_simulate(folder: Path, jobs: list[tuple[str, object]], *, workers: int,
                   fresh: bool) -> list[tuple[int, int]]:
    """The study's ``simulate``: the jobs as sweep points into the store in ``folder`` (a
    re-run resumes it; ``fresh`` starts afresh), then each job's (cycles, MACs) read back
    from the store."""
    points = []
    for model, spec in jobs:
        canonical = study.array_canonical(model, spec)
        points.append(Point(point_key(canonical), {"model": model,
                                                   "spec": canonical["device"]}, canonical))
    sweep = ArraySweep.of(points)
    status = run_sweep(sweep, folder, _evaluator(workers), force=fresh)
    with Store(folder) as store:
        df = store.frame()
    if status["failed"] or status["pending"]:
        failed = df[df["status"] == "failed"]["error"]
        raise SystemExit(f"error: array sweep in {folder}: {status['failed']} point(s) failed"
                         + (f"; first: {failed.iloc[0]}" if len(failed) else ""))
    print(f"array sweep: {len(sweep.fixed)} points in {folder} ({status})", flush=True)
    found = {k: (int(c), int(m)) for k, c, m in zip(df["key"], df["total_cycles"], df["macs"],
                                                     strict=True)}
    return [found[p.key] for p in points]


def _short(fmt: str) -> str:
    return fmt.split("_", 1)[1].removesuffix("fn") if fmt.startswith("fp") else fmt


def plot_view(points: list[study.FormatPoint], view: str, path: Path, budget: int) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(p.model for p in points))
    fig, axes = plt.subplots(len(models), 2, figsize=(12, 4.6 * len(models)), squeeze=False)
    for row, model in zip(axes, models, strict=True):
        pts = [p for p in points if p.model == model and p.view == view]
        for ax, xattr, mark, xlabel in (
            (row[0], "inferences_per_s", "pareto_throughput",
             f"throughput (inferences/s, {budget:,}-LUT budget)"),
            (row[1], "pe_luts", "pareto_luts", "LUT6 per PE (Yosys, no DSP)"),
        ):
            for fam, marker, colour in (("int", "s", "tab:blue"), ("minifloat", "o", "tab:orange")):
                sel = [p for p in pts if p.family == fam]
                ax.scatter([getattr(p, xattr) for p in sel], [p.sqnr_mean_db for p in sel],
                           marker=marker, c=colour, alpha=0.45, label=fam)
                on = [p for p in sel if getattr(p, mark)]
                ax.scatter([getattr(p, xattr) for p in on], [p.sqnr_mean_db for p in on],
                           marker=marker, facecolors=colour, edgecolors="k", s=80,
                           label=f"{fam}, Pareto-optimal")
            front = sorted((p for p in pts if getattr(p, mark)), key=lambda p: getattr(p, xattr))
            ax.plot([getattr(p, xattr) for p in front], [p.sqnr_mean_db for p in front],
                    "k--", lw=0.8)
            for p in pts:
                ax.annotate(_short(p.fmt), (getattr(p, xattr), p.sqnr_mean_db), fontsize=7,
                            xytext=(3, 3), textcoords="offset points")
            ax.set_xscale("log")
            ax.set_xlabel(xlabel)
            ax.set_ylabel("mean layer-output SQNR (dB)")
            ax.set_title(f"{MODEL_TITLES.get(model, model)}")
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize=7)
    fig.suptitle(VIEW_TITLES.get(view, view), fontsize=11)
    fig.tight_layout()
    try:
        return save_figure(fig, path)
    finally:
        plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE)
    ap.add_argument("--rows", type=int, default=256, help="sampled output rows per layer")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2, help="processes for the array sweep")
    ap.add_argument("--fresh", action="store_true", help="start the sweep store afresh")
    ap.add_argument("--quick", action="store_true", help="a small subset (tests)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    quick = ({"formats": QUICK_FORMATS, "views": ("mul",), "max_layers": 2, "rows": 32}
             if args.quick else {"rows": args.rows})
    simulate = partial(sweep_simulate, args.out / SWEEP_DIR, workers=args.workers,
                       fresh=args.fresh)
    res = study.run(seed=args.seed, simulate=simulate,
                    on_model=lambda m: print(f"{m} ...", flush=True), **quick)
    points = [asdict(p) for p in res.points]
    atomic_write_text(args.out / "results.csv", csv_text(points))
    atomic_write_text(args.out / "layers.csv", csv_text([asdict(e) for e in res.layer_errors]))
    atomic_write_json(args.out / "results.json", {
        "config": asdict(res.config),
        "points": points,
        "layers": [asdict(e) for e in res.layer_errors],
        "pe_costs": [asdict(c) for c in res.pe_costs],
        "command": "python sim_results/fpga_minifloat_vs_int/run.py",
    })
    for view in res.config.views:
        plot_view(list(res.points), view, args.out / f"pareto_{view}.png",
                  res.config.lut_budget)
    for view in res.config.views:
        print(f"\n== {view}")
        for p in res.points:
            if p.view != view:
                continue
            flag = ("T" if p.pareto_throughput else "-") + ("L" if p.pareto_luts else "-")
            print(f"{p.model:9s} {p.fmt:12s} {p.sqnr_mean_db:6.2f} dB (worst {p.sqnr_worst_db:6.2f}"
                  f" {p.worst_layer}) {p.pe_luts:5d} LUT {p.array_rows}x{p.array_cols} "
                  f"{p.clock_mhz:6.1f} MHz {p.inferences_per_s:9.1f} inf/s {flag}")
    print(f"\n{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
