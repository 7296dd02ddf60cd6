"""The ``hwsim workload`` commands: thin wrappers that print what the API returns."""

from __future__ import annotations

import json

from hwsim.cli import main
from workloads import BUILTINS, load_graph


def test_list(capsys) -> None:
    assert main(["workload", "list", "--json"]) == 0
    names = [w["name"] for w in json.loads(capsys.readouterr().out)["workloads"]]
    assert names == list(BUILTINS)
    assert main(["workload", "list"]) == 0
    assert "vit-b16" in capsys.readouterr().out


def test_show_json_has_totals(capsys) -> None:
    assert main(["workload", "show", "llama2-7b", "--phase", "decode", "--kv-len", "512",
                 "--batch", "4", "--precision", "w4a8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["params"] == 6_738_415_616
    assert out["macs"] > 4 * 6.4e9
    assert out["attrs"]["precision"] == "w4a8" and out["attrs"]["kv_len"] == 512
    assert "matmul" in out["by_type"]


def test_show_table_and_overrides(capsys) -> None:
    assert main(["workload", "show", "resnet50", "--weight-format", "mxfp4", "--ops"]) == 0
    text = capsys.readouterr().out
    assert "layer4.2.conv3" in text and "total" in text


def test_export_and_show_file(tmp_path, capsys) -> None:
    out = tmp_path / "ds.json"
    assert main(["workload", "export", "ds-cnn", "--phase", "train", "-o", str(out)]) == 0
    assert load_graph(out).info["phase"] == "train"
    capsys.readouterr()
    assert main(["workload", "show", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"] == 23_756


def test_user_errors_exit_2(capsys, tmp_path) -> None:
    cases = [
        (["workload", "show", "gpt-5"], "unknown workload 'gpt-5'; known: llama2-7b"),
        (["workload", "show", "resnet18", "--seq", "8"], "apply to language models"),
        (["workload", "show", "resnet18", "--phase", "decode"], "has no phase 'decode'"),
        (["workload", "show", "llama2-7b", "--precision", "fp7"], "unknown precision 'fp7'"),
        (["workload", "show", "llama2-7b", "--format", "fp7"], "presets go to --precision"),
        (["workload", "show", "llama2-7b", "--act-format", "fp7"], "unknown number format"),
        (["workload", "show", "llama2-7b", "--seq", "5000"], "exceed its context of 4096"),
        (["workload", "show", str(tmp_path / "nope.json")], "does not exist"),
    ]
    for argv, msg in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("error: ") and msg in err, (argv, err)
        assert "Traceback" not in err
