"""``hwsim rtl``: export, verify and synthesize the generated arithmetic units.

A thin layer over :mod:`rtl` (``build_unit``, ``write_verilog``, ``verify_unit``,
``synthesize``); every option maps onto a generator parameter or an API argument.
"""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path
from typing import Any

import click

from hwsim.errors import HwsimError


def _unit_options(fn):
    opts = [
        click.argument("unit"),
        click.option("--format", "-f", "fmt", default=None,
                     help="Number format, e.g. fp8_e4m3fn, bf16, int8 (default: the unit's)."),
        click.option("--pipeline", "-p", default=0, show_default=True, type=int,
                     help="Register stages (0 = combinational)."),
        click.option("--saturate", is_flag=True, help="Saturate on overflow instead of Inf/NaN."),
        click.option("--acc", default=None, help="Accumulator format or width (MAC units)."),
        click.option("--block", "block_size", default=None, type=int,
                     help="Block size (block units)."),
        click.option("--mul", default=None, help="Multiplier of a MAC: exact or lmul."),
        click.option("--direction", default=None,
                     help="Converter direction: to (fp32 -> format) or from (format -> fp32)."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def _register_units() -> None:
    # importlib: the click group below is named ``rtl`` too
    importlib.import_module("rtl.units")


def _build(unit: str, fmt: str | None, pipeline: int, saturate: bool, acc: str | None,
           block_size: int | None, mul: str | None = None, direction: str | None = None):
    """Build ``unit`` from the CLI options the user gave; options it does not take are errors."""
    from rtl.unit import GENERATORS, build_unit

    _register_units()

    if unit not in GENERATORS:
        return build_unit(unit)  # raises the project's error listing the known units
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
    accepted = inspect.signature(GENERATORS[unit]).parameters
    for flag, name in flags.items():
        if name not in accepted:
            if name == "pipeline" and pipeline == 0:
                params.pop("pipeline")
                continue
            raise HwsimError(f"unit {unit!r} has no option {flag}; it takes: "
                             f"{', '.join('--' + p for p in accepted) or 'none'}")
    return build_unit(unit, **params)


@click.group()
def rtl() -> None:
    """Generated arithmetic units: Verilog export, verification, synthesis."""


@rtl.command("units")
def units_cmd() -> None:
    """List the unit generators."""
    from rtl.unit import GENERATORS

    _register_units()

    for name in sorted(GENERATORS):
        sig = inspect.signature(GENERATORS[name])
        opts = ", ".join(f"{p}={v.default!r}" for p, v in sig.parameters.items())
        click.echo(f"{name:15s} {opts}")


@rtl.command("export")
@_unit_options
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Verilog file to write (default: <module name>.v); the .ys script goes beside.")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
def export_cmd(unit, fmt, pipeline, saturate, acc, block_size, mul, direction, output,
               force) -> None:
    """Write UNIT as one Verilog module plus a Yosys script beside it."""
    from rtl.export import write_verilog

    u = _build(unit, fmt, pipeline, saturate, acc, block_size, mul, direction)
    path = write_verilog(u, output or Path(f"{u.name}.v"), force=force)
    ports = ", ".join([*(["clk"] if u.has_reset else []), *(["rst"] if u.has_reset else []),
                       *(f"{p}[{w}]" for p, w in u.inputs.items()),
                       *(f"{p}[{w}]" for p, w in u.outputs.items())])
    click.echo(f"wrote {path} (module {u.name}: {ports}; latency {u.latency}) "
               f"and {path.with_suffix('.ys')}")


@rtl.command("verify")
@_unit_options
@click.option("--random", "n_random", default=100_000, show_default=True, type=int,
              help="Random vectors when not exhaustive.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--exhaustive/--no-exhaustive", default=None,
              help="Force or forbid all operand combinations (default: when inputs <= 16 bits).")
@click.option("--pyrtl", "with_pyrtl", is_flag=True,
              help="Also simulate the same vectors in PyRTL's simulator.")
@click.option("--build-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where Verilator builds are cached (default: build/rtl).")
def verify_cmd(unit, fmt, pipeline, saturate, acc, block_size, mul, direction, n_random, seed,
               exhaustive, with_pyrtl, build_dir) -> None:
    """Check UNIT in Verilator (cocotb) against the hwsim.numerics reference."""
    from rtl.verify import make_vectors, verify_unit

    if n_random < 1:
        raise HwsimError(f"--random must be at least 1, got {n_random}")
    u = _build(unit, fmt, pipeline, saturate, acc, block_size, mul, direction)
    vectors, exh = make_vectors(u, exhaustive=exhaustive, n_random=n_random, seed=seed)
    results = [verify_unit(u, vectors, exhaustive=exh, build_dir=build_dir)]
    if with_pyrtl:
        from rtl.pyrtl_sim import verify_pyrtl

        results.append(verify_pyrtl(u, vectors, exhaustive=exh))
    for r in results:
        click.echo(r.summary())
    if any(not r.ok for r in results):
        raise click.exceptions.Exit(1)


@rtl.command("synth")
@_unit_options
@click.option("--family", "families", multiple=True, default=("ice40", "ecp5"),
              show_default=True, help="FPGA family: ice40, ecp5, xilinx (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--build-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where synthesis runs are cached (default: build/rtl).")
def synth_cmd(unit, fmt, pipeline, saturate, acc, block_size, mul, direction, families, as_json,
              build_dir) -> None:
    """Synthesize UNIT with Yosys: CMOS cells, transistors, FPGA LUTs, depth, PyRTL estimates."""
    from rtl.synth import synthesize

    u = _build(unit, fmt, pipeline, saturate, acc, block_size, mul, direction)
    report = synthesize(u, families=families, build_dir=build_dir)
    if as_json:
        click.echo(json.dumps(report.to_dict()))
    else:
        click.echo(report.summary())
