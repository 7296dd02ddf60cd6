"""The MatMul-free language model (Zhu et al. 2024, "Scalable MatMul-free Language Modeling",
arXiv:2406.02528) for prefill and decode, as the authors' code builds it
(github.com/ridgerchu/matmulfreellm, ``mmfreelm/models/hgrn_bit`` and ``layers/hgrn_bit.py``).

Every dense layer is a BitLinear: an RMSNorm of its input (its own scale vector), int8
per-token activations and ternary weights, so its "MACs" are additions and subtractions
(``MatMul`` with ``b_kind='weight'`` at the ``w1.58a8`` preset; the LM head is a BitLinear
too). A block is:

- token mixer, the MLGRU (``HGRNBitAttention`` with expand ratio 1, no short convolution):
  ``i, f, g = BitLinear(x)`` (three h x h layers), ``f = sigmoid(f)`` lifted by the layer's
  lower bound (layers after the first), ``i = silu(i) * (1 - f)``, the element-wise
  recurrence ``h_t = f_t * h_{t-1} + i_t`` (prefill: a scan over the tokens; decode: one step
  that reads and writes the h-element state of each sequence), ``o = rmsnorm(h) * silu(g)``,
  then the o BitLinear (h x h);
- channel mixer, the GLU: one BitLinear h -> 2*inter (gate and up fused), ``silu(gate) * up``,
  the down BitLinear inter -> h;
- pre-RMSNorms and residual adds around both.

There is no attention and no KV cache: decode's cost does not grow with the context, so
``kv_len`` only names the position (it must not exceed the trained context).
"""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.errors import HwsimError
from hwsim.numerics import resolve
from workloads.formats import Precision, format_bits, get_precision
from workloads.graph import Graph
from workloads.models.llm import positions
from workloads.ops import Attention, Elementwise, Embedding, MatMul, Norm, Op


@dataclass(frozen=True)
class MmfreeConfig:
    name: str
    hidden: int
    layers: int
    vocab: int
    intermediate: int
    max_positions: int
    source: str
    default_precision: str = "w1.58a8"


#: 2.7B: 32 layers, hidden 2560 (the repository README's model table); vocab 32000, hidden
#: ratio 4, no tied embeddings (``HGRNBitConfig`` defaults); the GLU size is the code's rule
#: ``256 * ceil(int(h * 4 * 2/3) / 256)`` = 6912 (``HGRNBitMLP``).
MMFREE_CONFIGS: dict[str, MmfreeConfig] = {
    c.name: c
    for c in (
        MmfreeConfig(
            "matmulfree-2.7b", hidden=2560, layers=32, vocab=32000, intermediate=6912,
            max_positions=2048,
            source="Zhu et al. 2024, Scalable MatMul-free Language Modeling (arXiv:2406.02528); "
                   "ridgerchu/matmulfreellm README (2.7B: 32 layers, hidden 2560) and "
                   "HGRNBitConfig/HGRNBitMLP defaults (vocab 32000, GLU 6912, untied head)",
        ),
    )
}


