"""``hwsim cost``: the learned cost model (dataset sweep, training, validation, prediction)."""

from __future__ import annotations

from pathlib import Path

import click

from hwsim.commands.options import (
    COUNT,
    JOBS,
    MAX_JOBS,
    SEED,
    OutputPath,
    echo_json,
    force_option,
    json_option,
    out_option,
)
from hwsim.commands.rtl import unit_options, unit_params
from hwsim.errors import HwsimError

DEFAULT_SWEEP_DIR = Path("build") / "costmodel" / "sweep"
FOLDS = click.IntRange(min=2)

_data_option = click.option(
    "--data", type=click.Path(path_type=Path), default=None,
    help="Dataset CSV or sweep folder (default: the shipped dataset).")
_folds_option = click.option("--folds", type=FOLDS, default=5, show_default=True,
                             help="Cross-validation folds (2 to the number of designs).")
_seed_option = click.option("--seed", type=SEED, default=0, show_default=True)


@click.group()
def cost() -> None:
    """Learned area/energy/latency models of arithmetic units."""


@cost.command()
@out_option(folder=True, default=DEFAULT_SWEEP_DIR, show_default=True,
            help="Sweep folder: one JSON per design plus designs.csv.")
@click.option("--jobs", "-j", type=JOBS, default=1, show_default=True,
              help=f"Designs synthesised in parallel (processes; at most 4x the CPU cores, "
                   f"{MAX_JOBS} here).")
@click.option("--limit", type=COUNT, default=None, help="Only the first N (cheapest) designs.")
@click.option("--no-progress", is_flag=True, help="No progress bar (logs, CI).")
@force_option
@json_option
def dataset(out: Path, jobs: int, limit: int | None, no_progress: bool, force: bool,
            as_json: bool) -> None:
    """Sweep the RTL generators: synthesis, netlist features and energy proxy per design.

    Resumable: finished designs are cached in OUT/designs/ and skipped on a rerun. A
    designs.csv in OUT that this command did not write is refused unless --force.
    """
    from costmodel.dataset import run_sweep

    res = run_sweep(out, jobs=jobs, limit=limit, progress=not no_progress and not as_json,
                    force=force)
    if as_json:
        echo_json({"out": str(res.out), "csv": str(res.csv), "done": res.done,
                   "failed": res.failed, "total": res.total})
        return
    click.echo(f"{res.done}/{res.total} designs done ({res.failed} failed this run); "
               f"table: {res.csv}")


def _dataset_arg(path: Path | None):
    from costmodel.dataset import load_dataset

    return load_dataset(path)


@cost.command()
@_data_option
@out_option(default=Path("build") / "costmodel" / "model.npz", show_default=True,
            help="Where to save the model (a numpy archive, read without pickle).")
@_folds_option
@_seed_option
@force_option
@json_option
def train(data: Path | None, out: Path, folds: int, seed: int, force: bool,
          as_json: bool) -> None:
    """Fit every target (model kind chosen by cross-validation grouped by base design) and save
    it as arrays (costmodel.store)."""
    from costmodel.dataset import shipped_dataset_path
    from costmodel.models import check_training, fit_cost_model
    from costmodel.store import dataset_hash, save_model
    from hwsim.io import check_output_file

    check_output_file(out, force=force, what="model file")
    df = _dataset_arg(data)
    check_training(len(df), folds)  # fit_cost_model checks too; here before any output
    src = shipped_dataset_path() if data is None else (data / "designs.csv" if data.is_dir()
                                                       else data)
    model = fit_cost_model(df, folds=folds, seed=seed, dataset_hash=dataset_hash(src))
    save_model(model, out)
    if as_json:
        echo_json({"out": str(out), "rows": len(df), "dataset_hash": model.meta["dataset_hash"],
                   "targets": model.meta["targets"]})
        return
    for t, m in model.meta["targets"].items():
        cv = ", ".join(f"{k} {v:.1f}%" for k, v in m["cv_mape"].items())
        click.echo(f"{t:<7} -> {m['kind']:<9} (CV MAPE: {cv})")
    click.echo(f"saved {out} ({len(df)} designs, dataset {model.meta['dataset_hash']})")


@cost.command()
@_data_option
@click.option("--split", "splits", multiple=True,
              type=click.Choice(["design", "format", "family", "random"]),
              help="Hold-out to score, repeatable: 'design' (default; every pipeline/saturate "
                   "variant of a base design on one side), 'format' (by the format's "
                   "identity), 'family' (leave one unit family out), 'random' (rows).")
@_folds_option
@_seed_option
@click.option("--outer", type=int, default=0, show_default=True,
              help="0: hold out one random 20% of the groups. K >= 2: hold out every group "
                   "once over K grouped outer folds, the model chosen inside each (nested "
                   "cross-validation; K times the time, and no single draw decides the score).")
@click.option("--plots", type=OutputPath(folder=True), default=None,
              help="Write parity plots (PNG) of each split's held-out designs here.")
