"""A corpus of malformed input files, one per class of mistake a user (or an attacker) makes.

Every file is built here, in code, into a folder the session owns: graph JSON, ONNX (with
``onnx.helper``), dataset CSV, cost-model archives, device files, sweep files. Names say
what is wrong; the few names starting ``ok_`` are valid, so each command's success path is
fuzzed too.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

#: A valid two-point sweep (in every fuzz sandbox as ``sweep.yaml``).
SWEEP_OK = ("device: {name: systolic, rows: [4, 8], cols: 4}\n"
            "workload: {name: resnet8, layers: 1}\n")

#: Sweep files (``hwsim sweep FILE``): ``ok_`` ones run, the others must be refused.
SWEEP_CASES: dict[str, str] = {
    "ok_two_points.yaml": SWEEP_OK,
    "ok_random.json": json.dumps({"device": "systolic", "workload": {"name": "ds-cnn",
                                  "layers": [1, 2]}, "search": "random", "samples": 1}),
    "empty.yaml": "",
    "not_mapping.yaml": "- device\n",
    "no_workload.yaml": "device: systolic\n",
    "unknown_top.yaml": SWEEP_OK + "budget: 3\n",
    "unknown_device.yaml": "device: warp-drive\nworkload: resnet8\n",
    "unknown_field.yaml": "device: {name: systolic, warp: [1]}\nworkload: resnet8\n",
    "bad_value.yaml": "device: {name: systolic, rows: [-1]}\nworkload: resnet8\n",
    "wrong_type.yaml": "device: {name: systolic, dataflow: [7]}\nworkload: resnet8\n",
    "empty_axis.yaml": "device: {name: systolic, rows: []}\nworkload: resnet8\n",
    "nested_axis.yaml": "device: {name: systolic, rows: [[1]]}\nworkload: resnet8\n",
    "unknown_workload.yaml": "device: systolic\nworkload: resnet9000\n",
    "bad_layers.yaml": "device: systolic\nworkload: {name: resnet8, layers: 0}\n",
    "unknown_format.yaml": SWEEP_OK + "format: [fp9]\n",
    "unknown_precision.yaml": SWEEP_OK + "precision: w3a3\n",
    "both_precision_format.yaml": SWEEP_OK + "precision: int8\nformat: int8\n",
    "unknown_objective.yaml": SWEEP_OK + "objectives: [happiness]\n",
    "guided.yaml": SWEEP_OK + "search: guided\n",
    "random_no_samples.yaml": SWEEP_OK + "search: random\n",
    "zero_samples.yaml": SWEEP_OK + "search: random\nsamples: 0\n",
    "nan_clock.yaml": "device: {name: systolic, clock_mhz: .nan}\nworkload: resnet8\n",
    "python_tag.yaml": "!!python/object/apply:os.system ['echo pwned']\n",
    "nested_100000.yaml": "[" * 100_000 + "]" * 100_000,
}


def swept_db() -> bytes:
    """The store of :data:`SWEEP_OK`, run to the end (``swept/sweep.db`` in the sandbox)."""
    import tempfile

    import yaml

    from hwsim.sweep import parse_sweep, pool_evaluator, run_sweep
    from hwsim.sweep.store import DB_NAME

    with tempfile.TemporaryDirectory() as tmp:
        run_sweep(parse_sweep(yaml.safe_load(SWEEP_OK)), tmp, pool_evaluator(1))
        return (Path(tmp) / DB_NAME).read_bytes()


def tiny_graph() -> dict:
    """A valid two-op graph document (small enough for every device to simulate at once)."""
    return {
        "schema": "hwsim.workload", "version": 1, "name": "tiny", "attrs": {"phase": "x"},
        "ops": [
            {"op": "matmul", "name": "fc", "a_shape": [8, 16], "b_shape": [16, 4]},
            {"op": "elementwise", "name": "act", "kind": "relu", "shape": [8, 4]},
        ],
    }


def _graph_with(**op0) -> str:
    doc = tiny_graph()
    doc["ops"][0].update(op0)
    return json.dumps(doc)


def _graph_without(field: str) -> str:
    doc = tiny_graph()
    del doc["ops"][0][field]
    return json.dumps(doc)


GRAPH_CASES: dict[str, str | bytes] = {
    "ok_tiny.json": json.dumps(tiny_graph()),
    "empty.json": "",
    "null.json": "null",
    "list.json": "[]",
    "not_json.json": "{'ops': __import__('os')}",
    "int_5000_digits.json": _graph_with(a_shape=[8, 16]).replace("[8, 16]", "[8, " + "9" * 5000
                                                                  + "]", 1),
    "nested_200000.json": "[" * 200_000 + "]" * 200_000,
    "nan.json": _graph_with(a_shape=[8, 16]).replace("[8, 16]", "[8, NaN]", 1),
    "infinity.json": _graph_with(a_shape=[8, 16]).replace("[8, 16]", "[Infinity, 16]", 1),
    "float_overflow.json": _graph_with(a_shape=[8, 16]).replace("[8, 16]", "[8, 1e999]", 1),
    "non_utf8.json": json.dumps(tiny_graph()).replace("tiny", "t\udce9ny").encode(
        "utf-8", "surrogateescape"),
    "negative_dim.json": _graph_with(a_shape=[8, -16], b_shape=[-16, 4]),
    "zero_dim.json": _graph_with(a_shape=[0, 16]),
    "huge_dim.json": _graph_with(a_shape=[2**41, 16]),
    "float_dim.json": _graph_with(a_shape=[8.0, 16]),
    "string_dim.json": _graph_with(a_shape=["8", 16]),
    "bool_dim.json": _graph_with(a_shape=[True, 16]),
    "scalar_shape.json": _graph_with(a_shape=8),
    "missing_field.json": _graph_without("b_shape"),
    "unknown_op.json": _graph_with(op="linear"),
    "unknown_field.json": _graph_with(bais=True),
    "bad_format.json": _graph_with(fmt={"x": "fp9", "w": "fp16", "y": "fp16", "acc": "fp32"}),
    "no_ops.json": json.dumps({**tiny_graph(), "ops": []}),
    "ops_not_list.json": json.dumps({**tiny_graph(), "ops": {"fc": 1}}),
    "op_not_object.json": json.dumps({**tiny_graph(), "ops": [1, "x", None]}),
    "duplicate_names.json": json.dumps({**tiny_graph(), "ops": [tiny_graph()["ops"][0]] * 2}),
    "wrong_schema.json": json.dumps({**tiny_graph(), "schema": "other"}),
    "version_99.json": json.dumps({**tiny_graph(), "version": 99}),
    "version_string.json": json.dumps({**tiny_graph(), "version": "1"}),
    "nested_attrs.json": json.dumps({**tiny_graph(), "attrs": {"a": {"b": [1]}}}),
    "empty_name.json": json.dumps({**tiny_graph(), "name": ""}),
}


def _onnx_cases() -> dict[str, Callable[[], bytes]]:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    def vi(name: str, shape):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)

    def init(name: str, shape):
        return numpy_helper.from_array(np.zeros(shape, np.float32), name)

    def model(nodes, inputs, outputs, inits=(), opset: int = 17) -> bytes:
        graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
        proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        return proto.SerializeToString()

    def ok() -> bytes:
        return model([helper.make_node("MatMul", ["x", "w"], ["h"]),
                      helper.make_node("Relu", ["h"], ["y"])],
                     [vi("x", [2, 8])], [vi("y", [2, 4])], [init("w", [8, 4])])

    x8 = [vi("x", [1, 3, 8, 8])]
    return {
        "ok_tiny.onnx": ok,
        "empty.onnx": lambda: b"",
        "random_bytes.onnx": lambda: bytes(np.random.default_rng(1).integers(0, 256, 4096,
                                                                             dtype=np.uint8)),
        "truncated.onnx": lambda: ok()[: len(ok()) // 2],
        "text.onnx": lambda: b"this is not a protobuf\n",
        "maxpool_no_kernel.onnx": lambda: model(
            [helper.make_node("MaxPool", ["x"], ["y"])], x8, [vi("y", None)]),
        "conv_zero_strides.onnx": lambda: model(
            [helper.make_node("Conv", ["x", "w"], ["y"], strides=[0, 0])], x8, [vi("y", None)],
            [init("w", [4, 3, 3, 3])]),
        "conv_same_zero_strides.onnx": lambda: model(
            [helper.make_node("Conv", ["x", "w"], ["y"], strides=[0, 0], auto_pad="SAME_UPPER")],
            x8, [vi("y", None)], [init("w", [4, 3, 3, 3])]),
        "gemm_transA_1d.onnx": lambda: model(
            [helper.make_node("Gemm", ["x", "w"], ["y"], transA=1)], [vi("x", [8])],
            [vi("y", None)], [init("w", [8, 4])]),
        "undefined_tensor.onnx": lambda: model(
            [helper.make_node("Add", ["x", "ghost"], ["y"])], [vi("x", [4])], [vi("y", [4])]),
        "only_constants.onnx": lambda: model(
            [helper.make_node("Constant", [], ["c"], value_float=1.0)], [], [vi("c", [])]),
        "dynamic_shape.onnx": lambda: model(
            [helper.make_node("Relu", ["x"], ["y"])], [vi("x", ["n", 4])], [vi("y", ["n", 4])]),
        "unsupported_op.onnx": lambda: model(
            [helper.make_node("Sin", ["x"], ["y"])], [vi("x", [4])], [vi("y", [4])]),
        "conv_1d.onnx": lambda: model(
            [helper.make_node("Conv", ["x", "w"], ["y"])], [vi("x", [1, 3, 8])], [vi("y", None)],
            [init("w", [4, 3, 3])]),
        "opset_99.onnx": lambda: model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", [4])],
                                       [vi("y", [4])], opset=99),
        "zero_dim_input.onnx": lambda: model(
            [helper.make_node("Relu", ["x"], ["y"])], [vi("x", [0, 4])], [vi("y", [0, 4])]),
        "not_onnx.json": lambda: onnx.printer.to_text(onnx.load_from_string(ok())).encode(),
    }


def onnx_case_names() -> list[str]:
    return list(_onnx_cases())


def csv_case_names() -> list[str]:
    return list(_csv_cases())


def valid_onnx_bytes() -> bytes:
    return _onnx_cases()["ok_tiny.onnx"]()


def _dataset_frame():
    import pandas as pd

    from costmodel.dataset import shipped_dataset_path

    return pd.read_csv(shipped_dataset_path(), keep_default_na=False, na_values=[""],
                       dtype={"acc": str, "mul": str, "direction": str})


def _csv_cases() -> dict[str, Callable[[], bytes]]:
    def frame_csv(edit) -> bytes:
        import pandas as pd

        return edit(pd.read_csv(io.BytesIO(small_dataset_csv()), keep_default_na=False,
                                na_values=[""])).to_csv(index=False).encode()

    def set_col(col: str, value):
        def edit(df):
            df[col] = value
            return df
        return edit

    return {
        "empty.csv": lambda: b"",
        "header_only.csv": lambda: frame_csv(lambda df: df.iloc[:0]),
        "missing_columns.csv": lambda: frame_csv(lambda df: df.drop(columns=["unit", "format"])),
        "no_targets.csv": lambda: frame_csv(lambda df: df[["unit", "format", "pipeline"]]),
        "text_in_numbers.csv": lambda: frame_csv(set_col("transistors", "many")),
        "nan_targets.csv": lambda: frame_csv(set_col("transistors", float("nan"))),
        "inf_targets.csv": lambda: frame_csv(set_col("pyrtl_delay_ps", float("inf"))),
        "negative_targets.csv": lambda: frame_csv(set_col("energy_pj", -1.0)),
        "unknown_unit.csv": lambda: frame_csv(set_col("unit", "warp-drive")),
        "non_utf8.csv": lambda: b"unit,format\n\xff\xfe,\xe9\n",
        "binary.csv": lambda: bytes(range(256)) * 8,
        "two_rows.csv": lambda: frame_csv(lambda df: df.head(2)),
        "ragged.csv": lambda: b"unit,format,pipeline\nmac,fp8_e4m3fn\nmac,fp8_e4m3fn,0,1,2,3\n",
    }


def lopsided_dataset_csv() -> bytes:
    """Valid, but leave-one-family-out tests the one int-mul design alone (R^2 undefined)."""
    import pandas as pd

    df = _dataset_frame()
    parts = [df[df["unit"] == "mac"].head(20), df[df["unit"] == "int-mul"].head(1)]
    return pd.concat(parts).to_csv(index=False).encode()


def small_dataset_csv(per_unit: int = 3) -> bytes:
    """A valid dataset: the first ``per_unit`` designs of each unit of the shipped one."""
    return _dataset_frame().groupby("unit").head(per_unit).to_csv(index=False).encode()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _npy(arr: np.ndarray, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


def _huge_npy() -> bytes:
    """A .npy header claiming 2**40 bytes of data, with none after it."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "|u1", "fortran_order": False,
                                               "shape": (2 ** 40,)})
    return buf.getvalue()


