"""The design space, the shipped dataset and its schema."""

from __future__ import annotations

import json

import numpy as np
import pytest

from costmodel.dataset import (
    LUT_COLUMNS,
    SCHEMA,
    YOSYS_COLUMNS,
    collect,
    label_orders,
    load_dataset,
    median_run,
    order_runs_path,
    record_path,
    run_sweep,
)
from costmodel.features import (
    DATASET_FEATURES,
    FEATURES_VERSION,
    GATE_FEATURES,
    compute_design_features,
)
from costmodel.space import FAMILIES, DesignPoint, design_space, lut_points
from costmodel.structure import _lut_register_bits, built_register_bits, structure_features
from hwsim.errors import HwsimError
from tests.tooling import require_tool


def test_design_space_covers_600_designs_over_all_families():
    pts = design_space()
    assert len(pts) >= 600
    assert len(set(pts)) == len(pts)
    assert {p.unit for p in pts} == set(FAMILIES)
    # equal-time ordering: every family appears among the first 300 designs
    assert {p.unit for p in pts[:300]} == set(FAMILIES)


def test_design_key_is_stable_and_defaults_are_explicit():
    a = DesignPoint("mac", "fp8_e4m3fn")
    b = DesignPoint("mac", "fp8_e4m3fn", acc="fp32", mul="exact")
    assert a == b and a.key == b.key
    assert DesignPoint("mac", "fp8_e4m3fn", acc="fp16").key != a.key
    with pytest.raises(HwsimError, match="known: minifloat-mul"):
        DesignPoint("divider", "fp8_e4m3fn")


def test_shipped_dataset_has_the_schema(shipped_df):
    df = shipped_df
    fixed = [c for c in SCHEMA if "<" not in c]
    assert set(fixed) <= set(df.columns)
    assert set(DATASET_FEATURES) <= set(df.columns)
    assert any(c.startswith("cell_") for c in df.columns)
    assert len(df) >= 300
    assert df["unit"].nunique() >= 6
    assert df["key"].is_unique
    for col in ("area_transistors", "fpga_luts", "pyrtl_delay_ps", "energy_pj"):
        assert (df[col] > 0).all(), col
    # the key column really is the hash of the parameters
    row = df.iloc[0]
    p = DesignPoint.from_dict({k: row[k] for k in ("unit", "format", "pipeline", "saturate",
                                                     "acc", "mul", "block", "direction")})
    assert p.key == row["key"]


