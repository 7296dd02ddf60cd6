"""Guided search against the full grid, and the speed of a 10,000-point sweep:
``python -m benchmarks.bench_sweep`` from the repository root.

1. Front recall (the issue's target: >= 90% of the grid's Pareto front found with <= 20% of
   the grid's evaluations), on ``sweeps/resnet18_systolic_fpga.yaml`` (systolic + FPGA
   presets, ResNet-18) and ``sweeps/llama2_decode.yaml`` (systolic, LLaMA-2-7B decode): the
   whole grid is run (the same file with ``search: grid``), then the guided search as the
   file gives it and with each other sampler; recall is the share of the grid front's
   distinct objective vectors the guided run evaluated (:func:`hwsim.sweep.front_recall`).
2. Speed: ``sweeps/systolic_10k.yaml`` (ResNet-18, array shapes x dataflows x SRAM x formats,
   cost-model area and MAC energy per point) on ``--workers`` processes; the issue's target is
   under 10 minutes on 2 workers. ``--speed-sample N`` times a seeded random sample of N of
   its points instead and projects the full sweep from it (say so when you quote it). On a
   shared machine the wall time says more about the load than the sweep: it also prints the
   CPU seconds per point of a small in-process sample and the time on idle cores they imply.

Folders go to a temporary directory unless ``--out DIR`` (then a re-run resumes them).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from hwsim.io import read_mapping
from hwsim.sweep import Store, front_recall, pareto_front, parse_sweep, pool_evaluator, run_sweep
from hwsim.sweep.spec import SAMPLERS

RECALL_SWEEPS = ("sweeps/resnet18_systolic_fpga.yaml", "sweeps/llama2_decode.yaml")
SPEED_SWEEP = "sweeps/systolic_10k.yaml"
TARGET_RECALL, TARGET_SHARE, TARGET_SPEED_S = 0.90, 0.20, 600.0


def _as(data: dict, **changes) -> dict:
    out = {k: v for k, v in data.items() if k not in ("budget", "sampler", "samples")}
    return {**out, **changes}


def _timed_run(data: dict, folder: Path, workers: int) -> tuple[dict, float]:
    sweep = parse_sweep(data)
    evaluator = pool_evaluator(workers)
    t0 = time.perf_counter()
    try:
        status = run_sweep(sweep, folder, evaluator)
    finally:
        evaluator.close()
    return status, time.perf_counter() - t0


def recall_study(path: str, root: Path, workers: int, seeds: int = 3) -> dict:
    data = read_mapping(path, what="sweep file")
    name = Path(path).stem
    grid_status, grid_s = _timed_run(_as(data, search="grid"), root / f"{name}-grid", workers)
    sweep = parse_sweep(data)
    objectives = list(sweep.objectives)
    named = list(zip(sweep.objectives, sweep.directions, strict=True))
    with Store(root / f"{name}-grid") as store:
        grid = store.frame()
    front = pareto_front(grid, named)
    out = {"sweep": path, "grid_points": sweep.grid_size, "grid_done": grid_status["done"],
           "grid_s": grid_s, "front_points": len(front), "budget": sweep.budget, "guided": {}}
    print(f"{path}: grid {sweep.grid_size} points ({grid_status['done']} done, "
          f"{grid_status['failed']} failed) in {grid_s:.0f} s, {len(front)} on its Pareto "
          f"front ({', '.join(f'{o} {d}' for o, d in named)})")
    own = sweep.sampler[0]
    runs = [(own, None), (own, 0.0), *((s, None) for s in SAMPLERS if s != own)]
    for sampler, warm in runs:
        label = f"{sampler}{' alone' if warm == 0 else ''}"
        recalls, used_max = [], 0
        for seed in range(seeds):
            spec = _as(data, search="guided", budget=sweep.budget, sampler=sampler, seed=seed)
            if warm is not None:
                spec["warm_start"] = warm
            folder = root / f"{name}-{label.replace(' ', '-')}-{seed}"
            status, wall = _timed_run(spec, folder, workers)
            with Store(folder) as store:
                found = store.frame()
            found = found[(found["status"] == "done") & found["violation"].isna()]
            recall = front_recall(front, found, objectives)
            used = status["done"] + status["failed"]  # the warm start's evaluations too
            used_max = max(used_max, used)
            recalls.append(recall)
            print(f"  guided {label:12s} seed {seed}: {used} evaluations "
                  f"({used / sweep.grid_size:.0%} of the grid), front recall {recall:.0%} "
                  f"({recall * len(front):.0f}/{len(front)}), {used / wall:.2f} points/s")
        mean, low = sum(recalls) / len(recalls), min(recalls)
        share = used_max / sweep.grid_size
        ok = mean >= TARGET_RECALL and share <= TARGET_SHARE
        out["guided"][label] = {"recalls": recalls, "mean": mean, "min": low,
                                "share": share, "meets": ok}
        print(f"  guided {label:12s}: mean recall {mean:.0%} (min {low:.0%}) over {seeds} "
              f"seeds -> {'meets' if ok else 'MISSES'} the target (>= {TARGET_RECALL:.0%} "
              f"with <= {TARGET_SHARE:.0%})")
    return out


def speed_study(root: Path, workers: int, sample: int | None) -> dict:
    data = read_mapping(SPEED_SWEEP, what="sweep file")
    grid = parse_sweep(data)
    spec = data if sample is None else _as(data, search="random", samples=sample, seed=0)
    load = os.getloadavg()
    status, wall = _timed_run(spec, root / "systolic_10k", workers)
    n = status["done"] + status["failed"]
    projected = wall * grid.grid_size / n
    with Store(root / "systolic_10k") as store:
        rows = store.frame()
    per_point = rows["wall_s"].describe()
    out = {"grid_points": grid.grid_size, "points_run": n, "failed": status["failed"],
           "wall_s": wall, "points_per_s": n / wall, "projected_full_s": projected,
           "workers": workers, "load_before": load, "load_after": os.getloadavg(),
           "worker_s_per_point": {"mean": per_point["mean"], "max": per_point["max"]},
           "cost_features_done": int(rows["area_transistors"].notna().sum())}
    what = "all" if sample is None else f"a random sample of {n} of the"
    print(f"{SPEED_SWEEP}: {what} {grid.grid_size} points on {workers} workers in {wall:.0f} s "
          f"({n / wall:.2f} points/s, {status['failed']} failed; a worker spends "
          f"{per_point['mean']:.3f} s per point on average, {per_point['max']:.2f} s at most); "
          f"load average before {load[0]:.1f}, after {out['load_after'][0]:.1f}")
    verdict = "meets" if projected <= TARGET_SPEED_S else "MISSES"
    print(f"  full sweep {'measured' if sample is None else 'projected'}: {projected:.0f} s "
          f"-> {verdict} the target (< {TARGET_SPEED_S:.0f} s on 2 workers)")
    out["cpu"] = cpu_projection(grid, workers)
    return out


def cpu_projection(grid, workers: int, n: int = 30) -> dict:
    """CPU seconds per point of a seeded sample run in this process, and the sweep's time on
    ``workers`` idle cores at that rate: what the wall time would be on a machine no one else
    loads (an estimate; it leaves out the driver's own work and the pool's hand-offs)."""
    import random

    from hwsim.sweep import evaluate, make_point

    points = [make_point(grid._choice(i))
              for i in random.Random(1).sample(range(grid.grid_size), n)]
    evaluate(points[0].task)  # imports and the first graph outside the timing
    c0 = time.process_time()
    for p in points:
        evaluate(p.task)
    cpu = (time.process_time() - c0) / n
    idle = cpu * grid.grid_size / workers
    print(f"  CPU time: {cpu:.3f} s per point ({n} points in this process) -> "
          f"{idle:.0f} s for the whole sweep on {workers} idle cores (an estimate)")
    return {"cpu_s_per_point": cpu, "idle_projection_s": idle, "sample": n}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="keep the sweep folders here")
    ap.add_argument("--skip-recall", action="store_true")
    ap.add_argument("--seeds", type=int, default=3, help="seeds per guided search")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--speed-sample", type=int, default=None, metavar="N",
                    help="time N random points of the 10k sweep and project the rest")
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or Path(tmp)
        results: dict = {}
        if not args.skip_recall:
            results["recall"] = [recall_study(p, root, args.workers, args.seeds)
                                 for p in RECALL_SWEEPS]
        if not args.skip_speed:
            results["speed"] = speed_study(root, args.workers, args.speed_sample)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=float))


if __name__ == "__main__":
    main()
