"""The minifloat-vs-int FPGA study: pipeline on a small subset, Pareto marking by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hwsim.studies import fpga_minifloat_vs_int as study


def test_small_run_gives_finite_sqnr_and_more_int_bits_win() -> None:
    # stored PE table, no synthesis; two formats, first two layers of each model
    res = study.run(formats=("int4", "int8"), views=("mul",), rows=32, max_layers=2)
    assert {p.model for p in res.points} == set(study.MODELS)
    for p in res.points:
        assert math.isfinite(p.sqnr_mean_db) and math.isfinite(p.sqnr_worst_db)
        assert p.inferences_per_s > 0 and p.array_rows * p.array_cols * p.pe_luts \
            <= res.config.lut_budget
    for model in study.MODELS:
        by = {p.fmt: p for p in res.points if p.model == model}
        assert by["int8"].sqnr_mean_db > by["int4"].sqnr_mean_db + 10
        assert by["int8"].pe_luts > by["int4"].pe_luts


def test_minifloat_layer_sqnr_is_finite_and_grows_with_mantissa() -> None:
    layer = study.model_layers("resnet18")[1]
    a, w = study.layer_operands(layer, rows=32, seed=0)
    s = [study.layer_sqnr(a, w, f) for f in ("fp4_e2m1fn", "fp6_e2m3fn", "fp8_e2m5fn")]
    assert all(math.isfinite(x) for x in s) and s[0] < s[1] < s[2]


def test_formats_follow_the_naming_rule() -> None:
    assert study.MINIFLOAT_FORMATS[0] == "fp4_e2m1fn"
    assert len(study.MINIFLOAT_FORMATS) == 15  # 1 + 2 + 3 + 4 + 5 splits for 4..8 bits
    assert study.INT_FORMATS == ("int4", "int5", "int6", "int7", "int8")


def test_quantize_per_tensor_maps_absmax_to_format_max() -> None:
    x = np.array([-3.0, 0.1, 1.5])
    assert study.quantize_per_tensor(x, "int4")[0] == -3.0  # symmetric: -7 * 3/7
    assert study.quantize_per_tensor(x, "fp4_e2m1fn")[0] == -3.0


def test_pareto_mask_by_hand() -> None:
    # (LUTs, SQNR): b dominates a; c and d trade off; e duplicates d
    luts = [10, 8, 20, 5, 5]
    sqnr = [10, 12, 30, 11, 11]
    assert study.pareto_mask(luts, sqnr) == [False, True, True, True, True]
    # throughput is maximised: the fastest and the most accurate survive
    thr = [1.0, 3.0, 2.0]
    assert study.pareto_mask(thr, [5, 4, 6], maximise_cost_axis=True) == [False, True, True]


def test_near_square_uses_the_budget() -> None:
    assert study.near_square(100) == (10, 10)
    r, c = study.near_square(5000)
    assert r * c <= 5000 and r * c > 5000 - r and abs(r - c) <= r
    with pytest.raises(Exception, match="cannot fit"):
        study.near_square(0)
