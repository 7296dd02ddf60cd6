"""``hwsim cost``: the learned cost model (dataset sweep, training, validation, prediction)."""

from __future__ import annotations

from pathlib import Path

import click

DEFAULT_SWEEP_DIR = Path("build") / "costmodel" / "sweep"


@click.group()
def cost() -> None:
    """Learned area/energy/latency models of arithmetic units."""


@cost.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_SWEEP_DIR,
              show_default=True, help="Sweep folder: one JSON per design plus designs.csv.")
@click.option("--jobs", "-j", type=int, default=1, show_default=True,
              help="Designs synthesised in parallel (processes).")
@click.option("--limit", type=int, default=None, help="Only the first N (cheapest) designs.")
@click.option("--no-progress", is_flag=True, help="No progress bar (logs, CI).")
def dataset(out: Path, jobs: int, limit: int | None, no_progress: bool) -> None:
    """Sweep the RTL generators: synthesis, netlist features and energy proxy per design.

    Resumable: finished designs are cached in OUT/designs/ and skipped on a rerun.
    """
    from costmodel.dataset import run_sweep

    res = run_sweep(out, jobs=jobs, limit=limit, progress=not no_progress)
    click.echo(f"{res.done}/{res.total} designs done ({res.failed} failed this run); "
               f"table: {res.csv}")


def _dataset_arg(path: Path | None):
    from costmodel.dataset import load_dataset

    return load_dataset(path)


@cost.command()
@click.option("--data", type=click.Path(path_type=Path), default=None,
              help="Dataset CSV or sweep folder (default: the shipped dataset).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("build") / "costmodel" / "model.skops", show_default=True)
@click.option("--folds", type=int, default=5, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def train(data: Path | None, out: Path, folds: int, seed: int) -> None:
    """Fit every target (model kind chosen by cross-validation) and save it with skops."""
    from costmodel.dataset import shipped_dataset_path
    from costmodel.models import fit_cost_model
    from costmodel.store import dataset_hash, save_model

    df = _dataset_arg(data)
    src = shipped_dataset_path() if data is None else (data / "designs.csv" if data.is_dir()
                                                       else data)
    model = fit_cost_model(df, folds=folds, seed=seed, dataset_hash=dataset_hash(src))
    save_model(model, out)
    for t, m in model.meta["targets"].items():
        cv = ", ".join(f"{k} {v:.1f}%" for k, v in m["cv_mape"].items())
        click.echo(f"{t:<7} -> {m['kind']:<9} (CV MAPE: {cv})")
    click.echo(f"saved {out} ({len(df)} designs, dataset {model.meta['dataset_hash']})")


@cost.command()
@click.option("--data", type=click.Path(path_type=Path), default=None,
              help="Dataset CSV or sweep folder (default: the shipped dataset).")
@click.option("--split", "splits", multiple=True, type=click.Choice(["random", "family", "format"]),
              help="Splits to score (default: all three).")
@click.option("--folds", type=int, default=5, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--plots", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write parity plots (PNG) of the random hold-out here.")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
def validate(data: Path | None, splits: tuple[str, ...], folds: int, seed: int,
             plots: Path | None, as_json: bool) -> None:
    """MAPE and R^2 on a random 20% hold-out, leave-one-family-out and leave-one-format-out."""
    import json

    from costmodel.validate import SPLITS, parity_plots
    from costmodel.validate import validate as run_validate

    rep = run_validate(_dataset_arg(data), splits=splits or SPLITS, folds=folds, seed=seed)
    if plots is not None and rep.parity:
        parity_plots(rep, plots)
    click.echo(json.dumps(rep.to_dict(), indent=2) if as_json else rep.table())


@cost.command()
@click.argument("unit")
@click.option("--format", "fmt", required=True, help="Operand format, e.g. fp8_e4m3fn, int8.")
@click.option("--pipeline", type=int, default=0, show_default=True)
@click.option("--saturate", is_flag=True)
@click.option("--acc", default="", help="mac: fp32/fp16/bf16; int-mac: width in bits.")
@click.option("--mul", default="", help="mac: exact or lmul.")
@click.option("--block", type=int, default=0, help="block-dot: elements per block.")
@click.option("--direction", default="", help="convert: to or from.")
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="A model saved by 'hwsim cost train' (default: shipped).")
@click.option("--json", "as_json", is_flag=True)
def predict(unit: str, fmt: str, pipeline: int, saturate: bool, acc: str, mul: str, block: int,
            direction: str, model_path: Path | None, as_json: bool) -> None:
    """Predict area, LUTs, delay, depth and energy of UNIT with a 90% interval."""
    import json
    import warnings

    from costmodel.models import OutOfDomainWarning
    from costmodel.space import DesignPoint
    from costmodel.store import load_model, shipped_model_path

    if unit == "block-dot" and not block:
        block = 4
    if unit == "convert" and not direction:
        direction = "to"
    point = DesignPoint(unit, fmt, pipeline, saturate, acc=acc, mul=mul, block=block,
                        direction=direction)
    model = load_model(model_path or shipped_model_path())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfDomainWarning)  # reported below instead
        preds, why = model.predict(point)
    if as_json:
        click.echo(json.dumps({"design": point.to_dict(), "out_of_domain": why,
                               "predictions": [p.to_dict() for p in preds]}, indent=2))
        return
    for w in why:
        click.echo(f"warning: outside the training domain: {w}", err=True)
    click.echo(f"{unit} {fmt} " + " ".join(f"{k}={v}" for k, v in point.params().items()
                                             if k != "format"))
    for p in preds:
        click.echo(f"  {p.target:<7} {p.value:12.4g} {p.unit:<12} "
                   f"90% interval [{p.lo:.4g}, {p.hi:.4g}]  ({p.kind})")


@cost.command()
@click.option("--data", type=click.Path(path_type=Path), default=None,
              help="Dataset CSV or sweep folder (default: the shipped dataset).")
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Trained model (default: the shipped one).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("sim_results") / "costmodel", show_default=True)
@click.option("--validate/--no-validate", "with_validation", default=True,
              help="Also write the error table and parity plots (all three splits).")
def study(data: Path | None, model_path: Path | None, out: Path,
          with_validation: bool) -> None:
    """Headline comparisons (L-Mul vs fp8 mul, FP8 vs INT8 MAC), errors and parity plots."""
    from costmodel.store import load_model, shipped_model_path
    from costmodel.study import run_study
    from costmodel.validate import validate as run_validate

    df = _dataset_arg(data)
    model = load_model(model_path or shipped_model_path())
    rep = run_validate(df) if with_validation else None
    run_study(model, df, out, rep)
    click.echo((out / "headlines.md").read_text())
    if rep is not None:
        click.echo(rep.table())
