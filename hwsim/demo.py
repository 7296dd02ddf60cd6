"""``hwsim demo``: the main job end to end on built-in defaults.

The demo is a list of steps; each capability of the suite adds its own. A step takes the
frozen :class:`DemoConfig` and returns a :class:`StepResult` (a table for the terminal, the
files it wrote, numbers for the JSON summary). Steps write only inside ``cfg.out_dir``.
"""

from __future__ import annotations

import json
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


def rtl_export_step(cfg: DemoConfig) -> StepResult:
    """The smallest unit (a signed 4-bit multiplier) exported to Verilog and verified
    exhaustively: on Verilator (cocotb) where it is installed, else in PyRTL simulation."""
    from hwsim.errors import HwsimError
    from rtl.export import lint, write_verilog
    from rtl.pyrtl_sim import verify_pyrtl
    from rtl.toolchain import verilator_root
    from rtl.unit import build_unit

    unit = build_unit("int-mul", format="int4")
    verilog = write_verilog(unit, cfg.out_dir / f"{unit.name}.v", force=True)
    try:
        verilator_root()
    except HwsimError as exc:  # no Verilator here: PyRTL simulates the same netlist
        why, warnings = f"Verilator not available ({exc}); PyRTL simulation", None
        res = verify_pyrtl(unit)
    else:
        from rtl.verify.runner import verify_unit

        # the build is cached in ./build/rtl, as 'hwsim rtl verify' caches it
        why, warnings = "Verilator + cocotb", len(lint(verilog))
        res = verify_unit(unit)
    return StepResult(
        f"RTL unit {unit.name} exported to Verilog and verified ({why})",
        ("unit", "Verilog", "simulator", "vectors", "mismatches", "lint warnings", "build s",
         "simulation s"),
        [(unit.name, verilog.name, res.simulator, f"{res.vectors:,}"
          + (" (all)" if res.exhaustive else ""), str(res.mismatches),
          "n/a" if warnings is None else str(warnings), f"{res.build_s:.1f}",
          f"{res.sim_s:.1f}")],
        [verilog, verilog.with_suffix(".ys")],
        {"rtl_export": {"unit": unit.name, "verilog": verilog.name, "simulator": res.simulator,
                        "vectors": res.vectors, "exhaustive": res.exhaustive,
                        "mismatches": res.mismatches, "lint_warnings": warnings,
                        "build_s": res.build_s, "sim_s": res.sim_s}},
    )


def gpu_decode_step(cfg: DemoConfig) -> StepResult:
    """One LLaMA-2-7B decode step (one token, every layer) on the H100 preset."""
    from hwsim.api import resolve_workload, simulate
    from hwsim.io import atomic_write_text

    graph = resolve_workload("llama2-7b", phase="decode")
    res = simulate("h100", graph)
    by_type: dict[str, list[float]] = {}
    lines = ["op,type,us,dram_bytes,energy_pj"]
    for o in res.ops:
        us = o.total_cycles / res.clock_mhz
        by_type.setdefault(o.op_type, [0.0, 0.0])
        by_type[o.op_type][0] += us
        by_type[o.op_type][1] += o.dram_bytes
        lines.append(f"{o.name},{o.op_type},{us:.4f},{o.dram_bytes},{o.energy_pj:.1f}")
    csv_path = atomic_write_text(cfg.out_dir / "gpu_llama2_decode.csv", "\n".join(lines) + "\n")
    ms = res.seconds * 1e3
    return StepResult(
        f"LLaMA-2-7B decode step on an H100 (fp16, all 32 layers): {ms:.2f} ms/token, "
        f"{sum(res.bytes_moved.values()) / res.seconds / 1e9:,.0f} GB/s from memory",
        ("op type", "time us", "share", "DRAM MB"),
        [(t, f"{us:,.1f}", f"{us / (ms * 1e3):.1%}", f"{b / 1e6:,.1f}")
         for t, (us, b) in sorted(by_type.items(), key=lambda kv: -kv[1][0])],
        [csv_path],
        {"gpu_decode": {"device": "h100", "workload": "llama2-7b decode", "ms": ms,
                        "tokens_per_s": 1e3 / ms, "params": graph.params,
                        "bytes_moved": dict(res.bytes_moved),
                        "energy_total_pj": res.energy_total_pj,
                        "ops": len(res.ops)}},
    )


