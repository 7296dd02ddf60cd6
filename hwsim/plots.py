"""Plots shared by the demo and the studies (matplotlib, headless Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hwsim.io import save_figure

if TYPE_CHECKING:
    from hwsim.studies.format_error import FormatError
    from hwsim.studies.lmul_precision import LmulPrecision


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_format_sqnr(rows: list[FormatError], path: str | Path) -> Path:
    """SQNR of each format against its storage cost, weights and activations side by side."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    bits = [r.bits_per_element for r in rows]
    ax.scatter(bits, [r.sqnr_weights_db for r in rows], label="weights N(0, 0.02²)", marker="o")
    ax.scatter(bits, [r.sqnr_activations_db for r in rows],
               label="activations with outlier channels", marker="^")
    for r in rows:
        ax.annotate(r.fmt, (r.bits_per_element, r.sqnr_weights_db), fontsize=7,
                    xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("storage bits per element (shared scales included)")
    ax.set_ylabel("SQNR (dB, higher is better)")
    ax.set_title("Quantisation error of number formats on LLM-like tensors")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    try:
        return save_figure(fig, path)
    finally:
        plt.close(fig)


def plot_lmul_precision(results: list[LmulPrecision], path: str | Path) -> Path:
    """Mean relative error of L-Mul and FP8 multiplication against the operand scale."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    sigmas = [r.sigma for r in results]
    methods = [row.method for row in results[0].rows]
    for method in methods:
        errs = [r.by_method()[method].mean_rel_error for r in results]
        style = "-o" if method.startswith("fp8") else "--s"
        ax.plot(sigmas, errs, style, label=method, markersize=4)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("operand std σ (x, y ~ N(0, σ²))")
    ax.set_ylabel("mean relative error of x·y")
    ax.set_title("L-Mul vs FP8 multiplication")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, ncol=2)
    try:
        return save_figure(fig, path)
    finally:
        plt.close(fig)
