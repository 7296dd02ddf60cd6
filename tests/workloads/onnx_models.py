"""Synthetic ONNX models for tests and benchmarks, built in code so nothing is downloaded.

``resnet_onnx(depth)`` writes torchvision's ResNet-18/50 architecture as an ONNX graph with
``onnx.helper`` (zero-valued weights: only shapes matter to the IR).
"""

from __future__ import annotations

from typing import Any


def resnet_onnx(depth: int = 50, *, batch: int = 1, image: int = 224) -> Any:
    """An ``onnx.ModelProto`` of ResNet-``depth`` (18 or 50), torchvision layout."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes: list[Any] = []
    inits: list[Any] = []
    counter = [0]

    def tensor(name: str, shape: tuple[int, ...]) -> str:
        inits.append(numpy_helper.from_array(np.zeros(shape, np.float32), name))
        return name

    def fresh(prefix: str) -> str:
        counter[0] += 1
        return f"{prefix}_{counter[0]}"

    def conv(x: str, cin: int, cout: int, k: int, s: int, pre: str) -> str:
        y = fresh(pre)
        w = tensor(f"{pre}.weight", (cout, cin, k, k))
        nodes.append(helper.make_node("Conv", [x, w], [y], name=pre, kernel_shape=[k, k],
                                      strides=[s, s], pads=[k // 2] * 4))
        return y

    def bn(x: str, c: int, pre: str) -> str:
        y = fresh(pre)
        ins = [x] + [tensor(f"{pre}.{n}", (c,)) for n in ("weight", "bias", "mean", "var")]
        nodes.append(helper.make_node("BatchNormalization", ins, [y], name=pre))
        return y

    def relu(x: str, pre: str) -> str:
        y = fresh(pre)
        nodes.append(helper.make_node("Relu", [x], [y], name=pre))
        return y

    blocks = {18: (2, 2, 2, 2), 50: (3, 4, 6, 3)}[depth]
    exp = 4 if depth == 50 else 1
    x = relu(bn(conv("input", 3, 64, 7, 2, "conv1"), 64, "bn1"), "relu")
    y = fresh("maxpool")
    nodes.append(helper.make_node("MaxPool", [x], [y], name="maxpool", kernel_shape=[3, 3],
                                  strides=[2, 2], pads=[1, 1, 1, 1]))
    x, cin = y, 64
    for li, (n, planes) in enumerate(zip(blocks, (64, 128, 256, 512), strict=True), 1):
        for bi in range(n):
            pre, s = f"layer{li}.{bi}", (2 if bi == 0 and li > 1 else 1)
            cout = planes * exp
            if depth == 50:
                h = relu(bn(conv(x, cin, planes, 1, 1, f"{pre}.conv1"), planes, f"{pre}.bn1"),
                         f"{pre}.relu1")
                h = relu(bn(conv(h, planes, planes, 3, s, f"{pre}.conv2"), planes,
                            f"{pre}.bn2"), f"{pre}.relu2")
                h = bn(conv(h, planes, cout, 1, 1, f"{pre}.conv3"), cout, f"{pre}.bn3")
            else:
                h = relu(bn(conv(x, cin, planes, 3, s, f"{pre}.conv1"), planes, f"{pre}.bn1"),
                         f"{pre}.relu1")
                h = bn(conv(h, planes, planes, 3, 1, f"{pre}.conv2"), planes, f"{pre}.bn2")
            short = x
            if s != 1 or cin != cout:
                short = bn(conv(x, cin, cout, 1, s, f"{pre}.downsample.0"), cout,
                           f"{pre}.downsample.1")
            added = fresh(f"{pre}.add")
            nodes.append(helper.make_node("Add", [h, short], [added], name=f"{pre}.add"))
            x, cin = relu(added, f"{pre}.relu_out"), cout
    pooled, flat, logits = fresh("avgpool"), fresh("flatten"), "logits"
    nodes.append(helper.make_node("GlobalAveragePool", [x], [pooled], name="avgpool"))
    nodes.append(helper.make_node("Flatten", [pooled], [flat], name="flatten", axis=1))
    nodes.append(helper.make_node(
        "Gemm", [flat, tensor("fc.weight", (1000, cin)), tensor("fc.bias", (1000,))],
        [logits], name="fc", transB=1,
    ))
    graph = helper.make_graph(
        nodes, f"resnet{depth}",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 3, image, image])],
        [helper.make_tensor_value_info(logits, TensorProto.FLOAT, [batch, 1000])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model
