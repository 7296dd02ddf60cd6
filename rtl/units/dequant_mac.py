"""The per-element-dequantise MAC (``dequant-mac``): the PE that MixPE (``rtl.units.mixpe``)
replaces, for the comparison. Every cycle the low-bit weight is dequantised to an integer
``w = s * (q - z)`` and multiplied by the int8 activation in a plain MAC.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyrtl

from hwsim.numerics.mixpe import SCALE_BITS, dequant_mac_stream
from rtl.build import Pipeline, fresh_block
from rtl.registry import RtlUnit, register
from rtl.units.mixpe import ACT_BITS, BOUNDARIES, check_params, sext, signed_times_unsigned


@register("dequant-mac")
def build_dequant_mac(format: str = "int8", pipeline: int = 0,  # noqa: A002
                      weight_bits: int = 4, acc: int | str | None = None) -> RtlUnit:
    """The per-element-dequantise MAC MixPE replaces: every cycle the weight becomes
    ``w = s * (q - z)`` (a signed ``weight_bits + 9``-bit integer, exact), then an int8 x w
    multiply-accumulate (specification :func:`hwsim.numerics.mixpe.dequant_mac_stream`).
    Ports as ``mixpe``'s, with ``s`` and ``z`` read every cycle; the optional stage boundary
    ``operand`` registers the dequantised weight and the activation."""
    _, wb, acc_bits = check_params("dequant-mac", format, weight_bits, acc, 32, ("int8",))
    with fresh_block() as block:
        pipe = Pipeline(pipeline, BOUNDARIES, "dequant-mac")
        rst = pipe.rst if pipe.rst is not None else pyrtl.Input(1, "rst")
        a = pyrtl.Input(ACT_BITS, "a")
        q = pyrtl.Input(wb, "b")
        s = pyrtl.Input(SCALE_BITS, "s")
        z = pyrtl.Input(wb, "z")
        y = pyrtl.Output(acc_bits, "y")
        d = (q.zero_extended(wb + 1) - z.zero_extended(wb + 1))[:wb + 1]  # signed q - z
        w = signed_times_unsigned(d, s)
        a_d, w_d = pipe.stage("operand", a, w)
        prod = pyrtl.signed_mult(a_d, w_d)
        out = pyrtl.Register(acc_bits, "acc")
        out.next <<= pyrtl.select(rst, pyrtl.Const(0, acc_bits),
                                  (out + sext(prod, acc_bits))[:acc_bits])
        y <<= out

    def ref(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        return dequant_mac_stream(inputs["a"], inputs["b"], inputs["s"], inputs["z"],
                                  weight_bits=wb, acc_bits=acc_bits)

    return RtlUnit(
        name=f"dequant_mac_int8_w{wb}_acc{acc_bits}_p{pipeline}",
        unit="dequant-mac", block=block,
        inputs={"a": ACT_BITS, "b": wb, "s": SCALE_BITS, "z": wb},
        outputs={"y": acc_bits}, latency=pipeline + 1, reference=ref,
        params={"format": "int8", "pipeline": pipeline, "weight_bits": wb, "acc": acc_bits},
        stateful=True,
    )
