"""Format descriptions, and decode/encode over every code point.

Formats of 16 bits or fewer are checked exhaustively; ml_dtypes is the oracle for the formats it
has (its types are viewed straight from the code array, so no rounding is involved).
"""

from __future__ import annotations

import dataclasses

import ml_dtypes
import numpy as np
import pytest
from helpers import ML_DTYPES, finite_grid, format_names
from hypothesis import given
from hypothesis import strategies as st

from hwsim.numerics import (
    NAMED_FORMATS,
    FloatFormat,
    IntFormat,
    decode,
    encode,
    get_format,
    quantize,
)

NAMES = list(ML_DTYPES)


def ml_decode(codes: np.ndarray, name: str) -> np.ndarray:
    dt = np.dtype(ML_DTYPES[name])
    return codes.astype(np.uint8 if dt.itemsize == 1 else np.uint16).view(dt).astype(np.float32)


def all_codes(name: str) -> np.ndarray:
    return np.arange(1 << get_format(name).total_bits, dtype=np.uint32)


# ------------------------------------------------------------------------------------------
# descriptions
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_range_matches_ml_dtypes_finfo(name):
    fmt = get_format(name)
    fi = ml_dtypes.finfo(ML_DTYPES[name])
    assert fmt.total_bits == fi.bits
    assert fmt.man_bits == fi.nmant
    assert fmt.max_normal == float(fi.max)
    assert fmt.min_normal == float(fi.smallest_normal)
    assert fmt.min_subnormal == float(fi.smallest_subnormal)


@pytest.mark.parametrize("name", NAMES)
def test_range_matches_code_table(name):
    """The derived properties describe the values decode actually produces."""
    fmt = get_format(name)
    vals = decode(all_codes(name), name).astype(np.float64)
    finite = vals[np.isfinite(vals)]
    assert finite.max() == fmt.max_normal
    assert finite[finite > 0].min() == fmt.min_subnormal
    assert np.isinf(vals).any() == fmt.has_inf
    assert np.isnan(vals).any() == fmt.has_nan
    assert (np.signbit(vals) & (vals == 0)).any() == fmt.has_neg_zero
    if fmt.has_nan:
        assert np.isnan(decode(np.array([fmt.nan_code]), name)).all()
    if fmt.has_inf:
        assert decode(np.array([fmt.inf_code]), name)[0] == np.inf


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("float8_e4m3fn", "fp8_e4m3fn"), ("FP8_E5M2", "fp8_e5m2"), (" bf16 ", "bf16"),
        ("bfloat16", "bf16"), ("float16", "fp16"), ("half", "fp16"), ("float32", "fp32"),
        ("float8_e8m0fnu", "e8m0"), ("fp8_e8m0fnu", "e8m0"), ("float4_e2m1fn", "fp4_e2m1fn"),
        ("float6_e3m2fn", "fp6_e3m2fn"), ("float8_e4m3fnuz", "fp8_e4m3fnuz"),
    ],
)
def test_aliases_and_ml_dtypes_spellings(name, canonical):
    assert get_format(name) == get_format(canonical)


@pytest.mark.parametrize("name", NAMED_FORMATS)
def test_named_formats_parse_and_are_frozen(name):
    fmt = get_format(name)
    assert isinstance(fmt, FloatFormat)
    assert get_format(fmt) is fmt
    with pytest.raises(dataclasses.FrozenInstanceError):
        fmt.bias = 0  # type: ignore[misc]


@pytest.mark.parametrize(("e", "m"), [(e, m) for e in range(1, 9) for m in (0, 1, 3, 7, 23)])
def test_generic_grammar_fields(e, m):
    fmt = get_format(f"e{e}m{m}")
    if (e, m) == (8, 0):
        assert fmt.name == "e8m0" and not fmt.signed  # the MX scale owns this name
        return
    assert (fmt.exp_bits, fmt.man_bits, fmt.bias) == (e, m, (1 << (e - 1)) - 1)
    assert fmt.has_inf and fmt.total_bits == 1 + e + m
    assert fmt.has_nan == (m > 0)


@pytest.mark.parametrize(("bits", "signed"), [(b, s) for b in (2, 3, 4, 8, 16, 32)
                                              for s in (True, False)] + [(1, False)])
