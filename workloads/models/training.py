"""Training graphs: forward, loss, backward in reverse order, then one optimizer step.

Built from an inference graph: every op gets its input gradient (except the first op, whose
input is data, and free views), every op with parameters gets its weight gradient, and each
parameter tensor gets a :class:`~workloads.ops.WeightUpdate`. This is the per-step work of
on-device learning on an MCU (FP32 or FP16 training).
"""

from __future__ import annotations

from hwsim.errors import HwsimError
from workloads.formats import Precision, get_precision
from workloads.graph import Graph
from workloads.ops import OPTIMIZERS, Backward, Elementwise, Op, Softmax, View, WeightUpdate


def training_graph(forward: Graph, *, optimizer: str = "sgd",
                   precision: str | Precision | None = None) -> Graph:
    """Forward + softmax cross-entropy loss + backward + weight update of ``forward``."""
    if optimizer not in OPTIMIZERS:
        raise HwsimError(f"unknown optimizer {optimizer!r}; allowed: {', '.join(OPTIMIZERS)}")
    p = get_precision(precision or forward.info.get("precision") or "fp32")
    fwd = [op for op in forward.ops if not isinstance(op, Softmax) or op is not forward.ops[-1]]
    logits = fwd[-1]
    ops: list[Op] = list(fwd)
    loss = Elementwise(name="loss.softmax_cross_entropy", kind="cross_entropy",
                       shape=(logits.y_numel,))
    ops.append(loss)
    ops.append(Backward(name="loss.backward", forward=loss))
    for i in range(len(fwd) - 1, -1, -1):
        op = fwd[i]
        if isinstance(op, View):
            continue
        if op.params:
            ops.append(Backward(name=f"{op.name}.grad_weight", forward=op, wrt="weight"))
        if i > 0:
            ops.append(Backward(name=f"{op.name}.grad_input", forward=op))
    for op in fwd:
        if op.params:
            ops.append(WeightUpdate(name=f"{op.name}.update", target=op.name, numel=op.params,
                                    optimizer=optimizer))
    attrs = {**forward.info, "phase": "train", "optimizer": optimizer}
    return Graph(forward.name, tuple(ops), tuple(attrs.items())).with_precision(p)