def _header(text: str | bytes) -> bytes:
    """A model archive whose ``header`` member is ``text`` and nothing else."""
    raw = text.encode() if isinstance(text, str) else text
    return _zip({"header.npy": _npy(np.frombuffer(raw, dtype=np.uint8))})


_MODEL_HEADER = {"magic": "hwsim-costmodel", "format_version": 3, "meta": {},
                 "feature_names": ["elem_bits"], "domain": {"units": [], "formats": [],
                                                            "lo": {}, "hi": {}}}

#: Cost-model files (``--model``): all must be refused, none may run anything.
MODEL_CASES: dict[str, bytes] = {
    "empty.npz": b"",
    "random_bytes.npz": bytes(np.random.default_rng(2).integers(0, 256, 4096, dtype=np.uint8)),
    "pickle.npz": b"\x80\x04\x95\x1c\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x94\x8c"
                  b"\x06system\x94\x93\x94\x8c\x04true\x94\x85\x94R\x94.",
    "single_array.npz": _npy(np.ones(3)),
    "zip_no_header.npz": _zip({"other.npy": _npy(np.ones(3))}),
    "header_not_bytes.npz": _zip({"header.npy": _npy(np.ones(3))}),
    "header_not_json.npz": _header("{not json"),
    "header_not_utf8.npz": _header(b"\xff\xfe"),
    "header_list.npz": _header("[1, 2, 3]"),
    "header_deep.npz": _header("[" * 100_000 + "]" * 100_000),
    "header_no_targets.npz": _header(json.dumps(_MODEL_HEADER)),
    "header_unknown_tag.npz": _header(json.dumps({**_MODEL_HEADER, "targets": {"area": {
        "kind": "phys", "point": {"__reduce__": ["os.system", "true"]}, "bounds": {},
        "cv_mape": {}, "reg_cost": 0, "pruned": None, "n_iter": 0}}})),
    "huge_shape.npz": _zip({"header.npy": _huge_npy()}),
    "object_array.npz": _zip({"header.npy": _npy(np.array(["x", None], dtype=object), True)}),
    "skops_schema_eval.npz": _zip({"schema.json": json.dumps(
        {"__class__": "eval", "__module__": "builtins", "__loader__": "ObjectNode",
         "content": {"__class__": "str", "__module__": "builtins",
                     "__loader__": "JsonNode", "content": "\"1\"", "is_json": True},
         "protocol": 2, "_skops_version": "0.16"}).encode()}),
}


