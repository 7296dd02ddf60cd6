"""Minifloat adder for any float format: subnormals, RNE, the format's NaN/Inf policy.

Datapath (golden model: :func:`hwsim.numerics.add`, which it matches for every input):

1. unpack; order the operands by magnitude (codes order like magnitudes) so ``big >= small``;
2. align: the smaller significand, extended by guard, round and sticky bits, is shifted right
   by the exponent difference; bits shifted out collapse into the sticky bit;
3. add or subtract (effective operation from the signs);
4. normalise: one right shift on a carry, otherwise a left shift by the leading zeros, limited
   so the exponent does not go below the subnormal exponent;
5. round to nearest even from guard/round/sticky; exponent and mantissa are packed as one
   integer so a rounding carry ripples into the exponent;
6. exact zero results are +0 unless both operands are -0; overflow, NaN, Inf by the format.

Stage boundaries, in order of preference: ``align``, ``normalise``, ``output``.
"""

from __future__ import annotations

import pyrtl

from hwsim.numerics import FloatFormat, add, get_float_format
from rtl.build import Pipeline, binary_float_unit, binary_reference
from rtl.fp import (
    const,
    count_leading_zeros,
    finish,
    round_packed,
    shift_right_sticky,
    unpack,
)
from rtl.registry import RtlUnit, register

BOUNDARIES = ("align", "normalise", "output")
GRS = 3  # guard, round and sticky bits below the significand


def adder(a: pyrtl.WireVector, b: pyrtl.WireVector, fmt: FloatFormat, saturate: bool,
          pipe: Pipeline) -> pyrtl.WireVector:
    """The adder on wires: codes in, code out."""
    m, e = fmt.man_bits, fmt.exp_bits
    ua, ub = unpack(a, fmt), unpack(b, fmt)
    mag_a, mag_b = a[: e + m], b[: e + m]
    a_big = mag_a >= mag_b
    big_sig = pyrtl.select(a_big, ua.sig, ub.sig)
    small_sig = pyrtl.select(a_big, ub.sig, ua.sig)
    big_exp = pyrtl.select(a_big, ua.exp, ub.exp)
    small_exp = pyrtl.select(a_big, ub.exp, ua.exp)
    big_sign = pyrtl.select(a_big, ua.sign, ub.sign)
    subtract = ua.sign ^ ub.sign
    both_neg = ua.sign & ub.sign
    is_nan = ua.is_nan | ub.is_nan | (ua.is_inf & ub.is_inf & subtract)
    is_inf = (ua.is_inf | ub.is_inf) & ~is_nan
    inf_sign = pyrtl.select(ua.is_inf, ua.sign, ub.sign)

    diff = (big_exp - small_exp)[:e]
    small_ext = pyrtl.concat(small_sig, const(0, GRS))
    shifted, sticky = shift_right_sticky(small_ext, diff)
    small_al = shifted | pyrtl.concat(const(0, len(shifted) - 1), sticky)
    big_ext = pyrtl.concat(big_sig, const(0, GRS))

    big_ext, small_al, subtract, big_exp, big_sign, both_neg, is_nan, is_inf, inf_sign = (
        pipe.stage("align", big_ext, small_al, subtract, big_exp, big_sign, both_neg, is_nan,
                   is_inf, inf_sign)
    )
    width = m + 1 + GRS  # significand + GRS; the sum has one more bit for a carry
    total = pyrtl.select(subtract, (big_ext - small_al)[:width], big_ext + small_al)
    total = total.zero_extended(width + 1)
    carry = total[width]
    # carry: shift right once, the dropped bit joins the sticky
    q_carry = total[1:]
    st_carry = total[0]
    # no carry: shift left by the leading zeros, but not below exponent 1
    low = total[:width]
    lz = count_leading_zeros(low)
    exp_room = (big_exp - 1)[: len(big_exp)]  # big_exp >= 1, so no wrap
    shift = pyrtl.select(lz <= exp_room, lz, exp_room)
    q_norm = pyrtl.shift_left_logical(low, shift)
    q = pyrtl.select(carry, q_carry, q_norm)
    sticky_extra = carry & st_carry
    exp_base = pyrtl.select(carry, big_exp.zero_extended(e + 1),
                            (big_exp - 1 - shift)[: e + 1])
    is_zero = total == 0  # exact cancellation (or two zeros): +0 unless both were -0
    result_sign = pyrtl.select(is_zero, both_neg, big_sign)
    result_sign = pyrtl.select(is_inf, inf_sign, result_sign)

    q, exp_base, sticky_extra, result_sign, is_zero, is_nan, is_inf = pipe.stage(
        "normalise", q, exp_base, sticky_extra, result_sign, is_zero, is_nan, is_inf
    )
    mag = round_packed(q, exp_base, sticky_extra, fmt)  # q: hidden bit, mantissa, G, R, S
    return finish(fmt, saturate, result_sign, mag, is_zero, is_nan, is_inf, pipe)


@register("minifloat-add")
def build_minifloat_add(format: str = "fp8_e4m3fn", pipeline: int = 0,  # noqa: A002
                        saturate: bool = False) -> RtlUnit:
    fmt = get_float_format(format, what="minifloat-add")
    return binary_float_unit("minifloat-add", fmt, pipeline, saturate, BOUNDARIES, adder,
                             binary_reference(add, fmt, saturate))
