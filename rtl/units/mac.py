"""Fused multiply-accumulate with an accumulator register (minifloat or L-Mul products).

Every cycle: ``acc <= RN_acc((clr ? +0 : acc) + a * b)`` with one rounding into the
accumulator format (fp32, fp16 or bf16), exactly :func:`hwsim.numerics.fma` with
``out_fmt = c_fmt = acc``. ``clr`` starts a new sum (the first element of a dot product);
``rst`` clears the accumulator. ``y`` is the accumulator register, so a product applied at
cycle t is in ``y`` at cycle t + 1 (+1 with ``pipeline=1``, which registers the product).
With ``mul="lmul"`` the product is the L-Mul approximation (exact in the operand format) and
the sum is still rounded once.

With ``acc="kulisch"`` the accumulator is a wide two's-complement fixed-point register on the
grid of the format's smallest product (a Kulisch accumulator): every product is added
exactly, nothing is rounded, and ``KULISCH_GUARD`` extra bits let 2^16 products of the largest
magnitude add up without overflow (beyond that the register wraps). ``y`` is that register
with one more bit on top: a sticky flag set by a NaN or Inf product since the last clear
(fixed point has no code for them).

Fused addition: the product's exact significand (2M+2 bits) and the accumulator's significand
are padded to a common width W and given exponents on one offset scale; the smaller is shifted
right with guard/round/sticky bits, added or subtracted, then normalised (left or right, down
to the accumulator's subnormals) and rounded to nearest even (:mod:`rtl.fp`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyrtl

from hwsim.errors import HwsimError
from hwsim.numerics import FloatFormat, decode, encode, fma, get_float_format, lmul_bits
from rtl.build import Pipeline, fresh_block
from rtl.fp import (
    const,
    fixed_point_exponent,
    fixed_point_product,
    fixed_point_width,
    normalise,
    pack_result,
    round_packed,
    shift_right_sticky,
    twos_complement,
    unpack,
)
from rtl.registry import RtlUnit, register
from rtl.units.lmul import lmul_logic

ACCUMULATORS = ("fp32", "fp16", "bf16", "kulisch")
KULISCH_GUARD = 16  # bits above the largest product: 2^16 worst-case products fit
MULTIPLIERS = ("exact", "lmul")
BOUNDARIES = ("product",)


def kulisch_width(fmt: FloatFormat) -> int:
    return fixed_point_width(fmt) + 1 + KULISCH_GUARD


def kulisch_logic(a, b, clr, fmt: FloatFormat, mul: str, pipe: Pipeline) -> pyrtl.WireVector:
    """Exact accumulation of fixed-point products; returns {invalid flag, accumulator}."""
    width = kulisch_width(fmt)
    if mul == "lmul":
        # an L-Mul result code r: value sig * 2^(e - bias - m) = (sig << (e + bias + m - 2))
        # on the product grid 2^(2 - 2 bias - 2 m); e + bias + m - 2 >= 0 for e >= 1
        code = lmul_logic(a, b, fmt, False, Pipeline(0, (), "lmul"))
        r = unpack(code, fmt)
        shift = r.exp + (fmt.bias + fmt.man_bits - 2)
        mag = pyrtl.shift_left_logical(r.sig.zero_extended(fixed_point_width(fmt)), shift)
        sign, nan, inf = r.sign, r.is_nan, r.is_inf
    else:
        mag, sign, nan, inf = fixed_point_product(a, b, fmt)
    bad = nan | inf  # no fixed-point code: add nothing, raise the sticky flag instead
    term = pyrtl.select(bad, const(0, width), twos_complement(mag, sign, width))
    term, bad, clr = pipe.stage("product", term, bad, clr)
    acc = pyrtl.Register(width + 1, "acc")
    base = pyrtl.select(clr, const(0, width + 1), acc)
    total = (base[:width] + term)[:width]
    flag = base[width] | bad
    acc.next <<= pyrtl.select(pipe.rst, const(0, width + 1), pyrtl.concat(flag, total))
    return acc


def mac_logic(a, b, clr, fmt: FloatFormat, acc_fmt: FloatFormat, mul: str, saturate: bool,
              pipe: Pipeline) -> pyrtl.WireVector:
    m, bias = fmt.man_bits, fmt.bias
    if mul == "lmul":
        # the L-Mul result is a code of fmt: value = sig * 2**(e - bias - m), i.e. a "product"
        # with significand sig << (m + 1) and exponent sum e + bias - 1
        r = unpack(lmul_logic(a, b, fmt, False, Pipeline(0, (), "lmul")), fmt)
        prod = pyrtl.concat(r.sig, const(0, m + 1))
        tp = r.exp + (bias - 1)
        p_sign, p_nan, p_inf, p_zero = r.sign, r.is_nan, r.is_inf, r.is_zero
    else:
        ua, ub = unpack(a, fmt), unpack(b, fmt)
        prod = ua.sig * ub.sig
        tp = ua.exp + ub.exp
        p_sign = ua.sign ^ ub.sign
        p_nan = ua.is_nan | ub.is_nan | (ua.is_inf & ub.is_zero) | (ub.is_inf & ua.is_zero)
        p_inf = (ua.is_inf | ub.is_inf) & ~p_nan
        p_zero = ua.is_zero | ub.is_zero
    prod, tp, p_sign, p_nan, p_inf, p_zero, clr = pipe.stage(
        "product", prod, tp, p_sign, p_nan, p_inf, p_zero, clr
    )

    acc = pyrtl.Register(acc_fmt.total_bits, "acc")
    addend = pyrtl.select(clr, const(0, acc_fmt.total_bits), acc)
    uc = unpack(addend, acc_fmt)

    # common scale: value = S * 2**(X - K) for both operands (see module docstring)
    width = max(2 * m + 2, acc_fmt.man_bits + 1)
    # offsets keep both exponents non-negative: X_acc = e_acc + off_acc, X_prod = ea + eb +
    # off_prod, with off_prod - off_acc = acc_bias - 2 * bias + 1 so both share one scale
    off_acc = max(0, 2 * bias - acc_fmt.bias - 1)
    off_prod = off_acc + acc_fmt.bias - 2 * bias + 1
    s_prod = pyrtl.concat(prod, const(0, width - len(prod))) if width > len(prod) else prod
    s_acc = (pyrtl.concat(uc.sig, const(0, width - len(uc.sig)))
             if width > len(uc.sig) else uc.sig)
    xw = max(len(tp), len(uc.exp)) + 2
    x_prod = (tp + off_prod if off_prod else tp).zero_extended(xw)
    x_acc = (uc.exp + off_acc if off_acc else uc.exp).zero_extended(xw)

    # order by exponent only: the product's significand need not be normalised (it may
    # start 01...), so a subtraction can still come out negative; it is negated below
    prod_big = x_prod >= x_acc
    big_s = pyrtl.select(prod_big, s_prod, s_acc)
    small_s = pyrtl.select(prod_big, s_acc, s_prod)
    big_x = pyrtl.select(prod_big, x_prod, x_acc)
    small_x = pyrtl.select(prod_big, x_acc, x_prod)
    big_sign = pyrtl.select(prod_big, p_sign, uc.sign)
    subtract = p_sign ^ uc.sign

    # guard bits: 3 suffice for normalised operands; an unnormalised big operand (product
    # 01..., subnormals) can cancel by up to `width` more bits, so keep that many too
    guard = width + 3
    diff = (big_x - small_x)[:xw]
    shifted, sticky = shift_right_sticky(pyrtl.concat(small_s, const(0, guard)), diff)
    small_al = shifted | pyrtl.concat(const(0, len(shifted) - 1), sticky)
    big_al = pyrtl.concat(big_s, const(0, guard))
    negative = subtract & (small_al > big_al)
    difference = pyrtl.select(negative, small_al - big_al, big_al - small_al)[: len(big_al)]
    total = pyrtl.select(subtract, difference, big_al + small_al)
    total = total.zero_extended(width + guard + 1)
    big_sign = big_sign ^ negative

    # value = total * 2**(big_x - K - guard); the accumulator's exponent is T = big_x - A
    q, exp_part, st = normalise(total, big_x, -off_acc)
    mag = round_packed(q, exp_part, st, acc_fmt)
    is_zero = total == 0
    mag = pyrtl.select(is_zero, const(0, len(mag)), mag)
    sign = pyrtl.select(is_zero, p_sign & uc.sign, big_sign)
    is_nan = p_nan | uc.is_nan | (p_inf & uc.is_inf & subtract)
    is_inf = (p_inf | uc.is_inf) & ~is_nan
    sign = pyrtl.select(is_inf, pyrtl.select(p_inf, p_sign, uc.sign), sign)
    result = pack_result(acc_fmt, saturate, sign, mag, is_nan, is_inf)
    acc.next <<= pyrtl.select(pipe.rst, const(0, acc_fmt.total_bits), result)
    return acc


def _chains(clr: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Each clr (and the reset before vector 0) starts an independent sum: ``(chain index of
    every vector, its depth in the chain, number of chains)``. Chains are stepped together,
    element k of every chain at once, so loops run over the longest chain, not all vectors."""
    start = np.asarray(clr).astype(bool).copy()
    if len(start):
        start[0] = True
    chain = np.cumsum(start) - 1
    first = np.flatnonzero(start)
    return chain, np.arange(len(start)) - first[chain], len(first)


