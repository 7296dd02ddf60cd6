"""Contract 1: for float32 input, ``quantize(x, fmt)`` with the defaults is bit-identical to
``x.astype(ml_dtypes.<fmt>).astype(np.float32)`` on every input, NaN payloads excepted."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from helpers import (
    ML_DTYPES,
    assert_same_bits,
    edge_values,
    float32_if_exact,
    ml_round_trip,
    random_inputs,
    same_bits,
)
from hypothesis import given
from hypothesis import strategies as st

from hwsim.numerics import get_format, quantize

NAMES = list(ML_DTYPES)
N_RANDOM = 1_000_000


@pytest.mark.parametrize("name", NAMES)
def test_random_inputs_match_ml_dtypes(name):
    fmt = get_format(name)
    x = random_inputs(fmt, N_RANDOM, seed=sum(map(ord, name)))
    assert x.size >= N_RANDOM
    assert np.isnan(x).any() and np.isinf(x).any()  # the bit-pattern part reaches them
    got = quantize(x, name)
    assert got.dtype == np.float32 and got.shape == x.shape
    assert_same_bits(got, ml_round_trip(x, name), x, what=name)


@pytest.mark.parametrize("name", NAMES)
def test_edge_values_match_ml_dtypes(name):
    x = edge_values(get_format(name))
    assert_same_bits(quantize(x, name), ml_round_trip(x, name), x, what=name)


@pytest.mark.parametrize("name", [n for n in NAMES if n != "e8m0"])
def test_exact_ties_round_to_even(name):
    """Midpoints between neighbours go to the neighbour with an even mantissa (its code)."""
    fmt = get_format(name)
    codes = np.arange(fmt.max_finite_code, dtype=np.uint32)
    lo = np.asarray(ml_dtypes_decode(codes, name), np.float64)
    hi = np.asarray(ml_dtypes_decode(codes + 1, name), np.float64)
    mid = (lo + hi) / 2
    x = float32_if_exact(mid)
    assert x.size >= len(mid) // 2  # most ties are float32-exact; otherwise the test is empty
    keep = np.isin(mid, x.astype(np.float64))
    even = np.where(codes[keep] % 2 == 0, lo[keep], hi[keep]).astype(np.float32)
    assert_same_bits(quantize(x, name), even, x, what=f"{name} ties")
    # fnuz formats have no -0, so the tie between -0 and -min_subnormal gives +0 there
    neg = np.where((even == 0) & (not fmt.has_neg_zero), even, -even)
    assert_same_bits(quantize(-x, name), neg, -x, what=f"{name} negative ties")


def ml_dtypes_decode(codes: np.ndarray, name: str) -> np.ndarray:
    dt = np.dtype(ML_DTYPES[name])
    return codes.astype(np.uint8 if dt.itemsize == 1 else np.uint16).view(dt).astype(np.float32)


def test_e8m0_ties_go_away_from_zero():
    """E8M0 ties (1.5 * 2**e) go up, as ml_dtypes does: the documented exception to RNE."""
    x = np.float32(1.5) * np.exp2(np.arange(-100, 100, dtype=np.float32))
    assert_same_bits(quantize(x, "e8m0"), 2 * x / np.float32(1.5), x, what="e8m0 ties")
    assert_same_bits(quantize(x, "e8m0"), ml_round_trip(x, "e8m0"), x, what="e8m0 ties")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(0,), (3, 0), ()])
def test_empty_and_scalar_shapes_match(name, shape):
    x = np.full(shape, 1.3, dtype=np.float32)
    got = quantize(x, name)
    assert got.shape == shape and got.dtype == np.float32
    assert_same_bits(got, ml_round_trip(x, name), x, what=name)


@pytest.mark.parametrize("name", NAMES)
def test_narrow_float_inputs_match(name):
    """ml_dtypes arrays are accepted as input and round exactly like their float32 values."""
    x = random_inputs(get_format(name), 20_000, seed=7)
    for src in (np.float16, ml_dtypes.bfloat16, ml_dtypes.float8_e5m2):
        with np.errstate(all="ignore"):
            xs = x.astype(src)
        want = quantize(xs.astype(np.float32), name)
        got = quantize(xs, name)
        assert got.dtype == np.float32
        assert_same_bits(got, want, xs.astype(np.float32), what=f"{name} from {src.__name__}")


@pytest.mark.parametrize("name", NAMES)
@given(bits=st.integers(0, 2**32 - 1))
def test_any_float32_bit_pattern_matches(name, bits):
    x = np.array([bits], dtype=np.uint32).view(np.float32)
    got = quantize(x, name)
    want = ml_round_trip(x, name)
    assert same_bits(got, want).all(), (hex(bits), got, want)


@pytest.mark.parametrize("name", NAMES)
@given(value=st.floats(width=32, allow_nan=True, allow_infinity=True))
def test_any_float32_value_matches_as_scalar(name, value):
    """The 0-d path (and Python float input) agrees with ml_dtypes too."""
    got = quantize(np.float32(value), name)
    want = ml_round_trip(np.array(value, dtype=np.float32), name)
    assert got.shape == () and same_bits(got, want), (value, got, want)
