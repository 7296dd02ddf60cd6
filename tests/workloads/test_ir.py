"""Op cost formulas, format handling and validation errors."""

from __future__ import annotations

import pytest

from hwsim.errors import HwsimError
from workloads import (
    Attention,
    Backward,
    Conv2d,
    Elementwise,
    Embedding,
    Graph,
    MatMul,
    Norm,
    OpFormats,
    Pool,
    Precision,
    build_workload,
    format_bits,
    training_graph,
)


def test_matmul_costs_and_bytes() -> None:
    op = MatMul(name="fc", a_shape=(2, 8, 16), b_shape=(16, 4), bias=True,
                fmt=OpFormats(x="int8", w="int4", y="int8", acc="int32"))
    assert (op.m, op.n, op.k, op.batch) == (8, 4, 16, (2,))
    assert op.macs == 2 * 8 * 4 * 16
    assert op.params == 16 * 4 + 4
    # a: 256 int8 + b: 64 int4 + bias: 4 int32 ; y: 64 int8
    assert op.bytes_read == 256 + 32 + 16
    assert op.bytes_written == 64


def test_conv_depthwise_and_padding() -> None:
    dw = Conv2d(name="dw", x_shape=(1, 32, 112, 112), out_channels=32, kernel=3, stride=2,
                padding=1, groups=32)
    assert dw.is_depthwise and dw.out_shape == (1, 32, 56, 56)
    assert dw.macs == 32 * 56 * 56 * 9 and dw.params == 32 * 9
    asym = Conv2d(name="c", x_shape=(1, 3, 32, 32), out_channels=8, kernel=3, stride=2,
                  padding=(0, 0, 1, 1))
    assert asym.out_shape == (1, 8, 16, 16)
    dil = Conv2d(name="d", x_shape=(1, 4, 10, 10), out_channels=4, kernel=3, dilation=2)
    assert dil.out_shape == (1, 4, 6, 6)


def test_attention_gqa_causal_and_decode() -> None:
    pre = Attention(name="a", batch=1, heads=32, kv_heads=8, q_len=4, kv_len=4, head_dim=128,
                    causal=True)
    assert pre.pairs == 4 + 3 + 2 + 1
    dec = Attention(name="d", batch=2, heads=32, kv_heads=8, q_len=1, kv_len=100,
                    head_dim=128, causal=True)
    assert dec.pairs == 100 and dec.macs == 2 * 2 * 32 * 100 * 128
    assert dec.w_numel == 2 * 2 * 8 * 100 * 128  # K and V of 8 KV heads
    with pytest.raises(HwsimError, match="kv_heads=5 must divide heads=32"):
        Attention(name="x", batch=1, heads=32, kv_heads=5, q_len=1, kv_len=1, head_dim=8)


def test_block_formats_cost_their_scale() -> None:
    assert format_bits("mxfp4") == pytest.approx(4.25)  # 4-bit elements + 8-bit scale / 32
    assert format_bits("nvfp4") == pytest.approx(4.5)   # + 8-bit E4M3 scale / 16
    g = build_workload("llama2-7b", phase="decode", kv_len=128)
    w = {p: g.with_precision(p) for p in ("fp16", "fp8", "w4a8", "w1.58a8", "mxfp4")}
    wbytes = {p: sum(t.bytes for op in gg.ops for t in op.tensors()
                     if t.role == "w" and op.OP_TYPE == "matmul" and op.b_kind == "weight")
              for p, gg in w.items()}
    quant = 6_738_415_616 - 2 * 32000 * 4096 - 65 * 4096  # linear-layer weights
    assert wbytes["fp16"] == pytest.approx(2 * quant)
    assert wbytes["fp8"] == pytest.approx(quant)
    assert wbytes["w4a8"] == pytest.approx(quant / 2)
    assert wbytes["w1.58a8"] == pytest.approx(quant / 4)  # ternary stored as int2
    assert wbytes["mxfp4"] == pytest.approx(quant * 4.25 / 8)


