"""``hwsim rtl``: export, verify, synth, units, and one-line errors for bad input."""

from __future__ import annotations

import json

import pytest

from hwsim.cli import main


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def test_units_lists_int_mac(capsys) -> None:
    rc, out, _ = run(["rtl", "units"], capsys)
    assert rc == 0 and "int-mac" in out and "int-mul" in out


def test_export_writes_module_and_script(tmp_path, capsys) -> None:
    out_v = tmp_path / "mac.v"
    rc, out, _ = run(["rtl", "export", "int-mac", "--format", "int4", "--pipeline", "1",
                      "-o", str(out_v)], capsys)
    assert rc == 0 and "int_mac_int4_acc24_p1" in out
    text = out_v.read_text()
    assert "module int_mac_int4_acc24_p1 (" in text and "input  wire clk" in text
    assert (tmp_path / "mac.ys").is_file()
    rc, _, err = run(["rtl", "export", "int-mac", "--format", "int4", "--pipeline", "1",
                      "-o", str(out_v)], capsys)
    assert rc == 2 and "exists" in err and "--force" in err
    rc, _, _ = run(["rtl", "export", "int-mac", "--format", "int4", "-o", str(out_v),
                    "--force"], capsys)
    assert rc == 0 and "int_mac_int4_acc24_p0" in out_v.read_text()


def test_export_block_dot_nvfp4(tmp_path, capsys) -> None:
    out_v = tmp_path / "bd.v"
    rc, out, _ = run(["rtl", "export", "block-dot", "--format", "nvfp4", "-o", str(out_v)],
                     capsys)
    assert rc == 0 and "block_dot_nvfp4_n16_p0" in out and "sa[8]" in out
    assert "module block_dot_nvfp4_n16_p0 (" in out_v.read_text()


