"""K-sort: reorder the key channels so block formats see channels of like magnitude together.

Trukhanov & Soloveychik, "Accurate Block Quantization in LLMs with Outliers" (d-Matrix,
arXiv 2403.20137): within each attention head, the rows of W_k (one per key channel) are sorted
by their norm and the rows of W_q are permuted the same way. A score ``q . k`` sums over the
channels of one head, so permuting both sides alike leaves it unchanged (exactly, in exact
arithmetic; float sums change only by summation order). The permutation is fixed at compile
time from the weights, so it costs nothing at run time. Channels with large norms (LLaMA's
outlier channels) then share BFP blocks with each other, not with small ones, and the shared
exponent of the other blocks no longer wipes out their small mantissas.

With RoPE the channels ``i`` and ``i + head_dim/2`` of a head (the HF LLaMA layout) are rotated
together; ``rope=True`` sorts those pairs as units (by the norm of both rows) and keeps each
pair's two channels ``head_dim/2`` apart, so the rotation commutes with the permutation.
"""

from __future__ import annotations

import numpy as np

from hwsim.errors import HwsimError


def ksort_permutation(w_k, heads: int, rope: bool = False) -> np.ndarray:
    """The channel order (indices into the rows of ``w_k``) that K-sort applies.

    ``w_k``: (heads * head_dim, d_model), rows are key channels, head after head. Within each
    head the rows are ordered by ascending L2 norm (stable: ties keep their order).
    """
    w = np.asarray(w_k, dtype=np.float64)
    if w.ndim != 2:
        raise HwsimError(f"W_k must be a 2-D (channels, d_model) matrix, got shape {w.shape}")
    if heads < 1 or w.shape[0] % heads:
        raise HwsimError(f"heads={heads} must divide the {w.shape[0]} rows of W_k")
    hd = w.shape[0] // heads
    if rope and hd % 2:
        raise HwsimError(f"RoPE pairs channels i and i + head_dim/2: head_dim {hd} must be even")
    norms = np.linalg.norm(w, axis=1).reshape(heads, hd)
    perm = []
    for h in range(heads):
        base = h * hd
        if rope:
            half = hd // 2
            order = np.argsort(np.hypot(norms[h, :half], norms[h, half:]), kind="stable")
            perm.append(base + np.concatenate([order, order + half]))
        else:
            perm.append(base + np.argsort(norms[h], kind="stable"))
    return np.concatenate(perm)


def ksort(w_q, w_k, heads: int, kv_heads: int | None = None, rope: bool = False):
    """``(w_q', w_k', perm)``: both projections with their channels permuted by K-sort.

    With grouped-query attention (``kv_heads < heads``) each key head's order is applied to
    every query head that reads it.
    """
    wq, wk = np.asarray(w_q), np.asarray(w_k)
    kvh = heads if kv_heads is None else kv_heads
    if kvh < 1 or heads % kvh:
        raise HwsimError(f"kv_heads={kvh} must divide heads={heads}")
    perm_k = ksort_permutation(wk, kvh, rope)
    hd = wk.shape[0] // kvh
    if wq.ndim != 2 or wq.shape != (heads * hd, wk.shape[1]):
        raise HwsimError(f"W_q must be ({heads * hd}, {wk.shape[1]}) for {heads} heads of "
                         f"{hd} channels, got shape {wq.shape}")
    group = heads // kvh
    local = perm_k.reshape(kvh, hd) - (np.arange(kvh) * hd)[:, None]
    perm_q = np.concatenate([h * hd + local[h // group] for h in range(heads)])
    return wq[perm_q], wk[perm_k], perm_k
