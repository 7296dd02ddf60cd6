"""L-Mul against its real-valued definition, exhaustively over 8-bit operand pairs.

The reference here works on values (math.frexp of the decoded operands), not bits: for normal
x = (1 + xm) 2^xe, y = (1 + ym) 2^ye, with s = xm + ym + 2^-l(m),
    L-Mul(x, y) = (1 + s) 2^(xe+ye)        if s < 1   (the paper's formula)
                = s 2^(xe+ye+1)            if s >= 1  (the mantissa carry of the packed adder)
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from hwsim.numerics import (
    HwsimError,
    decode,
    get_format,
    lmul,
    lmul_bits,
    lmul_dot,
    lmul_offset_exponent,
)


def _reference(x: float, y: float, man_bits: int) -> float:
    fx, ex = math.frexp(abs(x))  # |x| = fx 2^ex with fx in [0.5, 1)
    fy, ey = math.frexp(abs(y))
    xm, ym = 2 * fx - 1, 2 * fy - 1
    s = xm + ym + 2.0 ** -lmul_offset_exponent(man_bits)
    mag = (1 + s) * 2.0 ** (ex + ey - 2) if s < 1 else s * 2.0 ** (ex + ey - 1)
    return math.copysign(mag, x) * (1 if y > 0 else -1)


def test_offset_schedule() -> None:
    assert [lmul_offset_exponent(m) for m in range(1, 8)] == [1, 2, 3, 3, 4, 4, 4]


@pytest.mark.parametrize("fmt", ["fp8_e4m3fn", "fp8_e5m2", "fp8_e3m4", "fp8_e4m3"])
def test_exhaustive_8bit_against_value_definition(fmt: str) -> None:
    f = get_format(fmt)
    codes = np.arange(256)
    ca, cb = (c.ravel() for c in np.meshgrid(codes, codes))
    got = decode(lmul_bits(ca, cb, f), f).astype(np.float64)
    a, b = decode(ca, f).astype(np.float64), decode(cb, f).astype(np.float64)
    normal = np.isfinite(a) & np.isfinite(b) & (np.abs(a) >= f.min_normal) & (
        np.abs(b) >= f.min_normal
    )
    checked = 0
    for x, y, g in zip(a[normal], b[normal], got[normal], strict=True):
        want = _reference(x, y, f.man_bits)
        if abs(want) < f.min_normal:
            assert g == 0 and math.copysign(1, g) == math.copysign(1, want)
        elif abs(want) > f.max_normal:
            assert np.isinf(g) if f.has_inf else np.isnan(g)
        else:
            assert g == want, (x, y, g, want)
            checked += 1
    assert checked > 20_000  # most pairs are in range; the comparison above did real work
    # zero or subnormal operands give a signed zero (flush to zero)
    tiny = (np.abs(a) < f.min_normal) & np.isfinite(b) & (b != 0) & ~np.isinf(b)
    assert (got[tiny & ~np.isnan(b)] == 0).all()


def test_specials() -> None:
    f = "fp8_e5m2"
    got = lmul([np.inf, np.inf, np.nan, -2.0, 0.0], [2.0, 0.0, 1.0, np.inf, -1.0], f)
    assert got[0] == np.inf and np.isnan(got[1]) and np.isnan(got[2]) and got[3] == -np.inf
    assert got[4] == 0 and np.signbit(got[4])
    # E4M3FN has no Inf: overflow is NaN, or max with saturate=True
    assert np.isnan(lmul(400.0, 400.0, "fp8_e4m3fn"))
    assert float(lmul(400.0, 400.0, "fp8_e4m3fn", saturate=True)) == 448.0
    # FP4 saturates: the format has neither Inf nor NaN
    assert float(lmul(6.0, 6.0, "fp4_e2m1fn")) == 6.0


def test_int_argument_means_bfloat16_range() -> None:
    # 1.5 * 1.5: xm = ym = 0.5, s = 1 + 2^-3 >= 1 -> carry: 1.125 * 2 = 2.25
    assert float(lmul(1.5, 1.5, 4)) == 2.25
    assert float(lmul(1e30, 1e-30, 7)) == pytest.approx(1.0, rel=0.1)


def test_lmul_dot_uses_lmul_products() -> None:
    a = np.array([[1.5, 2.0, -1.25]])
    b = np.array([[1.5, 0.5, 1.25]])
    want = sum(_reference(x, y, 3) for x, y in zip(a[0], b[0], strict=True))
    assert lmul_dot(a, b, "fp8_e4m3fn", "exact")[0] == want


def test_bad_formats() -> None:
    with pytest.raises(HwsimError, match="L-Mul"):
        lmul(1.0, 1.0, "int8")
    with pytest.raises(HwsimError, match="mantissa bit"):
        lmul(1.0, 1.0, "e5m0")
    with pytest.raises(HwsimError, match="last axes"):
        lmul_dot(np.ones(3), np.ones(2), 3)
