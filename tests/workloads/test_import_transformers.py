"""Real transformer and recurrent code through ``import_torch`` (torch.export): PyTorch's own
``nn.TransformerEncoder``/``Decoder``/``MultiheadAttention``/``LSTM``/``GRU`` and a LLaMA-style
block in plain torch, each checked against MACs counted from its dimensions (the counts in
``transformer_models``, written from the layer definitions, not from the suite's builders).
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip(
    "torch", reason="torch is not installed (optional extra: pip install -e '.[torch]')"
)
from torch import nn  # noqa: E402

from tests.workloads.transformer_models import (  # noqa: E402
    BATCH,
    D_MODEL,
    FFN,
    HEADS,
    KV_HEADS,
    MEMORY,
    SEQ,
    Decoder,
    LlamaBlock,
    causal_pairs,
    decoder_macs,
    encoder,
    encoder_macs,
    llama_block_macs,
)
from workloads.importers.torch import import_torch  # noqa: E402

TOL = 0.01  # the bound on imported vs analytic MACs


def _within(got: int, want: int) -> None:
    assert abs(got - want) <= TOL * want, f"imported {got} MACs, analytic {want}"


def _params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def _x(*shape: int):
    torch.manual_seed(0)
    return torch.randn(*shape)


@pytest.fixture(scope="module")
def llama():
    model = LlamaBlock()
    return model, import_torch(model, (_x(BATCH, SEQ, D_MODEL),))


def test_transformer_encoder() -> None:
    model = encoder()
    g = import_torch(model, (_x(BATCH, SEQ, D_MODEL),))
    _within(g.macs, encoder_macs())
    assert g.params == _params(model)
    attn = [op for op in g.ops if op.OP_TYPE == "attention"]
    assert [(a.heads, a.q_len, a.kv_len, a.causal) for a in attn] == [(4, SEQ, SEQ, False)] * 2


def test_transformer_decoder_causal_self_attention() -> None:
    model = Decoder()
    g = import_torch(model, (_x(BATCH, SEQ, D_MODEL), _x(BATCH, MEMORY, D_MODEL)))
    _within(g.macs, decoder_macs())
    assert g.params == _params(model)
    attn = [(a.q_len, a.kv_len, a.causal) for a in g.ops if a.OP_TYPE == "attention"]
    assert attn == [(SEQ, SEQ, True), (SEQ, MEMORY, False)] * 2


def test_llama_block(llama) -> None:
    model, g = llama
    _within(g.macs, llama_block_macs())
    assert g.params == _params(model)
    (attn,) = [op for op in g.ops if op.OP_TYPE == "attention"]
    assert (attn.heads, attn.kv_heads, attn.causal) == (HEADS, KV_HEADS, True)
    assert attn.macs == 2 * BATCH * HEADS * causal_pairs(SEQ) * (D_MODEL // HEADS)
    # the hand-written RMSNorm and nn.RMSNorm each become one RMSNorm with its weight
    norms = [op for op in g.ops if op.OP_TYPE == "norm"]
    assert [(n.kind, n.shape, n.params) for n in norms] == \
        [("rmsnorm", (BATCH * SEQ, D_MODEL), D_MODEL)] * 2
    assert not [op for op in g.ops if op.OP_TYPE == "pool"]  # the mean was absorbed
    kinds = {op.kind for op in g.ops if op.OP_TYPE == "elementwise"}
    assert {"silu", "mul", "neg", "concat", "add"} <= kinds  # SwiGLU and RoPE


def test_llama_block_runs_on_the_gpu(llama) -> None:
    from hwsim.api import simulate

    _, g = llama
    res = simulate("a100", g)
    assert [r.name for r in res.ops] == [op.name for op in g.ops]
    (attn,) = [r for r in res.ops if r.op_type == "attention"]
    assert "FlashAttention" in attn.detail
    assert 0 < res.seconds < 1e-2


def test_multihead_attention_with_weights() -> None:
    model = nn.MultiheadAttention(D_MODEL, 4, batch_first=True)
    x = _x(BATCH, SEQ, D_MODEL)
    g = import_torch(model, (x, x, x))  # need_weights=True: explicit bmm, softmax, bmm
    tokens = BATCH * SEQ
    _within(g.macs, tokens * 4 * D_MODEL * D_MODEL + 2 * BATCH * SEQ * SEQ * D_MODEL)
    assert g.params == _params(model)


def _lstm_macs(inp, hid, layers=1, dirs=1, steps=5, batch=2, gates=4, proj=0):
    out = proj or hid
    total, fan_in = 0, inp
    for _ in range(layers):
        total += dirs * steps * batch * (gates * hid * (fan_in + out) + proj * hid)
        fan_in = dirs * out
    return total


@pytest.mark.parametrize(("make", "shape", "want"), [
    (lambda: nn.LSTM(32, 48, num_layers=2, batch_first=True), (2, 5, 32),
     _lstm_macs(32, 48, layers=2)),
    (lambda: nn.GRU(32, 48, bidirectional=True), (5, 2, 32),
     _lstm_macs(32, 48, dirs=2, gates=3)),
    (lambda: nn.LSTM(32, 48, proj_size=16, bias=False), (5, 2, 32),
     _lstm_macs(32, 48, proj=16)),
    (lambda: nn.LSTMCell(32, 48), (2, 32), _lstm_macs(32, 48, steps=1)),
    (lambda: nn.GRUCell(32, 48), (2, 32), _lstm_macs(32, 48, steps=1, gates=3)),
])
def test_recurrent_layers_are_their_gemms(make, shape, want) -> None:
    model = make()
    g = import_torch(model, (_x(*shape),))
    _within(g.macs, want)
    assert g.params == _params(model)
    assert {op.OP_TYPE for op in g.ops} == {"matmul", "elementwise"}


def test_ffn_dimension_is_used() -> None:
    # guard on the fixture counts: a wider MLP must change the analytic and imported counts
    assert llama_block_macs(ffn=FFN + 16) - llama_block_macs() == \
        BATCH * SEQ * 3 * D_MODEL * 16


class _Sdpa(nn.Module):
    def __init__(self, **kw) -> None:
        super().__init__()
        self.kw = kw

    def forward(self, q, k, v):
        return torch.nn.functional.scaled_dot_product_attention(q, k, v, **self.kw)


@pytest.mark.parametrize("route", ["export", "fx"])
@pytest.mark.parametrize(("kw", "q_len", "kv_len", "kv_heads", "pairs"), [
    ({}, 16, 16, 4, 16 * 16),
    ({"is_causal": True}, 16, 16, 4, causal_pairs(16)),
    # PyTorch's causal mask is top-left aligned: query i sees keys 0..i of the 24
    ({"is_causal": True}, 8, 24, 4, causal_pairs(8)),
    ({"is_causal": True, "enable_gqa": True}, 16, 16, 2, causal_pairs(16)),
])
def test_sdpa_arguments(route, kw, q_len, kv_len, kv_heads, pairs) -> None:
    q, k = _x(BATCH, 4, q_len, 8), _x(BATCH, kv_heads, kv_len, 8)
    g = import_torch(_Sdpa(**kw), (q, k, k), route=route)
    (attn,) = g.ops
    assert (attn.heads, attn.kv_heads) == (4, kv_heads)
    assert attn.macs == 2 * BATCH * 4 * pairs * 8


def test_exported_program_file(llama, tmp_path) -> None:
    from hwsim.errors import HwsimError
    from workloads.importers.torch import import_exported

    model, g = llama
    path = tmp_path / "block.pt2"
    torch.export.save(torch.export.export(model, (_x(BATCH, SEQ, D_MODEL),)), path)
    from_file = import_exported(path)
    assert (from_file.name, from_file.macs, from_file.params) == ("block", g.macs, g.params)
    bad = tmp_path / "bad.pt2"
    bad.write_text("not a zip archive")
    with pytest.raises(HwsimError, match="cannot read exported program .*bad.pt2"):
        import_exported(bad)


def test_cli_imports_a_pt2_file_and_refuses_other_suffixes(tmp_path, llama, capsys) -> None:
    """``hwsim workload import`` takes a .pt2 file by its suffix; the graph it writes has the
    analytic MACs; a file that is neither .onnx nor .pt2 is one error line naming both."""
    import json

    from hwsim.cli import main

    model, g = llama
    path, out = tmp_path / "block.pt2", tmp_path / "g.json"
    torch.export.save(torch.export.export(model, (_x(BATCH, SEQ, D_MODEL),)), path)
    assert main(["workload", "import", str(path), "-o", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["macs"] == g.macs
    other = tmp_path / "block.pth"
    other.write_bytes(b"x")
    assert main(["workload", "import", str(other), "-o", str(tmp_path / "h.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ".onnx" in err and ".pt2" in err and ".pth" in err


def test_llama3_8b_sized_block_matches_the_builtin_block() -> None:
    """At LLaMA-3-8B's dimensions (meta tensors: nothing allocated) the imported block has the
    analytic MACs and the built-in block's GEMMs, attention and norms: the same kernels and
    time on a100. Its element-wise ops differ: eager RoPE and SwiGLU are several kernels."""
    from hwsim.api import simulate
    from workloads import Graph, build_workload

    dims = {"d": 4096, "heads": 32, "kv_heads": 8, "ffn": 14336}
    seq = 512
    with torch.device("meta"):
        model = LlamaBlock(**dims, seq=seq)
        x = torch.randn(1, seq, dims["d"])
    g = import_torch(model, (x,))
    _within(g.macs, llama_block_macs(**dims, b=1, s=seq))
    ref = build_workload("llama3-8b", phase="prefill", seq=seq, batch=1)
    block = Graph("block0", tuple(op for op in ref.ops if op.name.startswith("layers.0.")))
    assert g.macs == block.macs and g.params == block.params

    def seconds(graph, types):
        res = simulate("a100", graph)
        return sum(r.total_cycles for r in res.ops if r.op_type in types) / res.clock_mhz / 1e6

    heavy = ("matmul", "attention", "norm")
    assert seconds(g, heavy) == pytest.approx(seconds(block, heavy), rel=1e-6)
