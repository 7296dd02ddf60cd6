"""``hwsim workload``: list, show, export and import operator graphs.

A thin layer over :mod:`workloads`; every command has a Python twin there
(``list_workloads``, ``build_workload`` + ``Graph.summary``, ``save_graph``,
``workloads.importers.onnx.import_onnx``).
"""

from __future__ import annotations

from pathlib import Path

import click

from hwsim.commands.options import echo_json, force_option, json_option, out_option
from hwsim.errors import HwsimError


def _console():
    from rich.console import Console

    return Console(width=max(100, Console().width))


def format_precision(fmt: str):
    """Every operand in the number format ``fmt``, accumulated in fp32 (int32 for integers).

    The old spelling ``--format PRESET`` still works where PRESET names no number format
    (``fp8``, ``w4a8``, ...), with a warning; anything else is an error that points to
    ``--precision``.
    """
    from hwsim.numerics import IntFormat, resolve
    from workloads import PRECISIONS, Precision, format_bits, get_precision

    name = fmt.strip().lower()
    try:
        format_bits(name)
    except HwsimError as exc:
        if name in PRECISIONS:
            click.echo(f"warning: --format {fmt} is a precision preset; use --precision {fmt}",
                       err=True)
            return get_precision(name)
        raise HwsimError(f"{exc}; --format names a number format (see 'hwsim formats'), "
                         f"presets go to --precision ({', '.join(PRECISIONS)})") from None
    is_int = isinstance(resolve(name), IntFormat)  # block formats accumulate in fp32
    return Precision(name=name, weight=name, act=name, acc="int32" if is_int else "fp32",
                     out=name, kv=name, hp=name)


def resolve_precision(fmt: str | None, precision: str | None, weight: str | None,
                      act: str | None, acc: str | None, kv: str | None, default: str | None):
    """The precision the options ask for: ``--format`` or ``--precision`` (else ``default``,
    a preset name or None for "the workload's own"), with the per-role overrides applied."""
    from workloads import Precision, get_precision

    if fmt is not None and precision is not None:
        raise HwsimError("give --format (one number format) or --precision (a preset), "
                         "not both")
    base = format_precision(fmt) if fmt is not None else (
        get_precision(precision) if precision is not None else None)
    if not any((weight, act, acc, kv)):
        return base if base is not None else default
    base = base or get_precision(default or "fp16")
    return Precision(
        name="custom", weight=weight or base.weight, act=act or base.act, acc=acc or base.acc,
        out=None if act else base.out, kv=kv or base.kv, hp=base.hp,
    )


