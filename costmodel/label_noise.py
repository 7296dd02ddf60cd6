"""How far one circuit's synthesised figures spread over the order of its Verilog statements.

ABC maps a netlist by heuristics that meet the logic in the order Yosys hands it over, and that
order follows the text: the continuous assignments of one circuit listed in another order (still
the same circuit: ``order_seed`` of :func:`rtl.export.to_verilog`) give other gate, LUT and depth
counts. The dataset synthesised every design once, in the generated order, so each of its Yosys
labels (area, LUTs, depth; not delay, PyRTL's timing, nor energy, a simulation of the PyRTL
netlist) is one draw from that spread, and no model of the design's parameters can know which.

:func:`order_spread` synthesises designs in several orders (order 0 is the dataset's own, and is
checked against it); :func:`noise_table` gives per family and combinational/pipelined design the
MAPE that the median over orders, a prediction free of model error, scores against the single
runs: a floor under what any parameter model can score on labels drawn this way.
:func:`model_vs_orders` scores a model's predictions against the dataset's labels and against
the median over orders.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from costmodel.space import DesignPoint
from hwsim.errors import HwsimError

#: the Yosys targets the order moves: target name -> dataset column
NOISY = {"area": "area_transistors", "luts": "fpga_luts", "depth": "logic_depth"}
#: families whose designs synthesise in under this many seconds (median) are sampled
MAX_SYNTH_S = 20.0


def sample_points(df: Any, *, share: float = 0.08, least: int = 4, seed: int = 0,
                  max_synth_s: float = MAX_SYNTH_S) -> list[DesignPoint]:
    """A ``share`` of the designs of ``df`` (a dataset table), at least ``least`` (or all), per
    family and combinational/pipelined stratum, drawn with ``seed``, from the families whose
    median synthesis time is at most ``max_synth_s`` seconds."""
    if not 0 < share <= 1:
        raise HwsimError(f"share must be in (0, 1], got {share!r}")
    if isinstance(least, bool) or not isinstance(least, int) or least < 1:
        raise HwsimError(f"least must be a positive integer, got {least!r}")
    med = df.groupby("unit")["synth_s"].median()
    cheap = df[df["unit"].isin(med[med <= max_synth_s].index)]
    fields = list(DesignPoint.__dataclass_fields__)
    rng = np.random.default_rng(seed)
    points = []
    for _, g in cheap.groupby([cheap["unit"], cheap["pipeline"] > 0], sort=True):
        k = min(len(g), max(least, round(share * len(g))))
        recs = g[fields].to_dict("records")
        points += [DesignPoint.from_dict(recs[i]) for i in sorted(rng.permutation(len(g))[:k])]
    return points


def _synth(p: DesignPoint, order: int, build_dir: Path) -> dict[str, Any]:
    from costmodel.dataset import FAMILY_FPGA, synthesised_costs
    from rtl.synth import synthesize
    from rtl.unit import build_unit

    rep = synthesize(build_unit(p.unit, **p.params()), families=(FAMILY_FPGA,),
                     build_dir=build_dir, order_seed=order)
    costs = synthesised_costs(rep)
    return {"key": p.key, "unit": p.unit, "format": p.format, "pipeline": p.pipeline,
            "order": order, **{t: float(costs[c]) for t, c in NOISY.items()}}


def order_spread(points: Sequence[DesignPoint], *, orders: int = 5, jobs: int = 2,
                 build_dir: str | Path, progress: bool = True) -> Any:
    """A table of every design of ``points`` synthesised in ``orders`` statement orders (0:
    the generated one), ``jobs`` Yosys runs at a time: key, unit, format, pipeline, order and
    the :data:`NOISY` targets."""
    import pandas as pd
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    if isinstance(orders, bool) or not isinstance(orders, int) or orders < 2:
        raise HwsimError(f"orders must be an integer of at least 2, got {orders!r}")
    jobs_list = [(p, k) for p in points for k in range(orders)]
    rows = []
    cols = (TextColumn("[bold]syntheses"), BarColumn(), MofNCompleteColumn())
    # processes, not threads: PyRTL builds every circuit in one global working block
    with Progress(*cols, disable=not progress) as bar, ProcessPoolExecutor(jobs) as pool:
        task = bar.add_task("", total=len(jobs_list))
        for r in pool.map(_synth, *zip(*jobs_list, strict=True),
                          [Path(build_dir)] * len(jobs_list)):
            rows.append(r)
            bar.update(task, advance=1)
    return pd.DataFrame(rows)


def check_order_zero(spread: Any, df: Any) -> list[str]:
    """Designs whose order-0 figures differ from the dataset's: none where this Yosys
    synthesises what the dataset's did (its rows come from the Yosys releases of the sessions
    that added them)."""
    ref = df.set_index("key")
    return [f"{r.key} {t}: {getattr(r, t)} != {ref.at[r.key, c]}"
            for r in spread[spread["order"] == 0].itertuples()
            for t, c in NOISY.items() if getattr(r, t) != float(ref.at[r.key, c])]


def design_noise(spread: Any) -> Any:
    """Per design: the MAPE (%) of the median over orders against each order's figure, per
    :data:`NOISY` target, with its unit and whether it is pipelined."""
    import pandas as pd

    out = []
    for key, g in spread.groupby("key", sort=False):
        rec = {"key": key, "unit": g["unit"].iat[0], "format": g["format"].iat[0],
               "pipelined": bool(g["pipeline"].iat[0] > 0)}
        for t in NOISY:
            v = g[t].to_numpy(float)
            rec[t] = float(np.mean(np.abs(v - np.median(v)) / np.maximum(v, 1e-9)) * 100)
        out.append(rec)
    return pd.DataFrame(out)


def stratum_noise(spread: Any) -> Any:
    """Per family and combinational/pipelined stratum (the index): the designs sampled and the
    mean order noise (%) of each :data:`NOISY` target."""
    per = design_noise(spread)
    g = per.groupby(["unit", "pipelined"])
    return g[list(NOISY)].mean().join(g.size().rename("designs"))


def noise_table(spread: Any, df: Any) -> Any:
    """Per family: the designs sampled, the dataset's rows they stand for, and per :data:`NOISY`
    target the order noise (%), each design weighing the rows it stands for (:func:`stand_for`),
    so that the figure speaks for the family's rows as the dataset has them."""
    import pandas as pd

    per = design_noise(spread)
    w = per["key"].map(stand_for(spread, df))
    out = []
    for unit, g in per.groupby("unit", sort=True):
        wu = w[g.index]
        out.append({"unit": unit, "designs": len(g), "rows": round(float(wu.sum())),
                    **{t: float(np.average(g[t], weights=wu)) for t in NOISY}})
    return pd.DataFrame(out)