def test_integer_formats(bits, signed):
    fmt = get_format(f"{'' if signed else 'u'}int{bits}")
    assert isinstance(fmt, IntFormat) and fmt.total_bits == bits
    if signed:
        assert (fmt.min_value, fmt.max_value) == (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    else:
        assert (fmt.min_value, fmt.max_value) == (0, 2**bits - 1)


# ------------------------------------------------------------------------------------------
# decode / encode, exhaustive
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_decode_every_code_matches_ml_dtypes(name):
    codes = all_codes(name)
    got = decode(codes, name)
    assert got.dtype == np.float32 and got.shape == codes.shape
    want = ml_decode(codes, name)
    ok = (got.view(np.uint32) == want.view(np.uint32)) | (np.isnan(got) & np.isnan(want))
    assert ok.all(), codes[~ok][:8]


@pytest.mark.parametrize("name", NAMES)
def test_encode_decode_round_trip_every_code(name):
    codes = all_codes(name)
    vals = decode(codes, name)
    back = encode(vals, name)
    assert back.dtype == (np.uint8 if get_format(name).total_bits <= 8 else np.uint16)
    nan = np.isnan(vals)
    np.testing.assert_array_equal(back[~nan], codes[~nan])
    assert np.isnan(decode(back[nan], name)).all()


@pytest.mark.parametrize("name", NAMES)
def test_encode_matches_ml_dtypes_codes(name):
    """encode of arbitrary values gives the code ml_dtypes stores (NaN: any NaN code)."""
    rng = np.random.default_rng(2)
    fmt = get_format(name)
    with np.errstate(over="ignore"):
        x = np.concatenate([rng.standard_normal(100_000) * s
                            for s in (1.0, fmt.min_normal, fmt.max_normal)]).astype(np.float32)
    x = np.concatenate([x, [np.inf, -np.inf, np.nan, 0.0, -0.0]]).astype(np.float32)
    got = encode(x, name)
    with np.errstate(all="ignore"):
        stored = x.astype(ML_DTYPES[name])
    want = stored.view(np.uint8 if stored.itemsize == 1 else np.uint16)
    nan = np.isnan(stored.astype(np.float32))
    np.testing.assert_array_equal(got[~nan], want[~nan])
    assert np.isnan(decode(got[nan], name)).all()


@pytest.mark.parametrize("name", [n for n in NAMES if get_format(n).total_bits <= 8])
def test_codes_are_ordered_by_value(name):
    """Positive codes increase in value, negative codes mirror them (sign-magnitude)."""
    fmt = get_format(name)
    vals = decode(all_codes(name), name).astype(np.float64)
    half = 1 << (fmt.total_bits - 1) if fmt.signed else vals.size
    pos = vals[:half][~np.isnan(vals[:half])]
    assert (np.diff(pos) > 0).all()
    if fmt.signed:
        neg = vals[half:]
        both = ~np.isnan(neg) & ~np.isnan(vals[:half])
        np.testing.assert_array_equal(np.abs(neg[both]), vals[:half][both])
        assert np.signbit(neg[both] if fmt.has_neg_zero else neg[both][1:]).all()


@pytest.mark.parametrize("name", NAMES)
def test_quantize_is_idempotent_on_the_grid(name):
    grid = finite_grid(get_format(name)).astype(np.float32)
    np.testing.assert_array_equal(quantize(grid, name), grid)
    for rounding in ("rtz", "rna"):
        np.testing.assert_array_equal(quantize(grid, name, rounding=rounding), grid)


@given(bits=st.integers(0, 2**32 - 1))
def test_fp32_decode_is_a_bit_view(bits):
    got = decode(np.array([bits], dtype=np.uint32), "fp32")
    want = np.array([bits], dtype=np.uint32).view(np.float32)
    assert got.view(np.uint32)[0] == bits or (np.isnan(got[0]) and np.isnan(want[0]))


@given(bits=st.integers(0, 2**32 - 1))
def test_fp32_encode_decode_round_trip(bits):
    x = np.array([bits], dtype=np.uint32).view(np.float32)
    code = encode(x, "fp32")
    if np.isnan(x[0]):
        assert np.isnan(decode(code, "fp32")[0])
    else:
        assert int(code[0]) == bits


# ------------------------------------------------------------------------------------------
# integer formats
# ------------------------------------------------------------------------------------------
INT_NAMES = [f"int{b}" for b in range(2, 9)] + [f"uint{b}" for b in range(1, 9)]
ML_INTS = {"int2": ml_dtypes.int2, "int4": ml_dtypes.int4, "uint2": ml_dtypes.uint2,
           "uint4": ml_dtypes.uint4, "uint1": ml_dtypes.uint1, "int8": np.int8, "uint8": np.uint8}


@pytest.mark.parametrize("name", INT_NAMES)
def test_int_round_trip_every_code(name):
    fmt = get_format(name)
    codes = np.arange(1 << fmt.bits, dtype=np.uint32)
    vals = decode(codes, name)
    assert np.array_equal(np.sort(vals), np.arange(fmt.min_value, fmt.max_value + 1))
    np.testing.assert_array_equal(encode(vals, name), codes)


@pytest.mark.parametrize("name", sorted(ML_INTS))
def test_int_decode_matches_ml_dtypes(name):
    fmt = get_format(name)
    codes = np.arange(1 << fmt.bits)
    want = codes.astype(np.uint8).view(ML_INTS[name]).astype(np.float32) if fmt.bits == 8 \
        else codes.astype(ML_INTS[name]).astype(np.float32)
    np.testing.assert_array_equal(decode(codes, name), want)


@pytest.mark.parametrize("name", INT_NAMES + ["int16", "uint16", "int32"])
def test_int_quantize_rounds_half_even_and_clamps(name):
    fmt = get_format(name)
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.uniform(fmt.min_value - 5, fmt.max_value + 5, 100_000),
                        np.arange(max(fmt.min_value, -300) - 3, min(fmt.max_value, 300) + 3) + 0.5,
                        [np.inf, -np.inf, 1e300, -1e300]])
    got = quantize(x, name)
    assert got.dtype == np.float64
    want = np.clip(np.rint(x), fmt.min_value, fmt.max_value)
    np.testing.assert_array_equal(got, want)
    assert ((got == np.floor(got)) & (got >= fmt.min_value) & (got <= fmt.max_value)).all()
    halves = np.arange(-6, 6) + 0.5
    ties = np.clip([-6, -4, -4, -2, -2, 0, 0, 2, 2, 4, 4, 6], fmt.min_value, fmt.max_value)
    np.testing.assert_array_equal(quantize(halves.astype(np.float32), name), ties)


