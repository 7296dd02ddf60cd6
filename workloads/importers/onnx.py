"""Import an ONNX model into the workload IR, using ONNX's own shape inference.

Supported: Conv, Gemm, MatMul, BatchNormalization, LayerNormalization, Softmax, ReduceMean,
element-wise ops (Relu, Gelu, Add, Mul, Cast, ...), MaxPool/AveragePool/GlobalAveragePool/
GlobalMaxPool, and layout ops (Reshape, Transpose, Flatten, Slice, Expand, Gather, ...) as free
views. Anything else is an error that lists the unsupported operators and the supported ones,
or, with ``keep_unsupported=True``, an opaque element-wise op (with a warning and a graph note
``notes``) so the rest of the graph can still be costed.

Exported transformer code first has its static subgraphs (shape arithmetic, masks) folded by
:mod:`workloads.importers.onnx_fold`. Then attention written out as ``MatMul(q, k)``, an
optional constant mask ``Add``, ``Softmax`` and ``MatMul(p, v)`` becomes one attention op
(causal when the folded mask is exactly the lower triangle; KV heads from an ``Expand`` that
repeats them), and a written-out RMSNorm one rmsnorm op.

Weights are the initializers: a MatMul/Gemm whose B is an initializer is a layer with
parameters, otherwise a product of two activations. Initializer inputs of element-wise ops
with more than one element (biases, position embeddings) count as parameters; scalar
constants do not.

A file that is not a usable model is an error naming what is wrong, never a traceback or an
empty graph: an empty or corrupt file, a graph without operators, a node reading a tensor
that nothing defines, and whatever ONNX's own shape inference rejects in strict mode (a
MaxPool without ``kernel_shape``, zero strides, a Gemm on a 1-D input, ...). The importer
checks the attributes it relies on itself as well, so its errors use the ONNX names.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

from hwsim.errors import HwsimError
from workloads.formats import Precision, get_precision
from workloads.graph import Graph
from workloads.importers.notes import check_unsupported, unsupported_note
from workloads.importers.onnx_fold import fold_constants
from workloads.importers.reduce import mean_as_pool
from workloads.ops import Attention, Conv2d, Elementwise, MatMul, Norm, Op, Pool, Softmax, View

_ELEMENTWISE = {
    "Relu": "relu", "Gelu": "gelu", "Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div",
    "Sigmoid": "sigmoid", "Tanh": "tanh", "Erf": "gelu", "Sqrt": "sqrt", "Pow": "pow",
    "Exp": "exp", "Neg": "neg", "Abs": "abs", "Max": "max", "Min": "min", "Clip": "clip",
    "HardSwish": "hardswish", "LeakyRelu": "leaky_relu", "Concat": "concat",
    "Reciprocal": "div", "Cast": "copy",
}
_VIEWS = {
    "Reshape": "reshape", "Transpose": "transpose", "Flatten": "flatten",
    "Squeeze": "squeeze", "Unsqueeze": "unsqueeze", "Identity": "identity",
    "Dropout": "dropout", "Slice": "reshape", "Expand": "reshape", "Gather": "reshape",
}
_IGNORED = {"Constant"}  # values only; their outputs are treated like initializers
SUPPORTED = (
    "Conv", "Gemm", "MatMul", "BatchNormalization", "LayerNormalization", "Softmax",
    "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "ReduceMean",
    *_ELEMENTWISE, *_VIEWS, *_IGNORED,
)


def import_onnx(
    model: Any,
    *,
    name: str | None = None,
    precision: str | Precision = "fp16",
    keep_unsupported: bool = False,
) -> Graph:
    """Build a graph from an ONNX file path or ``onnx.ModelProto``."""
    try:
        import onnx
        from onnx import shape_inference
    except ImportError:  # pragma: no cover - onnx is in the dev extra
        raise HwsimError("importing ONNX needs the 'onnx' package: pip install onnx") from None

    if isinstance(model, str | Path):
        path = Path(model)
        try:
            proto = onnx.load(str(path), load_external_data=False)
        except FileNotFoundError:
            raise HwsimError(f"ONNX file {path} does not exist") from None
        except Exception as exc:  # onnx raises DecodeError and others for bad files
            raise HwsimError(f"cannot read ONNX model {path}: {_one_line(exc)}") from None
        default_name = path.stem
    else:
        proto, default_name = model, model.graph.name or "onnx"
    where = f"ONNX model {path}" if isinstance(model, str | Path) else "ONNX model"
    if not proto.graph.node:
        raise HwsimError(f"{where} has no operators (an empty or truncated file?); expected a "
                         "model saved by onnx.save or torch.onnx.export")
    _check_opset(proto, where, onnx.defs.onnx_opset_version())
    _check_defined(proto.graph)
    try:
        # strict: an op that breaks its schema (missing or out-of-range attributes, wrong
        # input ranks) is an error here instead of a shape the importer cannot use
        inferred = shape_inference.infer_shapes(proto, strict_mode=True)
    except Exception as exc:
        raise HwsimError(f"{where}: ONNX shape inference failed: {_one_line(exc)}") from None
    try:
        folded = fold_constants(inferred)
    except Exception as exc:  # shape inference of the folded graph rejected it
        raise HwsimError(f"{where}: folding its constant subgraphs failed: "
                         f"{_one_line(exc)}") from None
    return _Importer(folded.model, keep_unsupported, folded.constants).run(
        name or default_name, get_precision(precision))


class _Importer:
    def __init__(self, model: Any, keep_unsupported: bool,
                 folded: frozenset[str] = frozenset()) -> None:
        self.graph = model.graph
        self.keep = keep_unsupported
        self.folded = folded  # constants computed from shapes (masks, shapes): no parameters
        self.counted: set[str] = set()  # element-wise parameter tables already counted
        self.consts: dict[str, tuple[int, ...]] = {
            t.name: tuple(int(d) for d in t.dims) for t in self.graph.initializer
        }
        init = set(self.consts)
        self.shapes: dict[str, tuple[int, ...] | None] = dict(self.consts)
        for vi in (*self.graph.input, *self.graph.value_info, *self.graph.output):
            if vi.name not in init:
                self.shapes[vi.name] = _shape_of(vi)
        self.names: set[str] = set()

    def run(self, name: str, precision: Precision) -> Graph:
        nodes = list(self.graph.node)
        unsupported = Counter(n.op_type for n in nodes if n.op_type not in SUPPORTED)
        check_unsupported("ONNX operators", unsupported, SUPPORTED, self.keep,
                          "keep_unsupported=True (CLI: --keep-unsupported)")
        self.made = {o: n for n in nodes for o in n.output}
        try:
            self.attention = _attention_groups(nodes, self)
            self.rmsnorm = _rmsnorm_groups(nodes, self)
        except (TypeError, ValueError, IndexError, KeyError) as exc:  # defensive, as below
            raise HwsimError(f"ONNX model {name!r}: malformed attention or norm nodes "
                             f"({type(exc).__name__}: {_one_line(exc)})") from None
        absorbed = {id(n) for g in (*self.attention.values(), *self.rmsnorm.values())
                    for n in g[:-1]}
        ops: list[Op] = []
        for i, node in enumerate(nodes):
            if node.op_type == "Constant":
                for out in node.output:
                    self.consts[out] = ()
                continue
            if id(node) in absorbed:
                continue
            if node.op_type in (*_VIEWS, "Cast") and node.input and all(
                    t in self.consts for t in node.input if t):
                # a parameter in another layout or type (a transposed weight) is a parameter
                for out in node.output:
                    self.consts[out] = self._shape(node, out)
                continue
            label = self._unique(node.name or f"{node.op_type}_{i}")
            try:
                op = self._convert(node, label)
            except HwsimError:
                raise
            except (TypeError, ValueError, IndexError, KeyError, ZeroDivisionError) as exc:
                # defensive: attributes of a type or size the checks above did not expect
                raise HwsimError(f"ONNX node {label!r} ({node.op_type}): malformed attributes "
                                 f"or inputs ({type(exc).__name__}: {_one_line(exc)})") from None
            if op is not None:
                ops.append(op)
        attrs = {"model": name, "phase": "inference", "source": "onnx import"}
        if unsupported:
            attrs["notes"] = unsupported_note("ONNX operators", unsupported)
        return Graph(name, tuple(ops), tuple(attrs.items())).with_precision(precision)

    # --- helpers -----------------------------------------------------------------------
    def _unique(self, base: str) -> str:
        out, k = base, 1
        while out in self.names:
            out, k = f"{base}_{k}", k + 1
        self.names.add(out)
        return out

    def _shape(self, node: Any, tensor: str) -> tuple[int, ...]:
        shape = self.shapes.get(tensor)
        if shape is None:
            raise HwsimError(
                f"ONNX node {node.name or node.op_type!r} ({node.op_type}): the shape of "
                f"tensor {tensor!r} is unknown after shape inference; export the model with "
                "static input shapes"
            )
        return shape

    def _value(self, node: Any, tensor: str) -> Any:
        """The value of a constant input (an initializer after folding)."""
        from onnx import numpy_helper

        for t in self.graph.initializer:
            if t.name == tensor and not t.external_data:
                return numpy_helper.to_array(t)
        raise HwsimError(f"ONNX node {node.name or node.op_type!r} ({node.op_type}): input "
                         f"{tensor!r} must be a constant")

    def _attention(self, node: Any, name: str) -> Attention:
        """The ``MatMul(q, k) [+ mask] -> Softmax -> MatMul(p, v)`` ending at ``node``."""
        qk, add, _, _ = self.attention[id(node)]
        q = self._shape(qk, qk.input[0])
        scores = self._shape(qk, qk.output[0])
        batch, heads = (math.prod(scores[:-3]), scores[-3]) if len(scores) > 3 else \
            (math.prod(scores[:-2]), 1)
        q_len, kv_len = scores[-2:]
        causal = False
        if add is not None:
            mask = next(self._value(add, t) for t in add.input if t in self.folded or
                        t in self.consts)
            causal = _is_causal(mask, q_len, kv_len)
        reps = {self._repeats(qk.input[1]), self._repeats(node.input[1])}
        rep = reps.pop() if len(reps) == 1 else 1
        kv_heads = heads // rep if heads % rep == 0 else heads
        return Attention(name=name, batch=batch, heads=heads, kv_heads=kv_heads, q_len=q_len,
                         kv_len=kv_len, head_dim=q[-1], causal=causal)

    def _repeats(self, tensor: str) -> int:
        """How many times an ``Expand`` upstream of ``tensor`` (through layout ops and scalar
        scaling) repeats it: Hugging Face's ``repeat_kv`` for grouped-query attention."""
        for _ in range(8):
            node = self.made.get(tensor)
            if node is None:
                return 1
            if node.op_type == "Expand":
                src, out = self.shapes.get(node.input[0]), self.shapes.get(node.output[0])
                return math.prod(out) // math.prod(src) if src and out else 1
            if node.op_type not in (*_VIEWS, "Mul", "Div"):
                return 1
            acts = [t for t in node.input if t and t not in self.consts]
            if len(acts) != 1:
                return 1
            tensor = acts[0]
        return 1

    def _acts(self, node: Any) -> list[str]:
        return [t for t in node.input if t and t not in self.consts]

    def _convert(self, node: Any, name: str) -> Op | None:
        t = node.op_type
        attrs = {a.name: _attr(a) for a in node.attribute}
        if id(node) in self.attention:
            return self._attention(node, name)
        if id(node) in self.rmsnorm:
            x = self._shape(node, self.rmsnorm[id(node)][0].input[0])
            weight = node.op_type == "Mul" and any(
                t in self.consts and t not in self.folded for t in node.input)
            return Norm(name=name, kind="rmsnorm", shape=(math.prod(x[:-1]), x[-1]),
                        affine=weight, bias=False)
        if t == "ReduceMean":
            axes = attrs.get("axes")
            if len(node.input) > 1 and node.input[1]:
                axes = self._value(node, node.input[1]).tolist()
            return mean_as_pool(name, self._shape(node, node.input[0]), axes)
        if t == "Conv":
            return self._conv(node, name, attrs)
        if t in ("Gemm", "MatMul"):
            return self._matmul(node, name, attrs)
        if t == "BatchNormalization":
            return Norm(name=name, kind="batchnorm", shape=self._shape(node, node.input[0]))
        if t == "LayerNormalization":
            shape = self._shape(node, node.input[0])
            axis = attrs.get("axis", -1) % len(shape)
            flat = (math.prod(shape[:axis]), math.prod(shape[axis:]))
            return Norm(name=name, kind="layernorm", shape=flat,
                        bias=len(node.input) > 2 and bool(node.input[2]))
        if t == "Softmax":
            return Softmax(name=name, shape=self._shape(node, node.output[0]),
                           axis=attrs.get("axis", -1))
        if t in ("MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"):
            return self._pool(node, name, attrs)
        if t in _VIEWS:
            return View(name=name, kind=_VIEWS[t], shape=self._shape(node, node.output[0]))
        out = self._shape(node, node.output[0])
        tables = [i for i in node.input if i in self.consts and i not in self.folded and
                  math.prod(self.consts[i]) > 1]
        # a table an earlier op already counted (RoPE's cos applied to q and to k) is read
        # again, as an input, not counted twice as parameters
        again = [i for i in tables if i in self.counted]
        self.counted.update(tables)
        params = [self.consts[i] for i in tables if i not in again]
        if len(params) > 1:  # e.g. Clip's min/max are scalars; two tensors would be unusual
            params = [tuple([sum(math.prod(p) for p in params)])]
        kind = _ELEMENTWISE.get(t, "opaque")
        return Elementwise(
            name=name, kind=kind, shape=out or (1,),
            num_inputs=len(self._acts(node)) + len(again),
            param_shape=params[0] if params else None,
            detail=t if kind == "opaque" else "",
        )

    def _conv(self, node: Any, name: str, attrs: dict[str, Any]) -> Conv2d:
        x = self._shape(node, node.input[0])
        w = self._shape(node, node.input[1])
        if len(x) != 4:
            raise HwsimError(f"ONNX node {name!r} (Conv): only 2-D convolutions (NCHW input) "
                             f"are supported, got input shape {list(x)}")
        kernel = _positive(attrs, "kernel_shape", tuple(w[2:]), name, node)
        stride = _positive(attrs, "strides", (1, 1), name, node)
        dil = _positive(attrs, "dilations", (1, 1), name, node)
        pads = tuple(attrs.get("pads", (0, 0, 0, 0)))
        pads = _auto_pad(attrs.get("auto_pad", "NOTSET"), x[2:], kernel, stride, dil, pads)
        return Conv2d(name=name, x_shape=x, out_channels=w[0], kernel=kernel, stride=stride,
                      padding=pads, dilation=dil, groups=int(attrs.get("group", 1)),
                      bias=len(node.input) > 2 and bool(node.input[2]))

    def _matmul(self, node: Any, name: str, attrs: dict[str, Any]) -> Op:
        a = self._shape(node, node.input[0])
        b = self._shape(node, node.input[1])
        if node.op_type == "Gemm":
            if len(a) != 2 or len(b) != 2:
                raise HwsimError(f"ONNX node {name!r} (Gemm): inputs A and B must be 2-D, got "
                                 f"shapes {list(a)} and {list(b)}")
            if attrs.get("transA", 0):
                a = (*a[:-2], a[-1], a[-2])
            if attrs.get("transB", 0):
                b = (*b[:-2], b[-1], b[-2])
        # ONNX MatMul follows numpy: a 1-D operand gains a unit dimension
        if len(a) == 1:
            a = (1, *a)
        if len(b) == 1:
            b = (*b, 1)
        is_param = node.input[1] in self.consts and node.input[1] not in self.folded
        bias = node.op_type == "Gemm" and len(node.input) > 2 and bool(node.input[2])
        return MatMul(name=name, a_shape=a, b_shape=b, b_kind="weight" if is_param else "act",
                      bias=bias and is_param)

    def _pool(self, node: Any, name: str, attrs: dict[str, Any]) -> Pool:
        x = self._shape(node, node.input[0])
        if len(x) != 4:
            raise HwsimError(f"ONNX node {name!r} ({node.op_type}): only 2-D pooling is "
                             f"supported, got input shape {list(x)}")
        kind = "max" if "Max" in node.op_type else "avg"
        if node.op_type.startswith("Global"):
            return Pool(name=name, kind=kind, x_shape=x, global_pool=True)
        if "kernel_shape" not in attrs:
            raise HwsimError(f"ONNX node {name!r} ({node.op_type}): attribute 'kernel_shape' "
                             "is missing; it is required")
        kernel = _positive(attrs, "kernel_shape", (), name, node)
        stride = _positive(attrs, "strides", (1, 1), name, node)
        pads = tuple(attrs.get("pads", (0, 0, 0, 0)))
        pads = _auto_pad(attrs.get("auto_pad", "NOTSET"), x[2:], kernel, stride, (1, 1), pads)
        return Pool(name=name, kind=kind, x_shape=x, kernel=kernel, stride=stride, padding=pads)


