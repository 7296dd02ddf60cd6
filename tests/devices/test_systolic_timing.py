"""Closed-form cycle counts against the cycle-by-cycle SimPy reference and the measured table."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwsim.devices.systolic_reference import reference_gemm
from hwsim.devices.systolic_timing import Gemm, compute_cycles, mapping_efficiency
from hwsim.errors import HwsimError

SHAPES = [(5, 3, 7), (1, 9, 4), (9, 1, 3), (6, 6, 6), (1, 1, 1)]
ARRAYS = [(4, 4), (2, 3), (3, 5), (1, 1)]


@pytest.mark.parametrize("df", ["os", "ws", "is"])
@pytest.mark.parametrize("shape,array", list(itertools.product(SHAPES, ARRAYS)))
def test_closed_form_equals_cycle_reference(shape, array, df):
    rng = np.random.default_rng(0)
    m, k, n = shape
    a = rng.integers(-4, 5, (m, k)).astype(float)
    b = rng.integers(-4, 5, (k, n)).astype(float)
    ref = reference_gemm(a, b, *array, df)
    assert np.array_equal(ref.output, a @ b)
    assert ref.compute_cycles == compute_cycles(Gemm(m, k, n), *array, df)


@settings(max_examples=25)
@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 9), st.integers(1, 5),
       st.integers(1, 5), st.sampled_from(["os", "ws", "is"]))
def test_closed_form_random_shapes(m, k, n, r, c, df):
    a = np.arange(m * k, dtype=float).reshape(m, k) % 7 - 3
    b = np.arange(k * n, dtype=float).reshape(k, n) % 5 - 2
    ref = reference_gemm(a, b, r, c, df)
    assert ref.compute_cycles == compute_cycles(Gemm(m, k, n), r, c, df)
    assert np.array_equal(ref.output, a @ b)


# SCALE-Sim 3.0.0, 32x32, from shared/reference/scalesim_v3_measurements.md
MEASURED = [
    ((64, 64, 64), "os", 503), ((33, 70, 45), "os", 527), ((100, 30, 250), "os", 2943),
    ((128, 256, 64), "os", 2543), ((1, 4096, 4096), "os", 532223),
    ((512, 512, 512), "os", 146943), ((128, 256, 64), "ws", 3551), ((33, 70, 45), "ws", 761),
    ((512, 512, 512), "ws", 155135), ((128, 256, 64), "is", 5055), ((33, 70, 45), "is", 833),
    ((512, 512, 512), "is", 155135), ((197, 768, 3072), "os", 557759),
    ((1024, 1024, 1024), "os", 1112063),
]


@pytest.mark.parametrize("shape,df,cycles", MEASURED)
def test_measured_scalesim_table(shape, df, cycles):
    assert compute_cycles(Gemm(*shape), 32, 32, df) == cycles


def test_repeat_and_efficiency():
    g = Gemm(33, 70, 45, repeat=3)
    assert compute_cycles(g, 32, 32, "os") == 3 * 527
    assert 0 < mapping_efficiency(g, 32, 32, "os") < 1


@pytest.mark.parametrize("bad", [dict(m=0, k=1, n=1), dict(m=1, k=-1, n=1)])
def test_bad_gemm(bad):
    with pytest.raises(HwsimError, match="positive integer"):
        Gemm(**bad)


def test_bad_dataflow():
    with pytest.raises(HwsimError, match="allowed: os, ws, is"):
        compute_cycles(Gemm(1, 1, 1), 4, 4, "rs")
