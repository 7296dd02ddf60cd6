"""Workload energy under the analytical and the learned cost providers; writes results.csv/json,
energy.md and energy.png here.

    python sim_results/device_energy/run.py

About a minute: each workload and format is simulated once per provider; the learned provider
computes the features of designs the shipped dataset does not hold (a few seconds each).
"""

from __future__ import annotations

import argparse
import csv
import io
from dataclasses import asdict
from pathlib import Path

from hwsim.io import atomic_write_json, atomic_write_text
from hwsim.plots import plot_provider_energy
from hwsim.studies import device_energy

HERE = Path(__file__).resolve().parent


def markdown(rows: list[device_energy.EnergyRow]) -> str:
    lines = ["| workload | format | GMACs | pJ/MAC analytical | pJ/MAC learned | "
             "MAC uJ analytical | MAC uJ learned | memory uJ | total uJ analytical | "
             "total uJ learned |", "|---|---|---|---|---|---|---|---|---|---|"]
    by = {(r.workload, r.fmt, r.provider): r for r in rows}
    for (w, f, p), a in by.items():
        if p != "analytical":
            continue
        b = by[(w, f, "learned")]
        lines.append(f"| {w} | {f} | {a.macs / 1e9:.3f} | {a.pj_per_mac:.3f} | "
                     f"{b.pj_per_mac:.3f} | {a.mac_uj:.1f} | {b.mac_uj:.1f} | "
                     f"{a.sram_uj + a.dram_uj:.1f} | {a.total_uj:.1f} | {b.total_uj:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args(argv)
    rows = device_energy.run(on_row=lambda r: print(
        f"  {r.workload:<30} {r.fmt:<11} {r.provider:<10} {r.pj_per_mac:6.3f} pJ/MAC"))
    dicts = [{**asdict(r), "pj_per_mac": r.pj_per_mac, "total_uj": r.total_uj} for r in rows]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(dicts[0]))
    w.writeheader()
    w.writerows(dicts)
    atomic_write_text(args.out / "results.csv", buf.getvalue())
    atomic_write_json(args.out / "results.json", dicts)
    atomic_write_text(args.out / "energy.md", markdown(rows))
    plot_provider_energy(rows, args.out / "energy.png")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