@pytest.mark.parametrize(("argv", "needle"), [
    (["rtl", "export", "int-div"], "unknown RTL unit 'int-div'; known:"),
    (["rtl", "export", "int-mul", "--pipeline", "3"], "deeper than the logic"),
    (["rtl", "export", "int-mul", "--pipeline", "-1"], "not in the range x>=0"),
    (["rtl", "export", "int-mul", "--format", "fp8_e4m3fn"], "signed integer format"),
    (["rtl", "export", "int-mul", "--saturate"], "has no option --saturate"),
    (["rtl", "export", "int-mul", "--block", "16"], "has no option --block"),
    (["rtl", "export", "int-mac", "--acc", "8"], "16..64 bits"),
    (["rtl", "synth", "int-mul", "--family", "stratix"], "unknown FPGA family"),
    (["rtl", "verify", "int-mul", "--random", "0"], "not in the range x>=1"),
    # the LUT units' options: the ranges the generators accept, named in the error
    (["rtl", "export", "lut-mpgemm", "--k", "7"], "K must be an integer 2..6"),
    (["rtl", "export", "lut-mpgemm", "--k", "1"], "K must be an integer 2..6"),
    (["rtl", "synth", "lut-mpgemm", "--weight-bits", "5"], "weight bits must be 1..4"),
    (["rtl", "verify", "lut-mpgemm", "--weight-bits", "0"], "weight bits must be 1..4"),
    (["rtl", "export", "lut-mpgemm", "--format", "bf16"], "has no LUT path; use one of int8"),
    (["rtl", "export", "lut-precompute", "--format", "int4"], "has no LUT path"),
    (["rtl", "export", "lut-mpgemm", "--m", "0"], "M must be a positive integer"),
    (["rtl", "export", "lut-mpgemm", "--m", "64", "--n", "65"], "above 4096 accumulators"),
    (["rtl", "export", "lut-mpgemm", "--k", "x"], "'x' is not a valid integer"),
    (["rtl", "export", "lut-precompute", "--weight-bits", "2"], "has no option --weight-bits"),
    (["rtl", "export", "int-mul", "--k", "4"], "has no option --k"),
    (["rtl", "export", "lut-mpgemm", "--format", "fp16", "--acc", "int32"],
     "accumulator must be one of fp16, fp32"),
])
def test_bad_input_is_one_line_exit_2(argv, needle, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    rc, out, err = run(argv, capsys)
    assert rc == 2, (out, err)
    assert needle in err and err.startswith("error: ") and err.count("\n") == 1


@pytest.mark.rtl
@pytest.mark.parametrize("args, expect", [
    (["int-mul", "--format", "int4"], "256 vectors (exhaustive, {sim}), 0 mismatches"),
    (["block-dot", "--format", "nvfp4", "--block", "16", "--random", "5000"],
     "(random + corner cases, {sim}), 0 mismatches"),
])
def test_verify_prints_vectors_and_mismatches(capsys, verilator, rtl_build_dir, args,
                                              expect) -> None:
    rc, out, _ = run(["rtl", "verify", *args, "--pipeline", "1", "--pyrtl",
                      "--build-dir", str(rtl_build_dir)], capsys)
    assert rc == 0, out
    for sim in ("verilator", "pyrtl"):
        assert expect.format(sim=sim) in out


@pytest.mark.rtl
def test_synth_json(capsys, yosys, rtl_build_dir) -> None:
    rc, out, _ = run(["rtl", "synth", "int-mul", "--format", "int4", "--family", "ice40",
                      "--json", "--build-dir", str(rtl_build_dir)], capsys)
    assert rc == 0
    report = json.loads(out)
    assert report["unit"] == "int_mul_int4_p0"
    assert report["cmos_cells_total"] > 0 and report["fpga"]["ice40"]["luts"] > 0
    assert report["transistors"] > 0 and report["logic_depth"] > 0
    assert report["pyrtl_area_mm2"] > 0 and report["pyrtl_delay_ps"] > 0
    rc, out, _ = run(["rtl", "synth", "int-mul", "--format", "int4", "--family", "ice40",
                      "--build-dir", str(rtl_build_dir)], capsys)
    assert rc == 0 and "ice40:" in out and "transistors" in out


def test_export_lut_mpgemm_takes_its_tile_options(tmp_path, capsys) -> None:
    """K, M, N, weight bits, format and accumulator reach the generator: the module's ports are
    the tile's (M tables of 2^(K-1) entries, N weight planes of K bits, a plane index of
    ceil(log2 B) bits), the accumulator width the one asked for."""
    out_v = tmp_path / "lut.v"
    rc, out, _ = run(["rtl", "export", "lut-mpgemm", "--k", "3", "--m", "2", "--n", "3",
                      "--weight-bits", "4", "--acc", "24", "-o", str(out_v), "--json"], capsys)
    assert rc == 0, out
    rep = json.loads(out)
    assert rep["module"] == "lut_mpgemm_int8_int24_w4_k3_m2_n3_p0"
    ports = rep["ports"]
    # int8 tables of K=3: 8 + ceil(log2 3) = 10-bit entries, 4 per row
    assert [p for p in ports if p.startswith("t_")] == [f"t_{r}_{i}[10]" for r in range(2)
                                                        for i in range(4)]
    assert [p for p in ports if p.startswith("w_")] == ["w_0[3]", "w_1[3]", "w_2[3]"]
    assert "plane[2]" in ports and f"y[{2 * 3 * 24}]" in ports
    assert "module lut_mpgemm_int8_int24_w4_k3_m2_n3_p0 (" in out_v.read_text()
    rc, out, _ = run(["rtl", "export", "lut-precompute", "--k", "4", "--format", "fp16",
                      "--pipeline", "1", "-o", str(tmp_path / "pre.v")], capsys)
    assert rc == 0 and "lut_precompute_fp16_k4_p1" in out and "y[128]" in out


@pytest.mark.rtl
def test_verify_lut_mpgemm_with_tile_options(capsys, verilator, rtl_build_dir) -> None:
    """A W1 x int8 2x2 tile of K=2 from the CLI: exhaustive over its 4 + 4 weight-plane bits
    is too many vectors with the tables; random + corners in Verilator and PyRTL."""
    rc, out, _ = run(["rtl", "verify", "lut-mpgemm", "--k", "2", "--m", "1", "--n", "2",
                      "--weight-bits", "1", "--acc", "int16", "--random", "2000", "--pyrtl",
                      "--build-dir", str(rtl_build_dir)], capsys)
    assert rc == 0, out
    assert out.count("0 mismatches") == 2
