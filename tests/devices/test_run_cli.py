"""``hwsim run`` end to end: JSON fields, trace file, one-line errors."""

import json

import pytest

from hwsim.cli import main


def test_gemm_json(capsys):
    assert main(["run", "--gemm", "33,70,45", "--array", "32x32", "--dataflow", "ws",
                 "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["compute_cycles"] == 761
    assert d["total_cycles"] >= d["compute_cycles"] and d["stall_cycles"] == 0


def test_conv_and_trace(tmp_path, capsys):
    out = tmp_path / "t.json"
    assert main(["run", "--conv", "16,14,14,32,3,3,1,1", "--bandwidth", "4", "--trace",
                 str(out), "--json"]) == 0
    doc = json.loads(out.read_text())
    assert any(e["ph"] == "X" for e in doc["traceEvents"])
    capsys.readouterr()
    assert main(["run", "--gemm", "4,4,4", "--trace", str(out)]) == 2
    assert "exists" in capsys.readouterr().err


def test_memory_model_option(capsys):
    """SCALE-Sim 3.0.0 (USER bandwidth, 10 words/cycle, 32x32 OS) reports 92,176 stall cycles
    on this GEMM (tests/devices/test_scalesim_live.py runs it live); our tile model far fewer."""
    argv = ["run", "--gemm", "256,256,256", "--bandwidth", "10", "--json"]
    assert main([*argv, "--memory-model", "scalesim"]) == 0
    assert json.loads(capsys.readouterr().out)["stall_cycles"] == 92_176
    assert main(argv) == 0
    assert 0 < json.loads(capsys.readouterr().out)["stall_cycles"] < 92_176
    assert main([*argv, "--memory-model", "dram"]) == 2


def test_costs_option_prices_macs_with_the_chosen_provider(capsys):
    from costmodel.provider import Op, get_provider

    argv = ["run", "--gemm", "64,64,64", "--precision", "fp8", "--json"]
    got = {}
    for costs in ("analytical", "learned"):
        assert main([*argv, "--costs", costs]) == 0
        d = json.loads(capsys.readouterr().out)
        assert costs in d["energy_note"]
        got[costs] = d["energy_pj"]["mac"] / d["macs"]
    for costs, pj in got.items():
        assert pj == pytest.approx(get_provider(costs).energy_pj(Op("mac", "fp8_e4m3fn")))
    assert got["analytical"] != got["learned"]


def test_workload_layers(capsys):
    assert main(["run", "--workload", "resnet18", "--precision", "int8", "--layers", "4",
                 "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert len(d["ops"]) == 4


def test_bad_inputs(capsys):
    for argv in (["run", "--gemm", "1,2,3", "--array", "0x4"],
                 ["run", "--gemm", "64,64,64", "--sram-kb", "1,1,1"],
                 ["run", "--gemm", "1,2"],
                 ["run"],
                 ["run", "--device", "tpu", "--gemm", "1,1,1"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1
