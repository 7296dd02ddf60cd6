"""``hwsim scalesim``: SCALE-Sim 3.0.0's command line on its own ``.cfg`` and topology files.

Reads the files with :mod:`hwsim.devices.systolic.scalesim_files`, builds the ``systolic``
device from the config and runs the layers through :func:`hwsim.devices.run` (hwsim's own
cycles and energy, in ``--json``), replays SCALE-Sim's memory system on them
(:func:`~hwsim.devices.systolic.scalesim_files.replay_layers`) and writes
``OUTDIR/<run_name>/{COMPUTE,BANDWIDTH,DETAILED_ACCESS}_REPORT.csv`` in SCALE-Sim's layout.
"""

from __future__ import annotations

from pathlib import Path

import click

from hwsim.commands.options import echo_json, force_option, json_option
from hwsim.devices.systolic.scalesim_memory import MAX_DEMAND_CELLS

_COLUMNS = ("layer", "total_cycles_incl_prefetch", "total_cycles", "stall_cycles",
            "overall_util_pct", "mapping_efficiency_pct", "compute_util_pct")


@click.command("scalesim")
@click.option("-c", "config", required=True, type=click.Path(dir_okay=False),
              help="SCALE-Sim .cfg file.")
@click.option("-t", "topology", required=True, type=click.Path(dir_okay=False),
              help="Topology CSV (conv, or GEMM 'Layer, M, N, K' with -i gemm).")
@click.option("-i", "input_type", type=click.Choice(["conv", "gemm"]), default="conv",
              show_default=True, help="Topology kind, as SCALE-Sim's -i.")
@click.option("-p", "top_path", type=click.Path(file_okay=False), default="results",
              show_default=True, help="Folder for <run_name>/*_REPORT.csv.")
@click.option("-l", "layout", type=click.Path(dir_okay=False), default=None,
              help="SCALE-Sim's layout file: accepted and unused (custom layouts are refused; "
                   "the .cfg's [layout] bank bandwidths are used).")
@click.option("-s", "save_trace", type=click.Choice(["Y", "N"]), default="N",
              help="Accepted for SCALE-Sim's command line; no trace files are written.")
@click.option("--max-cells", type=click.IntRange(min=1), default=MAX_DEMAND_CELLS,
              show_default=True,
              help="Largest layer replayed, in demand-matrix cells (8 bytes each).")
@force_option
@json_option
def scalesim(config: str, topology: str, input_type: str, top_path: str, layout: str | None,
             save_trace: str, max_cells: int, force: bool, as_json: bool) -> None:
    """Run SCALE-Sim's CONFIG and TOPOLOGY files and write COMPUTE_REPORT.csv,
    BANDWIDTH_REPORT.csv and DETAILED_ACCESS_REPORT.csv as SCALE-Sim 3.0.0 does (same headers,
    numbers and number format), in CALC and USER modes, GEMM and conv topologies: its memory
    system is replayed, not sampled. USER mode reads the ifmap and filter at the [layout]
    SRAM bank bandwidths, as SCALE-Sim does. --json adds hwsim's own cycles per layer (its
    systolic model, which overlaps loads with compute)."""
    from hwsim.devices import get_device, run
    from hwsim.devices.systolic import scalesim_files as sf
    from hwsim.io import atomic_write_text, check_output_file, make_dirs

    cfg = sf.read_config(config)
    layers = sf.read_topology(topology, gemm=input_type == "gemm")
    spec = get_device("systolic", **cfg.spec_fields())
    folder = Path(top_path) / cfg.run_name
    paths = {name: folder / f"{name}_REPORT.csv"
             for name in ("COMPUTE", "BANDWIDTH", "DETAILED_ACCESS")}
    for path in paths.values():
        check_output_file(path, force=force, what="report")
    result = run(spec, [layer.op for layer in layers])
    replays = sf.replay_layers(layers, cfg, max_cells)
    rows = sf.compute_report(layers, replays, spec)
    make_dirs(folder)
    for name, header, body in (("COMPUTE", sf.COMPUTE_HEADER, rows),
                               ("BANDWIDTH", sf.BANDWIDTH_HEADER, sf.bandwidth_report(replays)),
                               ("DETAILED_ACCESS", sf.DETAIL_HEADER, sf.detail_report(replays))):
        atomic_write_text(paths[name], sf.format_report(body, header))
    if as_json:
        echo_json({"report": str(paths["COMPUTE"]),
                   "reports": {k.lower(): str(v) for k, v in paths.items()},
                   "device": spec.describe(), "mode": "USER" if cfg.user_bandwidth else "CALC",
                   "layers": [dict(zip(_COLUMNS, [layer.name, *row[1:]], strict=True))
                              | {"hwsim_total_cycles": op.total_cycles}
                              for layer, row, op in zip(layers, rows, result.ops, strict=True)]})
        return
    total = sum(int(r[1]) for r in rows)
    click.echo(f"{len(rows)} layers on {spec.describe()}: {total:,} cycles (incl. prefetch)")
    click.echo(f"wrote {', '.join(str(p) for p in paths.values())}")
