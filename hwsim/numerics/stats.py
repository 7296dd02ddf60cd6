"""Error statistics used by the studies: SQNR, relative errors, ULP error."""

from __future__ import annotations

import numpy as np

from hwsim.errors import HwsimError
from hwsim.numerics.formats import Format, get_float_format


def _pair(ref, approx) -> tuple[np.ndarray, np.ndarray]:
    r = np.asarray(ref, np.float64)
    a = np.asarray(approx, np.float64)
    if r.shape != a.shape:
        raise HwsimError(f"reference and approximation differ in shape: {r.shape} vs {a.shape}")
    if r.size == 0:
        raise HwsimError("error statistics need at least one value")
    return r, a


def sqnr_db(ref, approx) -> float:
    """Signal-to-quantisation-noise ratio in dB: 10 log10(sum ref^2 / sum (ref - approx)^2).

    Infinite when the approximation is exact; NaN/Inf entries are an error.
    """
    r, a = _pair(ref, approx)
    if not (np.isfinite(r).all() and np.isfinite(a).all()):
        raise HwsimError("SQNR needs finite values; found NaN or Inf")
    noise = float(np.sum((r - a) ** 2))
    signal = float(np.sum(r**2))
    if noise == 0:
        return float("inf")
    return 10 * np.log10(signal / noise) if signal > 0 else float("-inf")


def relative_errors(ref, approx) -> np.ndarray:
    """|approx - ref| / |ref| for every element with a non-zero, finite reference."""
    r, a = _pair(ref, approx)
    keep = (r != 0) & np.isfinite(r)
    with np.errstate(invalid="ignore"):
        return np.abs(a[keep] - r[keep]) / np.abs(r[keep])


def mean_relative_error(ref, approx) -> float:
    """Mean of :func:`relative_errors` (a NaN or Inf approximation makes it NaN or Inf)."""
    return float(np.mean(relative_errors(ref, approx)))


def max_relative_error(ref, approx) -> float:
    return float(np.max(relative_errors(ref, approx)))


def ulp_error(ref, approx, fmt: str | Format) -> np.ndarray:
    """|approx - ref| in units of the last place of ``fmt`` at ``ref``'s magnitude.

    The ULP of a value v is 2**(max(floor(log2|v|), emin) - mantissa_bits): the spacing of
    ``fmt``'s grid around v (subnormal spacing below the smallest normal).
    """
    f = get_float_format(fmt, what="ulp_error")
    r, a = _pair(ref, approx)
    with np.errstate(divide="ignore"):
        _, k = np.frexp(np.abs(r))
    exp = np.maximum(k.astype(np.int64) - 1, f.emin) - f.man_bits
    return np.abs(a - r) / np.ldexp(1.0, exp)
