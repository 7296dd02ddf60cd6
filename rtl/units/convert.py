"""Format converters: fp32 -> minifloat (RNE, saturating or not) and minifloat -> fp32.

- ``direction="to"``: an fp32 code becomes a code of ``format``, exactly as
  :func:`hwsim.numerics.quantize` rounds float32 input (which matches ml_dtypes): RNE,
  subnormals on both sides, overflow/Inf/NaN by the target's policy (a NaN into a NaN-less
  format gives a zero of the opposite sign, as ml_dtypes does).
- ``direction="from"``: a code of ``format`` becomes its exact fp32 value (subnormals of the
  narrow format are normalised; bfloat16-range subnormals become fp32 subnormals).

Both reuse the float normaliser and rounder of :mod:`rtl.fp`. Stage boundaries: ``normalise``,
``output``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyrtl

from hwsim.errors import HwsimError
from hwsim.numerics import FloatFormat, decode, encode, get_float_format, get_format, quantize
from rtl.build import Pipeline, fresh_block
from rtl.fp import const, finish, normalise, round_packed, unpack
from rtl.registry import RtlUnit, register

BOUNDARIES = ("normalise", "output")
FP32 = get_format("fp32")
DIRECTIONS = ("to", "from")


def convert_logic(a: pyrtl.WireVector, src: FloatFormat, dst: FloatFormat, saturate: bool,
                  pipe: Pipeline) -> pyrtl.WireVector:
    """Round a code of ``src`` into ``dst`` (exact when ``dst`` is wider)."""
    u = unpack(a, src)
    # value = sig * 2**(e - src.bias - src.man_bits); the result's biased exponent would be
    # (e - src.bias + dst.bias) - clz: normalise's T + 1 - clz with c = dst.bias - src.bias - 1
    # once sig is padded so the target keeps a guard bit below its mantissa
    pad = max(dst.man_bits + 2 - len(u.sig), 0)
    sig = pyrtl.concat(u.sig, const(0, pad)) if pad else u.sig
    c = dst.bias - src.bias - 1 + (len(sig) - 1 - src.man_bits - pad)
    q, exp_part, sticky = normalise(sig, u.exp, c)
    nan_sign = ~u.sign  # NaN into a NaN-less format: zero of the opposite sign (ml_dtypes)
    q, exp_part, sticky, sign, nan_sign, is_zero, is_nan, is_inf = pipe.stage(
        "normalise", q, exp_part, sticky, u.sign, nan_sign, u.is_zero, u.is_nan, u.is_inf
    )
    mag = round_packed(q, exp_part, sticky, dst)
    return finish(dst, saturate, sign, mag, is_zero, is_nan, is_inf, pipe, nan_sign=nan_sign)


def _reference(src: FloatFormat, dst: FloatFormat, saturate: bool):
    def ref(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        v = decode(inputs["a"], src).astype(np.float32)
        return encode(quantize(v, dst, saturate=saturate), dst).astype(np.uint64)

    return ref


@register("convert")
def build_convert(format: str = "fp8_e4m3fn", direction: str = "to",  # noqa: A002
                  pipeline: int = 0, saturate: bool = False) -> RtlUnit:
    fmt = get_float_format(format, what="convert")
    if direction not in DIRECTIONS:
        raise HwsimError(f"convert direction must be one of {', '.join(DIRECTIONS)}, "
                         f"got {direction!r} ('to': fp32 -> format, 'from': format -> fp32)")
    if not fmt.signed:
        raise HwsimError(f"convert supports signed float formats, not {fmt.name}")
    src, dst = (FP32, fmt) if direction == "to" else (fmt, FP32)
    if direction == "from" and saturate:
        raise HwsimError("--saturate applies to fp32 -> format conversion only (direction 'to')")
    with fresh_block() as block:
        pipe = Pipeline(pipeline, BOUNDARIES, "convert")
        a = pyrtl.Input(src.total_bits, "a")
        y = pyrtl.Output(dst.total_bits, "y")
        y <<= convert_logic(a, src, dst, saturate, pipe)
    sat = "_sat" if saturate else ""
    return RtlUnit(
        name=f"convert_{src.name}_to_{dst.name}{sat}_p{pipeline}",
        unit="convert",
        block=block,
        inputs={"a": src.total_bits},
        outputs={"y": dst.total_bits},
        latency=pipeline,
        reference=_reference(src, dst, saturate),
        params={"format": fmt.name, "direction": direction, "pipeline": pipeline,
                "saturate": saturate},
        out_format=dst.name,
    )
