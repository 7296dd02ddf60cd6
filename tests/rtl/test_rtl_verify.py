"""cocotb + Verilator verification: vectors, NaN-aware comparison, combinational and
pipelined (back to back) runs, rst asserted mid-stream, and that a wrong design is caught."""

from __future__ import annotations

import numpy as np
import pytest
from rtl_fixtures import adder8

from hwsim.errors import HwsimError
from hwsim.numerics import get_float_format
from rtl.pyrtl_sim import verify_pyrtl
from rtl.unit import RtlUnit, build_unit
from rtl.verify import compare, corner_codes, make_vectors, verify_unit
from rtl.verify.vectors import expected_samples, reset_column


def test_exhaustive_vectors_cover_every_pair() -> None:
    vectors, exhaustive = make_vectors(adder8())
    assert exhaustive
    pairs = vectors["a"].astype(np.int64) * 256 + vectors["b"].astype(np.int64)
    assert np.array_equal(np.sort(pairs), np.arange(65_536))


def test_wide_units_get_random_plus_corners() -> None:
    unit = build_unit("int-mul", format="int16")
    vectors, exhaustive = make_vectors(unit, n_random=1000, seed=3)
    assert not exhaustive
    n = len(vectors["a"])
    assert 1000 < n < 2000
    assert {0, 0x7FFF, 0x8000, 0xFFFF} <= set(vectors["a"].tolist())
    again, _ = make_vectors(unit, n_random=1000, seed=3)
    assert all(np.array_equal(vectors[p], again[p]) for p in vectors)


def test_corner_codes_include_float_specials() -> None:
    f = get_float_format("fp8_e4m3fn")
    codes = set(corner_codes(8, f).tolist())
    assert {0x7F, 0xFF, 0x7E, 0x08, 0x07, 0x80} <= codes


def test_compare_nan_matches_any_nan() -> None:
    unit = RtlUnit(name="x", unit="x", block=None, inputs={"a": 8}, outputs={"y": 8},
                   latency=0, reference=lambda i: i["a"], out_format="fp8_e5m2")
    got = np.array([0x7E, 0xFF, 0x7C, 0x01], dtype=np.uint64)  # NaN, -NaN, +Inf, tiny
    exp = np.array([0x7F, 0x7D, 0x7D, 0x01], dtype=np.uint64)  # NaN, NaN, NaN, tiny
    assert compare(unit, got, exp).tolist() == [False, False, True, False]
    int_unit = RtlUnit(name="x", unit="x", block=None, inputs={"a": 8}, outputs={"y": 8},
                       latency=0, reference=lambda i: i["a"])
    assert compare(int_unit, got, exp).tolist() == [True, True, True, False]


def test_exhaustive_refuses_huge_spaces() -> None:
    with pytest.raises(HwsimError, match="too many"):
        make_vectors(build_unit("int-mul", format="int16"), exhaustive=True)


@pytest.mark.rtl
def test_adder_exhaustive_and_a_wrong_reference_is_caught(verilator, rtl_build_dir) -> None:
    r = verify_unit(adder8(), build_dir=rtl_build_dir)
    assert r.exhaustive and r.vectors == 65_536 and r.mismatches == 0, r.summary()
    bad = verify_unit(adder8(wrong=True), build_dir=rtl_build_dir)  # same build, reused
    assert bad.build_s == 0.0
    assert bad.mismatches == 256, bad.summary()
    assert bad.examples[0].inputs["a"] == 3


@pytest.mark.rtl
@pytest.mark.parametrize(("name", "fmt", "pipeline"), [
    ("int-mul", "int8", 2),  # back to back through both stages, exhaustive
    ("int-mac", "int8", 0),  # accumulator over all 65,536 products
    ("int-mac", "int8", 2),
])
def test_integer_units_exhaustive(name, fmt, pipeline, verilator, rtl_build_dir) -> None:
    unit = build_unit(name, format=fmt, pipeline=pipeline)
    r = verify_unit(unit, build_dir=rtl_build_dir)
    assert r.exhaustive and r.vectors == 65_536, r.summary()
    assert r.mismatches == 0, r.summary()


