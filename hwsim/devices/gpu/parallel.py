"""Tensor parallelism: Megatron-style sharding of a graph over ``tp`` GPUs, and the NVLink
ring all-reduce that joins the shards.

:func:`shard` rewrites a graph into what ONE of ``tp`` GPUs runs (Shoeybi et al., Megatron-LM,
arXiv:1909.08053, section 3): walking the ops in order, a weight GEMM whose input is
replicated is split by columns (its output features; the q/k/v, gate/up and fc1 projections,
the LM head's vocabulary), the ops that consume the column shards (rotary embedding,
attention by heads, the MLP's activation) run on their shard, and the next weight GEMM,
whose input is sharded, is split by rows (its input features; o_proj, down_proj, fc2): its
partial sums are summed over the GPUs by an :class:`AllReduce` op inserted after it, so the
residual stream, the norms and the embeddings stay replicated. A column split that does not
divide pads (Megatron pads the vocabulary the same way); GQA key/value heads fewer than
``tp`` are replicated, one per GPU. Ops outside a column/row pair (embeddings, norms,
residual adds, convolutions) run whole on every GPU; an op of another kind inside a pair (an
imported attention written as matmuls and a softmax) is refused with one error rather than
sharded wrongly.

The all-reduce is the ring algorithm (Patarasuk and Yuan, 2009): ``2 (tp - 1)`` steps, each
sending ``1/tp`` of the tensor to the next GPU over NVLink, so it costs the link latency plus
``2 (tp - 1) / tp x bytes`` at one direction's NVLink bandwidth; each step reads the chunk it
sends and writes the chunk it receives in HBM (that traffic is priced, NVLink's own energy is
not: the cost seam has no link level).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import ClassVar

from hwsim.errors import HwsimError
from workloads import Attention, Elementwise, Graph, MatMul, Op, format_bits


@dataclass(frozen=True, kw_only=True)
class AllReduce(Elementwise):
    """The sum over ``ranks`` GPUs of a tensor of ``shape`` (the partial sums of a row-split
    GEMM), one op of its own in a sharded graph."""

    ranks: int = 2

    OP_TYPE: ClassVar[str] = "allreduce"

    @property
    def nbytes(self) -> float:
        """The tensor's bytes in its activation format."""
        return self.y_numel * format_bits(self.fmt.x if self.fmt else None) / 8

    @property
    def link_bytes(self) -> float:
        """Bytes each GPU sends over NVLink: ``2 (ranks - 1) / ranks`` of the tensor."""
        return 2 * (self.ranks - 1) / self.ranks * self.nbytes


def _split(n: int, tp: int) -> int:
    return math.ceil(n / tp)


def _column(op: MatMul, tp: int) -> MatMul:
    *lead, k, n = op.b_shape
    return replace(op, b_shape=(*lead, k, _split(n, tp)))


def _row(op: MatMul, tp: int) -> MatMul:
    *lead, k, n = op.b_shape
    *alead, _ = op.a_shape
    return replace(op, a_shape=(*alead, _split(k, tp)), b_shape=(*lead, _split(k, tp), n))


def _heads(op: Attention, tp: int) -> Attention:
    if op.heads % tp:
        raise HwsimError(f"{op.where}: {op.heads} heads do not split over --tp {tp}; a "
                         "tensor-parallel degree must divide the head count")
    heads = op.heads // tp
    kv = max(1, op.kv_heads // tp)  # fewer KV heads than GPUs: one replicated per GPU
    return replace(op, heads=heads, kv_heads=kv)


def shard(graph: Graph, tp: int) -> Graph:
    """What one of ``tp`` GPUs runs of ``graph`` (see the module doc); ``tp == 1``: the graph."""
    if tp == 1:
        return graph
    ops: list[Op] = []
    sharded = False  # the activations flowing on are split over the GPUs
    columns = False  # a column-split GEMM's output is waiting for its consumer
    for op in graph.ops:
        if isinstance(op, MatMul) and op.is_param and len(op.b_shape) == 2:
            if sharded:
                ops.append(_row(op, tp))
                ops.append(AllReduce(name=f"{op.name}.allreduce", kind="add",
                                     shape=op.out_shape, ranks=tp,
                                     fmt=replace(op.fmt, w=None, x=op.fmt.y, y=op.fmt.y)
                                     if op.fmt else None))
                sharded = columns = False
            else:
                ops.append(_column(op, tp))
                columns = True
        elif isinstance(op, Attention) and (columns or sharded):
            ops.append(_heads(op, tp))
            sharded, columns = True, False
        elif isinstance(op, Elementwise) and (columns or sharded) and op.param_shape is None:
            *lead, last = op.shape
            ops.append(replace(op, shape=(*lead, _split(last, tp))))
            sharded, columns = True, False
        elif (columns or sharded) and op.OP_TYPE != "view":
            raise HwsimError(
                f"{op.where}: --tp {tp} cannot shard this op between a column-split GEMM and "
                "its row-split partner; tensor parallelism shards the GEMMs, attention ops "
                "and element-wise ops of a transformer block (the built-in LLMs, or an import "
                "whose attention is one attention op)")
        else:
            ops.append(op)
    attrs = (*graph.attrs, ("tp", tp))
    return Graph(f"{graph.name} (1 of {tp} GPUs, tensor parallel)", tuple(ops), attrs,
                 graph.concurrent)


def hbm_bytes_needed(graph: Graph) -> tuple[float, float]:
    """(weight bytes, KV-cache bytes) one GPU holds to run ``graph``: every parameter in its
    format (a tied table once) and the K/V that attention reads, in the cache's format."""
    weights = sum(op.params * format_bits(op.fmt.w) / 8 for op in graph.ops
                  if op.params and op.fmt and op.fmt.w)
    kv = sum(op.w_numel * format_bits(op.fmt.w) / 8 for op in graph.ops
             if isinstance(op, Attention) and op.fmt and op.fmt.w)
    return float(weights), float(kv)


__all__ = ["AllReduce", "hbm_bytes_needed", "shard"]
