"""The transformer models of ``transformer_models`` exported with ``torch.onnx.export`` (the
TorchScript exporter, ``dynamo=False``: the dynamo one needs onnxscript, which is not
installed) and imported with ``import_onnx``: the exporter's shape arithmetic (Shape, Gather,
Cast, Mod, Slice, Concat, Unsqueeze) and mask building (Trilu, Equal, Where) are folded by
ONNX's reference evaluator, and the MACs must match the analytic count within 1%.
"""

from __future__ import annotations

import json
import warnings
from collections import Counter

import pytest

torch = pytest.importorskip("torch", reason="torch is not installed (extra [torch])")
onnx = pytest.importorskip("onnx", reason="the onnx package (dev extra) is not installed")

from tests.workloads.transformer_models import (  # noqa: E402
    BATCH,
    D_MODEL,
    HEADS,
    KV_HEADS,
    MEMORY,
    SEQ,
    Decoder,
    LlamaBlock,
    decoder_macs,
    encoder,
    encoder_macs,
    llama_block_macs,
)
from workloads import load_graph  # noqa: E402
from workloads.importers.onnx import import_onnx  # noqa: E402

TOL = 0.01  # the bound on imported vs analytic MACs
SHAPE_OPS = {"Shape", "Gather", "Cast", "Mod", "Slice", "Concat", "Unsqueeze"}


def _inputs(*shapes):
    torch.manual_seed(0)
    return tuple(torch.randn(*s) for s in shapes)


MODELS = {
    "encoder": (encoder, ((BATCH, SEQ, D_MODEL),), encoder_macs()),
    "decoder": (Decoder, ((BATCH, SEQ, D_MODEL), (BATCH, MEMORY, D_MODEL)), decoder_macs()),
    "llama": (lambda: LlamaBlock(gqa="repeat"), ((BATCH, SEQ, D_MODEL),), llama_block_macs()),
}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = {}
    folder = tmp_path_factory.mktemp("onnx")
    for name, (make, shapes, _) in MODELS.items():
        model = make().eval()
        path = folder / f"{name}.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's deprecation notice
            # grad mode on: in no_grad, nn.TransformerEncoderLayer takes its fused fast path,
            # which has no ONNX conversion
            torch.onnx.export(model, _inputs(*shapes), str(path), dynamo=False,
                              opset_version=18)
        out[name] = (model, path)
    return out


@pytest.mark.parametrize("name", list(MODELS))
def test_exported_transformers_import_with_analytic_macs(exported, name) -> None:
    model, path = exported[name]
    raw = Counter(n.op_type for n in onnx.load(str(path)).graph.node)
    assert SHAPE_OPS & set(raw), "the export has no shape arithmetic to fold"
    g = import_onnx(path)
    want = MODELS[name][2]
    assert abs(g.macs - want) <= TOL * want, f"imported {g.macs} MACs, analytic {want}"
    # ONNX cannot tell a buffer (RoPE tables) from a parameter: both are initializers
    used = {t.name for t in onnx.load(str(path)).graph.initializer}
    buffers = sum(b.numel() for n, b in model.named_buffers() if n in used)
    assert g.params == sum(p.numel() for p in model.parameters()) + buffers


def test_attention_is_one_op_with_its_mask_read(exported) -> None:
    kinds = {}
    for name in MODELS:
        g = import_onnx(exported[name][1])
        kinds[name] = [(a.heads, a.kv_heads, a.q_len, a.kv_len, a.causal) for a in g.ops
                       if a.OP_TYPE == "attention"]
        assert not [op for op in g.ops if op.OP_TYPE == "softmax"]
    assert kinds["encoder"] == [(4, 4, SEQ, SEQ, False)] * 2
    # the causal mask the exporter builds from Trilu/Where folds to a constant that is read
    assert kinds["decoder"] == [(4, 4, SEQ, SEQ, True), (4, 4, SEQ, MEMORY, False)] * 2
    # the KV heads the block repeats (Unsqueeze, Expand, Reshape) before attention
    assert kinds["llama"] == [(HEADS, KV_HEADS, SEQ, SEQ, True)]


def test_written_out_rmsnorm_is_one_norm(exported) -> None:
    g = import_onnx(exported["llama"][1])
    norms = [(op.kind, op.shape, op.params) for op in g.ops if op.OP_TYPE == "norm"]
    assert norms == [("rmsnorm", (BATCH * SEQ, D_MODEL), D_MODEL)] * 2
    assert not [op for op in g.ops if op.OP_TYPE == "pool" or getattr(op, "kind", "") == "pow"]


def test_exported_model_runs_from_the_cli(exported, tmp_path, capsys) -> None:
    from hwsim.cli import main

    graph = tmp_path / "llama.json"
    assert main(["workload", "import", str(exported["llama"][1]), "-o", str(graph)]) == 0
    capsys.readouterr()
    assert load_graph(graph).macs == llama_block_macs()
    assert main(["run", "--device", "a100", "--workload", str(graph), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["seconds"] > 0
    (attn,) = [op for op in out["ops"] if op["op_type"] == "attention"]
    assert "FlashAttention" in attn["detail"]
