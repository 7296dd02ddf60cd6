"""Batch prediction throughput of the shipped cost model (``python benchmarks/bench_costmodel.py``).

Target: at least 100,000 predictions per second. Two ways of asking, 100,000 queries each:

- feature matrix: the features are already computed (a sweep that reuses them), all five
  targets with their 90% intervals;
- design points: a sweep's queries drawn from 500 distinct configurations of the design space,
  features computed once per distinct configuration (read from the shipped dataset for designs
  it holds, cached afterwards), one target.

Also reported, without a target: the time to compute the features of design points the dataset
does not hold (the netlist is built and lowered to gates), which bounds sweeps over new designs.
A "prediction" is one design's value for one target with its interval.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

TARGET_PER_S = 100_000
N = 100_000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()

    from costmodel.dataset import load_dataset
    from costmodel.features import compute_design_features
    from costmodel.models import single_thread
    from costmodel.space import design_space
    from costmodel.store import load_model, shipped_model_path

    model = load_model(shipped_model_path())
    df = load_dataset()
    x = model.features.matrix(df)
    x = np.resize(x, (N, x.shape[1]))
    results = {}
    with single_thread():
        model.predict_matrix(x[:1000])  # warm-up
        t0 = time.perf_counter()
        out = model.predict_matrix(x)
        dt = time.perf_counter() - t0
        n_pred = N * len(out)
        results["matrix_all_targets_per_s"] = n_pred / dt
        pts = design_space()[:500]
        queries = [pts[i] for i in np.random.default_rng(0).integers(0, len(pts), N)]
        t0 = time.perf_counter()
        model.predict_points(queries, targets=("energy",))
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        model.predict_points(queries, targets=("energy",))
        warm = time.perf_counter() - t0
    results["points_one_target_cold_per_s"] = N / cold
    results["points_one_target_warm_per_s"] = N / warm
    for k, v in results.items():
        ok = "ok" if v >= TARGET_PER_S else "BELOW TARGET"
        print(f"{k:<34} {v:>12,.0f} predictions/s  ({ok}, target {TARGET_PER_S:,})")
    new = _unseen_points(df)
    t0 = time.perf_counter()
    for p in new:
        compute_design_features(p)
    per_new = (time.perf_counter() - t0) / len(new)
    print(f"{'features of a new design point':<34} {per_new:>12.3f} s each "
          f"({len(new)} points not in the dataset: {', '.join(sorted({p.unit for p in new}))})")
    results["new_point_features_s"] = per_new
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({**results, "target_per_s": TARGET_PER_S, "n": N}, fh, indent=2)
    return 0


def _unseen_points(df) -> list:
    """A mix of units over formats the sweep does not cover (none is in the dataset)."""
    from costmodel.space import DesignPoint

    pts = [DesignPoint(u, f) for u in ("minifloat-mul", "minifloat-add", "lmul", "convert")
           for f in ("e3m4", "e7m2")]
    pts += [DesignPoint("mac", "e3m4", acc=a) for a in ("fp16", "bf16")]
    pts += [DesignPoint("int-mul", "int9"), DesignPoint("int-mac", "int9")]
    known = set(df["key"])
    return [p for p in pts if p.key not in known]


if __name__ == "__main__":
    raise SystemExit(main())
