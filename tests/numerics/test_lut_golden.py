"""The LUT tensor core's golden model against arithmetic no one here wrote: int64 matmuls of
the weight bit-planes and numpy float16/float32 arithmetic, one IEEE RNE step at a time."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hwsim.errors import HwsimError
from hwsim.numerics import lut_lookup, lut_mpgemm, lut_table

RNG = np.random.default_rng(15)
F16_CORNERS = np.array([65504.0, -65504.0, 6.1e-5, -6.0e-8, 5.96e-8, 0.0, -0.0, np.inf,
                        -np.inf, np.nan, 1.0, 1.0009765625, 32768.0, 2.0**-24 * 3],
                       dtype=np.float16)


def _planes_matmul(a: np.ndarray, q: np.ndarray, bits: int) -> np.ndarray:
    """int64 matmul of A with each bit-plane read as +-1, weighted by 2^plane."""
    out = np.zeros((a.shape[0], q.shape[1]), dtype=np.int64)
    for p in range(bits):
        signs = 2 * ((q >> p) & 1) - 1
        out += (a.astype(np.int64) @ signs) << p
    return out


def _same(got: np.ndarray, want: np.ndarray) -> bool:
    """Equal as float16/32 codes (sign of zero included), any NaN matching any NaN."""
    g, w = np.asarray(got), np.asarray(want)
    return bool(np.all((g == w) & (np.signbit(g) == np.signbit(w)) | np.isnan(g) & np.isnan(w)))


@pytest.mark.parametrize("bits", [1, 2, 3, 4])
@pytest.mark.parametrize("k", [2, 4, 6])
def test_int8_equals_int64_matmul_of_planes(bits, k) -> None:
    a = RNG.integers(-128, 128, (5, 6 * k))
    a[0] = 127
    a[1] = -128  # the corners: every table entry at its extreme
    q = RNG.integers(0, 1 << bits, (6 * k, 7))
    assert np.array_equal(lut_mpgemm(a, q, bits, "int8", "int32", k=k),
                          _planes_matmul(a, q, bits))


def test_int8_accumulator_wraps_like_twos_complement() -> None:
    a = np.full((1, 64), -128)
    q = np.zeros((64, 1), dtype=np.int64)  # every weight -(2^4 - 1): 64 * 128 * 15 = 122880
    want = _planes_matmul(a, q, 4)[0, 0]
    got = lut_mpgemm(a, q, 4, "int8", "int16")[0, 0]
    assert want == 122880 and got == ((want + 2**15) % 2**16) - 2**15


@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_lookup_is_the_signed_sum_for_every_weight_pattern(k) -> None:
    a = RNG.integers(-128, 128, (50, k))
    table = lut_table(a, "int8")
    for pattern in range(1 << k):
        s = np.array([1 if pattern >> j & 1 else -1 for j in range(k)])
        assert np.array_equal(lut_lookup(table, np.full(50, pattern)), a @ s)


def _f16_groups(n: int, k: int) -> np.ndarray:
    with np.errstate(over="ignore"):  # some draws overflow to Inf: wanted
        vals = (RNG.standard_normal((n, k)) * 2.0 ** RNG.integers(-26, 16, (n, k))
                ).astype(np.float16)
    corners = np.array(list(itertools.product(F16_CORNERS, repeat=2)), dtype=np.float16)
    vals[: len(corners), :2] = corners  # every pair of corners in the first two slots
    return vals


@pytest.mark.parametrize("k", [2, 4, 6])
def test_fp16_table_is_numpy_float16_left_to_right(k) -> None:
    a = _f16_groups(4000, k)
    with np.errstate(all="ignore"):
        want = np.stack([_left_to_right(a, i) for i in range(1 << (k - 1))], axis=-1)
    got = lut_table(a, "fp16")
    assert _same(got.astype(np.float16), want)
    assert np.isinf(got).any() and np.isnan(got).any()  # the corners reached overflow / NaN
    assert ((np.abs(got) < 2.0**-14) & (got != 0)).any()  # and subnormal sums


def _left_to_right(a: np.ndarray, i: int) -> np.ndarray:
    total = a[:, 0].copy()
    for j in range(1, a.shape[1]):
        total = total + (a[:, j] if i >> (j - 1) & 1 else -a[:, j])  # float16 + float16
    return total


@pytest.mark.parametrize(("acc", "dtype"), [("fp16", np.float16), ("fp32", np.float32)])
@pytest.mark.parametrize("bits", [1, 2, 4])
def test_fp16_mpgemm_is_numpy_step_by_step(acc, dtype, bits) -> None:
    k, groups = 4, 8
    a = (RNG.standard_normal((6, k * groups)) * 2.0 ** RNG.integers(-20, 12, (6, k * groups))
         ).astype(np.float16)
    a[0, :4] = [60000, 60000, 60000, 60000]  # a table entry past fp16's range
    q = RNG.integers(0, 1 << bits, (k * groups, 5))
    want = np.zeros((6, 5), dtype=dtype)
    with np.errstate(all="ignore"):
        for g in range(groups):
            ag = a[:, g * k:(g + 1) * k]
            for p in range(bits):
                signs = 2 * ((q[g * k:(g + 1) * k] >> p) & 1) - 1  # (K, N)
                for n in range(5):
                    # the sum with a_0's sign made +, negated back: the table's symmetry
                    s0 = signs[0, n]
                    entry = _left_to_right(ag * (signs[:, n] * s0).astype(np.float16), (1 << k) - 1)
                    term = (entry * np.float16(s0)).astype(dtype) * dtype(2**p)
                    want[:, n] = want[:, n] + term
    with np.errstate(all="ignore"):
        got = lut_mpgemm(a, q, bits, "fp16", acc)
    assert _same(got.astype(dtype), want)


@pytest.mark.parametrize(("call", "needle"), [
    (lambda: lut_mpgemm(np.ones((1, 4)), np.zeros((4, 1), int), 5, "int8"), "weight bits"),
    (lambda: lut_mpgemm(np.ones((1, 4)), np.zeros((4, 1), int), 0, "int8"), "weight bits"),
    (lambda: lut_mpgemm(np.ones((1, 4)), np.zeros((4, 1), int), 2, "fp8_e4m3fn"), "no LUT"),
    (lambda: lut_mpgemm(np.ones((1, 4)), np.zeros((4, 1), int), 2, "int8", "int8"), "int11"),
    (lambda: lut_mpgemm(np.ones((1, 4)), np.zeros((4, 1), int), 2, "fp16", "bf16"), "fp32"),
    (lambda: lut_mpgemm(np.ones((1, 6)), np.zeros((6, 1), int), 2, "int8"), "multiple of"),
    (lambda: lut_mpgemm(np.ones((1, 4)), np.full((4, 1), 4), 2, "int8"), "0..3"),
    (lambda: lut_table(np.ones((1, 7)), "int8"), "2..6"),
    (lambda: lut_table(np.full((1, 4), 200), "int8"), "-128..127"),
])
def test_bad_input_is_one_clear_error(call, needle) -> None:
    with pytest.raises(HwsimError, match=needle):
        call()
