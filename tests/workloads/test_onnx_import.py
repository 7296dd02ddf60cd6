"""ONNX import: ResNets built in code with onnx.helper (nothing downloaded)."""

from __future__ import annotations

import pytest

onnx = pytest.importorskip("onnx", reason="the onnx package (dev extra) is not installed")

from onnx import TensorProto, helper  # noqa: E402

from hwsim.errors import HwsimError  # noqa: E402
from tests.workloads.onnx_models import resnet_onnx  # noqa: E402
from workloads import build_workload, load_graph  # noqa: E402
from workloads.importers.onnx import import_onnx  # noqa: E402


@pytest.mark.parametrize("depth", [18, 50])
def test_resnet_import_equals_builtin(depth: int, tmp_path) -> None:
    path = tmp_path / f"resnet{depth}.onnx"
    onnx.save(resnet_onnx(depth), path)
    g = import_onnx(path)
    ref = build_workload(f"resnet{depth}")
    assert g.params == ref.params
    assert g.macs == ref.macs
    assert g.flops == ref.flops
    assert g.totals.bytes_total == ref.totals.bytes_total


def _model(nodes, inputs, outputs, inits=()):
    graph = helper.make_graph(nodes, "t", inputs, outputs, list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def _init(name, shape):
    import numpy as np
    from onnx import numpy_helper

    return numpy_helper.from_array(np.zeros(shape, np.float32), name)


def test_transformer_ops() -> None:
    nodes = [
        helper.make_node("LayerNormalization", ["x", "g", "b"], ["n"], axis=-1),
        helper.make_node("MatMul", ["n", "w"], ["h"]),
        helper.make_node("Add", ["h", "bias"], ["hb"]),
        helper.make_node("Gelu", ["hb"], ["a"], domain=""),
        helper.make_node("Transpose", ["a"], ["t"], perm=[0, 2, 1]),
        helper.make_node("MatMul", ["a", "t"], ["s"]),
        helper.make_node("Softmax", ["s"], ["p"], axis=-1),
    ]
    model = _model(nodes, [_vi("x", [2, 10, 8])], [_vi("p", [2, 10, 10])],
                   [_init("g", [8]), _init("b", [8]), _init("w", [8, 16]),
                    _init("bias", [16])])
    model.opset_import[0].version = 20  # Gelu is in opset 20
    g = import_onnx(model)
    kinds = [op.OP_TYPE for op in g.ops]
    assert kinds == ["norm", "matmul", "elementwise", "elementwise", "view", "matmul",
                     "softmax"]
    assert g.params == 8 + 8 + 8 * 16 + 16
    assert g.ops[5].b_kind == "act" and g.ops[5].macs == 2 * 10 * 10 * 16
    assert g.ops[4].tensors() == ()  # transpose is free


def test_unsupported_ops_listed_or_kept() -> None:
    nodes = [
        helper.make_node("Relu", ["x"], ["r"]),
        helper.make_node("Sin", ["r"], ["s"]),
        helper.make_node("Cos", ["s"], ["c"]),
        helper.make_node("Sin", ["c"], ["y"]),
    ]
    model = _model(nodes, [_vi("x", [4, 4])], [_vi("y", [4, 4])])
    with pytest.raises(HwsimError, match=r"unsupported ONNX operators: Cos \(1x\), Sin \(2x\)"):
        import_onnx(model)
    with pytest.raises(HwsimError, match=r"supported: Conv, Gemm, MatMul"):
        import_onnx(model)
    with pytest.warns(UserWarning, match="opaque"):
        g = import_onnx(model, keep_unsupported=True)
    assert [op.detail for op in g.ops if op.kind == "opaque"] == ["Sin", "Cos", "Sin"]
    assert "Cos (1x), Sin (2x)" in g.info["notes"] and "no MACs" in g.info["notes"]


def test_dynamic_shapes_are_reported() -> None:
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"])]
    model = _model(nodes, [_vi("x", ["batch", 8])], [_vi("y", ["batch", 4])],
                   [_init("w", [8, 4])])
    with pytest.raises(HwsimError, match="shape of tensor 'x' is unknown"):
        import_onnx(model)


def test_cli_import(tmp_path) -> None:
    from hwsim.cli import main

    src, out = tmp_path / "r18.onnx", tmp_path / "r18.json"
    onnx.save(resnet_onnx(18), src)
    assert main(["workload", "import", str(src), "-o", str(out), "--format", "int8"]) == 0
    g = load_graph(out)
    assert g.params == 11_689_512 and g.info["precision"] == "int8"
    assert main(["workload", "import", str(src), "-o", str(out)]) == 2  # exists, no --force


def _save(model, tmp_path):
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    return path


def test_empty_and_corrupt_files_are_errors(tmp_path) -> None:
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")  # parses as an empty ModelProto: formerly a 0-op graph
    with pytest.raises(HwsimError, match=r"empty.onnx has no operators"):
        import_onnx(empty)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(HwsimError, match=r"cannot read ONNX model .*junk.onnx"):
        import_onnx(junk)
    only_constants = _model([helper.make_node("Constant", [], ["c"], value_float=1.0)], [],
                            [_vi("c", [])])
    with pytest.raises(HwsimError, match=r"has no ops"):
        import_onnx(only_constants)


X8 = [_vi("x", [1, 3, 8, 8])]


@pytest.mark.parametrize(
    ("nodes", "inputs", "inits", "match"),
    [
        ([helper.make_node("MaxPool", ["x"], ["y"])], X8, [],
         r"Attribute kernel_shape must be specified"),
        ([helper.make_node("Conv", ["x", "w"], ["y"], strides=[0, 0])], X8,
         [_init("w", [4, 3, 3, 3])], r"strides must only contain positive values"),
        ([helper.make_node("Gemm", ["x", "w"], ["y"], transA=1)], [_vi("x", [8])],
         [_init("w", [8, 4])], r"\(op_type:Gemm\).*expected to have rank 2 but has rank 1"),
        ([helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Add", ["r", "ghost"], ["y"])],
         [_vi("x", [4])], [],
         r"ONNX node 'Add_1' \(Add\) reads tensor 'ghost', which no graph input, initializer "
         r"or earlier node defines"),
        ([helper.make_node("Relu", ["r"], ["y"]), helper.make_node("Relu", ["x"], ["r"])],
         [_vi("x", [4])], [], r"reads tensor 'r'.*nodes must be in execution order"),
    ],
    ids=["maxpool-no-kernel", "conv-zero-strides", "gemm-transA-1d", "undefined", "order"],
)
def test_malformed_nodes_are_errors(nodes, inputs, inits, match, tmp_path) -> None:
    model = _model(nodes, inputs, [_vi("y", None)], inits)
    for source in (model, _save(model, tmp_path)):  # the API and the CLI's path
        with pytest.raises(HwsimError, match=match) as info:
            import_onnx(source)
        assert "\n" not in str(info.value)


def test_importer_checks_attributes_itself() -> None:
    """Where ONNX's inference lets a value through, the importer's own checks name it."""
    from workloads.importers.onnx import _Importer, _positive

    node = helper.make_node("MaxPool", ["x"], ["y"], strides=[0, 1], auto_pad="SAME_UPPER")
    attrs = {"strides": [0, 1]}
    with pytest.raises(HwsimError, match=r"attribute 'strides' is \[0, 1\]; expected 2 "
                                         r"positive integers"):
        _positive(attrs, "strides", (1, 1), "p", node)
    model = _model([helper.make_node("MaxPool", ["x"], ["y"])], X8, [_vi("y", None)])
    importer = _Importer(model, keep_unsupported=False)
    with pytest.raises(HwsimError, match=r"attribute 'kernel_shape' is missing"):
        importer._pool(model.graph.node[0], "p", {})
    gemm = helper.make_node("Gemm", ["x", "w"], ["y"])
    importer.shapes.update(x=(8,), w=(8, 4))
    with pytest.raises(HwsimError, match=r"\(Gemm\): inputs A and B must be 2-D, got shapes "
                                         r"\[8\] and \[8, 4\]"):
        importer._matmul(gemm, "g", {})


def test_cli_import_errors_are_one_line(tmp_path, capsys) -> None:
    from hwsim.cli import main

    empty, out = tmp_path / "empty.onnx", tmp_path / "g.json"
    empty.write_bytes(b"")
    assert main(["workload", "import", str(empty), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "no operators" in err
    assert not out.exists()
