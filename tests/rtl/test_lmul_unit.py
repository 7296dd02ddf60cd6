"""L-Mul unit against hwsim.numerics.lmul_bits (its bit-level definition), exhaustively."""

from __future__ import annotations

import numpy as np
import pytest
from unit_helpers import assert_ok, mid_stream_resets, random_plus_corners, run_verilator

from hwsim.numerics import HwsimError
from rtl.pyrtl_sim import simulate_pyrtl, verify_pyrtl
from rtl.unit import build_unit


@pytest.mark.parametrize("fmt", ["fp8_e4m3fn", "fp8_e4m3", "fp8_e5m2", "fp8_e4m3fnuz",
                                 "fp8_e3m4", "fp6_e3m2fn", "fp6_e2m3fn", "fp4_e2m1fn"])
@pytest.mark.parametrize("saturate", [False, True])
def test_exhaustive_pyrtl(fmt: str, saturate: bool) -> None:
    unit = build_unit("lmul", format=fmt, saturate=saturate)
    assert_ok(verify_pyrtl(unit), 1 << (2 * unit.inputs["a"]))


@pytest.mark.parametrize("fmt", ["bf16", "e8m4", "fp16"])
def test_wide_pyrtl(fmt: str) -> None:
    unit = build_unit("lmul", format=fmt, pipeline=1)
    assert_ok(verify_pyrtl(unit, random_plus_corners(unit, fmt)), 100_000)


@pytest.mark.rtl
@pytest.mark.parametrize("fmt, pipeline", [("fp8_e4m3fn", 0), ("fp8_e5m2", 2)])
def test_exhaustive_verilator(fmt: str, pipeline: int) -> None:
    unit = build_unit("lmul", format=fmt, pipeline=pipeline)
    r = run_verilator(unit)
    assert r.exhaustive
    assert_ok(r, 65_536)


@pytest.mark.parametrize("pipeline", [1, 2])
def test_reset_mid_stream_pyrtl(pipeline: int) -> None:
    """Vectors after a reset are exact; the flush is not 0 here (a cleared "sum" stage reads
    as an overflow: NaN in fp8_e4m3fn), so the unit says so and the flush is not compared."""
    unit = build_unit("lmul", format="fp8_e4m3fn", pipeline=pipeline)
    assert not unit.reset_reads_zero and build_unit("lmul").reset_reads_zero
    resets = mid_stream_resets(65_536, pipeline)
    assert_ok(verify_pyrtl(unit, resets=resets), 65_536)
    samples = simulate_pyrtl(unit, {"a": np.zeros(4, np.uint64), "b": np.zeros(4, np.uint64)})
    assert samples[pipeline - 1] == 0x7F  # the cleared "sum" stage reaching y


def test_bad_parameters() -> None:
    with pytest.raises(HwsimError, match="deeper than the logic"):
        build_unit("lmul", format="fp8_e4m3fn", pipeline=3)
    with pytest.raises(HwsimError, match="mantissa bit"):
        build_unit("lmul", format="e5m0")
