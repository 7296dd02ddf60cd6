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
                   precision: str | Precision | None = None, train_from: str | None = None,
                   frozen_forward: bool = True) -> Graph:
    """Forward + softmax cross-entropy loss + backward + weight update of ``forward``.

    ``train_from`` names the first trained op: the ops before it are frozen (no gradients,
    no update; PULP-TrainLib's TrainLib_Deployer ``update_layer_list`` with the leading
    layers at 0), and the first trained op gets no input gradient. ``frozen_forward=False``
    also drops the frozen ops' forward pass: the step starts from stored activations of the
    frozen part (latent replays, Ravaglia et al. 2021, arXiv:2110.10486). The default
    (``None``) trains every op; a branch op after ``train_from`` that reads a frozen
    activation (a ResNet shortcut) still gets its input gradient (a small over-count)."""
    if optimizer not in OPTIMIZERS:
        raise HwsimError(f"unknown optimizer {optimizer!r}; allowed: {', '.join(OPTIMIZERS)}")
    p = get_precision(precision or forward.info.get("precision") or "fp32")
    fwd = [op for op in forward.ops if not isinstance(op, Softmax) or op is not forward.ops[-1]]
    first = _first_trained(fwd, train_from)
    if not frozen_forward:
        fwd, first = fwd[first:], 0
    logits = fwd[-1]
    ops: list[Op] = list(fwd)
    loss = Elementwise(name="loss.softmax_cross_entropy", kind="cross_entropy",
                       shape=(logits.y_numel,))
    ops.append(loss)
    ops.append(Backward(name="loss.backward", forward=loss))
    for i in range(len(fwd) - 1, first - 1, -1):
        op = fwd[i]
        if isinstance(op, View):
            continue
        if op.params:
            ops.append(Backward(name=f"{op.name}.grad_weight", forward=op, wrt="weight"))
        if i > first:
            ops.append(Backward(name=f"{op.name}.grad_input", forward=op))
    for op in fwd[first:]:
        if op.params:
            ops.append(WeightUpdate(name=f"{op.name}.update", target=op.name, numel=op.params,
                                    optimizer=optimizer))
    attrs = {**forward.info, "phase": "train", "optimizer": optimizer}
    if train_from is not None:
        attrs.update(train_from=train_from, frozen_forward=frozen_forward)
    return Graph(forward.name, tuple(ops), tuple(attrs.items())).with_precision(p)


def _first_trained(fwd: list[Op], train_from: str | None) -> int:
    if train_from is None:
        return 0
    names = [op.name for op in fwd if not isinstance(op, View)]
    for i, op in enumerate(fwd):
        if op.name == train_from and not isinstance(op, View):
            return i
    raise HwsimError(f"train_from {train_from!r} is not an op of the graph; allowed: "
                     f"{', '.join(names)}")
