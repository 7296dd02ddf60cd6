"""quantize against gfloat: float64 input (single rounding), formats ml_dtypes lacks, saturation,
the directed and ties-away roundings, and stochastic rounding's statistics.

gfloat differs from ml_dtypes (and from us, by design) in a few places, so the comparisons here
leave out: NaN input to NaN-less formats (gfloat passes NaN through, we follow ml_dtypes and give
a zero), NaN sign bits (gfloat keeps the input's sign, ml_dtypes' fnuz NaN is always 0x80), and
non-saturating overflow of NaN-less formats (gfloat raises, we saturate as ml_dtypes does).
"""

from __future__ import annotations

import gfloat
import numpy as np
import pytest
from gfloat import RoundMode
from helpers import (
    GENERIC_FORMATS,
    GFLOAT_INFO,
    ML_DTYPES,
    assert_same_bits,
    edge_values,
    finite_grid,
    random_inputs,
)

from hwsim.numerics import decode, encode, get_format, quantize

N_RANDOM = 1_000_000
SIGNED_NAMES = [n for n in GFLOAT_INFO if n != "e8m0"]
GFLOAT_SAT_NAMES = [n for n in SIGNED_NAMES if not n.startswith("e1m")]  # see e1mY below
MODES = {"rne": RoundMode.TiesToEven, "rtz": RoundMode.TowardZero, "rna": RoundMode.TiesToAway}


def gfloat_round(name: str, x: np.ndarray, rounding: str = "rne", sat: bool = False):
    fmt = get_format(name)
    # NaN-less formats saturate in ml_dtypes (and here); gfloat calls that sat=True
    sat = sat or not (fmt.has_nan or fmt.has_inf)
    with np.errstate(all="ignore"):
        return gfloat.round_ndarray(GFLOAT_INFO[name], x, MODES[rounding], sat=sat)


def inputs64(name: str, n: int, seed: int) -> np.ndarray:
    """float64 inputs with bits below float32's precision, plus the format's edge values.

    The random float32 samples are nudged by a relative 1e-9 so that many are not float32
    values: that is where single and double rounding part ways.
    """
    fmt = get_format(name)
    rng = np.random.default_rng(seed)
    with np.errstate(invalid="ignore"):  # signalling-NaN bit patterns warn when widened
        x = random_inputs(fmt, n, seed).astype(np.float64)
    x *= 1 + rng.uniform(-1e-9, 1e-9, x.size) * (rng.random(x.size) < 0.5)
    parts = [x]
    if fmt.total_bits <= 16:
        parts.append(edge_values(fmt).astype(np.float64))
    x = np.concatenate(parts)
    return x if fmt.has_nan else x[~np.isnan(x)]


def in_range(name: str, x: np.ndarray) -> np.ndarray:
    """Drop values that overflow under a directed rounding (see test_rtz_overflow_*)."""
    return x[~(np.abs(x) > get_format(name).max_normal)]


# ------------------------------------------------------------------------------------------
# float64 input: single rounding, as gfloat does it
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SIGNED_NAMES)
def test_float64_input_matches_gfloat(name):
    x = inputs64(name, N_RANDOM, seed=11)
    got = quantize(x, name)
    assert got.dtype == np.float64
    assert_same_bits(got, gfloat_round(name, x), x, nan_sign=False, what=name)


@pytest.mark.parametrize(
    ("name", "x", "single", "double"),
    [
        # 1 + 2**-4 + 2**-30 lies just above the 1 / 1.125 tie; float32 rounds it onto the tie
        ("fp8_e4m3fn", 1 + 2**-4 + 2**-30, 1.125, 1.0),
        ("fp8_e5m2", 1 + 2**-3 + 2**-30, 1.25, 1.0),
        ("fp4_e2m1fn", 1.25 + 2**-30, 1.5, 1.0),
        ("bf16", 1 + 2**-8 + 2**-30, 1 + 2**-7, 1.0),
    ],
)
def test_float64_rounds_once_not_via_float32(name, x, single, double):
    """The documented divergence from ml_dtypes, which rounds float64 via float32."""
    x = np.array([x, -x])
    assert ML_DTYPES[name](np.float32(x[0])) == double  # the double rounding really happens
    np.testing.assert_array_equal(quantize(x, name), [single, -single])
    np.testing.assert_array_equal(gfloat_round(name, x), [single, -single])


