"""MAC unit: a chain of fused multiply-adds into the accumulator register, cycle by cycle,
against hwsim.numerics.fma; random operands (normal-distributed and uniform codes) with
random clears so sums of every length occur."""

from __future__ import annotations

import numpy as np
import pytest
from unit_helpers import assert_ok, assert_reset_stream, mid_stream_resets, run_verilator

from hwsim.numerics import HwsimError, encode, get_format
from rtl.pyrtl_sim import simulate_pyrtl, verify_pyrtl
from rtl.unit import build_unit
from rtl.verify.runner import simulate
from rtl.verify.vectors import check_samples
from tests.tooling import require_tool


def mac_vectors(fmt: str, n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    total = get_format(fmt).total_bits
    a = encode(rng.standard_normal(n) * 4, fmt).astype(np.uint64)
    b = encode(rng.standard_normal(n), fmt).astype(np.uint64)
    q = n // 4  # a quarter of uniformly random codes: specials, subnormals, extremes
    a[:q] = rng.integers(0, 1 << total, q, dtype=np.uint64)
    b[:q] = rng.integers(0, 1 << total, q, dtype=np.uint64)
    clr = (rng.random(n) < 1 / 32).astype(np.uint64)
    return {"a": a, "b": b, "clr": clr}


@pytest.mark.parametrize("fmt, acc, mul", [
    ("fp8_e4m3fn", "fp32", "exact"), ("fp8_e5m2", "fp16", "exact"),
    ("fp8_e4m3fn", "bf16", "exact"), ("fp4_e2m1fn", "fp16", "exact"),
    ("bf16", "fp32", "exact"), ("fp16", "fp32", "exact"),
    ("fp8_e4m3fn", "fp32", "lmul"), ("fp8_e5m2", "fp16", "lmul"),
])
@pytest.mark.parametrize("pipeline", [0, 1])
def test_mac_pyrtl(fmt: str, acc: str, mul: str, pipeline: int) -> None:
    unit = build_unit("mac", format=fmt, acc=acc, mul=mul, pipeline=pipeline)
    assert unit.latency == 1 + pipeline and unit.stateful
    assert_ok(verify_pyrtl(unit, mac_vectors(fmt, 100_000)), 100_000)


@pytest.mark.rtl
@pytest.mark.parametrize("fmt, acc, mul, pipeline", [("fp8_e4m3fn", "fp32", "exact", 1),
                                                     ("fp8_e4m3fn", "fp16", "lmul", 0)])
def test_mac_verilator(fmt: str, acc: str, mul: str, pipeline: int) -> None:
    unit = build_unit("mac", format=fmt, acc=acc, mul=mul, pipeline=pipeline)
    assert_ok(run_verilator(unit, mac_vectors(fmt, 100_000, seed=1)), 100_000)


RESET_CASES = [("fp8_e4m3fn", "fp32", "exact", 1), ("fp8_e4m3fn", "fp16", "lmul", 0),
               ("fp8_e4m3fn", "kulisch", "exact", 1), ("bf16", "fp32", "exact", 0)]


def check_reset_run(unit, vec, samples, resets) -> None:
    """Twice over: with :func:`rtl.verify.vectors.check_samples` and directly (the sum
    restarts from zero after each reset, the flush reads 0); and the same samples checked as
    if no reset had happened fail, so the resets really cut the sums."""
    n = len(vec["a"])
    r = check_samples(unit, vec, samples, exhaustive=False, simulator="-", resets=resets)
    assert r.ok and r.resets == len(resets) and r.dropped >= len(resets) - 1, r.summary()
    assert assert_reset_stream(unit, vec, samples, resets) == n - r.dropped
    assert check_samples(unit, vec, samples, exhaustive=False, simulator="-").mismatches > n / 4


@pytest.mark.parametrize("fmt, acc, mul, pipeline", RESET_CASES)
def test_reset_mid_stream_pyrtl(fmt: str, acc: str, mul: str, pipeline: int) -> None:
    unit = build_unit("mac", format=fmt, acc=acc, mul=mul, pipeline=pipeline)
    vec = mac_vectors(fmt, 20_000, seed=3)
    vec["clr"][10_000:] = 0  # long sums: a reset, not a clr, must be what restarts them
    resets = mid_stream_resets(20_000, unit.latency, seed=3)
    check_reset_run(unit, vec, simulate_pyrtl(unit, vec, resets), resets)


@pytest.mark.rtl
@pytest.mark.parametrize("fmt, acc, mul, pipeline", RESET_CASES[:3])
def test_reset_mid_stream_verilator(fmt: str, acc: str, mul: str, pipeline: int) -> None:
    """100,000 products, ~30 resets (single cycles, one held longer than the pipeline, two
    closer than the latency, one on the last vector, one in the drain)."""
    require_tool("verilator")
    unit = build_unit("mac", format=fmt, acc=acc, mul=mul, pipeline=pipeline)
    vec = mac_vectors(fmt, 100_000, seed=4)
    vec["clr"][50_000:] = 0
    resets = mid_stream_resets(100_000, unit.latency, seed=4)
    check_reset_run(unit, vec, simulate(unit, vec, resets=resets).samples, resets)


@pytest.mark.parametrize("fmt, mul, pipeline", [
    ("fp8_e4m3fn", "exact", 0), ("fp8_e4m3fn", "lmul", 1), ("fp8_e4m3", "exact", 1),
    ("fp6_e3m2fn", "exact", 0), ("fp4_e2m1fn", "exact", 1),
])
def test_kulisch_pyrtl(fmt: str, mul: str, pipeline: int) -> None:
    unit = build_unit("mac", format=fmt, acc="kulisch", mul=mul, pipeline=pipeline)
    vec = mac_vectors(fmt, 60_000)
    vec["clr"][30_000:] = 0  # the second half is one long sum: the wide register must hold it
    assert_ok(verify_pyrtl(unit, vec), 60_000)


@pytest.mark.rtl
def test_kulisch_verilator() -> None:
    unit = build_unit("mac", format="fp8_e4m3fn", acc="kulisch", pipeline=1)
    assert_ok(run_verilator(unit, mac_vectors("fp8_e4m3fn", 100_000, seed=2)), 100_000)


def test_bad_parameters() -> None:
    with pytest.raises(HwsimError, match="up to 256"):
        build_unit("mac", format="e7m1", acc="kulisch")
    with pytest.raises(HwsimError, match="exact"):
        build_unit("mac", format="fp8_e4m3fn", acc="kulisch", saturate=True)
    with pytest.raises(HwsimError, match="accumulator"):
        build_unit("mac", format="fp8_e4m3fn", acc="fp64")
    with pytest.raises(HwsimError, match="multiplier"):
        build_unit("mac", format="fp8_e4m3fn", mul="booth")
    with pytest.raises(HwsimError, match="deeper"):
        build_unit("mac", format="fp8_e4m3fn", pipeline=2)


def test_cli_export_lmul_mac(tmp_path, capsys) -> None:
    from hwsim.cli import main

    out = tmp_path / "mac.v"
    rc = main(["rtl", "export", "mac", "-f", "fp8_e4m3fn", "--mul", "lmul", "--acc", "fp16",
               "-o", str(out)])
    assert rc == 0
    text = out.read_text()
    assert "module mac_lmul_fp8_e4m3fn_acc_fp16_p0" in text and (tmp_path / "mac.ys").exists()
    assert main(["rtl", "export", "mac", "--mul", "booth", "-o", str(tmp_path / "x.v")]) == 2
    assert "unknown multiplier" in capsys.readouterr().err
