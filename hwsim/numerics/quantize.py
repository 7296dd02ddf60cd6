"""Rounding real values onto a format's grid: ``quantize``, ``encode``, ``decode``.

How ``quantize`` works (float formats, deterministic rounding): the input's IEEE bit pattern
(float32 or float64) is rounded in place. For values in the target's normal range the low
``source_mantissa - target_mantissa`` bits are rounded off with an integer add and a mask, so a
mantissa carry ripples into the exponent exactly as it does in hardware. For values below the
target's smallest normal, the significand is shifted right by a per-element amount so that its
last kept bit sits at the target's subnormal quantum. Overflow, Inf and NaN are then mapped by
the format's policy. The work runs over cache-sized chunks with in-place numpy operations:
no Python loop over elements. Stochastic rounding takes a float64 route (see
``_round_stochastic``) since speed matters less there than a clean unbiased draw.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Literal

import numpy as np

from hwsim.errors import HwsimError
from hwsim.numerics.formats import FloatFormat, Format, IntFormat, get_format
from hwsim.numerics.olive import is_olive, olive_decode, olive_encode, olive_quantize

Rounding = Literal["rne", "rtz", "rna", "stochastic"]
ROUNDINGS = ("rne", "rtz", "rna", "stochastic")

_CHUNK = 1 << 15  # elements per chunk: a few arrays of this size stay in L2 cache


class _Layout:
    """Bit layout of the source IEEE type the rounding works on."""

    def __init__(self, ftype: type[np.floating]) -> None:
        self.ftype = np.dtype(ftype)
        self.utype = np.dtype(np.uint32 if self.ftype == np.float32 else np.uint64)
        self.man_bits = 23 if self.ftype == np.float32 else 52
        self.bias = 127 if self.ftype == np.float32 else 1023
        width = self.ftype.itemsize * 8
        self.sign = self.utype.type(1 << (width - 1))
        self.inf_bits = self.utype.type(((1 << (width - 1 - self.man_bits)) - 1) << self.man_bits)
        self.qnan_bits = self.utype.type(int(self.inf_bits) | (1 << (self.man_bits - 1)))


_F32 = _Layout(np.float32)
_F64 = _Layout(np.float64)


# --------------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------------
def as_float_array(x, what: str = "x") -> np.ndarray:
    """Coerce input to float32 (for <= 32-bit floats) or float64 (float64, ints, bools).

    Integer inputs go to float64, which is exact for |x| < 2**53. ml_dtypes' narrow types
    (bfloat16, float8_*, int4, ...) are widened exactly to float32.
    """
    arr = np.asarray(x)
    dt = arr.dtype
    if dt == np.float64:
        return arr
    if dt in (np.float32, np.float16) or dt.type.__module__ == "ml_dtypes":
        return arr.astype(np.float32, copy=False)
    if dt.kind in "iub":
        return arr.astype(np.float64)
    raise HwsimError(
        f"{what}: cannot quantize values of dtype {dt}; "
        "allowed: float16/32/64, ml_dtypes types (bfloat16, float8_*), integer or bool arrays"
    )


def _check_rounding(rounding: str) -> None:
    if rounding not in ROUNDINGS:
        raise HwsimError(f"unknown rounding {rounding!r}; allowed: {', '.join(ROUNDINGS)}")


# --------------------------------------------------------------------------------------------
# float formats, deterministic rounding on the bit pattern
# --------------------------------------------------------------------------------------------
@cache
def _plan(fmt: FloatFormat, lay: _Layout):
    """Constants for rounding ``lay``-typed values into ``fmt`` (cached per pair)."""
    u = lay.utype.type
    drop = lay.man_bits - fmt.man_bits
    if drop < 0:
        raise HwsimError(
            f"{fmt.name} has more mantissa bits than {lay.ftype} input; pass float64 input"
        )
    min_normal_bits = u(int(np.array(fmt.min_normal, lay.ftype).view(lay.utype)))
    # shift that puts a source-normal value's last kept bit on the target's subnormal quantum
    # is base - E (E = source biased exponent); source subnormals behave as E = 1.
    sub_base = fmt.emin - fmt.man_bits + lay.bias + lay.man_bits
    return {
        "drop": drop,
        "half": u(1 << (drop - 1)) if drop else u(0),
        "keep": u(~((1 << drop) - 1) & int(~lay.sign)),
        "min_normal_bits": min_normal_bits,
        "sub_base": sub_base,
        "quantum": lay.ftype.type(2.0 ** (fmt.emin - fmt.man_bits)),
        "max_bits": u(int(np.array(fmt.max_normal, lay.ftype).view(lay.utype))),
    }


def _round_bits(a: np.ndarray, fmt: FloatFormat, lay: _Layout, rounding: str) -> np.ndarray:
    """Round the magnitudes ``a`` (source bit patterns, sign cleared) onto ``fmt``'s grid.

    Returns source bit patterns of the rounded magnitudes; overflow is not handled here.
    """
    p = _plan(fmt, lay)
    u = lay.utype.type
    if not p["drop"]:
        r = a.copy()
    elif rounding == "rne":
        r = np.right_shift(a, u(p["drop"]))
        np.bitwise_and(r, u(1), out=r)
        r += a
        r += p["half"] - u(1)
    elif rounding == "rna":
        r = a + p["half"]
    else:  # rtz
        r = a.copy()
    if p["drop"]:
        # NaN payloads can carry into the sign bit; they are replaced later anyway
        np.bitwise_and(r, p["keep"] | lay.sign, out=r)
    small = a < p["min_normal_bits"]
    if fmt.subnormals and small.any():
        idx = np.flatnonzero(small)
        s = a[idx]
        exp = np.right_shift(s, u(lay.man_bits))
        sig = np.bitwise_and(s, u((1 << lay.man_bits) - 1))
        sig |= np.where(exp > 0, u(1 << lay.man_bits), u(0))
        np.maximum(exp, u(1), out=exp)
        shift = u(p["sub_base"]) - exp  # >= drop >= 0
        np.minimum(shift, u(lay.man_bits + 2), out=shift)
        q = np.right_shift(sig, shift)
        if rounding in ("rne", "rna"):
            rem = sig - np.left_shift(q, shift)
            half = np.left_shift(u(1), shift) >> u(1)  # 0 when shift == 0: nothing to round
            if rounding == "rne":
                up = (rem > half) | ((rem == half) & (q & u(1)).astype(bool))
            else:
                up = rem >= half
            up &= shift > 0
            q += up
        vals = q.astype(lay.ftype) * p["quantum"]
        r[idx] = vals.view(lay.utype)
    return r


def _round_stochastic(ax: np.ndarray, fmt: FloatFormat, rng: np.random.Generator) -> np.ndarray:
    """Unbiased stochastic rounding of magnitudes ``ax`` (float64) onto ``fmt``'s grid.

    The magnitude is scaled (exactly, by a power of two) so the target quantum is 1, then
    ``floor(y + u)`` with ``u ~ U[0, 1)`` rounds up with probability ``frac(y)``.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        _, k = np.frexp(ax)
        exp = np.maximum(k.astype(np.int64) - 1, fmt.emin) - fmt.man_bits
        y = np.ldexp(ax, -exp)
        u = rng.random(ax.shape)
        q = np.floor(y + u)
        return np.ldexp(q, exp)


