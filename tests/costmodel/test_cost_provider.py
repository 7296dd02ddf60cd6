"""The two cost providers: the published 45 nm table and the learned model."""

from __future__ import annotations

import pytest

from costmodel.provider import (
    AnalyticalCostProvider,
    CostProvider,
    LearnedCostProvider,
    get_provider,
)
from hwsim.errors import HwsimError


def test_analytical_matches_the_published_table():
    a = AnalyticalCostProvider()
    # Horowitz, ISSCC 2014, 45 nm (costmodel/data/horowitz_45nm.yaml)
    assert a.energy_pj("mul", "fp16") == pytest.approx(1.1)
    assert a.energy_pj("mul", "fp32") == pytest.approx(3.7)
    assert a.energy_pj("mul", "int8") == pytest.approx(0.2)
    assert a.energy_pj("mac", "int8") == pytest.approx(0.2 + 0.1)
    # derived: an fp8 e4m3 multiplier scales the fp16 entry by (4/11)^2
    assert a.energy_pj("mul", "fp8_e4m3fn") == pytest.approx(1.1 * (4 / 11) ** 2)
    assert a.area_transistors("mul", "int8") > a.area_transistors("mul", "fp8_e4m3fn")


def test_learned_provider(shipped_model):
    p = LearnedCostProvider(shipped_model)
    assert isinstance(p, CostProvider)
    assert isinstance(AnalyticalCostProvider(), CostProvider)
    e = p.energy_pj("mul", "fp8_e4m3fn")
    assert 0.01 < e < 5
    assert p.area_transistors("mac", "fp8_e4m3fn") > p.area_transistors("mul", "fp8_e4m3fn")


def test_bad_queries():
    with pytest.raises(HwsimError, match="known: mul, add, mac"):
        AnalyticalCostProvider().energy_pj("div", "fp16")
    with pytest.raises(HwsimError, match="known: learned, analytical"):
        get_provider("oracle")
