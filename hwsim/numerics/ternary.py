"""Ternary weights (BitNet b1.58, the MatMul-free LM) and the accumulate-only dot product.

A weight in {-1, 0, +1} is stored as a 2-bit two's-complement code, the ``int2`` weight format
of the ``w1.58a8`` preset: 0 -> ``0b00``, +1 -> ``0b01``, -1 -> ``0b11``. Code ``0b10`` (-2 as
int2) is no ternary weight: :func:`decode_ternary` rejects it. The ``ternary-acc`` PE reads
the two bits directly, bit 0 "use the activation" and bit 1 "subtract it", so a ``0b10`` that
reaches the hardware adds nothing (:func:`pe_weight` gives the value the unit applies).

The weights come from the authors' absmean quantiser: ``round(w / mean|w|)`` clipped to
[-1, 1] (``weight_quant`` in ridgerchu/matmulfreellm ``mmfreelm/ops/fusedbitnet.py``, as in
BitNet b1.58); multiplying an int8 activation by such a weight is an add, a subtract or a skip.
"""

from __future__ import annotations

import numpy as np

from hwsim.errors import HwsimError

#: code -> weight value, the three ternary codes
TERNARY_CODES: dict[int, int] = {0b00: 0, 0b01: 1, 0b11: -1}


def encode_ternary(values) -> np.ndarray:
    """Codes (uint64) of weights that must each be -1, 0 or +1."""
    v = np.asarray(values)
    bad = ~np.isin(v, (-1, 0, 1))
    if bad.any():
        raise HwsimError(f"a ternary weight must be -1, 0 or +1, got {v[bad].flat[0].item()!r}")
    return (v.astype(np.int64) & 0b11).astype(np.uint64)


def decode_ternary(codes) -> np.ndarray:
    """Weights (int64) of 2-bit codes 0b00, 0b01, 0b11; any other code is an error."""
    c = np.asarray(codes, dtype=np.int64)
    bad = ~np.isin(c, tuple(TERNARY_CODES))
    if bad.any():
        raise HwsimError(f"ternary weight code {int(c[bad].flat[0])} is out of range; allowed: "
                         "0 (0), 1 (+1), 3 (-1)")
    return pe_weight(c)


def pe_weight(codes) -> np.ndarray:
    """The weight the ``ternary-acc`` PE applies for any 2-bit code (0b10 adds nothing)."""
    c = np.asarray(codes, dtype=np.int64)
    if ((c < 0) | (c > 3)).any():
        raise HwsimError("a ternary weight code has 2 bits (0..3)")
    return np.where(c & 1, np.where(c & 2, -1, 1), 0)


def absmean_ternary(w, eps: float = 1e-5) -> tuple[np.ndarray, float]:
    """The authors' per-tensor absmean quantiser: ternary weights and the scale ``mean|w|``
    (the layer computes ``(x @ t) * scale``)."""
    w = np.asarray(w, dtype=np.float64)
    scale = max(float(np.abs(w).mean()), eps)
    return np.clip(np.round(w / scale), -1, 1).astype(np.int64), scale


def ternary_accumulate(acts, codes, act_bits: int = 8, acc_bits: int = 24) -> np.ndarray:
    """The running sums the PE's accumulator holds: after pair ``k`` the sum over ``0..k`` of
    (activation ``k``, a signed ``act_bits`` code) times (weight code ``k`` as the PE applies
    it), as ``acc_bits`` two's-complement codes (wrapping like the register)."""
    a = np.asarray(acts, dtype=np.uint64).astype(np.int64)
    if ((a < 0) | (a >= 1 << act_bits)).any():
        raise HwsimError(f"an activation code has {act_bits} bits (0..{(1 << act_bits) - 1})")
    a = np.where(a >= 1 << (act_bits - 1), a - (1 << act_bits), a)
    sums = np.cumsum(a * pe_weight(codes), dtype=np.int64)
    return sums.astype(np.uint64) & np.uint64((1 << acc_bits) - 1)
