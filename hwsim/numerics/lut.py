"""Golden model of the LUT tensor core (Mo et al., "LUT Tensor Core", arXiv 2408.06003).

A low-bit weight times higher-precision activation GEMM done with table lookups instead of
multipliers. Weights are processed bit-serially: weight code ``q`` (``B`` bits, ``q_b`` its bit
``b``) stands for the odd integer

    w = sum_b 2^b * s_b,   s_b = 2 * q_b - 1 in {-1, +1},   i.e. w = 2q - (2^B - 1),

so a bit-plane of ``K`` weights is a sign vector and its dot product with ``K`` activations is
one of ``2^K`` signed sums. An unsigned B-bit weight with a zero point is recovered offline:
``a . q = (a . w + (2^B - 1) * sum(a)) / 2`` (the paper's weight reinterpretation).

**Table (precompute).** For activations ``a_0 .. a_{K-1}`` the table holds the ``2^(K-1)``
sums with ``a_0`` positive (table symmetrisation: the other half are their negations)::

    T[i] = a_0 + sum_{k=1}^{K-1} (+a_k if bit k-1 of i else -a_k)

int8: exact, in ``8 + ceil(log2 K)`` bits. fp16: **our rule** (the authors' RTL takes the
table as an input and contains no precompute; the paper fuses it into the previous operator)
is left to right, ``((a_0 +- a_1) +- a_2) +- ...``, each addition IEEE binary16
round-to-nearest-even with gradual underflow (subnormals kept), overflow to +-Inf, Inf - Inf
and NaN inputs giving NaN, an exact zero sum +0 (unless both operands are -0). Entries sharing
a prefix share its rounded partial sum, so the unit builds the table as a prefix tree of
``2 + 4 + ... + 2^(K-1)`` adders.

**Lookup (mpGEMM).** Per weight column and bit-plane the ``K`` plane bits ``x`` select
``T[x >> 1]`` when ``x_0 = 1`` and ``-T[~x >> 1]`` when ``x_0 = 0`` (negation flips the sign
bit; the inverted index is ``K - 1`` XOR gates per column). The authors' RTL
(``Hamerlate/lut_tensor_core``, ``sv_lut_array/rtl/fp_lut_array_b_cycle_stage1.sv``) leaves
that XOR out (commented out there) and negates when ``x_0 = 1``: its weights are stored
already reinterpreted offline. The term is scaled by ``2^b`` for plane ``b`` and added to the
accumulator, planes LSB first, K-groups in order:

- int8 activations: two's complement, exact, wrapping modulo ``2^acc_bits``;
- fp16 activations: ``acc = RN_acc(acc + RN_acc(+-T * 2^b))``: the scaled term in the
  accumulator format (exact in fp32; fp16 overflows to +-Inf past 65504), then one IEEE RNE
  addition. The authors' RTL accumulates in fp16 with ``DW_fp_add`` (``rnd=000``: RNE) at
  ``IEEE_COMPLIANCE = 0`` (DesignWare: subnormals flushed to zero, NaN treated as Inf) and
  scales by adding ``b`` to the exponent field (wrong for zero and subnormal entries, no
  overflow check; its ``stage2`` variant also shifts the whole code left by the plane). It
  adds an external partial sum ``c_tile_psum`` on plane 0, where ours starts from 0 on
  ``clr`` and keeps accumulating over K-groups in place. Our unit keeps IEEE semantics
  throughout, so fp16 results agree with numpy ``float16`` arithmetic. ``fp32``
  accumulation is offered beside the paper's fp16.

Ternary (1.58-bit) weights: the authors' RTL has no ternary path (2-bit bit-serial weights);
ternary weights run as W2 here as there.
"""

from __future__ import annotations

import numpy as np

from hwsim.errors import HwsimError
from hwsim.numerics.arith import add
from hwsim.numerics.formats import get_format
from hwsim.numerics.quantize import quantize

