"""The HAWQ-V3 dyadic requantiser (``dyadic-requant``) against
:func:`hwsim.numerics.dyadic.requantize` (itself checked against an exact rational reference and
HAWQ's public code in tests/numerics/test_dyadic.py), bit for bit in PyRTL and in Verilator
through cocotb, on random codes plus the corner cases: extreme accumulators, exact rounding
ties, the largest b and every shift, realistic (b, c) from HAWQ's rule; lint and Yosys."""

from __future__ import annotations

import numpy as np
import pytest

from hwsim.errors import HwsimError
from hwsim.numerics.dyadic import dyadic_scale
from rtl.export import lint, write_verilog
from rtl.pyrtl_sim import verify_pyrtl
from rtl.synth import synthesize
from rtl.unit import build_unit
from tests.rtl.unit_helpers import assert_ok, run_verilator


def requant_vectors(unit, n: int = 4000, seed: int = 0) -> dict[str, np.ndarray]:
    a_bits, b_bits, c_bits = (unit.inputs[p] for p in ("acc", "b", "c"))
    c_max = (1 << c_bits) - 1
    rng = np.random.default_rng(seed)
    lo, hi = -(1 << (a_bits - 1)), (1 << (a_bits - 1)) - 1
    # realistic: HAWQ's (b, c) for scales whose results land in and around the output range
    scale = np.exp(rng.uniform(np.log(2.0**-20), np.log(0.9), n))
    b, c = dyadic_scale(scale, b_bits)
    ok = (c >= 0) & (c <= c_max)
    acc = np.clip(np.round(rng.uniform(-400, 400, n) / scale), lo, hi).astype(np.int64)
    acc, b, c = acc[ok], b[ok], c[ok]
    # ties: b a power of two, acc an odd multiple of 2**(c - 1 - log2 b)
    k = rng.integers(0, min(b_bits, 4), n)
    tc = rng.integers(1, min(c_max, a_bits - 2) + 1, n)
    tz = (2 * rng.integers(-40, 40, n) + 1) << np.maximum(tc - 1 - k, 0)
    tie = (tc - 1 - k >= 0) & (tz >= lo) & (tz <= hi)
    # extremes: min/max accumulator x largest b, every shift
    ext = np.array([lo, hi, -1, 0, 1])
    ea, ec = (x.ravel() for x in np.meshgrid(ext, np.arange(c_max + 1)))
    eb = np.full(ea.size, (1 << b_bits) - 1)
    eb[::2] = 1 << (b_bits - 1)
    # uniform random codes
    ra = rng.integers(lo, hi + 1, n)
    rb = rng.integers(0, 1 << b_bits, n)
    rc = rng.integers(0, c_max + 1, n)
    cols = [np.concatenate(x) for x in ((acc, tz[tie], ea, ra), (b, (1 << k)[tie], eb, rb),
                                        (c, tc[tie], ec, rc))]
    return {"acc": cols[0].astype(np.uint64) & np.uint64((1 << a_bits) - 1),
            "b": cols[1].astype(np.uint64), "c": cols[2].astype(np.uint64)}


CONFIGS = [
    {},  # HAWQ's: int32 accumulator, 32-bit b, int8 out, half to even
    {"format": "uint8", "rounding": "half_up", "pipeline": 2},
    {"acc": 16, "b_bits": 8, "c_bits": 4, "format": "int4", "pipeline": 1},
]


@pytest.mark.parametrize("kw", CONFIGS)
def test_pyrtl(kw) -> None:
    unit = build_unit("dyadic-requant", **kw)
    vec = requant_vectors(unit)
    y = unit.reference(vec)
    assert len(np.unique(y)) > 10  # not all clamped
    assert_ok(verify_pyrtl(unit, vec), len(vec["acc"]))


def test_reference_rounds_ties_as_named() -> None:
    """acc = 5, 7, -5 with b = 1, c = 1: 2.5, 3.5, -2.5 round to 2, 4, -2 (even) and 3, 4,
    -2 (half up)."""
    v = {"acc": np.array([5, 7, (1 << 32) - 5], np.uint64), "b": np.ones(3, np.uint64),
         "c": np.ones(3, np.uint64)}
    he = build_unit("dyadic-requant").reference(v)
    hu = build_unit("dyadic-requant", rounding="half_up").reference(v)
    assert he.tolist() == [2, 4, 0xFE] and hu.tolist() == [3, 4, 0xFE]


@pytest.mark.rtl
def test_verilator(rtl_build_dir) -> None:
    """HAWQ's widths (int32 x 32-bit b, 6-bit c), half to even, with a pipeline register;
    the other configurations share the generator and are checked in PyRTL above."""
    unit = build_unit("dyadic-requant", pipeline=1)
    vec = requant_vectors(unit, n=3000, seed=1)
    assert_ok(run_verilator(unit, vec, build_dir=rtl_build_dir), len(vec["acc"]))


@pytest.mark.rtl
@pytest.mark.parametrize("kw", CONFIGS)
def test_verilog_is_lint_clean(kw, tmp_path, verilator) -> None:
    unit = build_unit("dyadic-requant", **kw)
    path = write_verilog(unit, tmp_path / f"{unit.name}.v")
    assert lint(path, unit.name) == []


@pytest.mark.rtl
def test_yosys_half_even_costs_a_sticky_bit(yosys, rtl_build_dir) -> None:
    """Half to even needs the OR of the bits below the rounding bit and a masked shift: more
    cells than half up's add-and-shift (small widths keep Yosys fast)."""
    he, hu = (synthesize(build_unit("dyadic-requant", acc=16, b_bits=8, c_bits=4, rounding=r),
                         families=(), build_dir=rtl_build_dir)
              for r in ("half_even", "half_up"))
    assert 0 < hu.transistors < he.transistors


@pytest.mark.parametrize(("kw", "needle"), [
    ({"format": "int7"}, "int8, uint8"),
    ({"format": "fp8_e4m3fn"}, "int8, uint8"),
    ({"rounding": "floor"}, "half_even, half_up"),
    ({"acc": 64}, "8..48 bits"),
    ({"b_bits": 40}, "2..32 bits"),
    ({"acc": 16, "b_bits": 8, "c_bits": 5}, "c up to 23"),
    ({"pipeline": 3}, "deeper than the logic"),
])
def test_bad_parameters(kw, needle) -> None:
    with pytest.raises(HwsimError, match=needle):
        build_unit("dyadic-requant", **kw)


@pytest.mark.parametrize(("argv", "needle"), [
    (["--format", "int7"], "outputs int8, uint8"),
    (["--acc", "64"], "8..48 bits"),
])
def test_cli_bad_parameters(argv, needle, tmp_path, capsys) -> None:
    from hwsim.cli import main

    rc = main(["rtl", "export", "dyadic-requant", *argv, "-o", str(tmp_path / "d.v")])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: ") and needle in err and err.count("\n") == 1


def test_cost_dataset_stream_spreads_over_the_output_range() -> None:
    """The energy proxy's operand stream (costmodel.activity) drives realistic requantisations:
    HAWQ's (b, c) per channel, outputs over the int8 range, few clamped."""
    from costmodel.activity import operand_stream
    from costmodel.space import DesignPoint

    p = DesignPoint("dyadic-requant", "int8", acc="12")
    unit = build_unit(p.unit, **p.params())
    y = unit.reference(operand_stream(p, unit.inputs, "normal")).astype(np.int64)
    y = np.where(y >= 128, y - 256, y)
    assert len(np.unique(y)) > 50 and np.mean(np.abs(y) >= 127) < 0.05
