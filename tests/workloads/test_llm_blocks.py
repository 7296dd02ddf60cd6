"""``blocks=N``: an LLM's first N transformer blocks, for models too large to simulate whole."""

from __future__ import annotations

import pytest

from hwsim.errors import HwsimError
from workloads import build_workload
from workloads.models.configs import LLM_CONFIGS


@pytest.mark.parametrize("name", ["gpt3-175b", "llama2-70b"])
def test_blocks_keep_the_first_transformer_blocks_only(name):
    cfg = LLM_CONFIGS[name]
    whole = build_workload(name, phase="decode", kv_len=64)
    two = build_workload(name, phase="decode", kv_len=64, blocks=2)
    block_ops = [op for op in whole.ops if op.name.startswith("layers.0.")]
    assert [op.name for op in two.ops] == [op.name for op in whole.ops
                                           if op.name.startswith(("layers.0.", "layers.1."))]
    # the blocks' parameters: d_model and d_ff as published (12 h^2 + 13 h for GPT-3's layout)
    per_block = sum(op.params for op in block_ops)
    assert two.params == 2 * per_block
    h, f = cfg.hidden, cfg.intermediate
    if name == "gpt3-175b":
        assert per_block == 4 * h * h + 4 * h + 2 * h * f + f + h + 4 * h
    else:  # GQA: k/v project to 8 heads of 128; SwiGLU's three matrices
        assert per_block == 2 * h * h + 2 * h * 8 * 128 + 3 * h * f + 2 * h
    assert whole.params - cfg.layers * per_block < 0.01 * whole.params  # embeddings, head
    assert dict(two.attrs)["blocks"] == 2 and "2 of" in two.name


@pytest.mark.parametrize(("name", "blocks", "match"), [
    ("gpt3-175b", 0, "from 1 to 96"), ("gpt3-175b", 97, "from 1 to 96"),
    ("llama2-70b", True, "from 1 to 80"), ("matmulfree-2.7b", 1, "--blocks applies to"),
    ("resnet18", 1, "--blocks applies to"),
])
def test_bad_blocks_are_one_error(name, blocks, match):
    kw = {} if name == "resnet18" else {"phase": "decode", "kv_len": 8}
    with pytest.raises(HwsimError, match=match):
        build_workload(name, blocks=blocks, **kw)
