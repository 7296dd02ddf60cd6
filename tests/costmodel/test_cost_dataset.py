"""The design space, the shipped dataset and its schema."""

from __future__ import annotations

import json

import pytest

from costmodel.dataset import SCHEMA, collect, load_dataset, record_path, run_sweep
from costmodel.features import (
    DATASET_FEATURES,
    FEATURES_VERSION,
    GATE_FEATURES,
    compute_design_features,
    dataset_features,
)
from costmodel.space import FAMILIES, DesignPoint, design_space
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
    """dataset_features() reads the netlist features of shipped designs from the dataset: they
    must be what compute_design_features() gives today (otherwise retrain and re-collect)."""
    rows = shipped_df.groupby("unit").head(1)  # one design per family
    for _, row in rows.iterrows():
        p = DesignPoint.from_dict({k: row[k] for k in ("unit", "format", "pipeline", "saturate",
                                                         "acc", "mul", "block", "direction")})
        got = compute_design_features(p)
        for name in DATASET_FEATURES:
            assert got[name] == pytest.approx(row[name], rel=1e-9), (p, name)
        assert dataset_features(p) == pytest.approx(got)
