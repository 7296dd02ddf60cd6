"""Published configurations of the built-in language models, each with its source.

Only architecture hyper-parameters live here; the graph builders derive everything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hwsim.errors import HwsimError


@dataclass(frozen=True)
class LlmConfig:
    """A decoder-only transformer. ``style`` selects the block layout:

    - ``llama``: pre-RMSNorm, rotary positions, SwiGLU MLP (gate/up/down), no biases.
    - ``opt``: pre-LayerNorm with shift, learned positions (``max_positions`` rows plus
      ``pos_offset``), biased projections, a two-layer MLP (fc1/fc2) with ``activation``
      (ReLU in OPT, GeLU in GPT-3).
    """

    name: str
    style: Literal["llama", "opt"]
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab: int
    max_positions: int
    tied_embeddings: bool
    source: str
    pos_offset: int = 0
    default_precision: str = "fp16"
    activation: Literal["relu", "gelu"] = "relu"

    def __post_init__(self) -> None:
        if self.hidden % self.heads or self.heads % self.kv_heads:
            raise HwsimError(f"{self.name}: heads must divide hidden and kv_heads must divide "
                             "heads")
        if self.activation not in ("relu", "gelu"):
            raise HwsimError(f"{self.name}: activation must be relu or gelu, got "
                             f"{self.activation!r}")

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * self.head_dim


LLM_CONFIGS: dict[str, LlmConfig] = {
    c.name: c
    for c in (
        LlmConfig(
            "llama2-7b", "llama", hidden=4096, layers=32, heads=32, kv_heads=32,
            intermediate=11008, vocab=32000, max_positions=4096, tied_embeddings=False,
            source="Touvron et al. 2023, Llama 2 (arXiv:2307.09288), Table 1; "
                   "meta-llama/Llama-2-7b-hf config.json",
        ),
        LlmConfig(
            "llama2-13b", "llama", hidden=5120, layers=40, heads=40, kv_heads=40,
            intermediate=13824, vocab=32000, max_positions=4096, tied_embeddings=False,
            source="Touvron et al. 2023, Llama 2 (arXiv:2307.09288); "
                   "meta-llama/Llama-2-13b-hf config.json",
        ),
        LlmConfig(
            "llama3-8b", "llama", hidden=4096, layers=32, heads=32, kv_heads=8,
            intermediate=14336, vocab=128256, max_positions=8192, tied_embeddings=False,
            source="Meta Llama 3 model card and meta-llama/Meta-Llama-3-8B config.json "
                   "(GQA with 8 KV heads)",
        ),
        LlmConfig(
            "opt-6.7b", "opt", hidden=4096, layers=32, heads=32, kv_heads=32,
            intermediate=16384, vocab=50272, max_positions=2048, pos_offset=2,
            tied_embeddings=True,
            source="Zhang et al. 2022, OPT (arXiv:2205.01068), Table 1; facebook/opt-6.7b "
                   "config.json (learned positions with an offset of 2, tied LM head)",
        ),
        LlmConfig(
            "bitnet-b1.58-3b", "llama", hidden=3200, layers=26, heads=32, kv_heads=32,
            intermediate=8640, vocab=32002, max_positions=2048, tied_embeddings=False,
            default_precision="w1.58a8",
            source="Ma et al. 2024, The Era of 1-bit LLMs (arXiv:2402.17764), 3B model; "
                   "1bitLLM/bitnet_b1_58-3B config.json (LLaMA layout, 3200 hidden, 26 "
                   "layers, 8640 FFN)",
        ),
        LlmConfig(
            "gpt3-175b", "opt", hidden=12288, layers=96, heads=96, kv_heads=96,
            intermediate=49152, vocab=50257, max_positions=2048, tied_embeddings=True,
            activation="gelu",
            source="Brown et al. 2020, Language Models are Few-Shot Learners (arXiv:2005.14165), "
                   "Table 2.1: 96 layers, d_model 12288, 96 heads of 128, d_ff = 4 d_model, "
                   "context 2048; GPT-2's layout (pre-LayerNorm, learned positions, GeLU, "
                   "tied 50257-token embedding). Modelled with dense attention in every layer "
                   "(the paper alternates dense and locally banded sparse layers), as "
                   "LLMCompass models it",
        ),
        LlmConfig(
            "llama2-70b", "llama", hidden=8192, layers=80, heads=64, kv_heads=8,
            intermediate=28672, vocab=32000, max_positions=4096, tied_embeddings=False,
            source="Touvron et al. 2023, Llama 2 (arXiv:2307.09288), Table 1 (GQA for 70B); "
                   "meta-llama/Llama-2-70b-hf config.json (8 KV heads, 28672 FFN)",
        ),
    )
}
