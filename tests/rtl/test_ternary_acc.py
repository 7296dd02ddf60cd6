"""The ternary-weight accumulate-only PE (``ternary-acc``) and its golden model
:mod:`hwsim.numerics.ternary`: the golden sums against torch's integer matmul, the unit bit for
bit against the golden model in PyRTL and in Verilator through cocotb (exhaustive over every
activation x weight code pair, then random + corner streams with resets), lint under
``verilator -Wall``, and Yosys beside the int8 MAC it replaces."""

from __future__ import annotations

import numpy as np
import pytest

from hwsim.errors import HwsimError
from hwsim.numerics.ternary import (
    absmean_ternary,
    decode_ternary,
    encode_ternary,
    pe_weight,
    ternary_accumulate,
)
from rtl.export import lint, write_verilog
from rtl.pyrtl_sim import verify_pyrtl
from rtl.synth import synthesize
from rtl.unit import build_unit
from rtl.verify.vectors import make_vectors
from tests.rtl.unit_helpers import assert_ok, mid_stream_resets, run_verilator


def test_golden_sums_equal_torch_integer_matmul() -> None:
    """int8 activations x absmean-ternary weights: the PE's running sum over a row of K terms
    ends at torch's int64 matmul, and the codes round-trip."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, (4, 300))
    t, scale = absmean_ternary(rng.standard_normal((300, 6)))
    assert set(np.unique(t)) <= {-1, 0, 1} and scale > 0
    codes = encode_ternary(t)
    assert np.array_equal(decode_ternary(codes), t)
    want = torch.from_numpy(x) @ torch.from_numpy(t)
    for i in range(4):
        for j in range(6):
            acc = ternary_accumulate(x[i].astype(np.uint64) & np.uint64(0xFF), codes[:, j])
            s = int(acc[-1])
            assert s - (1 << 24) * (s >> 23) == int(want[i, j])


def test_codes_and_their_errors() -> None:
    assert encode_ternary([0, 1, -1]).tolist() == [0, 1, 3]
    assert pe_weight([0, 1, 2, 3]).tolist() == [0, 1, 0, -1]  # 0b10 adds nothing in the PE
    with pytest.raises(HwsimError, match=r"code 2 is out of range; allowed: 0 \(0\)"):
        decode_ternary([1, 2])
    with pytest.raises(HwsimError, match="must be -1, 0 or \\+1, got 2"):
        encode_ternary([1, 2])
    with pytest.raises(HwsimError, match=r"2 bits \(0..3\)"):
        pe_weight([4])
    with pytest.raises(HwsimError, match="8 bits"):
        ternary_accumulate([256], [1])


def test_reference_wraps_like_the_register() -> None:
    unit = build_unit("ternary-acc", format="int4", acc=5)
    # +7, +7 (14), -(-8) (22 -> wraps to -10 in 5 bits), skip, -7 (-17 -> wraps to 15)
    y = unit.reference({"a": np.array([7, 7, 8, 5, 7]), "b": np.array([1, 1, 3, 0, 3])})
    assert y.tolist() == [7, 14, 22, 22, 15]
    assert (unit.name, unit.latency, unit.outputs["y"]) == ("ternary_acc_int4_acc5_p0", 1, 5)


@pytest.mark.parametrize("pipeline", [0, 1])
def test_pyrtl_exhaustive_then_streams_with_resets(pipeline) -> None:
    unit = build_unit("ternary-acc", pipeline=pipeline)
    result = verify_pyrtl(unit)
    assert result.exhaustive
    assert_ok(result, 256 * 4)
    resets = mid_stream_resets(6000, unit.latency, singles=8)
    result = verify_pyrtl(unit, exhaustive=False, n_random=6000, resets=resets)
    assert_ok(result, 5000)


def test_pyrtl_narrow_accumulator_wraps() -> None:
    result = verify_pyrtl(build_unit("ternary-acc", format="int4", acc=5))
    assert result.exhaustive
    assert_ok(result, 16 * 4)


@pytest.mark.rtl
def test_verilator_bit_for_bit(rtl_build_dir) -> None:
    """One Verilator build (the pipelined PE; pipeline 0 is the same adder, checked in PyRTL):
    every activation x weight-code pair in a row, then random + corner codes, with resets."""
    unit = build_unit("ternary-acc", pipeline=1)
    every, _ = make_vectors(unit, exhaustive=True)
    more, _ = make_vectors(unit, exhaustive=False, n_random=8000)
    vectors = {p: np.concatenate([every[p], more[p]]) for p in unit.inputs}
    n = len(vectors["a"])
    resets = [r for r in mid_stream_resets(n, unit.latency, singles=8) if r > 1024]
    assert_ok(run_verilator(unit, vectors, resets=resets, build_dir=rtl_build_dir), n - 100)


@pytest.mark.rtl
@pytest.mark.parametrize("pipeline", [0, 1])
def test_verilog_is_lint_clean(pipeline, tmp_path, verilator) -> None:
    unit = build_unit("ternary-acc", pipeline=pipeline)
    path = write_verilog(unit, tmp_path / f"{unit.name}.v")
    assert lint(path, unit.name) == []


@pytest.mark.rtl
def test_yosys_smaller_than_the_int8_mac(yosys, rtl_build_dir) -> None:
    """No multiplier: the ternary PE is smaller than an int8 MAC with the same accumulator."""
    tern = synthesize(build_unit("ternary-acc", acc=24), families=(), build_dir=rtl_build_dir)
    mac = synthesize(build_unit("int-mac", format="int8", acc=24), families=(),
                     build_dir=rtl_build_dir)
    assert 0 < tern.transistors < mac.transistors


@pytest.mark.parametrize(("kw", "needle"), [
    ({"format": "fp8_e4m3fn"}, "signed integer format"),
    ({"format": "uint8"}, "signed integer format"),
    ({"format": "int32"}, "int2..int16"),
    ({"acc": 8}, "9..64 bits"),
    ({"acc": "wide"}, "9..64 bits"),
    ({"pipeline": 2}, "deeper than the logic"),
])
def test_bad_parameters(kw, needle) -> None:
    with pytest.raises(HwsimError, match=needle):
        build_unit("ternary-acc", **kw)
