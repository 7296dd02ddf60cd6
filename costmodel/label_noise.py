"""How far one circuit's synthesised figures spread over the order of its Verilog statements.

ABC maps a netlist by heuristics that meet the logic in the order Yosys hands it over, and that
order follows the text: the continuous assignments of one circuit listed in another order (still
the same circuit: ``order_seed`` of :func:`rtl.export.to_verilog`) give other gate, LUT and depth
counts. The dataset synthesises a design once, in the generated order, so each of its Yosys
labels (area, LUTs, depth; not delay, PyRTL's timing, nor energy, a simulation of the PyRTL
netlist) is one draw from that spread, and no model of the design's parameters can know which;
but for the strata this spread moves by more than the model's area tolerance
(:data:`costmodel.dataset.ORDER_SENSITIVE`), whose rows hold the run of median area over five
orders (:func:`relabel` brings rows synthesised in one order there).

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


def _costs(p: DesignPoint, order: int, build_dir: Path) -> dict[str, Any]:
    """The dataset's Yosys columns of ``p`` synthesised in statement order ``order``."""
    from costmodel.dataset import FAMILY_FPGA, synthesised_costs
    from rtl.synth import synthesize
    from rtl.unit import build_unit

    return synthesised_costs(synthesize(build_unit(p.unit, **p.params()),
                                        families=(FAMILY_FPGA,), build_dir=build_dir,
                                        order_seed=order))


def _synth(p: DesignPoint, order: int, build_dir: Path) -> dict[str, Any]:
    costs = _costs(p, order, build_dir)
    return {"key": p.key, "unit": p.unit, "format": p.format, "pipeline": p.pipeline,
            "order": order, **{t: float(costs[c]) for t, c in NOISY.items()}}


def _run_pool(fn: Any, jobs_list: list[tuple[DesignPoint, int]], jobs: int, build_dir: Path,
              progress: bool) -> list[Any]:
    """``fn(point, order, build_dir)`` of every pair of ``jobs_list``, ``jobs`` at a time, in
    processes (PyRTL builds every circuit in one global working block), with a progress bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise HwsimError(f"jobs must be a positive integer, got {jobs!r}")
    out = []
    cols = (TextColumn("[bold]syntheses"), BarColumn(), MofNCompleteColumn())
    with Progress(*cols, disable=not progress) as bar, ProcessPoolExecutor(jobs) as pool:
        task = bar.add_task("", total=len(jobs_list))
        for r in pool.map(fn, *zip(*jobs_list, strict=True), [build_dir] * len(jobs_list)):
            out.append(r)
            bar.update(task, advance=1)
    return out


def relabel(df: Any, *, build_dir: str | Path, jobs: int = 2, progress: bool = True
            ) -> tuple[Any, Any]:
    """``df`` (a dataset table) with every row whose design
    :func:`costmodel.dataset.label_orders` synthesises in more statement orders than the row's
    ``yosys_orders`` (1) brought up to that many: the other orders synthesised (the row's own
    figures are order 0's), its Yosys columns replaced by the run of median area
    (:func:`costmodel.dataset.median_run`); and the table of every such row's runs (key, order,
    the Yosys columns), which keeps what the median leaves out."""
    import pandas as pd

    from costmodel.dataset import label_orders, median_run

    fields = list(DesignPoint.__dataclass_fields__)
    pts = [DesignPoint.from_dict(r) for r in df[fields].to_dict("records")]
    have = df["yosys_orders"].astype(int).to_numpy()
    todo = [(i, p) for i, p in enumerate(pts) if label_orders(p) > have[i]]
    for i, p in todo:
        if have[i] != 1:
            raise HwsimError(f"{p.key}: a row of {have[i]} orders keeps only its median run; "
                             "synthesise the design again from order 0")
    jobs_list = [(p, k) for _, p in todo for k in range(1, label_orders(p))]
    got = iter(_run_pool(_costs, jobs_list, jobs, Path(build_dir), progress))
    out, runs = df.copy(), []
    for i, p in todo:
        own = {c: df[c].iat[i] for c in yosys_columns(df)}
        design_runs = [own] + [next(got) for _ in range(1, label_orders(p))]
        runs += [{"key": p.key, "order": k, **r} for k, r in enumerate(design_runs)]
        med = median_run(design_runs)
        for c in sorted(set(med) - set(out.columns)):  # a cell type no row had
            out[c] = 0
        for c in yosys_columns(out):  # a cell type the median run lacks: none of it
            out.iloc[i, out.columns.get_loc(c)] = med.get(c, 0)
        out.iloc[i, out.columns.get_loc("yosys_orders")] = label_orders(p)
    table = pd.DataFrame(runs)
    cells = [c for c in table.columns if c.startswith("cell_")]
    table[cells] = table[cells].fillna(0).astype(int)
    return out, table


def yosys_columns(df: Any) -> list[str]:
    """The Yosys columns (:func:`costmodel.dataset.synthesised_costs`) ``df`` has."""
    from costmodel.dataset import YOSYS_COLUMNS

    return [c for c in df.columns if c in YOSYS_COLUMNS or c.startswith("cell_")]


def order_spread(points: Sequence[DesignPoint], *, orders: int = 5, jobs: int = 2,
                 build_dir: str | Path, progress: bool = True) -> Any:
    """A table of every design of ``points`` synthesised in ``orders`` statement orders (0:
    the generated one), ``jobs`` Yosys runs at a time: key, unit, format, pipeline, order and
    the :data:`NOISY` targets."""
    import pandas as pd

    if isinstance(orders, bool) or not isinstance(orders, int) or orders < 2:
        raise HwsimError(f"orders must be an integer of at least 2, got {orders!r}")
    jobs_list = [(p, k) for p in points for k in range(orders)]
    return pd.DataFrame(_run_pool(_synth, jobs_list, jobs, Path(build_dir), progress))


def check_order_zero(spread: Any, df: Any, runs: Any = None) -> list[str]:
    """Designs whose order-0 figures differ from the dataset's: none where this Yosys
    synthesises what the dataset's did (its rows come from the Yosys releases of the sessions
    that added them). A row that holds its median run (``yosys_orders`` above 1) is checked
    against its order-0 run in ``runs`` (the table :func:`relabel` returns)."""
    ref = df.set_index("key")[list(NOISY.values())].copy()
    if runs is not None and len(runs):
        zero = runs[runs["order"] == 0].set_index("key")
        ref.loc[zero.index.intersection(ref.index)] = zero[list(NOISY.values())]
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
