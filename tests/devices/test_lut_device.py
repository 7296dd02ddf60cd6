"""LUT tensor cores (Mo et al., LUT Tensor Core, arXiv 2408.06003) as devices: the GPU's
``h100-lut``/``a100-lut`` what-ifs and the standalone ``lut`` array.

Most tests here check the device models' own rules against a table they are handed, so they
hold for any synthesised areas: TEMP_TABLE below is a TEMPORARY stand-in in the schema of
``hwsim/data/lut_unit_yosys.yaml`` (written by sim_results/lut_tensor_core/synth_units.py),
made up for these tests and never shipped as data. The published-figure check at the end
uses the shipped table.

Tolerances, fixed before measuring:
- bit-serial: on the LUT array a compute-bound GEMM's W4 / W2 time is 2 to 1% (only the
  tile rounding and the DRAM stream, which is hidden, differ); on the GPU 2 to 5% (launch
  and pipeline fill, about 1-3% of a 8192^3 kernel, do not scale with the planes).
- h100-lut vs h100 on a compute-bound mpGEMM: the time ratio is the LUT-vs-MAC rate ratio the
  table implies, to 5% (same launch/fill argument).
- the paper's end-to-end BitNet speedup: within a factor 1.5 (our GPU is a tile-level model
  and our areas are Yosys generic-gate counts, not the paper's 28 nm Design Compiler areas).
"""

from __future__ import annotations

import json
import math

import pytest

import hwsim.devices.lut.units as units
from hwsim.api import simulate
from hwsim.cli import main
from hwsim.devices import get_device, run
from hwsim.devices.lut.precompute import plan_precompute
from hwsim.devices.lut.units import lut_vs_mac, planes, rows_of
from hwsim.engine.lowering import lower_op
from hwsim.errors import HwsimError
from hwsim.sourced import parse_table
from workloads import LLM_CONFIGS, MatMul, Norm, OpFormats, Precision, build_workload


def _e(value, unit="parameter"):
    return {"value": value, "unit": unit, "source": "TEMPORARY test table, not data"}


def _temp_table(m=2, n=64, k=4):
    """TEMPORARY: made-up LUT/MAC rows (LUT tile m x n x k; MAC slice of equal throughput),
    in synth_units.py's schema: 2 ops per product, bit-serial ops_per_cycle."""
    entries = {}
    for act, lut_t, mac_t, e_lut, e_mac in (("int8", 120.0, 300.0, 0.02, 0.15),
                                            ("fp16", 200.0, 900.0, 0.06, 0.5)):
        for b in (1, 2, 4):
            ops = 2 * m * n * k / b
            tile = {"weight_bits": _e(b), "act_format": _e(act), "M": _e(m), "N": _e(n),
                    "K": _e(k), "cells": _e(1000, "cells"),
                    "critical_path_ps": _e(900.0, "ps"),
                    "ops_per_cycle": _e(ops, "ops/cycle")}
            entries[f"lut_w{b}_{act}_m{m}n{n}k{k}"] = {
                **tile, "area_transistors": _e(m * n * k * lut_t, "transistors"),
                "energy_pj_per_op": _e(e_lut * b, "pJ/op")}
            entries[f"mac_w{b}_{act}_m{m}n{n}k{k}"] = {
                **tile, "area_transistors": _e(ops / 2 * mac_t, "transistors"),
                "energy_pj_per_op": _e(e_mac, "pJ/op")}
    return parse_table({"version": 1, "description": "TEMPORARY test table",
                        "entries": entries}, "temporary test table")


TEMP_TABLE = _temp_table()


@pytest.fixture
def temp_table(monkeypatch):
    """The devices read TEMP_TABLE where they would read the shipped Yosys table."""
    monkeypatch.setattr(units, "load_table", lambda pkg, name: TEMP_TABLE)
    return TEMP_TABLE


def _mm(m, k, n, w, x="fp16", name="g"):
    acc = "int32" if x == "int8" else "fp32"
    return MatMul(name=name, a_shape=(m, k), b_shape=(k, n),
                  fmt=OpFormats(x=x, w=w, y=x, acc=acc))


def _gemm(spec, m, k, n, w, x="fp16"):
    """The GEMM's own result, run after a producer (which builds its table)."""
    prod = Norm(name="norm", kind="rmsnorm", shape=(m, k)).with_precision(
        Precision("p", w, x, "int32" if x == "int8" else "fp32"))
    return run(spec, [prod, _mm(m, k, n, w, x)]).ops[1]


# --- the table as the devices read it --------------------------------------------------------