def test_missing_dataset_or_columns_is_a_user_error(tmp_path):
    with pytest.raises(HwsimError, match="no dataset"):
        load_dataset(tmp_path / "nope.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("unit,format\nmac,fp8_e4m3fn\n")
    with pytest.raises(HwsimError, match="lacks columns"):
        load_dataset(bad)


def test_empty_sweep_writes_an_empty_table(tmp_path):
    res = run_sweep(tmp_path / "sweep", jobs=1, limit=0, progress=False)
    assert res.total == 0 and res.csv.exists()
    assert collect(tmp_path / "sweep").read_text() == ""
    with pytest.raises(HwsimError, match="jobs"):
        run_sweep(tmp_path / "sweep", jobs=0)


@pytest.mark.rtl
def test_one_tiny_design_end_to_end(tmp_path):
    require_tool("yosys")
    p = DesignPoint("int-mul", "int2")
    res = run_sweep(tmp_path / "s", points=[p], progress=False)
    assert res.done == 1 and res.failed == 0
    df = load_dataset(res.csv)
    row = df.iloc[0]
    assert row["key"] == p.key and row["transistors"] > 0 and row["energy_pj"] > 0
    # resume: a second run finds the cached record and does nothing
    again = run_sweep(tmp_path / "s", points=[p], progress=False)
    assert again.done == 1
    # a record from an older feature set gets its features recomputed, not a new synthesis
    path = record_path(tmp_path / "s", p)
    rec = json.loads(path.read_text())
    stale = {k: v for k, v in rec.items() if k not in GATE_FEATURES}
    path.write_text(json.dumps({**stale, "features_version": FEATURES_VERSION - 1}))
    run_sweep(tmp_path / "s", points=[p], progress=False)
    assert json.loads(path.read_text()) == rec


def test_shipped_features_match_what_this_version_computes(shipped_df):
    """The dataset's feature columns of shipped designs are what compute_design_features()
    gives today (otherwise re-collect)."""
    rows = shipped_df.groupby("unit").head(1)  # one design per family
    for _, row in rows.iterrows():
        p = DesignPoint.from_dict({k: row[k] for k in ("unit", "format", "pipeline", "saturate",
                                                         "acc", "mul", "block", "direction")})
        got = compute_design_features(p)
        for name in DATASET_FEATURES:
            assert got[name] == pytest.approx(row[name], rel=1e-9), (p, name)


# ---- the LUT tensor core families (lut-precompute, lut-mpgemm) ------------------------------

LUT_FAMILIES = ("lut-precompute", "lut-mpgemm")


def test_lut_fields_leave_every_other_design_key_unchanged(shipped_df):
    """The LUT fields are additive: every shipped design of the other families hashes to the
    key it was recorded under (its K, M, N, weight bits are 0 and not in its parameters)."""
    other = shipped_df[~shipped_df["unit"].isin(LUT_FAMILIES)]
    cols = list(DesignPoint.__dataclass_fields__)
    assert [DesignPoint.from_dict(r).key for r in other[cols].to_dict("records")] == \
        list(other["key"])
    assert (other[list(LUT_COLUMNS)] == 0).all().all()


def test_a_table_collected_before_the_lut_columns_reads_them_as_zero(tmp_path, shipped_df):
    old = shipped_df[~shipped_df["unit"].isin(LUT_FAMILIES)].head(4)
    path = tmp_path / "old.csv"
    old.drop(columns=list(LUT_COLUMNS)).to_csv(path, index=False)
    df = load_dataset(path)
    assert (df[list(LUT_COLUMNS)] == 0).all().all()
    cols = list(DesignPoint.__dataclass_fields__)
    assert [DesignPoint.from_dict(r).key for r in df[cols].to_dict("records")] == \
        list(old["key"])


def test_a_table_collected_before_yosys_orders_reads_one_order(tmp_path, shipped_df):
    path = tmp_path / "old.csv"
    shipped_df.head(3).drop(columns=["yosys_orders"]).to_csv(path, index=False)
    assert load_dataset(path)["yosys_orders"].tolist() == [1, 1, 1]


def test_a_table_collected_before_a_parameter_feature_gets_it_from_the_parameters(shipped_df):
    """has_nan came with FEATURES_VERSION 3: a table without the column is still a model's
    input, the column computed from each row's format (the MX FP4/FP6 elements have no NaN)."""
    from costmodel.features import FEATURES

    rows = shipped_df[shipped_df["format"].isin(["fp4_e2m1fn", "fp8_e4m3fn", "int8"])]
    got = FEATURES.matrix(rows.drop(columns=["has_nan"]))
    assert (got == FEATURES.matrix(rows)).all()
    nan = got[:, FEATURES.names.index("has_nan")]
    assert nan.tolist() == [float(f == "fp8_e4m3fn") for f in rows["format"]]


def test_order_sensitive_rows_hold_the_median_run_of_their_orders(shipped_df):
    """Every row was synthesised in the orders its design needs (costmodel.dataset.
    label_orders), and a row of several holds, of its runs in order_runs.csv, the one of median
    area: every Yosys column of that run, the cell counts included."""
    import pandas as pd

    cols = list(DesignPoint.__dataclass_fields__)
    pts = [DesignPoint.from_dict(r) for r in shipped_df[cols].to_dict("records")]
    assert shipped_df["yosys_orders"].tolist() == [label_orders(p) for p in pts]
    multi = shipped_df[shipped_df["yosys_orders"] > 1].set_index("key")
    assert len(multi) == 93  # the combinational converters
    runs = pd.read_csv(order_runs_path())
    assert set(runs["key"]) == set(multi.index)
    yosys = [c for c in shipped_df.columns if c in YOSYS_COLUMNS or c.startswith("cell_")]
    moved = 0
    for key, g in runs.groupby("key"):
        assert g["order"].tolist() == list(range(multi.at[key, "yosys_orders"]))
        med = median_run(g[yosys].to_dict("records"))
        assert {c: multi.at[key, c] for c in yosys} == med, key
        moved += med != g[yosys].iloc[0].to_dict()
    assert moved > 0  # the median is not always the generated order's run


def test_lut_points_are_distinct_designs_with_the_generators_defaults():
    pts = lut_points()
    assert {p.unit for p in pts} == set(LUT_FAMILIES)
    assert len({p.key for p in pts}) == len(pts)
    # the generators' defaults made explicit: an implicit default is the same design
    assert DesignPoint("lut-mpgemm", "int8") == DesignPoint(
        "lut-mpgemm", "int8", k=4, m=1, n=2, weight_bits=2, acc="int32")
    assert DesignPoint("lut-precompute", "fp16").key == DesignPoint("lut-precompute", "fp16",
                                                                    k=3).key
    # every tile parameter is in the key and the design group
    base = DesignPoint("lut-mpgemm", "int8", k=3, m=2, n=2, weight_bits=2)
    for change in ({"k": 4}, {"m": 1}, {"n": 1}, {"weight_bits": 4}, {"acc": "int24"}):
        other = DesignPoint(**{**base.to_dict(), **change})
        assert other.key != base.key and other.base != base.base, change


@pytest.mark.parametrize("p", lut_points(), ids=lambda p: p.key)
def test_lut_points_build_their_unit_and_structure_counts_its_registers(p):
    """Each grid point builds the generator's unit with its parameters; the structure block's
    register bits (parameters only) are the bits of the registers PyRTL built."""
    from rtl.unit import build_unit

    unit = build_unit(p.unit, **p.params())
    assert {k: unit.params[k] for k in p.params()} == p.params()
    assert _lut_register_bits(p) == built_register_bits(p)
    st = structure_features(p)
    assert st["st_io_bits"] == sum(unit.inputs.values()) + sum(unit.outputs.values())


# y (every accumulator) within the 64 bits the PyRTL check carries
LUT_STREAM_POINTS = (
    DesignPoint("lut-mpgemm", "int8", k=3, m=2, n=1, weight_bits=4, acc="int24"),
    DesignPoint("lut-mpgemm", "fp16", k=2, m=1, n=2, weight_bits=2),
    DesignPoint("lut-precompute", "fp16", k=3),
)


@pytest.mark.parametrize("p", LUT_STREAM_POINTS, ids=lambda p: p.key)
def test_lut_operand_streams_drive_every_port_as_the_core_would(p):
    """Every input port gets codes of its width; the PyRTL netlist fed with the stream gives
    what the golden model (hwsim.numerics.lut) gives; a tile holds its tables for the B
    bit-planes of a K-group, steps ``plane`` LSB first and clears once per 32 groups."""
    from costmodel.activity import LUT_GROUPS_PER_OUTPUT, STREAMS, operand_stream
    from rtl.pyrtl_sim import verify_pyrtl
    from rtl.unit import build_unit

    unit = build_unit(p.unit, **p.params())
    for stream in STREAMS:
        cols = operand_stream(p, unit.inputs, stream, n=96)
        assert set(cols) == set(unit.inputs)
        for port, width in unit.inputs.items():
            assert len(cols[port]) == 96 and int(cols[port].max()) < 1 << width, port
        res = verify_pyrtl(unit, cols, exhaustive=False)
        assert res.ok, res.summary()
        if p.unit != "lut-mpgemm":
            continue
        b = p.weight_bits
        assert (cols["plane"] == np.arange(96) % b).all()
        tables = np.stack([cols[k] for k in cols if k.startswith("t_")])
        assert (tables.reshape(len(tables), -1, b) == tables[:, ::b, None]).all()
        assert cols["clr"].sum() == -(-96 // (b * LUT_GROUPS_PER_OUTPUT))
        assert len(np.unique(tables)) > 10  # not a constant stimulus


def test_lut_energy_grows_with_the_tile():
    """The switching-activity proxy of a 2x2 tile is more than a 1x2 tile's (twice the
    lookups and accumulators) and less than three times it (the tables' wires are shared)."""
    from costmodel.activity import design_energy_ge
    from rtl.unit import build_unit

    def energy(m: int) -> float:
        p = DesignPoint("lut-mpgemm", "int8", k=2, m=m, n=2, weight_bits=1)
        return design_energy_ge(p, build_unit(p.unit, **p.params()))["energy_ge"]

    one, two = energy(1), energy(2)
    assert 1.5 * one < two < 3 * one


def test_shipped_lut_rows_are_the_designs_their_parameters_name(shipped_df):
    """The LUT families' rows: both families present; each row's K/M/N/weight bits rebuild its
    key and are the ones in the generator's module name (rtl/units/lut_*.py)."""
    lut = shipped_df[shipped_df["unit"].isin(LUT_FAMILIES)]
    assert set(lut["unit"]) == set(LUT_FAMILIES)
    cols = list(DesignPoint.__dataclass_fields__)
    for row in lut[[*cols, "key", "module"]].to_dict("records"):
        p = DesignPoint.from_dict(row)
        assert p.key == row["key"], row["module"]
        name = (f"lut_precompute_{p.format}_k{p.k}_p{p.pipeline}" if p.unit == "lut-precompute"
                else f"lut_mpgemm_{p.format}_{p.acc}_w{p.weight_bits}_k{p.k}_m{p.m}_n{p.n}"
                     f"_p{p.pipeline}")
        assert row["module"] == name
