"""The console script: version, format commands, error handling, and the demo end to end."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hwsim import __version__
from hwsim.cli import main


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def test_version(capsys) -> None:
    rc, out, _ = run(["--version"], capsys)
    assert rc == 0 and __version__ in out


def test_console_script_runs_as_module() -> None:
    proc = subprocess.run([sys.executable, "-m", "hwsim.cli", "--help"], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0 and "demo" in proc.stdout


def test_formats_json(capsys) -> None:
    rc, out, _ = run(["formats", "fp8_e4m3fn", "--json"], capsys)
    assert rc == 0
    (d,) = json.loads(out)["formats"]
    assert d["max_normal"] == 448.0 and d["exp_bits"] == 4 and d["nan"] == "all_ones"
    rc, out, _ = run(["formats", "nvfp4", "mxfp4", "--json"], capsys)
    assert [r["bits_per_element"] for r in json.loads(out)["formats"]] == [4.5, 4.25]


def test_quantize_command(capsys) -> None:
    rc, out, _ = run(["quantize", "1.3", "-0.001", "500", "-f", "fp8_e4m3fn", "--json"], capsys)
    res = json.loads(out)["results"]
    assert rc == 0
    assert [r["code"] for r in res] == ["0x3a", "0x81", "0x7f"]
    assert res[0]["quantized"] == 1.25


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["quantize", "1", "-f", "fp9"], "unknown number format 'fp9'"),
        (["quantize", "abc", "-f", "fp16"], "values must be numbers"),
        (["formats", "mxfp5"], "unknown number format 'mxfp5' (no block format"),
        (["nosuchcommand"], "No such command"),
    ],
)
def test_user_errors_are_one_line_exit_2(argv, needle, capsys) -> None:
    rc, out, err = run(argv, capsys)
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0]
    assert "Traceback" not in err


def test_demo_writes_outputs_and_refuses_to_overwrite(tmp_path, capsys) -> None:
    out_dir = tmp_path / "demo"
    rc, out, _ = run(["demo", "--out", str(out_dir)], capsys)
    assert rc == 0
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == ["format_sqnr.png", "lmul_vs_fp8.png", "summary.json",
                     "systolic_resnet18.png"]
    for png in out_dir.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((out_dir / "summary.json").read_text())
    steps = {s["name"].split(" (")[0]: s for s in summary["steps"]}
    assert any("L-Mul" in k for k in steps)
    assert "lmul_m4" in out and "mxfp4" in out
    rc, _, err = run(["demo", "--out", str(out_dir)], capsys)
    assert rc == 2 and "not empty" in err
    rc, _, _ = run(["demo", "--out", str(out_dir), "--force"], capsys)
    assert rc == 0


def test_quantize_reads_negative_numbers_as_values(capsys) -> None:
    """'-inf' is a value, not the short options -i -n -f (fp8_e5m2 has infinities: 0xfc)."""
    rc, out, _ = run(["quantize", "-inf", "-1.5", "-f", "fp8_e5m2", "--json"], capsys)
    assert rc == 0
    res = json.loads(out)["results"]
    assert [(r["quantized"], r["code"]) for r in res] == [("-inf", "0xfc"), (-1.5, "0xbe")]
