"""cocotb + Verilator verification: vectors, NaN-aware comparison, combinational and
pipelined (back to back) runs, and that a wrong design is caught."""

from __future__ import annotations

import numpy as np
import pytest
from rtl_fixtures import adder8

from hwsim.errors import HwsimError
from hwsim.numerics import get_float_format
from rtl.unit import RtlUnit, build_unit
from rtl.verify import compare, corner_codes, make_vectors, verify_unit


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
