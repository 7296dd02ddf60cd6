"""The MixPE golden model (:mod:`hwsim.numerics.mixpe`) against references written without it:
int8 against an exact int64 matmul of per-element dequantised weights; fp16 against float64
group sums (exact at these sizes) and an 80-bit long-double product rounded once to fp32 by
NumPy; the dequant-MAC baseline against ml_dtypes/NumPy float16/float32 arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from hwsim.errors import HwsimError
from hwsim.numerics.mixpe import (
    check_group,
    dequant_fp16,
    dequant_mac_stream,
    fp16_fixed,
    group_stream,
    mixpe_dot,
    mixpe_stream,
    round_fp32,
    shift_add,
)

RNG = np.random.default_rng(7)


def _signed(y: np.ndarray, bits: int) -> np.ndarray:
    y = y.astype(np.int64)
    return np.where(y >= 1 << (bits - 1), y - (1 << bits), y)


@pytest.mark.parametrize("wbits", [2, 4])
def test_shift_add_is_the_product_for_every_weight_and_activation(wbits) -> None:
    a, q = np.meshgrid(np.arange(-128, 128), np.arange(1 << wbits))
    assert np.array_equal(shift_add(a, q, wbits), a * q)


@pytest.mark.parametrize(("wbits", "group"), [(4, 32), (2, 128), (4, 1)])
def test_int8_dot_equals_exact_matmul_of_dequantised_weights(wbits, group) -> None:
    k, n = 256, 5
    a = RNG.integers(-128, 128, k)
    q = RNG.integers(0, 1 << wbits, (n, k))
    s = RNG.integers(0, 256, (n, k // group))
    z = RNG.integers(0, 1 << wbits, (n, k // group))
    w = np.repeat(s, group, axis=1) * (q - np.repeat(z, group, axis=1))  # per-element dequant
    want = w @ a
    got = [mixpe_dot(a & 0xFF, q[j], s[j], z[j], group=group, weight_bits=wbits)
           for j in range(n)]
    assert got == want.tolist()
    # the baseline PE gives the same integers, element by element
    base = [_signed(dequant_mac_stream(a & 0xFF, q[j], np.repeat(s[j], group),
                                       np.repeat(z[j], group), weight_bits=wbits), 32)[-1]
            for j in range(n)]
    assert base == want.tolist()


def test_int8_stream_updates_once_per_group_and_wraps() -> None:
    a = np.array([100, 100, 100, 100])
    q, s, z = np.full(4, 15), np.full(4, 255), np.zeros(4, dtype=np.int64)
    y = mixpe_stream(a, q, s, z, group=2, weight_bits=4, acc_bits=18)
    # group sums 2 * 100 * 15 = 3000, times 255 = 765000; mod 2**18 = 241736
    assert y.tolist() == [0, 765000 % (1 << 18), 765000 % (1 << 18), 1530000 % (1 << 18)]


def test_group_results_times_scales_are_the_dequantised_stream() -> None:
    """What a PE with a shared dequantiser hands over (``r`` per group), scaled and summed
    outside, is the PE-with-dequantiser's accumulator."""
    k, group = 512, 64
    a, q = RNG.integers(0, 256, k), RNG.integers(0, 16, k)
    s, z = RNG.integers(0, 256, k), RNG.integers(0, 16, k)
    r = group_stream(a, q, z, group=group)[group - 1::group]
    y = mixpe_stream(a, q, s, z, group=group, acc_bits=48)[group - 1::group]
    assert np.array_equal(np.cumsum(s[group - 1::group] * r), _signed(y, 48))


def _fp16_codes(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float16).view(np.uint16).astype(np.int64)


def test_fp16_fixed_point_is_exact_for_every_finite_code() -> None:
    codes = np.arange(1 << 16)
    finite = np.isfinite(codes.astype(np.uint16).view(np.float16))
    got = fp16_fixed(codes[finite]).astype(np.float64) * 2.0**-24
    assert np.array_equal(got, codes[finite].astype(np.uint16).view(np.float16).astype(float))
    with pytest.raises(HwsimError, match="finite"):
        fp16_fixed(_fp16_codes([np.inf]))


def test_round_fp32_matches_numpy_on_hard_cases() -> None:
    """Ties, subnormals and overflow: long double holds these exactly, NumPy rounds once."""
    cases = [((1 << 24) + 1, 0), ((1 << 24) + 3, 0), (3, -150), (1, -150), (5, -151),
             ((1 << 25) - 1, 104), (-(1 << 30) - 64, -10), (123456789, -200)]
    for m, e in cases:
        with np.errstate(over="ignore"):  # the overflow case rounds to inf, as it should
            want = (np.longdouble(m) * np.longdouble(2.0) ** e).astype(np.float32)
        assert round_fp32(m, e).view(np.uint32) == want.view(np.uint32), (m, e)