#: activation formats with a LUT path, and the accumulators each can use
LUT_ACT_FORMATS = ("int8", "fp16")
LUT_FLOAT_ACCUMULATORS = ("fp16", "fp32")
LUT_K_MIN, LUT_K_MAX = 2, 6
LUT_WEIGHT_BITS = (1, 2, 3, 4)
INT_ACC_MAX = 32


def check_k(k) -> int:
    if not isinstance(k, int | np.integer) or not LUT_K_MIN <= k <= LUT_K_MAX:
        raise HwsimError(f"LUT group size K must be an integer {LUT_K_MIN}..{LUT_K_MAX} "
                         f"(the paper uses 4), got {k!r}")
    return int(k)


def check_act_format(act_format: str) -> str:
    name = get_format(act_format).name if isinstance(act_format, str) else None
    if name not in LUT_ACT_FORMATS:
        raise HwsimError(f"activation format {act_format!r} has no LUT path; use one of "
                         f"{', '.join(LUT_ACT_FORMATS)}")
    return name


def check_weight_bits(bits) -> int:
    if not isinstance(bits, int | np.integer) or int(bits) not in LUT_WEIGHT_BITS:
        raise HwsimError(f"LUT weight bits must be 1..4 (ternary weights run as 2), "
                         f"got {bits!r}")
    return int(bits)


def table_bits(k: int, act_format: str) -> int:
    """Width of one table entry: int8 sums of K terms grow by ceil(log2 K) bits."""
    act = check_act_format(act_format)
    return 16 if act == "fp16" else 8 + int(np.ceil(np.log2(check_k(k))))


def term_bits(k: int, act_format: str, weight_bits: int) -> int:
    """Width of the largest shifted integer term ``T * 2^(B-1)``."""
    return table_bits(k, act_format) + check_weight_bits(weight_bits) - 1


def check_acc(acc: str | None, k: int, act_format: str, weight_bits: int) -> str:
    """The accumulator format name (defaults: int32 for int8, the paper's fp16 for fp16)."""
    act = check_act_format(act_format)
    if isinstance(acc, int | np.integer) and not isinstance(acc, bool):  # a width: int<acc>
        acc = f"int{int(acc)}"
    if act == "fp16":
        acc = acc or "fp16"
        if acc not in LUT_FLOAT_ACCUMULATORS:
            raise HwsimError(f"fp16 LUT accumulator must be one of "
                             f"{', '.join(LUT_FLOAT_ACCUMULATORS)}, got {acc!r}")
        return acc
    lo = term_bits(k, act, weight_bits)
    acc = acc or "int32"
    width = acc.removeprefix("int") if isinstance(acc, str) else ""
    if not width.isdigit() or not lo <= int(width) <= INT_ACC_MAX:
        raise HwsimError(f"int8 LUT accumulator must be int{lo}..int{INT_ACC_MAX} for K={k}, "
                         f"W{weight_bits}, got {acc!r}")
    return f"int{int(width)}"


def _signs(k: int) -> np.ndarray:
    """(2^(K-1), K-1) signs of a_1..a_{K-1} for each table index."""
    idx = np.arange(1 << (k - 1))[:, None]
    return np.where((idx >> np.arange(k - 1)) & 1, 1, -1)


def lut_table(acts, act_format: str) -> np.ndarray:
    """The table of each group: ``acts`` (..., K) values -> (..., 2^(K-1)) entries.

    int8: exact int64 sums. fp16: float64 holding fp16 values, rounded after each addition in
    the order the module docstring gives (:func:`hwsim.numerics.add` on fp16).
    """
    act = check_act_format(act_format)
    a = np.asarray(acts)
    k = check_k(a.shape[-1])
    signs = _signs(k)
    if act == "int8":
        ai = a.astype(np.int64)
        if ai.size and (ai.min() < -128 or ai.max() > 127):
            raise HwsimError("int8 activations must lie in -128..127")
        return ai[..., :1] + np.einsum("...k,ik->...i", ai[..., 1:], signs)
    af = quantize(np.asarray(a, np.float64), "fp16").astype(np.float64)
    total = np.broadcast_to(af[..., :1], (*af.shape[:-1], 1 << (k - 1))).copy()
    for j in range(1, k):
        total = add(total, af[..., j:j + 1] * signs[:, j - 1], "fp16")
    return total


