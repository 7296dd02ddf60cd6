"""What a report shows, as plain data: a sweep store's rows with their parameters flattened,
the Pareto front of the sweep's objectives, the chosen point re-run for its per-op records,
and the roofline of a GPU run.

The store keeps each point's totals and energy by component, not its per-op records, so the
report re-runs the chosen point through :func:`hwsim.api.simulate` and says so, with whether
the re-run's totals equal the stored ones.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hwsim.errors import HwsimError
from hwsim.sweep import METRICS, Store
from hwsim.sweep.store import SPEC_NAME

#: objectives a sweep file without ``objectives`` optimises (hwsim.sweep.spec's default)
DEFAULT_OBJECTIVES = ("total_cycles", "energy_total_pj")
#: result columns that are not metrics (every other column of the store is one)
NOT_METRICS = ("key", "status", "error", "params", "energy_pj", "wall_s", "version",
               "violation", "choice")


def default_direction(metric: str) -> str:
    """``max`` for the metrics hwsim.sweep counts higher-is-better, else ``min``."""
    from hwsim.sweep.spec import HIGHER_IS_BETTER

    return "max" if metric in HIGHER_IS_BETTER else "min"


@dataclass(frozen=True)
class SweepData:
    """One sweep folder's results: ``rows`` in key order, each ``{"key", "status", "error",
    "params" (flat: ``device.rows``...), "metrics", "energy_pj", "wall_s", "version"}``."""

    folder: Path
    frame: Any  # Store.frame(): the rows as the store holds them
    rows: tuple[dict[str, Any], ...]
    metrics: tuple[str, ...]  # the store's metric columns
    status: dict[str, int]
    objectives: tuple[str, ...]
    directions: tuple[str, ...]  # "min" or "max", one per objective
    objectives_from: str  # where the objectives came from (the stored sweep file or default)

    @property
    def done(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["status"] == "done"]

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["status"] == "failed"]

    def direction(self, metric: str) -> str:
        if metric in self.objectives:
            return self.directions[self.objectives.index(metric)]
        return default_direction(metric)

    def varying(self) -> list[str]:
        """Parameters whose value differs between points (the table's columns)."""
        names = sorted({k for r in self.rows for k in r["params"]})
        return [n for n in names if len({_text(r["params"].get(n)) for r in self.rows}) > 1]

    def fixed(self) -> dict[str, Any]:
        """Parameters every point shares, with their one value."""
        vary = set(self.varying())
        first = self.rows[0]["params"]
        return {k: first[k] for k in sorted(first) if k not in vary}

    def point(self, prefix: str) -> dict[str, Any]:
        """The done row whose key starts with ``prefix`` (exactly one)."""
        hits = [r for r in self.rows if r["key"].startswith(prefix)] if prefix else []
        done = [r for r in hits if r["status"] == "done"]
        if len(done) == 1:
            return done[0]
        if not hits:
            raise HwsimError(f"--point {prefix!r} matches no point of {str(self.folder)!r}; "
                             "give the start of a key from the report's table")
        if not done:
            raise HwsimError(f"--point {prefix!r} is a failed point; choose a done one")
        raise HwsimError(f"--point {prefix!r} matches {len(done)} points; give more of the key")


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def flatten(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"device": {"rows": 8}}`` -> ``{"device.rows": 8}`` (lists stay values)."""
    out: dict[str, Any] = {}
    for k, v in params.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def load_sweep_data(folder: str | Path) -> SweepData:
    """A sweep folder's rows; a folder without a store, or a store with no finished point, is
    one :class:`HwsimError`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise HwsimError(f"{str(folder)!r} is not a folder; give a sweep folder "
                         "('hwsim sweep FILE -o DIR' makes one)")
    with Store(folder) as store:
        frame = store.frame()
        status = store.status()
    if frame.empty:
        raise HwsimError(f"the sweep store in {str(folder)!r} holds no finished point yet "
                         f"({status['pending']} pending); run or resume the sweep first")
    metrics = tuple(c for c in frame.columns if c not in NOT_METRICS)
    rows = []
    for rec in frame.to_dict("records"):
        energy = rec["energy_pj"]
        rows.append({
            "key": rec["key"], "status": rec["status"],
            "error": _str(rec["error"]), "violation": _str(rec.get("violation")),
            "raw_params": json.loads(rec["params"]),
            "params": flatten(json.loads(rec["params"])),
            "metrics": {m: _number(rec[m]) for m in metrics},
            "energy_pj": json.loads(energy) if isinstance(energy, str) else {},
            "wall_s": _number(rec["wall_s"]), "version": rec["version"]})
    objectives, directions, source = _objectives(folder)
    return SweepData(folder, frame, tuple(rows), metrics, status, objectives, directions,
                     source)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: Any) -> float | int | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _objectives(folder: Path) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """The stored sweep file's objectives and their directions."""
    from hwsim.sweep import load_sweep

    spec = folder / SPEC_NAME
    if not spec.is_file():
        return (DEFAULT_OBJECTIVES, tuple(default_direction(o) for o in DEFAULT_OBJECTIVES),
                f"no {SPEC_NAME} beside the store: the default objectives")
    try:
        sweep = load_sweep(spec)
    except HwsimError as exc:
        raise HwsimError(f"{str(spec)!r} (the stored sweep file): {exc}") from None
    return sweep.objectives, sweep.directions, f"the stored {SPEC_NAME}"


