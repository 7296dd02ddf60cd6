"""``hwsim report DIR``: one self-contained HTML page of a sweep folder (its table, Pareto
fronts, the chosen point's per-op breakdown, energy by component and, on a GPU, roofline),
with its figures also written as PNGs beside it."""

from __future__ import annotations

from pathlib import Path

import click

from hwsim.commands.options import echo_json, force_option, json_option, out_option


@click.command("report")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@out_option(help="The HTML file to write (default: FOLDER/report.html); its PNGs go to "
                 "<name>_figures/ beside it.")
@click.option("--point", metavar="KEY",
              help="The point whose run the report breaks down (the start of its key; "
                   "default: the Pareto front's best on the first objective).")
@force_option
@json_option
def report(folder: Path, out: Path | None, point: str | None, force: bool,
           as_json: bool) -> None:
    """Write the HTML report of a sweep FOLDER."""
    from hwsim.report import write_sweep_report

    info = write_sweep_report(folder, out, point=point, force=force)
    if as_json:
        echo_json(info)
    else:
        click.echo(f"wrote {info['html']} ({len(info['figures'])} figures beside it); point "
                   f"{info['point'][:12]}, {len(info['front'])} points on the front")