_precision_options = [
    click.option("--format", "fmt", metavar="FORMAT",
                 help="One number format for every operand (fp8_e4m3fn, int8, mxfp4, ...; "
                      "see 'hwsim formats'); accumulates in fp32, int32 for integers."),
    click.option("--precision", metavar="PRESET",
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


#: --format, --precision and the per-role --*-format overrides (``resolve_precision``)
precision_options = _apply(_precision_options)


@click.group("workload")
def workload() -> None:
    """Built-in and imported operator graphs: MACs, FLOPs, bytes and parameters."""


@workload.command("list")
@json_option
def list_cmd(as_json: bool) -> None:
    """List the built-in workloads."""
    from workloads import list_workloads

    infos = list_workloads()
    if as_json:
        echo_json({"workloads": [
            {"name": i.name, "family": i.family, "phases": list(i.phases),
             "description": i.description} for i in infos
        ]})
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
@precision_options
@click.option("--ops", "per_op", is_flag=True, help="One row per op instead of per op type.")
@json_option
def show_cmd(target, phase, seq, batch, kv_len, optimizer, fmt, precision, weight, act, acc, kv,
             per_op, as_json) -> None:
    """Totals of a built-in workload (NAME) or a saved graph (FILE.json)."""
    from hwsim.api import resolve_workload  # lazy: CLI start-up time

    prec = resolve_precision(fmt, precision, weight, act, acc, kv, None)
    graph = resolve_workload(target, phase=phase, seq=seq, batch=batch, kv_len=kv_len,
                             precision=prec, optimizer=optimizer)
    if as_json:
        out = graph.summary()
        if per_op:
            from workloads import Totals

            out["ops_detail"] = [
                {"name": op.name, "op": op.OP_TYPE, **Totals.of([op]).as_dict()}
                for op in graph.ops
            ]
        echo_json(out)
        return
    _console().print(graph.table(per_op=per_op))


def _write_graph(graph, out: Path, force: bool, as_json: bool) -> None:
    from workloads import save_graph

    path = save_graph(graph, out, force=force)
    t = graph.totals
    if as_json:
        echo_json({"path": str(path), "name": graph.name, "ops": t.ops, "params": t.params,
                   "macs": t.macs})
    else:
        click.echo(f"wrote {path} ({t.ops} ops, {t.params} params, {t.macs} MACs)")


@workload.command("export")
@click.argument("name")
@_apply(_build_options)
@precision_options
@out_option(required=True, help="Where to write the graph JSON.")
@force_option
@json_option
def export_cmd(name, phase, seq, batch, kv_len, optimizer, fmt, precision, weight, act, acc, kv,
               out, force, as_json) -> None:
    """Write a built-in workload's graph as JSON (schema hwsim.workload v1)."""
    from hwsim.io import check_output_file
    from workloads import build_workload

    check_output_file(out, force=force)
    prec = resolve_precision(fmt, precision, weight, act, acc, kv, None)
    graph = build_workload(name, phase=phase, seq=seq, batch=batch, kv_len=kv_len,
                           precision=prec, optimizer=optimizer)
    _write_graph(graph, out, force, as_json)


@workload.command("import")
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@out_option(required=True, help="Where to write the graph JSON.")
@click.option("--name", help="Graph name (default: the file name).")
@precision_options
@click.option("--keep-unsupported", is_flag=True,
              help="Keep unknown operators as opaque elementwise ops (with a warning) "
                   "instead of failing.")
@force_option
@json_option
def import_cmd(model, out, name, fmt, precision, weight, act, acc, kv, keep_unsupported,
               force, as_json) -> None:
    """Import an ONNX model (MODEL.onnx) or a torch.export program (MODEL.pt2, written by
    torch.export.save) into a graph JSON."""
    import warnings

    from hwsim.io import check_output_file

    suffix = Path(model).suffix.lower()
    if suffix == ".onnx":
        from workloads.importers.onnx import import_onnx as importer
    elif suffix == ".pt2":
        from workloads.importers.torch import import_exported as importer
    else:
        raise HwsimError(f"cannot import {model}: expected an .onnx file or a .pt2 file "
                         f"(torch.export.save), got {suffix or 'no suffix'}")
    check_output_file(out, force=force)
    prec = resolve_precision(fmt, precision, weight, act, acc, kv, "fp16")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        graph = importer(model, name=name, precision=prec, keep_unsupported=keep_unsupported)
    for w in caught:
        click.echo(f"warning: {w.message}", err=True)
    _write_graph(graph, out, force, as_json)


@workload.command("precisions")
@json_option
def precisions_cmd(as_json: bool) -> None:
    """List the precision presets usable with --precision."""
    from workloads import PRECISIONS

    rows = [(p.name, p.weight, p.act, p.acc, p.out_fmt, p.kv_fmt, p.hp)
            for p in PRECISIONS.values()]
    cols = ("name", "weight", "act", "acc", "out", "kv", "hp")
    if as_json:
        echo_json({"precisions": [dict(zip(cols, r, strict=True)) for r in rows]})
        return
    from rich.table import Table

    tab = Table(title="precision presets")
    for c in cols:
        tab.add_column(c)
    for r in rows:
        tab.add_row(*r)
    _console().print(tab)