def _positive(attrs: dict[str, Any], key: str, default: tuple[int, ...], name: str,
              node: Any) -> tuple[int, ...]:
    """Attribute ``key`` as 2 positive integers (the 2-D ops' kernel, strides, dilations)."""
    value = tuple(attrs.get(key, default))
    if len(value) != 2 or any(isinstance(v, bool) or not isinstance(v, int) or v < 1
                              for v in value):
        raise HwsimError(f"ONNX node {name!r} ({node.op_type}): attribute {key!r} is "
                         f"{list(value)}; expected 2 positive integers")
    return value


def _check_opset(proto: Any, where: str, newest: int) -> None:
    """The standard-domain opset must be one this ``onnx`` knows (its ops' meaning and the
    shape inference depend on it)."""
    for imp in proto.opset_import:
        if imp.domain in ("", "ai.onnx") and not 1 <= imp.version <= newest:
            raise HwsimError(f"{where} uses ONNX opset {imp.version}; the installed onnx "
                             f"package reads opsets 1..{newest}")


def _check_defined(graph: Any) -> None:
    """Every node input must be a graph input, an initializer or an earlier node's output."""
    defined = {t.name for t in (*graph.input, *graph.initializer)}
    for i, node in enumerate(graph.node):
        for tensor in node.input:
            if tensor and tensor not in defined:
                raise HwsimError(
                    f"ONNX node {node.name or f'{node.op_type}_{i}'!r} ({node.op_type}) reads "
                    f"tensor {tensor!r}, which no graph input, initializer or earlier node "
                    "defines; nodes must be in execution order"
                )
        defined.update(node.output)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _auto_pad(mode: Any, hw: tuple[int, ...], kernel: tuple[int, ...], stride: tuple[int, ...],
              dil: tuple[int, ...], pads: tuple[int, ...]) -> tuple[int, ...]:
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    if mode in ("NOTSET", ""):
        return pads
    if mode == "VALID":
        return (0, 0, 0, 0)
    begin, end = [], []
    for size, k, s, d in zip(hw, kernel, stride, dil, strict=True):
        out = -(-size // s)
        total = max((out - 1) * s + d * (k - 1) + 1 - size, 0)
        small, big = total // 2, total - total // 2
        begin.append(small if mode == "SAME_UPPER" else big)
        end.append(big if mode == "SAME_UPPER" else small)
    return (*begin, *end)


def _shape_of(vi: Any) -> tuple[int, ...] | None:
    tt = vi.type.tensor_type
    if not tt.HasField("shape"):
        return None
    dims = []
    for d in tt.shape.dim:
        if not d.HasField("dim_value") or d.dim_value < 1:
            return None
        dims.append(int(d.dim_value))
    return tuple(dims)


def _attr(a: Any) -> Any:
    from onnx import helper

    return helper.get_attribute_value(a)


def _attention_groups(nodes: list[Any], imp: _Importer) -> dict[int, tuple[Any, ...]]:
    """Attention written out by an exporter: ``s = MatMul(q, k)``, optionally ``s + mask``
    (a constant), ``p = Softmax(s, axis=-1)``, ``MatMul(p, v)``, each intermediate used once
    and q, k, v activations with one head size. Returns, keyed by ``id`` of the last MatMul,
    ``(qk, add or None, softmax, pv)``."""
    users: Counter[str] = Counter(t for n in nodes for t in n.input)
    made = {o: n for n in nodes for o in n.output}
    groups: dict[int, tuple[Any, ...]] = {}
    for pv in nodes:
        if pv.op_type != "MatMul" or pv.input[1] in imp.consts:
            continue
        sm = made.get(pv.input[0])
        if sm is None or sm.op_type != "Softmax" or users[sm.output[0]] != 1:
            continue
        axis = next((_attr(a) for a in sm.attribute if a.name == "axis"), -1)
        src, add = made.get(sm.input[0]), None
        if src is not None and src.op_type == "Add" and users[src.output[0]] == 1:
            masks = [t for t in src.input if t in imp.consts]
            if len(masks) == 1:
                add, src = src, made.get(next(t for t in src.input if t not in imp.consts))
        if src is None or src.op_type != "MatMul" or users[src.output[0]] != 1 or \
                any(t in imp.consts for t in src.input):
            continue
        shapes = [imp.shapes.get(t) for t in (src.input[0], src.output[0], pv.input[1])]
        if any(s is None for s in shapes) or axis not in (-1, len(shapes[1]) - 1) or \
                shapes[0][-1] != shapes[2][-1]:
            continue
        groups[id(pv)] = (src, add, sm, pv)
    return groups


def _is_causal(mask: Any, q_len: int, kv_len: int) -> bool:
    """Whether an additive mask keeps exactly the keys ``j <= i`` for query ``i`` (the
    masked entries a large negative number or -inf), the same for every batch and head."""
    import numpy as np

    if q_len != kv_len or mask.shape[-2:] != (q_len, kv_len):
        return False
    keep = np.asarray(mask, dtype=np.float64).reshape(-1, q_len, kv_len) > -1e4
    return bool((keep == np.tri(q_len, kv_len, dtype=bool)).all())


def _rmsnorm_groups(nodes: list[Any], imp: _Importer) -> dict[int, list[Any]]:
    """RMSNorm written out by an exporter: ``Pow(x, 2)`` (or ``Mul(x, x)``), ``ReduceMean``
    over the last axis, ``Add(eps)``, ``Sqrt``, then ``x / sqrt`` (as ``Div(x, s)``,
    ``Mul(x, Div(1, s))`` or ``Mul(x, Reciprocal(s))``) and optionally ``Mul`` by a weight
    of the last axis' size; each intermediate used once. Keyed by ``id`` of the last node,
    the chain's nodes in order."""
    users: dict[str, list[Any]] = {}
    for n in nodes:
        for t in n.input:
            users.setdefault(t, []).append(n)

    def only(n: Any, op: str | tuple[str, ...]) -> Any:
        u = users.get(n.output[0], [])
        return u[0] if len(u) == 1 and u[0].op_type in (op if isinstance(op, tuple)
                                                        else (op,)) else None

    groups: dict[int, list[Any]] = {}
    for sq in nodes:
        if sq.op_type == "Pow" and sq.input[1] in imp.consts:
            if _const(imp, sq, sq.input[1]) != 2:
                continue
        elif not (sq.op_type == "Mul" and sq.input[0] == sq.input[1]):
            continue
        x = sq.input[0]
        shape = imp.shapes.get(x)
        mean = only(sq, "ReduceMean")
        if shape is None or mean is None or not _last_axis_mean(mean, imp, len(shape)):
            continue
        add = only(mean, "Add")
        sqrt = add and only(add, "Sqrt")
        if sqrt is None or not any(t in imp.consts for t in add.input):
            continue
        chain = [sq, mean, add, sqrt]
        nxt = only(sqrt, ("Div", "Reciprocal"))
        if nxt is not None and nxt.op_type == "Div" and nxt.input[0] == x:
            chain.append(nxt)
        elif nxt is not None and (nxt.op_type == "Reciprocal" or nxt.input[0] in imp.consts):
            scale = only(nxt, "Mul")
            if scale is None or x not in scale.input:
                continue
            chain += [nxt, scale]
        else:
            continue
        last = only(chain[-1], "Mul")
        if last is not None and any(imp.consts.get(t) == (shape[-1],) for t in last.input):
            chain.append(last)
        groups[id(chain[-1])] = chain
    return groups


def _last_axis_mean(node: Any, imp: _Importer, rank: int) -> bool:
    attrs = {a.name: _attr(a) for a in node.attribute}
    axes = attrs.get("axes")
    if len(node.input) > 1 and node.input[1] in imp.consts:
        axes = _const(imp, node, node.input[1])
    return attrs.get("keepdims", 1) == 1 and axes is not None and \
        [a % rank for a in axes] == [rank - 1]


def _const(imp: _Importer, node: Any, tensor: str) -> Any:
    """A constant's value as a Python number or list, None when its data is not in the
    file (stored externally)."""
    try:
        return imp._value(node, tensor).tolist()
    except HwsimError:
        return None