# --------------------------------------------------------------------------------------------
# special values
# --------------------------------------------------------------------------------------------
def _finish(a: np.ndarray, sign: np.ndarray, r: np.ndarray, fmt: FloatFormat, lay: _Layout,
            saturate: bool, rounding: str) -> np.ndarray:
    """Apply the overflow/NaN/sign policy on bit patterns, in place on ``r``.

    ``a``: input magnitudes' bits, ``sign``: input sign bits, ``r``: rounded magnitudes' bits.
    """
    p = _plan(fmt, lay)
    over = r > p["max_bits"]  # Inf and NaN inputs land here too: their bits exceed any max
    if over.any():
        if saturate or not fmt.has_nan and not fmt.has_inf:
            fill = p["max_bits"]  # saturating formats also clamp Inf input
        elif fmt.has_inf:
            fill = lay.inf_bits
        else:
            fill = lay.qnan_bits
        r[over] = fill
        if rounding == "rtz":  # rounding toward zero never goes past the largest finite value
            r[over & (a < lay.inf_bits)] = p["max_bits"]
        nan_in = a > lay.inf_bits
        if nan_in.any():
            if fmt.has_nan:
                r[nan_in] = lay.qnan_bits
            else:
                # ml_dtypes maps NaN into NaN-less formats to a zero of the opposite sign
                r[nan_in] = 0
                sign = sign.copy()
                sign[nan_in] ^= lay.sign
    r |= sign
    if fmt.nan == "neg_zero":
        r[r == lay.sign] = 0  # no negative zero in fnuz formats ...
        # ... and their one NaN code, 0x80.., has the sign bit set
        r[(r & ~lay.sign) > lay.inf_bits] = lay.sign | lay.qnan_bits
    return r