#: Device files (``hwsim devices FILE``, ``hwsim run --device FILE``): all must be refused.
DEVICE_CASES: dict[str, str | bytes] = {
    "empty.yaml": "",
    "not_mapping.yaml": "- 1\n- 2\n",
    "unknown_kind.yaml": "device: warp-drive\n",
    "negative_rows.yaml": "device: systolic\nrows: -1\n",
    "nan_clock.yaml": "device: systolic\nclock_mhz: .nan\n",
    "inf_bandwidth.json": '{"device": "systolic", "bandwidth_words": Infinity}',
    "python_tag.yaml": "!!python/object/apply:os.system ['echo pwned']\n",
    "nested_100000.yaml": "[" * 100_000 + "]" * 100_000,
    "non_utf8.yaml": b"device: systolic\nname: \xff\n",
    "unknown_field.yaml": "device: systolic\nwarp_factor: 9\n",
}


def build(root: Path) -> dict[str, dict[str, Path]]:
    """Write the corpus under ``root``; returns ``kind -> name -> path`` (kinds: graph, onnx,
    csv, model, device). Each kind also gets a folder where a file is expected."""
    out: dict[str, dict[str, Path]] = {}

    def put(kind: str, name: str, data: str | bytes) -> None:
        path = root / kind / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_bytes(data)
        out.setdefault(kind, {})[name] = path

    for name, text in GRAPH_CASES.items():
        put("graph", name, text)
    for name, make in _onnx_cases().items():
        put("onnx", name, make())
    for name, make in _csv_cases().items():
        put("csv", name, make())
    for name, data in MODEL_CASES.items():
        put("model", name, data)
    for name, data in DEVICE_CASES.items():
        put("device", name, data)
    for kind, suffix in (("graph", "json"), ("onnx", "onnx"), ("csv", "csv"),
                         ("model", "npz"), ("device", "yaml")):
        folder = root / kind / f"a_folder.{suffix}"
        (folder / "inside").mkdir(parents=True)
        out[kind][folder.name] = folder
    return out