def test_precision_roles() -> None:
    g = build_workload("bitnet-b1.58-3b", phase="decode", kv_len=64)
    q = g.op("layers.0.attn.q_proj")
    assert (q.fmt.w, q.fmt.x, q.fmt.acc) == ("int2", "int8", "int32")
    assert g.op("lm_head").fmt.w == "fp16"  # kept at high precision, as BitNet does
    assert g.op("layers.0.attn_norm").fmt.acc == "fp32"
    custom = Precision("w4kv8", weight="int4", act="fp16", acc="fp32", kv="fp8_e4m3fn")
    g2 = g.with_precision(custom)
    assert g2.op("layers.0.attn.sdpa").fmt.w == "fp8_e4m3fn"
    with pytest.raises(HwsimError, match="precision weight: unknown number format 'int99'"):
        Precision("bad", weight="int99", act="fp16", acc="fp32")


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: MatMul(name="m", a_shape=(4, 8), b_shape=(9, 2)),
         r"op 'm' \(matmul\): inner dimensions differ.*K=8.*K=9"),
        (lambda: MatMul(name="m", a_shape=(4, -8), b_shape=(-8, 2)),
         r"op 'm' \(matmul\): field 'a_shape' has dimension -8"),
        (lambda: Conv2d(name="c", x_shape=(1, 3, 4, 4), out_channels=8, kernel=7),
         r"op 'c' \(conv2d\): the kernel .* does not fit"),
        (lambda: Conv2d(name="c", x_shape=(1, 3, 8, 8), out_channels=8, kernel=3, groups=2),
         r"groups=2 must divide input channels 3"),
        (lambda: Norm(name="n", kind="groupnorm", shape=(1, 4)),
         r"field 'kind' is 'groupnorm'; allowed: layernorm, rmsnorm, batchnorm"),
        (lambda: Elementwise(name="e", kind="add", shape=(4,),
                             fmt=OpFormats(x="fp16", y="fp17", acc="fp32")),
         r"op 'e' \(elementwise\): field 'fmt.y': unknown number format 'fp17'"),
        (lambda: Embedding(name="e", tokens=0, vocab=10, dim=4),
         r"field 'tokens' must be a positive integer, got 0"),
        (lambda: Pool(name="p", kind="max", x_shape=(1, 1, 2, 2), kernel=3),
         r"does not fit"),
    ],
)
def test_bad_ops_name_op_and_field(make, match: str) -> None:
    with pytest.raises(HwsimError, match=match):
        make()


def test_graph_checks_names_and_references() -> None:
    e = Embedding(name="emb", tokens=1, vocab=10, dim=4)
    with pytest.raises(HwsimError, match="used twice"):
        Graph("g", (e, e))
    head = MatMul(name="head", a_shape=(1, 4), b_shape=(4, 10), b_kind="hp",
                  shares_weights_with="emb")
    assert Graph("g", (e, head)).params == 40  # tied: counted once
    with pytest.raises(HwsimError, match="not an earlier op"):
        Graph("g", (head, e))


def test_training_graph_structure() -> None:
    fwd = build_workload("resnet8")
    g = build_workload("resnet8", phase="train", optimizer="momentum")
    convs = [op for op in fwd.ops if op.OP_TYPE in ("conv2d", "matmul")]
    # forward + grad wrt weight of every layer + grad wrt input of all but the first
    assert g.macs == 3 * fwd.macs - convs[0].macs
    updates = [op for op in g.ops if op.OP_TYPE == "weight_update"]
    assert sum(u.numel for u in updates) == fwd.params
    assert g.params == fwd.params  # backward ops own no parameters
    grads = [op for op in g.ops if isinstance(op, Backward)]
    assert grads[0].forward.name == "loss.softmax_cross_entropy"
    assert g.info["precision"] == "fp32"
    fp16 = training_graph(fwd, precision="fp16")
    assert fp16.totals.bytes_total == pytest.approx(g.with_precision("fp16").totals.bytes_total,
                                                    rel=0.2)


def test_table_renders() -> None:
    from rich.console import Console

    console = Console(width=120, record=True)
    console.print(build_workload("ds-cnn").table())
    text = console.export_text()
    assert "conv2d depthwise" in text and "total" in text
