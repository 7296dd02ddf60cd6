"""PE kinds of the systolic array (:mod:`hwsim.devices.systolic.pe_kinds`): each takes only its
precisions (one clear error otherwise), prices its MACs by its rows of the cost dataset (read
here independently with pandas), counts its dequantisations, and weights narrower than the
activations are packed in SRAM and DRAM traffic."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from costmodel.data import shipped_path
from costmodel.provider import get_provider
from hwsim.devices.systolic import SystolicSpec
from hwsim.devices.systolic.device import run
from hwsim.errors import HwsimError
from workloads import Graph, MatMul, OpFormats

DESIGNS = pd.read_csv(shipped_path("designs.csv")).set_index("module")


def gemm(m: int, k: int, n: int, x: str = "int8", w: str = "int4") -> Graph:
    op = MatMul(name="gemm", a_shape=(m, k), b_shape=(k, n),
                fmt=OpFormats(x=x, w=w, y=x, acc="int32" if x == "int8" else "fp32"))
    return Graph(f"gemm {m}x{k}x{n}", (op,))


def test_unknown_kind_and_bad_group_are_one_error_each() -> None:
    with pytest.raises(HwsimError, match="unknown PE kind 'systolic-ish'; known: mac, mixpe"):
        SystolicSpec(pe="systolic-ish")
    with pytest.raises(HwsimError, match="pe_group must be a positive integer"):
        SystolicSpec(pe="mixpe", pe_group=0)
    SystolicSpec(pe="int8-dsp")  # the FPGA presets' labels stay valid


@pytest.mark.parametrize(("pe", "x", "w", "needle"), [
    ("mixpe", "int8", "int8", "takes weights in int2, int4, not int8"),
    ("mixpe", "bf16", "int4", "takes activations in int8, fp16, not bf16"),
    ("dequant-mac", "int8", "fp8_e4m3fn", "takes weights in int2, int4"),
    ("ternary-acc", "int8", "int4", "takes weights in int2, not int4"),
    ("olive-decode", "int8", "int4", "takes weights in olive4, olive8"),
])
def test_precisions_a_pe_does_not_take(pe, x, w, needle) -> None:
    with pytest.raises(HwsimError, match=needle):
        run(SystolicSpec(pe=pe), gemm(32, 256, 32, x, w))


def test_mixpe_group_must_divide_k() -> None:
    with pytest.raises(HwsimError, match="group size 128 does not divide the reduction "
                                         "length K=192"):
        run(SystolicSpec(pe="mixpe"), gemm(32, 192, 32))
    run(SystolicSpec(pe="mixpe", pe_group=32), gemm(32, 192, 32))  # 32 divides 192


@pytest.mark.parametrize(("pe", "w", "module"), [
    ("mixpe", "int4", "mixpe_int8_w4_g128_acc32_p0"),
    ("mixpe", "int2", "mixpe_int8_w2_g128_acc32_p0"),
    ("dequant-mac", "int4", "dequant_mac_int8_w4_acc32_p0"),
    ("ternary-acc", "int2", "ternary_acc_int8_acc24_p0"),
])
def test_mac_energy_is_the_units_dataset_row(pe, w, module) -> None:
    g = gemm(64, 256, 64, w=w)
    base = run(SystolicSpec(), g)
    r = run(SystolicSpec(pe=pe), g)
    per_mac = r.energy_pj["mac"] / r.macs
    assert per_mac == pytest.approx(DESIGNS.loc[module, "energy_pj"], rel=1e-12)
    assert per_mac != pytest.approx(base.energy_pj["mac"] / base.macs, rel=1e-3)
    # the PEs dequantise in their pipeline: the same cycles as the plain MAC array
    assert r.total_cycles == base.total_cycles


def test_pe_area_through_the_cost_seam() -> None:
    from costmodel.provider import Op
    from hwsim.devices.systolic.pe_kinds import PeCosts

    base = get_provider("analytical")
    pc = PeCosts(base, SystolicSpec(pe="dequant-mac"))
    got = pc.mac_area("int8", "int2")
    assert got.value == DESIGNS.loc["dequant_mac_int8_w2_acc32_p0", "transistors"]
    assert "dequant_mac_int8_w2_acc32_p0" in got.source
    assert pc.mac_area("fp16", "int4").value == DESIGNS.loc["dequant_mac_fp16_w4_fp32_p0",
                                                            "transistors"]
    # a plain MAC query (no weight format) is the base provider's
    assert pc.area(Op("mac", "fp16")).value == base.area(Op("mac", "fp16")).value


def test_olive_decoder_share_is_one_per_column_of_rows_pes() -> None:
    spec = SystolicSpec(pe="olive-decode", rows=16, cols=16)
    r = run(spec, gemm(64, 256, 64, w="olive4"))
    want = (DESIGNS.loc["int_mac_int8_acc32_p0", "energy_pj"]
            + DESIGNS.loc["olive_decode_olive4_p0", "energy_pj"] / 16)
    assert r.energy_pj["mac"] / r.macs == pytest.approx(want, rel=1e-12)


def test_dequantisations_are_counted_per_group_or_per_element() -> None:
    g = gemm(64, 512, 64)
    macs = 64 * 512 * 64
    mix = run(SystolicSpec(pe="mixpe", pe_group=32), g)
    base = run(SystolicSpec(pe="dequant-mac"), g)
    assert any(f"{macs // 32:,} weight dequantisations (one per group of 32" in n
               for n in mix.notes)
    assert any(f"{macs:,} weight dequantisations (one per MAC)" in n for n in base.notes)
    assert "PE mixpe (groups of 32)" in mix.device


@pytest.mark.parametrize(("pe", "w", "module"), [
    ("mixpe", "int4", "mixpe_fp16_w4_g128_fp32_p0"),
    ("mixpe", "int2", "mixpe_fp16_w2_g128_fp32_p0"),
    ("dequant-mac", "int4", "dequant_mac_fp16_w4_fp32_p0"),
    ("dequant-mac", "int2", "dequant_mac_fp16_w2_fp32_p0"),
])
def test_fp16_activations_are_priced_by_the_fp16_rows(pe, w, module) -> None:
    r = run(SystolicSpec(pe=pe), gemm(64, 256, 64, x="fp16", w=w))
    assert r.energy_pj["mac"] / r.macs == pytest.approx(DESIGNS.loc[module, "energy_pj"],
                                                        rel=1e-12)
    assert module in r.energy_source or "pe:" in r.energy_source


def test_w4a16_mixpe_and_dequant_mac_differ() -> None:
    g = gemm(64, 256, 64, x="fp16")
    mix, deq = (run(SystolicSpec(pe=pe), g).energy_pj["mac"] for pe in ("mixpe", "dequant-mac"))
    want = (DESIGNS.loc["mixpe_fp16_w4_g128_fp32_p0", "energy_pj"]
            / DESIGNS.loc["dequant_mac_fp16_w4_fp32_p0", "energy_pj"])
    assert mix / deq == pytest.approx(want, rel=1e-12)
    assert abs(mix / deq - 1) > 0.01


def test_missing_row_is_one_error_naming_the_rows() -> None:
    with pytest.raises(HwsimError, match=r"no row for fp16 activations x int2 weights, group "
                                         r"64, dequantiser 'pe'; it has .*fp16 int4 group 128"):
        run(SystolicSpec(pe="mixpe", pe_group=64), gemm(64, 256, 64, x="fp16", w="int2"))


def test_macs_are_priced_by_activation_and_weight_format() -> None:
    """Two ops with int8 activations and int4 / int2 weights: each op's MACs at its own row
    (the pricing once took the first weight format met per activation format)."""
    ops = tuple(MatMul(name=f"w{b}", a_shape=(32, 256), b_shape=(256, 32),
                       fmt=OpFormats(x="int8", w=f"int{b}", y="int8", acc="int32"))
                for b in (4, 2))
    from costmodel.provider import Op

    r = run(SystolicSpec(pe="mixpe"), Graph("two weights", ops))
    per = {o.name: o.energy_pj for o in r.ops}
    base = {o.name: o.energy_pj for o in run(SystolicSpec(), Graph("two", ops)).ops}
    macs, mac = 32 * 256 * 32, get_provider("analytical").energy_pj(Op("mac", "int8"))
    for b in (4, 2):
        row = DESIGNS.loc[f"mixpe_int8_w{b}_g128_acc32_p0", "energy_pj"]
        # the op's energy differs from the plain array's by its MACs' price only
        assert per[f"w{b}"] - base[f"w{b}"] == pytest.approx(macs * (row - mac), rel=1e-9)


def test_ops_without_weights_run_in_the_plain_mac_mode() -> None:
    """Attention (activations x activations) on a MixPE array: same cycles as a MAC array,
    priced as the MAC of its format, named in the op's detail and the notes; the
    dequantisations count the weighted MACs only."""
    from workloads import Attention

    att = Attention(name="sdpa", batch=1, heads=4, kv_heads=4, q_len=32, kv_len=64, head_dim=64,
                    fmt=OpFormats(x="int8", w="int8", y="int8", acc="int32"))
    lin = MatMul(name="proj", a_shape=(32, 256), b_shape=(256, 256),
                 fmt=OpFormats(x="int8", w="int4", y="int8", acc="int32"))
    g = Graph("attention + projection", (att, lin))
    mix, plain = run(SystolicSpec(pe="mixpe"), g), run(SystolicSpec(), g)
    assert mix.total_cycles == plain.total_cycles
    assert mix.ops[0].energy_pj == pytest.approx(plain.ops[0].energy_pj, rel=1e-12)
    assert "plain MAC mode" in mix.ops[0].detail and "int8 MAC" in mix.ops[0].detail
    assert f"{mix.ops[0].macs:,} MACs of 1 ops" in " ".join(mix.notes)
    assert any(f"{32 * 256 * 256 // 128:,} weight dequantisations" in n for n in mix.notes)


def test_high_precision_lm_head_is_priced_as_its_wider_operand() -> None:
    from costmodel.provider import Op

    head = MatMul(name="lm_head", a_shape=(8, 256), b_shape=(256, 512), b_kind="hp",
                  fmt=OpFormats(x="int8", w="fp16", y="int8", acc="int32"))
    r = run(SystolicSpec(pe="dequant-mac"), Graph("head", (head,)))
    fp16 = get_provider("analytical").energy_pj(Op("mac", "fp16"))
    assert r.energy_pj["mac"] / r.macs == pytest.approx(fp16, rel=1e-12)
    assert "fp16 MAC" in r.ops[0].detail


@pytest.mark.parametrize("pe", ["mixpe", "dequant-mac"])
@pytest.mark.parametrize("precision", ["w4a8", "w4a16"])
@pytest.mark.parametrize(("phase", "size"), [("prefill", {"seq": 64}),
                                             ("decode", {"kv_len": 64})])
def test_llama2_7b_runs_end_to_end(pe, precision, phase, size) -> None:
    """A LLaMA-2-7B block (attention included) runs on a low-bit-weight PE array in the MAC
    array's cycles; its MAC energy is each op's MACs at its price: the unit's row for the
    quantised projections, the provider's MAC for attention."""
    from costmodel.provider import Op
    from workloads import build_workload

    g = build_workload("llama2-7b", phase=phase, precision=precision, blocks=1, **size)
    r, plain = run(SystolicSpec(pe=pe), g), run(SystolicSpec(), g)
    assert r.macs == plain.macs and r.total_cycles == plain.total_cycles
    act = "int8" if precision == "w4a8" else "fp16"
    row = (f"mixpe_{act}_w4_g128_{'acc32' if act == 'int8' else 'fp32'}_p0" if pe == "mixpe"
           else f"dequant_mac_{act}_w4_{'acc32' if act == 'int8' else 'fp32'}_p0")
    analytical = get_provider("analytical")
    want = 0.0
    for op in r.ops:
        src = next(o for o in g.ops if o.name == op.name)
        if not op.macs:
            continue
        if getattr(src, "w_kind", None) == "weight":
            want += op.macs * DESIGNS.loc[row, "energy_pj"]
        else:
            wider = max((src.fmt.x, src.fmt.w), key=lambda f: int("".join(filter(
                str.isdigit, f))))
            want += op.macs * analytical.energy_pj(Op("mac", wider))
    assert r.energy_pj["mac"] == pytest.approx(want, rel=1e-9)
    assert any("plain MAC mode" in n for n in r.notes)


