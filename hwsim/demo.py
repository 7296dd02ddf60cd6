"""``hwsim demo``: the main job end to end on built-in defaults.

The demo is a list of steps; each capability of the suite adds its own. A step takes the
frozen :class:`DemoConfig` and returns a :class:`StepResult` (a table for the terminal, the
files it wrote, numbers for the JSON summary). Steps write only inside ``cfg.out_dir``.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hwsim import __version__
from hwsim.io import atomic_write_json


@dataclass(frozen=True)
class DemoConfig:
    out_dir: Path
    seed: int = 0
    n_pairs: int = 1_000_000
    sigmas: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)


@dataclass
class StepResult:
    name: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    files: list[Path] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def formats_step(cfg: DemoConfig) -> StepResult:
    from hwsim.plots import plot_format_sqnr
    from hwsim.studies import format_error

    rows = format_error.run(seed=cfg.seed)
    png = plot_format_sqnr(rows, cfg.out_dir / "format_sqnr.png")
    return StepResult(
        "Quantisation error of each format (LLM-like tensors, SQNR in dB)",
        ("format", "bits/elem", "SQNR weights", "SQNR activations"),
        [(r.fmt, f"{r.bits_per_element:g}", f"{r.sqnr_weights_db:.1f}",
          f"{r.sqnr_activations_db:.1f}") for r in rows],
        [png],
        {"formats": [asdict(r) for r in rows]},
    )


def lmul_step(cfg: DemoConfig) -> StepResult:
    from hwsim.plots import plot_lmul_precision
    from hwsim.studies import lmul_precision

    results = [lmul_precision.run(cfg.n_pairs, s, cfg.seed) for s in cfg.sigmas]
    png = plot_lmul_precision(results, cfg.out_dir / "lmul_vs_fp8.png")
    at_one = next((r for r in results if r.sigma == 1.0), results[0])
    return StepResult(
        f"L-Mul vs FP8 multiplication ({at_one.n_pairs:,} pairs x, y ~ N(0, {at_one.sigma:g}²))",
        ("method", "operands", "mean rel. err", "median", "p99", "zero results"),
        [(r.method, r.operand_format, f"{r.mean_rel_error:.4f}", f"{r.median_rel_error:.4f}",
          f"{r.p99_rel_error:.3f}", f"{r.zero_fraction:.2%}") for r in at_one.rows],
        [png],
        {"lmul_precision": [asdict(r) for r in results]},
    )


def rtl_step(cfg: DemoConfig) -> StepResult:
    """Generate the FP8 multiplier, adder and L-Mul units and check them exhaustively."""
    from rtl.pyrtl_sim import verify_pyrtl
    from rtl.synth import pyrtl_estimates
    from rtl.unit import build_unit

    rows, summary = [], []
    for unit_name, fmt in (("minifloat-mul", "fp8_e4m3fn"), ("minifloat-add", "fp8_e4m3fn"),
                           ("lmul", "fp8_e4m3fn"), ("minifloat-mul", "fp8_e5m2"),
                           ("lmul", "fp8_e5m2")):
        unit = build_unit(unit_name, format=fmt)
        res = verify_pyrtl(unit)
        area_mm2, delay_ps = pyrtl_estimates(unit)
        rows.append((unit.name, f"{res.vectors:,}", str(res.mismatches),
                     f"{area_mm2 * 1e6:,.0f}", f"{delay_ps:,.0f}"))
        summary.append({"unit": unit.name, "vectors": res.vectors,
                        "mismatches": res.mismatches, "pyrtl_area_um2": area_mm2 * 1e6,
                        "pyrtl_delay_ps": delay_ps})
    return StepResult(
        "RTL units vs hwsim.numerics (exhaustive, PyRTL simulation; PyRTL 130 nm estimates)",
        ("unit", "vectors", "mismatches", "area µm²", "delay ps"),
        rows,
        [],
        {"rtl": summary},
    )


def systolic_step(cfg: DemoConfig) -> StepResult:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hwsim.devices import run
    from hwsim.devices.systolic import SystolicSpec
    from hwsim.io import save_figure
    from workloads import build_workload

    g = build_workload("resnet18", precision="int8")
    runs = {df: run(SystolicSpec(rows=32, cols=32, dataflow=df, bandwidth_words=16), g)
            for df in ("os", "ws", "is")}
    fig, ax = plt.subplots(figsize=(9, 3.5))
    layers = [o for o in runs["os"].ops if o.unit == "array"]
    x = range(len(layers))
    for i, (df, res) in enumerate(runs.items()):
        cyc = [o.total_cycles for o in res.ops if o.unit == "array"]
        ax.bar([j + (i - 1) * 0.27 for j in x], cyc, width=0.27, label=df)
    ax.set_xticks(list(x), [o.name for o in layers], rotation=90, fontsize=6)
    ax.set_ylabel("cycles (incl. stalls)")
    ax.set_title("ResNet-18 int8 on a 32x32 systolic array, 16 words/cycle DRAM")
    ax.legend()
    png = save_figure(fig, cfg.out_dir / "systolic_resnet18.png")
    plt.close(fig)
    return StepResult(
        "ResNet-18 (int8) on a 32x32 systolic array, 64 KiB SRAMs, 16 words/cycle DRAM",
        ("dataflow", "compute cycles", "total cycles", "stall cycles", "utilisation",
         "energy uJ (est.)"),
        [(df, f"{r.compute_cycles:,}", f"{r.total_cycles:,}", f"{r.stall_cycles:,}",
          f"{r.utilisation:.1%}", f"{r.energy_total_pj / 1e6:.1f}") for df, r in runs.items()],
        [png],
        {"systolic_resnet18": {df: {k: v for k, v in r.to_dict().items() if k != "ops"}
                               for df, r in runs.items()}},
    )


def cost_step(cfg: DemoConfig) -> StepResult:
    """The shipped learned cost model on a few units, beside the analytical 45 nm table."""
    from costmodel.provider import AnalyticalCostProvider, Op
    from costmodel.space import DesignPoint
    from costmodel.store import load_model, shipped_model_path

    model = load_model(shipped_model_path())
    analytical = AnalyticalCostProvider()
    points = (("L-Mul", DesignPoint("lmul", "fp8_e4m3fn"), None),
              ("FP8 E4M3 mul", DesignPoint("minifloat-mul", "fp8_e4m3fn"), ("mul", "fp8_e4m3fn")),
              ("INT8 mul", DesignPoint("int-mul", "int8"), ("mul", "int8")),
              ("FP8 E5M2 mul", DesignPoint("minifloat-mul", "fp8_e5m2"), ("mul", "fp8_e5m2")),
              ("FP8 MAC, fp32 acc", DesignPoint("mac", "fp8_e4m3fn", acc="fp32"),
               ("mac", "fp8_e4m3fn")))
    rows, summary = [], []
    for label, point, op in points:
        preds, _ = model.predict(point, ("area", "energy"))
        by = {p.target: p for p in preds}
        area, energy = by["area"], by["energy"]
        ref = analytical.energy_pj(Op(*op)) if op else None  # JSON has no NaN
        rows.append((label, f"{area.value:,.0f} [{area.lo:,.0f}, {area.hi:,.0f}]",
                     f"{energy.value:.3f} [{energy.lo:.3f}, {energy.hi:.3f}]",
                     "n/a" if op is None else f"{ref:.2f}"))
        summary.append({"design": label, "area_transistors": area.value,
                        "energy_pj": energy.value, "analytical_energy_pj": ref})
    return StepResult(
        "Learned cost model (Yosys-trained; 90% intervals) vs the analytical 45 nm table",
        ("design", "transistors", "energy pJ/op (proxy)", "45 nm table pJ"),
        rows,
        [],
        {"cost": summary},
    )


#: The demo's steps, in order: later capabilities append theirs.
DEMO_STEPS: tuple[Callable[[DemoConfig], StepResult], ...] = (
    formats_step, lmul_step, rtl_step, systolic_step, cost_step,
)


def run_demo(cfg: DemoConfig, on_step: Callable[[StepResult], None] | None = None
             ) -> list[StepResult]:
    """Run every step, then write ``summary.json`` into ``cfg.out_dir``."""
    results = []
    for step in DEMO_STEPS:
        t0 = time.perf_counter()
        res = step(cfg)
        res.seconds = time.perf_counter() - t0
        results.append(res)
        if on_step is not None:
            on_step(res)
    summary = {
        "hwsim_version": __version__,
        "python": platform.python_version(),
        "seed": cfg.seed,
        "steps": [
            {"name": r.name, "seconds": round(r.seconds, 3),
             "files": [p.name for p in r.files], **r.summary}
            for r in results
        ],
    }
    atomic_write_json(cfg.out_dir / "summary.json", summary)
    return results
