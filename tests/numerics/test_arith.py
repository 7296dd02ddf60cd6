"""mul/add/fma/dot against references no one here wrote or that are exact by construction.

- ml_dtypes' and numpy's own arithmetic on bfloat16/float8/float16 scalars computes in float32
  and rounds once more; for formats of p <= 11 significant bits float32 (24 >= 2p + 2) makes
  that double rounding innocuous, so their results are correctly rounded references.
- fma is checked against exact rational arithmetic (fractions.Fraction) and a brute-force
  nearest-value search over every code of the 8-bit format.
"""

from __future__ import annotations

from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwsim.numerics import HwsimError, accumulate, add, decode, dot, fma, mul, quantize

NUMPY_TYPES = {
    "fp8_e4m3fn": ml_dtypes.float8_e4m3fn,
    "fp8_e5m2": ml_dtypes.float8_e5m2,
    "fp8_e4m3fnuz": ml_dtypes.float8_e4m3fnuz,
    "bf16": ml_dtypes.bfloat16,
    "fp16": np.float16,
}


def _all_values(fmt: str) -> np.ndarray:
    bits = 8 if fmt.startswith("fp8") else 16
    return decode(np.arange(1 << bits), fmt)


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return (a == b) & (np.signbit(a) == np.signbit(b)) | (np.isnan(a) & np.isnan(b))


@pytest.mark.parametrize("fmt", ["fp8_e4m3fn", "fp8_e5m2", "fp8_e4m3fnuz"])
@pytest.mark.parametrize("op", ["mul", "add"])
def test_fp8_ops_exhaustive_match_ml_dtypes(fmt: str, op: str) -> None:
    vals = _all_values(fmt)
    a, b = (v.ravel() for v in np.meshgrid(vals, vals))  # all 65,536 operand pairs
    t = NUMPY_TYPES[fmt]
    with np.errstate(all="ignore"):
        ref = (a.astype(t) * b.astype(t)) if op == "mul" else (a.astype(t) + b.astype(t))
    got = mul(a, b, fmt) if op == "mul" else add(a, b, fmt)
    ok = _same(got, ref.astype(np.float32))
    assert ok.all(), f"{(~ok).sum()} mismatches, e.g. {a[~ok][:3]} {op} {b[~ok][:3]}"


