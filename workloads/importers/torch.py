"""Import a PyTorch module into the workload IR, via ``torch.export`` or ``torch.fx``.

Needs the optional extra ``[torch]``; torch is imported inside the functions only.

- ``route='export'`` (default): ``torch.export.export(module, example_inputs)``; ops are
  ATen calls with shapes in ``node.meta['val']``; parameters are the placeholders the graph
  signature maps to parameters.
- ``route='fx'``: ``torch.fx.symbolic_trace`` plus ``ShapeProp`` on the example inputs; ops
  are module calls (``nn.Conv2d``, ``nn.Linear``, ...) and functions.

Both give the same IR for the layers they share: convolutions, linear layers and matrix
products, batch/layer norm, pooling, softmax, element-wise activations and arithmetic, and
layout ops (views, free). Unknown calls are listed in one error, or kept as opaque
element-wise ops with a warning when ``keep_unsupported=True``.
"""

from __future__ import annotations

import math
import operator
import warnings
from collections import Counter
from typing import Any, Literal

from hwsim.errors import HwsimError
from workloads.formats import Precision, get_precision
from workloads.graph import Graph
from workloads.ops import Conv2d, Elementwise, MatMul, Norm, Op, Pool, Softmax, View

_ACT = {
    "relu": "relu", "relu_": "relu", "gelu": "gelu", "silu": "silu", "silu_": "silu",
    "sigmoid": "sigmoid", "tanh": "tanh", "hardtanh": "relu6", "hardtanh_": "relu6",
    "relu6": "relu6", "hardswish": "hardswish", "hardswish_": "hardswish",
    "add": "add", "add_": "add", "sub": "sub", "mul": "mul", "mul_": "mul", "div": "div",
    "exp": "exp", "sqrt": "sqrt", "rsqrt": "sqrt", "neg": "neg", "pow": "pow", "cat": "concat",
    "leaky_relu": "leaky_relu",
}
_VIEW = {
    "view": "reshape", "reshape": "reshape", "_unsafe_view": "reshape", "flatten": "flatten",
    "t": "transpose", "transpose": "transpose", "permute": "transpose",
    "squeeze": "squeeze", "unsqueeze": "unsqueeze", "contiguous": "identity",
    "clone": "identity", "dropout": "dropout", "alias": "identity", "expand": "reshape",
    "detach": "identity",
}
_SKIP = {"getitem", "size", "sym_size"}


def import_torch(
    module: Any,
    example_inputs: tuple[Any, ...],
    *,
    route: Literal["export", "fx"] = "export",
    name: str | None = None,
    precision: str | Precision = "fp16",
    keep_unsupported: bool = False,
) -> Graph:
    """Trace ``module`` on ``example_inputs`` and return its IR graph (eval mode)."""
    try:
        import torch
    except ImportError:
        raise HwsimError(
            "importing PyTorch models needs torch: pip install 'hwsim[torch]'"
        ) from None
    if route not in ("export", "fx"):
        raise HwsimError(f"unknown import route {route!r}; allowed: export, fx")
    if not isinstance(example_inputs, tuple):
        example_inputs = (example_inputs,)
    module = module.eval()
    with torch.no_grad():
        calls = _export_calls(module, example_inputs) if route == "export" else \
            _fx_calls(module, example_inputs)
    graph_name = name or type(module).__name__.lower()
    ops = _to_ops(calls, keep_unsupported)
    attrs = {"model": graph_name, "phase": "inference", "source": f"torch.{route} import"}
    return Graph(graph_name, tuple(ops), tuple(attrs.items())).with_precision(
        get_precision(precision))


# A traced call, normalised across the two routes: an op kind (ATen-style name), the node
# name, the shapes of its tensor arguments (None for non-tensors), which of them are
# parameters, its remaining arguments, and its output shape.
class _Call:
    __slots__ = ("kind", "name", "shapes", "is_param", "args", "out")

    def __init__(self, kind: str, name: str, shapes: list[tuple[int, ...] | None],
                 is_param: list[bool], args: list[Any], out: tuple[int, ...] | None) -> None:
        self.kind, self.name, self.shapes, self.is_param = kind, name, shapes, is_param
        self.args, self.out = args, out