@pytest.mark.parametrize("name", list(ML_DTYPES))
def test_float64_input_equals_float32_path_when_exact(name):
    """For float64 values that float32 holds exactly, both input paths agree bit for bit."""
    x32 = random_inputs(get_format(name), 200_000, seed=5)
    with np.errstate(invalid="ignore"):
        got64 = quantize(x32.astype(np.float64), name)
    assert_same_bits(got64.astype(np.float32), quantize(x32, name), x32, what=name)


def test_fp32_target_from_float64_is_numpy_cast():
    """numpy's float64 -> float32 cast is correctly rounded, so it is a third oracle."""
    x = inputs64("fp32", N_RANDOM, seed=3)
    got = quantize(x, "fp32")
    with np.errstate(over="ignore"):
        want = x.astype(np.float32).astype(np.float64)
    assert_same_bits(got, want, x, what="fp32")
    assert_same_bits(got, gfloat_round("fp32", x), x, nan_sign=False, what="fp32 vs gfloat")


# ------------------------------------------------------------------------------------------
# formats ml_dtypes lacks
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", GENERIC_FORMATS)
def test_generic_decode_matches_gfloat(name):
    fmt = get_format(name)
    codes = np.arange(1 << fmt.total_bits, dtype=np.int64)  # all are <= 16 bits: exhaustive
    got = decode(codes, name).astype(np.float64)
    want = gfloat.decode_ndarray(GFLOAT_INFO[name], codes)
    assert_same_bits(got, want, codes, nan_sign=False, what=name)


