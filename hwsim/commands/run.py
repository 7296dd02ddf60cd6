"""``hwsim run``: simulate a workload or a single op on a device.

A thin layer over :func:`hwsim.api.simulate` (device from a kind, preset or file).
``--json`` prints one object whose ``compute_cycles`` is SCALE-Sim's "Total Cycles" and
``total_cycles`` its "Total Cycles (incl. prefetch)" (with stalls when ``--bandwidth`` is set).
"""

from __future__ import annotations

import click

from hwsim.commands.options import SIZE, FiniteFloat, OutputPath, echo_json, json_option
from hwsim.commands.workload import precision_options, resolve_precision
from hwsim.errors import HwsimError


def _ints(text: str, what: str, n_min: int, n_max: int) -> list[int]:
    try:
        vals = [int(v) for v in text.replace("x", ",").split(",") if v.strip()]
    except ValueError:
        vals = []
    if not n_min <= len(vals) <= n_max or any(v < 0 for v in vals):
        raise HwsimError(f"{what} expects {n_min}..{n_max} comma-separated non-negative "
                         f"integers, got {text!r}")
    return vals


def _single_op(gemm: str | None, conv: str | None, p):
    """A one-op graph named after the op's shape."""
    from workloads import Conv2d, Graph, MatMul

    if gemm is not None:
        m, k, n = _ints(gemm, "--gemm M,K,N", 3, 3)
        op = MatMul(name="gemm", a_shape=(m, k), b_shape=(k, n))
        return Graph(f"gemm {m}x{k}x{n}", (op.with_precision(p),))
    assert conv is not None
    v = _ints(conv, "--conv CIN,H,W,COUT,KH,KW[,STRIDE[,PAD]]", 6, 8)
    cin, h, w, cout, kh, kw = v[:6]
    stride = v[6] if len(v) > 6 else 1
    pad = v[7] if len(v) > 7 else 0
    op = Conv2d(name="conv", x_shape=(1, cin, h, w), out_channels=cout, kernel=(kh, kw),
                stride=(stride, stride), padding=(pad, pad, pad, pad))
    return Graph(f"conv {cin}x{h}x{w}->{cout} k{kh}x{kw} s{stride} p{pad}",
                 (op.with_precision(p),))


@click.command("run")
@click.option("--device", "device", default="systolic", show_default=True,
              metavar="NAME|FILE.yaml",
              help="A device kind, a preset ('hwsim devices' lists them, e.g. "
                   "fpga:pynq-z2:int8-dsp) or a device YAML/JSON file.")
@click.option("--set", "settings", multiple=True, metavar="FIELD=VALUE",
              help="Override one field of the device spec (repeatable; 'hwsim devices NAME' "
                   "lists the fields), e.g. --set vector_lanes=64.")
@click.option("--workload", "-w", metavar="NAME|FILE.json",
              help="Built-in workload (see 'hwsim workload list') or a saved graph.")
@click.option("--gemm", metavar="M,K,N", help="A single GEMM: M x K times K x N.")
@click.option("--conv", metavar="CIN,H,W,COUT,KH,KW[,STRIDE[,PAD]]",
              help="A single conv layer (batch 1, square stride and padding).")
@precision_options
@click.option("--phase", default=None, help="prefill/decode for LLMs.")
@click.option("--seq", type=SIZE, default=None, help="Prompt length (LLM prefill).")
@click.option("--kv-len", type=SIZE, default=None, help="KV-cache length (LLM decode).")
@click.option("--batch", type=SIZE, default=1, show_default=True)
@click.option("--layers", type=SIZE, default=None,
              help="Simulate only the first N ops of the workload (1 to its op count).")
@click.option("--blocks", type=SIZE, default=None,
              help="Build only the first N transformer blocks of an LLM (no embedding, final "
                   "norm or LM head).")
@click.option("--tp", type=SIZE, default=None,
              help="Tensor-parallel degree on a GPU: the graph is sharded Megatron-style over "
                   "N GPUs joined by NVLink and one GPU's time is reported (sets 'tp').")
@click.option("--array", "array", default=None, metavar="RxC",
              help="Systolic array size, e.g. 32x32 (sets rows and cols).")
@click.option("--dataflow", type=click.Choice(["os", "ws", "is"]), default=None)
@click.option("--sram-kb", default=None, metavar="I,F,O",
              help="ifmap, filter, ofmap SRAM sizes in KiB (e.g. 64,64,64).")
@click.option("--bandwidth", type=FiniteFloat(), default=None, metavar="WORDS",
              help="DRAM words per cycle (default: SCALE-Sim CALC mode, no stalls).")
@click.option("--memory-model", type=click.Choice(["tiles", "scalesim"]), default=None,
              help="Stalls under --bandwidth: whole double-buffered tiles (default) or "
                   "SCALE-Sim 3.0.0's set-based buffers, replayed exactly.")
@click.option("--costs", type=click.Choice(["analytical", "learned"]), default="analytical",
              show_default=True,
              help="Per-MAC energy: Horowitz's 45 nm table or the learned (Yosys-trained) model.")
@click.option("--clock-mhz", type=FiniteFloat(), default=None, help="Clock (MHz, > 0).")
@click.option("--schedule", type=click.Choice(["layer", "patch"]), default=None,
              help="How an MCU runs the network through its SRAM: layer by layer, or a "
                   "patch-based first stage (MCUNetV2); sets the device's 'schedule' field.")
@json_option
@click.option("--trace", "trace_path", type=OutputPath(), default=None,
              help="Write a Chrome trace (open in ui.perfetto.dev).")
