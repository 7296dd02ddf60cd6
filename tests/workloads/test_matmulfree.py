"""The MatMul-free LM workload: parameter counts vs the paper's model sizes, the MLGRU and GLU
op counts by hand, ternary weights, no attention, and the errors it gives."""

from dataclasses import replace

import pytest

from hwsim.errors import HwsimError
from workloads import (
    Attention,
    Elementwise,
    MatMul,
    Precision,
    build_workload,
    list_workloads,
)
from workloads.models.configs import LlmConfig
from workloads.models.llm import build_llm
from workloads.models.matmulfree import (
    MMFREE_CONFIGS,
    build_matmulfree,
    glu_size,
    state_bytes,
    weight_bytes,
)

CFG = MMFREE_CONFIGS["matmulfree-2.7b"]
# Tolerance fixed before measuring: a model named "2.7B" (370M, 1.3B) holds that many
# parameters within 5% (the names round the counts).
PARAM_TOL = 0.05


def sized(name: str, hidden: int, layers: int):
    """The paper's other sizes (README table: 370M = 24 x 1024, 1.3B = 24 x 2048), same rules."""
    return replace(CFG, name=name, hidden=hidden, layers=layers, intermediate=glu_size(hidden))


@pytest.mark.parametrize("cfg, published", [
    (sized("mmfree-370m", 1024, 24), 370e6),
    (sized("mmfree-1.3b", 2048, 24), 1.3e9),
    (CFG, 2.7e9),
])
def test_parameters_match_the_published_model_sizes(cfg, published):
    params = build_matmulfree(cfg, phase="decode", kv_len=8).params
    assert abs(params / published - 1) <= PARAM_TOL, params


def test_glu_size_follows_the_reference_rule():
    # HGRNBitMLP: int(h * 4 * 2/3) rounded up to a multiple of 256
    assert CFG.intermediate == glu_size(2560) == 6912
    assert glu_size(1024) == 2816 and glu_size(2048) == 5632


def hand_count(h: int, inter: int, layers: int, vocab: int, tokens: int) -> dict[str, int]:
    """Per BitLinear h x n: h*n additions per token. A layer: i, f, g, o (h x h each), the fused
    gate/up h x 2*inter and down inter x h; the LM head for the last token only."""
    per_token = layers * (4 * h * h + 2 * h * inter + inter * h)
    return {"macs": tokens * per_token + h * vocab,
            "params": layers * (4 * h * h + 3 * h * inter) + 2 * vocab * h}


@pytest.mark.parametrize("phase, kw, tokens", [
    ("decode", {"kv_len": 100}, 1), ("prefill", {"seq": 64}, 64),
])
def test_ternary_additions_and_params_by_hand(phase, kw, tokens):
    g = build_workload("matmulfree-2.7b", phase=phase, **kw)
    want = hand_count(2560, 6912, 32, 32000, tokens)
    assert g.macs == want["macs"]
    # plus the norm scales (2 per block, 1 per BitLinear: 6 per block, 1 final + 1 head) and
    # the lower bounds (layers after the first)
    norms = 32 * (2 * 2560 + 5 * 2560 + 6912 + 2560) + 2 * 2560
    assert g.params == want["params"] + norms + 31 * 2560


def test_every_dense_layer_is_ternary_and_there_is_no_attention():
    g = build_workload("matmulfree-2.7b", phase="prefill", seq=16)
    mms = [op for op in g.ops if isinstance(op, MatMul)]
    assert len(mms) == 32 * 6 + 1
    assert {op.fmt.w for op in mms} == {"int2"} and {op.fmt.x for op in mms} == {"int8"}
    assert not any(isinstance(op, Attention) for op in g.ops)


def test_mlgru_recurrence_counts_by_hand():
    h = 2560
    for phase, kw, tokens, inputs in (("prefill", {"seq": 48}, 48, 2),
                                      ("decode", {"kv_len": 48}, 1, 3)):
        g = build_workload("matmulfree-2.7b", phase=phase, batch=2, **kw)
        rec = [op for op in g.ops if isinstance(op, Elementwise) and op.kind == "recurrence"]
        assert len(rec) == 32
        # h_t = f_t * h_{t-1} + i_t: one multiply and one add per channel per token
        assert all(op.flops == 2 * 2 * tokens * h for op in rec)
        # reads f and i (decode also the stored state), writes h
        assert all(op.x_numel == inputs * 2 * tokens * h and op.y_numel == 2 * tokens * h
                   for op in rec)


def test_decode_cost_does_not_grow_with_the_context():
    short = build_workload("matmulfree-2.7b", phase="decode", kv_len=16).summary()
    long = build_workload("matmulfree-2.7b", phase="decode", kv_len=2048).summary()
    for key in ("macs", "flops", "bytes_read", "bytes_written"):
        assert short[key] == long[key], key


def test_listed_as_an_llm_with_both_phases():
    info = next(w for w in list_workloads() if w.name == "matmulfree-2.7b")
    assert info.family == "llm" and info.phases == ("prefill", "decode")


@pytest.mark.parametrize("kw, match", [
    ({"precision": "fp16"}, None),
    ({"precision": Precision("w1u", "uint1", "int8", "int32")}, "signed weight format"),
    ({"precision": Precision("w2u", "uint2", "int8", "int32")}, "signed weight format"),
    ({"phase": "decode", "kv_len": 4096}, "exceed its context of 2048"),
    ({"phase": "decode", "seq": 4}, "one token per sequence"),
    ({"phase": "prefill", "kv_len": 4}, "--kv-len applies to the decode phase"),
    ({"phase": "train"}, "no phase 'train'"),
    ({"batch": 0}, "batch must be a positive integer"),
])
def test_bad_input_names_the_constraint(kw, match):
    if match is None:  # a signed format of at least 2 bits holds the ternary weights
        assert build_workload("matmulfree-2.7b", seq=8, **kw).ops
        return
    with pytest.raises(HwsimError, match=match) as err:
        build_workload("matmulfree-2.7b", **kw)
    assert "\n" not in str(err.value)


@pytest.mark.xfail(strict=True, reason="measured 7.4x (int2-stored ternary weights, fp16 "
                   "embedding) vs the fp16 same-size transformer at context 2048, not >10x")
def test_inference_memory_more_than_10x_below_the_transformer():
    """Zhu et al. 2024 abstract: inference memory reduced by more than 10x; tolerance fixed
    before measuring: >= 10x against a same-size fp16 transformer (Transformer++ layout)."""
    tpp = LlmConfig("transformer++-2.7b", "llama", hidden=2560, layers=32, heads=20,
                    kv_heads=20, intermediate=6912, vocab=32000, max_positions=2048,
                    tied_embeddings=False, source="same dimensions as matmulfree-2.7b")
    base = build_llm(tpp, phase="decode", kv_len=2048, precision="fp16")
    ours = build_workload("matmulfree-2.7b", phase="decode", kv_len=2048)
    assert abs(base.params / ours.params - 1) < 0.01  # the same size
    ratio = (weight_bytes(base) + state_bytes(base)) / (weight_bytes(ours) + state_bytes(ours))
    assert ratio >= 10
