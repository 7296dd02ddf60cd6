"""Guided search (Optuna), cost-model features and constraints, Pareto fronts, resume, and
the CLI's errors for bad guided sweeps."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pandas as pd
import pytest
import yaml

from costmodel.provider import LearnedCostProvider, Op, fpga_pe_resources
from hwsim.cli import main
from hwsim.devices.systolic.fpga import PE_KINDS
from hwsim.sweep import (
    Store,
    front_recall,
    pareto_front,
    parse_sweep,
    pool_evaluator,
    run_sweep,
)
from hwsim.sweep.pareto import non_dominated

# 4 x 4 array shapes x 3 dataflows x 2 formats (96 points) on 3 layers of ResNet-8
GRID = {"device": {"name": "systolic", "rows": [4, 8, 16, 32], "cols": [4, 8, 16, 32],
                   "dataflow": ["os", "ws", "is"]},
        "workload": {"name": "resnet8", "layers": 3}, "format": ["int8", "fp8_e4m3fn"],
        "objectives": ["total_cycles", "area_transistors"]}
# the target, fixed before measuring: >= 90% of the grid's front with <= 20% of its
# evaluations (19 of 96), the default sampler (TPE), seed 0
RECALL_TARGET = 0.90
BUDGET = 19


def _guided(**changes):
    return {**GRID, "search": "guided", "budget": BUDGET, "seed": 0, **changes}


def _rows(folder):
    with Store(folder) as store:
        return store.frame()


def _counting(evaluator, stop_after=None):
    calls: list[str] = []

    def run(points):
        for point, outcome in evaluator(points):
            if stop_after is not None and len(calls) == stop_after:
                raise KeyboardInterrupt  # an interrupted run: nothing after this is stored
            calls.append(point.key)
            yield point, outcome
    return run, calls


def _dominated_by_loop(losses):
    """The plain definition, pair by pair."""
    out = []
    for i, a in enumerate(losses):
        out.append(not any(all(b <= a) and any(b < a) for j, b in enumerate(losses) if j != i))
    return np.array(out)


def test_non_dominated_equals_the_pairwise_definition():
    rng = np.random.default_rng(0)
    for n, k in ((1, 2), (40, 2), (300, 3), (700, 4)):
        losses = rng.integers(0, 6, size=(n, k)).astype(float)  # many ties
        assert (non_dominated(losses) == _dominated_by_loop(losses)).all()


def test_pareto_front_directions_and_what_counts():
    df = pd.DataFrame({
        "key": list("abcdefg"),
        "status": ["done"] * 5 + ["failed", "done"],
        "violation": [None, None, None, None, "area too big", None, None],
        "seconds": [1.0, 2.0, 3.0, 2.0, 0.5, 0.1, np.nan],
        "utilisation": [0.2, 0.5, 0.9, 0.4, 0.99, 1.0, 1.0]})
    # lower seconds, higher utilisation: c, b and a trade off; d is dominated by b; e breaks
    # a constraint, f failed, g has no seconds
    front = pareto_front(df, ["seconds", "utilisation"])
    assert list(front["key"]) == ["a", "b", "c"]
    # both minimised: only a (lowest seconds, lowest utilisation) is left
    assert list(pareto_front(df, [("seconds", "min"), ("utilisation", "min")])["key"]) == ["a"]
    assert front_recall(front, df[df["key"].isin(["a", "c", "d"])],
                        ["seconds", "utilisation"]) == pytest.approx(2 / 3)


def test_cost_features_are_the_learned_providers_prices(tmp_path):
    sweep = parse_sweep({"device": {"name": ["systolic", "fpga:pynq-z2:int8-dsp"],
                                    "rows": [4, 8], "cols": 8},
                         "workload": {"name": "resnet8", "layers": 1},
                         "format": ["int8", "fp8_e4m3fn"], "objectives": ["mac_energy_pj"]})
    run_sweep(sweep, tmp_path, pool_evaluator(1))
    rows = _rows(tmp_path)
    assert len(rows) == 8
    costs = LearnedCostProvider()
    for _, r in rows.iterrows():
        p = json.loads(r["params"])
        fmt, pes = p["precision"]["act"], p["device"]["rows"] * p["device"]["cols"]
        assert r["mac_energy_pj"] == pytest.approx(costs.energy_pj(Op("mac", fmt)))
        assert r["area_transistors"] == pytest.approx(pes * costs.area(Op("mac", fmt)).value)
        if p["device"]["pe"] in PE_KINDS:  # the FPGA preset: its PE's measured LUTs
            luts = fpga_pe_resources(PE_KINDS[p["device"]["pe"]]).luts
            assert r["fpga_luts"] == pes * luts
        else:
            assert pd.isna(r["fpga_luts"])


@pytest.fixture(scope="module")
def grid_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("grid")
    status = run_sweep(parse_sweep(GRID), folder, pool_evaluator(2))
    assert status == {"done": 96, "failed": 0, "pending": 0}
    return folder


@pytest.fixture(scope="module")
def grid_front(grid_folder):
    return pareto_front(grid_folder, GRID["objectives"])


@pytest.fixture(scope="module")
def grid_rows(grid_folder):
    with Store(grid_folder) as store:
        rows = store.frame()
        choices = dict(store.db.execute("SELECT key, choice FROM plan"))
    return rows.assign(choice=rows["key"].map(choices))


@pytest.mark.xfail(strict=True, reason=(
    "measured: the default search (warm start from the surrogate on 10 of the 19 "
    "evaluations, then TPE) found 6 of the grid's 7 front points (86%) with seeds 0, 1 and "
    "2 alike; the target, 90% of a 7-point front, needs all 7"))
def test_guided_finds_the_grids_front_with_a_fifth_of_the_evaluations(tmp_path, grid_front):
    """The default search against the grid's true front, which the search never sees, over
    three seeds (the claim is for their mean); every evaluation counts, the warm start's
    too."""
    recalls = []
    for seed in (0, 1, 2):
        evaluator, calls = _counting(pool_evaluator(1))
        status = run_sweep(parse_sweep(_guided(seed=seed)), tmp_path / str(seed), evaluator)
        assert status == {"done": BUDGET, "failed": 0, "pending": 0}
        assert len(calls) == len(set(calls)) == BUDGET <= 0.2 * 96
        recalls.append(front_recall(grid_front, _rows(tmp_path / str(seed)),
                                    GRID["objectives"]))
    assert min(recalls) > 0  # the warm start reaches the front (the sampler alone did not)
    assert np.mean(recalls) >= RECALL_TARGET, f"recalls {recalls} of {len(grid_front)} points"


@pytest.mark.xfail(strict=True, reason=(
    "measured: TPE alone (warm_start 0, seed 0) found 0 of the grid's 7 front points with 19 "
    "of 96 evaluations (NSGA-II 1, random 2, over seeds 0-1: 0-2); the whole front is ws + "
    "int8, which ten random start-up trials and nine guided ones rarely reach; in batches of "
    "2, as the benchmark runs it, seeds 0-2 found 1, 4 and 3 of 7 (mean 38%)"))
def test_the_sampler_alone_misses_the_front(tmp_path, grid_front):
    run_sweep(parse_sweep(_guided(warm_start=0)), tmp_path, pool_evaluator(1))
    recall = front_recall(grid_front, _rows(tmp_path), GRID["objectives"])
    assert recall >= RECALL_TARGET, f"recall {recall:.0%} of {len(grid_front)} front points"


def _surrogate_vs_grid(grid_rows):
    """(simulated, predicted) cycles, energy and area of every grid point."""
    from hwsim.sweep import make_point
    from hwsim.sweep.surrogate import predict

    sim, pred = [], []
    for _, r in grid_rows.iterrows():
        p = make_point({k: tuple(v) if isinstance(v, list) else v
                        for k, v in json.loads(r["choice"]).items()})
        sim.append((r["total_cycles"], r["energy_total_pj"], r["area_transistors"]))
        guess = predict(p)
        pred.append((guess["total_cycles"], guess["energy_total_pj"],
                     guess["area_transistors"]))
    return np.array(sim, float), np.array(pred, float)


def test_the_surrogate_ranks_the_grid_as_the_simulator_does(grid_rows):
    """The warm start's predictions (closed forms, no simulation) against the simulator on
    every point of the grid: a lower bound of the cycles, ranked as the simulator ranks them
    (Spearman >= 0.95: the ranking is what the warm start uses); the cost features exact."""
    from scipy.stats import spearmanr

    sim, pred = _surrogate_vs_grid(grid_rows)
    assert (pred[:, 0] <= sim[:, 0]).all()
    for col in (0, 1):
        assert spearmanr(sim[:, col], pred[:, col])[0] >= 0.95
    assert pred[:, 2] == pytest.approx(sim[:, 2])


@pytest.mark.xfail(strict=True, reason=(
    "measured: the predicted energy is 2.34x-2.44x the simulated one on this grid (CALC mode, "
    "no DRAM bandwidth), though ranked alike; 1.03x-1.36x on the ResNet-18 systolic+FPGA grid "
    "and 1.00x on the LLaMA-2 decode grid"))
def test_the_surrogates_energy_is_within_half_of_the_simulators(grid_rows):
    sim, pred = _surrogate_vs_grid(grid_rows)
    ratio = pred[:, 1] / sim[:, 1]
    assert (ratio > 1 / 1.5).all() and (ratio < 1.5).all(), f"{ratio.min()}-{ratio.max()}"


def test_the_warm_start_is_the_predicted_first_layers(tmp_path):
    """The first evaluations are the points the surrogate ranks best, in its order; the
    grid's own results play no part."""
    from hwsim.sweep import make_point
    from hwsim.sweep.guided import _layers
    from hwsim.sweep.surrogate import predict

    sweep = parse_sweep(_guided(sampler="random"))
    evaluator, calls = _counting(pool_evaluator(1))
    run_sweep(sweep, tmp_path, evaluator)
    points = [make_point(sweep._choice(i)) for i in range(sweep.grid_size)]
    losses = np.array([[predict(p)[o] for o in GRID["objectives"]] for p in points])
    order = _layers(losses, np.zeros(len(points), dtype=bool))
    warm = round(0.5 * BUDGET)
    assert set(calls[:warm]) == {points[i].key for i in order[:warm]}


