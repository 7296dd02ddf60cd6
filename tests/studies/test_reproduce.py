"""``hwsim reproduce``: the study registry, bad input, two quick studies end to end (L-Mul
precision checked against ml_dtypes, the FPGA study through the sweep store against its
published results), and the study sweep that runs them (store, resume, failures, workers)."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

from hwsim.cli import main
from hwsim.studies import registry

ROOT = Path(__file__).resolve().parents[2] / "sim_results"


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_list_names_every_folder_with_a_script(capsys) -> None:
    rc, out, _ = run(["reproduce", "--list", "--json"], capsys)
    assert rc == 0
    studies = {s["name"]: s for s in json.loads(out)["studies"]}
    scripts = {p.parent.name for p in ROOT.glob("*/run.py")}
    assert scripts <= set(studies)
    assert set(studies) - scripts <= set(registry.COMMAND_STUDIES)
    for name, s in studies.items():
        assert s["claim"] and s["claim"] != "(no claim given)", name
    # the index gives the typical time of the studies it lists
    assert studies["lmul_precision"]["typical"] == "~10 s"
    rc, out, _ = run(["reproduce", "--list"], capsys)
    assert rc == 0 and "fpga_minifloat_vs_int" in out


def test_index_has_a_row_per_study() -> None:
    rows = registry.index_rows(ROOT)
    assert set(registry.discover(ROOT)) <= set(rows)
    for name, row in rows.items():
        assert row["agree?"].split()[0].rstrip(":;,") in ("yes", "no", "partly"), name
        # the command that regenerates it: hwsim reproduce, or the script it runs
        assert (f"hwsim reproduce {name}" in row["regenerate"]
                or f"sim_results/{name}/run.py" in row["regenerate"]), name


@pytest.mark.parametrize(("argv", "words"), [
    (["reproduce", "nope"], ("unknown study 'nope'", "lmul_precision", "or all")),
    (["reproduce"], ("name a study or all",)),
    (["reproduce", "lmul_precision"], ("is not empty", "--force")),  # its own folder
    (["reproduce", "lmul_precision", "--quick"], ("give --out",)),
])
def test_bad_input_is_one_error_line(argv, words, capsys) -> None:
    before = sorted(os.listdir(ROOT / "lmul_precision"))
    rc, out, err = run(argv, capsys)
    assert rc == 2 and out == "" and err.count("\n") == 1 and err.startswith("error: ")
    for w in words:
        assert w in err
    assert sorted(os.listdir(ROOT / "lmul_precision")) == before


def test_an_existing_out_folder_needs_force(tmp_path, capsys) -> None:
    (tmp_path / "keep.txt").write_text("x")
    rc, _, err = run(["reproduce", "lmul_precision", "--quick", "-o", str(tmp_path)], capsys)
    assert rc == 2 and "is not empty" in err
    assert os.listdir(tmp_path) == ["keep.txt"]


def _ml_dtypes_fp8_error(dtype, n: int, sigma: float) -> float:
    """Mean relative error of an exact fp8 multiplier (operands and product RNE), computed
    with ml_dtypes on fresh pairs."""
    rng = np.random.default_rng(12345)
    x, y = (rng.normal(0, sigma, n).astype(np.float32) for _ in range(2))
    exact = x.astype(np.float64) * y.astype(np.float64)
    qx, qy = (v.astype(dtype).astype(np.float64) for v in (x, y))
    got = (qx * qy).astype(dtype).astype(np.float64)
    ok = np.isfinite(got)
    return float(np.mean(np.abs(got[ok] - exact[ok]) / np.abs(exact[ok])))


def test_lmul_precision_quick_end_to_end(tmp_path, capsys) -> None:
    out = tmp_path / "lp"
    rc, stdout, _ = run(["reproduce", "lmul_precision", "--quick", "-o", str(out), "--json"],
                        capsys)
    assert rc == 0, stdout
    (o,) = json.loads(stdout)["studies"]
    assert o["status"] == "ok" and {"results.csv", "results.json", "lmul_vs_fp8.png"} <= set(
        o["files"])
    at1 = {r["method"]: float(r["mean_rel_error"]) for r in _rows(out / "results.csv")
           if float(r["sigma"]) == 1.0}
    # the exact FP8 multipliers agree with ml_dtypes' rounding (20,000 pairs each: 5%)
    for method, dtype in (("fp8_e4m3fn", ml_dtypes.float8_e4m3fn),
                          ("fp8_e5m2", ml_dtypes.float8_e5m2)):
        ref = _ml_dtypes_fp8_error(dtype, 20_000, 1.0)
        assert at1[method] == pytest.approx(ref, rel=0.05), method
    # Luo and Sun's 3-bit claim (arXiv 2410.00907): L-Mul-3 beats an E5M2 multiplier
    assert at1["lmul_m3"] < at1["fp8_e5m2"]
    # it ran as the one point of a study sweep; a re-run (no --force) resumes, runs nothing
    from hwsim.sweep import Store

    with Store(out / registry.REPRODUCE_STORE) as store:
        assert store.status() == {"done": 1, "failed": 0, "pending": 0}
    before = (out / "results.csv").stat().st_mtime_ns
    rc, stdout, _ = run(["reproduce", "lmul_precision", "--quick", "-o", str(out), "--json"],
                        capsys)
    assert rc == 0 and json.loads(stdout)["studies"][0]["resumed"] is True
    assert (out / "results.csv").stat().st_mtime_ns == before


@pytest.fixture(scope="module")
def fpga_quick(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fpga") / "fp"
    assert main(["reproduce", "fpga_minifloat_vs_int", "--quick", "-o", str(out)]) == 0
    return out


def test_fpga_study_runs_through_the_sweep_store(fpga_quick) -> None:
    from hwsim.sweep import Store

    rows = _rows(fpga_quick / "results.csv")
    assert {r["fmt"] for r in rows} == {"int4", "int8", "fp8_e4m3fn"}
    with Store(fpga_quick / registry.SWEEP_STORE) as store:
        assert store.status() == {"done": len({(r["model"], r["array_rows"], r["array_cols"],
                                                 r["clock_mhz"]) for r in rows}),
                                  "failed": 0, "pending": 0}
        df = store.frame()
    stored = {int(c) for c in df["total_cycles"]}
    assert {int(r["array_cycles"]) for r in rows} == stored


def test_fpga_sweep_reproduces_the_published_throughput(fpga_quick) -> None:
    """The throughput side of the quick run equals the checked-in results (made before the
    study ran through the sweep layer): same arrays, clocks, cycles and inferences/s."""
    published = {(r["model"], r["view"], r["fmt"]): r
                 for r in _rows(ROOT / "fpga_minifloat_vs_int" / "results.csv")}
    cols = ("pe_luts", "array_rows", "array_cols", "clock_mhz", "array_cycles", "macs",
            "inferences_per_s")
    rows = _rows(fpga_quick / "results.csv")
    assert len(rows) == 6
    for r in rows:
        ref = published[r["model"], r["view"], r["fmt"]]
        assert {c: r[c] for c in cols} == {c: ref[c] for c in cols}


def test_fpga_rerun_resumes_and_force_starts_afresh(fpga_quick, capsys) -> None:
    import subprocess
    import sys

    script = ROOT / "fpga_minifloat_vs_int" / "run.py"
    db = fpga_quick / registry.SWEEP_STORE / "sweep.db"
    proc = subprocess.run([sys.executable, str(script), "--out", str(fpga_quick), "--quick"],
                          capture_output=True, text=True, check=True)
    assert "'done': 6" in proc.stdout  # resumed: every point already in the store
    first = db.stat().st_mtime_ns
    rc, out, _ = run(["reproduce", "fpga_minifloat_vs_int", "--quick", "-o", str(fpga_quick),
                      "--force", "--json"], capsys)
    assert rc == 0 and json.loads(out)["studies"][0]["status"] == "ok"
    assert db.stat().st_mtime_ns != first


def _fake_collection(root: Path, studies=(("a_ok", 0), ("b_fails", 3), ("c_ok", 0))) -> None:
    """Test studies that write ``r.txt``, print ``boom`` and exit with their code; each run
    appends the study's name to ``runs.log`` beside ``root``."""
    for name, code in studies:
        (root / name).mkdir(parents=True)
        (root / name / "run.py").write_text(
            '"""A test study."""\nimport sys, pathlib\n'
            'out = pathlib.Path(sys.argv[sys.argv.index("--out") + 1])\n'
            'out.mkdir(parents=True, exist_ok=True)\n(out / "r.txt").write_text("1")\n'
            f'with open({str(root.parent / "runs.log")!r}, "a") as fh:\n'
            f'    fh.write("{name}\\n")\n'
            f'print("boom", file=sys.stderr)\nsys.exit({code})\n')


