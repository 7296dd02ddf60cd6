"""Floating-point building blocks on PyRTL wires, shared by the minifloat units.

They work on the codes of a :class:`hwsim.numerics.FloatFormat` and follow its policy exactly
(subnormals, NaN/Inf encoding, saturation), because the units are verified bit for bit against
:mod:`hwsim.numerics`. All arithmetic is unsigned; where a value can go negative it is carried
with an offset (documented at each use) so no signed wires are needed.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyrtl

from hwsim.numerics import FloatFormat


def const(value: int, width: int) -> pyrtl.Const:
    return pyrtl.Const(value, bitwidth=max(width, 1))


def bits_for(value: int) -> int:
    """Width that holds 0..value."""
    return max(1, int(value).bit_length())


@dataclass(frozen=True)
class Unpacked:
    """Fields of a float code. ``exp`` is the effective biased exponent (1 for subnormals)."""

    sign: pyrtl.WireVector
    exp: pyrtl.WireVector  # exp_bits wide
    sig: pyrtl.WireVector  # man_bits + 1 wide, hidden bit included (0 for subnormals)
    is_zero: pyrtl.WireVector
    is_nan: pyrtl.WireVector
    is_inf: pyrtl.WireVector


def unpack(code: pyrtl.WireVector, fmt: FloatFormat) -> Unpacked:
    e, m = fmt.exp_bits, fmt.man_bits
    man = code[:m] if m else None
    exp = code[m : m + e]
    sign = code[m + e] if fmt.signed else const(0, 1)
    exp_zero = exp == 0
    hidden = ~exp_zero if fmt.subnormals else const(1, 1)
    sig = pyrtl.concat(hidden, man) if m else hidden
    eff_exp = pyrtl.select(exp_zero, const(1, e), exp) if fmt.subnormals else exp
    man_zero = (man == 0) if m else const(1, 1)
    exp_ones = exp == fmt.exp_max_code
    is_zero = exp_zero & man_zero if fmt.subnormals else const(0, 1)
    mag_bits = e + m
    if fmt.nan == "ieee":
        is_nan = exp_ones & ~man_zero
    elif fmt.nan == "all_ones":
        is_nan = code[:mag_bits] == (1 << mag_bits) - 1
    elif fmt.nan == "neg_zero":
        is_nan = code == (1 << mag_bits)
    else:
        is_nan = const(0, 1)
    is_inf = exp_ones & man_zero if fmt.has_inf else const(0, 1)
    if fmt.nan == "neg_zero":
        is_zero = is_zero & ~sign  # 0x80.. is NaN, not -0
    return Unpacked(sign, eff_exp, sig, is_zero, is_nan, is_inf)


def count_leading_zeros(w: pyrtl.WireVector) -> pyrtl.WireVector:
    """Leading zeros of ``w`` (``len(w)`` when ``w`` is 0), as a priority mux chain."""
    n = len(w)
    out_width = bits_for(n)
    result = const(n, out_width)
    # scan from the least significant bit up so the highest set bit wins last
    for i in range(n):
        result = pyrtl.select(w[i], const(n - 1 - i, out_width), result)
    return result


def shift_right_sticky(w: pyrtl.WireVector, amount: pyrtl.WireVector
                       ) -> tuple[pyrtl.WireVector, pyrtl.WireVector]:
    """``w >> amount`` (same width) and the OR of every bit shifted out."""
    n = len(w)
    # clamp so every shifted-out bit stays inside the double-width window
    limit = n + 1
    amt = pyrtl.select(amount > limit, const(limit, bits_for(limit)), amount)
    wide = pyrtl.concat(w, const(0, n + 1))  # w << (n + 1)
    shifted = pyrtl.shift_right_logical(wide, amt)
    return shifted[n + 1 :], shifted[: n + 1] != 0


def overflow_code(fmt: FloatFormat, saturate: bool) -> int | None:
    """Magnitude code for a finite overflow (None: the NaN code, with the sign, applies)."""
    if saturate or (not fmt.has_inf and not fmt.has_nan):
        return fmt.max_finite_code
    if fmt.has_inf:
        return fmt.inf_code
    return None


def pack_result(
    fmt: FloatFormat,
    saturate: bool,
    sign: pyrtl.WireVector,
    mag: pyrtl.WireVector,
    is_nan: pyrtl.WireVector,
    is_inf: pyrtl.WireVector,
    nan_sign: pyrtl.WireVector | None = None,
) -> pyrtl.WireVector:
    """Final code from a rounded magnitude ``mag`` (any width) and the special-case flags.

    Finite overflow (``mag`` above the largest finite code) and Inf follow the format's policy;
    NaN gets the format's NaN code with the sign (fnuz: its one NaN code); fnuz has no -0.
    A format without a NaN code gets a zero of sign ``nan_sign`` (default 1: -0) for NaN,
    mirroring how :func:`hwsim.numerics.quantize` maps a NaN of the opposite sign.
    """
    width = fmt.total_bits
    mag_bits = fmt.exp_bits + fmt.man_bits
    over = mag > fmt.max_finite_code
    ovf = overflow_code(fmt, saturate)
    nan_mag = fmt.nan_code & ((1 << mag_bits) - 1) if fmt.has_nan else 0
    finite = pyrtl.select(over | is_inf, const(ovf if ovf is not None else nan_mag, mag_bits),
                          mag[:mag_bits])
    if ovf is None:  # overflow and Inf are NaN in this format
        is_nan = is_nan | over | is_inf
    mag_out = pyrtl.select(is_nan, const(nan_mag, mag_bits), finite)
    if not fmt.signed:
        return mag_out
    sign_out = sign
    if not fmt.has_nan:
        # an invalid result (0 * Inf, a NaN input) has no code: a zero, as hwsim.numerics
        nan_sign = const(1, 1) if nan_sign is None else nan_sign
        sign_out = pyrtl.select(is_nan, nan_sign, sign)
    elif fmt.nan == "neg_zero":
        # the NaN code is the sign bit alone; zero is never negative
        sign_out = pyrtl.select(is_nan, const(1, 1), sign & (mag_out != 0))
    out = pyrtl.concat(sign_out, mag_out)
    assert len(out) == width
    return out


def round_nearest_even(top: pyrtl.WireVector, guard: pyrtl.WireVector,
                       sticky: pyrtl.WireVector) -> pyrtl.WireVector:
    """``top`` rounded to nearest, ties to even, given the first dropped bit and the rest."""
    up = guard & (sticky | top[0])
    return top + up


def normalise(p: pyrtl.WireVector, tp: pyrtl.WireVector, c: int
              ) -> tuple[pyrtl.WireVector, pyrtl.WireVector, pyrtl.WireVector]:
    """Align an exact significand ``p`` on a format's grid; :func:`round_packed` finishes.

    With ``T = tp + c`` the value's biased exponent would be ``T + 1 - clz(p)``: ``p`` is
    shifted left by ``min(clz(p), T)`` (right, collecting a sticky bit, when ``T < 0``), which
    puts its leading one on top for normal results and the subnormal quantum at the right place
    otherwise. Returns ``(q, exp_part, sticky)``: the shifted significand (``len(p)`` bits), the
    exponent field minus the hidden bit (0 for subnormal results) and the bits lost to the
    right. ``T`` is kept offset so wires stay unsigned: ``tq = tp + max(c, 0)``, ``T = tq - z``
    with ``z = max(-c, 0)``.
    """
    width = len(p)
    z = max(-c, 0)
    lz = count_leading_zeros(p)
    grow = bits_for(z + width) + 1
    base = tp + c if c > 0 else tp
    tq = base.zero_extended(max(len(base), grow) + 1)
    normal = tq >= (lz + z)
    left = tq >= z if z else const(1, 1)  # T = tq >= 0 always holds when there is no offset
    t = (tq - z)[: len(tq)]
    shifted_left = pyrtl.shift_left_logical(p, pyrtl.select(normal, lz, t[: len(lz)]))
    right_amt = (const(z, bits_for(z)) - tq)[: bits_for(z)] if z else const(0, 1)
    shifted_right, sticky_right = shift_right_sticky(p, right_amt)
    q = pyrtl.select(left, shifted_left, shifted_right)
    exp_part = pyrtl.select(normal, (t - lz)[: len(tq)], const(0, len(tq)))
    return q, exp_part, ~left & sticky_right


def round_packed(q: pyrtl.WireVector, exp_part: pyrtl.WireVector, sticky: pyrtl.WireVector,
                 fmt: FloatFormat) -> pyrtl.WireVector:
    """Round a :func:`normalise`-d significand to nearest even and pack it with its exponent.

    The top ``man_bits + 1`` bits of ``q`` are kept (hidden bit + mantissa); exponent and
    mantissa are added as one integer so a rounding carry ripples into the exponent. The
    result is wide enough to show overflow; zero results must be forced by the caller.
    """
    m, width = fmt.man_bits, len(q)
    top = q[width - m - 1 :]
    guard = q[width - m - 2]
    if width - m - 2 > 0:
        sticky = sticky | (q[: width - m - 2] != 0)
    packed = (pyrtl.concat(exp_part, const(0, m)) if m else exp_part) + top
    return round_nearest_even(packed, guard, sticky)


def fixed_point_width(fmt: FloatFormat) -> int:
    """Bits of the exact product magnitude of two ``fmt`` values as a fixed-point integer."""
    return 2 * fmt.man_bits + 2 + 2 * fmt.exp_max_code - 2


def fixed_point_exponent(fmt: FloatFormat) -> int:
    """log2 of the weight of that fixed-point integer's last bit."""
    return 2 - 2 * fmt.bias - 2 * fmt.man_bits