def test_narrow_weights_are_packed_in_dram_traffic() -> None:
    """A GEMM whose operands each fit their SRAM is read from DRAM once: int4 weights move
    half the bytes of int8 ones, int2 a quarter (K x N weights, K x N / 2 bytes at int4)."""
    m, k, n = 64, 256, 64
    spec = SystolicSpec(bandwidth_words=8.0)
    moved = {w: run(spec, gemm(m, k, n, w=w)).bytes_moved["dram"] for w in ("int8", "int4", "int2")}
    assert moved["int8"] - moved["int4"] == k * n // 2
    assert moved["int8"] - moved["int2"] == k * n * 3 // 4
    # and the cached piece of the int8 run is not reused for the int4 one (same shape)
    assert run(spec, gemm(m, k, n, w="int8")).bytes_moved["dram"] == moved["int8"]
    # a memory-bound decode GEMM waits less for packed weights
    cyc = {w: run(spec, gemm(1, 4096, 256, w=w)).total_cycles for w in ("int8", "int4")}
    assert cyc["int4"] < 0.6 * cyc["int8"]


def test_packed_filter_sram_holds_more_weights() -> None:
    """The filter SRAM's words are sized by the weight's bits; the others by the word's."""
    from hwsim.devices.systolic.array import _halves

    spec = SystolicSpec(sram_kb=(64, 8, 64))
    h8, h2 = _halves(spec, 8), _halves(spec, 8, 2)
    assert h2[1] == 4 * h8[1] == 4 * 8 * 1024 // 2 and (h2[0], h2[2]) == (h8[0], h8[2])


