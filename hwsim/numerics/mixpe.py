"""MixPE (arXiv 2411.16158): group dot products of low-bit weights x int8/fp16 activations,
computed the way its processing element does, and the per-element-dequantise MAC it replaces.

Weights are asymmetric group-quantised: a weight code ``q`` (unsigned, ``weight_bits`` = 2 or
4) with a per-group scale ``s`` and zero point ``z`` (a code of the same width) stands for
``s * (q - z)``. For a group of ``G`` activations ``a_k`` the MixPE PE

1. multiplies by shift-and-add: the partial product ``q * a`` is the sum over the weight's set
   bits ``b`` of ``a`` shifted left by ``b`` (for fp16 activations: the activation's
   significand shifted by its exponent plus ``b``, so the sum is an exact fixed-point number
   in units of 2**-24, fp16's smallest subnormal);
2. adds the partial products and the activations into two group registers,
   ``P = sum q_k a_k`` and ``A = sum a_k`` (both exact);
3. once per group dequantises ``r = P - z * A`` with the group's scale and adds it to the
   output accumulator: for int8 activations the scale is an unsigned integer code (QServe-
   style integer group scales) and everything is exact integer arithmetic, wrapping like an
   ``acc_bits`` two's-complement register; for fp16 activations the scale is an fp16 value,
   ``s * r`` is rounded once to fp32 (round to nearest even) and added to an fp32 accumulator.

The baseline, the per-element dequantise MAC (``dequant-mac``), turns every weight into the
activation's arithmetic first: int8: ``w = s * (q - z)`` (a signed integer of
``weight_bits + 9`` bits, no rounding) and a plain integer MAC, so the two int8 designs agree
exactly; fp16: ``w = fp16(s * (q - z))`` (rounded to fp16), the fp16 x fp16 product in fp32
(exact) and an fp32 accumulation per element.

The stream functions give what the PEs' output registers hold after each input cycle, with
the group boundary every ``G`` cycles since reset (the scale and zero point are read on a
group's last cycle); :func:`mixpe_dot` is the same arithmetic over whole vectors.
"""

from __future__ import annotations

import numpy as np

from hwsim.errors import HwsimError

#: weight widths the MixPE unit takes (INT4 and INT2 weights, as in the paper)
MIXPE_WEIGHT_BITS = (2, 4)
#: activation formats (W4A8 / W4A16 in the paper's terms)
MIXPE_ACTIVATIONS = ("int8", "fp16")
#: bits of the integer group scale (int8 activations)
SCALE_BITS = 8
#: fp16 significands in units of 2**-24 (the smallest subnormal) are exact integers
FP16_LSB_EXP = -24


def check_weight_bits(bits: int, who: str = "mixpe") -> int:
    if isinstance(bits, bool) or bits not in MIXPE_WEIGHT_BITS:
        raise HwsimError(f"{who}: weight bits must be one of "
                         f"{', '.join(map(str, MIXPE_WEIGHT_BITS))}, got {bits!r}")
    return int(bits)


def check_activation(fmt: str, who: str = "mixpe") -> str:
    f = str(fmt).strip().lower()
    if f not in MIXPE_ACTIVATIONS:
        raise HwsimError(f"{who}: activations must be one of {', '.join(MIXPE_ACTIVATIONS)}, "
                         f"got {fmt!r}")
    return f


def check_group(k: int, group: int, who: str = "mixpe") -> int:
    """The number of groups of a length-``k`` reduction; ``group`` must divide ``k``."""
    if isinstance(group, bool) or not isinstance(group, int | np.integer) or group < 1:
        raise HwsimError(f"{who}: group size must be a positive integer, got {group!r}")
    if k % group:
        raise HwsimError(f"{who}: group size {group} does not divide the reduction length "
                         f"K={k}; pick a divisor of {k}")
    return k // int(group)