def test_table_ratios_follow_the_rows(temp_table):
    """Density and energy ratios are the rows' own: LUT products per area over MAC's, one
    plane per cycle; energy per product at B planes over the MAC's."""
    for act in ("int8", "fp16"):
        rows = {(r.unit, r.weight_bits): r for r in rows_of(temp_table) if r.act_format == act}
        for b in (1, 2, 4):
            cmp = lut_vs_mac(b, act)
            lut, mac = rows["lut", b], rows["mac", b]
            assert cmp.plane_density == pytest.approx(
                (2 * 64 * 4 / lut.area) / (mac.ops_per_cycle / 2 / mac.area))
            assert cmp.density == pytest.approx(mac.area / lut.area)  # equal-throughput slice
            assert cmp.energy == pytest.approx(lut.energy_pj_per_op / mac.energy_pj_per_op)
    assert [planes(b) for b in (1, 1.58, 2, 3, 4)] == [1, 2, 2, 3, 4]


# --- bit-serial weights ----------------------------------------------------------------------


def test_bit_serial_w4_takes_twice_w2_on_the_lut_array(temp_table):
    spec = get_device("lut-array")
    t = {w: _gemm(spec, 4096, 4096, 4096, w) for w in ("int2", "int4", "uint1")}
    for res in t.values():  # compute-bound: the DRAM stream hides behind the tiles
        assert res.stall_cycles == 0
    assert t["int4"].total_cycles / t["int2"].total_cycles == pytest.approx(2, rel=0.01)
    assert t["int2"].total_cycles / t["uint1"].total_cycles == pytest.approx(2, rel=0.01)
    # the tile count is exact: ceil(M/2) x ceil(N/64) x ceil(K/4) x planes over the tiles
    want = math.ceil(2048 * 64 * 1024 * 2 / spec.tiles)
    assert t["int2"].compute_cycles == want


def test_bit_serial_w4_takes_twice_w2_on_h100_lut(temp_table):
    # L2 made non-binding (a what-if) and int8 tables (the LUT units, not the table reads,
    # bind at W2 as at W4): the GEMM is bound by the LUT units themselves. Where the table
    # reads bind (narrow LUT tiles, fp16 tables), W4/W2 falls below 2: the reads do not
    # scale with the planes.
    spec = get_device("h100-lut", l2_gb_s=1e7)
    w2, w4 = (_gemm(spec, 8192, 8192, 8192, w, "int8") for w in ("int2", "int4"))
    assert w2.detail.endswith("compute-bound")
    assert w4.total_cycles / w2.total_cycles == pytest.approx(2, rel=0.05)


def test_h100_lut_vs_h100_on_a_compute_bound_mpgemm(temp_table):
    """The LUT part's time is the MAC part's over the rate ratio the table implies: LUT
    cores on half the tensor-core area at the table's plane density, over the bit-planes."""
    for w, x in (("int2", "int8"), ("int4", "fp16")):
        t = {d: _gemm(get_device(d, l2_gb_s=1e7), 8192, 8192, 8192, w, x).total_cycles
             for d in ("h100", "h100-lut")}
        share = get_device("h100-lut").lut_area_share
        ratio = share * lut_vs_mac(planes(int(w[-1])), x).density
        assert t["h100"] / t["h100-lut"] == pytest.approx(ratio, rel=0.05), (w, x)


def test_h100_lut_runs_bitnet_beside_h100(temp_table):
    g = build_workload("bitnet-b1.58-3b", phase="prefill", seq=256)
    mac, lut = run(get_device("h100"), g), run(get_device("h100-lut"), g)
    lut_ops = [o for o in g.ops if o.OP_TYPE == "matmul" and o.fmt.w == "int2"]
    assert lut_ops and "lut" in lut.energy_pj and "lut" not in mac.energy_pj
    by_name = {r.name: r for r in lut.ops}
    for op in lut_ops:
        assert "(int8)" in by_name[op.name].detail
    # the same MACs are done; the LUT GEMMs' share moved from the MAC price to the LUT one
    assert lut.macs == mac.macs
    assert any("dequantised to int8 in the main loop" in n for n in mac.notes)
    assert any("LUT tensor cores" in n for n in lut.notes)
    # attention keeps the MAC cores left (half the area): its compute-bound kernels slow down
    att = [(a, b) for a, b in zip(mac.ops, lut.ops, strict=True) if a.op_type == "attention"]
    assert all(b.total_cycles > a.total_cycles for a, b in att)


