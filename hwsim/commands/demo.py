"""``hwsim demo``."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command()
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default: a new folder under sim_results/demo/).")
@click.option("--force", is_flag=True, help="Write into --out even if it is not empty.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
def demo(out: Path | None, force: bool, seed: int) -> None:
    """Run the main job end to end on built-in defaults: tables, PNG plots, JSON summary."""
    from rich.console import Console
    from rich.table import Table

    from hwsim.demo import DEMO_STEPS, DemoConfig, run_demo
    from hwsim.io import fresh_output_dir

    # piped output gets rich's 80-column default, too narrow for the tables' intervals
    console = Console() if sys.stdout.isatty() else Console(width=120)
    out_dir = fresh_output_dir(out, Path("sim_results") / "demo", force)
    cfg = DemoConfig(out_dir=out_dir, seed=seed)

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
