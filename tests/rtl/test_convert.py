"""fp32 <-> minifloat converters against hwsim.numerics.quantize / decode."""

from __future__ import annotations

import numpy as np
import pytest
from unit_helpers import assert_ok, run_verilator

from hwsim.numerics import HwsimError, decode, get_format
from rtl.pyrtl_sim import verify_pyrtl
from rtl.unit import build_unit

TARGETS = ["fp8_e4m3fn", "fp8_e5m2", "fp8_e4m3fnuz", "fp8_e3m4", "fp6_e3m2fn", "fp6_e2m3fn",
           "fp4_e2m1fn", "fp16", "bf16", "e3m0"]


def fp32_vectors(fmt_name: str, n_random: int = 100_000, seed: int = 0) -> dict:
    """Every representable value of the target, the midpoints between neighbours (exact ties)
    and their float32 neighbours, specials, float32 subnormals, and random float32 codes."""
    fmt = get_format(fmt_name)
    vals = np.unique(np.abs(decode(np.arange(1 << fmt.total_bits), fmt).astype(np.float64)))
    vals = vals[np.isfinite(vals)]
    vals = np.concatenate([vals, [2 * fmt.max_normal, fmt.max_normal * 1.0625]])
    mids = (vals[:-1] + vals[1:]) / 2
    with np.errstate(over="ignore"):  # bf16-range points beyond float32 become inf: wanted
        pts = np.concatenate([vals, mids]).astype(np.float32)
    pts = np.concatenate([pts, np.nextafter(pts, np.float32(np.inf)),
                          np.nextafter(pts, np.float32(0))])
    pts = np.concatenate([pts, -pts, np.array([np.inf, -np.inf, np.nan, -np.nan, 1e-45, 1e-40],
                                              np.float32)])
    rng = np.random.default_rng(seed)
    rand = rng.integers(0, 1 << 32, n_random, dtype=np.uint64)
    return {"a": np.concatenate([pts.view(np.uint32).astype(np.uint64), rand])}


@pytest.mark.parametrize("fmt", TARGETS)
@pytest.mark.parametrize("saturate", [False, True])
def test_to_format_pyrtl(fmt: str, saturate: bool) -> None:
    unit = build_unit("convert", format=fmt, direction="to", saturate=saturate)
    assert_ok(verify_pyrtl(unit, fp32_vectors(fmt)), 100_000)


@pytest.mark.parametrize("fmt", TARGETS)
def test_from_format_exhaustive_pyrtl(fmt: str) -> None:
    unit = build_unit("convert", format=fmt, direction="from", pipeline=1)
    assert_ok(verify_pyrtl(unit), 1 << get_format(fmt).total_bits)


@pytest.mark.rtl
@pytest.mark.parametrize("fmt, direction", [("fp8_e4m3fn", "to"), ("bf16", "to"),
                                            ("fp8_e5m2", "from")])
def test_verilator(fmt: str, direction: str) -> None:
    unit = build_unit("convert", format=fmt, direction=direction, pipeline=1)
    vectors = fp32_vectors(fmt) if direction == "to" else None
    assert_ok(run_verilator(unit, vectors), 256)


def test_bad_parameters() -> None:
    with pytest.raises(HwsimError, match="direction"):
        build_unit("convert", format="fp8_e4m3fn", direction="sideways")
    with pytest.raises(HwsimError, match="saturate"):
        build_unit("convert", format="fp8_e4m3fn", direction="from", saturate=True)
    with pytest.raises(HwsimError, match="deeper"):
        build_unit("convert", format="fp16", pipeline=3)


def test_cli_direction_option(tmp_path, capsys) -> None:
    from hwsim.cli import main

    assert main(["rtl", "export", "convert", "-f", "bf16", "--direction", "from",
                 "-o", str(tmp_path / "c.v")]) == 0
    assert "module convert_bf16_to_fp32_p0" in (tmp_path / "c.v").read_text()
    assert main(["rtl", "export", "lmul", "--direction", "to", "-o", str(tmp_path / "l.v")]) == 2
    assert "no option --direction" in capsys.readouterr().err
