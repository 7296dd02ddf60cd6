"""The per-element-dequantise MAC (``dequant-mac``): the PE that MixPE (``rtl.units.mixpe``)
replaces, for the comparison. Every cycle the low-bit weight is dequantised into the
activation's arithmetic and multiplied by the activation in a plain MAC.

int8 activations: ``w = s * (q - z)`` (an integer, exact) and an integer MAC. fp16
activations: ``w = fp16(s * (q - z))`` (``s`` an fp16 code; the product of its significand
and ``|q - z|`` is exact, then rounded once to fp16, nearest even, overflow to inf), then the
fp16 x fp16 product added into an fp32 accumulator with one rounding (the fused MAC of
:mod:`rtl.units.mac`: the product is exact in fp32, so this is the golden model's product
then fp32 add). A NaN or inf scale gives a NaN or inf weight, as in the golden model; an inf
or NaN activation (outside the golden model's domain) reads as zero, as in ``mixpe``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyrtl

from hwsim.numerics.mixpe import SCALE_BITS, dequant_mac_stream
from rtl.build import Pipeline, fresh_block
from rtl.fp import const, normalise, pack_result, round_packed, unpack
from rtl.registry import RtlUnit, register
from rtl.units.mac import mac_logic
from rtl.units.mixpe import (
    ACT_BITS,
    BOUNDARIES,
    FP16,
    FP32,
    check_params,
    finite_fp16,
    sext,
    signed_times_unsigned,
)


@register("dequant-mac")
def build_dequant_mac(format: str = "int8", pipeline: int = 0,  # noqa: A002
                      weight_bits: int = 4, acc: int | str | None = None) -> RtlUnit:
    """The per-element-dequantise MAC MixPE replaces (see module docstring; specification
    :func:`hwsim.numerics.mixpe.dequant_mac_stream`): int8 activations: every cycle the
    weight becomes ``w = s * (q - z)`` (a signed ``weight_bits + 9``-bit integer, exact), then
    an int8 x w multiply-accumulate; fp16: ``w = fp16(s * (q - z))`` and an fp32 MAC. Ports
    as ``mixpe``'s, with ``s`` and ``z`` read every cycle; the optional stage boundary
    ``operand`` registers the dequantised weight and the activation."""
    act, wb, acc_bits = check_params("dequant-mac", format, weight_bits, acc, 32)
    fp16 = act == "fp16"
    act_in, s_bits = (16, 16) if fp16 else (ACT_BITS, SCALE_BITS)
    with fresh_block() as block:
        pipe = Pipeline(pipeline, BOUNDARIES, "dequant-mac")
        rst = pipe.rst if pipe.rst is not None else pyrtl.Input(1, "rst")
        a = pyrtl.Input(act_in, "a")
        q = pyrtl.Input(wb, "b")
        s = pyrtl.Input(s_bits, "s")
        z = pyrtl.Input(wb, "z")
        y = pyrtl.Output(acc_bits, "y")
        d = (q.zero_extended(wb + 1) - z.zero_extended(wb + 1))[:wb + 1]  # signed q - z
        if fp16:
            a = pyrtl.select(a[10:15] == 0x1F, const(0, 16), a)  # inf / NaN read as zero
            a_d, w_d = pipe.stage("operand", a, _weight_fp16(s, d))
            pipe.rst = rst
            y <<= mac_logic(w_d, a_d, const(0, 1), FP16, FP32, "exact", False, pipe)
        else:
            a_d, w_d = pipe.stage("operand", a, signed_times_unsigned(d, s))
            prod = pyrtl.signed_mult(a_d, w_d)
            out = pyrtl.Register(acc_bits, "acc")
            out.next <<= pyrtl.select(rst, pyrtl.Const(0, acc_bits),
                                      (out + sext(prod, acc_bits))[:acc_bits])
            y <<= out

    def ref(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        a_in = finite_fp16(inputs["a"]) if fp16 else inputs["a"]
        with np.errstate(over="ignore", invalid="ignore"):  # inf / NaN weights, as specified
            return dequant_mac_stream(a_in, inputs["b"], inputs["s"], inputs["z"],
                                      weight_bits=wb, act=act, acc_bits=acc_bits)

    tail = "fp32" if fp16 else f"acc{acc_bits}"
    return RtlUnit(
        name=f"dequant_mac_{act}_w{wb}_{tail}_p{pipeline}",
        unit="dequant-mac", block=block,
        inputs={"a": act_in, "b": wb, "s": s_bits, "z": wb},
        outputs={"y": acc_bits}, latency=pipeline + 1, reference=ref,
        params={"format": act, "pipeline": pipeline, "weight_bits": wb,
                "acc": "fp32" if fp16 else acc_bits},
        stateful=True, out_format="fp32" if fp16 else None,
    )


def _weight_fp16(s: pyrtl.WireVector, d: pyrtl.WireVector) -> pyrtl.WireVector:
    """``fp16(s * d)`` for an fp16 code ``s`` and a small signed integer ``d``: the exact
    product of the scale's significand and ``|d|``, rounded once (nearest even)."""
    u = unpack(s, FP16)
    d_neg = d[len(d) - 1]
    mag = u.sig * pyrtl.select(d_neg, (~d + 1)[:len(d)], d)
    # value = mag * 2**(exp - bias - man_bits); fp16 exponent T + 1 - clz (rtl.fp.normalise)
    q, exp_part, sticky = normalise(mag, u.exp, len(mag) - 2 - FP16.man_bits)
    rounded = pyrtl.select(mag == 0, const(0, len(exp_part) + FP16.man_bits + 1),
                           round_packed(q, exp_part, sticky, FP16))
    is_nan = u.is_nan | (u.is_inf & (d == 0))
    return pack_result(FP16, False, u.sign ^ d_neg, rounded, is_nan, u.is_inf & ~is_nan)