@pytest.mark.rtl
def test_wide_unit_random_vectors(verilator, rtl_build_dir) -> None:
    r = verify_unit(build_unit("int-mul", format="int16", pipeline=1), build_dir=rtl_build_dir)
    assert not r.exhaustive and r.vectors >= 100_000 and r.mismatches == 0, r.summary()


@pytest.mark.rtl
def test_explicit_vectors(verilator, rtl_build_dir) -> None:
    unit = adder8(pipeline=1)
    vectors = {"a": np.array([1, 2, 255]), "b": np.array([1, 200, 255])}
    r = verify_unit(unit, vectors, build_dir=rtl_build_dir)
    assert (r.vectors, r.mismatches) == (3, 0)


def _running_sum(latency: int) -> RtlUnit:
    """A stand-in for an accumulator (``y`` = running sum of ``a``): the expected samples
    depend only on the latency, the reference and the reset semantics, not on a circuit."""
    return RtlUnit(name="toy_sum", unit="toy", block=None, inputs={"a": 8}, outputs={"y": 16},
                   latency=latency, reference=lambda v: np.cumsum(v["a"]).astype(np.uint64),
                   stateful=True)


def test_expected_samples_follow_the_reset_semantics() -> None:
    """rst at cycles 4 and 5 with latency 2: vectors 3, 4, 5 pass a reset edge and are
    dropped, the sum restarts at vector 6, and the samples no vector owns read 0."""
    a = np.arange(1, 11, dtype=np.uint64)  # vectors 0..9 carry 1..10
    expected, owner = expected_samples(_running_sum(2), {"a": a}, resets=[4, 5])
    assert owner.tolist() == [-1, -1, 0, 1, 2, -1, -1, -1, 6, 7, 8, 9]
    assert expected.tolist() == [0, 0, 1, 3, 6, 0, 0, 0, 7, 15, 24, 34]
    # no mid-stream reset: only the flush after the reset before the stream
    expected, owner = expected_samples(_running_sum(1), {"a": a[:3]})
    assert (owner.tolist(), expected.tolist()) == ([-1, 0, 1, 2], [0, 1, 3, 6])


def test_reset_cycles_are_checked() -> None:
    with pytest.raises(HwsimError, match="combinational"):
        reset_column(adder8(), 10, [3])
    with pytest.raises(HwsimError, match=r"0\.\.10"):
        reset_column(adder8(1), 10, [11])
    assert reset_column(adder8(1), 3, [0, 3, 3]).tolist() == [1, 0, 0, 1]


def test_a_register_deaf_to_reset_is_caught_pyrtl() -> None:
    resets = [10, 300, 301]
    assert verify_pyrtl(adder8(1), resets=resets).mismatches == 0
    bad = verify_pyrtl(adder8(1, deaf_reset=True), resets=resets)
    assert bad.mismatches == 3 and {m.cycle for m in bad.examples} == {11, 301, 302}


@pytest.mark.rtl
def test_reset_mid_stream_in_the_bench(verilator, rtl_build_dir) -> None:
    """rst really reaches the Verilog mid-stream: a good pipeline passes, a register that
    ignores rst shows the dropped vectors' sums where the flush must read 0."""
    resets = [0, 10, 300, 301, 65_535]
    r = verify_unit(adder8(1), build_dir=rtl_build_dir, resets=resets)
    assert (r.mismatches, r.resets, r.dropped) == (0, 5, 5), r.summary()
    bad = verify_unit(adder8(1, deaf_reset=True), build_dir=rtl_build_dir, resets=resets)
    # vector 0 (0 + 0) is the one dropped vector whose stale sum happens to read 0
    assert bad.mismatches == 4, bad.summary()
    assert [m.cycle for m in bad.examples] == [11, 301, 302, 65_536]


def test_an_output_wider_than_64_bits_is_one_error():
    """The vectors are uint64 per port: a 2x64 LUT tile's 4096-bit output is refused by name."""
    unit = build_unit("lut-mpgemm", m=2, n=64, k=4)
    with pytest.raises(HwsimError, match=r"wider than 64 bits.*y: 4096 bits"):
        make_vectors(unit)
