"""PyRTL simulation cross-check: same vectors and cycle convention as the cocotb bench."""

from __future__ import annotations

import numpy as np
import pytest
from rtl_fixtures import adder8

from rtl.pyrtl_sim import simulate_pyrtl, verify_pyrtl
from rtl.unit import build_unit
from rtl.verify.vectors import check_samples, make_vectors


@pytest.mark.parametrize("pipeline", [0, 1])
def test_adder_exhaustive(pipeline: int) -> None:
    r = verify_pyrtl(adder8(pipeline))
    assert (r.vectors, r.mismatches, r.exhaustive) == (65_536, 0, True)


def test_wrong_reference_is_caught() -> None:
    assert verify_pyrtl(adder8(wrong=True)).mismatches == 256


@pytest.mark.parametrize(("name", "fmt", "pipeline"), [
    ("int-mul", "int8", 0), ("int-mul", "int8", 1), ("int-mul", "int8", 2),
    ("int-mul", "int4", 2), ("int-mac", "int8", 0), ("int-mac", "int8", 2),
    ("int-mac", "int4", 1),
])
def test_integer_units_exhaustive(name: str, fmt: str, pipeline: int) -> None:
    unit = build_unit(name, format=fmt, pipeline=pipeline)
    r = verify_pyrtl(unit)
    assert r.exhaustive and r.mismatches == 0, r.summary()


def test_latency_is_exact() -> None:
    # reading one cycle early or late must fail: the outputs are really back to back
    unit = build_unit("int-mul", format="int8", pipeline=2)
    vectors, _ = make_vectors(unit)
    samples = simulate_pyrtl(unit, vectors)
    assert len(samples) == 65_536 + 2
    for shift in (-1, 1):
        moved = np.roll(samples, -shift)
        assert check_samples(unit, vectors, moved, exhaustive=True,
                             simulator="pyrtl").mismatches > 1000


def test_int16_random() -> None:
    r = verify_pyrtl(build_unit("int-mul", format="int16"), n_random=20_000)
    assert not r.exhaustive and r.mismatches == 0 and r.vectors > 20_000
