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


def plot_design_costs(costs, path: str | Path, title: str) -> Path:
    """Transistors, iCE40 LUTs and logic depth of synthesised designs, one bar group each."""
    plt = _pyplot()
    labels = [c.label for c in costs]
    metrics = (("transistors", "transistors (generic CMOS)"), ("ice40_luts", "iCE40 LUTs"),
               ("logic_depth", "logic depth (gates)"))
    fig, axes = plt.subplots(1, len(metrics), figsize=(12, 4.2), sharey=True)
    colors = ["#d95f02" if c.unit == "lmul" else "#1b9e77" if c.unit == "minifloat-mul"
              else "#7570b3" for c in costs]
    for ax, (field, name) in zip(axes, metrics, strict=True):
        vals = [getattr(c, field) for c in costs]
        ax.barh(labels, vals, color=colors)
        for y, v in enumerate(vals):
            ax.text(v, y, f" {v}", va="center", fontsize=7)
        ax.set_title(name, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    axes[0].invert_yaxis()
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    try:
        return save_figure(fig, path)
    finally:
        plt.close(fig)


def plot_provider_energy(rows, path: str | Path) -> Path:
    """MAC energy per inference/step (``hwsim.studies.device_energy`` rows), one panel per
    workload, cost providers side by side."""
    plt = _pyplot()
    names = list(dict.fromkeys(r.workload for r in rows))
    fmts = list(dict.fromkeys(r.fmt for r in rows))
    provs = list(dict.fromkeys(r.provider for r in rows))
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.8))
    axes = [axes] if len(names) == 1 else list(axes)
    width = 0.8 / len(provs)
    for ax, name in zip(axes, names, strict=True):
        for j, p in enumerate(provs):
            vals = [next(r.mac_uj for r in rows if (r.workload, r.fmt, r.provider) ==
                         (name, f, p)) for f in fmts]
            ax.bar([i + (j - (len(provs) - 1) / 2) * width for i in range(len(fmts))], vals,
                   width, label=p)
        ax.set_xticks(range(len(fmts)), fmts, fontsize=8)
        ax.set_title(name, fontsize=9)
        ax.set_ylabel("MAC energy (uJ)")
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8, title="cost provider", title_fontsize=8, loc="upper left")
    fig.suptitle("MAC energy of one inference/step, 32x32 WS systolic array", fontsize=10)
    fig.tight_layout()
    try:
        return save_figure(fig, path)
    finally:
        plt.close(fig)
