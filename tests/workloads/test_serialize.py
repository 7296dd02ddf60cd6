"""JSON round trips, and clear errors for malformed or hand-edited files."""

from __future__ import annotations

import json

import pytest

from hwsim.errors import HwsimError
from workloads import (
    BUILTINS,
    SCHEMA_VERSION,
    build_workload,
    graph_to_dict,
    load_graph,
    loads,
    save_graph,
)


@pytest.mark.parametrize("name", list(BUILTINS))
def test_round_trip_builtins(name: str) -> None:
    g = build_workload(name, **({"seq": 64} if BUILTINS[name].family == "llm" else {}))
    assert loads(json.dumps(graph_to_dict(g))) == g


@pytest.mark.parametrize("name", ["resnet8", "ds-cnn"])
def test_round_trip_training(name: str) -> None:
    g = build_workload(name, phase="train", optimizer="adam")
    assert loads(json.dumps(graph_to_dict(g))) == g


def test_save_is_atomic_and_refuses_overwrite(tmp_path) -> None:
    g = build_workload("resnet8")
    path = save_graph(g, tmp_path / "g.json")
    assert load_graph(path) == g
    with pytest.raises(HwsimError, match="exists; choose another path or pass --force"):
        save_graph(g, path)
    save_graph(g.with_precision("int8"), path, force=True)
    assert load_graph(path).info["precision"] == "int8"
    assert [p.name for p in tmp_path.iterdir()] == ["g.json"]  # no temp files left


def _doc() -> dict:
    return graph_to_dict(build_workload("llama2-7b", phase="decode", kv_len=16))


def _edit(path: str, value, *, delete: bool = False) -> dict:
    """Set (or delete) ``ops[i].field[.sub]`` in a fresh document; ``path`` like
    ``'3.a_shape'``."""
    doc = _doc()
    idx, *keys = path.split(".")
    obj = doc["ops"][int(idx)]
    for k in keys[:-1]:
        obj = obj[k]
    if delete:
        del obj[keys[-1]]
    else:
        obj[keys[-1]] = value
    return doc


def _op_index(doc: dict, name: str) -> int:
    return next(i for i, op in enumerate(doc["ops"]) if op["name"] == name)


Q = _op_index(_doc(), "layers.0.attn.q_proj")
SDPA = _op_index(_doc(), "layers.0.attn.sdpa")


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        (_edit(f"{Q}.b_shape", None, delete=True),
         r"op 'layers.0.attn.q_proj' \(matmul\): field 'b_shape' is missing; expected a list"),
        (_edit(f"{Q}.a_shape", [1, 1, -4096]),
         r"op 'layers.0.attn.q_proj' \(matmul\): field 'a_shape' has dimension -4096; "
         r"dimensions must be positive"),
        (_edit(f"{Q}.b_shape", [4000, 4096]),
         r"op 'layers.0.attn.q_proj' \(matmul\): inner dimensions differ"),
        (_edit(f"{Q}.fmt.w", "fp5"),
         r"op 'layers.0.attn.q_proj' \(matmul\): field 'fmt.w': unknown number format 'fp5'"),
        (_edit(f"{Q}.fmt.acc", None, delete=True),
         r"field 'fmt.acc' is missing; expected a format name"),
        (_edit(f"{SDPA}.heads", "32"),
         r"op 'layers.0.attn.sdpa' \(attention\): field 'heads' is '32'; expected an integer"),
        (_edit(f"{SDPA}.causal", 1), r"field 'causal' is 1; expected true or false"),
        (_edit(f"{SDPA}.kv_headz", 8), r"unknown field\(s\) \['kv_headz'\]; allowed: name"),
        (_edit(f"{Q}.op", "linear"), r"unknown op type 'linear'; allowed: matmul"),
        (_edit(f"{Q}.b_kind", "bias"), r"field 'b_kind' is 'bias'; allowed: weight, act"),
    ],
    ids=["missing", "negative", "inner-dims", "format", "fmt-missing", "type", "bool",
         "typo", "op-type", "choice"],
)
def test_malformed_ops(doc: dict, match: str) -> None:
    with pytest.raises(HwsimError, match=match):
        loads(json.dumps(doc))


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d.update(version=SCHEMA_VERSION + 1), r"schema version 2 is not supported"),
        (lambda d: d.update(schema="other"), r"field 'schema' is 'other'"),
        (lambda d: d.pop("ops"), r"field 'ops' must be a list"),
        (lambda d: d["ops"].append(d["ops"][1]), r"used twice"),
        (lambda d: d["ops"][-1].update(shares_weights_with="nope"), r"not an earlier op"),
    ],
)
def test_malformed_documents(mutate, match: str) -> None:
    doc = graph_to_dict(build_workload("opt-6.7b", phase="decode", kv_len=8))
    mutate(doc)
    with pytest.raises(HwsimError, match=match):
        loads(json.dumps(doc))


