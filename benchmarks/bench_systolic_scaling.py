"""Run time of the systolic model against problem size: it must not grow with the tile count.

For square GEMMs from 256^3 to 65536^3 on a few arrays and all three dataflows, times one
simulation (CALC mode and a 10 words/cycle DRAM limit) and, on the layers it can do in a
few seconds (it simulates every cycle, a few thousand a second), SCALE-Sim 3.0.0 on the same
layer in the same run, as a ratio.

    .venv/bin/python benchmarks/bench_systolic_scaling.py [--scalesim-cycles 30000] [--json F]
"""

from __future__ import annotations

import argparse
import time

from hwsim.devices.systolic import SystolicSpec, simulate_gemm
from hwsim.devices.systolic import scalesim_compat as ss

SIZES = (256, 1024, 4096, 16384, 65536)
ARRAYS = ((1, 1), (32, 32), (7, 13), (256, 256))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scalesim-cycles", type=int, default=30_000,
                    help="run SCALE-Sim too on layers of at most this many compute cycles")
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args()
    rows: list[dict] = []
    for r, c in ARRAYS:
        kb = max(64, 2 * r * c // 1024)  # each SRAM half holds one array-sized tile
        for df in ("os", "ws", "is"):
            for bw in (None, 10):
                for n in SIZES:
                    spec = SystolicSpec(rows=r, cols=c, dataflow=df, sram_kb=(kb, kb, kb),
                                        bandwidth_words=bw)
                    t0 = time.perf_counter()
                    res = simulate_gemm(n, n, n, spec)
                    wall = time.perf_counter() - t0
                    row = {"array": f"{r}x{c}", "dataflow": df, "bandwidth": bw, "n": n,
                           "cycles": res.total_cycles, "wall_s": wall}
                    if (bw is None and res.compute_cycles <= args.scalesim_cycles
                            and ss.available()):
                        t1 = time.perf_counter()
                        ss.run([ss.gemm_row("l", n, n, n)], rows=r, cols=c, dataflow=df,
                               sram_kb=(kb, kb, kb))
                        row["scalesim_wall_s"] = time.perf_counter() - t1
                        row["speedup"] = row["scalesim_wall_s"] / wall
                    rows.append(row)
                    extra = (f", SCALE-Sim {row['scalesim_wall_s']:.2f} s "
                             f"({row['speedup']:,.0f}x)" if "speedup" in row else "")
                    print(f"{r}x{c} {df} {'CALC' if bw is None else f'{bw} w/c'} {n}^3: "
                          f"{res.total_cycles:,} cycles in {wall * 1e3:.1f} ms{extra}",
                          flush=True)
    worst = max(rows, key=lambda d: d["wall_s"])
    print(f"slowest: {worst['array']} {worst['dataflow']} {worst['n']}^3, "
          f"{worst['wall_s'] * 1e3:.1f} ms")
    if args.json:
        from hwsim.io import atomic_write_json

        atomic_write_json(args.json, {"runs": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
