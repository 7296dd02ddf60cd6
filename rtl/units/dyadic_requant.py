"""HAWQ-V3 dyadic requantiser: ``y = clamp(round(acc * b / 2**c))`` in integers only.

The specification is :func:`hwsim.numerics.dyadic.requantize` (with its sources): a signed
accumulator ``acc`` (``acc`` bits, two's complement), an unsigned multiplier ``b``
(``b_bits``) and a shift ``c`` (``c_bits``, 0 .. ``2**c_bits - 1``) as inputs, so one unit
serves every output channel's ``(b, c)``. The datapath is a signed x unsigned multiplier, an
arithmetic barrel shift right by ``c`` (floor), and a +1 from the rounding bit (bit ``c-1`` of
the product): always for ``half_up``, for ``half_even`` only if a lower bit is set or the
floor is odd. The result saturates to the output ``format`` (int8, uint8, ...).

Stage boundaries, in order of preference: ``product`` (after the multiplier), ``output``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyrtl

from hwsim.errors import HwsimError
from hwsim.numerics.dyadic import check_rounding, output_range, requantize
from rtl.build import Pipeline, fresh_block
from rtl.registry import RtlUnit, register

BOUNDARIES = ("product", "output")


def _signed(codes: np.ndarray, bits: int) -> np.ndarray:
    v = np.asarray(codes, dtype=np.uint64).astype(np.int64)
    return np.where(v >= (1 << (bits - 1)), v - (1 << bits), v)


def _check(out: str, acc: int, b_bits: int, c_bits: int) -> int:
    output_range(out)  # names the allowed formats if out is not one
    if not isinstance(acc, int) or not 8 <= acc <= 48:
        raise HwsimError(f"dyadic-requant accumulator must have 8..48 bits, got {acc!r}")
    if not isinstance(b_bits, int) or not 2 <= b_bits <= 32:
        raise HwsimError(f"dyadic-requant multiplier b must have 2..32 bits, got {b_bits!r}")
    width = acc + b_bits
    if not isinstance(c_bits, int) or c_bits < 1 or (1 << c_bits) > width:
        raise HwsimError(f"dyadic-requant shift c must have 1..{width.bit_length() - 1} bits "
                         f"(c up to {width - 1}, the product's width {width} minus 1) for "
                         f"acc={acc}, b_bits={b_bits}; got c_bits={c_bits!r}")
    return width


def requant_logic(acc: pyrtl.WireVector, b: pyrtl.WireVector, c: pyrtl.WireVector,
                  out: str, rounding: str, pipe: Pipeline) -> pyrtl.WireVector:
    n_acc, n_b = len(acc), len(b)
    width = n_acc + n_b
    # signed acc x unsigned b: the unsigned product minus b * 2**n_acc when acc is negative
    unsigned = (acc.zero_extended(width) * b.zero_extended(width))[:width]
    fix = pyrtl.select(acc[-1], pyrtl.concat(b, pyrtl.Const(0, n_acc)), pyrtl.Const(0, width))
    p = (unsigned - fix)[:width]
    p, c = pipe.stage("product", p, c)
    q = pyrtl.shift_right_arithmetic(p, c)  # floor(p / 2**c)
    cm1 = (c - 1)[:len(c)]
    nonzero = c != 0
    rbit = pyrtl.shift_right_logical(p, cm1)[0] & nonzero
    if rounding == "half_up":
        inc = rbit
    else:
        below = (pyrtl.shift_left_logical(pyrtl.Const(1, width), cm1) - 1)[:width]
        sticky = (p & below) != 0
        inc = rbit & (sticky | q[0])
    r = (q.sign_extended(width + 1) + inc)[:width + 1]
    lo, hi = output_range(out)
    bits = (hi - lo).bit_length()
    lo_c = pyrtl.Const(lo & ((1 << (width + 1)) - 1), width + 1)
    hi_c = pyrtl.Const(hi, width + 1)
    y = pyrtl.select(pyrtl.signed_lt(r, lo_c), lo_c[:bits],
                     pyrtl.select(pyrtl.signed_gt(r, hi_c), hi_c[:bits], r[:bits]))
    (y,) = pipe.stage("output", y)
    return y


def _reference(out: str, acc: int, rounding: str):
    lo, hi = output_range(out)
    mask = np.int64((1 << (hi - lo).bit_length()) - 1)

    def ref(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        y = requantize(_signed(inputs["acc"], acc),
                       np.asarray(inputs["b"], dtype=np.uint64).astype(np.int64),
                       np.asarray(inputs["c"], dtype=np.uint64).astype(np.int64),
                       out=out, rounding=rounding)
        return (y & mask).astype(np.uint64)

    return ref


@register("dyadic-requant")
def build_dyadic_requant(format: str = "int8", pipeline: int = 0, acc: int = 32,  # noqa: A002
                         b_bits: int | None = None, c_bits: int | None = None,
                         rounding: str = "half_even") -> RtlUnit:
    """``format``: the output integer format; ``acc``: accumulator bits; ``b_bits``, ``c_bits``:
    widths of the multiplier and shift inputs (default: ``b`` as wide as the accumulator up to
    32 bits, ``c`` spanning the product's width; HAWQ's at ``acc=32``: 32 and 6 bits);
    ``rounding``: half_even or half_up."""
    out = format.strip().lower() if isinstance(format, str) else format
    if isinstance(acc, str) and acc.removeprefix("int").isdigit():
        acc = int(acc.removeprefix("int"))
    if b_bits is None and isinstance(acc, int):
        b_bits = min(acc, 32)
    if c_bits is None and isinstance(acc, int) and isinstance(b_bits, int):
        c_bits = (acc + b_bits).bit_length() - 1
    _check(out, acc, b_bits, c_bits)
    check_rounding(rounding)
    lo, hi = output_range(out)
    bits = (hi - lo).bit_length()
    with fresh_block() as block:
        pipe = Pipeline(pipeline, BOUNDARIES, "dyadic-requant")
        a = pyrtl.Input(acc, "acc")
        b = pyrtl.Input(b_bits, "b")
        c = pyrtl.Input(c_bits, "c")
        y = pyrtl.Output(bits, "y")
        y <<= requant_logic(a, b, c, out, rounding, pipe)
    tag = "he" if rounding == "half_even" else "hu"
    return RtlUnit(
        name=f"dyadic_requant_{out}_a{acc}_b{b_bits}_c{c_bits}_{tag}_p{pipeline}",
        unit="dyadic-requant",
        block=block,
        inputs={"acc": acc, "b": b_bits, "c": c_bits},
        outputs={"y": bits},
        latency=pipeline,
        reference=_reference(out, acc, rounding),
        params={"format": out, "pipeline": pipeline, "acc": acc, "b_bits": b_bits,
                "c_bits": c_bits, "rounding": rounding},
    )
