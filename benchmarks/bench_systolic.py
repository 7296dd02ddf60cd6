"""Our systolic-array model vs SCALE-Sim v3 on every ResNet-18 layer (32x32, os/ws/is).

Both run in this process on the same layers; prints per-dataflow cycle agreement and the
wall-time ratio, plus how long a whole LLaMA-2-7B decode step takes on the array.

    .venv/bin/python benchmarks/bench_systolic.py [--layers N] [--dataflows os,ws,is]

SCALE-Sim simulates every cycle (a few thousand per second), so the full run takes minutes.
"""

from __future__ import annotations

import argparse
import time

from hwsim.devices import run
from hwsim.devices.systolic import SystolicSpec
from hwsim.devices.systolic import scalesim_compat as ss
from workloads import Conv2d, MatMul, build_workload


def resnet18_layers(limit: int | None) -> list:
    g = build_workload("resnet18", precision="int8")
    ops = [o for o in g.ops if isinstance(o, Conv2d | MatMul)]
    return ops[:limit] if limit else ops


def scalesim_row(op) -> tuple[str, bool]:
    if isinstance(op, MatMul):
        return ss.gemm_row(op.name, op.m, op.k, op.n), True
    _, c, _, _ = op.x_shape
    _, _, ho, wo = op.out_shape
    kh, kw = op.kernel
    s = op.stride[0]
    # the input extent the outputs use: SCALE-Sim rounds a partial stride step up
    return ss.conv_row(op.name, (ho - 1) * s + kh, (wo - 1) * s + kw, kh, kw, c,
                       op.out_channels, s), False


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=None)
    ap.add_argument("--dataflows", default="os,ws,is")
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args()
    ops = resnet18_layers(args.layers)
    out: dict = {"layers": len(ops), "array": "32x32", "dataflows": {}}
    for df in args.dataflows.split(","):
        spec = SystolicSpec(rows=32, cols=32, dataflow=df)
        t0 = time.perf_counter()
        ours = run(spec, ops)
        t_ours = time.perf_counter() - t0
        t_ref = 0.0
        ref_cycles, ref_total = [], []
        for op in ops:
            row, gemm = scalesim_row(op)
            t1 = time.perf_counter()
            r = ss.run([row], rows=32, cols=32, dataflow=df, gemm=gemm)[0]
            t_ref += time.perf_counter() - t1
            ref_cycles.append(r.compute_cycles)
            ref_total.append(r.total_cycles_incl_prefetch)
        mine = [o.compute_cycles for o in ours.ops]
        same = sum(a == b for a, b in zip(mine, ref_cycles, strict=True))
        same_total = sum(o.total_cycles == b for o, b in zip(ours.ops, ref_total, strict=True))
        tot_err = sum(o.total_cycles for o in ours.ops) / sum(ref_total) - 1
        out["dataflows"][df] = {
            "layers_identical": same, "layers_identical_total": same_total,
            "compute_cycles_ours": sum(mine),
            "compute_cycles_scalesim": sum(ref_cycles),
            "total_incl_prefetch_rel_diff": tot_err,
            "wall_s_ours": t_ours, "wall_s_scalesim": t_ref, "speedup": t_ref / t_ours,
        }
        print(f"{df}: {same}/{len(ops)} layers identical compute cycles "
              f"({sum(mine):,} vs {sum(ref_cycles):,}); incl.-prefetch total {tot_err:+.2%} "
              f"({same_total}/{len(ops)} layers identical); "
              f"ours {t_ours * 1e3:.1f} ms, SCALE-Sim {t_ref:.1f} s: {t_ref / t_ours:,.0f}x",
              flush=True)
    g = build_workload("llama2-7b", phase="decode", kv_len=1024, precision="w4a8")
    t0 = time.perf_counter()
    res = run(SystolicSpec(rows=32, cols=32, dataflow="ws"), g)
    t_llama = time.perf_counter() - t0
    out["llama2_7b_decode"] = {"wall_s": t_llama, "compute_cycles": res.compute_cycles,
                               "ops": len(g.ops)}
    print(f"LLaMA-2-7B decode step (kv 1024, {len(g.ops)} ops) on 32x32 ws: "
          f"{res.compute_cycles:,} cycles, simulated in {t_llama:.3f} s")
    if args.json:
        from hwsim.io import atomic_write_json

        atomic_write_json(args.json, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
