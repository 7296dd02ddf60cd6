"""The built-in workloads by name, and one function that builds any of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hwsim.errors import HwsimError
from workloads.formats import Precision
from workloads.graph import Graph
from workloads.models import vision
from workloads.models.configs import LLM_CONFIGS
from workloads.models.llm import build_llm
from workloads.models.matmulfree import MMFREE_CONFIGS, build_matmulfree
from workloads.models.training import training_graph


@dataclass(frozen=True)
class WorkloadInfo:
    name: str
    family: str
    description: str
    phases: tuple[str, ...]

    @property
    def default_phase(self) -> str:
        return self.phases[0]


_LLM_DESC = {
    "llama2-7b": "LLaMA-2 7B (MHA, SwiGLU)",
    "llama2-13b": "LLaMA-2 13B (MHA, SwiGLU)",
    "llama3-8b": "LLaMA-3 8B (GQA 32/8 heads, 128k vocab)",
    "opt-6.7b": "OPT 6.7B (LayerNorm, ReLU MLP, tied LM head)",
    "bitnet-b1.58-3b": "BitNet b1.58 3B (ternary weights; default precision w1.58a8)",
    "gpt3-175b": "GPT-3 175B (96 layers, d_model 12288, GeLU MLP, tied head)",
    "llama2-70b": "LLaMA-2 70B (GQA 64/8 heads, SwiGLU)",
}
_VISION: dict[str, tuple[str, str, Callable[..., Graph], tuple[str, ...]]] = {
    "resnet8": ("tinyml", "ResNet-8, MLPerf Tiny image classification (CIFAR-10 32x32)",
                vision.build_resnet8, ("inference", "train")),
    "ds-cnn": ("tinyml", "DS-CNN, MLPerf Tiny keyword spotting (49x10 MFCC)",
               vision.build_ds_cnn, ("inference", "train")),
    "resnet18": ("vision", "ResNet-18 (224x224)", lambda **kw: vision.build_resnet(18, **kw),
                 ("inference",)),
    "resnet50": ("vision", "ResNet-50 v1.5 (224x224)",
                 lambda **kw: vision.build_resnet(50, **kw), ("inference",)),
    "mobilenetv2": ("vision", "MobileNetV2 1.0 (224x224)", vision.build_mobilenetv2,
                    ("inference",)),
    "vit-b16": ("vision", "ViT-B/16 (224x224)", vision.build_vit_b16, ("inference",)),
}

BUILTINS: dict[str, WorkloadInfo] = {
    **{n: WorkloadInfo(n, "llm", d, ("prefill", "decode")) for n, d in _LLM_DESC.items()},
    **{n: WorkloadInfo(n, fam, d, ph) for n, (fam, d, _, ph) in _VISION.items()},
    "matmulfree-2.7b": WorkloadInfo(
        "matmulfree-2.7b", "llm", "MatMul-free LM 2.7B (ternary BitLinear, MLGRU token mixer, "
        "GLU; default precision w1.58a8)", ("prefill", "decode")),
}


def list_workloads() -> list[WorkloadInfo]:
    return list(BUILTINS.values())


def get_info(name: str) -> WorkloadInfo:
    key = str(name).strip().lower()
    if key not in BUILTINS:
        raise HwsimError(f"unknown workload {name!r}; known: {', '.join(BUILTINS)}")
    return BUILTINS[key]


def build_workload(
    name: str,
    *,
    phase: str | None = None,
    seq: int | None = None,
    batch: int = 1,
    kv_len: int | None = None,
    precision: str | Precision | None = None,
    optimizer: str = "sgd",
    blocks: int | None = None,
) -> Graph:
    """Build a built-in workload. LLMs take ``phase`` prefill/decode with ``seq`` (prefill)
    or ``kv_len`` (decode), and ``blocks`` (the first N transformer blocks only); vision
    models take ``batch`` and, for the MLPerf Tiny models, ``phase='train'`` (forward +
    backward + ``optimizer`` step)."""
    info = get_info(name)
    phase = phase or info.default_phase
    if phase not in info.phases:
        raise HwsimError(f"workload {info.name!r} has no phase {phase!r}; allowed: "
                         f"{', '.join(info.phases)}")
    if blocks is not None and info.name not in LLM_CONFIGS:
        raise HwsimError(f"--blocks applies to the transformer LLMs ({', '.join(LLM_CONFIGS)}), "
                         f"not to {info.name!r}")
    if info.name in MMFREE_CONFIGS:
        return build_matmulfree(MMFREE_CONFIGS[info.name], phase=phase, seq=seq, batch=batch,
                                kv_len=kv_len, precision=precision)
    if info.family == "llm":
        return build_llm(LLM_CONFIGS[info.name], phase=phase, seq=seq,  # type: ignore[arg-type]
                         batch=batch, kv_len=kv_len, precision=precision, blocks=blocks)
    if seq is not None or kv_len is not None:
        raise HwsimError(f"--seq and --kv-len apply to language models, not {info.name!r}")
    build = _VISION[info.name][2]
    if phase == "train":
        return training_graph(build(batch=batch), optimizer=optimizer,
                              precision=precision or "fp32")
    return build(batch=batch, precision=precision)
