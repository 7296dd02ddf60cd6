"""HAWQ-V3 dyadic requantisation (:mod:`hwsim.numerics.dyadic`) against an exact rational
reference (Python's ``fractions``), float64, and the public HAWQ code's rule
(github:Zhen-Dong/HAWQ, ``batch_frexp`` and case 0 of ``fixedpoint_mul`` in
``utils/quantization_utils/quant_utils.py``), recomputed below from its description: frexp,
the mantissa times 2**31 rounded half up with ``decimal``, ``e = 31 - exponent``; the output is
``torch.round(z * m / 2.0**e)`` in double (round half to even), clamped to the signed or
unsigned range."""

from __future__ import annotations

import decimal
import math
from fractions import Fraction

import numpy as np
import pytest

from hwsim.errors import HwsimError
from hwsim.numerics.dyadic import (
    dyadic_scale,
    requantize,
    requantize_float,
    requantize_real,
)


def hawq_frexp(scale: float) -> tuple[int, int]:
    """HAWQ's (m, e) for one scale, with Decimal's ROUND_HALF_UP as their code uses."""
    m, e = math.frexp(scale)
    q = decimal.Decimal(m * 2**31).quantize(decimal.Decimal("1"),
                                            rounding=decimal.ROUND_HALF_UP)
    return int(q), 31 - e


def hawq_requant(z: np.ndarray, scale: float, bits: int, symmetric: bool) -> np.ndarray:
    m, e = hawq_frexp(scale)
    out = np.round(z.astype(np.float64) * float(m) / (2.0 ** e))  # torch.round: half to even
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if symmetric else (0, (1 << bits) - 1)
    return np.clip(out, lo, hi).astype(np.int64)


def exact(z: int, b: int, c: int, rounding: str, lo: int, hi: int) -> int:
    x = Fraction(z * b, 1 << c)
    r = round(x) if rounding == "half_even" else math.floor(x + Fraction(1, 2))
    return min(max(r, lo), hi)


@pytest.fixture
def scales() -> np.ndarray:
    """Per-channel requantisation scales of an int8 conv (S_w * S_a / S_out): 1e-5 .. 1."""
    rng = np.random.default_rng(0)
    return np.exp(rng.uniform(np.log(1e-5), 0.0, 500))


def test_scale_rule_is_hawqs(scales) -> None:
    b, c = dyadic_scale(scales)
    want = np.array([hawq_frexp(float(s)) for s in scales])
    assert np.array_equal(b, want[:, 0]) and np.array_equal(c, want[:, 1])
    # b has 31 significant bits: the relative error of b / 2**c is at most 2**-31
    rel = np.abs(np.ldexp(b.astype(np.float64), -c) / scales - 1)
    assert rel.max() <= 2.0**-31 and rel.max() > 0


def test_scale_that_rounds_up_to_a_power_of_two() -> None:
    """m just below 1 rounds up to 2**31: b needs the 32nd bit (HAWQ's does too)."""
    s = math.ldexp(1 - 2.0**-40, -3)
    b, c = dyadic_scale(s)
    assert (int(b), int(c)) == hawq_frexp(s) == (1 << 31, 34)


@pytest.mark.parametrize("rounding", ["half_even", "half_up"])
@pytest.mark.parametrize("out", ["int8", "uint8"])
def test_integer_requant_is_exact(rounding, out, scales) -> None:
    rng = np.random.default_rng(1)
    b, c = dyadic_scale(scales)
    z = rng.integers(-(1 << 31), 1 << 31, b.size)
    # ties: z * b an odd multiple of 2**(c-1) (b a power of two, c small)
    tb = np.full(200, 1 << 4)
    tc = rng.integers(5, 12, 200)
    tz = (2 * rng.integers(-300, 300, 200) + 1) << (tc - 5)
    zz, bb, cc = (np.concatenate(x) for x in ((z, tz, [-(1 << 31), (1 << 31) - 1]),
                                             (b, tb, [1 << 31, 1 << 31]), (c, tc, [31, 31])))
    lo, hi = (-128, 127) if out == "int8" else (0, 255)
    got = requantize(zz, bb, cc, out=out, rounding=rounding)
    want = [exact(int(x), int(y), int(s), rounding, lo, hi)
            for x, y, s in zip(zz, bb, cc, strict=True)]
    assert got.tolist() == want
    assert len({*got[b.size:].tolist()}) > 50  # the tie cases are not all clamped


@pytest.mark.parametrize("rounding", ["half_even", "half_up"])
def test_float64_reference_agrees_where_exact(rounding, scales) -> None:
    """|acc * b| < 2**53: the float64 product is exact, so the two agree bit for bit."""
    rng = np.random.default_rng(2)
    b, c = dyadic_scale(scales)
    z = rng.integers(-(1 << 21), 1 << 21, b.size)
    assert np.all(np.abs(z * b) < 2**53)
    assert np.array_equal(requantize(z, b, c, rounding=rounding),
                          requantize_float(z, b, c, rounding=rounding))


@pytest.mark.parametrize(("out", "symmetric"), [("int8", True), ("uint8", False)])
def test_matches_hawq_code(out, symmetric, scales) -> None:
    """HAWQ's double arithmetic on int32 accumulators of a realistic range (|z| < 2**21)."""
    rng = np.random.default_rng(3)
    b, c = dyadic_scale(scales)
    for s, bi, ci in zip(scales[:100], b[:100], c[:100], strict=True):
        # accumulators that land inside the output range and around it
        z = np.round(rng.uniform(-300, 300, 200) / s).astype(np.int64)
        z = np.clip(z, -(1 << 21), 1 << 21)
        assert np.array_equal(requantize(z, bi, ci, out=out),
                              hawq_requant(z, float(s), 8, symmetric))


def test_dyadic_error_against_the_real_scale(scales) -> None:
    """With 31-bit b the dyadic result differs from the real-scale one only where
    acc * scale lies within 2**-31 relative of a rounding midpoint: off by at most 1."""
    rng = np.random.default_rng(4)
    b, c = dyadic_scale(scales)
    z = np.round(rng.uniform(-150, 150, scales.size) / scales).astype(np.int64)
    d = requantize(z, b, c) - requantize_real(z, scales)
    assert np.abs(d).max() <= 1 and np.mean(d != 0) < 0.01


@pytest.mark.parametrize(("call", "needle"), [
    (lambda: dyadic_scale(-1.0), "positive and finite"),
    (lambda: dyadic_scale(1.0, b_bits=64), "2..62 bits"),
    (lambda: requantize(1, 1, 1, out="int7"), "int8, uint8"),
    (lambda: requantize(1, 1, 1, rounding="floor"), "half_even, half_up"),
    (lambda: requantize(1, 1, -1), "shift c must lie in"),
])
def test_bad_input(call, needle) -> None:
    with pytest.raises(HwsimError, match=needle):
        call()