def _quantize_e8m0(
    x: np.ndarray, fmt: FloatFormat, rounding: str, saturate: bool, rng
) -> np.ndarray:
    """The unsigned power-of-two scale: no zero, no sign, NaN for everything else.

    Values below 2**-127 clamp to it, as ml_dtypes does; overflow is NaN (or 2**127 when
    saturating). Deterministic rounding acts on log2 of the value: ties go away from zero.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        x64 = x.astype(np.float64)
        m, k = np.frexp(x64)  # x = m * 2**k, m in [0.5, 1)
        e = (k - 1).astype(np.float64)
        frac = 2 * m - 1  # position within the binade [2**e, 2**(e+1)) on a linear scale
        if rounding in ("rne", "rna"):
            up = frac >= 0.5  # ties away from zero even under "rne", as ml_dtypes does
        elif rounding == "rtz":
            up = np.zeros_like(frac, dtype=bool)
        else:
            up = rng.random(x.shape) < frac
        e = e + up
        e = np.clip(e, fmt.emin, None)
        out = np.ldexp(1.0, e.astype(np.int64)).astype(np.float64)
        bad = ~(x64 > 0) | np.isinf(x64)
        over = e > fmt.emax
        out[over] = fmt.max_normal if saturate else np.nan
        if rounding == "rtz":  # rounding toward zero never goes past the largest value
            out[over & np.isfinite(x64)] = fmt.max_normal
        if saturate:
            out[np.isposinf(x64)] = fmt.max_normal
            bad &= ~np.isposinf(x64)
        out[bad] = np.nan
        # float32 subnormals round like any other input: to the nearer of 2**-127 and 2**-126,
        # ties up. ml_dtypes < 0.7 sent all of (2**-127, 2**-126) up to 2**-126 for float32
        # input; 0.7.0 fixed that, and the ml-dtypes>=0.7 floor in pyproject.toml holds it.
    return out.astype(x.dtype, copy=False)


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------
def quantize(
    x,
    fmt: str | Format,
    rounding: Rounding = "rne",
    saturate: bool = False,
    seed: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Round ``x`` to the nearest values representable in ``fmt``.

    Returns float32 for float32-or-narrower input and float64 for float64 or integer input,
    with the input's shape. With the defaults the result is bit-identical to
    ``x.astype(ml_dtypes.<fmt>).astype(np.float32)`` for every format ml_dtypes has:
    overflow goes to NaN for E4M3FN-style formats, to Inf for IEEE-like ones and saturates for
    the NaN-less FP6/FP4. ``saturate=True`` clamps finite overflow and Inf to +-max instead.

    ``rounding``: ``rne`` (nearest, ties to even), ``rna`` (nearest, ties away), ``rtz``
    (toward zero) or ``stochastic`` (unbiased; reproducible with ``seed``). E8M0 breaks ties
    away from zero under ``rne``, as ml_dtypes does. Integer formats round and always clamp
    to their range; they have no NaN, so NaN input is an error. OVP formats (``olive4``,
    ``olive8``) pair values along the last axis (:mod:`hwsim.numerics.olive`).
    """
    if is_olive(fmt):
        _olive_args(rounding, saturate)
        return olive_quantize(x, fmt)
    f = get_format(fmt)
    _check_rounding(rounding)
    arr = as_float_array(x)
    rng = np.random.default_rng(seed) if rounding == "stochastic" else None
    if isinstance(f, IntFormat):
        return _quantize_int(arr, f, rounding, rng)
    if not f.signed:
        return _quantize_e8m0(np.atleast_1d(arr), f, rounding, saturate, rng).reshape(arr.shape)
    lay = _F32 if arr.dtype == np.float32 else _F64
    flat = np.ascontiguousarray(arr).reshape(-1)
    out = np.empty_like(flat)
    out_bits = out.view(lay.utype)
    for start in range(0, flat.size, _CHUNK):
        bits = flat[start : start + _CHUNK].view(lay.utype)
        a = bits & ~lay.sign
        sign = bits & lay.sign
        if rounding == "stochastic":
            ax = a.view(lay.ftype).astype(np.float64)
            r = _round_stochastic(ax, f, rng).astype(lay.ftype).view(lay.utype)
        else:
            r = _round_bits(a, f, lay, rounding)
        out_bits[start : start + _CHUNK] = _finish(a, sign, r, f, lay, saturate, rounding)
    return out.reshape(arr.shape)


