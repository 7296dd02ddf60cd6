"""The MixPE processing element (``mixpe``, arXiv 2411.16158): low-bit weights x int8 or fp16
activations by shift-and-add, one dequantisation per quantisation group.

Specification: :func:`hwsim.numerics.mixpe.mixpe_stream`. Ports: ``a`` the activation code
(int8, or fp16), ``b`` the weight code (``weight_bits`` = 2 or 4, unsigned), ``s`` the group's
scale (int8 activations: an 8-bit unsigned integer; fp16: an fp16 code) and ``z`` its zero
point (a ``weight_bits`` code); ``s`` and ``z`` are read on the group's last cycle only. Each
cycle the partial product ``q * a`` is formed as the sum of ``a`` shifted by each set weight
bit (no multiplier) and added to the group register ``P``; ``a`` goes into ``A``. A counter
marks every ``group``-th cycle since reset; on it the PE dequantises ``r = P - z * A`` with one
small multiply by ``s`` and adds the result into the output accumulator ``y`` (``acc`` bits,
two's complement, wrapping), and the group registers restart. The dequantiser's operands are
gated to zero between group ends (operand isolation), so its logic switches once per group, not
once per MAC.

Latency ``1 + pipeline``: ``y`` is the accumulator register; the optional stage boundary
``operand`` registers the partial product (with ``a``, ``s``, ``z`` and the group-end flag)
before the group adders.

fp16 activations (``format="fp16"``): ``a`` is decoded to its exact fixed-point value, a
signed integer in units of 2**-24 (fp16's smallest subnormal; 41 bits hold every finite code),
and the same shift-and-add and group registers run on it, exactly. On a group's last cycle
``|r|`` is multiplied by the scale's 11-bit significand, the product is normalised and rounded
once to fp32 (nearest even, the scale's exponent folded into the result's), and an fp32 adder
adds it into ``y`` (an fp32 register). No fp32 overflow is reachable: a group adds at most
``2**49`` in magnitude. Inf and NaN codes (exponent field all ones) of ``a`` and ``s`` are
outside the golden model's domain (it refuses them); the RTL reads them as zero, and the
unit's reference substitutes +0 for them before it calls the golden model, so random vectors
over all codes check that rule too.

``dequant="shared"`` builds the PE without its dequantiser: no ``s`` port, and ``y`` is the
last completed group's ``r`` (a register of ``weight_bits + act + bits(group) + 2`` bits,
``act`` = 8 for int8, 41 for fp16 in units of 2**-24; specification
:func:`hwsim.numerics.mixpe.group_stream` for int8, :func:`fp16_group_stream` here for fp16,
built from the golden model's decode and shift-and-add), for a dequantiser shared by the PEs
of an array row (it is busy once per ``group`` cycles per PE).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyrtl

from hwsim.errors import HwsimError
from hwsim.numerics import get_float_format
from hwsim.numerics.mixpe import (
    SCALE_BITS,
    check_activation,
    check_weight_bits,
    fp16_fixed,
    group_stream,
    mixpe_stream,
)
from hwsim.numerics.mixpe import shift_add as golden_shift_add
from rtl.build import Pipeline, fresh_block
from rtl.fp import bits_for, const, normalise, pack_result, round_packed, twos_complement, unpack
from rtl.registry import RtlUnit, register
from rtl.units.minifloat_add import adder

BOUNDARIES = ("operand",)
ACT_BITS = 8
FP16, FP32 = get_float_format("fp16"), get_float_format("fp32")
#: bits of a finite fp16 value as a signed integer in units of 2**-24 (|a| < 2**40)
FP16_FIXED_BITS = 41
#: log2 of the weight of the last bit of |r| x the scale significand, less the scale's
#: effective biased exponent: r is in units of 2**-24, an fp16 significand in 2**(e - 25)
FP16_PRODUCT_LSB = -24 - (FP16.man_bits + FP16.bias)
#: where the dequantiser sits: in every PE, or shared outside it
DEQUANT_PLACES = ("pe", "shared")
#: the largest group the unit is built for (the counter and group registers grow with it)
MAX_GROUP = 4096


def check_params(who: str, format: str, weight_bits: int,  # noqa: A002
                 acc: int | str | None, default_acc: int) -> tuple[str, int, int]:
    """Activation format, weight bits and accumulator width (fp16: the fp32 register, 32),
    checked."""
    act = check_activation(format, who)
    wb = check_weight_bits(weight_bits, who)
    if act == "fp16":
        if acc not in (None, 32, "32", "fp32"):
            raise HwsimError(f"{who}: fp16 activations accumulate in fp32 (acc fp32 or 32), "
                             f"got {acc!r}")
        return act, wb, 32
    if acc is None:
        return act, wb, default_acc
    text = str(acc).removeprefix("int")
    if isinstance(acc, bool) or not text.isdigit() or not 16 <= int(text) <= 64:
        raise HwsimError(f"{who}: accumulator must have 16..64 bits (a width like 32 or "
                         f"'int32'), got {acc!r}")
    return act, wb, int(text)


def sext(w: pyrtl.WireVector, width: int) -> pyrtl.WireVector:
    """``w`` sign-extended (or truncated, modulo 2**width) to ``width`` bits."""
    return w.sign_extended(width) if len(w) <= width else w[:width]


def signed_times_unsigned(x: pyrtl.WireVector, u: pyrtl.WireVector) -> pyrtl.WireVector:
    """Exact product of a signed ``x`` and an unsigned ``u`` (``len(x) + len(u)`` bits)."""
    return pyrtl.signed_mult(x, u.zero_extended(len(u) + 1))[:len(x) + len(u)]


def shift_add(a: pyrtl.WireVector, q: pyrtl.WireVector) -> pyrtl.WireVector:
    """``a * q`` for a signed ``a`` and an unsigned ``q``: ``a`` shifted by each set bit of
    ``q``, summed (``len(a) + len(q)`` bits, exact)."""
    width = len(a) + len(q)
    total = pyrtl.Const(0, width)
    for b in range(len(q)):
        shifted = pyrtl.concat(a.sign_extended(width - b), pyrtl.Const(0, b)) if b else \
            a.sign_extended(width)
        total = (total + pyrtl.select(q[b], shifted, pyrtl.Const(0, width)))[:width]
    return total


def fp16_parts(code: pyrtl.WireVector):
    """(sign, effective biased exponent, significand) of an fp16 code; inf and NaN (outside
    the golden model's domain) read as a zero significand."""
    u = unpack(code, FP16)
    sig = pyrtl.select(u.is_nan | u.is_inf, const(0, len(u.sig)), u.sig)
    return u.sign, u.exp, sig


def fp16_to_fixed(code: pyrtl.WireVector) -> pyrtl.WireVector:
    """An fp16 code as the exact signed integer in units of 2**-24 (FP16_FIXED_BITS bits):
    the significand shifted left by the effective exponent less one."""
    sign, exp, sig = fp16_parts(code)
    width = FP16_FIXED_BITS - 1
    mag = pyrtl.shift_left_logical(sig.zero_extended(width), (exp - 1)[:len(exp)])
    return twos_complement(mag, sign, FP16_FIXED_BITS)


def finite_fp16(codes) -> np.ndarray:
    """fp16 codes with inf and NaN replaced by +0 (the RTL's reading of them)."""
    c = np.asarray(codes).astype(np.int64)
    return np.where((c >> 10) & 0x1F == 0x1F, 0, c)


def fp16_group_stream(a, q, z, *, group: int, weight_bits: int) -> np.ndarray:
    """fp16 activations: ``r = P - z * A`` (units of 2**-24) of the last completed group after
    each cycle since reset (0 before the first), from the golden model's fp16 decode and
    shift-and-add; the fp16 counterpart of :func:`hwsim.numerics.mixpe.group_stream`."""
    av = fp16_fixed(finite_fp16(a))
    qv, zv = np.asarray(q).astype(np.int64), np.asarray(z).astype(np.int64)
    prods = golden_shift_add(av, qv, weight_bits)
    n = len(av)
    m = n // group  # complete groups
    ends = np.arange(group - 1, m * group, group)
    r = prods[:m * group].reshape(m, group).sum(1) - zv[ends] * av[:m * group].reshape(
        m, group).sum(1)
    done = (np.arange(n) + 1) // group  # groups completed after cycle t
    return np.concatenate([[0], r])[done]


@register("mixpe")
def build_mixpe(format: str = "int8", pipeline: int = 0, weight_bits: int = 4,  # noqa: A002
                group: int = 128, acc: int | str | None = None,
                dequant: str = "pe") -> RtlUnit:
    """MixPE PE (see module docstring): ``format`` the activation format (int8 or fp16),
    ``weight_bits`` 2 or 4, ``group`` the quantisation group size (1..4096), ``acc`` the
    output accumulator width (int8: default 32; fp16: the fp32 register), ``dequant`` pe or
    shared."""
    act, wb, acc_bits = check_params("mixpe", format, weight_bits, acc, 32)
    if dequant not in DEQUANT_PLACES:
        raise HwsimError(f"mixpe: dequant must be one of {', '.join(DEQUANT_PLACES)}, got "
                         f"{dequant!r}")
    shared = dequant == "shared"
    if isinstance(group, bool) or not isinstance(group, int) or not 1 <= group <= MAX_GROUP:
        raise HwsimError(f"mixpe: group size must be an integer in 1..{MAX_GROUP}, got "
                         f"{group!r}")
    fp16 = act == "fp16"
    act_in, s_bits = (16, 16) if fp16 else (ACT_BITS, SCALE_BITS)
    lg = bits_for(group)
    with fresh_block() as block:
        pipe = Pipeline(pipeline, BOUNDARIES, "mixpe")
        rst = pipe.rst if pipe.rst is not None else pyrtl.Input(1, "rst")
        a_code = pyrtl.Input(act_in, "a")
        a = fp16_to_fixed(a_code) if fp16 else a_code
        q = pyrtl.Input(wb, "b")
        s = pyrtl.Const(0, s_bits) if shared else pyrtl.Input(s_bits, "s")
        z = pyrtl.Input(wb, "z")
        pw, aw = len(a) + wb + lg, len(a) + lg
        rw = pw + 2
        y = pyrtl.Output(rw if shared else acc_bits, "y")
        count = pyrtl.Register(lg, "count")
        last = count == group - 1
        count.next <<= pyrtl.select(rst | last, pyrtl.Const(0, lg), (count + 1)[:lg])
        pp, a_d, s_d, z_d, last_d = pipe.stage("operand", shift_add(a, q), a, s, z, last)
        p_reg, a_reg = pyrtl.Register(pw, "psum"), pyrtl.Register(aw, "asum")
        p_next = (p_reg + sext(pp, pw))[:pw]
        a_next = (a_reg + sext(a_d, aw))[:aw]
        zero = pyrtl.Const(0, pw)
        p_reg.next <<= pyrtl.select(rst | last_d, zero, p_next)
        a_reg.next <<= pyrtl.select(rst | last_d, pyrtl.Const(0, aw), a_next)
        # operand isolation: the dequantiser sees zeros except on a group's last cycle
        p_g = pyrtl.select(last_d, p_next, zero)
        a_g = pyrtl.select(last_d, a_next, pyrtl.Const(0, aw))
        s_g = pyrtl.select(last_d, s_d, pyrtl.Const(0, s_bits))
        r = (sext(p_g, rw) - sext(signed_times_unsigned(a_g, z_d), rw))[:rw]
        if shared:  # hold the group's r for the shared dequantiser
            held = pyrtl.Register(rw, "group_r")
            held.next <<= pyrtl.select(rst, pyrtl.Const(0, rw), pyrtl.select(last_d, r, held))
            y <<= held
        elif fp16:
            y <<= _dequantise_fp16(r, s_g, last_d, rst)
        else:
            y <<= _dequantise(r, s_g, acc_bits, rst)

    def ref(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        a_in = finite_fp16(inputs["a"]) if fp16 else inputs["a"]
        if shared:
            if fp16:
                r = fp16_group_stream(a_in, inputs["b"], inputs["z"], group=group,
                                      weight_bits=wb)
            else:
                r = group_stream(a_in, inputs["b"], inputs["z"], group=group, weight_bits=wb)
            return (r & ((1 << rw) - 1)).astype(np.uint64)
        s_in = finite_fp16(inputs["s"]) if fp16 else inputs["s"]
        return mixpe_stream(a_in, inputs["b"], s_in, inputs["z"], group=group,
                            weight_bits=wb, act=act, acc_bits=acc_bits)

    ports = {"a": act_in, "b": wb, "z": wb} if shared else {
        "a": act_in, "b": wb, "s": s_bits, "z": wb}
    tail = "shared" if shared else ("fp32" if fp16 else f"acc{acc_bits}")
    return RtlUnit(
        name=f"mixpe_{act}_w{wb}_g{group}_{tail}_p{pipeline}",
        unit="mixpe", block=block, inputs=ports,
        outputs={"y": rw if shared else acc_bits}, latency=pipeline + 1, reference=ref,
        params={"format": act, "pipeline": pipeline, "weight_bits": wb, "group": group,
                "acc": "fp32" if fp16 else acc_bits, "dequant": dequant},
        stateful=True,
    )


def _dequantise(r: pyrtl.WireVector, s: pyrtl.WireVector, acc_bits: int,
                rst: pyrtl.WireVector) -> pyrtl.WireVector:
    """``acc += s * r`` (the output accumulator register, wrapping at ``acc_bits``)."""
    deq = signed_times_unsigned(r, s)
    out = pyrtl.Register(acc_bits, "acc")
    out.next <<= pyrtl.select(rst, pyrtl.Const(0, acc_bits),
                              (out + sext(deq, acc_bits))[:acc_bits])
    return out


def _dequantise_fp16(r: pyrtl.WireVector, s: pyrtl.WireVector, last: pyrtl.WireVector,
                     rst: pyrtl.WireVector) -> pyrtl.WireVector:
    """fp16 activations: ``acc = fp32(acc + fp32(s * r))`` on a group's last cycle, ``r`` in
    units of 2**-24 and ``s`` an fp16 code; the product is exact before its one rounding."""
    s_sign, s_exp, s_sig = fp16_parts(s)
    r_neg = r[len(r) - 1]
    mag = pyrtl.select(r_neg, (~r + 1)[:len(r)], r) * s_sig
    # value = mag * 2**(s_exp + FP16_PRODUCT_LSB); fp32 exponent T + 1 - clz (rtl.fp.normalise)
    c = len(mag) - 2 + FP16_PRODUCT_LSB + FP32.bias
    q, exp_part, sticky = normalise(mag, s_exp, c)
    rounded = pyrtl.select(mag == 0, const(0, len(exp_part) + FP32.man_bits + 1),
                           round_packed(q, exp_part, sticky, FP32))
    none = const(0, 1)
    deq = pack_result(FP32, False, (r_neg ^ s_sign) & (mag != 0), rounded, none, none)
    out = pyrtl.Register(FP32.total_bits, "acc")
    total = adder(out, deq, FP32, False, Pipeline(0, ("none",), "fp32 add"))
    out.next <<= pyrtl.select(rst, const(0, FP32.total_bits), pyrtl.select(last, total, out))
    return out
