"""Decoder-only transformer graphs (LLaMA, OPT, BitNet b1.58) for prefill and decode.

- ``prefill``: ``batch`` sequences of ``seq`` tokens, causal attention over themselves.
- ``decode``: one new token per sequence attending to ``kv_len`` positions (the cache plus
  itself), so K/V of ``kv_len`` tokens are read from the cache.

``logits='last'`` (default) computes the LM head only for the last position of each sequence,
as serving engines do; ``'all'`` computes it for every position, as training does.
"""

from __future__ import annotations

from typing import Literal

from hwsim.errors import HwsimError
from workloads.formats import Precision, get_precision
from workloads.graph import Graph
from workloads.models.configs import LlmConfig
from workloads.ops import Attention, Elementwise, Embedding, MatMul, Norm, Op

Phase = Literal["prefill", "decode"]
DEFAULT_SEQ = 2048
DEFAULT_KV_LEN = 2048


def build_llm(
    cfg: LlmConfig,
    *,
    phase: Phase = "prefill",
    seq: int | None = None,
    batch: int = 1,
    kv_len: int | None = None,
    precision: str | Precision | None = None,
    logits: Literal["last", "all"] = "last",
    blocks: int | None = None,
) -> Graph:
    """The whole model for one prefill pass or one decode step; ``blocks=N`` keeps only the
    first N transformer blocks (no embedding, final norm or LM head: one block of a model
    too large to simulate whole, as LLMCompass's per-layer measurements are)."""
    if logits not in ("last", "all"):
        raise HwsimError(f"logits must be 'last' or 'all', got {logits!r}")
    if blocks is not None and (isinstance(blocks, bool) or not isinstance(blocks, int)
                               or not 1 <= blocks <= cfg.layers):
        raise HwsimError(f"{cfg.name}: blocks must be an integer from 1 to {cfg.layers} (its "
                         f"transformer blocks), got {blocks!r}")
    q_len, total = positions(cfg.name, cfg.max_positions, phase, seq, kv_len, batch)
    p = get_precision(precision or cfg.default_precision)

    h, tok = cfg.hidden, (batch, q_len)
    ops: list[Op] = [Embedding(name="embed_tokens", tokens=batch * q_len, vocab=cfg.vocab,
                               dim=h)]
    if cfg.style == "opt":
        ops.append(Embedding(name="embed_positions", tokens=batch * q_len,
                             vocab=cfg.max_positions + cfg.pos_offset, dim=h))
        ops.append(Elementwise(name="embed_add", kind="add", shape=(*tok, h), num_inputs=2))
    concurrent: list[tuple[str, ...]] = []
    if blocks is not None:
        ops = []
    for i in range(cfg.layers if blocks is None else blocks):
        pre = f"layers.{i}"
        ops.extend(_block(cfg, pre, batch, q_len, total))
        # projections that read the same normalised input and feed different consumers
        concurrent.append(tuple(f"{pre}.attn.{p}_proj" for p in "qkv"))
        if cfg.style == "llama":
            concurrent.append((f"{pre}.mlp.gate_proj", f"{pre}.mlp.up_proj"))
    attrs = {"model": cfg.name, "phase": phase, "batch": batch,
             "seq" if phase == "prefill" else "kv_len": total, "source": cfg.source}
    name = cfg.name
    if blocks is None:
        ops.append(_norm(cfg, "final_norm", (*tok, h)))
        head_tok = (batch, 1) if logits == "last" else tok
        ops.append(MatMul.linear(
            "lm_head", head_tok, h, cfg.vocab, b_kind="hp",
            shares_weights_with="embed_tokens" if cfg.tied_embeddings else None,
        ))
    else:
        attrs["blocks"] = blocks
        name = f"{cfg.name} ({blocks} of {cfg.layers} blocks)"
    return Graph(name, tuple(ops), tuple(attrs.items()),
                 tuple(concurrent)).with_precision(p)