def _olive_args(rounding: str, saturate: bool) -> None:
    """OVP formats round to nearest with the authors' tie rule and always clamp to their
    largest outlier, so ``saturate`` changes nothing; other roundings are refused."""
    del saturate
    if rounding != "rne":
        raise HwsimError(f"OVP formats round to nearest (the authors' rule), got rounding "
                         f"{rounding!r}; allowed: rne")


def _quantize_int(arr: np.ndarray, f: IntFormat, rounding: str, rng) -> np.ndarray:
    if np.isnan(arr).any():
        raise HwsimError(f"{f.name} cannot represent NaN; remove NaNs before quantizing")
    if rounding == "rne":
        q = np.rint(arr)
    elif rounding == "rtz":
        q = np.trunc(arr)
    elif rounding == "rna":
        q = np.copysign(np.floor(np.abs(arr) + 0.5), arr)
    else:
        q = np.floor(arr.astype(np.float64) + rng.random(arr.shape)).astype(arr.dtype)
    return np.asarray(np.clip(q, f.min_value, f.max_value), dtype=arr.dtype)


# --------------------------------------------------------------------------------------------
# bit patterns
# --------------------------------------------------------------------------------------------
def _code_dtype(bits: int) -> np.dtype:
    for dt in (np.uint8, np.uint16, np.uint32, np.uint64):
        if np.dtype(dt).itemsize * 8 >= bits:
            return np.dtype(dt)
    raise AssertionError(bits)


def encode(x, fmt: str | Format, rounding: Rounding = "rne", saturate: bool = False,
           seed=None) -> np.ndarray:
    """Bit patterns (unsigned integers of the smallest fitting width) of ``quantize(x, fmt)``."""
    if is_olive(fmt):
        _olive_args(rounding, saturate)
        return olive_encode(x, fmt)
    f = get_format(fmt)
    q = quantize(x, f, rounding=rounding, saturate=saturate, seed=seed).astype(np.float64)
    shape = q.shape
    q = q.reshape(-1)
    return _encode_values(q, f).reshape(shape)


