"""OliVe pair decoder: two OVP codes in, the two (integer, shift) operands a systolic PE uses.

The decoding rules are :func:`hwsim.numerics.olive.pe_operands` (its docstring and the module
docstring of :mod:`hwsim.numerics.olive` are the specification, with their sources): the
identifier ``1 << (bits-1)`` in one slot marks the other slot as an outlier (sign, 2-bit
exponent ``e``, mantissa ``m``: integer ``+-(2**(bits-3) + m)``, shift ``e + 2``) and itself as
0; otherwise both codes are two's-complement integers with shift 0. A PE then multiplies the
``bits``-bit integer and shifts the product by 0 or 2..5: OliVe's exponent-integer pair.

Ports: ``a`` = the pair's first code, ``b`` = its second. Output ``y`` packs, low bits first,
``int_a`` (``bits``, two's complement), ``shift_a`` (3), ``int_b``, ``shift_b``. Purely
combinational (``pipeline`` 0) or with one register stage at ``output``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyrtl

from hwsim.errors import HwsimError
from hwsim.numerics.olive import OLIVE_FORMATS, get_olive_format, pe_operands
from rtl.build import Pipeline, fresh_block
from rtl.fp import const
from rtl.registry import RtlUnit, register

BOUNDARIES = ("output",)
SHIFT_BITS = 3


def _slot(code: pyrtl.WireVector, other_is_id: pyrtl.WireVector, zero: pyrtl.WireVector,
          bits: int) -> tuple[pyrtl.WireVector, pyrtl.WireVector]:
    """(integer, shift) of one slot: an outlier if the other slot is the identifier."""
    man = bits - 3
    sign = code[bits - 1]
    mant = pyrtl.concat(const(1, 1), code[:man])  # 1.m as an integer, man + 1 bits
    neg = (~pyrtl.concat(const(0, bits - man - 1), mant) + 1)[:bits]
    o_int = pyrtl.select(sign, neg, pyrtl.concat(const(0, bits - man - 1), mant))
    o_shift = code[man:bits - 1] + 2  # 2-bit exponent + 2: 3 bits
    integer = pyrtl.select(other_is_id, o_int, pyrtl.select(zero, const(0, bits), code))
    shift = pyrtl.select(other_is_id, o_shift[:SHIFT_BITS], const(0, SHIFT_BITS))
    return integer, shift


def olive_decode_logic(a: pyrtl.WireVector, b: pyrtl.WireVector, bits: int,
                       pipe: Pipeline) -> pyrtl.WireVector:
    ident = 1 << (bits - 1)
    a_id, b_id = a == ident, b == ident
    a_out = b_id  # the second slot is the victim: the first holds the outlier
    b_out = a_id & ~b_id
    ia, sa = _slot(a, a_out, b_out, bits)
    ib, sb = _slot(b, b_out, b_id, bits)
    (y,) = pipe.stage("output", pyrtl.concat(sb, ib, sa, ia))
    return y


def _reference(fmt_name: str):
    fmt = get_olive_format(fmt_name)

    def ref(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        pairs = np.stack([inputs["a"], inputs["b"]], -1).astype(np.int64)
        integer, shift = pe_operands(pairs, fmt)
        mask = np.int64((1 << fmt.bits) - 1)
        w = fmt.bits + SHIFT_BITS
        ia, ib = integer[..., 0] & mask, integer[..., 1] & mask
        y = ia | (shift[..., 0] << fmt.bits) | (ib << w) | (shift[..., 1] << (w + fmt.bits))
        return y.astype(np.uint64)

    return ref


@register("olive-decode")
def build_olive_decode(format: str = "olive4", pipeline: int = 0) -> RtlUnit:  # noqa: A002
    if not isinstance(format, str) or format.strip().lower() not in OLIVE_FORMATS:
        raise HwsimError(f"olive-decode decodes the OliVe pair formats "
                         f"{', '.join(OLIVE_FORMATS)}, got {format!r}")
    fmt = get_olive_format(format)
    bits = fmt.bits
    with fresh_block() as block:
        pipe = Pipeline(pipeline, BOUNDARIES, "olive-decode")
        a, b = pyrtl.Input(bits, "a"), pyrtl.Input(bits, "b")
        width = 2 * (bits + SHIFT_BITS)
        y = pyrtl.Output(width, "y")
        y <<= olive_decode_logic(a, b, bits, pipe)
    return RtlUnit(
        name=f"olive_decode_{fmt.name}_p{pipeline}",
        unit="olive-decode",
        block=block,
        inputs={"a": bits, "b": bits},
        outputs={"y": width},
        latency=pipeline,
        reference=_reference(fmt.name),
        params={"format": fmt.name, "pipeline": pipeline},
    )