@pytest.mark.parametrize("name", ["int4", "uint4", "int2", "uint2"])
def test_int_quantize_matches_ml_dtypes_in_range(name):
    """ml_dtypes' integer casts truncate and wrap, so compare on exact integers in range."""
    fmt = get_format(name)
    x = np.arange(fmt.min_value, fmt.max_value + 1, dtype=np.float32)
    np.testing.assert_array_equal(quantize(x, name), x.astype(ML_INTS[name]).astype(np.float32))


# ------------------------------------------------------------------------------------------
# special-value policy, by capability (as ml_dtypes' DTYPES_WITH_NO_INFINITY lists do)
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", format_names(has_inf=True))
def test_formats_with_inf_overflow_to_inf(name):
    top = get_format(name).max_normal
    with np.errstate(over="ignore"):  # for bf16, 2 * max is already Inf in float32
        x = np.array([np.inf, -np.inf, top * 2, -top * 2], dtype=np.float32)
    np.testing.assert_array_equal(quantize(x, name), [np.inf, -np.inf, np.inf, -np.inf])


@pytest.mark.parametrize("name", format_names(has_inf=False, has_nan=True, signed=True))
def test_finite_formats_with_nan_overflow_to_nan(name):
    top = get_format(name).max_normal
    got = quantize(np.array([np.inf, -np.inf, top * 2, -top * 2], dtype=np.float32), name)
    assert np.isnan(got).all()


@pytest.mark.parametrize("name", format_names(has_nan=False))
def test_nan_less_formats_saturate_and_map_nan_to_zero(name):
    top = get_format(name).max_normal
    got = quantize(np.array([np.inf, -np.inf, top * 2, -top * 2, np.nan, -np.nan],
                            dtype=np.float32), name)
    np.testing.assert_array_equal(got, [top, -top, top, -top, 0.0, 0.0])
    # ml_dtypes gives NaN the zero of the opposite sign
    np.testing.assert_array_equal(np.signbit(got[4:]), [True, False])


@pytest.mark.parametrize("name", format_names(has_neg_zero=False, signed=True))
def test_unsigned_zero_formats_drop_the_sign_of_zero(name):
    got = quantize(np.array([-0.0, -get_format(name).min_subnormal / 4], np.float32), name)
    assert not np.signbit(got).any()
    assert (encode(got, name) == 0).all()
