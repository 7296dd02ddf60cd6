"""Bring the shipped dataset's order-sensitive designs to their median run (issue 13).

``costmodel.dataset.label_orders`` asks for five statement orders of every design of a stratum
whose single-run Yosys figures move with the Verilog's order by more than the cost model's area
tolerance (``label_noise.md`` here measured it: the combinational converters). A sweep run
since does so itself; this brings the rows synthesised before, in one order, to the same flow:
it synthesises orders 1-4 of each (the row's own figures are order 0's), keeps the run of
median area as the row's Yosys figures, and writes

- ``costmodel/data/designs.csv``: the dataset with those rows replaced (``yosys_orders`` 5);
- ``costmodel/data/order_runs.csv``: every run of those designs (key, order, Yosys columns).

Syntheses are cached in ``build/label_noise`` (shared with ``label_noise.py``). Takes ~7
minutes on two cores. Run: ``python sim_results/costmodel/order_labels.py [--jobs N]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from costmodel.dataset import load_dataset, order_runs_path, shipped_dataset_path  # noqa: E402
from costmodel.label_noise import relabel  # noqa: E402
from hwsim.io import atomic_write_text  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2, help="Yosys runs at a time (default 2)")
    args = ap.parse_args()
    if args.jobs < 1:
        print(f"error: --jobs must be at least 1, got {args.jobs}", file=sys.stderr)
        return 2
    df = load_dataset()
    out, runs = relabel(df, build_dir=ROOT / "build" / "label_noise", jobs=args.jobs)
    if not len(runs):
        print("every row has the orders its design needs: nothing to do")
        return 0
    atomic_write_text(shipped_dataset_path(), out.to_csv(index=False))
    old = order_runs_path()
    if old.is_file():
        import pandas as pd

        runs = pd.concat([pd.read_csv(old), runs]).fillna(0)
    atomic_write_text(order_runs_path(), runs.to_csv(index=False))
    print(f"{runs['key'].nunique()} designs relabelled from {len(runs)} runs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
