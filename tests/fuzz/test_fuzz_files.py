"""Malformed input files through the commands that read them.

Each file of the corpus (``tests/fuzz/corpus.py``) goes through every command that reads
its kind; a file whose name starts with ``ok_`` must be accepted (exit 0), every other one
refused with one ``error:`` line (exit 2): accepting nonsense is a failure too. Hypothesis
then mutates valid files: a graph document with one field replaced by an arbitrary JSON
value, ONNX bytes with bytes flipped or cut.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz import corpus
from tests.fuzz.harness import fuzz_cli, fuzz_settings

pytest.importorskip("onnx", reason="the onnx package (dev extra) is not installed")

GRAPH_COMMANDS = (
    ["workload", "show", "{}", "--json"],
    ["workload", "show", "{}", "--ops", "--precision", "int8"],
    ["run", "--workload", "{}", "--json"],
    ["run", "--workload", "{}", "--device", "fpga:pynq-z2:int8-dsp", "--array", "4x4"],
)
ONNX_COMMANDS = (
    ["workload", "import", "{}", "-o", "g.json", "--json"],
    ["workload", "import", "{}", "-o", "sub/g.json", "--precision", "w4a8"],
)
CSV_COMMANDS = (
    ["cost", "train", "--data", "{}", "--folds", "2", "-o", "m.npz", "--json"],
    ["cost", "validate", "--data", "{}", "--folds", "2", "--split", "random", "--json"],
)
MODEL_COMMANDS = (
    ["cost", "predict", "mac", "--format", "fp8_e4m3fn", "--model", "{}", "--json"],
    ["cost", "study", "--model", "{}", "--no-validate", "-o", "study"],
)

DEVICE_COMMANDS = (
    ["devices", "{}", "--json"],
    ["run", "--device", "{}", "--gemm", "8,8,8", "--json"],
)


#: What the error must say for the classes fixed at their root (any one line will do for the
#: rest): each names what was wrong.
SAYS: dict[str, str] = {
    "int_5000_digits.json": "an integer with 5000 digits; integers may have at most 20",
    "nested_200000.json": "JSON nested too deeply",
    "nan.json": "NaN is not JSON", "infinity.json": "Infinity is not JSON",
    "float_overflow.json": "1e999 overflows a float",
    "huge_dim.json": "dimensions must be positive integers up to 2**40",
    "negative_dim.json": "has dimension -16", "zero_dim.json": "has dimension 0",
    "no_ops.json": "has no ops",
    "single_array.npz": "single numpy array", "skops_schema_eval.npz": "skops archive",
    "object_array.npz": "pickled object, refused", "pickle.npz": "pickled object, refused",
    "header_deep.npz": "unreadable header", "huge_shape.npz": "unreadable header",
    "header_unknown_tag.npz": "is malformed",
    "zip_no_header.npz": "no 'header' member", "header_no_targets.npz": "incomplete",
    "non_utf8.json": "'utf-8' codec can't decode",
    "empty.onnx": "has no operators", "maxpool_no_kernel.onnx": "kernel_shape",
    "conv_zero_strides.onnx": "strides must only contain positive values",
    "conv_same_zero_strides.onnx": "strides must only contain positive values",
    "gemm_transA_1d.onnx": "expected to have rank 2 but has rank 1",
    "undefined_tensor.onnx": "reads tensor 'ghost', which no graph input",
    "opset_99.onnx": "uses ONNX opset 99", "only_constants.onnx": "has no ops",
    "text_in_numbers.csv": "column 'transistors' holds 'many'",
    "nan_targets.csv": "column 'transistors' holds 'nan'",
    "inf_targets.csv": "column 'pyrtl_delay_ps' holds 'inf'",
    "negative_targets.csv": "column 'energy_pj' holds '-1.0'",
    "unknown_unit.csv": "unknown unit(s) 'warp-drive'",
    "missing_columns.csv": "lacks columns: unit, format",
}


def _expect(commands, path: Path) -> None:
    for template in commands:
        argv = [str(path) if a == "{}" else a for a in template]
        out = fuzz_cli(argv)
        want = 0 if path.name.startswith("ok_") else 2
        assert out.rc == want, f"expected exit {want}:\n{out.describe()}"
        assert SAYS.get(path.name, "") in out.err, out.describe()


@pytest.mark.parametrize("name", sorted(corpus.GRAPH_CASES) + ["a_folder.json"])
def test_graph_files(name: str, files) -> None:
    _expect(GRAPH_COMMANDS, files["graph"][name])


@pytest.mark.parametrize("name", sorted(corpus.onnx_case_names()) + ["a_folder.onnx"])
def test_onnx_files(name: str, files) -> None:
    _expect(ONNX_COMMANDS, files["onnx"][name])


@pytest.mark.parametrize("name", sorted(corpus.csv_case_names()) + ["a_folder.csv"])
def test_dataset_files(name: str, files) -> None:
    _expect(CSV_COMMANDS, files["csv"][name])


@pytest.mark.parametrize("name", sorted(corpus.MODEL_CASES) + ["a_folder.npz"])
def test_model_files(name: str, files) -> None:
    _expect(MODEL_COMMANDS, files["model"][name])


@pytest.mark.parametrize("name", sorted(corpus.DEVICE_CASES) + ["a_folder.yaml"])
def test_device_files(name: str, files) -> None:
    _expect(DEVICE_COMMANDS, files["device"][name])


@pytest.mark.parametrize("name", sorted(corpus.SWEEP_CASES))
def test_sweep_files(name: str, tmp_path) -> None:
    path = tmp_path / name
    path.write_text(corpus.SWEEP_CASES[name])
    _expect((["sweep", "{}"],), path)


# --- mutations of valid files ---------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=3),
    max_leaves=6,
)


@st.composite
def mutated_graphs(draw) -> bytes:
    """The valid tiny graph with one field (of the document, an op or its formats) replaced
    by an arbitrary JSON value, or deleted."""
    doc = corpus.tiny_graph()
    doc["ops"][0]["fmt"] = {"x": "fp16", "w": "fp16", "y": "fp16", "acc": "fp32"}
    targets = [doc, doc["ops"][0], doc["ops"][1], doc["ops"][0]["fmt"]]
    obj = draw(st.sampled_from(targets))
    key = draw(st.sampled_from(sorted(obj)) | st.text(max_size=4))
    if draw(st.booleans()) and key in obj:
        del obj[key]
    else:
        obj[key] = draw(json_values)
    return json.dumps(doc).encode()


@fuzz_settings()
@given(mutated_graphs())
def test_mutated_graph_documents(data: bytes) -> None:
    fuzz_cli(["workload", "show", "g.json", "--json"], inputs={"g.json": data})


@st.composite
def mutated_onnx(draw) -> bytes:
    data = bytearray(corpus.valid_onnx_bytes())
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(data) - 1))
        data[i] = draw(st.integers(0, 255))
    return bytes(data[: draw(st.integers(0, len(data)))])


@fuzz_settings()
@given(mutated_onnx() | st.binary(max_size=256))
def test_mutated_onnx_models(data: bytes) -> None:
    fuzz_cli(["workload", "import", "m.onnx", "-o", "g.json", "--json"],
             inputs={"m.onnx": data})