def test_elongated_lut_tiles_reuse_tables(monkeypatch):
    """A table entry is read once per LUT-tile N columns: the paper's elongated 2x64 tile
    reads 16x fewer table bytes than a 32x4 tile of the same products per cycle and area,
    so a GEMM bound by those reads runs faster on it (L2 made non-binding, a what-if)."""
    spec = get_device("h100-lut", l2_gb_s=1e7)
    got = {}
    for tile in ((2, 64, 4), (32, 4, 4)):
        table = _temp_table(*tile)
        monkeypatch.setattr(units, "load_table", lambda pkg, name, t=table: t)
        assert lut_vs_mac(2, "fp16").plane_density == pytest.approx(
            lut_vs_mac(2, "fp16", lambda: TEMP_TABLE).plane_density)
        got[tile] = _gemm(spec, 4096, 4096, 4096, "int2").total_cycles
    assert got[2, 64, 4] < 0.5 * got[32, 4, 4]


# --- the MAC parts' mpGEMM: packed weights, dequantised in the main loop -------------------


def test_mac_mpgemm_reads_packed_weights_and_hides_the_dequantisation():
    """No table needed: on h100 a W4A16 decode GEMV reads int4 weights (a quarter of fp16's
    bytes) and so is never faster than those bytes over HBM's peak (a roofline, NVIDIA's
    datasheet bandwidth) yet well below the fp16 GEMV; a compute-bound W4A16 GEMM runs at the
    fp16 tensor rate (the dequantisation overlaps the MMAs)."""
    h100 = get_device("h100")
    gemv = {w: run(h100, [_mm(1, 8192, 8192, w)]).ops[0] for w in ("fp16", "int4")}
    seconds = gemv["int4"].total_cycles / (h100.clock_mhz * 1e6)
    assert seconds >= 8192 * 8192 * 0.5 / (h100.hbm_gb_s * 1e9)
    assert gemv["int4"].dram_bytes < 0.3 * gemv["fp16"].dram_bytes
    assert gemv["int4"].total_cycles < 0.6 * gemv["fp16"].total_cycles
    # the fp16 tensor peak (the whitepaper's 989.4 TFLOP/s) bounds it from below; above it
    # only the fitted achievable fraction (0.96: +4%), the tail wave (2048 CTAs on 132 SMs:
    # 16 waves for 15.5, +3%), each CTA's epilogue (its 128x256 fp16 tile written after its
    # main loop at its SM's share of HBM: +4%), launch and pipeline fill (~1%): 13% in all
    op = _mm(8192, 8192, 8192, "int4")
    cycles = run(h100, [op]).total_cycles
    ideal = op.macs / (h100.sms * h100.macs_per_sm_cycle("fp16"))
    assert ideal <= cycles <= 1.13 * ideal


# --- the fused table precompute --------------------------------------------------------------


def test_precompute_is_fused_into_the_producer_and_counted_once(temp_table):
    cfg = LLM_CONFIGS["bitnet-b1.58-3b"]
    g = build_workload("bitnet-b1.58-3b", phase="decode", kv_len=64)
    spec = get_device("h100-lut")
    gemms = {op.name: lower_op(op, device="x").gemms for op in g.ops
             if op.OP_TYPE == "matmul" and op.fmt.w == "int2"}
    pre = plan_precompute(g.ops, gemms)
    # one table per activation tensor: q/k/v share attn_norm's, gate/up mlp_norm's
    layer0 = {k: v.consumers for k, v in pre.items() if k.startswith("layers.0.")}
    assert layer0 == {"layers.0.attn_norm": ("layers.0.attn.q_proj", "layers.0.attn.k_proj",
                                             "layers.0.attn.v_proj"),
                      "layers.0.attn.sdpa": ("layers.0.attn.o_proj",),
                      "layers.0.mlp_norm": ("layers.0.mlp.gate_proj", "layers.0.mlp.up_proj"),
                      "layers.0.mlp.swiglu": ("layers.0.mlp.down_proj",)}
    # 8 int8 entries (1 byte) per 4 activations: 2 bytes per activation, once per tensor
    h, inter = cfg.hidden, cfg.intermediate
    assert sum(p.nbytes for p in pre.values()) == cfg.layers * 2 * (3 * h + inter)
    res = run(spec, g)
    by_name = {r.name: r for r in res.ops}
    assert "LUT table precompute fused here" in by_name["layers.0.attn_norm"].detail
    assert "precompute" not in by_name["layers.0.attn.k_proj"].detail
    # the producer pays for it: its HBM bytes grow by exactly its tables
    base = run(get_device("h100"), g)
    b0 = {r.name: r for r in base.ops}
    for name, p in pre.items():
        assert by_name[name].dram_bytes - b0[name].dram_bytes == p.nbytes, name


# --- errors ----------------------------------------------------------------------------------


