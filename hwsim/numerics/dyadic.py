"""Dyadic requantisation (HAWQ-V3, arXiv 2011.10680, Sec. 3.2): integer-only rescaling of an
integer accumulator by a real scale approximated as ``b / 2**c`` with integers ``b``, ``c``.

The scale rule is the public HAWQ code's (``batch_frexp`` in
``utils/quantization_utils/quant_utils.py`` of github:Zhen-Dong/HAWQ): write the scale as
``m * 2**e`` with ``m`` in [0.5, 1) (``frexp``), then ``b = round_half_up(m * 2**31)`` and
``c = 31 - e``. Here 31 is ``b_bits - 1``, so ``b`` fits ``b_bits`` unsigned bits
(``b <= 2**(b_bits-1)``: ``m`` can round up to 1); HAWQ's is ``b_bits = 32``.

Requantisation is ``clamp(round(acc * b / 2**c))`` to the output integer format. HAWQ's
simulation rounds half to even (``torch.round`` of a double); an add-and-shift datapath rounds
half up (towards +inf: ``(acc * b + 2**(c-1)) >> c``, TVM's default ``UPWARD``). Both are
:data:`DYADIC_ROUNDINGS`. :func:`requantize` is exact integer arithmetic (Python integers:
``acc * b`` needs up to 64 bits); :func:`requantize_float` is the same rule in float64, which
is exact while ``|acc * b| < 2**53`` (``b / 2**c`` is a dyadic number, so only the product
can round) -- the range where HAWQ's double arithmetic is exact too.
"""

from __future__ import annotations

import numpy as np

from hwsim.errors import HwsimError

#: rounding of the final shift: half to even (HAWQ's torch.round) or half up (add and shift)
DYADIC_ROUNDINGS = ("half_even", "half_up")
#: output formats of the requantiser: signed int8 (symmetric) or uint8 (after a ReLU)
DYADIC_OUTPUTS = ("int8", "uint8", "int4", "uint4", "int16", "uint16")


def output_range(out: str) -> tuple[int, int]:
    """(min, max) of an output integer format named ``int<N>``/``uint<N>``."""
    if out not in DYADIC_OUTPUTS:
        raise HwsimError(f"dyadic requantisation outputs {', '.join(DYADIC_OUTPUTS)}, "
                         f"got {out!r}")
    n = int(out.lstrip("uint"))
    return (0, (1 << n) - 1) if out.startswith("u") else (-(1 << (n - 1)), (1 << (n - 1)) - 1)


def check_rounding(rounding: str) -> str:
    if rounding not in DYADIC_ROUNDINGS:
        raise HwsimError(f"dyadic rounding must be one of {', '.join(DYADIC_ROUNDINGS)}, "
                         f"got {rounding!r}")
    return rounding


def dyadic_scale(scale, b_bits: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """``(b, c)`` int64 arrays with ``b / 2**c ~ scale`` by HAWQ's rule (module docstring).

    ``scale`` must be positive and finite; ``b`` has ``b_bits`` unsigned bits (2..62) and
    ``c`` may come out negative for scales of ``2**(b_bits-1)`` and above (a caller with a
    shift range checks it: :func:`check_shift`).
    """
    if not isinstance(b_bits, int) or not 2 <= b_bits <= 62:
        raise HwsimError(f"dyadic multiplier b must have 2..62 bits, got {b_bits!r}")
    s = np.asarray(scale, dtype=np.float64)
    if not np.all(np.isfinite(s) & (s > 0)):
        raise HwsimError("a dyadic scale must be positive and finite")
    m, e = np.frexp(s)
    t = m * float(1 << (b_bits - 1))  # exact: a power-of-two multiple
    b = np.floor(t + 0.5)  # half up; t + 0.5 is exact below 2**52
    return b.astype(np.int64), (b_bits - 1 - e).astype(np.int64)


def check_shift(c, c_max: int) -> None:
    c = np.asarray(c)
    if c.size and (c.min() < 0 or c.max() > c_max):
        raise HwsimError(f"dyadic shift c must lie in 0..{c_max}, got {int(c.min())}.."
                         f"{int(c.max())}: the scale is out of the requantiser's range")


def requantize(acc, b, c, *, out: str = "int8", rounding: str = "half_even") -> np.ndarray:
    """``clamp(round(acc * b / 2**c))`` in exact integer arithmetic, as int64.

    ``acc``, ``b``, ``c`` broadcast against each other (e.g. per-channel ``b``, ``c``);
    ``c >= 0``.
    """
    lo, hi = output_range(out)
    check_rounding(rounding)
    a, bb, cc = np.broadcast_arrays(np.asarray(acc, dtype=np.int64),
                                    np.asarray(b, dtype=np.int64),
                                    np.asarray(c, dtype=np.int64))
    check_shift(cc, 1 << 30)
    # Python integers (object arrays): acc * b needs up to 64 bits and the shift is exact
    p = a.astype(object) * bb.astype(object)
    cc = cc.astype(object)
    q = p >> cc  # floor
    rem = p - (q << cc)
    half = np.where(cc > 0, np.ones_like(cc) << np.maximum(cc - 1, 0), 0)
    tie = (rem == half) & (cc > 0)
    if rounding == "half_even":
        tie &= (q & 1) == 1
    up = (rem > half) | tie
    return np.clip(q + up.astype(np.int64), lo, hi).astype(np.int64)


def requantize_float(acc, b, c, *, out: str = "int8",
                     rounding: str = "half_even") -> np.ndarray:
    """The float64 reference of :func:`requantize`: exact while ``|acc * b| < 2**53``."""
    lo, hi = output_range(out)
    check_rounding(rounding)
    x = np.asarray(acc, dtype=np.float64) * np.ldexp(np.asarray(b, dtype=np.float64),
                                                     -np.asarray(c, dtype=np.int64))
    r = np.round(x) if rounding == "half_even" else np.floor(x + 0.5)
    return np.clip(r, lo, hi).astype(np.int64)


def requantize_real(acc, scale, *, out: str = "int8") -> np.ndarray:
    """What the dyadic form approximates: ``clamp(round_half_even(acc * scale))`` in float64
    with the real scale (the float-scale requantisation a float unit would do)."""
    lo, hi = output_range(out)
    x = np.asarray(acc, dtype=np.float64) * np.asarray(scale, dtype=np.float64)
    return np.clip(np.round(x), lo, hi).astype(np.int64)