@json_option
def validate(data: Path | None, splits: tuple[str, ...], folds: int, seed: int, outer: int,
             plots: Path | None, as_json: bool) -> None:
    """MAPE and R^2 on held-out designs, the issue's targets beside them.

    The model kind per target is chosen by cross-validation grouped as the split is; the
    hold-out never takes part in the choice."""
    from rich.console import Console

    from costmodel.validate import DEFAULT_SPLITS, check_outer, parity_plots
    from costmodel.validate import validate as run_validate
    from hwsim.commands.sweep import _progress

    check_outer(outer)
    rep = run_validate(_dataset_arg(data), splits=splits or DEFAULT_SPLITS, folds=folds,
                       seed=seed, outer=outer, progress=None if as_json else
                       _progress(Console(stderr=True), "validate", "fits"))
    if plots is not None and rep.parity:
        parity_plots(rep, plots)
    if as_json:
        echo_json(rep.to_dict())
    else:
        click.echo(rep.table())


@cost.command()
@unit_options
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="A model saved by 'hwsim cost train' (default: shipped).")
@click.option("--exact", is_flag=True,
              help="Compute delay (PyRTL timing) and energy (the toggle-energy proxy) exactly "
                   "instead of predicting them: for one design that is cheaper than loading "
                   "the model; the model serves batches (sweeps, the cost provider).")
@json_option
def predict(unit: str, fmt: str | None, pipeline: int, saturate: bool, acc: str | None,
            block_size: int | None, mul: str | None, direction: str | None,
            model_path: Path | None, exact: bool, as_json: bool) -> None:
    """Predict area, LUTs, delay, depth and energy of UNIT with a 90% interval.

    UNIT takes the options 'hwsim rtl export' gives it; any other is an error."""
    import warnings

    from costmodel.exact import EXACT_TARGETS, compute_exact
    from costmodel.models import UNITS, OutOfDomainWarning, Prediction
    from costmodel.space import DesignPoint
    from costmodel.store import load_model, shipped_model_path
    from hwsim.numerics import bits_per_element

    if fmt is None:
        raise HwsimError("cost predict needs --format (e.g. fp8_e4m3fn, int8)")
    params = unit_params(unit, fmt, pipeline, saturate, acc, block_size, mul, direction)
    bits_per_element(fmt)  # an unknown format is an error before the model loads
    point = DesignPoint(unit, fmt, params.get("pipeline", 0), params.get("saturate", False),
                        acc=str(params.get("acc", "")), mul=params.get("mul", ""),
                        block=params.get("block", 0), direction=params.get("direction", ""))
    model = load_model(model_path or shipped_model_path())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfDomainWarning)  # reported below instead
        preds, why = model.predict(point)
    computed = compute_exact(point) if exact else None
    if computed is not None:
        preds = [Prediction(p.target, computed[p.target], computed[p.target],
                            computed[p.target], UNITS[p.target], "exact")
                 if p.target in EXACT_TARGETS else p for p in preds]
    if as_json:
        echo_json({"design": point.to_dict(), "out_of_domain": why,
                   "exact": sorted(EXACT_TARGETS) if exact else [],
                   "exact_available": sorted(EXACT_TARGETS),
                   "predictions": [p.to_dict() for p in preds]})
        return
    for w in why:
        click.echo(f"warning: outside the training domain: {w}", err=True)
    click.echo(f"{unit} {fmt} " + " ".join(f"{k}={v}" for k, v in point.params().items()
                                             if k != "format"))
    for p in preds:
        how = (f"exact: {EXACT_TARGETS[p.target]}" if p.kind == "exact" else
               f"90% interval [{p.lo:.4g}, {p.hi:.4g}]  ({p.kind})")
        click.echo(f"  {p.target:<7} {p.value:12.4g} {p.unit:<12} {how}")
    if computed is None:
        click.echo("note: for one design, delay and energy are cheaper to compute exactly than "
                   "to predict: pass --exact (PyRTL timing and the toggle-energy simulation)")


@cost.command()
@_data_option
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Trained model (default: the shipped one).")
@out_option(folder=True, default=Path("sim_results") / "costmodel", show_default=True,
            help="Study folder; one that is not empty (such as the checked-in study) is "
                 "refused unless --force.")
@click.option("--validate/--no-validate", "with_validation", default=True,
              help="Also write the error table and parity plots (all four splits).")
@force_option
@json_option
def study(data: Path | None, model_path: Path | None, out: Path, with_validation: bool,
          force: bool, as_json: bool) -> None:
    """Headline comparisons (L-Mul vs fp8 mul, FP8 vs INT8 MAC), errors and parity plots."""
    import json

    from costmodel.store import load_model, shipped_model_path
    from costmodel.validate import validate as run_validate
    from hwsim.io import check_output_dir
    from hwsim.studies.costmodel import run_study

    check_output_dir(out, force=force, what="study folder")
    df = _dataset_arg(data)
    model = load_model(model_path or shipped_model_path())
    rep = run_validate(df) if with_validation else None
    run_study(model, df, out, rep)
    if as_json:
        echo_json({"out": str(out),
                   "headlines": json.loads((out / "headlines.json").read_text()),
                   "validation": rep.to_dict() if rep is not None else None})
        return
    click.echo((out / "headlines.md").read_text())
    if rep is not None:
        click.echo(rep.table())