def fixed_point_product(a: pyrtl.WireVector, b: pyrtl.WireVector, fmt: FloatFormat,
                        width: int | None = None):
    """The exact product of two codes as an unsigned fixed-point magnitude (Kulisch style).

    The significand product is shifted left by the exponent sum minus its minimum (2), so
    every product of the format lands on one integer grid of weight
    ``2**fixed_point_exponent(fmt)``. Returns ``(magnitude, sign, is_nan, is_inf)``.
    """
    width = fixed_point_width(fmt) if width is None else width
    ua, ub = unpack(a, fmt), unpack(b, fmt)
    p = ua.sig * ub.sig
    shift = (ua.exp + ub.exp - 2)[: bits_for(2 * fmt.exp_max_code)]
    mag = pyrtl.shift_left_logical(p.zero_extended(width), shift)
    nan = ua.is_nan | ub.is_nan | (ua.is_inf & ub.is_zero) | (ub.is_inf & ua.is_zero)
    inf = (ua.is_inf | ub.is_inf) & ~nan
    return mag, ua.sign ^ ub.sign, nan, inf


def twos_complement(mag: pyrtl.WireVector, negative: pyrtl.WireVector, width: int
                    ) -> pyrtl.WireVector:
    """``-mag`` if ``negative`` else ``mag``, as a ``width``-bit two's-complement word."""
    m = mag.zero_extended(width)
    return pyrtl.select(negative, (~m + 1)[:width], m)


def finish(fmt: FloatFormat, saturate: bool, sign, mag, is_zero, is_nan, is_inf, pipe,
           nan_sign=None) -> pyrtl.WireVector:
    """The common tail of the float units: force exact zeros, apply the format's policy
    (:func:`pack_result`), and register the result at the ``output`` stage boundary."""
    mag = pyrtl.select(is_zero, const(0, len(mag)), mag)
    y = pack_result(fmt, saturate, sign, mag, is_nan, is_inf, nan_sign=nan_sign)
    (y,) = pipe.stage("output", y)
    return y