@pytest.mark.parametrize("fmt", ["bf16", "fp16"])
@pytest.mark.parametrize("op", ["mul", "add"])
def test_16bit_ops_random_match_numpy(fmt: str, op: str) -> None:
    rng = np.random.default_rng(7)
    n = 400_000
    # random bit patterns cover subnormals, huge values, Inf and NaN
    codes = rng.integers(0, 1 << 16, size=(2, n))
    a, b = decode(codes[0], fmt), decode(codes[1], fmt)
    # and values of similar magnitude so additions cancel and round
    a[: n // 2] = quantize(rng.standard_normal(n // 2), fmt)
    b[: n // 2] = quantize(rng.standard_normal(n // 2), fmt)
    t = NUMPY_TYPES[fmt]
    with np.errstate(all="ignore"):
        ref = (a.astype(t) * b.astype(t)) if op == "mul" else (a.astype(t) + b.astype(t))
    got = mul(a, b, fmt) if op == "mul" else add(a, b, fmt)
    ok = _same(got, ref.astype(np.float32))
    assert ok.all(), f"{(~ok).sum()} mismatches, e.g. {a[~ok][:3]} {op} {b[~ok][:3]}"


def _nearest_even(exact: Fraction, table: np.ndarray) -> float:
    """Correct RNE rounding of an exact rational onto a sorted table of finite values."""
    finite = table[np.isfinite(table)]
    vals = np.unique(finite)
    fr = [Fraction(float(v)) for v in vals]
    best = min(range(len(vals)), key=lambda i: (abs(fr[i] - exact), i))
    dist = abs(fr[best] - exact)
    ties = [i for i in range(len(vals)) if abs(fr[i] - exact) == dist]
    if len(ties) > 1:  # tie: the value whose code is even
        from hwsim.numerics import encode

        ties = [i for i in ties if int(encode(vals[i], "fp8_e4m3fn")) % 2 == 0] or ties
    return float(vals[ties[0]])


e4m3_values = st.sampled_from(
    [float(v) for v in _all_values("fp8_e4m3fn") if np.isfinite(v)]
)


@settings(max_examples=300, deadline=None)
@given(e4m3_values, e4m3_values, e4m3_values)
def test_fma_e4m3_single_rounding(a: float, b: float, c: float) -> None:
    exact = Fraction(a) * Fraction(b) + Fraction(c)
    table = _all_values("fp8_e4m3fn")
    if abs(exact) > Fraction(464):  # beyond max + half ulp: overflow, NaN in E4M3FN
        assert np.isnan(fma(a, b, c, "fp8_e4m3fn"))
        return
    want = _nearest_even(exact, table)
    got = float(fma(a, b, c, "fp8_e4m3fn"))
    assert got == want, (a, b, c, got, want)


@settings(max_examples=300, deadline=None)
@given(
    st.floats(width=32, allow_nan=False, allow_infinity=False),
    st.floats(width=32, allow_nan=False, allow_infinity=False),
    st.floats(width=32, allow_nan=False, allow_infinity=False),
)
def test_fma_fp32_matches_exact_rational(a: float, b: float, c: float) -> None:
    exact = Fraction(a) * Fraction(b) + Fraction(c)
    got = float(fma(a, b, c, "fp32"))
    if not np.isfinite(got):
        assert abs(exact) >= Fraction(float(np.finfo(np.float32).max))
        return
    # the result is correct iff no float32 lies strictly closer to the exact value
    g = np.float32(got)
    up = np.nextafter(g, np.float32(np.inf))
    down = np.nextafter(g, np.float32(-np.inf))
    err = abs(Fraction(float(g)) - exact)
    for nb in (up, down):
        if np.isfinite(nb):
            assert abs(Fraction(float(nb)) - exact) >= err, (a, b, c)


def test_fma_rounds_once_where_mul_then_add_rounds_twice() -> None:
    # 1 + 2**-30 is not an fp32 number; as a separate product it would round away
    a = np.float32(1 + 2**-12)
    exact = Fraction(float(a)) ** 2 - 1
    got = fma(a, a, -1.0, "fp32")
    assert Fraction(float(got)) == exact  # 2**-11 + 2**-24 is exact in fp32
    assert float(mul(a, a, "fp32")) - 1 != float(exact)


def test_operands_are_rounded_into_the_format() -> None:
    assert float(mul(1.06, 1.0, "fp8_e4m3fn")) == 1.0  # 1.06 -> 1.0 in E4M3


def test_out_fmt_widens_product() -> None:
    a, b = 1.125, 1.125  # both exact in E4M3; the product 1.265625 needs 6 mantissa bits
    assert float(mul(a, b, "fp8_e4m3fn", out_fmt="fp32")) == 1.265625
    assert float(mul(a, b, "fp8_e4m3fn")) == 1.25


def test_dot_fp32_accumulator_matches_numpy_float32_chain() -> None:
    rng = np.random.default_rng(3)
    a = quantize(rng.standard_normal((64, 257)), "fp8_e4m3fn")
    b = quantize(rng.standard_normal((64, 257)), "fp8_e4m3fn")
    # products of E4M3 values are exact in float32, so numpy's float32 chain is the fused one
    acc = np.zeros(64, np.float32)
    for i in range(a.shape[1]):
        acc = acc + (a[:, i].astype(np.float32) * b[:, i].astype(np.float32))
    np.testing.assert_array_equal(dot(a, b, "fp8_e4m3fn", "fp32"), acc.astype(np.float64))


def test_dot_fp16_accumulator_matches_numpy_float16_chain() -> None:
    rng = np.random.default_rng(4)
    a = quantize(rng.standard_normal((32, 300)), "fp8_e4m3fn")
    b = quantize(rng.standard_normal((32, 300)), "fp8_e4m3fn")
    acc = np.zeros(32, np.float16)
    for i in range(a.shape[1]):
        acc = acc + (a[:, i] * b[:, i]).astype(np.float16)  # exact in fp16 for these
    np.testing.assert_array_equal(dot(a, b, "fp8_e4m3fn", "fp16"), acc.astype(np.float64))


def test_dot_exact_matches_rational_sum() -> None:
    rng = np.random.default_rng(5)
    a = quantize(rng.standard_normal((4, 100)) * 100, "bf16")
    b = quantize(rng.standard_normal((4, 100)) * 1e-3, "bf16")
    got = dot(a, b, "bf16", "exact")
    for r in range(4):
        pairs = zip(a[r], b[r], strict=True)
        exact = sum(Fraction(float(x)) * Fraction(float(y)) for x, y in pairs)
        assert got[r] == float(exact)


def test_dot_block_sums_blocks_exactly_then_accumulates() -> None:
    # 1 + 2**-24 + 2**-24: an fp32 chain loses both small terms; a block of 4 keeps them
    p = np.array([[1.0, 2.0**-24, 2.0**-24, 0.0]])
    assert accumulate(p, "fp32")[0] == 1.0
    assert accumulate(p, "fp32", block=4)[0] == 1.0 + 2.0**-23
    assert accumulate(p, "fp32", block=3)[0] == 1.0 + 2.0**-23


def test_block_sum_wider_than_float64_is_rounded_once() -> None:
    # 2^28 + 2^4 is an fp32 tie; 2^-32 (an E5M2 product of two subnormals) breaks it, but sits
    # 60 bits below 2^28: a float64 block sum loses it and the tie then rounds to even
    for tail, want in ((2.0**-32, 2.0**28 + 32), (-(2.0**-32), 2.0**28), (0.0, 2.0**28)):
        p = np.array([2.0**28, 2.0**4, tail])
        got = accumulate(p, "fp32", block=3)
        exact = Fraction(2**28) + Fraction(2**4) + Fraction(tail)
        assert got == want, tail
        # the correctly rounded fp32 value of the exact sum (ulp 2^5 at 2^28; ties to even)
        assert abs(Fraction(float(got)) - exact) <= Fraction(2**4)
    assert accumulate(np.array([2.0**28, 2.0**4, 2.0**-32]), "exact", block=3) == 2.0**28 + 16


def test_dot_errors() -> None:
    with pytest.raises(HwsimError, match="last axes differ"):
        dot(np.ones(3), np.ones(4), "fp16")
    with pytest.raises(HwsimError, match="accumulator"):
        dot(np.ones(3), np.ones(3), "fp16", acc_fmt="fp64")
    with pytest.raises(HwsimError, match="block"):
        dot(np.ones(3), np.ones(3), "fp16", block=0)
    with pytest.raises(HwsimError, match="at least one axis"):
        dot(1.0, 2.0, "fp16")
    with pytest.raises(HwsimError, match="do not broadcast"):
        mul(np.ones(3), np.ones(4), "fp16")
    with pytest.raises(HwsimError, match="do not broadcast"):
        fma(np.ones(3), np.ones(3), np.ones(2), "fp16")
    # empty operands give empty results; 0-d operands give 0-d results
    assert mul(np.zeros(0), np.zeros(0), "fp16").shape == (0,)
    assert add(1.0, 2.0, "fp16").shape == ()
    assert dot(np.zeros((2, 0)), np.zeros((2, 0)), "fp16").tolist() == [0.0, 0.0]


def test_mul_special_values() -> None:
    got = mul([np.inf, 0.0, np.nan, 448.0], [0.0, -3.0, 1.0, 2.0], "fp8_e5m2")
    assert np.isnan(got[0]) and got[1] == 0 and np.signbit(got[1]) and np.isnan(got[2])
    assert got[3] == 896.0
    assert np.isnan(mul(448.0, 2.0, "fp8_e4m3fn"))  # overflow -> NaN (no Inf in E4M3FN)
    assert float(mul(448.0, 2.0, "fp8_e4m3fn", saturate=True)) == 448.0