@pytest.mark.parametrize("wbits", [2, 4])
def test_fp16_group_dequantised_once_and_rounded_once(wbits) -> None:
    group, k = 64, 256
    x = (RNG.standard_normal(k) * np.exp(RNG.uniform(-8, 8, k))).astype(np.float16)
    x[:4] = [65504, -65504, 6e-8, -0.0]  # largest, smallest subnormal, negative zero
    q = RNG.integers(0, 1 << wbits, k)
    s = (RNG.uniform(0.001, 0.1, k // group)).astype(np.float16)
    z = RNG.integers(0, 1 << wbits, k // group)
    y = mixpe_stream(_fp16_codes(x), q, np.repeat(_fp16_codes(s), group),
                     np.repeat(z, group), group=group, weight_bits=wbits, act="fp16")
    acc = np.float32(0)
    for g in range(k // group):
        sl = slice(g * group, (g + 1) * group)
        # float64 is exact here: multiples of 2**-24 below 2**28
        r = float(np.sum((q[sl] - z[g]) * x[sl].astype(np.float64)))
        exact = np.longdouble(s[g]) * np.longdouble(r)  # 11 x 52 bits: exact in 64 bits
        acc = np.float32(acc + exact.astype(np.float32))
        assert y[(g + 1) * group - 1] == acc.view(np.uint32)


def test_fp16_dequant_mac_is_fp16_weights_and_fp32_accumulation() -> None:
    k = 200
    x = RNG.standard_normal(k).astype(np.float16)
    q, z = RNG.integers(0, 16, k), RNG.integers(0, 16, k)
    s = RNG.uniform(0.01, 0.2, k).astype(np.float16)
    w = (s.astype(np.float64) * (q - z)).astype(np.float16)  # one rounding of an exact product
    assert np.array_equal(dequant_fp16(_fp16_codes(s), q, z), w)
    acc = np.float32(0)
    want = []
    for t in range(k):
        acc = np.float32(acc + np.float32(np.float64(w[t]) * np.float64(x[t])))
        want.append(int(acc.view(np.uint32)))
    got = dequant_mac_stream(_fp16_codes(x), q, _fp16_codes(s), z, act="fp16")
    assert got.tolist() == want


def test_fp16_group_dequant_is_closer_to_exact_than_per_element() -> None:
    """MixPE's exact group sums beat per-element fp16 rounding of the weights."""
    k, group = 4096, 128
    x = RNG.standard_normal(k).astype(np.float16)
    q = RNG.integers(0, 16, k)
    s = RNG.uniform(0.01, 0.02, k // group).astype(np.float16)
    z = RNG.integers(6, 10, k // group)
    s_el, z_el = np.repeat(s, group), np.repeat(z, group)
    exact = float(np.sum(s_el.astype(float) * (q - z_el) * x.astype(float)))
    mix = mixpe_dot(_fp16_codes(x), q, _fp16_codes(s), z, group=group, act="fp16")
    base = dequant_mac_stream(_fp16_codes(x), q, _fp16_codes(s_el), z_el, act="fp16")[-1]
    base = np.uint32(base).view(np.float32)
    assert abs(mix - exact) < abs(base - exact)


@pytest.mark.parametrize(("call", "needle"), [
    (lambda: check_group(100, 32), "group size 32 does not divide the reduction length K=100"),
    (lambda: check_group(64, 0), "positive integer"),
    (lambda: mixpe_dot(np.zeros(8, int), np.zeros(8, int), [1], [0], group=8, weight_bits=3),
     "weight bits must be one of 2, 4, got 3"),
    (lambda: mixpe_dot(np.zeros(8, int), np.zeros(8, int), [1], [0], group=8, act="bf16"),
     "activations must be one of int8, fp16"),
    (lambda: mixpe_dot(np.zeros(8, int), np.zeros(8, int), [1, 1], [0], group=4),
     "2 groups need 2 scales"),
    (lambda: mixpe_stream([0], [16], [1], [0], group=1), r"weight codes must be integers in 0..15"),
])
def test_bad_input_is_one_clear_error(call, needle) -> None:
    with pytest.raises(HwsimError, match=needle):
        call()