def _runs(tmp_path: Path) -> list[str]:
    log = tmp_path / "runs.log"
    return sorted(log.read_text().split()) if log.is_file() else []


def test_all_goes_on_past_a_failure_and_exits_1(tmp_path, monkeypatch, capsys) -> None:
    root = tmp_path / "sim_results"
    _fake_collection(root)
    monkeypatch.setattr(registry, "results_root", lambda: root)
    rc, out, _ = run(["reproduce", "all", "-o", str(tmp_path / "out"), "--json"], capsys)
    assert rc == 1
    got = json.loads(out)
    assert [(s["name"], s["status"]) for s in got["studies"]] == [
        ("a_ok", "ok"), ("b_fails", "failed"), ("c_ok", "ok")]
    assert got["studies"][1]["error"] == "boom" and got["failed"] == 1
    assert all((tmp_path / "out" / n / "r.txt").is_file() for n in ("a_ok", "b_fails", "c_ok"))
    # without --json: one line per study on stderr, the failure and a summary
    rc, out, err = run(["reproduce", "all", "-o", str(tmp_path / "out2")], capsys)
    assert rc == 1 and "2 of 3 studies regenerated; failed: b_fails" in out
    assert "b_fails failed" in err and "boom" in err


def test_studies_run_through_the_sweep_store_and_resume(tmp_path, monkeypatch, capsys) -> None:
    from hwsim.sweep import Store

    root = tmp_path / "sim_results"
    _fake_collection(root, (("a_ok", 0), ("c_ok", 0)))
    monkeypatch.setattr(registry, "results_root", lambda: root)
    out = tmp_path / "out"
    argv = ["reproduce", "all", "--quick", "-o", str(out), "--json"]
    rc, stdout, _ = run([*argv, "--workers", "2"], capsys)  # on the process pool
    assert rc == 0, stdout
    got = json.loads(stdout)
    assert [(s["name"], s["status"], s["resumed"]) for s in got["studies"]] == [
        ("a_ok", "ok", False), ("c_ok", "ok", False)]
    assert got["store"] == str(out / registry.REPRODUCE_STORE)
    assert _runs(tmp_path) == ["a_ok", "c_ok"]
    with Store(out / registry.REPRODUCE_STORE) as store:
        rows = store.finished()
    assert sorted(json.loads(r["params"])["study"] for r in rows) == ["a_ok", "c_ok"]
    for r in rows:
        rec = json.loads(r["record"])
        assert r["status"] == "done" and rec["files"] == ["r.txt"]
        assert json.loads(r["params"])["out"] == str(out / rec["name"])
        assert r["seconds"] == pytest.approx(rec["seconds"], abs=0.01) and r["seconds"] > 0
    # a re-run computes nothing: every study is done in the store
    rc, stdout, _ = run(argv, capsys)
    assert rc == 0 and [s["resumed"] for s in json.loads(stdout)["studies"]] == [True, True]
    assert _runs(tmp_path) == ["a_ok", "c_ok"]
    rc, stdout, _ = run(["sweep", "status", str(out / registry.REPRODUCE_STORE), "--json"],
                        capsys)
    assert rc == 0 and json.loads(stdout) == {"done": 2, "failed": 0, "pending": 0}
    # --force starts afresh: both run again
    rc, _, _ = run([*argv, "--force"], capsys)
    assert rc == 0 and _runs(tmp_path) == ["a_ok", "a_ok", "c_ok", "c_ok"]


