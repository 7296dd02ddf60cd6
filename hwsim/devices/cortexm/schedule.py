"""Peak SRAM of a network on one MCU core: the dataflow of a linear op list, the live set of
each layer, and MCUNetV2's patch-based first stage.

A :class:`workloads.Graph` is a sequence of ops without edges, so the dataflow is inferred
(:func:`dataflow`): each op reads the main path's current tensor; batchnorm, activations,
views and other shape-keeping unary ops work in place on it; a convolution whose input shape
is not the current tensor's is a branch (a ResNet downsample): it reads the input of the
innermost enclosing block with that shape (a block: the ops whose names share a dotted
prefix), else the latest tensor of that shape; a two-input add reads the current tensor and
the skip: a pending branch output, else the input of the innermost enclosing block of its
shape, else the latest other tensor of its shape. That covers the built-in CNNs exactly; other
graphs (transformers) get the same rules, an approximation of their liveness.

Live bytes of a layer (:func:`layer_bytes`): every tensor produced at or before it and read
at or after it (its inputs, its output, the skips held across it), at int8 (one byte per
element). With ``in_place`` (TinyEngine's kernels, MCUNet, Lin et al. NeurIPS 2020) a
depthwise convolution whose input dies with it overwrites that input and needs one output
channel of scratch; a residual block's last convolution accumulates into the skip buffer, so
its output takes no buffer of its own. The graph input is live until its last reader.

Patch-based inference (:func:`patch_plan`, MCUNetV2, Lin et al. NeurIPS 2021): the output of
the op ending the patch stage is cut into an ``n x n`` grid; for each patch the receptive
field is walked back through the stage (per axis: a window of ``k`` at stride ``s`` after
``pad`` rows of zeros needs input rows ``[o0*s - pad, (o1-1)*s - pad + (k-1)*dilation + 1)``),
every op runs on its patch region (overlaps recomputed: extra MACs), the stage output
buffer is whole in SRAM for the whole stage, and the graph input is fetched one patch region
at a time (MCUNetV2's accounting, which leaves the image out of the patch stage). After the
stage, the rest runs layer by layer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

#: activations the CMSIS-NN kernels apply in their output clamp (fused into the producer)
CLAMP_ACTIVATIONS = ("relu", "relu6", "clip")
#: roles of ops that compute MACs, by the kernel class that prices them
MAC_ROLES = ("conv", "pointwise", "depthwise", "fc")


@dataclass
class Tensor:
    tid: int
    shape: tuple[int, ...]
    producer: int  # node index; -1: the graph input

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def spatial(self) -> bool:
        return len(self.shape) == 4


@dataclass
class Node:
    """One op as the SRAM planner sees it."""

    index: int
    op: Any
    role: str  # one of MAC_ROLES, "fused", "view", "vector", "add"
    inputs: tuple[int, ...]
    output: int  # == inputs[0] for an op working in place
    transient: int = 0  # bytes of operands not tracked as tensors (a second activation)
    accumulates_into: int | None = None  # skip this conv's output adds into (in_place)

    @property
    def name(self) -> str:
        return self.op.name

    @property
    def in_place(self) -> bool:
        return self.output in self.inputs


@dataclass
class Dataflow:
    nodes: list[Node]
    tensors: dict[int, Tensor]
    in_place: bool = True
    last_use: dict[int, int] = field(default_factory=dict)
    #: tensors with no buffer of their own (a conv output accumulated into a skip buffer)
    virtual: frozenset[int] = frozenset()
    _live: dict[int, list[int]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for t in self.tensors.values():
            self.last_use[t.tid] = max(t.producer, 0)
        for n in self.nodes:
            for t in (*n.inputs, n.output):
                self.last_use[t] = max(self.last_use[t], n.index)
        self.virtual = frozenset(n.output for n in self.nodes if n.accumulates_into is not None)

    def live(self, i: int) -> list[int]:
        """Tensors live during node ``i``."""
        if i not in self._live:
            self._live[i] = [t for t, tensor in self.tensors.items()
                             if tensor.producer <= i <= self.last_use[t]]
        return self._live[i]

    def read_by_kernel(self, tid: int, upto: int) -> bool:
        """Whether a node up to ``upto`` reads ``tid`` other than in place (a skip input)."""
        return any(tid in n.inputs and not n.in_place for n in self.nodes[:upto + 1])


def _in_shape(op: Any) -> tuple[int, ...]:
    for f in ("x_shape", "a_shape", "shape"):
        if hasattr(op, f):
            return tuple(getattr(op, f))
    return (op.x_numel,)


def _conv_role(op: Any) -> str:
    if op.groups > 1 and op.groups == op.x_shape[1] == op.out_channels:
        return "depthwise"
    if op.kernel == (1, 1) and op.groups == 1:
        return "pointwise"
    return "conv"


def dataflow(ops: Sequence[Any], *, in_place: bool = True) -> Dataflow:
    """Tensors and, per op, what it reads and writes (see the module docstring)."""
    from workloads import Attention, Conv2d, Elementwise, MatMul, Norm, Pool, Softmax, View

    tensors: dict[int, Tensor] = {}
    nodes: list[Node] = []

    def new(shape: tuple[int, ...], producer: int) -> int:
        tid = len(tensors)
        tensors[tid] = Tensor(tid, tuple(shape), producer)
        return tid

    def latest(shape: tuple[int, ...], exclude: tuple[int, ...] = ()) -> int | None:
        for tid in sorted(tensors, reverse=True):
            if tid not in exclude and tensors[tid].shape == tuple(shape):
                return tid
        return None

    def latest_numel(n: int) -> int | None:
        for tid in sorted(tensors, reverse=True):
            if tensors[tid].numel == n:
                return tid
        return None

    cur = new(_in_shape(ops[0]), -1)
    last = cur  # what the previous op wrote
    side: int | None = None  # a side branch's output waiting for its add
    block_input: dict[str, int] = {}  # name prefix (a block) -> the input of its first op
    def block_source(name: str, shape: tuple[int, ...], exclude: int) -> int | None:
        """The input of the innermost block around op ``name`` with this shape."""
        parts = name.split(".")
        for k in range(len(parts) - 1, 0, -1):
            t = block_input.get(".".join(parts[:k]))
            if t is not None and t != exclude and tensors[t].shape == shape:
                return t
        return None

    for i, op in enumerate(ops):
        target = last if tensors[last].numel == op.x_numel else cur
        parts = op.name.split(".")
        for k in range(1, len(parts)):
            block_input.setdefault(".".join(parts[:k]), cur)
        if isinstance(op, Conv2d):
            x = cur
            if tensors[cur].shape != op.x_shape:
                found = block_source(op.name, op.x_shape, cur)
                found = latest(op.x_shape) if found is None else found
                x = cur if found is None else found
            out = new(op.out_shape, i)
            nodes.append(Node(i, op, _conv_role(op), (x,), out))
            if x != cur:
                side = out
            else:
                cur = out
            last = out
        elif isinstance(op, Elementwise) and op.num_inputs >= 2:
            a = target
            skip = side if side is not None and side != a else None
            if skip is None:
                skip = block_source(op.name, tensors[a].shape, a)
            if skip is None:
                skip = latest(tensors[a].shape, exclude=(a,))
            if skip is None:  # nothing to add: a broadcast of one tensor (x + x)
                out = new(op.shape, i)
                nodes.append(Node(i, op, "add", (a,), out))
            else:
                out = skip if in_place else new(op.shape, i)
                nodes.append(Node(i, op, "add", (a, skip), out))
                prod = tensors[a].producer
                if in_place and prod >= 0 and nodes[prod].role in MAC_ROLES and \
                        tensors[skip].producer < prod and tensors[a].numel == tensors[skip].numel:
                    nodes[prod].accumulates_into = skip
            side = None
            cur = last = out
        elif isinstance(op, MatMul):
            a_n = math.prod(op.a_shape)
            x = cur if tensors[cur].numel == a_n else latest_numel(a_n)
            transient = 0 if op.is_param else math.prod(op.b_shape)
            if x is None:
                transient += a_n
                inputs: tuple[int, ...] = ()
            else:
                inputs = (x,)
            out = new(op.out_shape, i)
            nodes.append(Node(i, op, "fc", inputs, out, transient))
            cur = last = out
        elif isinstance(op, Attention):
            out = new((op.y_numel,), i)
            transient = op.w_numel + max(op.x_numel - tensors[cur].numel, 0)
            nodes.append(Node(i, op, "fc", (cur,), out, transient))
            cur = last = out
        elif isinstance(op, View):
            tensors[target].shape = tuple(op.shape)
            nodes.append(Node(i, op, "view", (target,), target))
        elif isinstance(op, Pool):
            out = new(op.out_shape, i)
            nodes.append(Node(i, op, "vector", (cur,), out))
            cur = last = out
        elif isinstance(op, Norm | Softmax | Elementwise) and op.y_numel == tensors[target].numel:
            prev = tensors[target].producer
            folded = (prev >= 0 and nodes[prev].role in MAC_ROLES and
                      ((isinstance(op, Norm) and op.kind == "batchnorm") or
                       (isinstance(op, Elementwise) and op.kind in CLAMP_ACTIVATIONS)))
            nodes.append(Node(i, op, "fused" if folded else "vector", (target,), target))
        else:  # embedding, or an op changing the size of what it reads: a new tensor
            x = target if tensors[target].numel == op.x_numel else None
            out = new((op.y_numel,), i)
            nodes.append(Node(i, op, "vector", (x,) if x is not None else (), out,
                              0 if x is not None else op.x_numel))
            cur = last = out
    return Dataflow(nodes, tensors, in_place)


def _channels_hw(t: Tensor) -> tuple[int, int, int]:
    """(batch x channels, H, W) of a 4-D tensor."""
    n, c, h, w = t.shape
    return n * c, h, w


def _live_bytes(df: Dataflow, node: Node, size: dict[int, int]) -> int:
    """Bytes live during ``node`` given each tensor's size in bytes (in-place rules)."""
    total = sum(size.get(t, 0) for t in df.live(node.index) if t not in df.virtual)
    total += node.transient
    if df.in_place and node.role == "depthwise" and node.inputs:
        x, y = node.inputs[0], node.output
        if df.last_use[x] == node.index:  # overwrite the input, one output channel scratch
            scratch = size.get(y, 0) // max(_channels_hw(df.tensors[y])[0], 1)
            total -= min(size.get(x, 0), size.get(y, 0)) - scratch
    return total


