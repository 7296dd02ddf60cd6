"""The shared lowering: op -> GEMMs, vector work and masked MACs; delays checked at the source."""

import pytest

from hwsim.cli import main
from hwsim.engine.lowering import Lowered, check_cycles, lower_op
from hwsim.errors import HwsimError
from workloads import Attention


def _attn(q, kv, causal):
    return Attention(name="a", batch=2, heads=4, kv_heads=4, q_len=q, kv_len=kv, head_dim=8,
                     causal=causal).with_precision("int8")


@pytest.mark.parametrize("q,kv", [(16, 16), (5, 21), (1, 9)])
def test_causal_attention_runs_full_gemms_and_counts_masked_work(q, kv):
    op = _attn(q, kv, causal=True)
    low = lower_op(op, device="systolic")
    full = 2 * 2 * 4 * q * kv * 8  # QK^T and PV over every (query, key) pair
    assert low.macs == full == op.macs + low.masked_macs
    assert low.masked_macs == 2 * 2 * 4 * 8 * (q * (q - 1) // 2)  # the masked triangle
    # scale + softmax over every computed score; the op counts only the unmasked ones
    assert low.vector_flops == 2 * 4 * q * kv * op.score_flops >= op.vector_flops
    assert op.flops == 2 * op.macs + op.vector_flops
    assert "masked scores discarded" in low.detail


def test_non_causal_attention_is_unchanged():
    op = _attn(12, 30, causal=False)
    low = lower_op(op, device="systolic")
    assert low.masked_macs == 0 and low.macs == op.macs
    assert low.vector_flops == op.flops - 2 * op.macs


@pytest.mark.parametrize("block", [1, 4, 7, 16])
def test_skipping_masked_blocks_approaches_the_unmasked_macs(block):
    op = _attn(16, 20, causal=True)
    full = lower_op(op, device="gpu").macs
    low = lower_op(op, device="gpu", causal_block=block)
    assert op.macs <= low.macs <= full
    assert low.macs - low.masked_macs == op.macs
    assert (low.masked_macs == 0) == (block == 1)


def test_negative_work_is_an_internal_error():
    with pytest.raises(AssertionError, match="internal error"):
        Lowered(vector_flops=-1)
    with pytest.raises(AssertionError, match="internal error: a tile is -3 cycles"):
        check_cycles(-3, "a tile")
    with pytest.raises(HwsimError, match="causal_block"):
        lower_op(_attn(4, 4, True), device="x", causal_block=0)


@pytest.mark.parametrize("argv", [
    ["--workload", "llama2-7b", "--seq", "32", "--layers", "8"],
    ["--workload", "opt-6.7b", "--seq", "32", "--layers", "8", "--dataflow", "ws"],
    ["--workload", "llama2-7b", "--seq", "32", "--layers", "8", "--device",
     "fpga:zcu104:lmul-lut"],
])
def test_llm_prefill_runs(argv, capsys):
    """These ended in SimPy's 'Negative delay' before the causal lowering was explicit."""
    assert main(["run", *argv, "--json"]) == 0
    out = capsys.readouterr().out
    assert "causal-attention work the mask discards" in out
