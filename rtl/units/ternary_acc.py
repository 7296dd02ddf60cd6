"""An accumulate-only PE for ternary weights (``ternary-acc``): the BitLinear arithmetic of
BitNet b1.58 and the MatMul-free LM, where a weight in {-1, 0, +1} turns each MAC into an
add, a subtract or a skip.

Inputs: ``a``, a signed activation code (``format``, default int8), and ``b``, the 2-bit weight
code of :mod:`hwsim.numerics.ternary` (bit 0: use the activation, bit 1: subtract it; 0b10 adds
nothing). The activation is sign-extended, gated by bit 0, inverted when subtracting, and
added to the accumulator with the subtract bit as the carry in (``acc - a = acc + ~a + 1``):
one adder, no multiplier. ``y`` is the accumulator register (``acc`` bits, default the
activation width + 16: 2**16 = 65,536 worst-case terms cannot overflow it; longer sums wrap as
two's complement), so the latency is ``1 + pipeline``: the optional stage boundary
``operand`` registers the gated addend and carry before the adder.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyrtl

from hwsim.errors import HwsimError
from hwsim.numerics.ternary import ternary_accumulate
from rtl.build import Pipeline, fresh_block
from rtl.registry import RtlUnit, register
from rtl.units.int_mac import ACC_HEADROOM_BITS, _int_format

BOUNDARIES = ("operand",)
WEIGHT_CODE_BITS = 2


def _acc_bits(acc: int | str | None, n: int) -> int:
    if acc is None:
        return min(n + ACC_HEADROOM_BITS, 64)
    text = str(acc).removeprefix("int")
    if isinstance(acc, bool) or not text.isdigit() or not n + 1 <= int(text) <= 64:
        raise HwsimError(f"ternary-acc accumulator must have {n + 1}..64 bits for int{n} "
                         f"activations (a width like 24 or 'int24'), got {acc!r}")
    return int(text)


def _reference(n: int, acc_bits: int):
    def ref(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        # the whole input sequence since reset: y after vector k sums terms 0..k
        return ternary_accumulate(inputs["a"], inputs["b"], n, acc_bits)

    return ref


@register("ternary-acc")
def build_ternary_acc(format: str = "int8", pipeline: int = 0,  # noqa: A002
                      acc: int | str | None = None) -> RtlUnit:
    """Accumulate-only ternary-weight PE (see module docstring)."""
    f = _int_format(format, "ternary-acc")
    if f.bits > 16:
        raise HwsimError(f"ternary-acc activations are int2..int16, got {format!r}")
    n = f.bits
    acc_bits = _acc_bits(acc, n)
    with fresh_block() as block:
        pipe = Pipeline(pipeline, BOUNDARIES, "ternary-acc")
        rst = pipe.rst if pipe.rst is not None else pyrtl.Input(1, "rst")
        a = pyrtl.Input(n, "a")
        b = pyrtl.Input(WEIGHT_CODE_BITS, "b")
        y = pyrtl.Output(acc_bits, "y")
        use, sub = b[0], b[0] & b[1]
        gated = pyrtl.select(use, a.sign_extended(acc_bits), pyrtl.Const(0, acc_bits))
        addend = gated ^ sub.sign_extended(acc_bits)  # ~a when subtracting
        addend, carry = pipe.stage("operand", addend, sub)
        accumulator = pyrtl.Register(acc_bits, "acc")
        total = (accumulator + addend + carry)[:acc_bits]
        accumulator.next <<= pyrtl.select(rst, pyrtl.Const(0, acc_bits), total)
        y <<= accumulator
    return RtlUnit(
        name=f"ternary_acc_{f.name}_acc{acc_bits}_p{pipeline}",
        unit="ternary-acc",
        block=block,
        inputs={"a": n, "b": WEIGHT_CODE_BITS},
        outputs={"y": acc_bits},
        latency=pipeline + 1,
        reference=_reference(n, acc_bits),
        params={"format": f.name, "pipeline": pipeline, "acc": acc_bits},
        stateful=True,
    )