@pytest.mark.parametrize("name", GENERIC_FORMATS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_generic_quantize_matches_gfloat(name, dtype):
    x = inputs64(name, N_RANDOM, seed=13).astype(dtype)
    got = quantize(x, name)
    assert got.dtype == dtype
    want = gfloat_round(name, x.astype(np.float64)).astype(dtype)
    assert_same_bits(got, want, x, nan_sign=False, what=name)


@pytest.mark.parametrize("name", GENERIC_FORMATS)
def test_generic_encode_decode_round_trip(name):
    fmt = get_format(name)
    codes = np.arange(1 << fmt.total_bits, dtype=np.uint32)
    vals = decode(codes, name)
    back = encode(vals, name).astype(np.uint32)
    nan = np.isnan(vals)
    np.testing.assert_array_equal(back[~nan], codes[~nan])
    assert np.isnan(decode(back[nan], name)).all()


# ------------------------------------------------------------------------------------------
# saturation
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", GFLOAT_SAT_NAMES)
def test_saturate_matches_gfloat(name):
    x = inputs64(name, N_RANDOM // 2, seed=17)
    assert (np.abs(x) > get_format(name).max_normal).any()
    got = quantize(x, name, saturate=True)
    assert_same_bits(got, gfloat_round(name, x, sat=True), x, nan_sign=False, what=name)


SAT_NAMES = list(ML_DTYPES) + list(GENERIC_FORMATS)


@pytest.mark.parametrize("name", SAT_NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_saturate_overflow_and_inf_give_largest_finite_code(name, dtype):
    """+-Inf and every finite overflow land on the format's largest finite value, +-."""
    fmt = get_format(name)
    top = finite_grid(fmt)[-1]
    with np.errstate(over="ignore"):
        x = np.array([np.inf, top * 1.5, top * 1.01, top * 4, 3e38], dtype=dtype)
    x = x[np.isinf(x) | (x > top)]
    if fmt.signed:
        x = np.concatenate([x, -x])
    got = quantize(x, name, saturate=True)
    np.testing.assert_array_equal(got, np.copysign(top, x).astype(dtype))
    assert (decode(encode(x, name, saturate=True), name) == got).all()


# The IEEE-like formats with one exponent bit have no normal numbers: their largest finite value
# is the largest subnormal (e1m2: 1.5). gfloat's FormatInfo.max gets this wrong (1.75), so the
# gfloat saturation checks leave e1mY out and these direct checks cover them.
@pytest.mark.parametrize("name", ["e1m0", "e1m1", "e1m2", "e1m3"])
def test_saturate_one_exponent_bit_formats(name):
    top = finite_grid(get_format(name))[-1]
    x = np.array([10.0, np.inf, -10.0])
    np.testing.assert_array_equal(quantize(x, name, saturate=True), [top, top, -top])


@pytest.mark.parametrize("name", ["e1m0", "e1m1", "e1m2", "e1m3"])
def test_max_normal_is_largest_finite_value(name):
    assert get_format(name).max_normal == finite_grid(get_format(name))[-1]


# ------------------------------------------------------------------------------------------
# directed and ties-away rounding
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SIGNED_NAMES)
@pytest.mark.parametrize("rounding", ["rtz", "rna"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rtz_rna_match_gfloat(name, rounding, dtype):
    x = inputs64(name, N_RANDOM // 4, seed=19).astype(dtype)
    if rounding == "rtz":
        x = in_range(name, x)
    got = quantize(x, name, rounding=rounding)
    want = gfloat_round(name, x.astype(np.float64), rounding).astype(dtype)
    assert_same_bits(got, want, x, nan_sign=False, what=f"{name} {rounding}")


@pytest.mark.parametrize("name", GFLOAT_SAT_NAMES)
def test_rtz_saturating_matches_gfloat(name):
    x = inputs64(name, N_RANDOM // 4, seed=23)
    got = quantize(x, name, rounding="rtz", saturate=True)
    want = gfloat_round(name, x, "rtz", sat=True)
    assert_same_bits(got, want, x, nan_sign=False, what=name)


@pytest.mark.parametrize("name", [n for n in SIGNED_NAMES if n != "e1m0"])  # e1m0: only 0
def test_rtz_never_increases_magnitude_in_range(name):
    x = in_range(name, random_inputs(get_format(name), 200_000, seed=29))
    x = x[np.isfinite(x)]
    assert x.size > 50_000  # the filter must leave a real sample
    got = quantize(x, name, rounding="rtz")
    assert (np.abs(got) <= np.abs(x)).all()


# IEEE 754 (7.4): under roundTowardZero an overflow gives the largest finite number, never Inf.
@pytest.mark.parametrize("name", list(GFLOAT_INFO))
def test_rtz_overflow_goes_to_max(name):
    fmt = get_format(name)
    top = finite_grid(fmt)[-1] if fmt.total_bits <= 16 else fmt.max_normal
    x = np.array([top * 1.5, top * 1.01, top * 3])
    x = np.concatenate([x, -x]) if fmt.signed else x
    np.testing.assert_array_equal(quantize(x, name, rounding="rtz"), np.copysign(top, x))


def test_rna_and_rne_differ_only_on_ties():
    x = np.array([1.0625, 1.1875, -1.0625, 1.07, 0.0009765625], dtype=np.float32)
    np.testing.assert_array_equal(quantize(x, "fp8_e4m3fn", rounding="rne"),
                                  np.array([1.0, 1.25, -1.0, 1.125, 0.0], dtype=np.float32))
    np.testing.assert_array_equal(quantize(x, "fp8_e4m3fn", rounding="rna"),
                                  np.array([1.125, 1.25, -1.125, 1.125, 0.001953125],
                                           dtype=np.float32))


def test_e8m0_directed_modes_match_gfloat():
    """gfloat's E8M0 is unsigned and has no clamp below 2**-127, so compare inside the range."""
    rng = np.random.default_rng(31)
    x = np.concatenate([np.exp2(rng.uniform(-127, 127.5, N_RANDOM // 4)),
                        1.5 * np.exp2(np.arange(-127.0, 127.0)), np.exp2(np.arange(-127.0, 128))])
    for rounding in ("rtz", "rna"):
        got = quantize(x, "e8m0", rounding=rounding)
        assert_same_bits(got, gfloat_round("e8m0", x, rounding), x, what=f"e8m0 {rounding}")
    # E8M0 breaks ties away from zero under "rne" as well (the ml_dtypes convention)
    assert_same_bits(quantize(x, "e8m0"), gfloat_round("e8m0", x, "rna"), x, what="e8m0 rne")


# ------------------------------------------------------------------------------------------
# stochastic rounding
# ------------------------------------------------------------------------------------------
def neighbours(name: str, where: str) -> tuple[float, float]:
    """Two consecutive grid values: in the normal range, or the subnormal range."""
    fmt = get_format(name)
    if where == "subnormal":
        return fmt.min_subnormal * 2, fmt.min_subnormal * 3
    if where == "top_subnormal":
        return fmt.min_normal - fmt.min_subnormal, fmt.min_normal
    return 1.0, 1.0 + 2.0**-fmt.man_bits


SR_CASES = [
    (name, where, frac)
    for name in ("fp8_e4m3fn", "fp8_e5m2", "fp6_e2m3fn", "fp4_e2m1fn", "bf16", "e5m7")
    for where in ("normal", "subnormal", "top_subnormal")
    for frac in (0.1, 0.5, 0.77)
]


@pytest.mark.parametrize(("name", "where", "frac"), SR_CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stochastic_is_unbiased_and_lands_on_neighbours(name, where, frac, dtype):
    lo, hi = neighbours(name, where)
    if get_format(name).man_bits == 1 and where == "subnormal":
        lo, hi = get_format(name).min_subnormal, 2 * get_format(name).min_subnormal
    v = lo + frac * (hi - lo)
    n = 100_000
    x = np.full(n, v, dtype=dtype)
    assert x[0] == v  # v is exact in both dtypes, so the expected mean is exactly v
    for sign in (1, -1):
        got = quantize(sign * x, name, rounding="stochastic", seed=1234)
        assert np.isin(got, [sign * lo, sign * hi]).all()
        p_hi = np.mean(got == sign * hi)
        se = np.sqrt(frac * (1 - frac) / n)
        assert abs(p_hi - frac) < 5 * se, (p_hi, frac)
        assert abs(got.astype(np.float64).mean() - sign * v) < 5 * se * (hi - lo)


@pytest.mark.parametrize("name", ["fp8_e4m3fn", "fp4_e2m1fn", "bf16", "e8m0", "int8"])
def test_stochastic_seed_reproducible_and_seed_sensitive(name):
    # spans many quantisation chunks, so the per-chunk draws are covered too
    x = np.abs(np.random.default_rng(0).standard_normal(300_000).astype(np.float32)) + 0.01
    a = quantize(x, name, rounding="stochastic", seed=42)
    b = quantize(x, name, rounding="stochastic", seed=42)
    c = quantize(x, name, rounding="stochastic", seed=43)
    np.testing.assert_array_equal(a, b)
    assert (a != c).mean() > 0.05
    g = np.random.default_rng(7)
    d = quantize(x, name, rounding="stochastic", seed=g)  # a Generator is accepted too
    assert (d != a).mean() > 0.05


@pytest.mark.parametrize("name", [n for n in ML_DTYPES if n != "e8m0"] + ["e5m7", "e3m3"])
def test_stochastic_keeps_grid_values_and_brackets_others(name):
    fmt = get_format(name)
    grid = finite_grid(fmt).astype(np.float32)
    got = quantize(grid, name, rounding="stochastic", seed=3)
    np.testing.assert_array_equal(got, grid)
    x = random_inputs(fmt, 100_000, seed=37)
    x = x[np.isfinite(x) & (np.abs(x) < fmt.max_normal) & (np.abs(x) >= grid[0])]
    got = quantize(x, name, rounding="stochastic", seed=5)
    down = quantize(x, name, rounding="rtz")
    assert np.isin(got, grid).all()
    # one of the two neighbours: the value toward zero, or the next grid value away from zero
    idx = np.searchsorted(grid, np.abs(down).astype(np.float64))
    up = grid[np.minimum(idx + 1, grid.size - 1)]
    ok = (np.abs(got) == np.abs(down)) | (np.abs(got) == up) | (down == x)
    assert ok.all()


@pytest.mark.parametrize("frac", [0.1, 0.5, 0.77])
@pytest.mark.parametrize("lo", [2.0**-127, 1.0, 2.0**100])
def test_stochastic_e8m0_is_unbiased(lo, frac):
    """E8M0's neighbours are lo and 2*lo; the probability of going up is linear in the value."""
    n = 100_000
    v = lo * (1 + frac)
    got = quantize(np.full(n, v), "e8m0", rounding="stochastic", seed=99)
    assert np.isin(got, [lo, 2 * lo]).all()
    p_hi = np.mean(got == 2 * lo)
    assert abs(p_hi - frac) < 5 * np.sqrt(frac * (1 - frac) / n), (p_hi, frac)
