"""How precise is L-Mul next to FP8 multiplication?

Setting (stated because the answer depends on it): operand pairs x, y drawn i.i.d. from
N(0, sigma^2) in float32 (sigma = 1 by default), 1e6 pairs. The reference is the exact product
of the float32 operands (in float64). Each method rounds the operands into its format (RNE)
and then multiplies:

- ``fp8_e4m3fn`` / ``fp8_e5m2``: exact product correctly rounded into the same format;
- ``lmul_m{m}``: L-Mul on operands with m mantissa bits and bfloat16's 8-bit exponent range
  (format ``e8m{m}``), isolating the mantissa approximation the paper analyses;
- ``lmul_fp8_e4m3fn`` / ``lmul_fp8_e5m2``: L-Mul on the FP8 operands themselves (a drop-in
  replacement of an FP8 multiplier, range limits included).

Errors are |approx - exact| / |exact| over all pairs whose result is finite (underflow to
zero counts as error 1); results that overflow to NaN or Inf are counted apart, in
``nonfinite_fraction``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim.numerics import lmul, mul, relative_errors

FP8 = ("fp8_e4m3fn", "fp8_e5m2")
LMUL_MANTISSAS = (2, 3, 4, 5)


@dataclass(frozen=True)
class MethodError:
    method: str
    operand_format: str
    mean_rel_error: float
    median_rel_error: float
    p99_rel_error: float
    zero_fraction: float  # products that came out as exactly zero (underflow / flush)
    nonfinite_fraction: float  # products that overflowed to NaN or Inf


@dataclass(frozen=True)
class LmulPrecision:
    n_pairs: int
    sigma: float
    seed: int
    rows: tuple[MethodError, ...]

    def by_method(self) -> dict[str, MethodError]:
        return {r.method: r for r in self.rows}


def operand_pairs(n: int, sigma: float = 1.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(n) * sigma).astype(np.float32)
    y = (rng.standard_normal(n) * sigma).astype(np.float32)
    return x, y


def _row(method: str, fmt: str, exact: np.ndarray, approx: np.ndarray) -> MethodError:
    finite = np.isfinite(approx)
    err = relative_errors(exact[finite], approx[finite])
    return MethodError(
        method, fmt, float(err.mean()), float(np.median(err)), float(np.quantile(err, 0.99)),
        float(np.mean(approx == 0)), float(np.mean(~finite)),
    )


def run(n_pairs: int = 1_000_000, sigma: float = 1.0, seed: int = 0) -> LmulPrecision:
    x, y = operand_pairs(n_pairs, sigma, seed)
    exact = x.astype(np.float64) * y
    rows = [_row(f, f, exact, mul(x, y, f)) for f in FP8]
    rows += [_row(f"lmul_m{m}", f"e8m{m}", exact, lmul(x, y, m)) for m in LMUL_MANTISSAS]
    rows += [_row(f"lmul_{f}", f, exact, lmul(x, y, f)) for f in FP8]
    return LmulPrecision(n_pairs, sigma, seed, tuple(rows))
