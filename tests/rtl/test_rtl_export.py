"""Verilog export: one module per unit, clean ports, lint clean under verilator -Wall."""

from __future__ import annotations

import inspect
import re

import pytest
from rtl_fixtures import adder8

import rtl.units  # noqa: F401  (registers the generators)
from hwsim.errors import HwsimError
from rtl.export import lint, to_verilog, write_verilog, yosys_script
from rtl.unit import GENERATORS, build_unit

UNITS = sorted(GENERATORS)


def _max_pipeline(name: str) -> int:
    depth = 0
    while True:
        try:
            build_unit(name, pipeline=depth + 1)
        except HwsimError:
            return depth
        depth += 1
        if depth > 8:
            return depth


def _header(text: str) -> str:
    start = text.index("module ")
    return text[start:text.index(");", start)]


def test_combinational_module_has_no_clock_or_reset() -> None:
    text = to_verilog(adder8())
    head = _header(text)
    assert "module adder8_p0 (" in head
    assert "clk" not in head and "rst" not in head
    assert "input  wire [7:0] a" in head and "output wire [8:0] y" in head
    assert "always" not in text


def test_pipelined_module_has_clk_then_rst() -> None:
    head = _header(to_verilog(build_unit("int-mul", format="int8", pipeline=2)))
    ports = re.findall(r"(?:input|output)\s+wire\s+(?:\[\d+:0\]\s+)?(\w+)", head)
    assert ports == ["clk", "rst", "a", "b", "y"]


def test_text_is_deterministic_across_builds() -> None:
    # PyRTL's temporaries are numbered process-wide; the export renumbers them
    first = to_verilog(build_unit("int-mac", format="int4", pipeline=1))
    build_unit("int-mul", format="int8")  # advance PyRTL's counters
    assert to_verilog(build_unit("int-mac", format="int4", pipeline=1)) == first


def test_write_refuses_to_overwrite(tmp_path) -> None:
    unit = adder8()
    path = write_verilog(unit, tmp_path / "add.v")
    assert path.read_text().count("module ") == 1
    script = (tmp_path / "add.ys").read_text()
    assert "read_verilog add.v" in script and "stat -tech cmos" in script
    with pytest.raises(HwsimError, match="exists"):
        write_verilog(unit, tmp_path / "add.v")
    write_verilog(unit, tmp_path / "add.v", force=True)


def test_unknown_family_in_script() -> None:
    with pytest.raises(HwsimError, match="unknown FPGA family 'gowin'"):
        yosys_script(adder8(), "x.v", ("gowin",))


@pytest.mark.rtl
@pytest.mark.parametrize("name", UNITS)
def test_every_unit_lints_clean(name: str, tmp_path, verilator) -> None:
    depths = sorted({0, _max_pipeline(name)})
    takes_sat = "saturate" in inspect.signature(GENERATORS[name]).parameters
    for depth in depths:
        kw = {"pipeline": depth}
        if takes_sat and depth:
            kw["saturate"] = True
        unit = build_unit(name, **kw)
        path = write_verilog(unit, tmp_path / f"{unit.name}.v")
        assert lint(path) == [], (unit.name, lint(path))


@pytest.mark.rtl
@pytest.mark.parametrize("pipeline", [0, 3])
def test_block_dot_nvfp4_lints_clean(pipeline: int, tmp_path, verilator) -> None:
    """NVFP4's block-dot (E4M3 scales, a scale-significand multiplier) beside the defaults."""
    unit = build_unit("block-dot", format="nvfp4", pipeline=pipeline)
    path = write_verilog(unit, tmp_path / f"{unit.name}.v")
    assert lint(path) == [], (unit.name, lint(path))


@pytest.mark.rtl
def test_lint_reports_a_real_warning(tmp_path, verilator) -> None:
    bad = tmp_path / "bad.v"
    bad.write_text("module bad(input wire [7:0] a, output wire y);\n"
                   "  assign y = a[0];\nendmodule\n")
    msgs = lint(bad)
    assert any("UNUSEDSIGNAL" in m for m in msgs)


def test_order_seed_reorders_only_the_continuous_assignments() -> None:
    unit = build_unit("convert", format="fp8_e4m3", pipeline=1)
    plain, moved = to_verilog(unit), to_verilog(unit, order_seed=3)
    a, b = plain.splitlines(), moved.splitlines()
    assert moved != plain and sorted(a) == sorted(b)  # the same lines, another order
    assigns = [i for i, line in enumerate(a) if line.lstrip().startswith("assign ")]
    assert [i for i, line in enumerate(b) if line.lstrip().startswith("assign ")] == assigns
    rest = [i for i in range(len(a)) if i not in assigns]
    assert [a[i] for i in rest] == [b[i] for i in rest]  # ports, wires, registers in place
    assert to_verilog(unit, order_seed=3) == moved  # the seed decides the order
    for bad in (-1, 1.5, True):
        with pytest.raises(HwsimError, match="order_seed must be a non-negative integer"):
            to_verilog(unit, order_seed=bad)
