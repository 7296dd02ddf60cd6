"""Quantisation error of OliVe's outlier-victim pairs beside plain integers and MX/BFP blocks.

Tensors (synthetic, :mod:`hwsim.studies.tensors`): LLM-like weights (N(0, 0.02^2)), activations
with 20x outlier channels (LLM.int8()'s emergent features), and a heavy-tailed tensor
(Student-t with 2 degrees of freedom, every value independent: outliers scattered, the case
OVP is built for). Each tensor is flattened in memory order and pairs are neighbours along
the last axis, as in the authors' code.

Scales (one per tensor for the element formats, as the authors' activation quantiser does):

- ``int4``/``int8``: absmax, the plain baseline;
- ``int4_clip``/``int8_clip``: the clipping value searched for the smallest MSE over the
  authors' grid (75 %..149 % of the 3-sigma value): int with OliVe's scale search but no
  outlier codes, so the gain of the OVP codes shows apart from the gain of clipping;
- ``olive4``/``olive8``: the authors' rule (:func:`hwsim.numerics.olive.olive_scale`);
- block formats (``mxfp4``, ``bfp_b32_m3`` = BFP12/"MXINT4", ``mxint8``, ``mxfp8_e4m3``)
  bring their own per-32-element scales (+0.25 bit per element).

Metrics: SQNR (dB) and the largest absolute error relative to the tensor's largest magnitude.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim.numerics import bits_per_element, quantize, quantize_blocks, resolve, sqnr_db
from hwsim.numerics.blocks import BlockFormat
from hwsim.numerics.olive import OliveFormat, olive_quantize, olive_scale
from hwsim.studies.tensors import llm_activations, llm_weights

FORMATS = ("int4", "int4_clip", "olive4", "mxfp4", "bfp_b32_m3",
           "int8", "int8_clip", "olive8", "mxint8", "mxfp8_e4m3")


def heavy_tailed(rows: int = 256, cols: int = 1024, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_t(2, size=(rows, cols)).astype(np.float32)


def tensors(seed: int = 0) -> dict[str, np.ndarray]:
    return {"weights": llm_weights(seed=seed), "activations": llm_activations(seed=seed + 1),
            "student_t2": heavy_tailed(seed=seed + 2)}


def _int_clip(x: np.ndarray, fmt: str) -> np.ndarray:
    """Integer grid with the clipping value the authors' MSE search picks (no outlier codes)."""
    f = resolve(fmt)
    qmax = (1 << (f.bits - 1)) - 1
    mu, sd = float(x.mean()), float(x.std(ddof=1))
    base = max(abs(mu + 3 * sd), abs(mu - 3 * sd))
    best, best_err = None, np.inf
    for pct in range(75, 150, 2):
        s = base * pct * 0.01 / qmax
        q = np.clip(np.rint(x / s), -qmax, qmax) * s
        err = float(np.mean((q - x) ** 2))
        if err < best_err:
            best, best_err = q, err
    return best


def quantize_as(x: np.ndarray, name: str) -> np.ndarray:
    if name.endswith("_clip"):
        return _int_clip(x, name[:-5])
    f = resolve(name)
    if isinstance(f, OliveFormat):
        s = olive_scale(x, f)
        return olive_quantize(x / s, f) * s
    if isinstance(f, BlockFormat):
        return quantize_blocks(x, f, axis=-1)
    scale = float(np.max(np.abs(x))) / f.max_normal
    return quantize(x / scale, f) * scale


@dataclass(frozen=True)
class Row:
    tensor: str
    fmt: str
    bits_per_element: float
    sqnr_db: float
    max_error_rel: float  # max |error| / max |x|
    outlier_pairs: float | None  # olive: fraction of pairs holding an outlier


def run(seed: int = 0, formats: tuple[str, ...] = FORMATS) -> list[Row]:
    rows = []
    for tname, x in tensors(seed).items():
        x64 = x.astype(np.float64)
        amax = float(np.max(np.abs(x64)))
        for name in formats:
            q = quantize_as(x64, name)
            frac = None
            f = resolve(name.removesuffix("_clip"))
            if isinstance(f, OliveFormat):
                s = olive_scale(x64, f)
                big = np.abs(olive_quantize(x64 / s, f)) > f.normal_max
                frac = float(big.reshape(-1, 2).any(-1).mean())
            rows.append(Row(tname, name, bits_per_element(f), sqnr_db(x64, q),
                            float(np.max(np.abs(q - x64))) / amax, frac))
    return rows
