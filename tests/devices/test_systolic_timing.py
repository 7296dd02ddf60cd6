"""Closed-form cycle counts against the cycle-by-cycle SimPy reference and the measured table."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwsim.devices.systolic.reference import reference_gemm
from hwsim.devices.systolic.timing import (
    Gemm,
    calc_drain_cycles,
    calc_prefetch_cycles,
    compute_cycles,
    first_demand_cycle,
    mapping_efficiency,
)
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


def test_calc_drain_counts_every_row_fold_partial_sum():
    """1x64 by 64x70 on 32x32: OS writes the 70 outputs once (3 lines of 32, the last one
    at the last compute cycle + 2); WS writes them after both row folds (140 words, 5 lines)."""
    g = Gemm(1, 64, 70)
    assert calc_drain_cycles(g, 32, 32, "os", 65536) == 2
    assert calc_drain_cycles(g, 32, 32, "ws", 65536) == 4


def test_calc_drain_during_compute():
    """1x1 array, one output per cycle for 10 cycles, 8-word ofmap SRAM (half = 4 words =
    4 lines): drains start at cycles 4 (4 lines) and 8 (4 more, ending at cycle 11); the
    last word waits for them, so the write-out ends 2 cycles after the last compute cycle."""
    assert calc_drain_cycles(Gemm(10, 1, 1), 1, 1, "os", 8) == 2


def test_calc_prefetch_sets_and_first_demand():
    # 4480 words in sets of 655: 7 sets, 4585 words at 10 words/cycle
    assert calc_prefetch_cycles(70 * 64, 65536) == 459
    # 50 sets or more: the active half (3275 cycles), ending just before the first demand
    assert calc_prefetch_cycles(40000, 65536, first_demand=32) == 3275 - 32
    g = Gemm(33, 20, 45)
    assert first_demand_cycle(g, 32, "os", "ifmap") == first_demand_cycle(g, 32, "os",
                                                                          "filter") == 0
    assert first_demand_cycle(g, 32, "ws", "filter") == 12  # 20 of 32 rows, bottom first
    assert first_demand_cycle(g, 32, "ws", "ifmap") == 32
    assert first_demand_cycle(g, 32, "is", "ifmap") == 12
    assert first_demand_cycle(g, 32, "is", "filter") == 32
