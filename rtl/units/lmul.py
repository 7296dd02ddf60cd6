"""L-Mul unit: multiplication approximated by one integer addition.

Implements exactly the bit-level definition in :mod:`hwsim.numerics.lmul` (its docstring is
the specification): ``mag = mag_a + mag_b - (bias << m) + (2^m >> l(m))`` over the packed
exponent-mantissa fields, sign by XOR, zero or subnormal operands and underflow flush to a
signed zero, overflow, NaN and Inf by the format's policy. The only arithmetic is one adder
of ``exp_bits + man_bits + 1`` bits (the bias subtraction and offset fold into a constant)
plus a comparison for underflow.

Stage boundaries: ``sum`` (after the adder), ``output``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import pyrtl

from hwsim.numerics import FloatFormat, lmul_bits, lmul_format, lmul_offset_exponent
from rtl.build import Pipeline, binary_float_unit
from rtl.fp import const, pack_result, unpack
from rtl.registry import RtlUnit, register

BOUNDARIES = ("sum", "output")


def lmul_logic(a: pyrtl.WireVector, b: pyrtl.WireVector, fmt: FloatFormat, saturate: bool,
               pipe: Pipeline) -> pyrtl.WireVector:
    m, mag_bits = fmt.man_bits, fmt.exp_bits + fmt.man_bits
    ua, ub = unpack(a, fmt), unpack(b, fmt)
    offset = (1 << m) >> lmul_offset_exponent(m)
    # the raw sum carries +bias<<m; compare against it instead of subtracting first
    raw = a[:mag_bits] + b[:mag_bits] + offset
    floor = (fmt.bias << m) + (1 << m)  # below this the exponent field would be <= 0
    tiny_a, tiny_b = a[m:mag_bits] == 0, b[m:mag_bits] == 0  # zero or subnormal operands
    is_nan = ua.is_nan | ub.is_nan | (ua.is_inf & tiny_b) | (ub.is_inf & tiny_a)
    is_inf = (ua.is_inf | ub.is_inf) & ~is_nan
    zero = tiny_a | tiny_b | (raw < floor)
    sign = ua.sign ^ ub.sign

    raw, zero, sign, is_nan, is_inf = pipe.stage("sum", raw, zero, sign, is_nan, is_inf)
    mag = (raw - (fmt.bias << m))[: len(raw)]
    mag = pyrtl.select(zero, const(0, len(mag)), mag)
    y = pack_result(fmt, saturate, sign, mag, is_nan, is_inf)
    (y,) = pipe.stage("output", y)
    return y


def _reference(fmt: FloatFormat, saturate: bool):
    def ref(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        return lmul_bits(inputs["a"], inputs["b"], fmt, saturate).astype(np.uint64)

    return ref


@register("lmul")
def build_lmul(format: str = "fp8_e4m3fn", pipeline: int = 0,  # noqa: A002
               saturate: bool = False) -> RtlUnit:
    fmt = lmul_format(format)
    unit = binary_float_unit("lmul", fmt, pipeline, saturate, BOUNDARIES, lmul_logic,
                             _reference(fmt, saturate))
    # the cleared "sum" stage (raw 0 with the zero flag 0) is no state a real input makes:
    # it reads as an overflow (NaN, Inf or max), not 0, until the first inputs after reset
    # come out. Only the outputs during the reset flush differ; the netlist stays as it is.
    return replace(unit, reset_reads_zero=pipeline == 0)