def mcu_train_step(cfg: DemoConfig) -> StepResult:
    """One single-sample ResNet-8 training step on the PULP cluster, FP32 vs FP16 (the
    set-up of Nadalini et al., arXiv 2305.19167; sim_results/mcu_fp16_training checks it)."""
    from hwsim.devices import get_device, run
    from hwsim.io import atomic_write_text
    from workloads import build_workload

    spec = get_device("pulp")
    runs = {fmt: run(spec, build_workload("resnet8", phase="train", precision=fmt))
            for fmt in ("fp32", "fp16")}
    rows, summary = [], {}
    for fmt, r in runs.items():
        speedup = runs["fp32"].total_cycles / r.total_cycles
        rows.append((fmt, f"{r.seconds * 1e3:.2f}", f"{r.macs / r.total_cycles:.2f}",
                     f"{speedup:.2f}x", f"{r.macs:,}"))
        summary[fmt] = {"ms": r.seconds * 1e3, "mac_per_clk": r.macs / r.total_cycles,
                        "macs": r.macs, "cycles": r.total_cycles, "speedup_vs_fp32": speedup}
    csv_path = atomic_write_text(
        cfg.out_dir / "mcu_resnet8_train.csv",
        "format,ms,mac_per_clk,speedup_vs_fp32,macs,cycles\n" + "".join(
            f"{f},{v['ms']:.4f},{v['mac_per_clk']:.4f},{v['speedup_vs_fp32']:.4f},"
            f"{v['macs']},{v['cycles']}\n" for f, v in summary.items()))
    return StepResult(
        f"ResNet-8 training step (one sample) on the PULP cluster ({spec.name}); the paper "
        "reports 17.1 ms and 3.11 MAC/clk in FP16 (arXiv 2305.19167, abstract)",
        ("format", "ms/step", "MAC/clk", "speed-up", "MACs"),
        rows,
        [csv_path],
        {"mcu_train": {"device": spec.name, "workload": "resnet8 train", **summary}},
    )


#: the demo's small sweep: a subset of sweeps/quick.yaml (12 points, a few seconds)
DEMO_SWEEP: dict[str, Any] = {
    "device": {"name": "systolic", "rows": [16, 32], "cols": [16, 32],
               "dataflow": ["os", "ws", "is"]},
    "workload": {"name": "resnet18", "layers": 6},
    "format": ["int8"],
    "objectives": ["total_cycles", "energy_total_pj"],
    "search": "grid",
}


def sweep_step(cfg: DemoConfig) -> StepResult:
    """A small grid sweep through hwsim.sweep (SQLite store in ``sweep/``, CSV export)."""
    from hwsim.sweep import Store, export, parse_sweep, pool_evaluator, run_sweep

    folder = cfg.out_dir / "sweep"
    status = run_sweep(parse_sweep(DEMO_SWEEP), folder, pool_evaluator(1), force=True)
    csv_path = export(folder, cfg.out_dir / "sweep.csv")
    with Store(folder) as store:
        df = store.frame()
    points = []
    for _, r in df[df["status"] == "done"].iterrows():
        dev = json.loads(r["params"])["device"]
        points.append({"key": r["key"], "rows": dev["rows"], "cols": dev["cols"],
                       "dataflow": dev["dataflow"],
                       "total_cycles": int(r["total_cycles"]), "macs": int(r["macs"]),
                       "energy_uj": float(r["energy_total_pj"]) / 1e6,
                       "utilisation": float(r["utilisation"])})
    points.sort(key=lambda p: p["total_cycles"])
    on_front = _front_keys(df)
    front = [p["key"] in on_front for p in points]
    return StepResult(
        f"Sweep: systolic array shape x dataflow on ResNet-18's first 6 layers, int8 "
        f"({status['done']} points done, {status['failed']} failed)",
        ("array", "dataflow", "total cycles", "energy uJ", "utilisation", "Pareto"),
        [(f"{p['rows']}x{p['cols']}", p["dataflow"], f"{p['total_cycles']:,}",
          f"{p['energy_uj']:.1f}", f"{p['utilisation']:.1%}", "*" if f else "")
         for p, f in zip(points, front, strict=True)],
        [folder / "sweep.db", csv_path],
        {"sweep": {"status": status, "points": points,
                   "pareto": [i for i, f in enumerate(front) if f]}},
    )


