"""The cost-model study behind ``sim_results/costmodel/``: errors, parity plots, headlines.

Headline comparisons, each from the synthesised dataset where the design is in it and from the
model's prediction beside it:
- L-Mul vs an exact fp8 multiplier: energy per operation (proxy) and area;
- FP8 vs INT8 MAC area, against van Baalen et al.'s claim (arXiv 2303.17951) that FP8 costs
  50-180% more than INT8 in dedicated hardware;
- minifloat vs integer MAC LUTs on an ice40 FPGA;
- the learned and the analytical (Horowitz 45 nm) cost providers side by side;
- the energy proxy's fp16/fp32 multiply and add and int8/int32 multiply ratios beside
  Horowitz's (:mod:`costmodel.anchors`): how far the proxy scales with width as the table does.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from costmodel.anchors import horowitz_ratios
from costmodel.models import TARGETS, CostModel
from costmodel.provider import AnalyticalCostProvider, LearnedCostProvider, Op
from costmodel.space import DesignPoint
from costmodel.validate import parity_plots
from hwsim.io import atomic_write_json, atomic_write_text

LMUL_PAIRS = (("fp8_e4m3fn", "fp8_e4m3fn"), ("fp8_e5m2", "fp8_e5m2"), ("bf16", "bf16"))
MAC_PAIRS = (
    (DesignPoint("mac", "fp8_e4m3fn", acc="fp32"), DesignPoint("int-mac", "int8", acc="32")),
    (DesignPoint("mac", "fp8_e5m2", acc="fp32"), DesignPoint("int-mac", "int8", acc="32")),
    (DesignPoint("mac", "fp8_e4m3fn", acc="fp16"), DesignPoint("int-mac", "int8", acc="24")),
    (DesignPoint("mac", "fp8_e4m3fn", acc="bf16"), DesignPoint("int-mac", "int8", acc="24")),
    (DesignPoint("mac", "fp4_e2m1fn", acc="fp16"), DesignPoint("int-mac", "int4", acc="16")),
)


@dataclass(frozen=True)
class Figure:
    """One design's cost: measured (synthesised, None when not in the dataset) and predicted."""

    design: str
    target: str
    measured: float | None
    predicted: float
    lo: float
    hi: float


def _label(p: DesignPoint) -> str:
    extra = {k: v for k, v in p.params().items() if k not in ("format",) and v not in ("", 0)}
    return f"{p.unit} {p.format} " + " ".join(f"{k}={v}" for k, v in extra.items())


def _figure(model: CostModel, df: Any, p: DesignPoint, target: str) -> Figure:
    rows = df[df["key"] == p.key]
    measured = float(rows[TARGETS[target]].iloc[0]) if len(rows) else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pred = model.predict(p, targets=(target,))[0][0]
    return Figure(_label(p), target, measured, pred.value, pred.lo, pred.hi)


def _ratio(a: Figure, b: Figure) -> dict[str, float | None]:
    return {"measured": (a.measured / b.measured) if a.measured and b.measured else None,
            "predicted": a.predicted / b.predicted}


def headlines(model: CostModel, df: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"lmul_vs_fp_mul": [], "fp8_vs_int8_mac_area": [],
                           "minifloat_vs_int_mac_luts": [], "providers": []}
    for fmt, _ in LMUL_PAIRS:
        lm, fm = DesignPoint("lmul", fmt), DesignPoint("minifloat-mul", fmt)
        for t in ("energy", "area"):
            a, b = _figure(model, df, lm, t), _figure(model, df, fm, t)
            out["lmul_vs_fp_mul"].append({"format": fmt, "target": t, "lmul": a.__dict__,
                                          "mul": b.__dict__, "ratio": _ratio(a, b)})
    for fp, it in MAC_PAIRS:
        a, b = _figure(model, df, fp, "area"), _figure(model, df, it, "area")
        r = _ratio(a, b)
        out["fp8_vs_int8_mac_area"].append({
            "fp": a.__dict__, "int": b.__dict__, "ratio": r,
            "extra_cost_pct": {k: (v - 1) * 100 if v else None for k, v in r.items()},
            "paper_claim_pct": [50, 180]})
        a, b = _figure(model, df, fp, "luts"), _figure(model, df, it, "luts")
        out["minifloat_vs_int_mac_luts"].append({"fp": a.__dict__, "int": b.__dict__,
                                                 "ratio": _ratio(a, b)})
    learned, analytical = LearnedCostProvider(model), AnalyticalCostProvider()
    for op in ("mul", "mac"):
        for fmt in ("int8", "fp8_e4m3fn", "fp8_e5m2", "fp16", "bf16"):
            if op == "mac" and fmt in ("fp16", "bf16"):
                continue
            out["providers"].append({
                "op": op, "format": fmt,
                "learned_pj": learned.energy_pj(Op(op, fmt)),
                "analytical_pj": analytical.energy_pj(Op(op, fmt)),
                "learned_transistors": learned.area(Op(op, fmt)).value,
                "analytical_transistors": analytical.area(Op(op, fmt)).value})
    out["energy_anchors"] = [r.to_dict() for r in horowitz_ratios()]
    return out


