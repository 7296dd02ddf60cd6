"""Reproduce the L-Mul precision comparison: writes results.csv, results.json and a plot.

    python sim_results/lmul_precision/run.py [--pairs N] [--seed S]

The setting is documented in hwsim/studies/lmul_precision.py; findings are in README.md here.
"""

from __future__ import annotations

import argparse
import csv
import io
from dataclasses import asdict
from pathlib import Path

from hwsim.io import atomic_write_json, atomic_write_text
from hwsim.plots import plot_lmul_precision
from hwsim.studies import lmul_precision

HERE = Path(__file__).resolve().parent
SIGMAS = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args(argv)

    results = [lmul_precision.run(args.pairs, s, args.seed) for s in SIGMAS]
    buf = io.StringIO()
    fields = ["sigma", *asdict(results[0].rows[0])]
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for r in results:
        for row in r.rows:
            w.writerow({"sigma": r.sigma, **{k: (f"{v:.6g}" if isinstance(v, float) else v)
                                             for k, v in asdict(row).items()}})
    atomic_write_text(args.out / "results.csv", buf.getvalue())
    atomic_write_json(args.out / "results.json", [asdict(r) for r in results])
    plot_lmul_precision(results, args.out / "lmul_vs_fp8.png")
    print(buf.getvalue())


if __name__ == "__main__":
    main()
