"""Block dot-product unit against hwsim.numerics (exact block sum, one fp32 rounding), on
random codes and on real MX/BFP-quantised blocks of normal data."""

from __future__ import annotations

import numpy as np
import pytest
from unit_helpers import assert_ok, run_verilator

from hwsim.numerics import HwsimError, encode, get_block_format, quantize_blocks
from rtl.pyrtl_sim import verify_pyrtl
from rtl.unit import build_unit


def block_vectors(unit, n_random: int = 100_000, seed: int = 0) -> dict[str, np.ndarray]:
    """Quantised blocks of N(0, 1) data (with their real scales) plus uniformly random codes."""
    f = get_block_format(unit.params["format"])
    n = unit.params["block"]
    rng = np.random.default_rng(seed)
    half = n_random // 2
    vec = {p: rng.integers(0, 1 << w, n_random, dtype=np.uint64) for p, w in unit.inputs.items()}
    for side in ("a", "b"):
        q = quantize_blocks(rng.standard_normal((half, n)) * 3, f.name, return_parts=True)
        for i in range(n):
            vec[f"{side}_{i}"][:half] = q.codes[:, 0, i]
        if f.kind == "mx":
            vec[f"s{side}"][:half] = encode(q.scales[:, 0], "e8m0")
        else:
            bias = (1 << (f.shared_exp_bits - 1)) - 1
            exps = np.log2(q.scales[:, 0]).astype(np.int64) + (f.element.bits - 2) + bias
            vec[f"s{side}"][:half] = exps.astype(np.uint64)
    return vec


@pytest.mark.parametrize("fmt, block", [
    ("mxfp8_e4m3", 32), ("mxfp8_e5m2", 8), ("mxfp6_e3m2", 16), ("mxfp6_e2m3", 32),
    ("mxfp4", 32), ("mxint8", 32), ("bfp_b16_m7", 16), ("bfp_b8_m4_e5", 8),
])
def test_block_dot_pyrtl(fmt: str, block: int) -> None:
    unit = build_unit("block-dot", format=fmt, block=block, pipeline=1)
    assert_ok(verify_pyrtl(unit, block_vectors(unit, 40_000)), 40_000)


@pytest.mark.rtl
@pytest.mark.parametrize("fmt, block, pipeline", [("mxfp8_e4m3", 32, 2), ("mxint8", 8, 0)])
def test_block_dot_verilator(fmt: str, block: int, pipeline: int) -> None:
    unit = build_unit("block-dot", format=fmt, block=block, pipeline=pipeline)
    assert_ok(run_verilator(unit, block_vectors(unit, 100_000, seed=1)), 100_000)


def test_bad_parameters() -> None:
    with pytest.raises(HwsimError, match="NVFP4"):
        build_unit("block-dot", format="nvfp4")
    with pytest.raises(HwsimError, match="block size"):
        build_unit("block-dot", format="mxfp4", block=0)
    with pytest.raises(HwsimError, match="unknown block format"):
        build_unit("block-dot", format="mxfp5")