def test_weights_and_formats_with_no_lut_path_are_clear_errors(temp_table):
    arr = get_device("lut-array")
    with pytest.raises(HwsimError, match=r"weights int8 have no LUT path.*1-4 bits"):
        run(arr, [_mm(64, 64, 64, "int8", "int8")])
    with pytest.raises(HwsimError, match=r"weights fp4_e2m1fn have no LUT path"):
        run(get_device("h100-lut"), [_mm(64, 64, 64, "fp4_e2m1fn")])
    with pytest.raises(HwsimError, match=r"activations fp8_e4m3fn have no LUT path.*int8 or "
                                         "fp16"):
        run(get_device("h100-lut"), [_mm(64, 64, 64, "int4", "fp8_e4m3fn")])
    # wider weights on the LUT GPU run on the MAC tensor cores left, as on any GPU
    res = run(get_device("h100-lut"), [_mm(64, 64, 64, "int8", "int8")])
    assert res.total_cycles > 0 and "lut" not in res.energy_pj
    with pytest.raises(HwsimError, match="lut_area_share must be in"):
        get_device("h100-lut", lut_area_share=1.0)
    with pytest.raises(HwsimError, match="tensor_core 'tpu' is unknown"):
        get_device("h100", tensor_core="tpu")
    with pytest.raises(HwsimError, match=r"tile_k .* must be 1..8"):
        get_device("lut-array", tile_k=9)


def test_cli_side_by_side_and_errors(temp_table, capsys):
    args = ["run", "--workload", "bitnet-b1.58-3b", "--phase", "decode", "--kv-len", "128",
            "--precision", "w1.58a8", "--json"]
    out = {}
    for dev in ("h100", "h100-lut"):
        assert main([*args, "--device", dev]) == 0
        out[dev] = json.loads(capsys.readouterr().out)
    assert "lut" in out["h100-lut"]["energy_pj"] and "lut" not in out["h100"]["energy_pj"]
    assert out["h100"]["macs"] == out["h100-lut"]["macs"]
    assert main(["run", "--device", "lut-array", "--workload", "llama2-7b", "--phase",
                 "decode", "--kv-len", "64", "--precision", "w8a8"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "1-4 bits" in err and "\n" not in err


# --- the paper's end-to-end figure -----------------------------------------------------------


def test_standalone_array_runs_llama_at_w2_and_w4(temp_table):
    for w in ("int2", "int4"):
        p = Precision(f"w{w[-1]}a16", w, "fp16", "fp32")
        res = simulate("lut-array", build_workload("llama2-7b", phase="decode", kv_len=64,
                                                   precision=p))
        assert res.energy_pj["lut"] > 0 and res.total_cycles > 0


# --- the paper's end-to-end figure (the shipped Yosys table) ----------------------------------

#: BitNet b1.58 3B end to end on LUT tensor cores vs the A100 it modifies: 5.51x, quoted by
#: third-party summaries of Mo et al. (arXiv 2408.06003; see the study README: the paper's
#: own evaluation section was not retrieved, nor its phase and batch). Checked on prefill,
#: the compute-bound phase where a tensor core can matter, within a factor 1.5 (fixed before
#: measuring: tile-level GPU model, Yosys generic-gate areas, an assumed area split).
PAPER_BITNET_E2E = 5.51


def _bitnet_prefill_speedup() -> float:
    g = build_workload("bitnet-b1.58-3b", phase="prefill", seq=2048)
    return simulate("a100", g).seconds / simulate("a100-lut", g).seconds


@pytest.mark.xfail(strict=True, reason=(
    "measured miss: BitNet b1.58 3B prefill (2048 tokens) a100-lut vs a100 is 1.16x "
    "(h100-lut vs h100: 0.90x) against at least 5.51x / 1.5 = 3.67x. Half the tensor-core "
    "area to LUT cores (an assumption) at our Yosys W2 x int8 density (3.35x a MAC slice's "
    "products per area) gives the LUT GEMMs 1.68x the MAC int8 rate on A100 (1.38x per kernel "
    "with A100's fitted 23.9 us per-call overhead); on H100 both are L2-bound and the tables "
    "double the A operand's bytes; attention on the MAC cores left runs 1.6-1.75x slower; "
    "the norms carry the fused table precompute. The paper's setting (phase, batch, area "
    "split, 28 nm DC areas) was not retrieved"))
def test_bitnet_end_to_end_speedup_vs_the_paper():
    got = _bitnet_prefill_speedup()
    assert PAPER_BITNET_E2E / 1.5 <= got <= PAPER_BITNET_E2E * 1.5, got
