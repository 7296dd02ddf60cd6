"""Minifloat multiplier and adder against hwsim.numerics.mul / add: exhaustive for 8-bit
formats, random plus value-level corner cases for 16-bit ones; Verilator (cocotb) and PyRTL."""

from __future__ import annotations

import pytest
from unit_helpers import assert_ok, mid_stream_resets, random_plus_corners, run_verilator

from hwsim.numerics import HwsimError
from rtl.pyrtl_sim import verify_pyrtl
from rtl.unit import build_unit

EIGHT_BIT = ["fp8_e4m3fn", "fp8_e4m3", "fp8_e5m2", "fp8_e4m3fnuz", "fp8_e5m2fnuz", "fp8_e3m4"]
NARROW = ["fp6_e3m2fn", "fp6_e2m3fn", "fp4_e2m1fn", "e2m1", "e3m0", "e1m2", "e4m2"]
UNITS = ["minifloat-mul", "minifloat-add"]


@pytest.mark.parametrize("fmt", EIGHT_BIT + NARROW)
@pytest.mark.parametrize("saturate", [False, True])
@pytest.mark.parametrize("unit_name", UNITS)
def test_exhaustive_pyrtl(unit_name: str, fmt: str, saturate: bool) -> None:
    unit = build_unit(unit_name, format=fmt, saturate=saturate)
    r = verify_pyrtl(unit)
    assert r.exhaustive
    assert_ok(r, 1 << (2 * unit.inputs["a"]))


@pytest.mark.parametrize("pipeline", [1, 2, 3])
@pytest.mark.parametrize("unit_name", UNITS)
def test_pipelined_pyrtl_back_to_back(unit_name: str, pipeline: int) -> None:
    unit = build_unit(unit_name, format="fp8_e5m2", pipeline=pipeline)
    assert unit.latency == pipeline and unit.has_reset
    assert_ok(verify_pyrtl(unit), 65_536)


@pytest.mark.parametrize("pipeline", [1, 2, 3])
@pytest.mark.parametrize("unit_name", UNITS)
def test_reset_mid_stream_pyrtl(unit_name: str, pipeline: int) -> None:
    unit = build_unit(unit_name, format="fp8_e4m3fn", pipeline=pipeline)
    resets = mid_stream_resets(65_536, pipeline)
    r = verify_pyrtl(unit, resets=resets)
    assert r.resets == len(resets) and r.dropped >= len(resets) - 1, r.summary()
    assert_ok(r, 65_536)


@pytest.mark.parametrize("fmt", ["fp16", "bf16", "e5m7", "e6m9"])
@pytest.mark.parametrize("unit_name", UNITS)
def test_wide_pyrtl(unit_name: str, fmt: str) -> None:
    unit = build_unit(unit_name, format=fmt)
    assert_ok(verify_pyrtl(unit, random_plus_corners(unit, fmt)), 100_000)


@pytest.mark.rtl
@pytest.mark.parametrize("fmt, pipeline", [("fp8_e4m3fn", 0), ("fp8_e5m2", 2),
                                           ("fp4_e2m1fn", 0)])
@pytest.mark.parametrize("unit_name", UNITS)
def test_exhaustive_verilator(unit_name: str, fmt: str, pipeline: int) -> None:
    unit = build_unit(unit_name, format=fmt, pipeline=pipeline)
    r = run_verilator(unit)
    assert r.exhaustive and r.simulator == "verilator"
    assert_ok(r, 1 << (2 * unit.inputs["a"]))


@pytest.mark.rtl
def test_reset_mid_stream_verilator() -> None:
    """Every operand pair through the 2-stage multiplier with ``rst`` asserted ~30 times
    mid-stream: vectors after each reset come out exact, the flush in between reads 0."""
    unit = build_unit("minifloat-mul", format="fp8_e4m3fn", pipeline=2)
    resets = mid_stream_resets(65_536, unit.latency, seed=1)
    r = run_verilator(unit, resets=resets)
    assert r.exhaustive and r.resets == len(resets) >= 25 and r.dropped > len(resets)
    assert_ok(r, 65_536)


@pytest.mark.rtl
@pytest.mark.parametrize("fmt", ["fp16", "bf16"])
@pytest.mark.parametrize("unit_name", UNITS)
def test_wide_verilator(unit_name: str, fmt: str) -> None:
    unit = build_unit(unit_name, format=fmt, pipeline=1)
    assert_ok(run_verilator(unit, random_plus_corners(unit, fmt)), 100_000)


@pytest.mark.parametrize("unit_name", UNITS)
def test_bad_parameters(unit_name: str) -> None:
    with pytest.raises(HwsimError, match="deeper than the logic"):
        build_unit(unit_name, format="fp8_e4m3fn", pipeline=4)
    with pytest.raises(HwsimError, match="floating-point"):
        build_unit(unit_name, format="int8")
    with pytest.raises(HwsimError, match="unknown number format"):
        build_unit(unit_name, format="fp8_e4m4")