def test_a_failing_study_is_recorded_and_retried_alone(tmp_path, monkeypatch, capsys) -> None:
    from hwsim.sweep import Store

    root = tmp_path / "sim_results"
    _fake_collection(root)
    monkeypatch.setattr(registry, "results_root", lambda: root)
    out = tmp_path / "out"
    argv = ["reproduce", "all", "-o", str(out), "--json"]
    assert run(argv, capsys)[0] == 1
    with Store(out / registry.REPRODUCE_STORE) as store:
        status = store.status()
        rows = {json.loads(r["params"])["study"]: r for r in store.finished()}
    assert status == {"done": 2, "failed": 1, "pending": 0}
    assert rows["b_fails"]["status"] == "failed" and rows["b_fails"]["error"] == "boom"
    assert json.loads(rows["b_fails"]["record"])["error"] == "boom"
    assert [rows[n]["status"] for n in ("a_ok", "c_ok")] == ["done", "done"]
    # a re-run retries the failed study in its own (non-empty) folder, and only it
    rc, stdout, _ = run(argv, capsys)
    assert rc == 1 and _runs(tmp_path) == ["a_ok", "b_fails", "b_fails", "c_ok"]
    assert [(s["name"], s["resumed"]) for s in json.loads(stdout)["studies"]] == [
        ("a_ok", True), ("b_fails", False), ("c_ok", True)]
    rc, stdout, _ = run(["sweep", "status", str(out / registry.REPRODUCE_STORE)], capsys)
    assert rc == 0 and stdout.strip() == "2 done, 1 failed, 0 pending"


def test_a_study_sweep_file_names_its_errors() -> None:
    from hwsim.errors import HwsimError
    from hwsim.sweep import parse_sweep

    for data, words in (({"study": "nope"}, "unknown study 'nope'"),
                        ({"study": {"name": "all", "fast": 1}}, "study axis 'fast'"),
                        ({"study": {"name": "lmul_precision", "quick": "yes"}},
                         "quick must be true or false"),
                        ({"study": "all", "search": "random", "samples": 2},
                         "allowed: grid"),
                        ({"study": "all", "device": "gpu"}, "'device' does not apply")):
        with pytest.raises(HwsimError, match=words):
            parse_sweep(data)
    sweep = parse_sweep({"study": {"name": "all", "out": "/tmp/x/{name}"}})
    assert [p.task["study"] for p in sweep.points()] == list(registry.discover())
    assert {p.task["out"] for p in sweep.points()} == {
        f"/tmp/x/{n}" for n in registry.discover()}
