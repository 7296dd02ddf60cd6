"""Fold the static parts of an ONNX graph with ONNX's own reference evaluator.

Exporters such as ``torch.onnx.export`` write shape arithmetic into the graph (``Shape``,
``Gather``, ``Cast``, ``Mod``, ``Slice``, ``Concat``, ``Unsqueeze`` ... feeding a ``Reshape``)
and build masks from it (``Trilu``, ``Equal``, ``Where``). With static input shapes every such
node computes a constant. :func:`fold_constants` evaluates, in graph order, each node whose
inputs are all known (initializers with their data, ``Constant`` outputs, ``Shape``/``Size``
of a tensor whose shape inference gave a static shape, and earlier folded values) with
:class:`onnx.reference.ReferenceEvaluator`, and returns a model whose folded outputs are
initializers, shape-inferred again so the ops that remain have static shapes.

Folded values computed from a parameter (an initializer with more than one element), such as
a transposed weight, stay parameters; the others (shapes, masks) are constants, reported in
``FoldResult.constants`` so the importer does not count them as parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: never evaluated: random ops would give one sample, control flow holds subgraphs
_NEVER = {"RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike",
          "Multinomial", "Bernoulli", "If", "Loop", "Scan", "SequenceMap"}


@dataclass(frozen=True)
class FoldResult:
    model: Any  # onnx.ModelProto, shape-inferred
    folded: int  # nodes evaluated away
    constants: frozenset[str]  # folded tensors that are not derived from a parameter


def fold_constants(model: Any, rounds: int = 8) -> FoldResult:
    """Evaluate the static nodes of a shape-inferred ``model`` (see the module doc), again
    after each shape inference while that folds more (a Reshape fed by folded shapes gets a
    static output, whose Shape then folds), at most ``rounds`` times."""
    total, constants = 0, frozenset()
    for _ in range(rounds):
        step = _fold_once(model, constants)
        if not step.folded:
            break
        model, total, constants = step.model, total + step.folded, constants | step.constants
    return FoldResult(model, total, constants)


def _fold_once(model: Any, known: frozenset[str]) -> FoldResult:
    import numpy as np
    import onnx
    from onnx import numpy_helper, shape_inference
    from onnx.reference import ReferenceEvaluator

    graph = model.graph
    static = {vi.name: _static_shape(vi) for vi in (*graph.input, *graph.value_info)}
    values: dict[str, Any] = {}
    from_param: set[str] = set()
    for t in graph.initializer:
        if not t.external_data:  # a weight stored outside the file has no value here
            values[t.name] = numpy_helper.to_array(t)
        if len(t.dims) and int(np.prod(t.dims)) > 1 and t.name not in known:
            from_param.add(t.name)
    kept, folded = [], {}
    for node in graph.node:
        outs = _evaluate(node, values, static, np, ReferenceEvaluator)
        if outs is None:
            kept.append(node)
            continue
        derived = any(i in from_param for i in node.input)
        for name, value in zip(node.output, outs, strict=False):
            values[name] = folded[name] = np.asarray(value)
            if derived:
                from_param.add(name)
    if not folded:
        return FoldResult(model, 0, frozenset())
    used = {i for n in kept for i in n.input} | {o.name for o in graph.output}
    new = onnx.ModelProto()
    new.CopyFrom(model)
    g = new.graph
    del g.node[:]
    g.node.extend(kept)
    del g.value_info[:]
    g.initializer.extend(numpy_helper.from_array(v, k) for k, v in folded.items() if k in used)
    inferred = shape_inference.infer_shapes(new, strict_mode=True)
    constants = frozenset(k for k in folded if k in used and k not in from_param)
    return FoldResult(inferred, len(graph.node) - len(kept), constants)


def _evaluate(node: Any, values: dict[str, Any], static: dict[str, Any], np: Any,
              evaluator: Any) -> list[Any] | None:
    """The node's output values, or None when it is not static (or cannot be evaluated)."""
    if node.domain not in ("", "ai.onnx") or node.op_type in _NEVER:
        return None
    if node.op_type in ("Shape", "Size"):
        shape = static.get(node.input[0])
        if shape is None:
            return None
        if node.op_type == "Size":
            return [np.array(int(np.prod(shape)), dtype=np.int64)]
        attrs = {a.name: a.i for a in node.attribute}
        start, end = attrs.get("start", 0), attrs.get("end", len(shape))
        return [np.array(shape[start:end], dtype=np.int64)]
    inputs = [i for i in node.input if i]
    if not all(i in values for i in inputs) or (not inputs and node.op_type != "Constant"):
        return None
    try:
        return list(evaluator(node).run(None, {i: values[i] for i in inputs}))
    except Exception:  # an op the reference evaluator lacks stays in the graph (and is
        return None  # reported by the importer if it has no mapping)


def _static_shape(vi: Any) -> tuple[int, ...] | None:
    tt = vi.type.tensor_type
    if not tt.HasField("shape"):
        return None
    dims = [d.dim_value if d.HasField("dim_value") else -1 for d in tt.shape.dim]
    return None if any(d < 0 for d in dims) else tuple(dims)
