"""Quantisation error of each number format on LLM-like weights and activations.

Element formats (FP8/FP6/FP4, integers, bf16/fp16) are applied with one per-tensor scale,
``amax / max_normal(format)``, the usual practice for FP8 and INT8 inference; block formats
(MX, NVFP4, BFP) bring their own per-block scales. The tensors are described in
:mod:`hwsim.studies.tensors`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim.numerics import (
    BlockFormat,
    bits_per_element,
    quantize,
    quantize_blocks,
    resolve,
    sqnr_db,
)
from hwsim.studies.tensors import llm_activations, llm_weights

DEFAULT_FORMATS = (
    "bf16", "fp16", "fp8_e4m3fn", "fp8_e5m2", "fp6_e3m2fn", "fp6_e2m3fn", "fp4_e2m1fn", "int8",
    "int4", "mxfp8_e4m3", "mxfp6_e2m3", "mxfp4", "mxint8", "nvfp4", "bfp_b16_m7",
)


@dataclass(frozen=True)
class FormatError:
    fmt: str
    bits_per_element: float
    sqnr_weights_db: float
    sqnr_activations_db: float


def quantize_tensor(x: np.ndarray, fmt: str) -> np.ndarray:
    """Quantise with a per-tensor absmax scale (element formats) or per-block scales."""
    f = resolve(fmt)
    if isinstance(f, BlockFormat):
        return quantize_blocks(x, f, axis=-1)
    amax = float(np.max(np.abs(x)))
    if amax == 0:
        return np.zeros_like(x)
    scale = amax / f.max_normal
    return quantize(x / scale, f) * scale


def run(formats: tuple[str, ...] = DEFAULT_FORMATS, seed: int = 0) -> list[FormatError]:
    w = llm_weights(seed=seed)
    a = llm_activations(seed=seed + 1)
    return [
        FormatError(
            f, bits_per_element(f), sqnr_db(w, quantize_tensor(w, f)),
            sqnr_db(a, quantize_tensor(a, f)),
        )
        for f in formats
    ]
