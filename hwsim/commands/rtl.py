"""``hwsim rtl``: export, verify and synthesize the generated arithmetic units.

A thin layer over :mod:`rtl` (``build_unit``, ``write_verilog``, ``verify_unit``,
``synthesize``); every option maps onto a generator parameter or an API argument.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any

import click

from hwsim.commands.options import (
    COUNT,
    SEED,
    SIZE,
    OutputPath,
    echo_json,
    force_option,
    json_option,
    out_option,
)
from hwsim.errors import HwsimError


def unit_options(fn):
    """UNIT and the generator options (shared with ``hwsim cost predict``)."""
    opts = [
        click.argument("unit"),
        click.option("--format", "-f", "fmt", default=None,
                     help="Number format, e.g. fp8_e4m3fn, bf16, int8 (default: the unit's)."),
        click.option("--pipeline", "-p", default=0, show_default=True, type=COUNT,
                     help="Register stages (0 = combinational)."),
        click.option("--saturate", is_flag=True, help="Saturate on overflow instead of Inf/NaN."),
        click.option("--acc", default=None, help="Accumulator format or width (MAC units)."),
        click.option("--block", "block_size", default=None, type=SIZE,
                     help="Block size (block units)."),
        click.option("--mul", default=None, help="Multiplier of a MAC: exact or lmul."),
        click.option("--direction", default=None,
                     help="Converter direction: to (fp32 -> format) or from (format -> fp32)."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def lut_options(fn):
    """The LUT tensor core units' options (``hwsim rtl`` only): group size and tile."""
    opts = [
        click.option("--k", "k", default=None, type=int,
                     help="LUT units: activations per table (group size K, 2..6)."),
        click.option("--m", "m", default=None, type=int,
                     help="lut-mpgemm: tile rows (one table each)."),
        click.option("--n", "n", default=None, type=int,
                     help="lut-mpgemm: tile columns (weight columns sharing a table)."),
        click.option("--weight-bits", "weight_bits", default=None, type=int,
                     help="lut-mpgemm: weight bits, 1..4 (bit-serial planes)."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


#: lut_options' keywords and their flags
LUT_FLAGS = {"k": "--k", "m": "--m", "n": "--n", "weight_bits": "--weight-bits"}


def _register_units() -> None:
    # importlib: the click group below is named ``rtl`` too
    importlib.import_module("rtl.units")


def unit_params(unit: str, fmt: str | None, pipeline: int, saturate: bool, acc: str | None,
                block_size: int | None, mul: str | None = None,
                direction: str | None = None, **lut: int | None) -> dict[str, Any]:
    """The generator keywords of the CLI options the user gave; options ``unit`` does not take
    are errors (shared by ``hwsim rtl`` and ``hwsim cost predict``). ``lut``: the
    :func:`lut_options` values (``hwsim rtl`` only)."""
    from rtl.unit import GENERATORS, build_unit

    _register_units()

    if unit not in GENERATORS:
        build_unit(unit)  # raises the project's error listing the known units
    params: dict[str, Any] = {"pipeline": pipeline}
    flags = {"--pipeline": "pipeline"}
    if fmt is not None:
        params["format"], flags["--format"] = fmt, "format"
    if saturate:
        params["saturate"], flags["--saturate"] = True, "saturate"
    if acc is not None:
        params["acc"], flags["--acc"] = (int(acc) if acc.isdigit() else acc), "acc"
    if block_size is not None:
        params["block"], flags["--block"] = block_size, "block"
    if mul is not None:
        params["mul"], flags["--mul"] = mul, "mul"
    if direction is not None:
        params["direction"], flags["--direction"] = direction, "direction"
    for name, value in lut.items():
        if value is not None:
            params[name], flags[LUT_FLAGS[name]] = value, name
    accepted = inspect.signature(GENERATORS[unit]).parameters
    for flag, name in flags.items():
        if name not in accepted:
            if name == "pipeline" and pipeline == 0:
                params.pop("pipeline")
                continue
            raise HwsimError(f"unit {unit!r} has no option {flag}; it takes: "
                             f"{', '.join('--' + p for p in accepted) or 'none'}")
    return params


def _build(unit: str, fmt: str | None, pipeline: int, saturate: bool, acc: str | None,
           block_size: int | None, mul: str | None = None, direction: str | None = None,
           **lut: int | None):
    """Build ``unit`` from the CLI options the user gave; options it does not take are errors."""
    from rtl.unit import build_unit

    return build_unit(unit, **unit_params(unit, fmt, pipeline, saturate, acc, block_size, mul,
                                          direction, **lut))


_build_dir_option = click.option(
    "--build-dir", type=OutputPath(folder=True), default=Path("build") / "rtl",
    show_default=True, help="Where builds are cached (reused across runs).")


@click.group()
def rtl() -> None:
    """Generated arithmetic units: Verilog export, verification, synthesis."""


@rtl.command("units")
@json_option
def units_cmd(as_json: bool) -> None:
    """List the unit generators."""
    from rtl.unit import GENERATORS

    _register_units()

    units = {name: {p: v.default for p, v in inspect.signature(GENERATORS[name]).parameters
                    .items()} for name in sorted(GENERATORS)}
    if as_json:
        echo_json({"units": units})
        return
    for name, params in units.items():
        click.echo(f"{name:15s} " + ", ".join(f"{p}={v!r}" for p, v in params.items()))


@rtl.command("export")
@unit_options
@lut_options
@out_option(default=None,
            help="Verilog file to write (default: <module name>.v); the .ys script goes beside.")
@force_option
@json_option
def export_cmd(unit, fmt, pipeline, saturate, acc, block_size, mul, direction, out,
               force, as_json, **lut) -> None:
    """Write UNIT as one Verilog module plus a Yosys script beside it."""
    from hwsim.io import check_output_file
    from rtl.export import script_path, write_verilog

    def check(path: Path) -> None:
        for p in (path, script_path(path)):
            check_output_file(p, force=force)

    if out is not None:
        check(out)
    u = _build(unit, fmt, pipeline, saturate, acc, block_size, mul, direction, **lut)
    if out is None:
        check(out := Path(f"{u.name}.v"))
    path = write_verilog(u, out, force=force)
    ports = [*(["clk"] if u.has_reset else []), *(["rst"] if u.has_reset else []),
             *(f"{p}[{w}]" for p, w in u.inputs.items()),
             *(f"{p}[{w}]" for p, w in u.outputs.items())]
    if as_json:
        echo_json({"verilog": str(path), "script": str(script_path(path)), "module": u.name,
                   "ports": ports, "latency_cycles": u.latency})
        return
    click.echo(f"wrote {path} (module {u.name}: {', '.join(ports)}; latency {u.latency}) "
               f"and {script_path(path)}")


@rtl.command("verify")
@unit_options
@lut_options
@click.option("--random", "n_random", default=100_000, show_default=True, type=SIZE,
              help="Random vectors when not exhaustive.")
@click.option("--seed", default=0, show_default=True, type=SEED)
@click.option("--exhaustive/--no-exhaustive", default=None,
              help="Force or forbid all operand combinations (default: when inputs <= 16 bits).")
@click.option("--pyrtl", "with_pyrtl", is_flag=True,
              help="Also simulate the same vectors in PyRTL's simulator.")
@_build_dir_option
@json_option
def verify_cmd(unit, fmt, pipeline, saturate, acc, block_size, mul, direction, n_random, seed,
               exhaustive, with_pyrtl, build_dir, as_json, **lut) -> None:
    """Check UNIT in Verilator (cocotb) against the hwsim.numerics reference."""
    from rtl.verify import make_vectors, verify_unit

    u = _build(unit, fmt, pipeline, saturate, acc, block_size, mul, direction, **lut)
    vectors, exh = make_vectors(u, exhaustive=exhaustive, n_random=n_random, seed=seed)
    results = [verify_unit(u, vectors, exhaustive=exh, build_dir=build_dir)]
    if with_pyrtl:
        from rtl.pyrtl_sim import verify_pyrtl

        results.append(verify_pyrtl(u, vectors, exhaustive=exh))
    if as_json:
        from dataclasses import asdict

        echo_json({"unit": u.name, "ok": all(r.ok for r in results),
                   "results": [{**asdict(r), "ok": r.ok} for r in results]})
    else:
        for r in results:
            click.echo(r.summary())
    if any(not r.ok for r in results):
        raise click.exceptions.Exit(1)


@rtl.command("synth")
@unit_options
@lut_options
@click.option("--family", "families", multiple=True, default=("ice40", "ecp5"),
              show_default=True, help="FPGA family: ice40, ecp5, xilinx (repeatable).")
@json_option
@_build_dir_option
def synth_cmd(unit, fmt, pipeline, saturate, acc, block_size, mul, direction, families, as_json,
              build_dir, **lut) -> None:
    """Synthesize UNIT with Yosys: CMOS cells, transistors, FPGA LUTs, depth, PyRTL estimates."""
    from rtl.synth import synthesize

    u = _build(unit, fmt, pipeline, saturate, acc, block_size, mul, direction, **lut)
    report = synthesize(u, families=families, build_dir=build_dir)
    if as_json:
        echo_json(report.to_dict())
    else:
        click.echo(report.summary())
