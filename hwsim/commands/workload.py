"""``hwsim workload``: list, show, export and import operator graphs.

A thin layer over :mod:`workloads`; every command has a Python twin there
(``list_workloads``, ``build_workload`` + ``Graph.summary``, ``save_graph``,
``workloads.importers.onnx.import_onnx``).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from hwsim.errors import HwsimError


def _console():
    from rich.console import Console

    return Console(width=max(100, Console().width))


def _precision(fmt: str | None, weight: str | None, act: str | None, acc: str | None,
               kv: str | None, default: str | None):
    """A preset, or a custom precision when any per-role format is given."""
    from workloads import Precision, get_precision

    if not any((weight, act, acc, kv)):
        return get_precision(fmt) if fmt else default
    base = get_precision(fmt or default or "fp16")
    return Precision(
        name="custom", weight=weight or base.weight, act=act or base.act, acc=acc or base.acc,
        out=None if act else base.out, kv=kv or base.kv, hp=base.hp,
    )


def _load_or_build(target: str, phase, seq, batch, kv_len, precision, optimizer):
    import workloads

    path = Path(target)
    if target.endswith(".json") or (path.exists() and path.is_file()):
        if any(v is not None for v in (phase, seq, kv_len)) or batch != 1:
            raise HwsimError("--phase/--seq/--batch/--kv-len apply to built-in workloads, "
                             f"not to a saved graph ({target})")
        graph = workloads.load_graph(path)
        return graph.with_precision(precision) if precision is not None else graph
    return workloads.build_workload(target, phase=phase, seq=seq, batch=batch, kv_len=kv_len,
                                    precision=precision, optimizer=optimizer)


_precision_options = [
    click.option("--format", "fmt", metavar="PRECISION",
                 help="Precision preset (fp16, fp8, w4a8, w1.58a8, mxfp4, ...; see "
                      "'hwsim workload precisions')."),
    click.option("--weight-format", "weight", metavar="FMT", help="Override the weight format."),
    click.option("--act-format", "act", metavar="FMT", help="Override the activation format."),
    click.option("--acc-format", "acc", metavar="FMT", help="Override the accumulator format."),
    click.option("--kv-format", "kv", metavar="FMT", help="Override the KV-cache format."),
]
_build_options = [
    click.option("--phase", type=click.Choice(["prefill", "decode", "inference", "train"]),
                 help="LLMs: prefill (default) or decode; MLPerf Tiny models: inference or "
                      "train."),
    click.option("--seq", type=click.IntRange(min=1), help="Prefill sequence length "
                                                           "(default 2048)."),
    click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True),
    click.option("--kv-len", type=click.IntRange(min=1),
                 help="Decode: positions attended, cache plus the new token (default 2048)."),
    click.option("--optimizer", type=click.Choice(["sgd", "momentum", "adam"]), default="sgd",
                 show_default=True, help="Optimizer of training graphs."),
]


def _apply(options):
    def deco(f):
        for opt in reversed(options):
            f = opt(f)
        return f
    return deco


@click.group("workload")
def workload() -> None:
    """Built-in and imported operator graphs: MACs, FLOPs, bytes and parameters."""


@workload.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_cmd(as_json: bool) -> None:
    """List the built-in workloads."""
    from workloads import list_workloads

    infos = list_workloads()
    if as_json:
        click.echo(json.dumps([
            {"name": i.name, "family": i.family, "phases": list(i.phases),
             "description": i.description} for i in infos
        ], indent=1))
        return
    from rich.table import Table

    tab = Table(title="built-in workloads")
    for col in ("name", "family", "phases", "description"):
        tab.add_column(col)
    for i in infos:
        tab.add_row(i.name, i.family, ", ".join(i.phases), i.description)
    _console().print(tab)


@workload.command("show")
@click.argument("target", metavar="NAME|FILE.json")
@_apply(_build_options)
@_apply(_precision_options)
@click.option("--ops", "per_op", is_flag=True, help="One row per op instead of per op type.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def show_cmd(target, phase, seq, batch, kv_len, optimizer, fmt, weight, act, acc, kv, per_op,
             as_json) -> None:
    """Totals of a built-in workload (NAME) or a saved graph (FILE.json)."""
    precision = _precision(fmt, weight, act, acc, kv, None)
    graph = _load_or_build(target, phase, seq, batch, kv_len, precision, optimizer)
    if as_json:
        out = graph.summary()
        if per_op:
            from workloads import Totals

            out["ops_detail"] = [
                {"name": op.name, "op": op.OP_TYPE, **Totals.of([op]).as_dict()}
                for op in graph.ops
            ]
        click.echo(json.dumps(out, indent=1))
        return
    _console().print(graph.table(per_op=per_op))


@workload.command("export")
@click.argument("name")
@_apply(_build_options)
@_apply(_precision_options)
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="Where to write the graph JSON.")
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
def export_cmd(name, phase, seq, batch, kv_len, optimizer, fmt, weight, act, acc, kv, output,
               force) -> None:
    """Write a built-in workload's graph as JSON (schema hwsim.workload v1)."""
    from workloads import build_workload, save_graph

    precision = _precision(fmt, weight, act, acc, kv, None)
    graph = build_workload(name, phase=phase, seq=seq, batch=batch, kv_len=kv_len,
                           precision=precision, optimizer=optimizer)
    path = save_graph(graph, output, force=force)
    click.echo(f"wrote {path} ({len(graph)} ops)")


@workload.command("import")
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="Where to write the graph JSON.")
@click.option("--name", help="Graph name (default: the file name).")
@_apply(_precision_options)
@click.option("--keep-unsupported", is_flag=True,
              help="Keep unknown operators as opaque elementwise ops (with a warning) "
                   "instead of failing.")
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
def import_cmd(model, output, name, fmt, weight, act, acc, kv, keep_unsupported,
               force) -> None:
    """Import an ONNX model (MODEL.onnx) into a graph JSON."""
    import warnings

    from workloads.importers.onnx import import_onnx

    from workloads import save_graph

    precision = _precision(fmt, weight, act, acc, kv, "fp16")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        graph = import_onnx(model, name=name, precision=precision,
                            keep_unsupported=keep_unsupported)
    for w in caught:
        click.echo(f"warning: {w.message}", err=True)
    path = save_graph(graph, output, force=force)
    t = graph.totals
    click.echo(f"wrote {path} ({t.ops} ops, {t.params} params, {t.macs} MACs)")


@workload.command("precisions")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def precisions_cmd(as_json: bool) -> None:
    """List the precision presets usable with --format."""
    from workloads import PRECISIONS

    rows = [(p.name, p.weight, p.act, p.acc, p.out_fmt, p.kv_fmt, p.hp)
            for p in PRECISIONS.values()]
    cols = ("name", "weight", "act", "acc", "out", "kv", "hp")
    if as_json:
        click.echo(json.dumps([dict(zip(cols, r, strict=True)) for r in rows], indent=1))
        return
    from rich.table import Table

    tab = Table(title="precision presets")
    for c in cols:
        tab.add_column(c)
    for r in rows:
        tab.add_row(*r)
    _console().print(tab)