def _operands(inputs, fmt: FloatFormat, mul: str) -> tuple[np.ndarray, np.ndarray]:
    if mul == "lmul":
        x = decode(lmul_bits(inputs["a"], inputs["b"], fmt), fmt).astype(np.float64)
        return x, np.ones_like(x)
    return decode(inputs["a"], fmt).astype(np.float64), decode(inputs["b"], fmt).astype(np.float64)


def _reference(fmt: FloatFormat, acc_fmt: FloatFormat, mul: str, saturate: bool):
    def ref(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        x, y = _operands(inputs, fmt, mul)
        chain, depth, n_chains = _chains(inputs["clr"])
        acc = np.zeros(n_chains)
        out = np.empty(len(x), np.uint64)
        for k in range(int(depth.max()) + 1 if len(x) else 0):
            idx = np.flatnonzero(depth == k)
            c = chain[idx]
            acc[c] = fma(x[idx], y[idx], acc[c], fmt, out_fmt=acc_fmt, saturate=saturate)
            out[idx] = encode(acc[c], acc_fmt)
        return out

    return ref


def _kulisch_reference(fmt: FloatFormat, mul: str):
    width = kulisch_width(fmt)
    lsb = fixed_point_exponent(fmt)

    def ref(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        x, y = _operands(inputs, fmt, mul)
        with np.errstate(invalid="ignore", over="ignore"):
            p = x * y  # exact: at most 24 significant bits
        bad = ~np.isfinite(p)
        # exact integers on the product grid (Python ints: the register can exceed 64 bits)
        units = [0 if b else int(v) for v, b in zip(np.ldexp(p, -lsb), bad, strict=True)]
        chain, depth, n_chains = _chains(inputs["clr"])
        total = [0] * n_chains
        flag = [False] * n_chains
        out = np.empty(len(x), dtype=object)
        for i in np.argsort(depth, kind="stable"):  # depth order = the order within a chain
            c = chain[i]
            total[c] = (total[c] + units[i]) % (1 << width)
            flag[c] = flag[c] or bool(bad[i])
            out[i] = (int(flag[c]) << width) | total[c]
        return out

    return ref


@register("mac")
def build_mac(format: str = "fp8_e4m3fn", acc: str = "fp32", mul: str = "exact",  # noqa: A002
              pipeline: int = 0, saturate: bool = False) -> RtlUnit:
    fmt = get_float_format(format, what="mac")
    if acc not in ACCUMULATORS:
        raise HwsimError(f"unknown accumulator {acc!r} for mac; allowed: {', '.join(ACCUMULATORS)}")
    if mul not in MULTIPLIERS:
        raise HwsimError(f"unknown multiplier {mul!r} for mac; allowed: {', '.join(MULTIPLIERS)}")
    if acc == "kulisch":
        return _build_kulisch(fmt, mul, pipeline, saturate)
    acc_fmt = get_float_format(acc)
    if mul == "exact" and 2 * (fmt.man_bits + 1) > 48:
        raise HwsimError(f"mac products of {fmt.name} exceed the 48-bit exact product limit")
    with fresh_block() as block:
        pipe = Pipeline(pipeline, BOUNDARIES, "mac")
        if pipe.rst is None:  # the accumulator always needs a reset
            pipe.rst = pyrtl.Input(1, "rst")
        a = pyrtl.Input(fmt.total_bits, "a")
        b = pyrtl.Input(fmt.total_bits, "b")
        clr = pyrtl.Input(1, "clr")
        y = pyrtl.Output(acc_fmt.total_bits, "y")
        y <<= mac_logic(a, b, clr, fmt, acc_fmt, mul, saturate, pipe)
    tag = "lmul_" if mul == "lmul" else ""
    sat = "_sat" if saturate else ""
    return RtlUnit(
        name=f"mac_{tag}{fmt.name}_acc_{acc_fmt.name}{sat}_p{pipeline}",
        unit="mac",
        block=block,
        inputs={"a": fmt.total_bits, "b": fmt.total_bits, "clr": 1},
        outputs={"y": acc_fmt.total_bits},
        latency=pipeline + 1,
        reference=_reference(fmt, acc_fmt, mul, saturate),
        params={"format": fmt.name, "acc": acc, "mul": mul, "pipeline": pipeline,
                "saturate": saturate},
        stateful=True,
        out_format=acc_fmt.name,
    )


def _build_kulisch(fmt: FloatFormat, mul: str, pipeline: int, saturate: bool) -> RtlUnit:
    if saturate:
        raise HwsimError("a Kulisch accumulator is exact: --saturate does not apply")
    width = kulisch_width(fmt)
    if width > 255:
        raise HwsimError(f"a Kulisch accumulator for {fmt.name} would need {width + 1} bits; "
                         "this generator supports up to 256 (formats of up to 6 exponent bits)")
    with fresh_block() as block:
        pipe = Pipeline(pipeline, BOUNDARIES, "mac")
        if pipe.rst is None:
            pipe.rst = pyrtl.Input(1, "rst")
        a = pyrtl.Input(fmt.total_bits, "a")
        b = pyrtl.Input(fmt.total_bits, "b")
        clr = pyrtl.Input(1, "clr")
        y = pyrtl.Output(width + 1, "y")
        y <<= kulisch_logic(a, b, clr, fmt, mul, pipe)
    tag = "lmul_" if mul == "lmul" else ""
    return RtlUnit(
        name=f"mac_{tag}{fmt.name}_acc_kulisch{width}_p{pipeline}",
        unit="mac",
        block=block,
        inputs={"a": fmt.total_bits, "b": fmt.total_bits, "clr": 1},
        outputs={"y": width + 1},
        latency=pipeline + 1,
        reference=_kulisch_reference(fmt, mul),
        params={"format": fmt.name, "acc": "kulisch", "mul": mul, "pipeline": pipeline,
                "saturate": False},
        stateful=True,
    )
