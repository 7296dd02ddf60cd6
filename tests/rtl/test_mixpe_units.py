"""The MixPE PE (``mixpe``, int8 and fp16 activations) and the per-element-dequantise MAC it
replaces (``dequant-mac``) bit for bit against the golden model :mod:`hwsim.numerics.mixpe` in
PyRTL and in Verilator through cocotb (every weight code x every zero point x corner
activations and scales, then random streams with resets), the two circuits against each other,
lint under ``verilator -Wall``, and Yosys: the PE without its own dequantiser beside the
baseline."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hwsim.errors import HwsimError
from hwsim.numerics.mixpe import dequant_fp16, fp16_fixed, mixpe_stream, round_fp32
from rtl.export import lint, write_verilog
from rtl.pyrtl_sim import simulate_pyrtl, verify_pyrtl
from rtl.synth import synthesize
from rtl.unit import build_unit
from rtl.verify.vectors import make_vectors
from tests.rtl.unit_helpers import assert_ok, mid_stream_resets, run_verilator

ACT_CORNERS = (0x80, 0x81, 0xFF, 0x00, 0x01, 0x7F)  # -128, -127, -1, 0, 1, 127
SCALE_CORNERS = (0, 1, 0x80, 0xFF)
# fp16: +-0, the smallest and largest subnormals, the smallest and largest normals, 1.0 and
# -1.5, and inf / NaN (outside the golden model's domain: the unit reads them as zero)
FP16_CORNERS = (0x0000, 0x8000, 0x0001, 0x83FF, 0x0400, 0x8400, 0x7BFF, 0xFBFF, 0x3C00,
                0xBE00, 0x7C00, 0xFE00)
FP16_SCALES = (0x0000, 0x8000, 0x0001, 0x3C00, 0x7BFF, 0xFBFF, 0x2E66, 0x7C00)
# dequant-mac: scales whose weights stay finite (an inf or NaN weight makes the rest of the
# fp32 sum NaN); the weight's overflow and specials have their own test
DEQUANT_FP16_SCALES = (0x0000, 0x8000, 0x0001, 0x83FF, 0x0400, 0x3C00, 0x2E66, 0xDBFF)
FINITE_SMALL = 0xBFFF  # masks a random fp16 code to |x| < 2 (finite)


def every_weight(unit, seed: int = 0, n_random: int = 3000) -> dict[str, np.ndarray]:
    """Every (weight code, zero point) pair against every corner activation and scale (fp16:
    against every corner activation, the scale corners taken in turn), the combinations
    shuffled so that groups mix them, then ``n_random`` random vectors."""
    wb = unit.inputs["b"]
    fp16_dequant = unit.params["format"] == "fp16" and unit.unit == "dequant-mac"
    if unit.params["format"] == "fp16":
        scales = DEQUANT_FP16_SCALES if fp16_dequant else FP16_SCALES
        rows = [(q, z, a, scales[i % len(scales)]) for i, (q, z, a) in enumerate(
            itertools.product(range(1 << wb), range(1 << wb), FP16_CORNERS))]
    else:
        rows = list(itertools.product(range(1 << wb), range(1 << wb), ACT_CORNERS,
                                      SCALE_CORNERS))
    rng = np.random.default_rng(seed)
    rng.shuffle(rows)
    cols = np.array(rows, dtype=np.uint64).T
    out = {"b": cols[0], "z": cols[1], "a": cols[2], "s": cols[3]}
    if "s" not in unit.inputs:  # the shared dequantiser: no scale port
        out.pop("s")
    more, _ = make_vectors(unit, exhaustive=False, n_random=n_random, seed=seed)
    if fp16_dequant:
        more["s"] &= FINITE_SMALL
    return {p: np.concatenate([out[p], more[p]]) for p in unit.inputs}


def test_reference_by_hand() -> None:
    """Group of 2: (3 - 1) * 5 + (0 - 1) * -2 = 12, times scale 3 = 36, then 36 + 2 * (2 - 1)
    * 7 * 4 ... the second group starts at cycle 2."""
    unit = build_unit("mixpe", group=2)
    ins = {"a": np.array([5, 0xFE, 7, 0]), "b": np.array([3, 0, 2, 1]),
           "s": np.array([9, 3, 9, 4]), "z": np.array([9, 1, 9, 1])}
    # group 0 reads s=3, z=1 on its last cycle; group 1: (2-1)*7 + (1-1)*0 = 7, times 4
    assert unit.reference(ins).tolist() == [0, 36, 36, 36 + 28]
    shared = build_unit("mixpe", group=2, dequant="shared")
    assert shared.reference(ins).tolist() == [0, 12, 12, 7]
    assert "s" not in shared.inputs and shared.outputs["y"] == 8 + 4 + 2 + 2


def test_fp16_reference_by_hand() -> None:
    """Group of 2, fp16: 3 * 1.0 + 0 * -0.5 = 3, minus z=1 times (1.0 - 0.5): r = 2.5, times
    the scale 2.0 = 5.0; the next group: (1 - 2) * 2**-24 (the smallest subnormal) times 1.0.
    An inf activation reads as zero."""
    unit = build_unit("mixpe", format="fp16", group=2)
    ins = {"a": np.array([0x3C00, 0xB800, 0x0001, 0x7C00]), "b": np.array([3, 0, 1, 9]),
           "s": np.array([0, 0x4000, 0, 0x3C00]), "z": np.array([0, 1, 0, 2])}
    want = np.float32([0.0, 5.0, 5.0, 5.0 - 2.0 ** -24]).view(np.uint32)
    assert unit.reference(ins).tolist() == want.tolist()
    shared = build_unit("mixpe", format="fp16", group=2, dequant="shared")
    assert shared.reference(ins).tolist() == [0, int(2.5 * 2 ** 24), int(2.5 * 2 ** 24),
                                              (1 << shared.outputs["y"]) - 1]
    assert shared.outputs["y"] == 41 + 4 + 2 + 2


def test_fp16_shared_reference_dequantised_is_the_golden_stream() -> None:
    """The shared PE's ``r`` stream (its reference, built here from the golden model's decode
    and shift-and-add), dequantised once per group as the golden model defines it (``s * r``
    rounded once to fp32, fp32 accumulation), is the golden MixPE stream."""
    rng = np.random.default_rng(1)
    n, group = 4000, 8
    a = rng.integers(0, 0x7C00, n) | (rng.integers(0, 2, n) << 15)  # finite fp16 codes
    q, z = rng.integers(0, 16, n), rng.integers(0, 16, n)
    s = rng.integers(0, 0x7C00, n) | (rng.integers(0, 2, n) << 15)
    r = build_unit("mixpe", format="fp16", group=group, dequant="shared").reference(
        {"a": a, "b": q, "z": z})
    width = 41 + 4 + 4 + 2
    r = np.where(r >> (width - 1), r.astype(np.int64) - (1 << width), r.astype(np.int64))
    acc, want = np.float32(0.0), []
    for t in range(n):
        if t % group == group - 1:
            acc = np.float32(acc + round_fp32(int(fp16_fixed([s[t]])[0]) * int(r[t]), -48))
        want.append(int(acc.view(np.uint32)))
    got = mixpe_stream(a, q, s, z, group=group, act="fp16")
    assert got.tolist() == want and len(set(want)) > n // group // 2


@pytest.mark.parametrize("kw", [
    {"group": 4},
    {"group": 3, "weight_bits": 2, "pipeline": 1},
    {"group": 128, "acc": 20},
    {"group": 5, "dequant": "shared", "pipeline": 1},
    {"format": "fp16", "group": 4},
    {"format": "fp16", "group": 3, "weight_bits": 2, "pipeline": 1},
    {"format": "fp16", "group": 5, "dequant": "shared"},
])
def test_pyrtl_mixpe_every_weight_then_resets(kw) -> None:
    unit = build_unit("mixpe", **kw)
    vectors = every_weight(unit)
    n = len(vectors["a"])
    resets = [r for r in mid_stream_resets(n, unit.latency, singles=6) if r > n // 3]
    assert_ok(verify_pyrtl(unit, vectors, resets=resets), n // 2)


@pytest.mark.parametrize("kw", [{}, {"weight_bits": 2, "pipeline": 1, "acc": 18},
                                {"format": "fp16"}, {"format": "fp16", "weight_bits": 2,
                                                     "pipeline": 1}])
def test_pyrtl_dequant_mac_every_weight(kw) -> None:
    unit = build_unit("dequant-mac", **kw)
    vectors = every_weight(unit)
    n = len(vectors["a"])
    resets = [r for r in mid_stream_resets(n, unit.latency, singles=6) if r > n // 3]
    assert_ok(verify_pyrtl(unit, vectors, resets=resets), n // 2)
    if unit.params["format"] == "fp16":  # a real fp32 sum: no inf or NaN, not stuck
        y = unit.reference(vectors).astype(np.uint32).view(np.float32)
        assert np.isfinite(y).all() and len(np.unique(y)) > n // 20


def test_pyrtl_dequant_mac_fp16_weight_overflow_and_specials() -> None:
    """``fp16(s * (q - z))`` where it overflows to inf, rounds, or meets an inf / NaN scale
    (inf x 0 is NaN), each vector its own one-element sum (a reset before it), so ``y`` is
    the weight times the activation, compared bit for bit (any NaN matches any NaN)."""
    unit = build_unit("dequant-mac", format="fp16")
    rows = list(itertools.product(range(16), range(16), (0x3C00, 0x0001, 0xB800),
                                  (0x7BFF, 0x5BFF, 0x7C00, 0xFC00, 0x7E00, 0x0001, 0x83FF)))
    cols = np.array(rows, dtype=np.uint64).T
    vectors = {p: np.zeros(2 * len(rows), dtype=np.uint64) for p in "abzs"}
    for p, col in zip("bzas", cols, strict=True):
        vectors[p][1::2] = col
    result = verify_pyrtl(unit, vectors, resets=list(range(0, 2 * len(rows), 2)))
    assert_ok(result, len(rows))
    with np.errstate(over="ignore", invalid="ignore"):
        w = dequant_fp16(cols[3], cols[0].astype(np.int64), cols[1].astype(np.int64))
    assert np.isnan(w).sum() >= 32 and np.isinf(w).sum() >= 200  # the cases are reached


@pytest.mark.parametrize("wb", [2, 4])
def test_the_two_circuits_agree_with_one_element_groups(wb) -> None:
    """With a group of one element MixPE's dequantise-per-group is dequantise-per-element:
    the two netlists give the same accumulator on the same stream (no golden model here)."""
    mix = build_unit("mixpe", group=1, weight_bits=wb)
    base = build_unit("dequant-mac", weight_bits=wb)
    vectors = every_weight(mix, seed=3, n_random=1000)
    got = simulate_pyrtl(mix, vectors)
    want = simulate_pyrtl(base, vectors)
    assert len(got) == len(vectors["a"]) + 1 and np.array_equal(got, want)
    assert len(np.unique(got)) > 1000  # a real stream, not a constant


@pytest.mark.rtl
@pytest.mark.parametrize(("name", "kw"), [
    ("mixpe", {"group": 8, "pipeline": 1}),
    ("mixpe", {"group": 32, "weight_bits": 2, "dequant": "shared"}),
    ("dequant-mac", {"pipeline": 1}),
    ("mixpe", {"format": "fp16", "group": 8, "pipeline": 1}),
    ("dequant-mac", {"format": "fp16"}),
])
def test_verilator_bit_for_bit(name, kw, rtl_build_dir) -> None:
    unit = build_unit(name, **kw)
    vectors = every_weight(unit, n_random=20_000)
    n = len(vectors["a"])
    resets = [r for r in mid_stream_resets(n, unit.latency, singles=8) if r > n // 3]
    assert_ok(run_verilator(unit, vectors, resets=resets, build_dir=rtl_build_dir), n // 2)


@pytest.mark.rtl
@pytest.mark.parametrize(("name", "kw"), [
    ("mixpe", {"weight_bits": 2}), ("mixpe", {"dequant": "shared", "pipeline": 1}),
    ("dequant-mac", {}), ("mixpe", {"format": "fp16", "dequant": "shared", "group": 32}),
    ("dequant-mac", {"format": "fp16", "pipeline": 1}),
])
def test_verilog_is_lint_clean(name, kw, tmp_path, verilator) -> None:
    unit = build_unit(name, **kw)
    path = write_verilog(unit, tmp_path / f"{unit.name}.v")
    assert lint(path, unit.name) == []


@pytest.mark.rtl
def test_yosys_mixpe_without_its_dequantiser_is_smaller_than_the_baseline(
        yosys, rtl_build_dir) -> None:
    """Shift-and-add group sums (the dequantiser shared) against a per-element dequantise
    MAC, both W4A8 with a 32-bit accumulator."""
    mix = synthesize(build_unit("mixpe", dequant="shared"), families=(),
                     build_dir=rtl_build_dir)
    base = synthesize(build_unit("dequant-mac"), families=(), build_dir=rtl_build_dir)
    assert 0 < mix.transistors < base.transistors


@pytest.mark.parametrize(("name", "kw", "needle"), [
    ("mixpe", {"weight_bits": 3}, "weight bits must be one of 2, 4, got 3"),
    ("mixpe", {"format": "fp16", "acc": 24}, "fp16 activations accumulate in fp32"),
    ("dequant-mac", {"format": "fp16", "acc": "bf16"}, "fp16 activations accumulate in fp32"),
    ("mixpe", {"format": "int4"}, "activations must be one of int8, fp16"),
    ("mixpe", {"group": 0}, r"group size must be an integer in 1..4096"),
    ("mixpe", {"dequant": "row"}, "dequant must be one of pe, shared"),
    ("mixpe", {"acc": 12}, "16..64 bits"),
    ("mixpe", {"pipeline": 2}, "deeper than the logic"),
    ("dequant-mac", {"weight_bits": 8}, "weight bits must be one of 2, 4, got 8"),
])
def test_bad_parameters(name, kw, needle) -> None:
    with pytest.raises(HwsimError, match=needle):
        build_unit(name, **kw)