def layer_bytes(df: Dataflow) -> list[int]:
    """Live bytes of every op, layer by layer (int8: one byte per element)."""
    size = {t: df.tensors[t].numel for t in df.tensors}
    return [_live_bytes(df, n, size) for n in df.nodes]


# --- patch-based inference ---------------------------------------------------------------

Span = tuple[int, int]


def _window_back(span: Span, k: int, s: int, pad: int, dil: int, n_in: int) -> Span:
    lo = span[0] * s - pad
    hi = (span[1] - 1) * s - pad + (k - 1) * dil + 1
    return max(lo, 0), min(hi, n_in)


def _union(a: Span | None, b: Span) -> Span:
    return b if a is None else (min(a[0], b[0]), max(a[1], b[1]))


def _op_window(op: Any, axis: int) -> tuple[int, int, int, int]:
    """(kernel, stride, padding before, dilation) of a conv or pool along H (0) or W (1)."""
    dil = op.dilation[axis] if hasattr(op, "dilation") else 1
    return op.kernel[axis], op.stride[axis], op.padding[axis], dil


def back_spans(df: Dataflow, split: int, out_span: Span, axis: int) -> dict[int, Span]:
    """Rows (``axis`` 0) or columns (1) of each tensor the stage ``0..split`` needs for an
    output span of the split's output tensor."""
    need: dict[int, Span] = {df.nodes[split].output: out_span}
    for node in reversed(df.nodes[:split + 1]):
        span = need.get(node.output)
        if span is None:
            continue
        for x in node.inputs:
            if node.in_place and x == node.output:
                continue
            if node.role in ("conv", "pointwise", "depthwise") or (
                    node.role == "vector" and hasattr(node.op, "kernel")):
                k, s, p, d = _op_window(node.op, axis)
                got = _window_back(span, k, s, p, d, df.tensors[x].shape[2 + axis])
            else:
                got = span
            need[x] = _union(need.get(x), got)
    return need