def _positive(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise HwsimError(f"{name} must be a positive integer, got {value!r}")


def positions(name: str, max_positions: int, phase: str, seq: int | None,
              kv_len: int | None, batch: int) -> tuple[int, int]:
    """(tokens processed, positions in context) of one prefill pass or one decode step of an
    LLM-style model, checked: the phase, positive sizes, the model's context length."""
    if phase not in ("prefill", "decode"):
        raise HwsimError(f"{name}: unknown phase {phase!r}; allowed: prefill, decode")
    _positive("batch", batch)
    if phase == "prefill":
        if kv_len is not None:
            raise HwsimError("--kv-len applies to the decode phase; prefill uses --seq")
        q_len = seq if seq is not None else DEFAULT_SEQ
        _positive("seq", q_len)
        total = q_len
    else:
        if seq is not None and seq != 1:
            raise HwsimError("decode processes one token per sequence; use --kv-len for the "
                             "context length")
        q_len = 1
        total = kv_len if kv_len is not None else DEFAULT_KV_LEN
        _positive("kv_len", total)
    if total > max_positions:
        raise HwsimError(f"{name}: {total} positions exceed its context of {max_positions}")
    return q_len, total



def _norm(cfg: LlmConfig, name: str, shape: tuple[int, ...]) -> Norm:
    kind = "rmsnorm" if cfg.style == "llama" else "layernorm"
    return Norm(name=name, kind=kind, shape=shape, bias=cfg.style == "opt")


def _block(cfg: LlmConfig, pre: str, batch: int, q_len: int, total: int) -> list[Op]:
    h, tok = cfg.hidden, (batch, q_len)
    bias = cfg.style == "opt"
    ops: list[Op] = [
        _norm(cfg, f"{pre}.attn_norm", (*tok, h)),
        MatMul.linear(f"{pre}.attn.q_proj", tok, h, h, bias=bias),
        MatMul.linear(f"{pre}.attn.k_proj", tok, h, cfg.kv_dim, bias=bias),
        MatMul.linear(f"{pre}.attn.v_proj", tok, h, cfg.kv_dim, bias=bias),
    ]
    if cfg.style == "llama":
        # rotary embedding of the new queries and keys
        ops.append(Elementwise(name=f"{pre}.attn.rope", kind="rope",
                               shape=(*tok, h + cfg.kv_dim)))
    ops += [
        Attention(name=f"{pre}.attn.sdpa", batch=batch, heads=cfg.heads, kv_heads=cfg.kv_heads,
                  q_len=q_len, kv_len=total, head_dim=cfg.head_dim, causal=True),
        MatMul.linear(f"{pre}.attn.o_proj", tok, h, h, bias=bias),
        Elementwise(name=f"{pre}.attn_residual", kind="add", shape=(*tok, h), num_inputs=2),
        _norm(cfg, f"{pre}.mlp_norm", (*tok, h)),
    ]
    inter = cfg.intermediate
    if cfg.style == "llama":
        ops += [
            MatMul.linear(f"{pre}.mlp.gate_proj", tok, h, inter),
            MatMul.linear(f"{pre}.mlp.up_proj", tok, h, inter),
            Elementwise(name=f"{pre}.mlp.swiglu", kind="swiglu", shape=(*tok, inter),
                        num_inputs=2),
            MatMul.linear(f"{pre}.mlp.down_proj", tok, inter, h),
        ]
    else:
        ops += [
            MatMul.linear(f"{pre}.mlp.fc1", tok, h, inter, bias=True),
            Elementwise(name=f"{pre}.mlp.{cfg.activation}", kind=cfg.activation,
                        shape=(*tok, inter)),
            MatMul.linear(f"{pre}.mlp.fc2", tok, inter, h, bias=True),
        ]
    ops.append(Elementwise(name=f"{pre}.mlp_residual", kind="add", shape=(*tok, h),
                           num_inputs=2))
    return ops
