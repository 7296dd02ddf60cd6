"""Synthetic tensors shaped like the ones low-precision formats meet in LLMs.

These are generated, not taken from a trained model (nothing is downloaded). They follow
two published observations, so format comparisons see realistic dynamic range:

- weights: N(0, 0.02^2), the initialisation std of GPT-2 and LLaMA-family models
  (``initializer_range = 0.02`` in their published Hugging Face configurations);
- activations: N(0, 1) hidden states with a few outlier channels about 20x larger, the
  "emergent outlier features" of Dettmers et al., "LLM.int8()" (arXiv 2208.07339), which
  occur in a small fraction of hidden dimensions.
"""

from __future__ import annotations

import numpy as np

WEIGHT_STD = 0.02
OUTLIER_SCALE = 20.0
OUTLIER_FRACTION = 0.005


def llm_weights(rows: int = 1024, cols: int = 1024, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((rows, cols)) * WEIGHT_STD).astype(np.float32)


def llm_activations(tokens: int = 256, hidden: int = 1024, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((tokens, hidden))
    n_out = max(1, int(round(hidden * OUTLIER_FRACTION)))
    channels = rng.choice(hidden, n_out, replace=False)
    x[:, channels] *= OUTLIER_SCALE
    return x.astype(np.float32)
