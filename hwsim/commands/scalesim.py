"""``hwsim scalesim``: SCALE-Sim 3.0.0's command line on its own ``.cfg`` and topology files.

Reads the files with :mod:`hwsim.devices.systolic.scalesim_files`, builds the ``systolic``
device from the config, runs the layers through :func:`hwsim.devices.run` and writes
``OUTDIR/<run_name>/COMPUTE_REPORT.csv`` in SCALE-Sim's layout.
"""

from __future__ import annotations

from pathlib import Path

import click

from hwsim.commands.options import echo_json, force_option, json_option

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
              show_default=True, help="Folder for <run_name>/COMPUTE_REPORT.csv.")
@click.option("-l", "layout", type=click.Path(dir_okay=False), default=None,
              help="SCALE-Sim's layout file: accepted and unused (custom layouts are refused).")
@click.option("-s", "save_trace", type=click.Choice(["Y", "N"]), default="N",
              help="Accepted for SCALE-Sim's command line; no trace files are written.")
@force_option
@json_option
def scalesim(config: str, topology: str, input_type: str, top_path: str, layout: str | None,
             save_trace: str, force: bool, as_json: bool) -> None:
    """Run SCALE-Sim's CONFIG and TOPOLOGY files on hwsim's systolic model and write
    COMPUTE_REPORT.csv as SCALE-Sim 3.0.0 does (same header and number format). In CALC mode
    every number equals SCALE-Sim's, except "Total Cycles (incl. prefetch)" of a conv with
    few channels (e.g. depthwise), timed as its equivalent GEMM. In USER mode every column
    but that total equals SCALE-Sim's (its buffers replayed); the total does not yet, and
    the [layout] bank settings are not modelled. Not written yet:
    BANDWIDTH_REPORT.csv and DETAILED_ACCESS_REPORT.csv."""
    from hwsim.devices import get_device, run
    from hwsim.devices.systolic import scalesim_files as sf
    from hwsim.io import atomic_write_text, check_output_file, make_dirs

    cfg = sf.read_config(config)
    layers = sf.read_topology(topology, gemm=input_type == "gemm")
    spec = get_device("systolic", **cfg.spec_fields())
    report = Path(top_path) / cfg.run_name / "COMPUTE_REPORT.csv"
    check_output_file(report, force=force, what="report")
    result = run(spec, [layer.op for layer in layers])
    rows = sf.compute_report(layers, result, spec)
    make_dirs(report.parent)
    atomic_write_text(report, sf.format_report(rows))
    if as_json:
        echo_json({"report": str(report), "device": spec.describe(),
                   "mode": "USER" if cfg.user_bandwidth else "CALC",
                   "layers": [dict(zip(_COLUMNS, [layer.name, *row[1:]], strict=True))
                              for layer, row in zip(layers, rows, strict=True)]})
        return
    total = sum(int(r[1]) for r in rows)
    click.echo(f"{len(rows)} layers on {spec.describe()}: {total:,} cycles (incl. prefetch)")
    click.echo(f"wrote {report}")
