"""The report's figures as PNG bytes (matplotlib, Agg): Pareto fronts of objective pairs,
energy by component, per-op cycles, and the roofline of a GPU run."""

from __future__ import annotations

import io
import itertools
from collections import defaultdict
from typing import Any

from hwsim.plots import _pyplot
from hwsim.report.data import Roofline, SweepData, front_keys

#: the most ops the per-op figure names one by one (the table lists them all)
TOP_OPS = 20


def png(fig: Any) -> bytes:
    """The figure as PNG bytes; the figure is closed."""
    plt = _pyplot()
    buf = io.BytesIO()
    try:
        fig.tight_layout()  # cheaper than bbox_inches="tight", which draws twice
        fig.savefig(buf, format="png", dpi=100)
    finally:
        plt.close(fig)
    return buf.getvalue()


def _label(objective: str, direction: str) -> str:
    return f"{objective} ({'higher' if direction == 'max' else 'lower'} is better)"


def pareto_figures(data: SweepData, front: list[str]) -> dict[str, tuple[str, bytes]]:
    """One figure per pair of objectives (``name -> (caption, png)``): every done point,
    the pair's own 2-D front joined by a step line, and the points of the whole front ringed.
    A single objective gives its values in rank order, the best marked."""
    plt = _pyplot()
    objectives = data.objectives
    done = [r for r in data.done if all(r["metrics"].get(o) is not None for o in objectives)]
    out: dict[str, tuple[str, bytes]] = {}
    if len(objectives) == 1:
        (o,) = objectives
        vals = sorted(r["metrics"][o] for r in done)
        if data.direction(o) == "max":
            vals.reverse()
        fig, ax = plt.subplots(figsize=(6.5, 4))
        ax.plot(range(1, len(vals) + 1), vals, "o", color="#999999", markersize=4)
        ax.plot([1], vals[:1], "o", color="#d95f02", markersize=8, label="best")
        ax.set_xlabel("rank")
        ax.set_ylabel(_label(o, data.direction(o)))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        out[f"pareto_{o}"] = (f"{o} of every done point, best first", png(fig))
        return out
    whole = set(front)
    for x, y in itertools.combinations(objectives, 2):
        pair = set(front_keys(data, (x, y)))
        fig, ax = plt.subplots(figsize=(6.5, 4.5))
        ax.scatter([r["metrics"][x] for r in done], [r["metrics"][y] for r in done], s=14,
                   color="#bbbbbb", label=f"all {len(done)} done points")
        pts = sorted((r["metrics"][x], r["metrics"][y]) for r in done if r["key"] in pair)
        ax.step([p[0] for p in pts], [p[1] for p in pts], where="post", color="#d95f02",
                linewidth=1.2)
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=30, color="#d95f02",
                   label=f"front of this pair ({len(pts)})", zorder=3)
        ring = [r for r in done if r["key"] in whole]
        ax.scatter([r["metrics"][x] for r in ring], [r["metrics"][y] for r in ring], s=70,
                   facecolors="none", edgecolors="#1b9e77", linewidths=1.2,
                   label=f"front of all objectives ({len(ring)})", zorder=4)
        for axis, o in (("x", x), ("y", y)):
            vals = [r["metrics"][o] for r in done]
            if min(vals) > 0 and max(vals) / min(vals) > 100:
                getattr(ax, f"set_{axis}scale")("log")
        ax.set_xlabel(_label(x, data.direction(x)))
        ax.set_ylabel(_label(y, data.direction(y)))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        out[f"pareto_{x}__{y}"] = (f"{y} against {x}", png(fig))
    return out


