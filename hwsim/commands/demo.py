"""``hwsim demo``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from hwsim.commands.options import SEED, echo_json, force_option, json_option, out_option


@click.command()
@out_option(folder=True, default=None,
            help="Output folder (default: a new folder under sim_results/demo/); one that is "
                 "not empty is refused unless --force.")
@force_option
@click.option("--seed", type=SEED, default=0, show_default=True, help="Random seed.")
@json_option
def demo(out: Path | None, force: bool, seed: int, as_json: bool) -> None:
    """Run the main job end to end on built-in defaults: tables, PNG plots, JSON summary.

    --json prints the summary (what summary.json holds) instead of the tables."""
    import json

    from rich.console import Console
    from rich.table import Table

    from hwsim.demo import DEMO_STEPS, DemoConfig, run_demo
    from hwsim.io import fresh_output_dir

    out_dir = fresh_output_dir(out, Path("sim_results") / "demo", force)
    cfg = DemoConfig(out_dir=out_dir, seed=seed)
    if as_json:
        run_demo(cfg)
        echo_json({"out": str(out_dir),
                   **json.loads((out_dir / "summary.json").read_text())})
        return
    # piped output gets rich's 80-column default, too narrow for the tables' intervals
    console = Console() if sys.stdout.isatty() else Console(width=120)

    with console.status("running demo steps...") as status:
        done = []

        def show(res) -> None:
            done.append(res)
            status.update(f"running demo steps... {len(done)}/{len(DEMO_STEPS)}")
            table = Table(title=res.name, title_justify="left")
            for col in res.columns:
                table.add_column(col, justify="left" if col == res.columns[0] else "right")
            for row in res.rows:
                table.add_row(*map(str, row))
            console.print(table)
            wrote = f"; wrote {', '.join(p.name for p in res.files)}" if res.files else ""
            console.print(f"[dim]{res.seconds:.1f} s{wrote}")

        run_demo(cfg, on_step=show)
    console.print(f"outputs in [bold]{out_dir}[/bold] (summary.json and PNG plots)")
