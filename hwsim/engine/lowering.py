"""Lowering: an op of the IR as a device sees it: GEMMs in order, vector work, traffic.

Shared by every device model. What differs between devices enters as explicit arguments of
:func:`lower_op`, never by the lowering knowing a device:

- ``device``: the name error messages use;
- ``causal_block``: what causal attention costs. ``None`` (a static schedule, e.g. a
  systolic array, or SCALE-Sim, which has no mask) runs the full ``QK^T`` and ``PV`` GEMMs
  and discards the masked scores: the masked-out MACs are executed and reported as such
  (:attr:`Lowered.masked_macs`). An integer ``b`` skips fully masked key blocks at a
  granularity of ``b`` queries (a FlashAttention-style kernel): query block ``i`` attends
  only to the keys up to its last query, so the MACs approach the unmasked count as ``b``
  shrinks.

The vector work of an attention (the ``1/sqrt(d)`` scale and the softmax) covers every score
the GEMMs produce, masked ones included (:attr:`workloads.Attention.score_flops` a score).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hwsim.errors import HwsimError


@dataclass(frozen=True)
class Gemm:
    """``repeat`` independent GEMMs of ``M x K`` times ``K x N`` (batch, heads or groups)."""

    m: int
    k: int
    n: int
    repeat: int = 1

    def __post_init__(self) -> None:
        for f in ("m", "k", "n", "repeat"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise HwsimError(f"GEMM field {f!r} must be a positive integer, got {v!r}")

    @property
    def macs(self) -> int:
        return self.repeat * self.m * self.k * self.n


def check_cycles(cycles: int, what: str) -> int:
    """``cycles`` if it is a non-negative integer; an internal error (a model bug) otherwise.

    Every delay handed to SimPy goes through here, so a wrong cost surfaces where it is made,
    not as SimPy's ``Negative delay`` far away.
    """
    if isinstance(cycles, bool) or not isinstance(cycles, int) or cycles < 0:
        raise AssertionError(f"internal error: {what} is {cycles!r} cycles; a duration must be "
                             "a non-negative integer (please report this)")
    return cycles


@dataclass(frozen=True)
class Lowered:
    """An op as a device sees it: GEMMs in order, and work for the vector unit.

    ``masked_macs`` counts the MACs of the GEMMs whose results a causal mask discards
    (included in the GEMMs' MACs; 0 when nothing is masked or masked blocks are skipped).
    """

    gemms: tuple[Gemm, ...] = ()
    vector_flops: int = 0
    vector_bytes: float = 0.0
    word_bits: int = 8
    out_bits: int = 8
    detail: str = ""
    masked_macs: int = 0

    def __post_init__(self) -> None:
        if self.vector_flops < 0 or self.vector_bytes < 0 or self.masked_macs < 0:
            raise AssertionError(f"internal error: negative work in the lowering ({self!r})")

    @property
    def macs(self) -> int:
        return sum(g.macs for g in self.gemms)


def format_bits(fmt: str | None) -> int:
    """Whole bits of one element of ``fmt`` (8 when the op has no format)."""
    from workloads import format_bits as bits

    return max(1, math.ceil(bits(fmt))) if fmt else 8


def _attention(op: Any, causal_block: int | None, wb: int, ob: int) -> Lowered:
    rep = op.batch * op.heads
    d, q, kv = op.head_dim, op.q_len, op.kv_len
    if op.causal and causal_block is not None and q > 1:
        # query block i (rows i*b .. i*b+len-1) sees the kv - q past keys and its own prefix
        gemms: list[Gemm] = []
        blocks = []
        for start in range(0, q, causal_block):
            rows = min(causal_block, q - start)
            keys = kv - q + start + rows
            gemms += [Gemm(rows, d, keys, rep), Gemm(rows, keys, d, rep)]
            blocks.append(rows * keys)
        scores = rep * sum(blocks)
        masked = sum(g.macs for g in gemms) - op.macs
        note = (f"causal: {len(blocks)} query blocks of {causal_block}, fully masked key "
                f"blocks skipped")
    else:
        gemms = [Gemm(q, d, kv, rep), Gemm(q, kv, d, rep)]
        scores = rep * q * kv
        masked = sum(g.macs for g in gemms) - op.macs
        note = ("causal: full QK^T and PV computed, masked scores discarded "
                f"({masked / (2 * rep * q * kv * d):.0%} of the MACs)" if op.causal else
                "no mask")
    qk, pv = gemms[0], gemms[1]
    return Lowered(tuple(gemms), vector_flops=scores * op.score_flops, word_bits=wb,
                   out_bits=ob, masked_macs=masked,
                   detail=f"{rep}x (QK^T {qk.m}x{qk.k}x{qk.n} + PV {pv.m}x{pv.k}x{pv.n}"
                          f"{', ...' if len(gemms) > 2 else ''}); scale+softmax on the "
                          f"vector unit; {note}")


def lower_op(op: Any, *, device: str, causal_block: int | None = None) -> Lowered:
    """How a device with the given choices runs ``op`` (a :class:`workloads.Op`).

    Training ops (backward, weight update) are refused: no device lowered here runs them yet.
    """
    from workloads import Attention, Backward, Conv2d, MatMul, View, WeightUpdate

    if causal_block is not None and (isinstance(causal_block, bool) or causal_block < 1):
        raise HwsimError(f"causal_block must be a positive number of queries or None, got "
                         f"{causal_block!r}")
    fmt = op.fmt
    wb = max(format_bits(fmt.x), format_bits(fmt.w)) if fmt is not None else 8
    ob = format_bits(fmt.y) if fmt is not None else 8
    if isinstance(op, Backward | WeightUpdate):
        raise HwsimError(f"{op.where}: the {device} device runs inference only; training ops "
                         "(backward, weight update) are not supported")
    if isinstance(op, MatMul):
        rep = math.prod(op.batch)
        return Lowered((Gemm(op.m, op.k, op.n, rep),), word_bits=wb, out_bits=ob,
                       detail=f"{rep}x GEMM {op.m}x{op.k}x{op.n}" if rep > 1 else
                       f"GEMM {op.m}x{op.k}x{op.n}")
    if isinstance(op, Conv2d):
        n, c, _, _ = op.x_shape
        _, cout, ho, wo = op.out_shape
        kh, kw = op.kernel
        g = op.groups
        gm = Gemm(n * ho * wo, kh * kw * (c // g), cout // g, g)
        return Lowered((gm,), word_bits=wb, out_bits=ob,
                       detail=f"{f'{g}x ' if g > 1 else ''}GEMM {gm.m}x{gm.k}x{gm.n} (im2col)")
    if isinstance(op, Attention):
        return _attention(op, causal_block, wb, ob)
    if isinstance(op, View):
        return Lowered(detail="view: no data movement")
    return Lowered(vector_flops=op.flops, vector_bytes=op.bytes_read + op.bytes_written,
                   word_bits=wb, out_bits=ob, detail="vector unit (array cannot run it)")


__all__ = ["Gemm", "Lowered", "check_cycles", "format_bits", "lower_op"]