def _codes(x, bits: int, what: str) -> np.ndarray:
    v = np.asarray(x)
    if v.dtype.kind not in "iu" or ((v < 0) | (v >= 1 << bits)).any():
        raise HwsimError(f"mixpe: {what} codes must be integers in 0..{(1 << bits) - 1}")
    return v.astype(np.int64)


def int8_values(codes) -> np.ndarray:
    """Signed values of 8-bit activation codes."""
    c = _codes(codes, 8, "int8 activation")
    return np.where(c >= 128, c - 256, c)


def fp16_fixed(codes) -> np.ndarray:
    """fp16 codes as exact integers in units of 2**-24: the significand (with the hidden bit
    for normals) shifted left by the biased exponent less one. Inf and NaN are refused."""
    c = _codes(codes, 16, "fp16 activation")
    e, frac, neg = (c >> 10) & 0x1F, c & 0x3FF, c >> 15
    if (e == 0x1F).any():
        raise HwsimError("mixpe: fp16 activations must be finite (no inf/NaN)")
    mag = np.where(e > 0, (frac | 0x400) << np.maximum(e - 1, 0), frac)
    return np.where(neg == 1, -mag, mag)


def shift_add(a: np.ndarray, q: np.ndarray, weight_bits: int) -> np.ndarray:
    """``q * a`` as the PE forms it: ``a`` shifted by each set bit of the weight code."""
    out = np.zeros(np.broadcast(a, q).shape, dtype=np.int64)
    for b in range(weight_bits):
        out += np.where((q >> b) & 1, a << b, 0)
    return out


def round_fp32(num: int, exp: int) -> np.float32:
    """``num * 2**exp`` (integers) rounded to fp32, to nearest even; overflow gives inf."""
    if num == 0:
        return np.float32(0.0)
    neg, m = num < 0, abs(num)
    # keep 24 significant bits (fewer below fp32's normal range, exponent -149 at least)
    drop = max(m.bit_length() - 24, -149 - exp)
    if drop > 0:
        keep, rest = m >> drop, m & ((1 << drop) - 1)
        half = 1 << (drop - 1)
        if rest > half or (rest == half and keep & 1):
            keep += 1
        m, exp = keep, exp + drop
    v = np.float32(np.ldexp(float(m), exp)) if m.bit_length() + exp <= 128 else np.float32(
        np.inf)
    return -v if neg else v


def _stream_setup(a, q, s, z, group: int, weight_bits: int, act: str):
    check_weight_bits(weight_bits)
    act = check_activation(act)
    if isinstance(group, bool) or not isinstance(group, int) or group < 1:
        raise HwsimError(f"mixpe: group size must be a positive integer, got {group!r}")
    av = int8_values(a) if act == "int8" else fp16_fixed(a)
    qv = _codes(q, weight_bits, "weight")
    zv = _codes(z, weight_bits, "zero-point")
    sv = _codes(s, SCALE_BITS if act == "int8" else 16, "scale")
    return av, qv, sv, zv, act


def mixpe_stream(a, q, s, z, *, group: int, weight_bits: int = 4, act: str = "int8",
                 acc_bits: int = 32) -> np.ndarray:
    """The MixPE output register after each cycle since reset (see module docstring): int8:
    ``acc_bits`` two's-complement codes (uint64); fp16: fp32 codes (uint64)."""
    av, qv, sv, zv, act = _stream_setup(a, q, s, z, group, weight_bits, act)
    out = np.zeros(len(av), dtype=np.uint64)
    p = asum = 0
    acc_i, acc_f = 0, np.float32(0.0)
    mask = (1 << acc_bits) - 1
    prods = shift_add(av, qv, weight_bits)
    for t in range(len(av)):
        p += int(prods[t])
        asum += int(av[t])
        if t % group == group - 1:
            r = p - int(zv[t]) * asum
            if act == "int8":
                acc_i = (acc_i + int(sv[t]) * r) & mask
            else:
                sm, se = _fp16_parts(int(sv[t]))
                acc_f = np.float32(acc_f + round_fp32(sm * r, se + FP16_LSB_EXP))
            p = asum = 0
        out[t] = acc_i if act == "int8" else int(np.float32(acc_f).view(np.uint32))
    return out


