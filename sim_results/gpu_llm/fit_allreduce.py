"""Fit the GPU model's NCCL all-reduce figures (``nccl_*`` in ``hwsim/data/gpu_presets.yaml``)
on LLMCompass's real all-reduce curve of a 4 x A100 NVLink node (Zhang et al., ISCA 2024,
artifact figure 5h; ``tests/data/llmcompass_a100/llmcompass_allreduce_A100.csv``: bytes,
microseconds).

    python sim_results/gpu_llm/fit_allreduce.py

The model is NCCL's tuner's shape (per protocol: a latency, then the ring's
``2 (n - 1) / n`` bytes at a bus bandwidth; the fastest protocol for the size is taken) with
NCCL's three protocols, LL, LL128 and Simple (from low latency and low bandwidth to high
latency and full bandwidth): six figures, fitted jointly by least squares in log time on the
even-indexed sizes (16 of 32) from 40 seeded random starts; the odd-indexed sizes are held
out. The figures are effective ones of the measured calls (host time included), named
after the protocol each regime stands for, not NCCL's internal constants. Prints the
figures (protocols in order of latency) and the errors on both halves. Needs scipy (not a
dependency of the package: this script is its only user).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

CURVE = (Path(__file__).resolve().parents[2] / "tests" / "data" / "llmcompass_a100"
         / "llmcompass_allreduce_A100.csv")
RANKS = 4
NVLINK_GB_S = 300.0  # the a100 preset's one-direction NVLink bandwidth


PROTOCOLS = ("ll", "ll128", "simple")


def model(p: np.ndarray, nbytes: np.ndarray) -> np.ndarray:
    """Microseconds of an all-reduce of ``nbytes`` with ``p`` = (us, efficiency) per
    protocol."""
    sent = 2 * (RANKS - 1) / RANKS * nbytes
    return np.min([p[2 * i] + sent / (p[2 * i + 1] * NVLINK_GB_S * 1e3)
                   for i in range(len(p) // 2)], axis=0)


def main() -> None:
    from scipy.optimize import least_squares

    data = np.loadtxt(CURVE, delimiter=",")
    nbytes, us = data[:, 0], data[:, 1]
    fit, held = np.arange(0, len(us), 2), np.arange(1, len(us), 2)
    k = len(PROTOCOLS)
    rng = np.random.default_rng(0)
    best = None
    for _ in range(40):
        start = np.ravel([(rng.uniform(5, 80), rng.uniform(0.01, 0.9)) for _ in range(k)])
        r = least_squares(lambda p: np.log(model(p, nbytes[fit]) / us[fit]), start,
                          bounds=([0, 1e-3] * k, [500, 1] * k))
        if best is None or r.cost < best.cost:
            best = r
    pairs = sorted(zip(best.x[::2], best.x[1::2], strict=True))
    for name, (lat, eff) in zip(PROTOCOLS, pairs, strict=True):
        print(f"nccl_{name}_us {lat:.1f}  nccl_{name}_efficiency {eff:.3f} "
              f"({eff * NVLINK_GB_S:.1f} GB/s bus)")
    p = best.x
    err = np.abs(model(p, nbytes) / us - 1)
    for name, idx in (("fitted", fit), ("held out", held)):
        print(f"{name}: median {np.median(err[idx]):.1%}, max {err[idx].max():.1%}")


if __name__ == "__main__":
    main()
