"""Shared oracles and input generators for the numerics tests.

ml_dtypes is the reference for float32 input on every format it has; gfloat is the reference for
float64 input (single rounding) and for the generic eXmY formats ml_dtypes lacks.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
from gfloat.formats import (
    format_info_bfloat16,
    format_info_binary16,
    format_info_binary32,
    format_info_ocp_e2m1,
    format_info_ocp_e2m3,
    format_info_ocp_e3m2,
    format_info_ocp_e4m3,
    format_info_ocp_e5m2,
    format_info_ocp_e8m0,
)
from gfloat.types import Domain, FormatInfo

from hwsim.numerics import FloatFormat, decode, get_format

#: Our format name -> the ml_dtypes (or numpy) scalar type with the same value set and policy.
ML_DTYPES: dict[str, type] = {
    "fp8_e4m3fn": ml_dtypes.float8_e4m3fn,
    "fp8_e4m3": ml_dtypes.float8_e4m3,
    "fp8_e5m2": ml_dtypes.float8_e5m2,
    "fp8_e4m3fnuz": ml_dtypes.float8_e4m3fnuz,
    "fp8_e5m2fnuz": ml_dtypes.float8_e5m2fnuz,
    "fp8_e3m4": ml_dtypes.float8_e3m4,
    "fp6_e3m2fn": ml_dtypes.float6_e3m2fn,
    "fp6_e2m3fn": ml_dtypes.float6_e2m3fn,
    "fp4_e2m1fn": ml_dtypes.float4_e2m1fn,
    "e8m0": ml_dtypes.float8_e8m0fnu,
    "bf16": ml_dtypes.bfloat16,
    "fp16": np.float16,
}

#: Generic IEEE-like formats ml_dtypes lacks, checked against gfloat only.
GENERIC_FORMATS = (
    "e1m0", "e1m2", "e2m0", "e2m1", "e3m3", "e4m0", "e5m7", "e6m9", "e8m1", "e3m10", "e7m2",
)


def ieee_format_info(e: int, m: int) -> FormatInfo:
    """gfloat description of an IEEE-754-style eXmY: Inf and NaNs in the top binade."""
    return FormatInfo(
        f"e{e}m{m}", k=1 + e + m, precision=m + 1, bias=(1 << (e - 1)) - 1, is_signed=True,
        domain=Domain.Extended, has_nz=True, num_high_nans=(1 << m) - 1, has_subnormals=True,
        is_twos_complement=False,
    )


def fnuz_format_info(e: int, m: int) -> FormatInfo:
    """gfloat description of an fnuz format: bias 2**(E-1), 0x80.. is the only NaN, no Inf."""
    return FormatInfo(
        f"e{e}m{m}fnuz", k=1 + e + m, precision=m + 1, bias=1 << (e - 1), is_signed=True,
        domain=Domain.Finite, has_nz=False, num_high_nans=0, has_subnormals=True,
        is_twos_complement=False,
    )


#: Our format name -> gfloat FormatInfo describing the same value set.
GFLOAT_INFO: dict[str, FormatInfo] = {
    "fp32": format_info_binary32,
    "fp16": format_info_binary16,
    "bf16": format_info_bfloat16,
    "fp8_e4m3fn": format_info_ocp_e4m3,
    "fp8_e5m2": format_info_ocp_e5m2,
    "fp8_e4m3": ieee_format_info(4, 3),
    "fp8_e3m4": ieee_format_info(3, 4),
    "fp8_e4m3fnuz": fnuz_format_info(4, 3),
    "fp8_e5m2fnuz": fnuz_format_info(5, 2),
    "fp6_e3m2fn": format_info_ocp_e3m2,
    "fp6_e2m3fn": format_info_ocp_e2m3,
    "fp4_e2m1fn": format_info_ocp_e2m1,
    "e8m0": format_info_ocp_e8m0,
    **{name: ieee_format_info(int(name[1]), int(name[3:])) for name in GENERIC_FORMATS},
}


def same_bits(actual: np.ndarray, expected: np.ndarray, *, nan_sign: bool = True) -> np.ndarray:
    """Elementwise: equal bit patterns, or both NaN (with equal sign bit when ``nan_sign``).

    NaN payloads are not modelled, so two NaNs count as the same value.
    """
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    ut = np.uint32 if actual.dtype == np.float32 else np.uint64
    eq = actual.view(ut) == expected.view(ut)
    both_nan = np.isnan(actual) & np.isnan(expected)
    if nan_sign:
        both_nan &= np.signbit(actual) == np.signbit(expected)
    return eq | both_nan


def assert_same_bits(actual, expected, inputs, *, nan_sign: bool = True, what: str = "") -> None:
    """Fail with the first few differing inputs, so a mismatch is a ready-made reproducer."""
    ok = same_bits(actual, expected, nan_sign=nan_sign)
    if not ok.all():
        bad = np.flatnonzero(~ok.reshape(-1))[:8]
        x, a, e = (np.asarray(v).reshape(-1)[bad] for v in (inputs, actual, expected))
        triples = zip(x.tolist(), a.tolist(), e.tolist(), strict=True)
        rows = "\n".join(f"  x={xi!r} ({float(xi).hex()}) got {ai!r} want {ei!r}"
                         for xi, ai, ei in triples)
        raise AssertionError(f"{what}: {int((~ok).sum())} of {ok.size} differ, e.g.\n{rows}")


def finite_grid(fmt: FloatFormat) -> np.ndarray:
    """Every finite value of ``fmt``, sorted, in float64 (+0 once; -0 dropped)."""
    codes = np.arange(1 << fmt.total_bits, dtype=np.uint32)
    vals = decode(codes, fmt).astype(np.float64)
    return np.unique(vals[np.isfinite(vals)])


def float32_if_exact(v: np.ndarray) -> np.ndarray:
    """The values of ``v`` (float64) that float32 holds exactly, as float32."""
    with np.errstate(over="ignore"):
        f = v.astype(np.float32)
    return f[f.astype(np.float64) == v]


def edge_values(fmt: FloatFormat) -> np.ndarray:
    """Float32 inputs where rounding into ``fmt`` is most likely to go wrong.

    Built from the format's own code table: every value, every midpoint between neighbours
    (exact ties), the float32 neighbours of each midpoint, the overflow threshold and its
    neighbours, the next power of two above max, special values and float32 subnormals; all
    with both signs.
    """
    grid = finite_grid(fmt)
    if grid.size < 2:  # e1m0 holds only zero: use the next code's value as the step
        grid = np.array([0.0, 2 * fmt.min_subnormal])
    ulp_top = grid[-1] - grid[-2]
    above = np.array([
        grid[-1] + ulp_top / 2,  # overflow threshold under RNE
        grid[-1] + ulp_top,
        2.0 ** np.ceil(np.log2(grid[-1] * (1 + 2.0**-30))),  # next power of two above max
        (grid[-1] + 2.0 ** np.ceil(np.log2(grid[-1] * (1 + 2.0**-30)))) / 2,
        grid[0] / 2,  # below the smallest value (matters for zero-less e8m0)
        grid[0] * 0.75,
    ])
    mids = np.concatenate([(grid[:-1] + grid[1:]) / 2, above])
    base = np.concatenate([grid, mids])
    f32 = float32_if_exact(base)
    with np.errstate(over="ignore"):
        neighbours = [np.nextafter(f32, np.float32(np.inf)), np.nextafter(f32, np.float32(0))]
    tiny = np.float32(np.finfo(np.float32).smallest_subnormal)
    specials = np.array([
        0.0, np.inf, np.nan, np.finfo(np.float32).max, np.finfo(np.float32).tiny, tiny, tiny * 3,
        np.finfo(np.float32).tiny - tiny, 1.0, fmt.max_normal, fmt.min_normal, fmt.min_subnormal,
    ], dtype=np.float32)
    f32_subnormals = (np.arange(1, 1 << 12, dtype=np.uint32) * 997 % (1 << 23)).view(np.float32)
    pos = np.concatenate([f32, *neighbours, specials, f32_subnormals]).astype(np.float32)
    return np.concatenate([pos, -pos])


def random_inputs(fmt: FloatFormat, n: int, seed: int) -> np.ndarray:
    """``n`` float32 values from several distributions, scaled to ``fmt``'s interesting ranges.

    Standard normal; normal scaled to the subnormal range and to near max; uniform random
    float32 bit patterns (all classes incl. NaN and subnormals); log-uniform magnitudes
    spanning the format's range and some beyond; +-Inf, +-NaN and +-0 (random bits almost never
    hit Inf). Shuffled, so every chunk of quantize's blocked loop sees a mix.
    """
    rng = np.random.default_rng(seed)
    k = n // 5
    top = max(fmt.max_normal, fmt.min_subnormal)  # e1m0's only finite value is 0
    lo = np.log2(fmt.min_subnormal) - 4
    hi = np.log2(top) + 4
    with np.errstate(over="ignore"):
        parts = [
            rng.standard_normal(k),
            rng.standard_normal(k) * fmt.min_normal,
            top * (1 + 0.1 * rng.standard_normal(k)),
            np.exp2(rng.uniform(max(lo, -150), min(hi, 128), k)) * rng.choice([-1.0, 1.0], k),
        ]
        out = [p.astype(np.float32) for p in parts]
    specials = np.array([np.inf, -np.inf, np.nan, -np.nan, 0.0, -0.0], dtype=np.float32)
    out.append(specials)
    out.append(rng.integers(0, 1 << 32, n - 4 * k - specials.size, dtype=np.uint64)
               .astype(np.uint32).view(np.float32))
    return rng.permutation(np.concatenate(out))


def ml_round_trip(x: np.ndarray, name: str) -> np.ndarray:
    """The reference: cast to the ml_dtypes type and back to float32."""
    with np.errstate(all="ignore"):
        return x.astype(ML_DTYPES[name]).astype(np.float32)


def format_names(**caps) -> list[str]:
    """Names of the ml_dtypes-backed formats whose FloatFormat attributes match ``caps``."""
    return [n for n in ML_DTYPES if all(getattr(get_format(n), k) == v for k, v in caps.items())]