def test_default_spec_is_unchanged_by_the_pe_field() -> None:
    spec = SystolicSpec()
    assert spec.pe == "mac" and spec.pe_group == 128
    assert "PE" not in spec.describe()
    assert dataclasses.replace(spec, pe="mac") == spec


# MixPE's abstract (arXiv 2411.16158): 2.6x speedup and 1.4x energy reduction over prior
# quantisation accelerators; tolerance fixed before measuring (sim_results/mixpe): +-25%.
# Our baseline is the per-element dequantise MAC; one LLaMA-2-7B 4096 x 4096 projection at
# prefill (M = 2048), W4A8 and W4A16, group 128.
CLAIM_TOL = 0.25
ACC = {"int8": "acc32", "fp16": "fp32"}


def _prefill_projection(x: str) -> Graph:
    return gemm(2048, 4096, 4096, x=x)


def _iso_area_rows(x: str) -> int:
    """Rows of 32-column MixPE PEs (dequantiser shared per row) in a 32x32 dequant-mac
    array's PE area."""
    t = DESIGNS.transistors
    pe = t[f"mixpe_{x}_w4_g128_shared_p0"]
    deq = t[f"mixpe_{x}_w4_g128_{ACC[x]}_p0"] - pe
    return int(32 * 32 * t[f"dequant_mac_{x}_w4_{ACC[x]}_p0"] // (32 * pe + deq))


@pytest.mark.parametrize("x", ["int8", "fp16"])
def test_mixpe_energy_claim_at_prefill(x) -> None:
    """W4A8 1.14x, W4A16 1.07x (the MACs 3.3x / 1.8x apart, SRAM and DRAM energy equal)."""
    g = _prefill_projection(x)
    ratio = (run(SystolicSpec(pe="dequant-mac"), g).energy_total_pj
             / run(SystolicSpec(pe="mixpe"), g).energy_total_pj)
    assert (1 - CLAIM_TOL) * 1.4 <= ratio <= (1 + CLAIM_TOL) * 1.4, ratio


@pytest.mark.parametrize("x", [
    pytest.param("int8", marks=pytest.mark.xfail(
        strict=True, reason="MixPE's 2.6x speedup (+-25%) is not reproduced against a "
        "per-element dequantise MAC at W4A8: 1.36x at iso-area on a compute-bound prefill "
        "projection (44x32 vs 32x32 PEs), 1.00x at equal PE count (neither PE adds cycles)")),
    pytest.param("fp16", marks=pytest.mark.xfail(
        strict=True, reason="MixPE's 2.6x speedup (+-25%) is not reproduced at W4A16: the "
        "fp16 MixPE PE (exact 41-bit group sums) is larger than the fp16 dequantise MAC, so "
        "26x32 PEs fit in the 32x32 array's area: 0.81x on a compute-bound prefill "
        "projection")),
])
def test_mixpe_speedup_claim_at_iso_area(x) -> None:
    g = _prefill_projection(x)
    speedup = (run(SystolicSpec(pe="dequant-mac"), g).total_cycles
               / run(SystolicSpec(pe="mixpe", rows=_iso_area_rows(x)), g).total_cycles)
    assert (1 - CLAIM_TOL) * 2.6 <= speedup <= (1 + CLAIM_TOL) * 2.6, speedup