def guided_sweep_step(cfg: DemoConfig) -> StepResult:
    """DEMO_SWEEP again, guided (hwsim.sweep's Optuna search) on half the grid's evaluations:
    how much of the grid's Pareto front (the sweep step's, run before) it finds."""
    from hwsim.sweep import Store, parse_sweep, pool_evaluator, run_sweep

    budget = 6
    sweep = parse_sweep({**DEMO_SWEEP, "search": "guided", "budget": budget, "seed": cfg.seed})
    status = run_sweep(sweep, cfg.out_dir / "guided", pool_evaluator(1), force=True)
    with Store(cfg.out_dir / "guided") as store:
        found = set(store.frame()["key"])
    with Store(cfg.out_dir / "sweep") as store:
        grid = store.frame()
    front = _front_keys(grid)
    recall = len(front & found) / len(front)
    return StepResult(
        f"Guided sweep (Optuna): {budget} of the grid's {len(grid)} evaluations",
        ("evaluations", "grid front", "front points found", "recall"),
        [(str(status["done"] + status["failed"]), str(len(front)),
          str(len(front & found)), f"{recall:.0%}")],
        [cfg.out_dir / "guided" / "sweep.db"],
        {"guided": {"status": status, "budget": budget, "grid_front": sorted(front),
                    "found": sorted(found), "recall": recall}},
    )


def _front_keys(df: Any) -> set[str]:
    """Keys of the done points no other done point beats on both cycles and energy."""
    done = df[df["status"] == "done"]
    pts = list(zip(done["key"], done["total_cycles"], done["energy_total_pj"], strict=True))
    return {k for k, c, e in pts
            if not any(c2 <= c and e2 <= e and (c2 < c or e2 < e) for _, c2, e2 in pts)}


def report_step(cfg: DemoConfig) -> StepResult:
    """The HTML report (hwsim.report) of the sweep step's folder: one self-contained page."""
    from hwsim.report import write_sweep_report

    info = write_sweep_report(cfg.out_dir / "sweep", cfg.out_dir / "sweep_report.html",
                              force=True)
    html = Path(info["html"])
    return StepResult(
        "HTML report of the sweep (table, Pareto front, the chosen point's breakdown)",
        ("page", "KiB", "figures", "points on the front", "chosen point"),
        [(html.name, f"{html.stat().st_size / 1024:,.0f}", str(len(info["figures"])),
          str(len(info["front"])), str(info["point"])[:12])],
        [html],
        {"report": {"html": html.name, "figures": len(info["figures"]),
                    "front": list(info["front"]), "point": info["point"]}},
    )


#: The demo's steps, in order: each capability of the suite is one step.
DEMO_STEPS: tuple[Callable[[DemoConfig], StepResult], ...] = (
    formats_step,  # numerics
    lmul_step,
    rtl_step,  # RTL units vs the numerics, PyRTL
    rtl_export_step,  # one unit to Verilog, verified on Verilator
    cost_step,  # learned cost model
    systolic_step,  # a systolic array on ResNet-18
    gpu_decode_step,  # an LLM decode step on a GPU
    mcu_train_step,  # a training step on an MCU
    sweep_step,  # a small sweep through hwsim.sweep
    guided_sweep_step,  # the same sweep, guided, on half the budget
    report_step,  # its HTML report
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
