"""Block dot-product unit against hwsim.numerics (exact block sum, one fp32 rounding), on
random codes, on real MX/NVFP4/BFP-quantised blocks of normal data and on NVFP4's corners
(every pair of E4M3 scale codes: zero, subnormal, negative, max and NaN scales)."""

from __future__ import annotations

import numpy as np
import pytest
from unit_helpers import assert_ok, assert_reset_stream, mid_stream_resets, run_verilator

from hwsim.numerics import HwsimError, decode, encode, get_block_format, quantize_blocks
from rtl.pyrtl_sim import simulate_pyrtl, verify_pyrtl
from rtl.unit import build_unit
from rtl.verify.runner import simulate
from rtl.verify.vectors import check_samples
from tests.tooling import require_tool


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
        if f.scale is not None:  # MX: E8M0, NVFP4: E4M3 (the per-tensor scale is not an input)
            vec[f"s{side}"][:half] = encode(q.scales[:, 0], f.scale)
        else:
            bias = (1 << (f.shared_exp_bits - 1)) - 1
            exps = np.log2(q.scales[:, 0]).astype(np.int64) + (f.element.bits - 2) + bias
            vec[f"s{side}"][:half] = exps.astype(np.uint64)
    return vec


def nvfp4_corners(unit, seed: int = 0) -> dict[str, np.ndarray]:
    """Every pair of E4M3 scale codes (65,536 vectors) plus each pair of the special scales
    (zeros, subnormals, min normal, 1, max, NaN, both signs) 10 times, each with one of five
    element patterns: random codes; all products 36 of one sign (the largest magnitude);
    exact cancellation (the second half negates the first); cancellation down to one
    0.5 * 0.5 product; that product alone (with the smallest scales: the smallest result)."""
    n = unit.params["block"]
    rng = np.random.default_rng(seed)
    every = np.arange(256, dtype=np.uint64)
    special = np.array([0x00, 0x80, 0x01, 0x81, 0x07, 0x08, 0x38, 0x7E, 0xFE, 0x7F, 0xFF],
                       dtype=np.uint64)
    sa, sb = (np.concatenate([g1.ravel(), np.tile(g2.ravel(), 10)]) for g1, g2 in
              zip(np.meshgrid(every, every), np.meshgrid(special, special), strict=True))
    rows = len(sa)
    a = rng.integers(0, 16, (rows, n), dtype=np.uint64)
    b = rng.integers(0, 16, (rows, n), dtype=np.uint64)
    kind = np.arange(rows) % 5
    sign = rng.integers(0, 2, (rows, 1), dtype=np.uint64) << np.uint64(3)
    big = kind == 1  # 6 * 6 or -6 * -6 everywhere: +-576 * sa * sb
    a[big] = b[big] = (0x7 | sign[big]).repeat(n, 1)
    half = n // 2
    cancel = kind >= 2  # a_{i + n/2} = -a_i, b_{i + n/2} = b_i (n odd: the last one is 0)
    a[cancel, half:2 * half] = a[cancel, :half] ^ np.uint64(0x8)
    b[cancel, half:2 * half] = b[cancel, :half]
    a[cancel, 2 * half:] = 0
    tiny = kind >= 3  # one surviving product 0.5 * 0.5
    a[tiny, 0], b[tiny, 0], a[tiny, half] = 0x1, 0x1, 0x0
    a[kind == 4, 1:] = 0
    vec = {f"a_{i}": a[:, i] for i in range(n)} | {f"b_{i}": b[:, i] for i in range(n)}
    return vec | {"sa": sa, "sb": sb}


@pytest.mark.parametrize("fmt, block", [
    ("mxfp8_e4m3", 32), ("mxfp8_e5m2", 8), ("mxfp6_e3m2", 16), ("mxfp6_e2m3", 32),
    ("mxfp4", 32), ("mxint8", 32), ("bfp_b16_m7", 16), ("bfp_b8_m4_e5", 8),
    ("nvfp4", 16), ("nvfp4", 5),
])
def test_block_dot_pyrtl(fmt: str, block: int) -> None:
    unit = build_unit("block-dot", format=fmt, block=block, pipeline=1)
    assert_ok(verify_pyrtl(unit, block_vectors(unit, 40_000)), 40_000)


