"""hwsim cost: predict (text, JSON, warnings), bad input."""

from __future__ import annotations

import json

import pytest

from hwsim.cli import main


def test_predict_json(capsys):
    assert main(["cost", "predict", "lmul", "--format", "fp8_e4m3fn", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["out_of_domain"] == []
    assert {p["target"] for p in out["predictions"]} >= {"area", "delay", "energy"}


def test_predict_text_warns_outside_domain(capsys):
    assert main(["cost", "predict", "minifloat-mul", "--format", "fp32"]) == 0
    cap = capsys.readouterr()
    assert "warning: outside the training domain" in cap.err
    assert "90% interval" in cap.out


def test_bad_unit_and_format(capsys):
    assert main(["cost", "predict", "divider", "--format", "fp8_e4m3fn"]) == 2
    assert "error: unknown RTL unit 'divider'" in capsys.readouterr().err
    assert main(["cost", "predict", "minifloat-mul", "--format", "fp9_e9m9"]) == 2
    assert "error:" in capsys.readouterr().err


def test_corrupt_model_path(tmp_path, capsys):
    bad = tmp_path / "m.npz"
    bad.write_text("nope")
    assert main(["cost", "predict", "lmul", "--format", "fp8_e4m3fn", "--model", str(bad)]) == 2
    assert "corrupt" in capsys.readouterr().err


def test_predict_exact_computes_what_the_dataset_measured(shipped_df, capsys):
    """--exact: delay and energy are computed (PyRTL timing, the toggle-energy simulation),
    equal to what the sweep recorded for the same design; the rest is predicted."""
    row = shipped_df[(shipped_df["unit"] == "lmul") & (shipped_df["format"] == "fp8_e4m3fn")
                     & (shipped_df["pipeline"] == 1) & ~shipped_df["saturate"]].iloc[0]
    argv = ["cost", "predict", "lmul", "--format", "fp8_e4m3fn", "--pipeline", "1"]
    assert main([*argv, "--exact", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    got = {p["target"]: p for p in out["predictions"]}
    assert out["exact"] == ["delay", "energy"]
    assert got["delay"]["model"] == got["energy"]["model"] == "exact"
    assert got["delay"]["value"] == pytest.approx(row["pyrtl_delay_ps"], rel=1e-9)
    assert got["energy"]["value"] == pytest.approx(row["energy_pj"], rel=1e-9)
    assert got["area"]["model"] != "exact"
    assert main(argv) == 0
    assert "pass --exact" in capsys.readouterr().out