def lut_weight_values(codes, weight_bits: int) -> np.ndarray:
    """The odd integers ``2q - (2^B - 1)`` that B-bit weight codes stand for."""
    b = check_weight_bits(weight_bits)
    q = np.asarray(codes).astype(np.int64)
    if q.size and (q.min() < 0 or q.max() >= 1 << b):
        raise HwsimError(f"W{b} weight codes must lie in 0..{(1 << b) - 1}")
    return 2 * q - ((1 << b) - 1)


def lut_lookup(table: np.ndarray, plane_bits: np.ndarray) -> np.ndarray:
    """``sum_k s_k a_k`` read from ``table`` (..., 2^(K-1)) for K-bit plane patterns.

    ``plane_bits`` (...) holds bit ``k`` = the plane bit of weight ``k``; the result is
    ``T[x >> 1]`` for ``x_0 = 1`` and ``-T[~x >> 1]`` otherwise (broadcast over ``...``).
    """
    x = np.asarray(plane_bits, dtype=np.int64)
    table = np.asarray(table)
    shape = np.broadcast_shapes(table.shape[:-1], x.shape)
    x = np.broadcast_to(x, shape)
    half = table.shape[-1]
    idx = np.where(x & 1, x >> 1, (~x >> 1) & (half - 1))
    full = np.broadcast_to(table, (*shape, half))
    entry = np.take_along_axis(full, idx[..., None], axis=-1)[..., 0]
    return np.where(x & 1, entry, -entry)


def _wrap(v: np.ndarray, bits: int) -> np.ndarray:
    m = np.int64(1) << np.int64(bits)
    v = v & (m - 1)
    return np.where(v >= m >> 1, v - m, v)


def lut_mpgemm(a, w, weight_bits: int, act_format: str, acc: str | None = None, *,
               k: int = 4) -> np.ndarray:
    """``A @ W`` through tables: ``a`` (M, Kt) activation values, ``w`` (Kt, N) weight codes.

    ``Kt`` must be a multiple of ``k``. Planes LSB first within each K-group, groups in order
    (module docstring); int8 gives int64 wrapped to the accumulator width, fp16 float64 holding
    values of the accumulator format.
    """
    act = check_act_format(act_format)
    b = check_weight_bits(weight_bits)
    k = check_k(k)
    acc = check_acc(acc, k, act, b)
    a = np.asarray(a)
    q = np.asarray(w).astype(np.int64)
    lut_weight_values(q, b)  # range check
    if a.ndim != 2 or q.ndim != 2 or a.shape[1] != q.shape[0] or a.shape[1] % k:
        raise HwsimError(f"lut_mpgemm needs A (M, Kt) and W (Kt, N) with Kt a multiple of "
                         f"K={k}, got {a.shape} and {q.shape}")
    m, kt = a.shape
    n = q.shape[1]
    tables = lut_table(a.reshape(m, kt // k, k), act)  # (M, G, 2^(K-1))
    weights = np.arange(k)
    out = np.zeros((m, n), dtype=np.int64 if act == "int8" else np.float64)
    for g in range(kt // k):
        for p in range(b):
            bits = (q[g * k:(g + 1) * k, :] >> p) & 1  # (K, N)
            x = (bits << weights[:, None]).sum(axis=0)  # (N,)
            term = lut_lookup(tables[:, g, None, :], x[None, :])  # (M, N)
            if act == "int8":
                out = _wrap(out + (term << p), int(acc[3:]))
            else:
                with np.errstate(over="ignore", invalid="ignore"):
                    scaled = quantize(term * 2.0**p, acc).astype(np.float64)
                out = add(out, scaled, acc)
    return out
