"""Arithmetic in a number format: correctly rounded ``mul``, ``add``, ``fma`` and ``dot``.

Why the results are correctly rounded: operands are values of formats with at most 24
significant bits, so their product is exact in float64 (48 <= 53 bits). A sum is formed in
float64 with *round-to-odd* (an error-free TwoSum tells whether the float64 sum was exact;
if not, the float64 result is nudged to its odd neighbour). Rounding a round-to-odd value
with at least two more bits than the target (53 >= 24 + 2) to nearest gives the correctly
rounded result of the exact sum (Boldo and Melquiond, "Emulation of FMA and correctly rounded
sums: proved algorithms using rounding to odd", IEEE TC 2008). So ``fma`` and ``add`` round
exactly once, like hardware with a wide internal datapath.
"""

from __future__ import annotations

import math

import numpy as np

from hwsim.errors import HwsimError
from hwsim.numerics.formats import FloatFormat, Format, get_format
from hwsim.numerics.quantize import Rounding, as_float_array, quantize

ACCUMULATORS = ("fp32", "fp16", "bf16", "exact")


def _operand(x, fmt: Format, what: str) -> np.ndarray:
    """Operands are values in ``fmt``: round them in (RNE) as hardware inputs would be."""
    return quantize(as_float_array(x, what), fmt).astype(np.float64)


def broadcast_operands(*arrays: np.ndarray) -> list[np.ndarray]:
    try:
        return np.broadcast_arrays(*arrays)
    except ValueError:
        shapes = " and ".join(str(a.shape) for a in arrays)
        raise HwsimError(f"operand shapes {shapes} do not broadcast together") from None


def _check_width(fmt: Format) -> None:
    if isinstance(fmt, FloatFormat) and fmt.man_bits > 23:
        raise HwsimError(f"arithmetic supports formats of up to 24 significant bits, not {fmt}")


def sum_round_to_odd(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """float64 ``x + y`` rounded to odd: exact, or the odd neighbour of the exact sum."""
    x, y = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(y, np.float64))
    shape = x.shape
    x, y = x.reshape(-1), y.reshape(-1)
    with np.errstate(invalid="ignore", over="ignore"):
        s = x + y
        # TwoSum (Knuth): err is the exact rounding error of s, for finite s
        bb = s - x
        err = (x - (s - bb)) + (y - bb)
    inexact = np.isfinite(s) & (err != 0)
    if inexact.any():
        bits = s.view(np.int64)
        even = (bits & 1) == 0
        fix = inexact & even
        if fix.any():
            toward = np.where(err[fix] > 0, np.inf, -np.inf)
            s[fix] = np.nextafter(s[fix], toward)
    return s.reshape(shape)


def _round(v: np.ndarray, fmt: Format, rounding: Rounding, saturate: bool, seed) -> np.ndarray:
    # the sign of a NaN from 0*Inf or Inf-Inf is platform-defined: make it +NaN, so formats
    # without a NaN code get a deterministic result from quantize (-0, as ml_dtypes maps +NaN)
    v = np.where(np.isnan(v), np.nan, v)
    return quantize(v, fmt, rounding=rounding, saturate=saturate, seed=seed)


def mul(a, b, fmt: str | Format, *, out_fmt: str | Format | None = None,
        rounding: Rounding = "rne", saturate: bool = False, seed=None) -> np.ndarray:
    """``a * b`` with operands in ``fmt``, correctly rounded into ``out_fmt`` (default ``fmt``)."""
    f = get_format(fmt)
    o = get_format(out_fmt) if out_fmt is not None else f
    _check_width(f)
    x, y = broadcast_operands(_operand(a, f, "a"), _operand(b, f, "b"))
    with np.errstate(invalid="ignore", over="ignore"):
        p = x * y
    return _round(p, o, rounding, saturate, seed)


def add(a, b, fmt: str | Format, *, out_fmt: str | Format | None = None,
        rounding: Rounding = "rne", saturate: bool = False, seed=None) -> np.ndarray:
    """``a + b`` with operands in ``fmt``, correctly rounded into ``out_fmt`` (default ``fmt``)."""
    f = get_format(fmt)
    o = get_format(out_fmt) if out_fmt is not None else f
    _check_width(f)
    x, y = broadcast_operands(_operand(a, f, "a"), _operand(b, f, "b"))
    return _round(sum_round_to_odd(x, y), o, rounding, saturate, seed)