def _encode_values(q: np.ndarray, f: Format) -> np.ndarray:
    """Codes of values ``q`` (1-D float64) that are already representable in ``f``."""
    cdt = _code_dtype(f.total_bits)
    if isinstance(f, IntFormat):
        return (q.astype(np.int64) & ((1 << f.bits) - 1)).astype(cdt)
    b = q.view(np.uint64)
    neg = (b >> np.uint64(63)).astype(bool)
    mag = np.abs(q)
    exp = ((b >> np.uint64(52)) & np.uint64(0x7FF)).astype(np.int64) - 1023 + f.bias
    man = (b & np.uint64((1 << 52) - 1)) >> np.uint64(52 - f.man_bits)
    code = (exp.clip(0, None).astype(np.uint64) << np.uint64(f.man_bits)) | man
    if f.subnormals:
        small = mag < f.min_normal
        with np.errstate(invalid="ignore"):
            code[small] = (mag[small] / f.min_subnormal).astype(np.uint64)
    if f.has_inf:
        code[np.isinf(q)] = f.inf_code
    if f.signed:
        # fnuz formats have no negative zero: quantize already made those +0
        code |= np.where(neg & (mag != 0), np.uint64(f.sign_bit), np.uint64(0))
        if f.has_neg_zero:
            code |= np.where(neg & (mag == 0), np.uint64(f.sign_bit), np.uint64(0))
    nan = np.isnan(q)
    if nan.any():
        code[nan] = f.nan_code
        if f.nan in ("ieee", "all_ones") and f.signed:
            code[nan & neg] |= np.uint64(f.sign_bit)
    return code.astype(cdt)


@lru_cache(maxsize=64)
def _decode_table(f: FloatFormat) -> np.ndarray:
    codes = np.arange(1 << f.total_bits, dtype=np.uint64)
    table = _decode_formula(codes, f)
    table.setflags(write=False)
    return table


def _decode_formula(codes: np.ndarray, f: FloatFormat) -> np.ndarray:
    c = codes.astype(np.int64)
    mag_bits = f.exp_bits + f.man_bits
    neg = ((c >> mag_bits) & 1).astype(bool) if f.signed else np.zeros(c.shape, bool)
    exp = (c >> f.man_bits) & f.exp_max_code
    man = c & f.man_mask
    if f.subnormals:
        val = np.where(
            exp == 0,
            np.ldexp(man.astype(np.float64), f.emin - f.man_bits),
            np.ldexp((man + (1 << f.man_bits)).astype(np.float64), exp - f.bias - f.man_bits),
        )
    else:
        val = np.ldexp((man + (1 << f.man_bits)).astype(np.float64), exp - f.bias - f.man_bits)
    top = exp == f.exp_max_code
    if f.has_inf:
        val[top & (man == 0)] = np.inf
    if f.nan == "ieee":
        val[top & (man != 0)] = np.nan
    elif f.nan == "all_ones":
        val[(c & ((1 << mag_bits) - 1)) == (1 << mag_bits) - 1] = np.nan
    elif f.nan == "neg_zero":
        val[c == (1 << mag_bits)] = np.nan
    val = np.where(neg, -val, val)
    out_t = np.float32 if f.exp_bits <= 8 and f.man_bits <= 23 else np.float64
    return val.astype(out_t)


def decode(bits, fmt: str | Format) -> np.ndarray:
    """Values of the bit patterns ``bits`` in ``fmt`` (float32 when the format fits it)."""
    if is_olive(fmt):
        return olive_decode(bits, fmt)
    f = get_format(fmt)
    arr = np.asarray(bits)
    if arr.dtype.kind not in "iu":
        raise HwsimError(f"decode needs integer bit patterns, got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or int(arr.max()) >= (1 << f.total_bits)):
        raise HwsimError(
            f"bit patterns for {f.name} must lie in 0..{(1 << f.total_bits) - 1}"
        )
    if isinstance(f, IntFormat):
        v = arr.astype(np.int64)
        if f.signed:
            v = np.where(v >= (1 << (f.bits - 1)), v - (1 << f.bits), v)
        return v.astype(np.float64 if f.bits > 24 else np.float32)
    if f.total_bits <= 16:
        return np.asarray(_decode_table(f)[arr.astype(np.intp)])
    return _decode_formula(np.atleast_1d(arr), f).reshape(arr.shape)
