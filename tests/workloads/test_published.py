"""Built-in graphs against published parameter and MAC counts.

Each figure names its source and the tolerance it is checked to. Where our count is exact
(it follows the reference implementation layer by layer) the tolerance is the rounding of
the published figure.
"""

from __future__ import annotations

import pytest

from workloads import build_workload

# (name, published params, rel. tolerance, source)
PARAMS = [
    # 6,738,415,616 from the HF checkpoint; the paper (Table 1 / model card) rounds to 7B
    ("llama2-7b", 6.74e9, 1e-3, "meta-llama/Llama-2-7b-hf model card: 6.74B parameters"),
    ("llama2-13b", 13.0e9, 5e-3, "Llama 2 paper (arXiv:2307.09288) Table 1: 13B (13.02B)"),
    ("llama3-8b", 8.03e9, 1e-3, "meta-llama/Meta-Llama-3-8B model card: 8.03B parameters"),
    ("opt-6.7b", 6.7e9, 1e-2, "OPT paper (arXiv:2205.01068) Table 1: 6.7B"),
    ("bitnet-b1.58-3b", 3.3e9, 5e-2, "bitnet.cpp README model table: 3.3B (3.43B with the "
                                     "untied 32002-row embedding and head counted)"),
    ("gpt3-175b", 175.0e9, 5e-3, "Brown et al. 2020 (arXiv:2005.14165) Table 2.1: 175.0B"),
    ("llama2-70b", 69e9, 1e-2, "Llama 2 paper (arXiv:2307.09288) Table 1: 70B; "
                               "meta-llama/Llama-2-70b-hf model card: 69B parameters"),
    ("resnet50", 25.557e6, 1e-3, "torchvision resnet50 docs: 25,557,032 params"),
    ("resnet18", 11.690e6, 1e-3, "torchvision resnet18 docs: 11,689,512 params"),
    ("mobilenetv2", 3.505e6, 1e-3, "torchvision mobilenet_v2 docs: 3,504,872 params "
                                   "(paper Table 4: 3.4M)"),
    ("vit-b16", 86.568e6, 1e-3, "torchvision vit_b_16 docs: 86,567,656 params (paper: 86M)"),
]

# (name, published MACs, rel. tolerance, source). torchvision's 'GFLOPS' column counts one
# multiply-add as one op (fvcore convention), i.e. it is GMACs.
MACS = [
    ("resnet50", 4.09e9, 5e-3, "torchvision resnet50 docs: 4.09 GFLOPS (multiply-adds)"),
    ("resnet18", 1.81e9, 5e-3, "torchvision resnet18 docs: 1.81 GFLOPS (multiply-adds)"),
    ("mobilenetv2", 300e6, 1e-2, "Sandler et al. 2018 Table 4: 300M multiply-adds"),
    ("vit-b16", 17.56e9, 5e-3, "torchvision vit_b_16 docs: 17.56 GFLOPS (multiply-adds), "
                               "usually quoted as 17.6 GFLOPs"),
    ("resnet8", 12.5e6, 1e-2, "MLPerf Tiny paper (arXiv:2106.07597) Table 1: ResNet-8 "
                              "12.5M MACs"),
]


@pytest.mark.parametrize(("name", "published", "rel", "source"), PARAMS,
                         ids=[p[0] for p in PARAMS])
def test_params_match_published(name: str, published: float, rel: float, source: str) -> None:
    assert build_workload(name).params == pytest.approx(published, rel=rel), source


@pytest.mark.parametrize(("name", "published", "rel", "source"), MACS,
                         ids=[m[0] for m in MACS])
def test_macs_match_published(name: str, published: float, rel: float, source: str) -> None:
    assert build_workload(name).macs == pytest.approx(published, rel=rel), source


def test_exact_counts_of_reference_implementations() -> None:
    """Exact counts, derived from the reference definitions layer by layer (and equal to
    ``sum(p.numel() for p in model.parameters())`` of the torchvision models)."""
    assert build_workload("llama2-7b").params == 6_738_415_616
    assert build_workload("llama2-13b").params == 13_015_864_320
    assert build_workload("llama3-8b").params == 8_030_261_248
    assert build_workload("opt-6.7b").params == 6_658_473_984
    assert build_workload("resnet50").params == 25_557_032
    assert build_workload("resnet18").params == 11_689_512
    assert build_workload("mobilenetv2").params == 3_504_872
    assert build_workload("vit-b16").params == 86_567_656


def test_tiny_models_from_reference_keras_definitions() -> None:
    """MLPerf Tiny reference Keras models (github.com/mlcommons/tiny, keras_model.py).

    ResNet-8: Keras reports 78,666 total params, of which 480 are BatchNorm moving
    statistics (non-trainable, 2 per channel over 240 BN channels): 78,186 trainable.
    DS-CNN (64 filters, 4 depthwise-separable blocks, 12 classes): 23,756 trainable params
    by the same count; 2.66M MACs, the "5.4M ops" of Hello Edge's DS-CNN-S
    (arXiv:1711.07128, Table 7) within 2%.
    """
    assert build_workload("resnet8").params == 78_666 - 480
    ds = build_workload("ds-cnn")
    assert ds.params == 23_756
    assert 2 * ds.macs == pytest.approx(5.4e6, rel=2e-2)


def test_llm_decode_is_one_token_per_sequence() -> None:
    g = build_workload("llama2-7b", phase="decode", kv_len=4096, batch=8)
    # linear layers: 2 * params MACs per token, less the embedding lookup
    linear = sum(op.macs for op in g.ops if op.OP_TYPE == "matmul")
    assert linear == 8 * (6_738_415_616 - 32000 * 4096 - 65 * 4096)
    attn = [op for op in g.ops if op.OP_TYPE == "attention"]
    assert len(attn) == 32 and all(op.pairs == 4096 for op in attn)
