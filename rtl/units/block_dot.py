"""Block dot product for MX, NVFP4 and BFP formats: N element pairs sharing one scale per operand.

``y = fp32( sum_i a_i * b_i * s_a * s_b )`` with one rounding (RNE), where ``s`` is the value
of the scale code: ``2^(code - bias_s)`` for MX (E8M0) and BFP, an FP8 E4M3 float for NVFP4:

1. element products, exact: minifloat significand products shifted into a fixed-point word by
   their exponent sum (a Kulisch-style accumulator over the products' whole range), or
   integer products for MXINT8 / BFP elements;
2. an adder tree over the N signed fixed-point products (exact, width grows by log2 N);
3. the scale exponents are added and the exact sum is normalised and rounded into fp32.
   NVFP4 first multiplies the sum's magnitude by the product of the two scale significands
   (4 x 4 bits, formed beside the element products), so the rounding is still the only one.

Formats: ``mxfp8_e4m3``, ``mxfp8_e5m2``, ``mxfp6_e3m2``, ``mxfp6_e2m3``, ``mxfp4``, ``mxint8``
(E8M0 scales, ``sa``/``sb`` are their 8-bit codes), ``nvfp4`` (E2M1 elements, ``sa``/``sb``
are the 8-bit E4M3FN block-scale codes) and ``bfp_b{B}_m{M}[_e{E}]`` (shared exponents of E
bits, bias 2^(E-1)-1; elements sign-magnitude). ``block`` sets N (default: the format's block
size). Golden model: :func:`hwsim.numerics.accumulate` over the decoded, scaled products with
``block=N`` (an exact block sum, one fp32 rounding). Special values: a NaN element or scale,
Inf * 0, or Inf of both signs gives NaN; otherwise an Inf product gives Inf; fp32 overflow
gives Inf; an exact zero is +0.

NVFP4: the unit computes ``sum_i a_i * b_i * sa * sb`` rounded once to fp32 (RNE). NVFP4's
FP32 per-tensor scale is not an input: it is applied once per tensor (e.g. to the
accumulated output), not per block. E4M3FN scales are taken as the values they encode: zero
(either sign) and subnormal scales exactly, a negative code negates, 0x7F/0xFF (NaN; E4M3FN
has no Inf) give a NaN result. With E2M1 elements (|a_i * b_i| <= 36, a multiple of 1/4) and
N <= 64 a nonzero exact result has at most 22 significant bits and lies in [2^-20, 2^29),
so it never overflows or underflows fp32 and is always exact there.

Stage boundaries: ``products`` (after the element multipliers), ``sum`` (after the adder
tree; NVFP4's scale-significand multiplier comes after it), ``output``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyrtl

from hwsim.errors import HwsimError
from hwsim.numerics import (
    BlockFormat,
    FloatFormat,
    accumulate,
    decode,
    encode,
    get_block_format,
    get_format,
)
from rtl.build import Pipeline, fresh_block
from rtl.fp import (
    bits_for,
    const,
    fixed_point_exponent,
    fixed_point_product,
    fixed_point_width,
    normalise,
    pack_result,
    round_packed,
    twos_complement,
    unpack,
)
from rtl.registry import RtlUnit, register

BOUNDARIES = ("products", "sum", "output")
FP32 = get_format("fp32")


def _element_lsb_exp(f: BlockFormat) -> tuple[int, int]:
    """(fixed-point width of one product magnitude, log2 of its LSB weight)."""
    el = f.element
    if isinstance(el, FloatFormat):
        return fixed_point_width(el), fixed_point_exponent(el)
    if f.kind == "mx":  # MXINT8: two's complement, 6 fraction bits; |-128|^2 needs 2n bits
        return 2 * el.bits, -12
    mag = el.bits - 1  # BFP: sign-magnitude, M magnitude bits, M - 1 fraction bits
    return 2 * mag, -2 * (mag - 1)


def _scale_bias(f: BlockFormat) -> tuple[int, int]:
    """(scale code width, scale exponent bias)."""
    if f.kind == "mx":
        return 8, f.scale.bias
    if f.kind == "nvfp4":
        return f.scale.total_bits, f.scale.bias
    return f.shared_exp_bits, (1 << (f.shared_exp_bits - 1)) - 1


def _product(a, b, f: BlockFormat, width: int):
    """(magnitude as fixed point, sign, nan, inf) of one element product."""
    el = f.element
    if isinstance(el, FloatFormat):
        return fixed_point_product(a, b, el, width)
    n = el.bits
    if f.kind == "mx":  # two's complement
        sa, sb = a[n - 1], b[n - 1]
        ma = pyrtl.select(sa, (~a + 1)[:n], a)  # |a| (128 for -128 fits in n bits unsigned)
        mb = pyrtl.select(sb, (~b + 1)[:n], b)
    else:  # sign-magnitude
        sa, sb = a[n - 1], b[n - 1]
        ma, mb = a[: n - 1], b[: n - 1]
    mag = (ma * mb).zero_extended(width)
    return mag, sa ^ sb, const(0, 1), const(0, 1)


def _float_scales(sa, sb, fmt: FloatFormat):
    """NVFP4's two E4M3 scales: (NaN, significand product, exponent sum, sign).

    ``sa * sb = sig * 2^(exp - 2 * (bias + man_bits))``; a zero scale has a zero significand.
    """
    ua, ub = unpack(sa, fmt), unpack(sb, fmt)
    return ua.is_nan | ub.is_nan, ua.sig * ub.sig, ua.exp + ub.exp, ua.sign ^ ub.sign


def block_dot_logic(a, b, sa, sb, f: BlockFormat, n: int, pipe: Pipeline):
    width, lsb_exp = _element_lsb_exp(f)
    terms, nans, pos_inf, neg_inf = [], [], [], []
    for i in range(n):
        mag, sign, nan, inf = _product(a[i], b[i], f, width)
        terms.append(twos_complement(mag, sign, width + 1))
        nans.append(nan)
        pos_inf.append(inf & ~sign)
        neg_inf.append(inf & sign)
    any_nan = pyrtl.rtl_any(*nans)
    any_pos, any_neg = pyrtl.rtl_any(*pos_inf), pyrtl.rtl_any(*neg_inf)
    scale_bits, scale_bias = _scale_bias(f)
    if f.kind == "nvfp4":  # scales: significand product, exponent sum, sign
        scale_nan, *scale = _float_scales(sa, sb, f.scale)
    else:  # scales: the two exponent codes
        scale_nan = (sa == (1 << scale_bits) - 1) | (sb == (1 << scale_bits) - 1) \
            if f.kind == "mx" else const(0, 1)
        scale = [sa, sb]
    staged = pipe.stage("products", *terms, any_nan, any_pos, any_neg, scale_nan, *scale)
    terms, (any_nan, any_pos, any_neg, scale_nan), scale = staged[:n], staged[n:n + 4], \
        staged[n + 4:]

    total_width = width + 1 + bits_for(n)
    level = [t.sign_extended(total_width) for t in terms]
    while len(level) > 1:  # balanced adder tree, two's complement mod 2^total_width
        nxt = [(level[i] + level[i + 1])[:total_width] for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    total = level[0]
    total, any_nan, any_pos, any_neg, scale_nan, *scale = pipe.stage(
        "sum", total, any_nan, any_pos, any_neg, scale_nan, *scale
    )

    sign = total[total_width - 1]
    mag = pyrtl.select(sign, (~total + 1)[:total_width], total)
    if f.kind == "nvfp4":  # exact: times the product of the two scale significands
        s_sig, s_exp, s_sign = scale
        mag, sign = mag * s_sig, sign ^ s_sign
    pad = max(FP32.man_bits + 2 - len(mag), 0)
    padded = pyrtl.concat(mag, const(0, pad)) if pad else mag
    if f.kind == "nvfp4":  # sa * sb = s_sig * 2^(s_exp - 2 * (scale_bias + man_bits))
        exp_sum, lsb_exp = s_exp, lsb_exp - 2 * f.scale.man_bits
    else:
        exp_sum = scale[0] + scale[1]
    # value = mag * 2^(lsb_exp + exp_sum - 2 * scale_bias); fp32 exponent T + 1 - clz
    c = len(mag) - 2 + lsb_exp - 2 * scale_bias + FP32.bias
    q, exp_part, sticky = normalise(padded, exp_sum, c)
    rounded = round_packed(q, exp_part, sticky, FP32)
    rounded = pyrtl.select(mag == 0, const(0, len(rounded)), rounded)
    is_nan = any_nan | scale_nan | (any_pos & any_neg)
    is_inf = (any_pos | any_neg) & ~is_nan
    sign = pyrtl.select(is_inf, any_neg, sign & (mag != 0))
    y = pack_result(FP32, False, sign, rounded, is_nan, is_inf)
    (y,) = pipe.stage("output", y)
    return y


def _decode_elements(codes: np.ndarray, f: BlockFormat) -> np.ndarray:
    el = f.element
    if isinstance(el, FloatFormat):
        return decode(codes, el).astype(np.float64)
    c = codes.astype(np.int64)
    n = el.bits
    if f.kind == "mx":
        return np.where(c >= 1 << (n - 1), c - (1 << n), c) * 2.0**-6
    mag = c & ((1 << (n - 1)) - 1)
    return np.where(c >> (n - 1), -mag, mag) * 2.0 ** -(n - 2)


def _reference(f: BlockFormat, n: int):
    scale_bits, scale_bias = _scale_bias(f)

    def ref(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        a = np.stack([_decode_elements(inputs[f"a_{i}"], f) for i in range(n)], axis=-1)
        b = np.stack([_decode_elements(inputs[f"b_{i}"], f) for i in range(n)], axis=-1)
        if f.scale is not None:  # MX: E8M0, NVFP4: E4M3FN (NaN codes decode to NaN)
            sa = decode(inputs["sa"], f.scale).astype(np.float64)
            sb = decode(inputs["sb"], f.scale).astype(np.float64)
        else:
            sa = np.ldexp(1.0, inputs["sa"].astype(np.int64) - scale_bias)
            sb = np.ldexp(1.0, inputs["sb"].astype(np.int64) - scale_bias)
        # exact in float64: MX/BFP scales are powers of two; with NVFP4's E4M3 scales every
        # product is k_i/4 * sa * sb (|k_i| <= 144) and sa * sb has <= 8 significant bits,
        # so the block sum has <= 22 and accumulate's fsum is exact before its fp32 rounding
        with np.errstate(invalid="ignore", over="ignore"):
            products = a * b * (sa * sb)[:, None]
        return encode(accumulate(products, "fp32", block=n), "fp32").astype(np.uint64)

    return ref


@register("block-dot")
def build_block_dot(format: str = "mxfp8_e4m3", block: int | None = None,  # noqa: A002
                    pipeline: int = 0) -> RtlUnit:
    f = get_block_format(format)
    n = f.block_size if block is None else block
    if not isinstance(n, int) or not 1 <= n <= 64:
        raise HwsimError(f"block-dot block size must be 1..64 (8..32 is typical), got {n!r}")
    bits = f.element.total_bits
    scale_bits, _ = _scale_bias(f)
    with fresh_block() as blk:
        pipe = Pipeline(pipeline, BOUNDARIES, "block-dot")
        a = [pyrtl.Input(bits, f"a_{i}") for i in range(n)]
        b = [pyrtl.Input(bits, f"b_{i}") for i in range(n)]
        sa = pyrtl.Input(scale_bits, "sa")
        sb = pyrtl.Input(scale_bits, "sb")
        y = pyrtl.Output(32, "y")
        y <<= block_dot_logic(a, b, sa, sb, f, n, pipe)
    inputs = {**{f"a_{i}": bits for i in range(n)}, **{f"b_{i}": bits for i in range(n)},
              "sa": scale_bits, "sb": scale_bits}
    return RtlUnit(
        name=f"block_dot_{f.name}_n{n}_p{pipeline}",
        unit="block-dot",
        block=blk,
        inputs=inputs,
        outputs={"y": 32},
        latency=pipeline,
        reference=_reference(f, n),
        params={"format": f.name, "block": n, "pipeline": pipeline},
        out_format="fp32",
    )