def test_sum_wider_than_float64_rounds_once_pyrtl() -> None:
    """E5M2 products span 2^62: 2^28 + 2^4 + 2^-32 (an fp32 tie broken 60 bits down) must
    round up, as the exact unit does; the reference had rounded the block sum to float64."""
    unit = build_unit("block-dot", format="mxfp8_e5m2", block=4)
    e5m2 = get_block_format("mxfp8_e5m2").element
    pairs = [(2.0**14, 2.0**14), (2.0**2, 2.0**2), (2.0**-16, 2.0**-16), (0.0, 0.0)]
    vec = {f"{side}_{i}": encode(np.array([pair[j]] * 2), e5m2).astype(np.uint64)
           for i, pair in enumerate(pairs) for j, side in enumerate("ab")}
    vec["sa"] = vec["sb"] = np.array([127, 127], dtype=np.uint64)  # E8M0 2^0
    vec["a_2"][1] |= np.uint64(0x80)  # second vector: -2^-32
    y = decode(unit.reference(vec), "fp32")
    assert list(y) == [2.0**28 + 32, 2.0**28]
    assert_ok(verify_pyrtl(unit, vec), 2)


@pytest.mark.parametrize("pipeline", [0, 3])
def test_nvfp4_corners_pyrtl(pipeline: int) -> None:
    unit = build_unit("block-dot", format="nvfp4", pipeline=pipeline)
    vec = nvfp4_corners(unit)
    y = decode(unit.reference(vec), "fp32")
    # the corners are reached: NaN scales, +0 (zero scales, cancellation), the largest and
    # the smallest magnitudes, which fp32 holds exactly (no overflow or underflow possible)
    nan_scale = np.isin(vec["sa"], [0x7F, 0xFF]) | np.isin(vec["sb"], [0x7F, 0xFF])
    assert (np.isnan(y) == nan_scale).all()
    assert (y[~np.isnan(y)] == 0).any() and not np.signbit(y[y == 0]).any()
    assert np.nanmax(np.abs(y)) == 576 * 448.0**2 and np.nanmin(np.abs(y[y != 0])) == 2.0**-20
    assert_ok(verify_pyrtl(unit, vec), 65_536)


@pytest.mark.rtl
@pytest.mark.parametrize("fmt, block, pipeline", [
    ("mxfp8_e4m3", 32, 2), ("mxint8", 8, 0), ("nvfp4", 16, 2),
])
def test_block_dot_verilator(fmt: str, block: int, pipeline: int) -> None:
    unit = build_unit("block-dot", format=fmt, block=block, pipeline=pipeline)
    vec = block_vectors(unit, 100_000, seed=1)
    if fmt == "nvfp4":
        corners = nvfp4_corners(unit, seed=1)
        vec = {p: np.concatenate([v, corners[p]]) for p, v in vec.items()}
    assert_ok(run_verilator(unit, vec), 100_000)


def check_reset_run(unit, vec, samples, resets) -> None:
    """Vectors after each reset come out exact and the flush between reads 0, checked with
    :func:`rtl.verify.vectors.check_samples` and directly on the samples."""
    r = check_samples(unit, vec, samples, exhaustive=False, simulator="-", resets=resets)
    assert r.ok and r.resets == len(resets) and r.dropped >= len(resets) - 1, r.summary()
    assert assert_reset_stream(unit, vec, samples, resets) == r.vectors - r.dropped


@pytest.mark.parametrize("fmt, block, pipeline", [
    ("mxfp8_e4m3", 8, 1), ("mxfp8_e4m3", 8, 2), ("mxfp8_e4m3", 8, 3), ("nvfp4", 16, 2),
])
def test_reset_mid_stream_pyrtl(fmt: str, block: int, pipeline: int) -> None:
    unit = build_unit("block-dot", format=fmt, block=block, pipeline=pipeline)
    vec = block_vectors(unit, 20_000, seed=2)
    resets = mid_stream_resets(20_000, unit.latency, seed=2)
    check_reset_run(unit, vec, simulate_pyrtl(unit, vec, resets), resets)


@pytest.mark.rtl
def test_reset_mid_stream_verilator() -> None:
    """100,000 MXFP8 blocks of 32 through the 2-stage unit, ~30 resets mid-stream."""
    require_tool("verilator")
    unit = build_unit("block-dot", format="mxfp8_e4m3", block=32, pipeline=2)
    vec = block_vectors(unit, 100_000, seed=5)
    resets = mid_stream_resets(100_000, unit.latency, seed=5)
    check_reset_run(unit, vec, simulate(unit, vec, resets=resets).samples, resets)


def test_nvfp4_ports() -> None:
    """Element codes and the two E4M3 block-scale codes; no per-tensor scale port."""
    unit = build_unit("block-dot", format="nvfp4")
    assert unit.params["block"] == 16 and unit.outputs == {"y": 32}
    assert unit.inputs == {**{f"{s}_{i}": 4 for s in "ab" for i in range(16)}, "sa": 8, "sb": 8}


def test_bad_parameters() -> None:
    with pytest.raises(HwsimError, match="block size"):
        build_unit("block-dot", format="nvfp4", block=65)
    with pytest.raises(HwsimError, match="block size"):
        build_unit("block-dot", format="mxfp4", block=0)
    with pytest.raises(HwsimError, match="unknown block format"):
        build_unit("block-dot", format="mxfp5")
