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