def test_a_resumed_guided_search_spends_only_what_is_left(tmp_path):
    sweep = parse_sweep(_guided(sampler="nsga2"))
    first, first_calls = _counting(pool_evaluator(1), stop_after=7)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(sweep, tmp_path, first)
    assert len(_rows(tmp_path)) == 7
    again, calls = _counting(pool_evaluator(1))
    assert run_sweep(sweep, tmp_path, again)["done"] == BUDGET
    assert len(calls) == BUDGET - 7 and not set(calls) & set(first_calls)
    with sqlite3.connect(tmp_path / "sweep.db") as c:
        assert c.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM results").fetchone() == \
            (BUDGET, BUDGET)
    # a third run has nothing left to spend
    third, calls = _counting(pool_evaluator(1))
    assert run_sweep(sweep, tmp_path, third)["done"] == BUDGET and calls == []


def test_constrained_out_points_are_stored_with_a_reason_and_left_off_the_front(tmp_path):
    limit = 1.0e6
    sweep = parse_sweep(_guided(constraints=[{"metric": "area_transistors", "max": limit}],
                                budget=12))
    run_sweep(sweep, tmp_path, pool_evaluator(1))
    rows = _rows(tmp_path)
    over = rows["area_transistors"] > limit
    assert over.any() and (~over).any()
    assert rows.loc[over, "violation"].str.fullmatch(
        r"area_transistors [0-9.e+]+ > max 1e\+06").all()
    assert rows.loc[~over, "violation"].isna().all()
    front = pareto_front(tmp_path)  # the sweep file's objectives
    assert len(front) and (front["area_transistors"] <= limit).all()


