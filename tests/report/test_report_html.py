"""``hwsim report`` and ``hwsim run --report`` without a browser: bad input, --force,
atomic writes, the Pareto front against a textbook algorithm, the re-run of the chosen point
against the store, and the GPU roofline's roofs against NVIDIA's published peaks.

The browser checks (figures render, no console errors, page numbers = store) are in
``test_report_browser.py``.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from pathlib import Path

import pytest

from hwsim.errors import HwsimError
from hwsim.report import write_sweep_report
from hwsim.report.data import load_sweep_data, roofline
from hwsim.sweep import Store
from tests.fuzz.harness import fuzz_cli


def _empty_store() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        Store(tmp, create=True).close()
        return (Path(tmp) / "sweep.db").read_bytes()


@pytest.mark.parametrize(("argv", "inputs", "says"), [
    (["report", "full"], {}, "holds no sweep store"),
    (["report", "missing"], {}, "not a folder"),
    (["report", "existing.txt"], {}, "existing.txt"),
    (["report", "empty"], {"empty/sweep.db": b"SQLite format 3\x00 but not really"},
     "not a sweep store"),
    (["report", "empty"], {"empty/sweep.db": _empty_store()}, "no finished point"),
    (["report", "swept"], {"swept/report.html": b"a user's page"}, "exists"),
    (["report", "swept", "-o", "existing.txt"], {}, "exists"),
    (["report", "swept", "-o", "full"], {}, "is a folder"),
    (["report", "swept", "--point", "zz"], {}, "matches no point"),
    (["report", "swept", "-o", "swept/sweep.db", "--force"], {}, "the sweep's own"),
    (["run", "--gemm", "8,8,8", "--report", "full"], {"full/report.html": b"mine"}, "exists"),
    (["run", "--gemm", "8,8,8", "--report", "existing.txt"], {}, "not a folder"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_bad_input_is_one_error_and_writes_nothing(argv, inputs, says) -> None:
    out = fuzz_cli(argv, inputs=inputs)  # checks: exit 2, one 'error:' line, sandbox intact
    assert out.rc == 2 and says in out.err, out.describe()


def test_force_replaces_the_page_and_its_figures() -> None:
    out = fuzz_cli(["report", "swept", "--force", "--json"],
                   inputs={"swept/report.html": b"old", "swept/report_figures": b""})
    assert out.rc == 2  # report_figures is a file there: refused even with --force
    out = fuzz_cli(["report", "swept", "--force", "--json"],
                   inputs={"swept/report.html": b"old page"})
    assert out.rc == 0, out.describe()
    info = json.loads(out.out)
    assert info["done"] == 2 and info["rerun_matches_store"] is True
    new = {k for k in out.sandbox_after if k not in out.sandbox_before}
    assert new == {"swept/report_figures", *(f"swept/report_figures/{Path(p).name}"
                                             for p in info["figures"])}
    assert out.sandbox_after["swept/report.html"] != out.sandbox_before["swept/report.html"]


def test_a_failed_write_keeps_the_old_outputs(sweep_dir, tmp_path, monkeypatch) -> None:
    html = tmp_path / "r.html"
    first = write_sweep_report(sweep_dir, html)
    before = {p: Path(p).read_bytes() for p in [first["html"], *first["figures"]]}

    import hwsim.io

    def full_disk(path, text):
        raise HwsimError(f"cannot write {str(path)!r}: No space left on device")

    monkeypatch.setattr(hwsim.io, "atomic_write_text", full_disk)
    with pytest.raises(HwsimError, match="No space left"):
        write_sweep_report(sweep_dir, html, force=True)
    assert {p: Path(p).read_bytes() for p in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html", "r_figures"]


def _front_2d(points: list[tuple[str, float, float]]) -> set[str]:
    """Kung et al.'s sort-and-scan for two minimised objectives (a different algorithm from
    the pairwise test of hwsim.sweep): sorted by the first, a point is on the front when its
    second is below every earlier one's; a copy of the last point kept stays too."""
    out: set[str] = set()
    best, last = float("inf"), None
    for key, x, y in sorted(points, key=lambda p: (p[1], p[2])):
        if y < best or (x, y) == last:
            out.add(key)
            last = (x, y)
        best = min(best, y)
    return out


def test_fronts_match_a_sort_and_scan(sweep_dir) -> None:
    from hwsim.report.data import front_keys

    data = load_sweep_data(sweep_dir)
    assert data.objectives == ("total_cycles", "energy_total_pj", "utilisation")
    assert data.directions == ("min", "min", "max")
    frame = data.frame[data.frame.status == "done"]
    for x, y, sy in (("total_cycles", "energy_total_pj", 1), ("total_cycles", "utilisation", -1),
                     ("energy_total_pj", "utilisation", -1)):
        pts = [(k, float(a), sy * float(b)) for k, a, b in zip(frame.key, frame[x], frame[y],
                                                               strict=True)]
        assert set(front_keys(data, (x, y))) == _front_2d(pts), (x, y)
    whole = set(front_keys(data, data.objectives))
    assert whole and whole <= set(frame.key)