def grid_spans(n: int, parts: int) -> list[Span]:
    """``parts`` near-equal spans covering ``0..n``."""
    return [(n * i // parts, n * (i + 1) // parts) for i in range(parts)]


@dataclass(frozen=True)
class PatchStage:
    split: int  # index of the node ending the stage
    grid: int
    peak: int  # bytes: the largest patch's live set plus the whole stage output buffer
    peak_node: int
    node_bytes: tuple[int, ...]  # per stage node: largest over patches, output buffer incl.
    pixels: dict[str, int]  # op name -> output pixels computed over all patches (N x H x W)
    macs: int  # MACs of the stage, recomputation included
    macs_layer: int  # MACs of the same ops run once


def split_candidates(df: Dataflow, grid: int) -> list[int]:
    """Nodes that may end a patch stage: every op up to them spatial, their output 4-D with at
    least ``grid`` rows and columns, no tensor but theirs read after them, and the next op
    not working in place on their output."""
    out: list[int] = []
    for node in df.nodes:
        i = node.index
        ok_role = node.role in ("conv", "pointwise", "depthwise", "fused", "add") or (
            node.role == "vector" and hasattr(node.op, "kernel") and
            not getattr(node.op, "global_pool", False)) or (
            node.role == "vector" and node.in_place)
        t = df.tensors[node.output]
        if not ok_role or not all(df.tensors[x].spatial for x in node.inputs) or \
                not t.spatial:
            break
        if t.shape[2] < grid or t.shape[3] < grid:
            break
        crossing = [x for x in df.tensors if x != node.output and
                    df.tensors[x].producer <= i < df.last_use[x]]
        nxt = df.nodes[i + 1] if i + 1 < len(df.nodes) else None
        if not crossing and not (nxt is not None and nxt.in_place and
                                 node.output in nxt.inputs):
            out.append(i)
    return out


def patch_stage(df: Dataflow, split: int, grid: int) -> PatchStage:
    """Peak SRAM and MACs of running nodes ``0..split`` patch by patch."""
    t_out = df.tensors[df.nodes[split].output]
    _, _, h, w = t_out.shape
    rows = [back_spans(df, split, s, 0) for s in grid_spans(h, grid)]
    cols = [back_spans(df, split, s, 1) for s in grid_spans(w, grid)]
    out_buffer = t_out.numel
    # the stage output also serves as a skip inside the stage (an in-place add's buffer): its
    # patch regions are computed into a buffer of their own, the sums go to the output buffer
    skip_out = df.read_by_kernel(t_out.tid, split)
    stage = df.nodes[:split + 1]
    best = [0] * len(stage)
    for r in rows:
        for c in cols:
            size: dict[int, int] = {}
            for tid, t in df.tensors.items():
                if (tid == t_out.tid and not skip_out) or tid not in r or not t.spatial:
                    continue
                nc = t.shape[0] * t.shape[1]
                size[tid] = nc * (r[tid][1] - r[tid][0]) * (c[tid][1] - c[tid][0])
            for k, node in enumerate(stage):
                best[k] = max(best[k], _live_bytes(df, node, size))
    node_bytes = [b + out_buffer for b in best]
    pixels: dict[str, int] = {}
    macs = macs_layer = 0
    for node in df.nodes[:split + 1]:
        t = df.tensors[node.output]
        if not t.spatial:
            continue
        n, _, th, tw = t.shape
        ph = sum(r[node.output][1] - r[node.output][0] for r in rows if node.output in r)
        pw = sum(c[node.output][1] - c[node.output][0] for c in cols if node.output in c)
        pixels[node.name] = n * ph * pw
        if node.role in MAC_ROLES:
            macs_layer += node.op.macs
            macs += node.op.macs * ph * pw // (th * tw)
    peak_node = max(range(len(node_bytes)), key=node_bytes.__getitem__)
    return PatchStage(split, grid, node_bytes[peak_node], peak_node, tuple(node_bytes), pixels,
                      macs, macs_layer)


__all__ = ["CLAMP_ACTIVATIONS", "MAC_ROLES", "Dataflow", "Node", "PatchStage", "Tensor",
           "back_spans", "dataflow", "grid_spans", "layer_bytes", "patch_stage",
           "split_candidates"]
