"""``hwsim sweep``: run a sweep file, show a sweep folder's status, export its results.

``hwsim sweep FILE`` is short for ``hwsim sweep run FILE``. The results live in
``DIR/sweep.db`` (SQLite) beside a copy of the sweep file; a re-run with the same file and
folder computes only the points not done yet.
"""

from __future__ import annotations

from pathlib import Path

import click

from hwsim.commands.options import (
    JOBS,
    SIZE,
    OutputPath,
    echo_json,
    force_option,
    json_option,
    out_option,
)
from hwsim.errors import HwsimError

DEFAULT_PARENT = "sweep_results"


class _SweepGroup(click.Group):
    """A group whose first argument, when it is not a subcommand, is a sweep file."""

    def resolve_command(self, ctx: click.Context, args: list[str]):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().resolve_command(ctx, args)


@click.group("sweep", cls=_SweepGroup, context_settings={"help_option_names": ["-h", "--help"]})
def sweep() -> None:
    """Declarative sweeps: 'hwsim sweep FILE' runs one, 'status'/'export' read a folder."""


def _progress(console, label: str = "sweep", unit: str = "points"):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    def bar(done: int, total: int):
        columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"),
                   TimeRemainingColumn())
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task("sweep", total=total, completed=done, rate="")
            yield
            while True:
                progress.advance(task)
                speed = progress.tasks[0].speed
                progress.update(task, rate=f"{speed:.1f} {unit}/s" if speed else "")
                yield
    return bar


@sweep.command("run")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--workers", type=JOBS, default=None,
              help="Local worker processes (default: the CPU cores).")
@click.option("--dask-local", "dask_local", type=SIZE, default=None, metavar="N",
              help="Start a dask.distributed LocalCluster of N worker processes.")
@click.option("--scheduler", metavar="tcp://HOST:PORT",
              help="Run on the Dask scheduler at this address.")
@out_option(folder=True, help=f"Sweep folder (default: {DEFAULT_PARENT}/<file name>); "
                              "re-running into it resumes.")
@force_option
@json_option
def run_cmd(file: Path, workers: int | None, dask_local: int | None, scheduler: str | None,
            out: Path | None, force: bool, as_json: bool) -> None:
    """Run the points of a sweep FILE (YAML/JSON) not done yet (a guided search: what is
    left of its budget)."""
    import os

    from rich.console import Console

    from hwsim.sweep import (
        connect_dask,
        dask_evaluator,
        load_sweep,
        pool_evaluator,
        run_sweep,
    )

    if sum(x is not None for x in (workers, dask_local, scheduler)) > 1:
        raise HwsimError("give one of --workers, --dask-local, --scheduler")
    sweep_spec = load_sweep(file)  # every error before any work or any file
    folder = out if out is not None else Path(DEFAULT_PARENT) / file.stem
    text = file.read_text(encoding="utf-8")
    client = None
    if dask_local is not None or scheduler is not None:
        client = connect_dask(scheduler, dask_local)
        evaluator = dask_evaluator(client)
    else:
        evaluator = pool_evaluator(workers or os.cpu_count() or 1)
    try:
        label = "guided" if sweep_spec.search == "guided" else "sweep"
        status = run_sweep(sweep_spec, folder, evaluator, spec_text=text, force=force,
                           progress=_progress(Console(stderr=True), label))
    finally:
        if client is None:
            evaluator.close()
        if client is not None:
            cluster = client.cluster
            client.close()
            if cluster is not None and scheduler is None:
                cluster.close()
    if as_json:
        echo_json({"folder": str(folder), **status})
    else:
        click.echo(f"{folder}: {status['done']} done, {status['failed']} failed, "
                   f"{status['pending']} pending")


@sweep.command("status")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@json_option
def status_cmd(folder: Path, as_json: bool) -> None:
    """Done, failed and pending points of a sweep FOLDER."""
    from hwsim.sweep import Store

    with Store(folder) as store:
        status = store.status()
    if as_json:
        echo_json(status)
    else:
        click.echo(", ".join(f"{v} {k}" for k, v in status.items()))


@sweep.command("export")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("-o", "--out", "out", type=OutputPath(), required=True,
              help="The table to write: FILE.parquet or FILE.csv.")
@force_option
@json_option
def export_cmd(folder: Path, out: Path, force: bool, as_json: bool) -> None:
    """Write a sweep FOLDER's results to Parquet or CSV."""
    from hwsim.io import check_output_file
    from hwsim.sweep import export

    check_output_file(out, force=force)
    path = export(folder, out)
    if as_json:
        echo_json({"out": str(path)})
    else:
        click.echo(f"wrote {path}")