def test_the_chosen_point_is_rerun_to_the_stored_numbers(sweep_dir, tmp_path) -> None:
    info = write_sweep_report(sweep_dir, tmp_path / "r.html")
    assert info["rerun_matches_store"] is True
    assert info["point"] in info["front"]
    page = (tmp_path / "r.html").read_text()
    assert "re-run through hwsim.api.simulate" in page and "equal the stored ones" in page
    assert "http://" not in page and "https://" not in page  # nothing to fetch
    # the chosen point is the front's lowest total_cycles (the first objective)
    with Store(sweep_dir) as store:
        frame = store.frame()
    front = frame[frame.key.isin(info["front"])]
    assert front.sort_values(["total_cycles", "key"]).key.iloc[0] == info["point"]


def test_every_failed_point_and_its_error_are_in_the_page(sweep_dir, tmp_path) -> None:
    write_sweep_report(sweep_dir, tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text()
    db = sqlite3.connect(sweep_dir / "sweep.db")
    failed = db.execute("SELECT key, error FROM results WHERE status='failed'").fetchall()
    db.close()
    assert len(failed) == 4
    for key, error in failed:
        assert f'<tr class="failed"><td>{key}</td>' in page
        assert error.replace("'", "&#39;") in page


# NVIDIA's published dense peaks and memory bandwidths (A100 SXM4 80GB: A100 whitepaper 2020,
# Table 1 and the A100 80GB datasheet; H100 SXM5: H100 whitepaper 2022, Table 3 and datasheet)
PUBLISHED = {
    "a100": {"fp16 tensor": 312e12, "tf32 tensor": 156e12, "int8 tensor": 624e12,
             "fp32 CUDA cores": 19.5e12, "HBM": 2039e9},
    "h100": {"fp16 tensor": 989.4e12, "tf32 tensor": 494.7e12, "int8 tensor": 1978.9e12,
             "fp8 tensor": 1978.9e12, "fp32 CUDA cores": 66.9e12, "HBM": 3350e9},
}


@pytest.mark.parametrize("device", sorted(PUBLISHED))
def test_gpu_roofline_uses_the_published_peaks(device) -> None:
    from hwsim.api import resolve_device, simulate

    spec = resolve_device(device)
    res = simulate(spec, "llama2-7b", layers=12)  # prefill: compute-bound GEMMs
    roof = roofline(spec, res)
    published = PUBLISHED[device]
    assert {**roof.compute_roofs, "HBM": roof.bandwidth_roofs["HBM"]} == pytest.approx(published)
    assert len(roof.points) + roof.skipped == len(res.ops)
    by_name = {o.name: o for o in res.ops}
    for name, _, intensity, flops in roof.points:
        o = by_name[name]
        assert intensity == 2 * o.macs / o.dram_bytes
        assert flops == pytest.approx(2 * o.macs * spec.clock_mhz * 1e6 / o.total_cycles)
        assert flops <= roof.roof(intensity) * (1 + 1e-9), name  # no op beats its roofline
    # the prefill GEMMs run near the FP16 roof, far above the HBM slope of decode
    assert max(f for *_, f in roof.points) > 0.5 * published["fp16 tensor"]


def test_no_roofline_off_the_gpu() -> None:
    from hwsim.api import resolve_device, simulate

    spec = resolve_device("systolic")
    assert roofline(spec, simulate(spec, "resnet8", layers=2)) is None


def _sweep(text: str, folder: Path) -> Path:
    import yaml

    from hwsim.sweep import parse_sweep, pool_evaluator, run_sweep

    run_sweep(parse_sweep(yaml.safe_load(text)), folder, pool_evaluator(1), spec_text=text)
    return folder


def test_a_sweep_of_failed_points_still_shows_them(tmp_path) -> None:
    folder = _sweep("device: {name: systolic, rows: 256, cols: 256, dataflow: [os, ws]}\n"
                    "workload: {name: resnet18, layers: 1}\n", tmp_path / "sw")
    info = write_sweep_report(folder)
    assert (info["done"], info["failed"], info["front"], info["point"]) == (0, 2, [], None)
    assert info["figures"] == [] and info["rerun_matches_store"] is None
    page = Path(info["html"]).read_text()
    assert page.count('<tr class="failed">') == 2 and "there is no front" in page
    with Store(folder) as store:
        key = store.frame().key[0]
    with pytest.raises(HwsimError, match="is a failed point"):
        write_sweep_report(folder, tmp_path / "other.html", point=key[:8])


def test_a_gpu_sweep_gets_the_chosen_points_roofline(tmp_path) -> None:
    folder = _sweep("device: [a100, h100]\n"
                    "workload: {name: llama2-7b, phase: decode, kv_len: 512, layers: 12}\n",
                    tmp_path / "gpu")
    info = write_sweep_report(folder)
    assert info["done"] == 2 and info["rerun_matches_store"] is True
    assert info["point"] in info["front"]
    assert {Path(p).stem for p in info["figures"]} == {
        "pareto_total_cycles__energy_total_pj", "front_energy", "point-energy", "point-ops",
        "point-roofline"}
    assert 'id="point-roofline-table"' in Path(info["html"]).read_text()
