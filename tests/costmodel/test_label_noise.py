"""Order noise of the Yosys labels: the sample, the arithmetic, and order 0 = the dataset."""

from __future__ import annotations

import pandas as pd
import pytest

from costmodel.label_noise import (
    MAX_SYNTH_S,
    NOISY,
    check_order_zero,
    design_noise,
    floor_estimate,
    model_vs_orders,
    noise_table,
    order_spread,
    sample_points,
    stand_for,
    stratum_noise,
)
from costmodel.space import DesignPoint
from hwsim.errors import HwsimError
from tests.tooling import require_tool


def test_sample_takes_a_share_of_every_stratum_of_the_quick_families(shipped_df):
    pts = sample_points(shipped_df)
    assert pts == sample_points(shipped_df) != sample_points(shipped_df, seed=1)
    keys = {p.key for p in pts}
    assert len(keys) == len(pts)  # no design twice
    rows = shipped_df[shipped_df["key"].isin(keys)]
    assert len(rows) == len(pts)  # every point is a dataset design
    med = shipped_df.groupby("unit")["synth_s"].median()
    quick = set(med[med <= MAX_SYNTH_S].index)
    assert set(rows["unit"]) == quick and "mixpe" not in quick  # minutes per design: left out
    got = rows.groupby([rows["unit"], rows["pipeline"] > 0]).size()
    pool = shipped_df[shipped_df["unit"].isin(quick)]
    for stratum, n in pool.groupby([pool["unit"], pool["pipeline"] > 0]).size().items():
        assert got[stratum] == min(n, max(4, round(0.08 * n))), stratum
    with pytest.raises(HwsimError, match="share must be in"):
        sample_points(shipped_df, share=0)


def test_order_sensitive_strata_are_those_measured_above_the_area_tolerance():
    """costmodel.dataset.ORDER_SENSITIVE is the study's finding: the strata whose order noise
    (label_noise.json) exceeds the design split's area target."""
    import json
    from pathlib import Path

    from costmodel.dataset import ORDER_SENSITIVE
    from costmodel.validate import MAPE_TARGETS

    study = Path(__file__).parents[2] / "sim_results" / "costmodel" / "label_noise.json"
    strata = json.loads(study.read_text())["per_stratum"]
    above = {(s["unit"], s["pipelined"]) for s in strata
             if s["area"] > MAPE_TARGETS["design"]["area"]}
    assert above == ORDER_SENSITIVE


def test_the_median_run_is_one_real_run_and_ties_keep_the_earlier_order():
    from costmodel.dataset import median_run

    runs = [{"area_transistors": a, "order": i} for i, a in enumerate([30, 10, 50, 20, 40])]
    assert median_run(runs) == {"area_transistors": 30, "order": 0}
    runs = [{"area_transistors": a, "order": i} for i, a in enumerate([20, 10, 20, 50, 20])]
    assert median_run(runs)["order"] == 2  # 10, 20 (0), 20 (2), 20 (4), 50


@pytest.mark.rtl
def test_an_order_sensitive_design_records_its_median_run(tmp_path):
    require_tool("yosys")
    from costmodel.dataset import (
        FAMILY_FPGA,
        LABEL_ORDERS,
        YOSYS_COLUMNS,
        evaluate_design,
        label_orders,
        median_run,
        synthesised_costs,
    )
    from rtl.synth import synthesize
    from rtl.unit import build_unit

    p = DesignPoint("convert", "fp8_e4m3fn", direction="to")
    assert label_orders(p) == LABEL_ORDERS and label_orders(DesignPoint(
        "convert", "fp8_e4m3fn", 1, direction="to")) == 1
    rec = evaluate_design(p, tmp_path / "a")
    unit = build_unit(p.unit, **p.params())
    # the same build folder: the reports evaluate_design made, read back from their cache
    runs = [synthesised_costs(synthesize(unit, families=(FAMILY_FPGA,), build_dir=tmp_path / "a",
                                         order_seed=k)) for k in range(LABEL_ORDERS)]
    assert len({r["area_transistors"] for r in runs}) > 1  # the orders do move its area
    # YOSYS_COLUMNS (what relabel copies from a median run) names every non-cell figure
    assert {c for c in runs[0] if not c.startswith("cell_")} == set(YOSYS_COLUMNS)
    assert rec["yosys_orders"] == LABEL_ORDERS
    assert {c: rec[c] for c in median_run(runs)} == median_run(runs)


def _spread(values: dict[str, list[float]], unit: str, pipeline: int) -> pd.DataFrame:
    return pd.DataFrame([{"key": k, "unit": unit, "format": "int4", "pipeline": pipeline,
                          "order": i, **dict.fromkeys(NOISY, v)}
                         for k, vs in values.items() for i, v in enumerate(vs)])


