"""BFP KV cache with K-sort (Trukhanov & Soloveychik, arXiv 2403.20137) on LLaMA-like heads.

The tensors are synthetic (nothing is downloaded): hidden states from
:func:`hwsim.studies.tensors.llm_activations` (N(0, 1) with a few 20x outlier channels), and
projections W_q, W_k, W_v of N(0, 0.02^2) rows whose norms vary per channel: log-normal
(sigma 0.5) and, in W_k, a few channels per head 8x larger. That is the pattern the paper
sorts: LLaMA-2's keys have a few channels of large magnitude in every head. Two variants of
W_q: with the same channel gains as W_k (``matched_q``: queries large where keys are) or
with its own log-normal gains and no outlier channels. Errors are measured against float64
attention of the unquantised tensors:

- score error: ``||S_q - S|| / ||S||`` over every head, ``S = Q K^T / sqrt(head_dim)``;
- output error: ``||softmax(S_q) V_q - softmax(S) V|| / ||softmax(S) V||``.

K is stored in BFP12 or BFP16 with blocks along the head's channels (the dot-product axis),
Q in BFP16 (the paper's pairing), V in the same format as K, blocks along its channels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim.numerics import bits_per_element, quantize_blocks
from hwsim.numerics.kv_sort import ksort
from hwsim.studies.tensors import WEIGHT_STD, llm_activations

BLOCKS = (32, 64, 128)
K_FORMATS = ("bfp12", "bfp16")
OUTLIER_CHANNELS = 4  # per head
OUTLIER_GAIN = 8.0


@dataclass(frozen=True)
class Heads:
    x: np.ndarray  # (tokens, d_model)
    w_q: np.ndarray  # (heads * head_dim, d_model)
    w_k: np.ndarray
    w_v: np.ndarray
    heads: int
    queries: int  # the last `queries` tokens query all tokens (decode steps)


def llama_like_heads(tokens: int = 1024, d_model: int = 512, heads: int = 4,
                     head_dim: int = 128, queries: int = 64, matched_q: bool = True,
                     seed: int = 0) -> Heads:
    rng = np.random.default_rng(seed)
    x = llm_activations(tokens, d_model, seed=seed).astype(np.float64)
    gain = rng.lognormal(0.0, 0.5, size=(heads, head_dim))
    for h in range(heads):
        gain[h, rng.choice(head_dim, OUTLIER_CHANNELS, replace=False)] *= OUTLIER_GAIN
    gain = gain.reshape(-1, 1)
    q_gain = gain if matched_q else rng.lognormal(0.0, 0.5, size=gain.shape)

    def proj(g):
        return rng.standard_normal((heads * head_dim, d_model)) * WEIGHT_STD * g

    return Heads(x, proj(q_gain), proj(gain), proj(1.0), heads, queries)


def _split(t: np.ndarray, heads: int) -> np.ndarray:
    return t.reshape(t.shape[0], heads, -1).transpose(1, 0, 2)  # (heads, tokens, head_dim)


def _attention(q, k, v):
    s = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1])
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return s, p @ v


def _rel(a, b) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@dataclass(frozen=True)
class Row:
    k_format: str
    block: int
    ksort: bool
    k_bits_per_element: float
    k_sqnr_db: float
    k_channel_rel_error: float  # mean over channels of rms error / rms value
    score_rel_error: float
    output_rel_error: float


def run(h: Heads | None = None) -> list[Row]:
    h = h or llama_like_heads()
    q_all = _split(h.x @ h.w_q.T, h.heads)[:, -h.queries:]
    k, v = _split(h.x @ h.w_k.T, h.heads), _split(h.x @ h.w_v.T, h.heads)
    s_ref, o_ref = _attention(q_all, k, v)
    wq_s, wk_s, _ = ksort(h.w_q, h.w_k, h.heads)
    sorted_qk = (_split(h.x @ wq_s.T, h.heads)[:, -h.queries:], _split(h.x @ wk_s.T, h.heads))
    rows = []
    for fmt in K_FORMATS:
        for block in BLOCKS:
            kf, qf = f"{fmt}_b{block}", f"bfp16_b{block}"
            vq = quantize_blocks(v, kf, axis=-1)
            for sort, (qq, kk) in ((False, (q_all, k)), (True, sorted_qk)):
                kq = quantize_blocks(kk, kf, axis=-1)
                s, o = _attention(quantize_blocks(qq, qf, axis=-1), kq, vq)
                sqnr = 10 * np.log10(np.sum(kk**2) / np.sum((kq - kk) ** 2))
                chan = np.sqrt(np.mean((kq - kk) ** 2, axis=1) / np.mean(kk**2, axis=1))
                rows.append(Row(fmt, block, sort, bits_per_element(kf), float(sqnr),
                                float(chan.mean()), _rel(s, s_ref), _rel(o, o_ref)))
    return rows


@dataclass(frozen=True)
class KvBytes:
    kv_format: str
    bits_per_element: float
    kv_cache_bytes: float  # K and V read by one decode step, every layer (the workload's count)
    gpu_seconds: float
    gpu_hbm_bytes: float


def kv_cache_bytes(graph) -> float:
    """K and V bytes the attention ops of ``graph`` read (their ``w`` operand: the KV cache)."""
    from workloads import Attention

    return float(sum(t.bytes for o in graph.ops if isinstance(o, Attention)
                     for t in o.tensors() if not t.write and t.role == "w"))


def kv_bytes(device: str = "h100", model: str = "llama2-7b",
             kv_formats: tuple[str, ...] = ("fp16", "bfp16_b32", "bfp12_b32", "bfp12_b64"),
             ) -> list[KvBytes]:
    """One decode step in the GPU model, the KV cache in each format (weights/acts fp16)."""
    from costmodel.provider import get_provider
    from hwsim.devices import get_device
    from hwsim.devices import run as run_on
    from workloads import Precision, build_workload

    out = []
    for kv in kv_formats:
        p = Precision(f"fp16-kv-{kv}", "fp16", "fp16", "fp32", kv=kv)
        g = build_workload(model, phase="decode", precision=p)
        r = run_on(get_device(device), g, costs=get_provider("analytical"))
        out.append(KvBytes(kv, bits_per_element(kv), kv_cache_bytes(g), r.seconds,
                           float(sum(r.bytes_moved.values()))))
    return out
