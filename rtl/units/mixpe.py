"""The MixPE processing element (``mixpe``, arXiv 2411.16158): low-bit weights x int8
activations by shift-and-add, one dequantisation per quantisation group.

Specification: :func:`hwsim.numerics.mixpe.mixpe_stream` (the int8 path). Ports: ``a`` the
activation code (int8), ``b`` the weight code (``weight_bits`` = 2 or 4, unsigned), ``s`` the
group's scale (8-bit unsigned integer) and ``z`` its zero point (a ``weight_bits`` code); ``s``
and ``z`` are read on the group's last cycle only. Each cycle the partial product ``q * a`` is
formed as the sum of ``a`` shifted by each set weight bit (no multiplier) and added to the
group register ``P``; ``a`` goes into ``A``. A counter marks every ``group``-th cycle since
reset; on it the PE dequantises ``r = P - z * A`` with one small multiply by ``s`` and adds the
result into the output accumulator ``y`` (``acc`` bits, two's complement, wrapping), and the
group registers restart. The dequantiser's operands are gated to zero between group ends
(operand isolation), so its logic switches once per group, not once per MAC.

Latency ``1 + pipeline``: ``y`` is the accumulator register; the optional stage boundary
``operand`` registers the partial product (with ``a``, ``s``, ``z`` and the group-end flag)
before the group adders. The fp16-activation path exists in the golden model only.

``dequant="shared"`` builds the PE without its dequantiser: no ``s`` port, and ``y`` is the
last completed group's ``r`` (a register of ``weight_bits + 8 + bits(group) + 2`` bits,
specification :func:`hwsim.numerics.mixpe.group_stream`), for a dequantiser shared by the
PEs of an array row (it is busy once per ``group`` cycles per PE).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyrtl

from hwsim.errors import HwsimError
from hwsim.numerics.mixpe import (
    SCALE_BITS,
    check_activation,
    check_weight_bits,
    group_stream,
    mixpe_stream,
)
from rtl.build import Pipeline, fresh_block
from rtl.fp import bits_for
from rtl.registry import RtlUnit, register

BOUNDARIES = ("operand",)
ACT_BITS = 8
#: where the dequantiser sits: in every PE, or shared outside it
DEQUANT_PLACES = ("pe", "shared")
#: the largest group the unit is built for (the counter and group registers grow with it)
MAX_GROUP = 4096


def check_params(who: str, format: str, weight_bits: int,  # noqa: A002
                 acc: int | str | None, default_acc: int) -> tuple[int, int]:
    """Activation format (int8 in RTL), weight bits and accumulator width, checked."""
    if check_activation(format, who) != "int8":
        raise HwsimError(f"{who}: the RTL unit takes int8 activations; fp16 activations are "
                         "modelled in hwsim.numerics.mixpe only")
    wb = check_weight_bits(weight_bits, who)
    if acc is None:
        return wb, default_acc
    text = str(acc).removeprefix("int")
    if isinstance(acc, bool) or not text.isdigit() or not 16 <= int(text) <= 64:
        raise HwsimError(f"{who}: accumulator must have 16..64 bits (a width like 32 or "
                         f"'int32'), got {acc!r}")
    return wb, int(text)


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


@register("mixpe")
def build_mixpe(format: str = "int8", pipeline: int = 0, weight_bits: int = 4,  # noqa: A002
                group: int = 128, acc: int | str | None = None,
                dequant: str = "pe") -> RtlUnit:
    """MixPE PE (see module docstring): ``format`` the activation format, ``weight_bits``
    2 or 4, ``group`` the quantisation group size (1..4096), ``acc`` the output accumulator
    width (default 32), ``dequant`` pe or shared."""
    wb, acc_bits = check_params("mixpe", format, weight_bits, acc, 32)
    if dequant not in DEQUANT_PLACES:
        raise HwsimError(f"mixpe: dequant must be one of {', '.join(DEQUANT_PLACES)}, got "
                         f"{dequant!r}")
    shared = dequant == "shared"
    if isinstance(group, bool) or not isinstance(group, int) or not 1 <= group <= MAX_GROUP:
        raise HwsimError(f"mixpe: group size must be an integer in 1..{MAX_GROUP}, got "
                         f"{group!r}")
    lg = bits_for(group)
    with fresh_block() as block:
        pipe = Pipeline(pipeline, BOUNDARIES, "mixpe")
        rst = pipe.rst if pipe.rst is not None else pyrtl.Input(1, "rst")
        a = pyrtl.Input(ACT_BITS, "a")
        q = pyrtl.Input(wb, "b")
        s = pyrtl.Const(0, SCALE_BITS) if shared else pyrtl.Input(SCALE_BITS, "s")
        z = pyrtl.Input(wb, "z")
        pw, aw = ACT_BITS + wb + lg, ACT_BITS + lg
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
        s_g = pyrtl.select(last_d, s_d, pyrtl.Const(0, SCALE_BITS))
        r = (sext(p_g, rw) - sext(signed_times_unsigned(a_g, z_d), rw))[:rw]
        if shared:  # hold the group's r for the shared dequantiser
            held = pyrtl.Register(rw, "group_r")
            held.next <<= pyrtl.select(rst, pyrtl.Const(0, rw), pyrtl.select(last_d, r, held))
            y <<= held
        else:
            y <<= _dequantise(r, s_g, acc_bits, rst)

    def ref(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        if shared:
            r = group_stream(inputs["a"], inputs["b"], inputs["z"], group=group,
                             weight_bits=wb)
            return (r & ((1 << rw) - 1)).astype(np.uint64)
        return mixpe_stream(inputs["a"], inputs["b"], inputs["s"], inputs["z"], group=group,
                            weight_bits=wb, acc_bits=acc_bits)

    ports = {"a": ACT_BITS, "b": wb, "z": wb} if shared else {
        "a": ACT_BITS, "b": wb, "s": SCALE_BITS, "z": wb}
    return RtlUnit(
        name=f"mixpe_int8_w{wb}_g{group}_{'shared' if shared else f'acc{acc_bits}'}"
             f"_p{pipeline}",
        unit="mixpe", block=block, inputs=ports,
        outputs={"y": rw if shared else acc_bits}, latency=pipeline + 1, reference=ref,
        params={"format": "int8", "pipeline": pipeline, "weight_bits": wb, "group": group,
                "acc": acc_bits, "dequant": dequant},
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