def test_not_json_and_missing_file(tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{'ops': __import__('os')}")
    with pytest.raises(HwsimError, match="not valid JSON"):
        load_graph(bad)
    with pytest.raises(HwsimError, match="does not exist"):
        load_graph(tmp_path / "missing.json")


def test_gemm_alias_and_defaults() -> None:
    doc = {"schema": "hwsim.workload", "version": 1, "name": "tiny", "ops": [
        {"op": "gemm", "name": "fc", "a_shape": [8, 16], "b_shape": [16, 4]},
        {"op": "conv2d", "name": "c", "x_shape": [1, 3, 8, 8], "out_channels": 4,
         "kernel": [3, 3], "padding": [1, 1]},
    ]}
    g = loads(json.dumps(doc))
    assert g.op("fc").macs == 8 * 16 * 4 and g.op("fc").fmt.x == "fp16"
    assert g.op("c").padding == (1, 1, 1, 1)


def _with_out_channels(literal: str) -> str:
    """resnet8's document with the first conv's ``out_channels`` replaced by ``literal``."""
    text = json.dumps(graph_to_dict(build_workload("resnet8")))
    assert '"out_channels": 16' in text
    return text.replace('"out_channels": 16', f'"out_channels": {literal}', 1)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        # Python refuses int("9" * 5000) with a ValueError from deep inside json
        (_with_out_channels("9" * 5000), r"integer with 5000 digits; integers may have at most"),
        (_with_out_channels("-" + "9" * 30), r"integer with 30 digits"),
        (_with_out_channels("9" * 19), r"field 'out_channels' must be a positive integer, got "
                                       r"9{19}; allowed: 1\.\.2\*\*40"),
        (_with_out_channels("NaN"), r"NaN is not JSON; only finite numbers"),
        (_with_out_channels("-Infinity"), r"-Infinity is not JSON"),
        (_with_out_channels("1e400"), r"the number 1e400 overflows a float"),
        (_with_out_channels("16.0"), r"field 'out_channels' is 16.0; expected an integer"),
        ("[" * 200_000 + "]" * 200_000, r"JSON nested too deeply"),
        ('{"a": ' * 200_000 + "1" + "}" * 200_000, r"JSON nested too deeply"),
        (json.dumps({**graph_to_dict(build_workload("resnet8")), "ops": []}),
         r"graph 'resnet8' has no ops; a workload needs at least one"),
        (json.dumps({**graph_to_dict(build_workload("resnet8")), "attrs": {"x": [1]}}),
         r"field 'attrs' must be an object of scalar values"),
    ],
    ids=["5000-digits", "negative-30-digits", "huge-dim", "nan", "-inf", "float-overflow",
         "float-for-int", "nested-lists", "nested-objects", "no-ops", "attrs-list"],
)
def test_hostile_documents_are_refused_at_parse(text: str, match: str) -> None:
    with pytest.raises(HwsimError, match=match) as info:
        loads(text)
    assert "\n" not in str(info.value)


def test_unreadable_files(tmp_path) -> None:
    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes(b'{"name": "caf\xe9"}')
    with pytest.raises(HwsimError, match=r"cannot read workload file .*latin1.json: 'utf-8'"):
        load_graph(latin1)
    with pytest.raises(HwsimError, match=r"cannot read workload file .*: \[Errno 21\]"):
        load_graph(tmp_path)  # a folder where a file is expected