def _shape(val: Any) -> tuple[int, ...] | None:
    shape = getattr(val, "shape", None)
    if shape is None:
        return None
    try:
        return tuple(int(d) for d in shape)
    except TypeError:  # symbolic dimension
        return None


def _export_calls(module: Any, inputs: tuple[Any, ...]) -> list[_Call]:
    import torch

    try:
        ep = torch.export.export(module, inputs)
    except Exception as exc:
        raise HwsimError(f"torch.export failed: {type(exc).__name__}: {exc}") from None
    sig = ep.graph_signature
    params = set(sig.inputs_to_parameters)
    shapes: dict[str, tuple[int, ...] | None] = {}
    calls = []
    for node in ep.graph.nodes:
        shapes[node.name] = _shape(node.meta.get("val"))
        if node.op != "call_function":
            continue
        target = node.target
        kind = getattr(target, "_opname", None) or getattr(target, "__name__", str(target))
        args = list(node.args)
        tensor_args = [a for a in args if hasattr(a, "name") and hasattr(a, "op")]
        # list arguments (torch.cat) hold nodes too
        for a in args:
            if isinstance(a, list | tuple):
                tensor_args += [x for x in a if hasattr(x, "op")]
        calls.append(_Call(
            kind.rstrip("_") if kind.endswith("_") and kind[:-1] in _ACT else kind, node.name,
            [shapes.get(a.name) for a in tensor_args], [a.name in params for a in tensor_args],
            [a if not hasattr(a, "op") else None for a in args],
            shapes[node.name],
        ))
    return calls


def _fx_calls(module: Any, inputs: tuple[Any, ...]) -> list[_Call]:
    import torch
    from torch import nn
    from torch.fx.passes.shape_prop import ShapeProp

    try:
        gm = torch.fx.symbolic_trace(module)
        ShapeProp(gm).propagate(*inputs)
    except Exception as exc:
        raise HwsimError(f"torch.fx tracing failed: {type(exc).__name__}: {exc}") from None

    def shape_of(n: Any) -> tuple[int, ...] | None:
        meta = n.meta.get("tensor_meta")
        return tuple(int(d) for d in meta.shape) if hasattr(meta, "shape") else None

    calls = []
    for node in gm.graph.nodes:
        if node.op not in ("call_module", "call_function", "call_method"):
            continue
        tensor_args = [a for a in node.args if hasattr(a, "op")]
        shapes = [shape_of(a) for a in tensor_args]
        out = shape_of(node)
        plain = [a if not hasattr(a, "op") else None for a in node.args]
        if node.op == "call_module":
            m = gm.get_submodule(node.target)
            call = _fx_module_call(m, node.name, shapes, out, nn)
        else:
            target = node.target
            if target in (operator.add, operator.iadd):
                kind = "add"
            elif target in (operator.mul, operator.imul):
                kind = "mul"
            elif target is operator.getitem:
                kind = "getitem"
            else:
                kind = target if isinstance(target, str) else getattr(target, "__name__", "?")
            if kind in ("flatten",):
                plain = []
            call = _Call(kind, node.name, shapes, [False] * len(shapes), plain, out)
        calls.append(call)
    return calls