def fma(a, b, c, fmt: str | Format, *, out_fmt: str | Format | None = None,
        c_fmt: str | Format | None = None, rounding: Rounding = "rne", saturate: bool = False,
        seed=None) -> np.ndarray:
    """Fused ``a * b + c`` with a single rounding into ``out_fmt`` (default ``fmt``).

    ``a`` and ``b`` are in ``fmt``; the addend ``c`` is in ``c_fmt`` (default ``out_fmt``), as
    in a MAC whose accumulator is wider than its multiplier inputs.
    """
    f = get_format(fmt)
    o = get_format(out_fmt) if out_fmt is not None else f
    cf = get_format(c_fmt) if c_fmt is not None else o
    for g in (f, o, cf):
        _check_width(g)
    x, y, z = broadcast_operands(_operand(a, f, "a"), _operand(b, f, "b"), _operand(c, cf, "c"))
    with np.errstate(invalid="ignore", over="ignore"):
        p = x * y
    return _round(sum_round_to_odd(p, z), o, rounding, saturate, seed)


def accumulate(products: np.ndarray, acc_fmt: str, block: int | None = None) -> np.ndarray:
    """Sum exact float64 products along the last axis the way an accumulator would.

    - ``acc_fmt`` in fp32/fp16/bf16: a running accumulator that starts at 0 and rounds once
      after each addition (a fused MAC chain), in index order.
    - ``acc_fmt="exact"``: the exact sum, rounded once to float64 (``math.fsum``).
    - ``block=k``: each group of ``k`` products is first summed exactly (a multi-operand adder
      tree with a single rounding, as in tensor cores) and the block sums are then accumulated
      in ``acc_fmt``; a ragged last group is summed the same way. A block sum can need more
      than float64's 53 bits (FP8 E5M2 products span 2^62): it is kept rounded to odd, so that
      the accumulator's rounding is the only one.
    """
    if acc_fmt not in ACCUMULATORS:
        raise HwsimError(f"unknown accumulator {acc_fmt!r}; allowed: {', '.join(ACCUMULATORS)}")
    p = np.asarray(products, np.float64)
    if block is not None:
        if not isinstance(block, int | np.integer) or block < 1:
            raise HwsimError(f"block must be a positive integer, got {block!r}")
        k = p.shape[-1]
        pad = (-k) % block
        if pad:
            p = np.concatenate([p, np.zeros(p.shape[:-1] + (pad,))], axis=-1)
        groups = p.reshape(p.shape[:-1] + (p.shape[-1] // block, block))
        p = _exact_sum(groups, to_odd=acc_fmt != "exact")
    if acc_fmt == "exact":
        return _exact_sum(p)
    acc = np.zeros(p.shape[:-1])
    fmt = get_format(acc_fmt)
    for i in range(p.shape[-1]):
        acc = quantize(sum_round_to_odd(acc, p[..., i]), fmt).astype(np.float64)
    return acc


def _exact_sum(p: np.ndarray, to_odd: bool = False) -> np.ndarray:
    """Sums over the last axis, rounded once to float64: to nearest, or to odd."""
    flat = p.reshape(-1, p.shape[-1])
    with np.errstate(invalid="ignore"):
        out = np.array([math.fsum(row) if np.isfinite(row).all() else row.sum() for row in flat])
        if to_odd:
            # fsum of the row minus its rounded sum has the sign of the rounding error
            err = np.array([math.fsum([*row, -s]) if np.isfinite(s) else 0.0
                            for row, s in zip(flat.tolist(), out.tolist(), strict=True)])
            fix = (err != 0) & ((out.view(np.int64) & 1) == 0)
            out[fix] = np.nextafter(out[fix], np.copysign(np.inf, err[fix]))
    return out.reshape(p.shape[:-1])


def dot(a, b, in_fmt: str | Format, acc_fmt: str = "fp32", block: int | None = None
        ) -> np.ndarray:
    """Dot product over the last axis of ``a`` and ``b`` (broadcast over leading axes).

    Operands are rounded into ``in_fmt``; their products are exact and are summed as
    :func:`accumulate` describes. Returns float64 values representable in ``acc_fmt``.
    """
    f = get_format(in_fmt)
    _check_width(f)
    x, y = _operand(a, f, "a"), _operand(b, f, "b")
    if x.ndim == 0 or y.ndim == 0:
        raise HwsimError("dot needs arrays with at least one axis")
    if x.shape[-1] != y.shape[-1]:
        raise HwsimError(
            f"dot: last axes differ ({x.shape[-1]} vs {y.shape[-1]}); they must be equal"
        )
    x, y = broadcast_operands(x, y)
    with np.errstate(invalid="ignore", over="ignore"):
        products = x * y
    return accumulate(products, acc_fmt, block)