def energy_figure(energy_pj: dict[str, float], title: str) -> bytes:
    """Energy by component (horizontal bars, pJ, each labelled with its share)."""
    plt = _pyplot()
    names = sorted(energy_pj, key=lambda k: -energy_pj[k])
    vals = [energy_pj[n] for n in names]
    total = sum(vals) or 1.0
    fig, ax = plt.subplots(figsize=(6.5, 0.5 * len(names) + 1.2))
    ax.barh(names, vals, color="#7570b3")
    for i, v in enumerate(vals):
        ax.text(v, i, f" {v:.3g} pJ ({v / total:.0%})", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("energy (pJ, estimate)")
    ax.set_title(title, fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    ax.set_xlim(0, max(vals + [1e-30]) * 1.35)
    return png(fig)


def front_energy_figure(rows: list[dict[str, Any]], labels: list[str]) -> bytes:
    """Energy by component of several points (the stored ``energy_pj``), stacked bars."""
    plt = _pyplot()
    comps = sorted({c for r in rows for c in r["energy_pj"]},
                   key=lambda c: -sum(r["energy_pj"].get(c, 0.0) for r in rows))
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(rows) + 1.6))
    left = [0.0] * len(rows)
    for c in comps:
        vals = [r["energy_pj"].get(c, 0.0) for r in rows]
        ax.barh(labels, vals, left=left, label=c)
        left = [a + b for a, b in zip(left, vals, strict=True)]
    ax.invert_yaxis()
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlabel("energy (pJ, estimate, as stored)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, title="component", title_fontsize=8)
    return png(fig)


def ops_figure(ops: tuple[Any, ...], title: str) -> bytes:
    """Cycles by op type and the ops taking the most cycles, compute and stall stacked."""
    plt = _pyplot()
    by_type: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for o in ops:
        by_type[o.op_type][0] += o.total_cycles - o.stall_cycles
        by_type[o.op_type][1] += o.stall_cycles
    top = sorted(ops, key=lambda o: -o.total_cycles)[:TOP_OPS]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 0.28 * max(len(top), len(by_type)) + 2.2),
                                 gridspec_kw={"width_ratios": [1, 1.4]})
    for ax, labels, busy, stall, what in (
            (a1, list(by_type), [v[0] for v in by_type.values()],
             [v[1] for v in by_type.values()], "by op type"),
            (a2, [o.name for o in top], [o.total_cycles - o.stall_cycles for o in top],
             [o.stall_cycles for o in top], f"the {len(top)} longest ops")):
        ax.barh(labels, busy, color="#1b9e77", label="not stalled")
        ax.barh(labels, stall, left=busy, color="#d95f02", label="stalled")
        ax.invert_yaxis()
        ax.tick_params(axis="y", labelsize=7)
        ax.set_xlabel("cycles")
        ax.set_title(what, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    a1.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    return png(fig)


def roofline_figure(r: Roofline) -> bytes:
    """Ops as points under the compute roofs and the HBM/L2 slopes (log-log)."""
    plt = _pyplot()
    xs = [p[2] for p in r.points]
    lo = min(xs + [1.0]) / 4
    hi = max(xs + [max(r.compute_roofs.values()) / r.bandwidth_roofs["HBM"]]) * 8
    fig, ax = plt.subplots(figsize=(7.5, 5))
    grid = [lo * (hi / lo) ** (i / 200) for i in range(201)]
    for name, bw in r.bandwidth_roofs.items():
        top = max(r.compute_roofs.values())
        ax.plot(grid, [min(top, x * bw) for x in grid], "--" if name == "L2" else "-",
                color="#444444", linewidth=1, label=f"{name} {bw / 1e9:,.0f} GB/s")
    for (name, peak), color in zip(sorted(r.compute_roofs.items(), key=lambda t: -t[1]),
                                   itertools.cycle(("#e7298a", "#7570b3", "#66a61e", "#e6ab02",
                                                    "#a6761d")), strict=False):
        ax.axhline(peak, color=color, linewidth=0.9, linestyle=":",
                   label=f"{name} {peak / 1e12:,.1f} T/s")
    types = sorted({p[1] for p in r.points})
    for t, marker in zip(types, itertools.cycle("os^Dv<>"), strict=False):
        pts = [p for p in r.points if p[1] == t]
        ax.scatter([p[2] for p in pts], [p[3] for p in pts], marker=marker, s=28, zorder=3,
                   label=f"{t} ({len(pts)})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_xlabel("arithmetic intensity (FLOP per HBM byte, simulated traffic)")
    ax.set_ylabel("attained FLOP/s (OP/s for int8)")
    ax.set_title(f"roofline of the run on {r.device}", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="lower right")
    return png(fig)