def floor_estimate(table: Any) -> dict[str, float]:
    """The order noise (%) over every row of the sampled families: the families' figures
    weighted by their rows in the dataset."""
    w = table["rows"].to_numpy(float)
    return {t: float(np.sum(table[t].to_numpy(float) * w) / w.sum()) for t in NOISY}


def stand_for(spread: Any, df: Any) -> dict[str, float]:
    """Design key -> the dataset rows each sampled design stands for: its stratum's rows in
    ``df`` over the designs sampled from it."""
    per = design_noise(spread)
    rows_in = df.groupby([df["unit"], df["pipeline"] > 0]).size()
    sampled = per.groupby(["unit", "pipelined"]).size()
    return {r.key: float(rows_in[(r.unit, r.pipelined)] / sampled[(r.unit, r.pipelined)])
            for r in per.itertuples()}


def model_vs_orders(spread: Any, df: Any, predicted: dict[str, float], target: str
                    ) -> dict[str, float]:
    """The MAPE (%) of ``predicted`` (design key -> a model's prediction of ``target``) over the
    designs of ``spread`` it names: against the dataset's label (``df``, what the model was
    fitted and scored on) and against the median over orders (the label with the order noise
    taken out); and the order noise of those designs. Each design weighs the dataset rows it
    stands for among the designs predicted (:func:`stand_for`), so the figures speak for the
    sampled families' rows as the dataset has them, not for the sample's share of a stratum."""
    spread = spread[spread["key"].isin(predicted)]
    med = spread.groupby("key")[target].median()
    keys = list(med.index)
    rows = stand_for(spread, df)
    w = np.array([rows[k] for k in keys])
    label = df.set_index("key")[NOISY[target]]
    p = np.array([predicted[k] for k in keys])

    def mape(y: np.ndarray) -> float:
        return float(np.average(np.abs(p - y) / y, weights=w) * 100)

    noise = design_noise(spread).set_index("key").loc[keys, target].to_numpy(float)
    return {"designs": len(keys), "vs_label": mape(label[keys].to_numpy(float)),
            "vs_median": mape(med[keys].to_numpy(float)),
            "noise": float(np.average(noise, weights=w))}
