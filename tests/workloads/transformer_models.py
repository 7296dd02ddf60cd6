"""Transformer code written the way users write it, for the importer tests (plain torch, no
weights downloaded), and the MACs each should cost, counted from the dimensions alone.

``LlamaBlock`` is one LLaMA-style decoder block: RMSNorm written by hand (attention) and
``nn.RMSNorm`` (MLP), rotate-half RoPE, grouped-query causal attention and a SwiGLU MLP. With
``gqa="sdpa"`` the key/value heads go to ``scaled_dot_product_attention(enable_gqa=True)``;
with ``gqa="repeat"`` they are repeated first (Hugging Face's ``repeat_kv``) and both norms
are written by hand: the form the TorchScript ONNX exporter converts (it has no ``rms_norm``
below opset 23 and no ``enable_gqa``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# a small configuration with every dimension distinct, so a swapped one changes the count
D_MODEL, HEADS, KV_HEADS, FFN, BATCH, SEQ, MEMORY = 64, 8, 2, 176, 2, 16, 12


class HandRMSNorm(nn.Module):
    def __init__(self, d: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps, self.weight = eps, nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


class LlamaBlock(nn.Module):
    def __init__(self, d: int = D_MODEL, heads: int = HEADS, kv_heads: int = KV_HEADS,
                 ffn: int = FFN, seq: int = SEQ, gqa: str = "sdpa") -> None:
        super().__init__()
        self.h, self.kv, self.hd, self.gqa = heads, kv_heads, d // heads, gqa
        self.attn_norm = HandRMSNorm(d)
        self.mlp_norm = nn.RMSNorm(d, eps=1e-6) if gqa == "sdpa" else HandRMSNorm(d)
        self.wq = nn.Linear(d, heads * self.hd, bias=False)
        self.wk = nn.Linear(d, kv_heads * self.hd, bias=False)
        self.wv = nn.Linear(d, kv_heads * self.hd, bias=False)
        self.wo = nn.Linear(d, d, bias=False)
        self.w1, self.w3 = nn.Linear(d, ffn, bias=False), nn.Linear(d, ffn, bias=False)
        self.w2 = nn.Linear(ffn, d, bias=False)
        inv = 1.0 / (10000 ** (torch.arange(0, self.hd, 2).float() / self.hd))
        freqs = torch.outer(torch.arange(seq).float(), inv)
        emb = torch.cat((freqs, freqs), -1)
        self.register_buffer("cos", emb.cos())
        self.register_buffer("sin", emb.sin())

    def forward(self, x):
        b, s, d = x.shape
        h = self.attn_norm(x)
        q = self.wq(h).view(b, s, self.h, self.hd).transpose(1, 2)
        k = self.wk(h).view(b, s, self.kv, self.hd).transpose(1, 2)
        v = self.wv(h).view(b, s, self.kv, self.hd).transpose(1, 2)
        q = q * self.cos + rotate_half(q) * self.sin
        k = k * self.cos + rotate_half(k) * self.sin
        if self.gqa == "sdpa":
            o = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        else:
            rep = self.h // self.kv
            k = k[:, :, None].expand(b, self.kv, rep, s, self.hd).reshape(b, self.h, s, self.hd)
            v = v[:, :, None].expand(b, self.kv, rep, s, self.hd).reshape(b, self.h, s, self.hd)
            o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.wo(o.transpose(1, 2).reshape(b, s, d))
        h = self.mlp_norm(x)
        return x + self.w2(F.silu(self.w1(h)) * self.w3(h))


class Decoder(nn.Module):
    """``nn.TransformerDecoder`` with a causal target mask (``tgt_is_causal``)."""

    def __init__(self, layers: int = 2) -> None:
        super().__init__()
        layer = nn.TransformerDecoderLayer(D_MODEL, 4, FFN, dropout=0.0, batch_first=True)
        self.dec = nn.TransformerDecoder(layer, layers)
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(SEQ))

    def forward(self, tgt, memory):
        return self.dec(tgt, memory, tgt_mask=self.mask, tgt_is_causal=True)


def encoder(layers: int = 2) -> nn.Module:
    layer = nn.TransformerEncoderLayer(D_MODEL, 4, FFN, dropout=0.0, batch_first=True)
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


# --- MACs from the dimensions -------------------------------------------------------------
def causal_pairs(n: int) -> int:
    """Query-key pairs a causal mask leaves: query i sees keys 0..i."""
    return sum(i + 1 for i in range(n))


def encoder_macs(layers: int = 2, d: int = D_MODEL, ffn: int = FFN, b: int = BATCH,
                 s: int = SEQ) -> int:
    tokens = b * s
    per_layer = tokens * (3 * d * d + d * d + 2 * d * ffn) + 2 * b * s * s * d
    return layers * per_layer


def decoder_macs(layers: int = 2, d: int = D_MODEL, ffn: int = FFN, b: int = BATCH,
                 s: int = SEQ, m: int = MEMORY) -> int:
    self_attn = b * s * 4 * d * d + 2 * b * causal_pairs(s) * d
    cross = b * s * 2 * d * d + b * m * 2 * d * d + 2 * b * s * m * d
    return layers * (self_attn + cross + b * s * 2 * d * ffn)


def llama_block_macs(d: int = D_MODEL, heads: int = HEADS, kv_heads: int = KV_HEADS,
                     ffn: int = FFN, b: int = BATCH, s: int = SEQ) -> int:
    hd = d // heads
    proj = d * heads * hd + 2 * d * kv_heads * hd + heads * hd * d + 3 * d * ffn
    return b * s * proj + 2 * b * heads * causal_pairs(s) * hd
