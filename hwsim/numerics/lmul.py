"""L-Mul: floating-point multiplication approximated by one integer addition.

From Luo and Sun, "Addition is All You Need for Energy-efficient Language Models"
(arXiv 2410.00907): for x = (1 + xm) 2^xe and y = (1 + ym) 2^ye the product
(1 + xm + ym + xm*ym) 2^(xe+ye) is approximated by (1 + xm + ym + 2^-l(m)) 2^(xe+ye), with
l(m) = m for m <= 3, 3 for m = 4 and 4 for m > 4 (m = mantissa bits).

Bit-level definition implemented here (and by the RTL unit ``rtl`` verifies against it).
Operands are codes of a float format F (sign s, exponent field E, mantissa field M, bias b,
m mantissa bits). Let ``mag = (E << m) | M`` be the magnitude bits of each operand.

1. sign   = s_x XOR s_y
2. sum    = mag_x + mag_y - (b << m) + (2^m >> l(m))      (one integer adder, m + e + 2 bits)
   The added constant is 2^-l(m) in units of the mantissa LSB. A mantissa carry ripples into
   the exponent field; this is the packed-integer form of the hardware, so when
   xm + ym + 2^-l(m) >= 1 the result is (xm + ym + 2^-l(m)) 2^(xe+ye+1), Mitchell's
   logarithmic approximation, instead of the formula's unnormalised 1 + ... >= 2 mantissa.
3. special cases, checked before the adder result is used:
   - either operand NaN, or Inf times zero -> NaN; Inf times non-zero -> Inf (F's policy for
     overflow then applies: NaN for formats without Inf, max for saturating ones)
   - either operand zero or subnormal -> signed zero (subnormal inputs are flushed: the
     packed add has no meaning without the hidden 1)
   - underflow, sum < 2^m (result exponent field <= 0) -> signed zero (flush to zero)
   - overflow, sum > F's largest finite magnitude code -> F's overflow rule: Inf when F has
     Inf, NaN for OCP FN/FNUZ formats, +-max when F saturates (or with ``saturate=True``)
4. result = sign, sum as the magnitude bits.

No rounding happens: the result is exact in F by construction.
"""

from __future__ import annotations

import numpy as np

from hwsim.errors import HwsimError
from hwsim.numerics.arith import accumulate, broadcast_operands
from hwsim.numerics.formats import FloatFormat, get_float_format
from hwsim.numerics.quantize import as_float_array, decode, encode


def lmul_offset_exponent(man_bits: int) -> int:
    """l(m): the offset term added by L-Mul is 2**-l(m)."""
    if man_bits <= 3:
        return man_bits
    return 3 if man_bits == 4 else 4


def lmul_format(fmt: str | FloatFormat | int) -> FloatFormat:
    """The operand format: a float format, or an int m meaning e8m{m} (bfloat16's range)."""
    if isinstance(fmt, int | np.integer) and not isinstance(fmt, bool):
        fmt = f"e8m{int(fmt)}"
    f = get_float_format(fmt, what="L-Mul")
    if f.man_bits < 1 or not f.signed:
        raise HwsimError(f"L-Mul needs a signed float format with >= 1 mantissa bit, got {f}")
    return f


def lmul_bits(ca, cb, fmt: str | FloatFormat | int, saturate: bool = False) -> np.ndarray:
    """L-Mul on bit patterns: codes in, codes out (the exact function the RTL implements)."""
    f = lmul_format(fmt)
    a = np.asarray(ca).astype(np.int64)
    b = np.asarray(cb).astype(np.int64)
    a, b = broadcast_operands(a, b)
    m = f.man_bits
    mag_mask = (1 << (f.exp_bits + m)) - 1
    sa, sb = (a >> (f.exp_bits + m)) & 1, (b >> (f.exp_bits + m)) & 1
    ma, mb = a & mag_mask, b & mag_mask
    sign = (sa ^ sb) << (f.exp_bits + m)
    offset = (1 << m) >> lmul_offset_exponent(m)
    total = ma + mb - (f.bias << m) + offset

    va, vb = decode(a, f), decode(b, f)  # for the special cases only
    tiny_a = (ma >> m) == 0  # zero or subnormal
    tiny_b = (mb >> m) == 0
    nan = np.isnan(va) | np.isnan(vb) | (np.isinf(va) & tiny_b) | (np.isinf(vb) & tiny_a)
    inf = (np.isinf(va) | np.isinf(vb)) & ~nan
    zero = (tiny_a | tiny_b | (total < (1 << m))) & ~nan & ~inf
    over = ((total > f.max_finite_code) | inf) & ~nan & ~zero

    out = np.where(zero, 0, total) | sign
    if f.nan == "neg_zero":  # no negative zero there
        out = np.where(zero, 0, out)
    if over.any():
        if saturate or (not f.has_inf and not f.has_nan):
            fill = sign | f.max_finite_code
        elif f.has_inf:
            fill = sign | f.inf_code
        else:
            fill = np.full_like(sign, f.nan_code) | np.where(f.nan == "all_ones", sign, 0)
        out = np.where(over, fill, out)
    if nan.any():
        if not f.has_nan:
            raise HwsimError(f"{f.name} has no NaN code for an L-Mul of NaN or Inf*0")
        nan_code = np.full_like(sign, f.nan_code)
        if f.nan != "neg_zero":
            nan_code |= sign
        out = np.where(nan, nan_code, out)
    return out.astype(np.uint64)


def lmul(a, b, fmt: str | FloatFormat | int = 4, saturate: bool = False) -> np.ndarray:
    """L-Mul of real values: operands are rounded into ``fmt`` (RNE), multiplied by L-Mul.

    ``fmt`` is a float format name, or an int ``m`` for ``e8m{m}`` (mantissa bits with
    bfloat16's exponent range, so only the mantissa approximation is studied). Returns the
    values (float32) of the result codes, which are exact in ``fmt``.
    """
    f = lmul_format(fmt)
    x = as_float_array(a, "a")
    y = as_float_array(b, "b")
    return decode(lmul_bits(encode(x, f), encode(y, f), f, saturate), f)


def lmul_dot(a, b, fmt: str | FloatFormat | int = 4, acc_fmt: str = "fp32",
             block: int | None = None) -> np.ndarray:
    """Dot product over the last axis with every multiplication done by L-Mul.

    The products (exact in ``fmt``) are accumulated as :func:`hwsim.numerics.dot` does.
    """
    x = as_float_array(a, "a")
    y = as_float_array(b, "b")
    if x.ndim == 0 or y.ndim == 0 or x.shape[-1] != y.shape[-1]:
        raise HwsimError(
            f"lmul_dot needs arrays whose last axes match, got shapes {x.shape} and {y.shape}"
        )
    return accumulate(lmul(x, y, fmt).astype(np.float64), acc_fmt, block)
