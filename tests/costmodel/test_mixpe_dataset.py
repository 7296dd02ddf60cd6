"""The MixPE rows of the cost dataset (``mixpe`` and ``dequant-mac``, int8 and fp16
activations): their design points, the operand streams that drive them, and the shipped rows.

fp16 codes are decoded with NumPy's IEEE binary16 (``view(np.float16)``), not our numerics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from costmodel.activity import LUT_FP16_LLM_MAX, design_energy_ge, operand_stream, pj_per_ge
from costmodel.data import shipped_path
from costmodel.space import DesignPoint, design_space, mixpe_points
from rtl.unit import build_unit

DESIGNS = pd.read_csv(shipped_path("designs.csv"))
MIXPE = DESIGNS[DESIGNS.unit.isin(("mixpe", "dequant-mac"))]
FP16_POINTS = [p for p in mixpe_points() if p.format == "fp16"]


def point_of(row) -> DesignPoint:
    return DesignPoint.from_dict({k: row[k] for k in ("unit", "format", "pipeline", "saturate",
                                                      "acc", "mul", "block", "direction")})


def test_every_shipped_mixpe_row_is_a_point_of_the_space_under_its_key() -> None:
    keys = {p.key for p in mixpe_points()}
    assert {p.key for p in mixpe_points()} <= {p.key for p in design_space()}
    for _, row in MIXPE.fillna("").iterrows():
        p = point_of(row)
        assert p.key == row["key"] and p.key in keys, row["module"]
        assert build_unit(p.unit, **p.params()).name == row["module"]


def test_the_int8_grid_keeps_its_keys_and_fp16_joins_it() -> None:
    """The int8 points of the first dataset (their keys name cached records and rows) are
    unchanged; fp16 adds the same grid (W4/W2 x group 32/128 x dequantiser in the PE or
    shared) and the fp16 dequant-macs, all shipped."""
    int8 = [p for p in mixpe_points() if p.format == "int8"]
    assert len(int8) == 10 and {p.key for p in int8} <= set(MIXPE.key)
    got = {(p.unit, p.mul, p.block, p.direction) for p in FP16_POINTS}
    assert got == {(p.unit, p.mul, p.block, p.direction) for p in int8}
    assert {p.key for p in FP16_POINTS} <= set(MIXPE.key)


@pytest.mark.parametrize("p", FP16_POINTS, ids=lambda p: build_unit(p.unit, **p.params()).name)
@pytest.mark.parametrize("stream", ["normal", "llm"])
def test_fp16_streams_drive_every_port_with_codes_the_unit_reads(p, stream) -> None:
    unit = build_unit(p.unit, **p.params())
    cols = operand_stream(p, unit.inputs, stream)
    assert set(cols) == set(unit.inputs)
    for port, width in unit.inputs.items():
        assert (cols[port] < (1 << width)).all(), port
    a = cols["a"].astype(np.uint16).view(np.float16).astype(np.float64)
    assert np.isfinite(a).all()
    if stream == "llm":  # heavy-tailed, the largest magnitude at the LUT units' fp16 scale
        assert np.abs(a).max() == pytest.approx(LUT_FP16_LLM_MAX, rel=1e-3)
        assert np.abs(a).max() > 10 * np.median(np.abs(a))
    group = p.block or 32
    for port in ("z", "s"):
        if port in cols:  # held for the group
            held = cols[port].reshape(-1, group)
            assert (held == held[:, :1]).all(), port
    if "s" in cols:  # the group's step as an fp16 code: positive and finite
        s = cols["s"].astype(np.uint16).view(np.float16).astype(np.float64)
        assert (s > 0).all() and np.isfinite(s).all()
    assert cols["b"].max() <= (1 << unit.inputs["b"]) - 1


@pytest.mark.parametrize("module", ["mixpe_int8_w2_g32_shared_p0",
                                    "mixpe_fp16_w2_g32_shared_p0"])
def test_shipped_energy_is_what_the_stream_gives(module) -> None:
    """The shipped row's energy is this code's switching-activity proxy of its stream (int8:
    the fp16 path left the int8 streams as they were)."""
    row = DESIGNS.set_index("module").loc[module]
    p = point_of(row.fillna(""))
    got = design_energy_ge(p, build_unit(p.unit, **p.params()))["energy_ge"] * pj_per_ge()
    assert got == pytest.approx(row["energy_pj"], rel=1e-9)