def group_stream(a, q, z, *, group: int, weight_bits: int = 4) -> np.ndarray:
    """int8 activations: the group result ``r = P - z * A`` of the last completed group after
    each cycle since reset (0 before the first), what a PE whose dequantiser is shared
    (outside the PE) hands over; ``s * r`` summed over groups is :func:`mixpe_stream`."""
    av, qv, _, zv, _ = _stream_setup(a, q, np.zeros(len(np.asarray(a)), dtype=np.int64), z,
                                     group, weight_bits, "int8")
    prods = shift_add(av, qv, weight_bits)
    out = np.zeros(len(av), dtype=np.int64)
    p = asum = r = 0
    for t in range(len(av)):
        p += int(prods[t])
        asum += int(av[t])
        if t % group == group - 1:
            r, p, asum = p - int(zv[t]) * asum, 0, 0
        out[t] = r
    return out


def _fp16_parts(code: int) -> tuple[int, int]:
    """(signed integer significand, exponent) of a finite fp16 code: value = m * 2**e."""
    (m,) = fp16_fixed(np.array([code], dtype=np.int64))
    return int(m), FP16_LSB_EXP


def dequant_mac_stream(a, q, s, z, *, weight_bits: int = 4, act: str = "int8",
                       acc_bits: int = 32) -> np.ndarray:
    """The per-element-dequantise MAC's accumulator after each cycle since reset (codes as in
    :func:`mixpe_stream`; ``s`` and ``z`` are read every cycle)."""
    av, qv, sv, zv, act = _stream_setup(a, q, s, z, 1, weight_bits, act)
    if act == "int8":
        w = sv * (qv - zv)
        sums = np.cumsum(av * w, dtype=np.int64)
        return (sums & ((1 << acc_bits) - 1)).astype(np.uint64)
    w = dequant_fp16(sv, qv, zv)
    x = np.asarray(a, dtype=np.uint16).view(np.float16).astype(np.float32)
    acc, out = np.float32(0.0), np.zeros(len(av), dtype=np.uint64)
    for t in range(len(av)):
        acc = np.float32(acc + np.float32(w[t]) * x[t])
        out[t] = int(acc.view(np.uint32))
    return out


def dequant_fp16(s_codes, q, z) -> np.ndarray:
    """Per-element dequantised weights ``fp16(s * (q - z))`` (the product is exact in fp32;
    one rounding to fp16)."""
    s = np.asarray(s_codes, dtype=np.uint16).view(np.float16).astype(np.float32)
    return (s * (np.asarray(q) - np.asarray(z)).astype(np.float32)).astype(np.float16)


def mixpe_dot(a, q, scales, zeros, *, group: int, weight_bits: int = 4, act: str = "int8",
              acc_bits: int = 64):
    """One output of a group-quantised dot product: ``a`` and ``q`` of length ``K``, one scale
    and zero-point code per group (``K / group`` of each). int8: the exact integer (wrapping
    at ``acc_bits``; 64 does not wrap for any K up to 2**24); fp16: the fp32 result."""
    a, q = np.asarray(a), np.asarray(q)
    n = check_group(len(a), group)
    s = np.asarray(scales)
    z = np.asarray(zeros)
    if s.shape != (n,) or z.shape != (n,):
        raise HwsimError(f"mixpe: {n} groups need {n} scales and zero points, got "
                         f"{s.shape[0] if s.ndim else 1} and {z.shape[0] if z.ndim else 1}")
    y = mixpe_stream(a, q, np.repeat(s, group), np.repeat(z, group), group=group,
                     weight_bits=weight_bits, act=act, acc_bits=min(acc_bits, 63))
    last = int(y[-1])
    if act == "int8":
        bits = min(acc_bits, 63)
        return last - (1 << bits) * (last >> (bits - 1))
    return np.uint32(last).view(np.float32)