def _fx_module_call(m: Any, name: str, shapes: list, out: Any, nn: Any) -> _Call:
    x = shapes[:1]
    if isinstance(m, nn.Conv2d):
        w, b = tuple(m.weight.shape), m.bias is not None
        pad = m.padding if not isinstance(m.padding, str) else _same_pad(m, x[0])
        return _Call("conv2d", name, [*x, w, tuple(m.bias.shape) if b else None],
                     [False, True, b], [None, None, None, m.stride, pad, m.dilation, m.groups],
                     out)
    if isinstance(m, nn.Linear):
        return _Call("linear", name, [*x, tuple(m.weight.shape),
                                      tuple(m.bias.shape) if m.bias is not None else None],
                     [False, True, m.bias is not None], [], out)
    if isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d):
        aff = m.affine
        return _Call("batch_norm", name, [*x, (m.num_features,) if aff else None,
                                          (m.num_features,) if aff else None],
                     [False, aff, aff], [], out)
    if isinstance(m, nn.LayerNorm):
        aff = m.elementwise_affine
        bias = aff and getattr(m, "bias", None) is not None
        return _Call("layer_norm", name, [*x, tuple(m.weight.shape) if aff else None,
                                          tuple(m.bias.shape) if bias else None],
                     [False, aff, bias], [None, list(m.normalized_shape)], out)
    if isinstance(m, nn.MaxPool2d | nn.AvgPool2d):
        kind = "max_pool2d" if isinstance(m, nn.MaxPool2d) else "avg_pool2d"
        return _Call(kind, name, x, [False], [None, m.kernel_size, m.stride, m.padding], out)
    if isinstance(m, nn.AdaptiveAvgPool2d):
        return _Call("adaptive_avg_pool2d", name, x, [False], [None, m.output_size], out)
    if isinstance(m, nn.Softmax):
        return _Call("softmax", name, x, [False], [None, m.dim], out)
    simple = {nn.ReLU: "relu", nn.ReLU6: "relu6", nn.GELU: "gelu", nn.SiLU: "silu",
              nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.Hardswish: "hardswish",
              nn.Dropout: "dropout", nn.Flatten: "flatten", nn.Identity: "identity"}
    for cls, kind in simple.items():
        if isinstance(m, cls):
            return _Call(kind, name, x, [False], [], out)
    return _Call(type(m).__name__, name, x, [False], [], out)


