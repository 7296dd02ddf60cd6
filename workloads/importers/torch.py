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

The export route also maps the pieces of transformer and recurrent code, each onto the op
the built-in models use, so a device prices them the same way:

- ``scaled_dot_product_attention`` is one :class:`~workloads.ops.Attention` (a GPU runs it as
  FlashAttention): heads and KV heads from the query and key shapes (GQA), ``is_causal``
  counts the unmasked pairs only; an explicit ``attn_mask`` counts every pair (a dense mask
  skips no work). ``nn.MultiheadAttention`` with ``need_weights=True`` traces to two batched
  matrix products and a softmax and is kept as those.
- ``rms_norm`` (``nn.RMSNorm``) and the hand-written ``x * rsqrt(mean(x**2, -1) + eps) * w``
  become one RMSNorm; RoPE's rotate-half (slices, neg, cat, mul, add) and SwiGLU (silu, mul)
  stay element-wise ops; slices, selects, unflatten, expand and same-type casts are free.
- ``lstm``/``gru``/``rnn_tanh``/``rnn_relu`` (layers and cells) expand to their GEMMs, an
  input projection over all steps and a recurrent one per step (both counted over the whole
  sequence), plus their gate arithmetic.
"""

from __future__ import annotations

import math
import operator
from collections import Counter
from typing import Any, Literal, NamedTuple

from hwsim.errors import HwsimError
from workloads.formats import Precision, get_precision
from workloads.graph import Graph
from workloads.importers.notes import check_unsupported, unsupported_note
from workloads.importers.reduce import mean_as_pool
from workloads.ops import (
    Attention,
    Conv2d,
    Elementwise,
    Embedding,
    MatMul,
    Norm,
    Op,
    Pool,
    Softmax,
    View,
)

_ACT = {
    "relu": "relu", "relu_": "relu", "gelu": "gelu", "silu": "silu", "silu_": "silu",
    "sigmoid": "sigmoid", "tanh": "tanh", "hardtanh": "relu6", "hardtanh_": "relu6",
    "relu6": "relu6", "hardswish": "hardswish", "hardswish_": "hardswish",
    "add": "add", "add_": "add", "sub": "sub", "mul": "mul", "mul_": "mul", "div": "div",
    "exp": "exp", "sqrt": "sqrt", "rsqrt": "sqrt", "neg": "neg", "pow": "pow", "cat": "concat",
    "leaky_relu": "leaky_relu", "abs": "abs", "maximum": "max", "minimum": "min",
    "clamp": "clip", "reciprocal": "div", "copy": "copy",
}
_VIEW = {
    "view": "reshape", "reshape": "reshape", "_unsafe_view": "reshape", "flatten": "flatten",
    "t": "transpose", "transpose": "transpose", "permute": "transpose",
    "squeeze": "squeeze", "unsqueeze": "unsqueeze", "contiguous": "identity",
    "clone": "identity", "dropout": "dropout", "alias": "identity", "expand": "reshape",
    "detach": "identity", "select": "reshape", "slice": "reshape", "unflatten": "reshape",
    "narrow": "reshape", "view_as": "reshape", "expand_as": "reshape", "reshape_as": "reshape",
}
# no tensor work: tuple element access, shape queries, runtime assertions, the views of a
# split (their pieces come out through getitem), and tensors created from constants
_SKIP = {
    "getitem", "size", "sym_size", "_assert_tensor_metadata", "_assert_scalar",
    "sym_constrain_range_for_size", "split", "split_with_sizes", "chunk", "unbind",
    "zeros", "ones", "full", "empty", "arange", "zeros_like", "ones_like", "full_like",
    "empty_like", "scalar_tensor", "lift_fresh_copy",
}
_CASTS = ("to", "_to_copy", "type_as")
_PARAM_VIEWS = {*_VIEW, *_CASTS, "getitem", "split", "split_with_sizes", "chunk", "unbind"}
_ATTENTION = ("scaled_dot_product_attention",)
_SDPA_ARGS = ("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale",
              "enable_gqa")
#: recurrent layers and cells: kind -> gates per hidden unit
_RNN_GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}
_NAMED = {
    "conv": ("conv2d", "convolution"), "matmul": ("linear", "addmm", "mm", "matmul", "bmm",
                                                 "baddbmm"),
    "layernorm": ("layer_norm",), "rmsnorm": ("rms_norm",), "softmax": ("softmax", "_softmax"),
    "pool": ("max_pool2d", "max_pool2d_with_indices", "avg_pool2d", "adaptive_avg_pool2d",
             "mean"),
    "attention": _ATTENTION, "embedding": ("embedding",),
    "rnn": (*_RNN_GATES, *(f"{k}_cell" for k in _RNN_GATES)),
}
#: every operation name the importer maps (listed in the error for one it does not)
SUPPORTED: tuple[str, ...] = tuple(sorted({
    *_ACT, *_VIEW, *_SKIP, *_CASTS, "batch_norm", "identity",
    *(k for names in _NAMED.values() for k in names),
}))


class _T(NamedTuple):
    """A tensor argument of a traced call: its shape and whether it is a parameter."""

    shape: tuple[int, ...] | None
    param: bool


def import_torch(
    module: Any,
    example_inputs: tuple[Any, ...],
    *,
    route: Literal["export", "fx"] = "export",
    name: str | None = None,
    precision: str | Precision = "fp16",
    keep_unsupported: bool = False,
) -> Graph:
    """Trace ``module`` on ``example_inputs`` and return its IR graph (eval mode).

    ``example_inputs`` are the positional arguments of ``module``'s forward (a tuple; a single
    tensor is wrapped)."""
    torch = _torch()
    if route not in ("export", "fx"):
        raise HwsimError(f"unknown import route {route!r}; allowed: export, fx")
    if not isinstance(example_inputs, tuple):
        example_inputs = (example_inputs,)
    module = module.eval()
    with torch.no_grad():
        calls = _export_calls(module, example_inputs) if route == "export" else \
            _fx_calls(module, example_inputs)
    return _graph(calls, name or type(module).__name__.lower(), f"torch.{route} import",
                  precision, keep_unsupported)


def import_exported(
    program: Any,
    *,
    name: str | None = None,
    precision: str | Precision = "fp16",
    keep_unsupported: bool = False,
) -> Graph:
    """The IR graph of a ``torch.export.ExportedProgram``, or of a ``.pt2`` file written by
    ``torch.export.save`` (its shapes are the ones it was exported with)."""
    from pathlib import Path

    torch = _torch()
    default = "exported"
    if isinstance(program, str | Path):
        path = Path(program)
        if not path.is_file():
            raise HwsimError(f"exported program {path} does not exist")
        try:
            program = torch.export.load(str(path))
        except Exception as exc:
            raise HwsimError(f"cannot read exported program {path} (expected a .pt2 file "
                             f"written by torch.export.save): {type(exc).__name__}: "
                             f"{' '.join(str(exc).split())}") from None
        default = path.stem
    if not isinstance(program, torch.export.ExportedProgram):
        raise HwsimError(f"expected a torch.export.ExportedProgram or a .pt2 path, got "
                         f"{type(program).__name__}")
    return _graph(_program_calls(program), name or default, "torch.export import",
                  precision, keep_unsupported)


def _graph(calls: list[_Call], name: str, source: str, precision: str | Precision,
           keep: bool) -> Graph:
    ops, kept = _to_ops(calls, keep)
    attrs = {"model": name, "phase": "inference", "source": source}
    if kept:
        attrs["notes"] = unsupported_note("PyTorch operations", kept)
    return Graph(name, tuple(ops), tuple(attrs.items())).with_precision(
        get_precision(precision))


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise HwsimError(
            "importing PyTorch models needs torch: pip install 'hwsim[torch]'"
        ) from None
    return torch


# A traced call, normalised across the two routes: an op kind (ATen-style name), the node
# name, the shapes of its tensor arguments (None for non-tensors), which of them are
# parameters, its arguments (tensors as _T on the export route, None on the fx route), and
# its output shape.
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


def _is_node(a: Any) -> bool:
    return hasattr(a, "name") and hasattr(a, "op")


def _kind(target: Any) -> str:
    kind = getattr(target, "_opname", None) or getattr(target, "__name__", str(target))
    return kind.rstrip("_") if kind.endswith("_") and kind[:-1] in _ACT else kind


def _normalised_args(node: Any) -> list[Any]:
    """Positional and keyword arguments in the order of the ATen schema, defaults filled."""
    schema = getattr(node.target, "_schema", None)
    if schema is None:
        return list(node.args)
    out = []
    for i, arg in enumerate(schema.arguments):
        if i < len(node.args):
            out.append(node.args[i])
        elif arg.name in node.kwargs:
            out.append(node.kwargs[arg.name])
        else:
            out.append(arg.default_value if arg.has_default_value() else None)
    return out


def _export_calls(module: Any, inputs: tuple[Any, ...]) -> list[_Call]:
    import torch

    try:
        ep = torch.export.export(module, inputs)
    except Exception as exc:
        raise HwsimError(f"torch.export failed: {type(exc).__name__}: {exc}") from None
    return _program_calls(ep)


def _program_calls(ep: Any) -> list[_Call]:
    params = set(ep.graph_signature.inputs_to_parameters)
    nodes = list(ep.graph.nodes)
    for n in nodes:  # views and pieces of a parameter (MHA's split in_proj) are parameters
        if n.op == "call_function" and n.all_input_nodes and _kind(n.target) in _PARAM_VIEWS \
                and all(a.name in params for a in n.all_input_nodes):
            params.add(n.name)
    shapes = {n.name: _shape(n.meta.get("val")) for n in nodes}

    def wrap(a: Any) -> Any:
        if _is_node(a):
            return _T(shapes.get(a.name), a.name in params)
        if isinstance(a, list | tuple):
            return [wrap(x) for x in a]
        return a

    absorbed, fused = _fuse_rmsnorm(nodes, params, shapes)
    calls = []
    for node in nodes:
        if node.op != "call_function" or node.name in absorbed:
            continue
        if node.name in fused:
            calls.append(fused[node.name])
            continue
        kind = _kind(node.target)
        args = [wrap(a) for a in _normalised_args(node)]
        tensors = [a for a in args if isinstance(a, _T)]
        for a in args:  # list arguments (torch.cat, the weights of an LSTM) hold tensors too
            if isinstance(a, list):
                tensors += [x for x in a if isinstance(x, _T)]
        if kind in _CASTS:
            src = node.args[0].meta.get("val") if _is_node(node.args[0]) else None
            same = getattr(src, "dtype", None) == getattr(node.meta.get("val"), "dtype", 0)
            kind = "identity" if same else "copy"
        calls.append(_Call(kind, node.name, [t.shape for t in tensors],
                           [t.param for t in tensors], args, shapes[node.name]))
    return calls


def _fuse_rmsnorm(nodes: list[Any], params: set[str], shapes: dict[str, Any]
                  ) -> tuple[set[str], dict[str, _Call]]:
    """Find ``x * rsqrt(mean(x**2 or x*x, -1, keepdim) + eps) [* w]`` (casts of x allowed)
    and return the node names it absorbs and one ``rms_norm`` call at its last node."""
    users: dict[str, list[Any]] = {}
    for n in nodes:
        for a in n.all_input_nodes:
            users.setdefault(a.name, []).append(n)

    def kind(n: Any) -> str:
        return _kind(n.target) if _is_node(n) and n.op == "call_function" else ""

    def source(n: Any) -> Any:  # look through dtype casts
        while kind(n) in _CASTS:
            n = n.args[0]
        return n

    def only_user(n: Any) -> Any:
        u = users.get(n.name, [])
        return u[0] if len(u) == 1 else None

    absorbed: set[str] = set()
    fused: dict[str, _Call] = {}
    for r in nodes:
        if kind(r) != "rsqrt" or not _is_node(r.args[0]) or kind(r.args[0]) != "add":
            continue
        add = r.args[0]
        mean = next((a for a in add.args if kind(a) == "mean"), None)
        if mean is None or not all(a is mean or isinstance(a, int | float) for a in add.args):
            continue
        sq, dims = mean.args[0], list(mean.args[1]) if len(mean.args) > 1 else []
        keep = (mean.args[2] if len(mean.args) > 2 else mean.kwargs.get("keepdim", False))
        x_shape = shapes.get(sq.name)
        if not keep or x_shape is None or [d % len(x_shape) for d in dims] != [len(x_shape) - 1]:
            continue
        if kind(sq) == "pow" and sq.args[1] == 2:
            x = sq.args[0]
        elif kind(sq) == "mul" and sq.args[0] is sq.args[1]:
            x = sq.args[0]
        else:
            continue
        scale = only_user(r)
        if kind(scale) != "mul" or {source(a) for a in scale.args} != {source(x), r}:
            continue
        chain = [sq, mean, add, r, scale]
        last, weight = scale, None
        nxt = only_user(last)
        while nxt is not None and kind(nxt) in _CASTS:
            chain.append(nxt)
            last, nxt = nxt, only_user(nxt)
        if kind(nxt) == "mul":
            other = [a for a in nxt.args if a is not last]
            if len(other) == 1 and _is_node(other[0]) and other[0].name in params and \
                    shapes.get(other[0].name) == (x_shape[-1],):
                chain.append(nxt)
                last, weight = nxt, other[0]
        if any(len(users.get(n.name, [])) != 1 for n in chain[:-1]):
            continue
        absorbed.update(n.name for n in chain[:-1])
        w = _T(shapes.get(weight.name), True) if weight is not None else None
        fused[last.name] = _Call(
            "rms_norm", last.name, [x_shape, w.shape if w else None], [False, w is not None],
            [_T(x_shape, False), [x_shape[-1]], w, None], shapes.get(last.name))
    return absorbed, fused


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
            if kind in _ATTENTION:  # keyword arguments (is_causal=True) matter here
                given = [*node.args, *[None] * 8][:8]
                plain = [node.kwargs.get(k, a) for k, a in zip(_SDPA_ARGS, given, strict=True)]
                plain = [_T(None, False) if hasattr(a, "op") else a for a in plain]
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


def _to_ops(calls: list[_Call], keep: bool) -> tuple[list[Op], Counter[str]]:
    unknown = Counter(c.kind for c in calls if _handler(c.kind) is None)
    check_unsupported("PyTorch operations", unknown, SUPPORTED, keep, "keep_unsupported=True")
    ops: list[Op] = []
    for c in calls:
        h = _handler(c.kind)
        if h == "skip":
            continue
        if c.out is None and h != "rnn":
            raise HwsimError(f"torch node {c.name!r} ({c.kind}): its output shape is unknown")
        op = _convert(c, h)
        if isinstance(op, list):
            ops.extend(op)
        elif op is not None:
            ops.append(op)
    return ops, unknown


def _handler(kind: str) -> str | None:
    if kind in _SKIP:
        return "skip"
    for h, names in _NAMED.items():
        if kind in names:
            return h
    if "batch_norm" in kind:
        return "batchnorm"
    if kind in _ACT:
        return "act"
    if kind in _VIEW or kind == "identity":
        return "view"
    return None


def _ints(v: Any, n: int = 2) -> tuple[int, ...]:
    if isinstance(v, int):
        return (v,) * n
    return tuple(int(x) for x in v)


def _convert(c: _Call, h: str | None) -> Op | list[Op] | None:
    x = c.shapes[0] if c.shapes else None
    if h in _SPECIAL:
        return _SPECIAL[h](c)
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
        if c.kind == "baddbmm":  # (input, a, b): a @ b, then added to input
            return [MatMul(name=c.name, a_shape=c.shapes[1], b_shape=c.shapes[2],
                           b_kind="weight" if c.is_param[2] else "act"),
                    Elementwise(name=f"{c.name}.add", kind="add", shape=c.out, num_inputs=2)]
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
        if c.kind == "mean" and not _spatial_mean(c, x):
            dims = c.args[1] if len(c.args) > 1 else None
            return mean_as_pool(c.name, x, [dims] if isinstance(dims, int) else dims)
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


def _spatial_mean(c: _Call, x: tuple[int, ...]) -> bool:
    """``mean`` over H and W of an NCHW tensor (global average pooling)."""
    dims = c.args[1] if len(c.args) > 1 else None
    return len(x) == 4 and dims is not None and sorted(d % 4 for d in dims) == [2, 3]


def _attention(c: _Call) -> Attention:
    """``scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal, scale,
    enable_gqa)`` with q ``(..., heads, L, E)`` and k, v ``(..., kv_heads, S, E)``."""
    q, k, v = c.shapes[:3]
    a = c.args + [None] * 8
    where = f"torch node {c.name!r} (scaled_dot_product_attention)"
    if v[-1] != q[-1]:
        raise HwsimError(f"{where}: value head size {v[-1]} differs from the query/key head "
                         f"size {q[-1]}; the attention op needs one head size")

    def batch_heads(s: tuple[int, ...]) -> tuple[int, int]:
        return (math.prod(s[:-3]), s[-3]) if len(s) > 3 else (math.prod(s[:-2]), 1)

    (batch, heads), (_, kv_heads) = batch_heads(q), batch_heads(k)
    q_len, kv_len = q[-2], k[-2]
    causal = bool(a[5]) and a[3] is None
    if causal and q_len > kv_len:
        raise HwsimError(f"{where}: is_causal with more queries ({q_len}) than keys "
                         f"({kv_len}) is not supported")
    # PyTorch's is_causal mask is top-left aligned (query i sees keys 0..i): with fewer
    # queries than keys, the keys past the last query are never attended
    return Attention(name=c.name, batch=batch, heads=heads, kv_heads=kv_heads, q_len=q_len,
                     kv_len=q_len if causal else kv_len, head_dim=q[-1], causal=causal)


def _rmsnorm(c: _Call) -> Norm:
    x = c.shapes[0]
    k = len(c.args[1]) if len(c.args) > 1 and c.args[1] else 1
    weight = len(c.shapes) > 1 and c.shapes[1] is not None
    return Norm(name=c.name, kind="rmsnorm", shape=(math.prod(x[:-k]), math.prod(x[-k:])),
                affine=weight, bias=False)


def _embedding(c: _Call) -> Embedding:
    (vocab, dim), ids = c.shapes[0], c.shapes[1]
    return Embedding(name=c.name, tokens=math.prod(ids), vocab=vocab, dim=dim)


def _rnn(c: _Call) -> list[Op]:
    """A recurrent layer (``lstm``/``gru``/``rnn_*``, every layer and direction) or cell as
    its GEMMs and gate arithmetic. The recurrent GEMM runs once per step on the batch (an
    ``M = batch`` GEMM, ``steps`` times); here it is one MatMul over all steps, which has the
    same MACs and weight size but hides the serial dependence between the steps."""
    base = c.kind.removesuffix("_cell")
    gates = _RNN_GATES[base]
    x = c.shapes[0]
    if c.kind.endswith("_cell"):  # (input, hx, w_ih, w_hh, b_ih, b_hh)
        ws = [a for a in c.args[2:] if isinstance(a, _T)]
        steps, batch = 1, (x[0] if len(x) == 2 else 1)
        groups, bias, proj = [ws], len(ws) == 4, False
    else:  # (input, hx, params, has_biases, layers, dropout, train, bidirectional, batch_first)
        flat, bias, layers, bidir, first = c.args[2], c.args[3], c.args[4], c.args[7], c.args[8]
        n = layers * (2 if bidir else 1)
        per = len(flat) // n
        proj = per in (3, 5)
        groups = [flat[i * per:(i + 1) * per] for i in range(n)]
        if len(x) == 2:
            steps, batch = x[0], 1
        else:
            batch, steps = (x[0], x[1]) if first else (x[1], x[0])
    ops: list[Op] = []
    for i, g in enumerate(groups):
        w_ih, w_hh = g[0].shape, g[1].shape
        hidden = w_ih[0] // gates
        pre = c.name if len(groups) == 1 else f"{c.name}.{i}"
        tok = (steps, batch)
        ops += [MatMul.linear(f"{pre}.ih", tok, w_ih[1], w_ih[0], bias=bias),
                MatMul.linear(f"{pre}.hh", tok, w_hh[1], w_hh[0], bias=bias)]
        # element-wise work per step, in hidden-sized vectors: (kind, vectors, inputs)
        ew = {"lstm": (("add", 5, 2), ("sigmoid", 3, 1), ("tanh", 2, 1), ("mul", 3, 2)),
              "gru": (("add", 4, 2), ("sigmoid", 2, 1), ("tanh", 1, 1), ("mul", 2, 2),
                      ("sub", 1, 2)),
              "rnn_tanh": (("add", 1, 2), ("tanh", 1, 1)),
              "rnn_relu": (("add", 1, 2), ("relu", 1, 1))}[base]
        ops += [Elementwise(name=f"{pre}.{kind}", kind=kind, shape=(*tok, vecs * hidden),
                            num_inputs=inputs) for kind, vecs, inputs in ew]
        if proj:
            w_hr = g[-1].shape
            ops.append(MatMul.linear(f"{pre}.proj", tok, w_hr[1], w_hr[0]))
    return ops


_SPECIAL = {"attention": _attention, "rmsnorm": _rmsnorm, "embedding": _embedding,
            "rnn": _rnn}
