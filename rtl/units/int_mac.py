"""Integer baselines: a signed intN x intN multiplier (``int-mul``) and MAC (``int-mac``).

They are what the minifloat units are compared against (area, LUTs, depth), so the multiplier
is the plain textbook one a synthesis tool would build from ``a * b``: an unsigned N x N array
on the two's-complement codes, corrected for the signs,

    a * b = ua * ub - 2**N * (sa * ub + sb * ua)   (mod 2**(2N)),

where ``ua``, ``ub`` are the codes read as unsigned and ``sa``, ``sb`` the sign bits. With two
pipeline stages the array is split in two halves of ``b``'s bits so that a register can sit
between the partial products and their sum; otherwise it is one array (one DSP on FPGAs).

``int-mac`` adds the product into an accumulator register of ``acc`` bits (default
``min(2N + 16, 64)``: 2**16 = 65,536 worst-case products, e.g. an exhaustive int8 run, cannot
overflow it; longer sums wrap modulo 2**acc as two's complement). ``y`` is the accumulator register,
so the unit has latency ``1 + pipeline``: the result of vector ``k`` (the sum of products
``0..k`` since reset) is on ``y`` ``latency`` cycles after vector ``k`` was applied.

Stage boundaries, in order of preference: ``product`` (after the signed product),
``partial`` (after the partial products).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyrtl

from hwsim.errors import HwsimError
from hwsim.numerics import IntFormat, get_format
from rtl.build import Pipeline, fresh_block
from rtl.registry import RtlUnit, register

BOUNDARIES = ("product", "partial")
ACC_HEADROOM_BITS = 16


def _int_format(format: str, unit: str) -> IntFormat:  # noqa: A002
    f = get_format(format)
    if not isinstance(f, IntFormat) or not f.signed or not 2 <= f.bits <= 32:
        raise HwsimError(f"{unit} needs a signed integer format int2..int32, got {format!r}")
    return f


def _acc_bits(acc: int | str | None, n: int) -> int:
    if acc is None:
        return min(2 * n + ACC_HEADROOM_BITS, 64)
    if isinstance(acc, str):
        text = acc.removeprefix("int")
        if not text.isdigit():
            raise HwsimError(f"int-mac accumulator must be a width like 32 or 'int32', "
                             f"got {acc!r}")
        acc = int(text)
    if not 2 * n <= acc <= 64:
        raise HwsimError(f"int-mac accumulator must have {2 * n}..64 bits for int{n} "
                         f"operands, got {acc}")
    return acc


def signed_product(a: pyrtl.WireVector, b: pyrtl.WireVector,
                   pipe: Pipeline) -> pyrtl.WireVector:
    """The 2N-bit two's-complement product of two N-bit codes."""
    n = len(a)
    width = 2 * n
    zero = pyrtl.Const(0, n)
    corr = pyrtl.select(a[-1], b, zero) + pyrtl.select(b[-1], a, zero)  # N+1 bits
    if "partial" in pipe.active:
        # two half arrays so a register can sit between partial products and their sum
        h = n // 2
        pp_lo = a * b[:h].zero_extended(n)  # 2N bits, only N+h of them can be set
        pp_hi = a * b[h:].zero_extended(n)
        pp_lo, pp_hi, corr = pipe.stage("partial", pp_lo, pp_hi, corr)
        unsigned = (pp_lo + pyrtl.concat(pp_hi[: width - h], pyrtl.Const(0, h)))[:width]
    else:
        # one array: what synthesis maps onto a single DSP block where there is one
        unsigned = a * b
    fix = pyrtl.concat(corr[: width - n], pyrtl.Const(0, n))
    prod = (unsigned - fix)[:width]
    (prod,) = pipe.stage("product", prod)
    return prod


def _signed(codes: np.ndarray, bits: int) -> np.ndarray:
    v = np.asarray(codes, dtype=np.uint64).astype(np.int64)
    return np.where(v >= (1 << (bits - 1)), v - (1 << bits), v)


def _codes(values: np.ndarray, bits: int) -> np.ndarray:
    # two's complement wrap to ``bits`` bits; int64 arithmetic wraps mod 2**64 already
    return values.astype(np.uint64) & np.uint64((1 << bits) - 1)


def _mul_reference(n: int):
    def ref(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        return _codes(_signed(inputs["a"], n) * _signed(inputs["b"], n), 2 * n)

    return ref


def _mac_reference(n: int, acc_bits: int):
    def ref(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        # the whole input sequence since reset: y after vector k is the sum of products 0..k
        prods = _signed(inputs["a"], n) * _signed(inputs["b"], n)
        return _codes(np.cumsum(prods, dtype=np.int64), acc_bits)

    return ref


@register("int-mul")
def build_int_mul(format: str = "int8", pipeline: int = 0) -> RtlUnit:  # noqa: A002
    """Signed intN x intN -> int2N multiplier (combinational unless ``pipeline``)."""
    f = _int_format(format, "int-mul")
    n = f.bits
    with fresh_block() as block:
        pipe = Pipeline(pipeline, BOUNDARIES, "int-mul")
        a = pyrtl.Input(n, "a")
        b = pyrtl.Input(n, "b")
        y = pyrtl.Output(2 * n, "y")
        y <<= signed_product(a, b, pipe)
    return RtlUnit(
        name=f"int_mul_{f.name}_p{pipeline}",
        unit="int-mul",
        block=block,
        inputs={"a": n, "b": n},
        outputs={"y": 2 * n},
        latency=pipeline,
        reference=_mul_reference(n),
        params={"format": f.name, "pipeline": pipeline},
    )


@register("int-mac")
def build_int_mac(format: str = "int8", pipeline: int = 0,  # noqa: A002
                  acc: int | str | None = None) -> RtlUnit:
    """Signed intN multiply-accumulate into an ``acc``-bit register (see module docstring)."""
    f = _int_format(format, "int-mac")
    n = f.bits
    acc_bits = _acc_bits(acc, n)
    with fresh_block() as block:
        pipe = Pipeline(pipeline, BOUNDARIES, "int-mac")
        rst = pipe.rst if pipe.rst is not None else pyrtl.Input(1, "rst")
        a = pyrtl.Input(n, "a")
        b = pyrtl.Input(n, "b")
        y = pyrtl.Output(acc_bits, "y")
        prod = signed_product(a, b, pipe)
        accumulator = pyrtl.Register(acc_bits, "acc")
        total = (accumulator + prod.sign_extended(acc_bits))[:acc_bits]
        accumulator.next <<= pyrtl.select(rst, pyrtl.Const(0, acc_bits), total)
        y <<= accumulator
    return RtlUnit(
        name=f"int_mac_{f.name}_acc{acc_bits}_p{pipeline}",
        unit="int-mac",
        block=block,
        inputs={"a": n, "b": n},
        outputs={"y": acc_bits},
        latency=pipeline + 1,
        reference=_mac_reference(n, acc_bits),
        params={"format": f.name, "pipeline": pipeline, "acc": acc_bits},
        stateful=True,
    )