def _same_pad(m: Any, x: tuple[int, ...] | None) -> tuple[int, int]:
    # padding='same' (stride 1 only in PyTorch): total dilation*(k-1), split evenly
    return tuple((d * (k - 1)) // 2 for k, d in zip(m.kernel_size, m.dilation, strict=True))


def _to_ops(calls: list[_Call], keep: bool) -> list[Op]:
    unknown = Counter(c.kind for c in calls if _handler(c.kind) is None)
    if unknown and not keep:
        listed = ", ".join(f"{k} ({v}x)" for k, v in sorted(unknown.items()))
        raise HwsimError(f"unsupported PyTorch operations: {listed}; pass "
                         "keep_unsupported=True to keep them as opaque element-wise ops")
    if unknown:
        warnings.warn("kept as opaque element-wise ops: " + ", ".join(sorted(unknown)),
                      stacklevel=3)
    ops: list[Op] = []
    for c in calls:
        h = _handler(c.kind)
        if h == "skip":
            continue
        if c.out is None and h != "skip":
            raise HwsimError(f"torch node {c.name!r} ({c.kind}): its output shape is unknown")
        op = _convert(c, h)
        if op is not None:
            ops.append(op)
    return ops


def _handler(kind: str) -> str | None:
    if kind in _SKIP:
        return "skip"
    if kind in ("conv2d", "convolution"):
        return "conv"
    if kind in ("linear", "addmm", "mm", "matmul", "bmm"):
        return "matmul"
    if "batch_norm" in kind:
        return "batchnorm"
    if kind == "layer_norm":
        return "layernorm"
    if kind in ("max_pool2d", "max_pool2d_with_indices", "avg_pool2d", "adaptive_avg_pool2d",
                "mean"):
        return "pool"
    if kind in ("softmax", "_softmax"):
        return "softmax"
    if kind in _ACT:
        return "act"
    if kind in _VIEW or kind in ("relu6",) or kind in ("identity",):
        return "view" if kind in _VIEW or kind == "identity" else "act"
    return None


def _ints(v: Any, n: int = 2) -> tuple[int, ...]:
    if isinstance(v, int):
        return (v,) * n
    return tuple(int(x) for x in v)


def _convert(c: _Call, h: str | None) -> Op | None:
    x = c.shapes[0] if c.shapes else None
    if h is None:
        return Elementwise(name=c.name, kind="opaque", shape=c.out or (1,),
                           num_inputs=max(1, sum(1 for p in c.is_param if not p)), detail=c.kind)
    if h == "view":
        return View(name=c.name, kind=_VIEW.get(c.kind, "identity"), shape=c.out or (1,))
    if h == "conv":
        w = c.shapes[1]
        a = c.args + [None] * 9
        if c.kind == "convolution":  # (x, w, b, stride, padding, dilation, transposed, opad, g)
            stride, pad, dil, groups = a[3], a[4], a[5], a[8]
        else:  # conv2d (x, w, b, stride=1, padding=0, dilation=1, groups=1)
            stride, pad, dil, groups = a[3] or 1, a[4] or 0, a[5] or 1, a[6] or 1
        if isinstance(pad, str):
            raise HwsimError(f"torch node {c.name!r}: string padding {pad!r} is not supported")
        has_bias = len(c.shapes) > 2 and c.shapes[2] is not None
        return Conv2d(name=c.name, x_shape=x, out_channels=w[0], kernel=w[2:],
                      stride=_ints(stride), padding=_ints(pad), dilation=_ints(dil),
                      groups=int(groups), bias=has_bias)
    if h == "matmul":
        if c.kind == "linear":
            w = c.shapes[1]
            has_bias = len(c.shapes) > 2 and c.shapes[2] is not None
            return MatMul(name=c.name, a_shape=x, b_shape=(w[1], w[0]), bias=has_bias,
                          b_kind="weight" if c.is_param[1] else "act")
        if c.kind == "addmm":  # (bias, a, b)
            return MatMul(name=c.name, a_shape=c.shapes[1], b_shape=c.shapes[2],
                          bias=c.is_param[2], b_kind="weight" if c.is_param[2] else "act")
        return MatMul(name=c.name, a_shape=x, b_shape=c.shapes[1],
                      b_kind="weight" if c.is_param[1] else "act")
    if h == "batchnorm":
        affine = len(c.shapes) > 1 and c.shapes[1] is not None and c.is_param[1]
        return Norm(name=c.name, kind="batchnorm", shape=x, affine=affine,
                    bias=len(c.shapes) > 2 and c.shapes[2] is not None and c.is_param[2])
    if h == "layernorm":
        norm = c.args[1] if len(c.args) > 1 and c.args[1] else [x[-1]]
        k = len(norm)
        flat = (math.prod(x[:-k]), math.prod(x[-k:]))
        affine = len(c.shapes) > 1 and c.shapes[1] is not None
        return Norm(name=c.name, kind="layernorm", shape=flat, affine=affine,
                    bias=len(c.shapes) > 2 and c.shapes[2] is not None)
    if h == "softmax":
        return Softmax(name=c.name, shape=c.out)
    if h == "pool":
        n, ch, hh, ww = x
        if c.kind == "mean" or (c.kind == "adaptive_avg_pool2d" and c.out[-2:] == (1, 1)):
            return Pool(name=c.name, kind="avg", x_shape=x, global_pool=True)
        if c.kind == "adaptive_avg_pool2d":
            oh, ow = c.out[-2:]
            if hh % oh or ww % ow:
                raise HwsimError(f"torch node {c.name!r}: adaptive pooling to {oh}x{ow} from "
                                 f"{hh}x{ww} needs divisible sizes")
            k = (hh // oh, ww // ow)
            return Pool(name=c.name, kind="avg", x_shape=x, kernel=k, stride=k)
        a = c.args + [None] * 5
        kernel = _ints(a[1])
        stride = _ints(a[2]) if a[2] else kernel
        pad = _ints(a[3] or 0)
        kind = "max" if c.kind.startswith("max") else "avg"
        return Pool(name=c.name, kind=kind, x_shape=x, kernel=kernel, stride=stride,
                    padding=pad)
    # element-wise: activations are the non-parameter tensor args; parameters as param_shape
    acts = [s for s, p in zip(c.shapes, c.is_param, strict=True) if s is not None and not p]
    params = [s for s, p in zip(c.shapes, c.is_param, strict=True) if s is not None and p]
    return Elementwise(name=c.name, kind=_ACT.get(c.kind, c.kind), shape=c.out,
                       num_inputs=max(len(acts), 1 if not params else 0),
                       param_shape=params[0] if params else None)