def glu_size(hidden: int, hidden_ratio: int = 4) -> int:
    """``HGRNBitMLP``'s intermediate size: 2/3 of ``hidden_ratio * hidden``, rounded up to 256."""
    inter = int(hidden * hidden_ratio * 2 / 3)
    return 256 * ((inter + 255) // 256)


def build_matmulfree(
    cfg: MmfreeConfig,
    *,
    phase: str = "prefill",
    seq: int | None = None,
    batch: int = 1,
    kv_len: int | None = None,
    precision: str | Precision | None = None,
) -> Graph:
    """The whole model for one prefill pass (``seq`` tokens) or one decode step (the token at
    position ``kv_len``); the LM head runs for the last position only."""
    q_len, total = positions(cfg.name, cfg.max_positions, phase, seq, kv_len, batch)
    p = get_precision(precision or cfg.default_precision)
    if format_bits(p.weight) < 2 or not getattr(resolve(p.weight), "signed", True):
        raise HwsimError(f"{cfg.name}: its weights are ternary (-1, 0, +1), which needs a signed "
                         f"weight format of at least 2 bits; precision {p.name!r} stores weights "
                         f"as {p.weight}")

    h, tok = cfg.hidden, (batch, q_len)
    ops: list[Op] = [Embedding(name="embeddings", tokens=batch * q_len, vocab=cfg.vocab, dim=h)]
    concurrent: list[tuple[str, ...]] = []
    for i in range(cfg.layers):
        pre = f"layers.{i}"
        ops.extend(_block(cfg, pre, i, tok, decode=phase == "decode"))
        concurrent.append(tuple(f"{pre}.attn.{n}_proj" for n in "ifg"))
    ops.append(Norm(name="norm", kind="rmsnorm", shape=(*tok, h)))
    ops.extend(bitlinear("lm_head", (batch, 1), h, cfg.vocab))
    attrs = {"model": cfg.name, "phase": phase, "batch": batch,
             "seq" if phase == "prefill" else "kv_len": total, "source": cfg.source}
    return Graph(cfg.name, tuple(ops), tuple(attrs.items()),
                 tuple(concurrent)).with_precision(p)


def bitlinear(name: str, tok: tuple[int, ...], d_in: int, d_out: int) -> list[Op]:
    """A BitLinear: the RMSNorm of its input (own scale) and the ternary-weight layer."""
    return [Norm(name=f"{name}.norm", kind="rmsnorm", shape=(*tok, d_in)),
            MatMul.linear(name, tok, d_in, d_out)]


def _block(cfg: MmfreeConfig, pre: str, index: int, tok: tuple[int, int], *,
           decode: bool) -> list[Op]:
    h, inter = cfg.hidden, cfg.intermediate
    act = (*tok, h)
    ops: list[Op] = [Norm(name=f"{pre}.attn_norm", kind="rmsnorm", shape=act)]
    # the i, f, g BitLinears' norms, then their three layers (one concurrent group)
    ifg = [bitlinear(f"{pre}.attn.{n}_proj", tok, h, h) for n in "ifg"]
    ops += [norm for norm, _ in ifg] + [layer for _, layer in ifg]
    ops.append(Elementwise(name=f"{pre}.attn.f_sigmoid", kind="sigmoid", shape=act))
    if index > 0:
        # f = lb + (1 - lb) * f, lb one row of the model's lower_bounds parameter
        ops.append(Elementwise(name=f"{pre}.attn.f_lower_bound", kind="scale", shape=act,
                               param_shape=(h,)))
    ops += [
        Elementwise(name=f"{pre}.attn.i_gate", kind="swiglu", shape=act, num_inputs=2),
        # prefill scans f and i from a zero state; decode also reads the stored state
        Elementwise(name=f"{pre}.attn.recurrence", kind="recurrence", shape=act,
                    num_inputs=3 if decode else 2),
        Norm(name=f"{pre}.attn.g_norm", kind="rmsnorm", shape=act),
        Elementwise(name=f"{pre}.attn.g_gate", kind="swiglu", shape=act, num_inputs=2),
        *bitlinear(f"{pre}.attn.o_proj", tok, h, h),
        Elementwise(name=f"{pre}.attn_residual", kind="add", shape=act, num_inputs=2),
        Norm(name=f"{pre}.mlp_norm", kind="rmsnorm", shape=act),
        *bitlinear(f"{pre}.mlp.gate_proj", tok, h, 2 * inter),
        Elementwise(name=f"{pre}.mlp.swiglu", kind="swiglu", shape=(*tok, inter), num_inputs=2),
        *bitlinear(f"{pre}.mlp.down_proj", tok, inter, h),
        Elementwise(name=f"{pre}.mlp_residual", kind="add", shape=act, num_inputs=2),
    ]
    return ops



def weight_bytes(graph: Graph) -> float:
    """Every parameter of ``graph`` stored once in its format (an embedding table whole)."""
    return float(sum(op.params * format_bits(op.fmt.w) / 8 for op in graph.ops
                     if op.params and op.fmt and op.fmt.w))


def state_bytes(graph: Graph) -> float:
    """What a decode step reads as its state: the KV cache (attention's second operand) or the
    MLGRU state (the recurrence's output size, in the activation format)."""
    kv = sum(t.bytes for op in graph.ops if isinstance(op, Attention) for t in op.tensors()
             if not t.write and t.role == "w")
    rec = sum(op.y_numel * format_bits(op.fmt.x) / 8 for op in graph.ops
              if isinstance(op, Elementwise) and op.kind == "recurrence" and op.fmt)
    return float(kv + rec)
