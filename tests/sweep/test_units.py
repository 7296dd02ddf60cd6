"""RTL unit sweeps: the cost-model dataset as a sweep spec gives the rows that
``hwsim cost dataset`` (costmodel.dataset.run_sweep) gives for the same designs."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from costmodel.dataset import run_sweep as dataset_sweep
from costmodel.space import DesignPoint, design_space
from hwsim.errors import HwsimError
from hwsim.sweep import load_sweep, parse_sweep, pool_evaluator, run_sweep
from hwsim.sweep.store import dataset_frame
from tests.tooling import require_tool

TINY = {"unit": {"name": "int-mul", "format": ["int2", "int3"], "pipeline": 0}}


def _csv_roundtrip(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` as designs.csv holds it (types as a CSV gives them back)."""
    return pd.read_csv(io.StringIO(df.to_csv(index=False)), keep_default_na=False,
                       na_values=[""]).reset_index(drop=True)


@pytest.mark.rtl
def test_a_unit_sweep_gives_the_rows_of_hwsim_cost_dataset(tmp_path):
    require_tool("yosys")
    status = run_sweep(parse_sweep(TINY), tmp_path / "sweep", pool_evaluator(1))
    assert status == {"done": 2, "failed": 0, "pending": 0}
    points = [DesignPoint("int-mul", f) for f in ("int2", "int3")]
    res = dataset_sweep(tmp_path / "dataset", points=points, progress=False)
    assert res.done == 2 and res.failed == 0
    ours = _csv_roundtrip(dataset_frame(tmp_path / "sweep"))
    theirs = pd.read_csv(res.csv, keep_default_na=False, na_values=[""])
    assert list(ours.columns) == list(theirs.columns)
    assert sorted(ours["key"]) == sorted(p.key for p in points)
    # every column but the wall time of the synthesis is identical
    pd.testing.assert_frame_equal(ours.drop(columns="synth_s"),
                                  theirs.drop(columns="synth_s"), check_exact=True)
    # and the store's metrics are the record's targets
    from hwsim.sweep import Store

    with Store(tmp_path / "sweep") as store:
        rows = store.frame()
    rows = rows.set_index(rows["record"].map(lambda r: json.loads(r)["key"]))
    for _, r in theirs.iterrows():
        assert rows.loc[r["key"], "area_transistors"] == r["area_transistors"]
        assert rows.loc[r["key"], "pyrtl_delay_ps"] == r["pyrtl_delay_ps"]
        assert rows.loc[r["key"], "unit_energy_pj"] == pytest.approx(r["energy_pj"])


def test_the_dataset_spec_expands_to_designs_keyed_as_the_dataset_keys_them():
    sweep = load_sweep("sweeps/costmodel_dataset.yaml")
    points = sweep.points()
    # a multiplier's accumulator is not part of its design: 240 combinations, 120 designs
    assert sweep.grid_size == 240 and len(points) == 120
    designs = [DesignPoint.from_dict(p.task["unit"]) for p in points]
    assert len({d.key for d in designs}) == 120
    space = {p.key for p in design_space()}
    assert sum(d.key in space for d in designs) == 85
    outside = [d for d in designs if d.key not in space]
    # the dataset's MACs are pipelined or saturating only with an fp32 accumulator, and
    # not both at once
    assert len(outside) == 35 and all(
        d.unit == "mac" and (d.pipeline or d.saturate)
        and (d.acc != "fp32" or (d.pipeline and d.saturate)) for d in outside)


@pytest.mark.parametrize("edit, says", [
    ({"unit": {"name": "int-mul", "format": "int4", "width": 3}}, "unit axis 'width' is unknown"),
    ({"unit": {"name": "int-mul"}}, "unit needs a 'format' axis"),
    ({"unit": {"name": "adder", "format": "int4"}}, "unknown unit 'adder'"),
    ({"unit": {"name": "int-mul", "format": "int4", "pipeline": [0, -1]}},
     "unit pipeline must be an integer >= 0, got -1"),
    ({**TINY, "device": "systolic"}, "'device' does not apply to a unit sweep"),
])
def test_bad_unit_sweeps_are_one_error(edit, says):
    with pytest.raises(HwsimError, match=says):
        parse_sweep(edit)