def test_noise_is_the_median_over_orders_scored_against_each_run():
    spread = pd.concat([
        _spread({"a": [100, 100, 100, 100, 150]}, "int-mul", 0),  # median 100
        _spread({"b": [200, 200, 200, 200, 200]}, "int-mul", 2),  # no spread
    ])
    per = design_noise(spread).set_index("key")
    assert per.at["a", "area"] == pytest.approx(100 * (50 / 150) / 5)
    assert per.at["b", "luts"] == 0.0 and per.at["a", "pipelined"] == False  # noqa: E712
    strata = stratum_noise(spread)
    assert strata.loc[("int-mul", False), "area"] == per.at["a", "area"]
    assert strata["designs"].tolist() == [1, 1]
    # the family's figure weighs its strata by the dataset's rows: 1 combinational, 3 pipelined
    df = pd.DataFrame({"unit": ["int-mul"] * 4, "pipeline": [0, 1, 2, 2]})
    table = noise_table(spread, df)
    assert table.loc[0, "rows"] == 4 and table.loc[0, "designs"] == 2
    assert table.loc[0, "area"] == pytest.approx(per.at["a", "area"] / 4)
    floor = floor_estimate(pd.concat([table, table.assign(unit="x", rows=12, area=0.0)]))
    assert floor["area"] == pytest.approx(per.at["a", "area"] / 4 * 4 / 16)


@pytest.mark.rtl
def test_order_zero_is_the_datasets_flow_and_a_changed_figure_is_caught(tmp_path):
    require_tool("yosys")
    from costmodel.dataset import FAMILY_FPGA, synthesised_costs
    from rtl.synth import synthesize
    from rtl.unit import build_unit

    p = DesignPoint("int-mul", "int2")
    spread = order_spread([p], orders=2, jobs=1, build_dir=tmp_path / "a", progress=False)
    assert list(spread["order"]) == [0, 1] and set(spread["key"]) == {p.key}
    # the dataset's own flow (costmodel.dataset.evaluate_design), run apart: the same figures
    # (not the shipped rows themselves: a newer Yosys release may move a LUT or two)
    rep = synthesize(build_unit(p.unit, **p.params()), families=(FAMILY_FPGA,),
                     build_dir=tmp_path / "b")
    df = pd.DataFrame([{"key": p.key, **synthesised_costs(rep)}])
    assert check_order_zero(spread, df) == []
    df["fpga_luts"] += 1
    assert [m.split()[1] for m in check_order_zero(spread, df)] == ["luts:"]
    with pytest.raises(HwsimError, match="orders must be an integer of at least 2"):
        order_spread([p], orders=1, build_dir=tmp_path)


def test_a_median_run_row_is_checked_against_its_order_zero_run():
    spread = _spread({"a": [100, 130, 120, 90, 110]}, "convert", 0)
    # the dataset row holds the median run (order 4: 110); its runs table holds order 0's 100
    df = pd.DataFrame([{"key": "a", **dict.fromkeys(NOISY.values(), 110.0)}])
    runs = pd.DataFrame([{"key": "a", "order": k, **dict.fromkeys(NOISY.values(), v)}
                         for k, v in enumerate([100, 130, 120, 90, 110])])
    assert len(check_order_zero(spread, df)) == len(NOISY)  # against the median: "drift"
    assert check_order_zero(spread, df, runs) == []
    runs.loc[0, "fpga_luts"] = 101
    assert [m.split()[1] for m in check_order_zero(spread, df, runs)] == ["luts:"]


def test_a_model_is_scored_against_the_label_and_against_the_median_over_orders():
    spread = pd.concat([_spread({"a": [100, 130, 100, 100, 100]}, "int-mul", 0),
                        _spread({"b": [300, 200, 200, 200, 200]}, "int-mul", 2),
                        _spread({"c": [50, 50, 50, 50, 50]}, "int-mul", 0)])
    # the dataset: 4 combinational int-mul rows (a and c sampled), 3 pipelined (b sampled)
    df = pd.DataFrame({"key": ["a", "b", "c", "d", "e", "f", "g"], "unit": "int-mul",
                       "pipeline": [0, 2, 0, 0, 0, 1, 1],
                       "area_transistors": [100.0, 250.0, 50.0, 1, 1, 1, 1]})
    assert stand_for(spread, df) == {"a": 2.0, "b": 3.0, "c": 2.0}
    # c not predicted: a alone stands for the 4 combinational rows
    got = model_vs_orders(spread, df, {"a": 110.0, "b": 200.0}, "area")
    assert got["designs"] == 2
    assert got["vs_label"] == pytest.approx(100 * (4 * 10 / 100 + 3 * 50 / 250) / 7)
    assert got["vs_median"] == pytest.approx(100 * (4 * 10 / 100 + 3 * 0) / 7)
    assert got["noise"] == pytest.approx(100 * (4 * (30 / 130) / 5 + 3 * (100 / 300) / 5) / 7)
