"""hwsim cost: predict (text, JSON, warnings), bad input."""

from __future__ import annotations

import json

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
    bad = tmp_path / "m.skops"
    bad.write_text("nope")
    assert main(["cost", "predict", "lmul", "--format", "fp8_e4m3fn", "--model", str(bad)]) == 2
    assert "corrupt" in capsys.readouterr().err
