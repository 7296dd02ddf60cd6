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