def _fmt(v: float | None, spec: str = ".3g") -> str:
    return "n/a" if v is None else format(v, spec)


def headline_markdown(h: dict[str, Any]) -> str:
    lines = ["## L-Mul vs exact multiplier (same format)", "",
             "| format | target | L-Mul measured | mul measured | ratio measured | "
             "ratio predicted |", "|---|---|---|---|---|---|"]
    for r in h["lmul_vs_fp_mul"]:
        lines.append(f"| {r['format']} | {r['target']} | {_fmt(r['lmul']['measured'])} | "
                     f"{_fmt(r['mul']['measured'])} | {_fmt(r['ratio']['measured'])} | "
                     f"{_fmt(r['ratio']['predicted'])} |")
    lines += ["", "## FP vs INT MAC area (transistors incl. flip-flops)", "",
              "van Baalen et al. (arXiv 2303.17951, abstract): FP8 costs 50-180% more than INT8.",
              "", "| FP MAC | INT MAC | extra cost measured | extra cost predicted |",
              "|---|---|---|---|"]
    for r in h["fp8_vs_int8_mac_area"]:
        e = r["extra_cost_pct"]
        lines.append(f"| {r['fp']['design']} | {r['int']['design']} | "
                     f"{_fmt(e['measured'], '.0f')}% | {_fmt(e['predicted'], '.0f')}% |")
    lines += ["", "## Minifloat vs integer MAC LUTs (ice40)", "",
              "| FP MAC | INT MAC | FP LUTs (meas/pred) | INT LUTs (meas/pred) | ratio pred |",
              "|---|---|---|---|---|"]
    for r in h["minifloat_vs_int_mac_luts"]:
        lines.append(f"| {r['fp']['design']} | {r['int']['design']} | "
                     f"{_fmt(r['fp']['measured'])}/{_fmt(r['fp']['predicted'])} | "
                     f"{_fmt(r['int']['measured'])}/{_fmt(r['int']['predicted'])} | "
                     f"{_fmt(r['ratio']['predicted'])} |")
    lines += ["", "## Cost providers side by side", "",
              "| op | format | learned pJ | Horowitz-45nm pJ | learned transistors | "
              "analytical transistors |", "|---|---|---|---|---|---|"]
    for r in h["providers"]:
        lines.append(f"| {r['op']} | {r['format']} | {r['learned_pj']:.3g} | "
                     f"{r['analytical_pj']:.3g} | {r['learned_transistors']:.0f} | "
                     f"{r['analytical_transistors']:.0f} |")
    lines += ["", "## Energy proxy vs Horowitz 45 nm: narrow/wide ratios", "",
              "Calibrated at one point (int8 multiply = 0.2 pJ); these ratios test how it scales "
              "with width (simulated, not predicted).", "",
              "| op | narrow/wide | proxy pJ | Horowitz pJ | proxy ratio | Horowitz ratio | "
              "proxy/Horowitz |", "|---|---|---|---|---|---|---|"]
    for r in h["energy_anchors"]:
        lines.append(f"| {r['op']} | {r['narrow']}/{r['wide']} | "
                     f"{r['proxy_narrow_pj']:.3g}/{r['proxy_wide_pj']:.3g} | "
                     f"{r['table_narrow_pj']:.3g}/{r['table_wide_pj']:.3g} | "
                     f"{r['proxy_ratio']:.3f} | {r['table_ratio']:.3f} | {r['agreement']:.2f}x |")
    return "\n".join(lines) + "\n"


def run_study(model: CostModel, df: Any, out_dir: str | Path, report: Any = None) -> Path:
    """Write the headline tables (and, given a validation report, errors and plots)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    h = headlines(model, df)
    atomic_write_json(out / "headlines.json", h)
    text = headline_markdown(h)
    if report is not None:
        atomic_write_json(out / "validation.json", report.to_dict())
        atomic_write_text(out / "validation.txt", report.table() + "\n")
        parity_plots(report, out)
    atomic_write_text(out / "headlines.md", text)
    return out / "headlines.json"


def load_headlines(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())
