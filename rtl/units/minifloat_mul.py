"""Minifloat multiplier for any float format: subnormals, RNE, the format's NaN/Inf policy.

Datapath (golden model: :func:`hwsim.numerics.mul`, which it matches for every input):

1. unpack both codes; significands carry their hidden bit (0 for subnormals) and subnormals
   take effective exponent 1;
2. the exact significand product ``P`` (2M+2 bits) and the exponent sum ``T' = ea + eb``,
   ``T = T' - bias`` (``T`` can be negative; it is kept offset by ``bias``);
3. normalise: shift ``P`` left by ``min(clz(P), T)`` (right, with sticky, when ``T < 0``) so
   the result lands on the normal grid or, when the exponent runs out, the subnormal grid;
4. round to nearest even from guard and sticky bits; a mantissa carry ripples into the
   exponent field because exponent and mantissa are added as one packed integer;
5. overflow, NaN and Inf by the format's policy.

Stage boundaries, in order of preference: ``product`` (after the multiplier),
``normalise`` (after the shifter), ``output`` (a final register).
"""

from __future__ import annotations

import pyrtl

from hwsim.numerics import FloatFormat, get_float_format, mul
from rtl.build import Pipeline, binary_float_unit, binary_reference
from rtl.fp import finish, normalise, round_packed, unpack
from rtl.registry import RtlUnit, register

BOUNDARIES = ("product", "normalise", "output")


def multiply(a: pyrtl.WireVector, b: pyrtl.WireVector, fmt: FloatFormat, saturate: bool,
             pipe: Pipeline) -> pyrtl.WireVector:
    """The multiplier on wires: codes in, code out."""
    ua, ub = unpack(a, fmt), unpack(b, fmt)
    sign = ua.sign ^ ub.sign
    is_nan = ua.is_nan | ub.is_nan | (ua.is_inf & ub.is_zero) | (ub.is_inf & ua.is_zero)
    is_inf = (ua.is_inf | ub.is_inf) & ~is_nan
    is_zero = ua.is_zero | ub.is_zero
    prod = ua.sig * ub.sig  # exact, 2M+2 bits
    tp = ua.exp + ub.exp  # T' = T + bias

    prod, tp, sign, is_nan, is_inf, is_zero = pipe.stage(
        "product", prod, tp, sign, is_nan, is_inf, is_zero
    )
    # value = prod * 2**(T - bias - 2M) with T = tp - bias, so normalise's offset c is -bias
    q, exp_part, sticky = normalise(prod, tp, -fmt.bias)
    q, exp_part, sticky, sign, is_nan, is_inf, is_zero = pipe.stage(
        "normalise", q, exp_part, sticky, sign, is_nan, is_inf, is_zero
    )
    mag = round_packed(q, exp_part, sticky, fmt)
    return finish(fmt, saturate, sign, mag, is_zero, is_nan, is_inf, pipe)


@register("minifloat-mul")
def build_minifloat_mul(format: str = "fp8_e4m3fn", pipeline: int = 0,  # noqa: A002
                        saturate: bool = False) -> RtlUnit:
    fmt = get_float_format(format, what="minifloat-mul")
    return binary_float_unit("minifloat-mul", fmt, pipeline, saturate, BOUNDARIES, multiply,
                             binary_reference(mul, fmt, saturate))