def test_cost_features_only_when_the_sweep_names_one(tmp_path):
    sweep = parse_sweep({**GRID, "objectives": ["total_cycles"],
                         "constraints": [{"metric": "total_cycles", "max": 20000}]})
    assert not sweep.needs_costs
    run_sweep(sweep, tmp_path, pool_evaluator(2))
    rows = _rows(tmp_path)
    assert rows["area_transistors"].isna().all() and rows["mac_energy_pj"].isna().all()
    over = rows["total_cycles"] > 20000
    assert over.any() and rows.loc[over, "violation"].notna().all()
    assert rows.loc[~over, "violation"].isna().all()


def test_a_store_made_before_the_cost_columns_gains_them(tmp_path):
    with sqlite3.connect(tmp_path / "sweep.db") as c:
        c.executescript("CREATE TABLE plan (key TEXT PRIMARY KEY, params TEXT NOT NULL);"
                        "CREATE TABLE results (key TEXT PRIMARY KEY, status TEXT NOT NULL,"
                        " error TEXT, params TEXT NOT NULL, total_cycles NUMERIC,"
                        " version TEXT NOT NULL);"
                        "INSERT INTO results VALUES ('k', 'done', NULL, '{}', 5, '0.1.0');")
    with Store(tmp_path, create=True) as store:
        rows = store.frame()
    assert rows.loc[0, "total_cycles"] == 5
    assert {"area_transistors", "mac_energy_pj", "fpga_luts", "violation"} <= set(rows)


@pytest.mark.parametrize("edit, says", [
    ({"objectives": ["latency"]}, "objective 'latency' is unknown"),
    ({"budget": 0}, "budget must be an integer >= 1"),
    ({"budget": 97}, "budget 97 exceeds the grid's 96 points; allowed: 1 to 96"),
    ({"constraints": [{"metric": "area", "max": 1}]}, "constraint metric 'area' is unknown"),
    ({"objectives": None}, "search 'guided' needs 'objectives'"),
    ({"warm_start": 1.5}, "warm_start must be a number from 0 to 1"),
])
def test_bad_guided_sweeps_are_one_error_and_write_nothing(tmp_path, capsys, edit, says):
    data = {k: v for k, v in _guided(**edit).items() if v is not None}
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump(data))
    assert main(["sweep", str(spec), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: sweep file: ") and says in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()