@click.option("--report", "report_dir", type=OutputPath(folder=True), default=None,
              metavar="DIR", help="Write an HTML report of the run (per-op table, energy by "
                                  "component, roofline on a GPU) to DIR/report.html, its PNGs "
                                  "to DIR/report_figures/.")
@click.option("--force", is_flag=True, help="Overwrite an existing --trace file or --report.")
def run(device, settings, workload, gemm, conv, fmt, precision, weight, act, acc, kv, phase,
        seq, kv_len, batch, layers, array, dataflow, sram_kb, bandwidth, memory_model, costs,
        clock_mhz, as_json, trace_path, force, report_dir=None, schedule=None, blocks=None,
        tp=None) -> None:
    """Simulate a workload or a single op on a device.

    --format puts every operand in one number format (accumulating in fp32, or int32 for
    integer formats); --precision takes a preset (int8, fp8, w4a8, ...; default: int8 for
    single ops, the workload's own otherwise); the --*-format options override one operand
    role. --array/--dataflow/--sram-kb/--bandwidth/--memory-model are the systolic array's
    fields; --set FIELD=VALUE sets any device's."""
    from hwsim.api import resolve_device, resolve_workload, simulate
    from hwsim.devices.systolic import parse_array
    from hwsim.engine import chrome_trace
    from hwsim.io import atomic_write_json, check_output_file

    if sum(x is not None for x in (workload, gemm, conv)) != 1:
        raise HwsimError("give exactly one of --workload, --gemm M,K,N or --conv ...")
    if trace_path:
        check_output_file(trace_path, force=force, what="trace file")
    if report_dir is not None:
        from hwsim.report.html import check_outputs
        from hwsim.report.run import REPORT_NAME

        check_outputs(report_dir / REPORT_NAME, force=force)
    single = workload is None
    prec = resolve_precision(fmt, precision, weight, act, acc, kv, "int8" if single else None)
    over: dict = _settings(settings)
    over.update({"dataflow": dataflow, "bandwidth_words": bandwidth, "clock_mhz": clock_mhz,
                 "memory_model": memory_model, "tp": tp})
    if array is not None:
        over["rows"], over["cols"] = parse_array(array)
    if sram_kb is not None:
        over["sram_kb"] = tuple(_ints(sram_kb, "--sram-kb I,F,O", 3, 3))
    spec = resolve_device(device, **over)
    if schedule is not None:
        spec = _with_schedule(spec, schedule)
    if workload is not None:
        graph = resolve_workload(workload, phase=phase, seq=seq, batch=batch, kv_len=kv_len,
                                 precision=prec, blocks=blocks)
        if layers is not None and layers > len(graph.ops):
            raise HwsimError(f"--layers must be from 1 to {len(graph.ops)} (the ops of "
                             f"{graph.name}), got {layers}")
    else:
        given = [o for o, v in (("--phase", phase), ("--seq", seq), ("--kv-len", kv_len),
                                ("--layers", layers), ("--blocks", blocks)) if v is not None]
        if given or batch != 1:
            raise HwsimError(f"{'/'.join(given or ['--batch'])} applies to --workload, not to a "
                             "single --gemm/--conv")
        graph = _single_op(gemm, conv, prec)
    res = simulate(spec, graph, costs=costs, trace=trace_path is not None, layers=layers)
    if trace_path:
        atomic_write_json(trace_path, chrome_trace(res.trace, res.clock_mhz, res.workload))
    report = None
    if report_dir is not None:
        from hwsim.report import write_run_report

        report = write_run_report(report_dir, spec, res, force=force)
    if as_json:
        echo_json({**res.to_dict(), **({"report": report} if report else {})})
        return
    from rich.console import Console
    from rich.table import Table

    con = Console(width=max(140, Console().width))
    con.print(res.summary())
    t = Table("op", "type", "unit", "MACs", "compute cyc", "total cyc", "stalls", "util",
              "detail")
    for o in res.ops[:60]:
        t.add_row(o.name, o.op_type, o.unit, f"{o.macs:,}", f"{o.compute_cycles:,}",
                  f"{o.total_cycles:,}", f"{o.stall_cycles:,}", f"{o.utilisation:.0%}",
                  o.detail)
    con.print(t)
    if len(res.ops) > 60:
        con.print(f"... {len(res.ops) - 60} more ops (use --json for all)")
    for n in res.notes:
        con.print(f"note: {n}")
    if trace_path:
        con.print(f"trace: {trace_path}")
    if report:
        con.print(f"report: {report['html']}")


def _with_schedule(spec, schedule: str):
    """``spec`` with its ``schedule`` field set; one error for a device without the field."""
    import dataclasses

    from hwsim.api import resolve_device
    from hwsim.devices import kind_of

    if "schedule" not in {f.name for f in dataclasses.fields(spec)}:
        raise HwsimError(f"--schedule applies to a device with a 'schedule' field (the cortexm "
                         f"kind); {kind_of(spec).name} device {spec.name!r} has none")
    return resolve_device(spec, schedule=schedule)


def _settings(items: tuple[str, ...]) -> dict:
    """``--set FIELD=VALUE`` pairs; values are read as YAML scalars or lists (``16``,
    ``2.5``, ``null``, ``[64, 64, 64]``), then checked against the device's spec."""
    import yaml

    out: dict = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise HwsimError(f"--set expects FIELD=VALUE, got {item!r}")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            raise HwsimError(f"--set {key.strip()}: cannot read value {text!r}") from None
        out[key.strip()] = value
    return out
