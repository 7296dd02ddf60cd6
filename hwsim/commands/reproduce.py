"""``hwsim reproduce STUDY|all``: regenerate the folders of ``sim_results/`` from scratch.

Each study runs its ``run.py`` (or its ``hwsim`` command) in a fresh process of this
interpreter; ``all`` runs every study in name order and goes on past a failing one. The
studies and their claims are :mod:`hwsim.studies.registry`'s.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from hwsim.commands.options import OutputPath, echo_json, force_option, json_option
from hwsim.errors import HwsimError


def _list(studies, as_json: bool) -> None:
    if as_json:
        echo_json({"studies": [s.to_dict() for s in studies.values()]})
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="studies (hwsim reproduce NAME | all)", title_justify="left")
    for col in ("study", "typical time", "published claim it checks"):
        table.add_column(col)
    for s in studies.values():
        table.add_row(s.name, s.typical or "?", s.claim)
    import sys

    Console(width=None if sys.stdout.isatty() else 120).print(table)


def _outputs(chosen, out: Path | None, *, per_study: bool, force: bool) -> list[Path]:
    """Each study's output folder (``out`` itself, or ``out/<name>`` with ``per_study``),
    every one checked before any study runs."""
    from hwsim.io import check_output_dir

    dirs = [s.folder if out is None else out / s.name if per_study else out for s in chosen]
    for d in dirs:
        check_output_dir(d, force=force, what="study folder")
    return dirs


@click.command()
@click.argument("study", required=False)
@click.option("--list", "list_only", is_flag=True, help="List the studies and exit.")
@click.option("-o", "--out", "out", type=OutputPath(folder=True), default=None,
              help="Output folder (default: the study's own folder under sim_results/); "
                   "with 'all', one folder per study inside it.")
@click.option("--quick", is_flag=True,
              help="Small arguments where a study takes them (a first look, tests); needs "
                   "--out, since its results are not the published ones.")
@force_option
@json_option
@click.pass_context
def reproduce(ctx: click.Context, study: str | None, list_only: bool, out: Path | None,
              quick: bool, force: bool, as_json: bool) -> None:
    """Regenerate a study of sim_results/ (or 'all') from scratch in a fresh process each.

    A folder that is not empty (such as the study's own) is refused unless --force. With
    'all', a failing study does not stop the others; the exit status is 1 if any failed."""
    from hwsim.studies.registry import SWEEP_STORE, discover, run_study, select

    studies = discover()
    if list_only:
        _list(studies, as_json)
        return
    if study is None:
        raise HwsimError(f"name a study or all (known: {', '.join(studies)}); --list shows "
                         "what each checks")
    chosen = select(study, studies)
    if quick and out is None:
        raise HwsimError("--quick writes small-run results: give --out (a folder other than "
                         "the studies' own)")
    dirs = _outputs(chosen, out, per_study=study == "all", force=force)
    if force:  # from scratch: a sweep store left by an earlier run starts afresh
        for d in dirs:
            if (d / SWEEP_STORE / "sweep.db").is_file():
                shutil.rmtree(d / SWEEP_STORE)
    if as_json:
        outcomes = [run_study(s, d, quick=quick) for s, d in zip(chosen, dirs, strict=True)]
    else:
        outcomes = _run_with_progress(chosen, dirs, quick)
    failed = [o for o in outcomes if not o.ok]
    if as_json:
        echo_json({"studies": [o.to_dict() for o in outcomes], "ok": len(outcomes) - len(failed),
                   "failed": len(failed)})
    else:
        for o in failed:
            click.echo(f"{o.name} failed:\n  " + o.error.replace("\n", "\n  "), err=True)
        click.echo(f"{len(outcomes) - len(failed)} of {len(outcomes)} studies regenerated"
                   + (f"; failed: {', '.join(o.name for o in failed)}" if failed else ""))
    if failed:
        ctx.exit(1)


def _run_with_progress(chosen, dirs, quick: bool):
    """One rich progress line per study: a spinner and the time while it runs, then its
    outcome."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from hwsim.studies.registry import run_study

    outcomes = []
    columns = (SpinnerColumn(finished_text=" "), TextColumn("{task.description}"),
               TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True)) as progress:
        for s, d in zip(chosen, dirs, strict=True):
            task = progress.add_task(f"{s.name} (typically {s.typical or '?'}) -> {d}", total=1)
            o = run_study(s, d, quick=quick)
            mark = "[green]ok[/green]" if o.ok else "[red]FAILED[/red]"
            progress.update(task, completed=1, description=f"{s.name}: {mark}, "
                            f"{len(o.files)} files written in {d} ({o.seconds:.0f} s)")
            outcomes.append(o)
    return outcomes