# --- Pareto fronts ---------------------------------------------------------------------------


def front_keys(data: SweepData, objectives: tuple[str, ...]) -> list[str]:
    """Keys of the points on the Pareto front of ``objectives`` (the sweep's directions),
    in key order: :func:`hwsim.sweep.pareto_front` on the store's rows."""
    from hwsim.sweep import pareto_front

    directions = [data.direction(o) for o in objectives]
    front = pareto_front(data.frame, list(zip(objectives, directions, strict=True)))
    return sorted(front["key"])


def best_row(data: SweepData, front: list[str]) -> dict[str, Any]:
    """The point of ``front`` (not empty) best on the first objective (ties: the smaller
    key)."""
    o = data.objectives[0]
    sign = -1.0 if data.direction(o) == "max" else 1.0
    keys = set(front)
    return min((r for r in data.done if r["key"] in keys),
               key=lambda r: (sign * r["metrics"][o], r["key"]))


# --- re-running a stored point ---------------------------------------------------------------


def rerun(params: dict[str, Any]) -> tuple[Any, Any]:
    """The spec and :class:`~hwsim.engine.result.RunResult` of a stored point, re-run through
    :func:`hwsim.api.simulate` (the sweep's own defaults: analytical costs, no trace)."""
    from hwsim.api import resolve_workload, simulate
    from hwsim.devices.base import build_spec, get_kind
    from workloads.formats import Precision

    device = dict(params["device"])
    spec = build_spec(get_kind(device.pop("kind")), None, device)
    wl = params["workload"]
    prec = Precision(**params["precision"]) if params.get("precision") else None
    graph = resolve_workload(wl["name"], phase=wl["phase"], seq=wl["seq"], kv_len=wl["kv_len"],
                             batch=wl["batch"], precision=prec)
    return spec, simulate(spec, graph, layers=wl["layers"])


def rerun_differences(row: dict[str, Any], res: Any) -> list[str]:
    """Metrics where a re-run differs from the stored row (relative 1e-9: the same code gives
    the same numbers; another suite version may not)."""
    out = []
    for m in METRICS:
        stored, now = row["metrics"][m], getattr(res, m)
        if stored is None or not math.isclose(stored, now, rel_tol=1e-9, abs_tol=0.0):
            out.append(f"{m}: stored {stored!r}, re-run {now!r}")
    return out


# --- roofline (GPU runs) ---------------------------------------------------------------------


@dataclass(frozen=True)
class Roofline:
    """Roofs of a GPU spec and its run's ops as points. ``compute_roofs``: tensor-core and
    CUDA-core peaks in FLOP/s (OP/s for int8), by path; ``bandwidth_roofs``: bytes/s.
    ``points``: (op name, op type, FLOP/byte over HBM, attained FLOP/s); ``skipped``: ops
    without MACs or HBM traffic (no point on a log-log roofline)."""

    device: str
    compute_roofs: dict[str, float]
    bandwidth_roofs: dict[str, float]
    points: tuple[tuple[str, str, float, float], ...]
    skipped: int

    def roof(self, intensity: float) -> float:
        """The highest attainable FLOP/s at ``intensity`` (the top compute roof, the HBM
        peak's slope)."""
        return min(max(self.compute_roofs.values()), intensity * self.bandwidth_roofs["HBM"])


def roofline(spec: Any, res: Any) -> Roofline | None:
    """The roofline of a GPU run (None for other devices): ops' FLOPs (2 x MACs) over their
    simulated HBM bytes, against the preset's dense peaks and HBM/L2 bandwidths."""
    from hwsim.devices.base import kind_of
    from hwsim.devices.gpu.spec import PATHS

    if kind_of(spec).name != "gpu":
        return None
    compute = {f"{p} tensor": spec.peak_ops(p) for p in PATHS if spec.peak_ops(p) > 0}
    compute["fp32 CUDA cores"] = spec.fp32_tflops * 1e12
    bandwidth = {"HBM": spec.hbm_gb_s * 1e9, "L2": spec.l2_gb_s * 1e9}
    hz = res.clock_mhz * 1e6
    points, skipped = [], 0
    for o in res.ops:
        if o.macs <= 0 or o.dram_bytes <= 0 or o.total_cycles <= 0:
            skipped += 1
            continue
        flops = 2.0 * o.macs
        points.append((o.name, o.op_type, flops / o.dram_bytes, flops / (o.total_cycles / hz)))
    return Roofline(spec.name, compute, bandwidth, tuple(points), skipped)
