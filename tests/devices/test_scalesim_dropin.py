"""``hwsim scalesim`` against the real SCALE-Sim 3.0.0 on the same .cfg and topology files.

The files are in tests/data/scalesim/: SCALE-Sim's own scale.cfg and test_mnk_input.csv, and
ours in its format: calc_os.cfg, an 8x8 array with 1/1/2 KiB SRAMs, so operands overflow
their SRAMs and the memory models take their fold-by-fold branches. All three reports
(COMPUTE, BANDWIDTH, DETAILED_ACCESS) are compared as bytes. Each SCALE-Sim run takes a
second or a few.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
from pathlib import Path

import pytest

from hwsim.cli import main

DATA = Path(__file__).parents[1] / "data" / "scalesim"
COLUMNS = 7  # LayerID and six figures


def _config(tmp_path: Path, df: str, **edits: str) -> Path:
    """calc_os.cfg with dataflow ``df`` and lines replaced (``old=new``, as keyword pairs)."""
    text = (DATA / "calc_os.cfg").read_text().replace("Dataflow : os", f"Dataflow : {df}")
    for old, new in edits.values():
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / f"calc_{df}.cfg"
    path.write_text(text)
    return path


REPORTS = ("COMPUTE", "BANDWIDTH", "DETAILED_ACCESS")


def _user(tmp_path: Path, df: str, bank: int = 10, bandwidth: int = 10) -> Path:
    """calc_os.cfg in USER mode: ``Bandwidth`` (the ofmap's) and the [layout] bank bandwidth
    (SCALE-Sim's ifmap and filter read bandwidth) set apart."""
    return _config(tmp_path, df, a=("InterfaceBandwidth: CALC", "InterfaceBandwidth: USER"),
                   b=("IfmapSRAMBankBandwidth: 100", f"IfmapSRAMBankBandwidth: {bank}"),
                   c=("FilterSRAMBankBandwidth: 100", f"FilterSRAMBankBandwidth: {bank}"),
                   d=("Bandwidth : 10", f"Bandwidth : {bandwidth}"))


def _scalesim_reports(cfg: Path, topo: Path, gemm: bool, out: Path) -> dict[str, str]:
    """The three reports as the real SCALE-Sim writes them (its Python API, no traces)."""
    from scalesim.scale_sim import scalesim

    out = out / "scalesim"
    out.mkdir(parents=True, exist_ok=True)
    layout = out / "layout.csv"  # 3.0.0 opens a layout file even without custom layouts
    layout.write_text("Layer name,\n")
    with contextlib.redirect_stdout(io.StringIO()):
        sim = scalesim(save_disk_space=True, verbose=False, config=str(cfg),
                       topology=str(topo), layout=str(layout), input_type_gemm=gemm)
        sim.run_scale(top_path=str(out / "run"))
    return {r: next((out / "run").glob(f"*/{r}_REPORT.csv")).read_text() for r in REPORTS}


def _hwsim_reports(cfg: Path, topo: Path, gemm: bool, out: Path) -> dict[str, str]:
    argv = ["scalesim", "-c", str(cfg), "-t", str(topo), "-i", "gemm" if gemm else "conv",
            "-p", str(out / "hwsim"), "--force"]
    assert main(argv) == 0
    return {r: next((out / "hwsim").glob(f"*/{r}_REPORT.csv")).read_text() for r in REPORTS}


def _rows(text: str) -> list[list[str]]:
    return [[c.strip() for c in line.split(",")][:COLUMNS] for line in text.splitlines()]


def _same(cfg: Path, topo: Path, gemm: bool, out: Path, layers: int) -> dict[str, str]:
    ours = _hwsim_reports(cfg, topo, gemm, out)
    ref = _scalesim_reports(cfg, topo, gemm, out)
    assert [len(ref[r].splitlines()) for r in REPORTS] == [layers + 1] * 3
    for r in REPORTS:
        assert ours[r] == ref[r], r
    return ref


@pytest.mark.parametrize("topo", ["gemm.csv", "conv.csv"])
@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_calc_reports_are_scalesims_byte_for_byte(scalesim_ok, tmp_path, df, topo):
    """CALC mode. gemm.csv: four GEMMs over and under the array; conv.csv: 3x3/1, 3x3/2 on an
    odd size (SCALE-Sim rounds the stride up), a 7x5/2 window and a 1x1 layer. The 1/1/2 KiB
    SRAMs make operands span many prefetch epochs and the ofmap drain during compute."""
    _same(_config(tmp_path, df), DATA / topo, topo == "gemm.csv", tmp_path, 4)


def test_scalesims_own_files(scalesim_ok, tmp_path):
    """SCALE-Sim's shipped configs/scale.cfg (32x32 WS, 64 KiB SRAMs) and
    topologies/GEMM_mnk/test_mnk_input.csv, unchanged (tests/data/scalesim/README.md)."""
    _same(DATA / "scale.cfg", DATA / "test_mnk_input.csv", True, tmp_path, 1)
    assert (tmp_path / "hwsim" / "scale_example_run_32x32_ws" / "COMPUTE_REPORT.csv").is_file()


def test_few_channel_conv_is_not_its_gemm(scalesim_ok, tmp_path):
    """A conv whose im2col ifmap repeats most addresses (1 channel, 10x10, 3x3: 100 distinct
    words in a 64x9 matrix) prefetches fewer words than its equivalent GEMM: SCALE-Sim's CALC
    buffers fetch each new address once per epoch. hwsim replays the conv's own addresses, so
    all reports equal SCALE-Sim's, and the first ifmap DRAM read is later than the GEMM's.
    The second layer is depthwise: a name with "DP" makes SCALE-Sim (and hwsim) run it as one
    1-channel layer per channel."""
    cfg = _config(tmp_path, "os")
    conv = tmp_path / "c.csv"
    conv.write_text((DATA / "conv.csv").read_text().splitlines()[0] + "\n"
                    "x, 10, 10, 3, 3, 1, 1, 1,\nx_DP, 10, 10, 3, 3, 3, 1, 1,\n")
    ref = _same(cfg, conv, False, tmp_path, 4)
    gemm = tmp_path / "g.csv"
    gemm.write_text("Layer, M, N, K,\nx, 64, 1, 9,\n")
    as_gemm = _hwsim_reports(cfg, gemm, True, tmp_path / "g")
    conv_total, gemm_total = (int(_rows(t["COMPUTE"])[1][1]) for t in (ref, as_gemm))
    assert conv_total < gemm_total
    assert _rows(ref["COMPUTE"])[1][2:] == _rows(as_gemm["COMPUTE"])[1][2:]


@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_user_reports_are_scalesims_byte_for_byte(scalesim_ok, tmp_path, df):
    """InterfaceBandwidth USER, 10 words/cycle: stalls, the prefetch-inclusive total, every
    SRAM and DRAM figure equal SCALE-Sim's, on GEMMs and on convs (whose im2col addresses
    repeat across the read buffer's sets)."""
    cfg = _user(tmp_path, df)
    topo = tmp_path / "gemm3.csv"  # without the 100x70x90 layer: SCALE-Sim takes 10 s on it
    topo.write_text("\n".join((DATA / "gemm.csv").read_text().splitlines()[:4]) + "\n")
    ref = _same(cfg, topo, True, tmp_path, 3)
    assert sum(int(r[3]) for r in _rows(ref["COMPUTE"])[1:]) > 0  # the layers do stall
    conv = tmp_path / "conv2.csv"  # conv.csv without its first (slowest) layer
    lines = (DATA / "conv.csv").read_text().splitlines()
    conv.write_text("\n".join(lines[:1] + lines[2:]) + "\n")
    _same(cfg, conv, False, tmp_path / "conv", 3)


def test_user_reads_at_the_layout_bank_bandwidth(scalesim_ok, tmp_path):
    """SCALE-Sim's USER mode reads ifmap and filter at [layout] ...SRAMBankBandwidth and
    writes the ofmap at Bandwidth: with banks at 40 words/cycle and Bandwidth 10, the reads
    stall less than at 10, and every report still equals SCALE-Sim's."""
    topo = tmp_path / "gemm3.csv"
    topo.write_text("\n".join((DATA / "gemm.csv").read_text().splitlines()[:4]) + "\n")
    wide = _same(_user(tmp_path, "os", bank=40), topo, True, tmp_path / "wide", 3)
    narrow = _hwsim_reports(_user(tmp_path, "os"), topo, True, tmp_path / "narrow")
    stalls = [sum(int(r[3]) for r in _rows(t["COMPUTE"])[1:]) for t in (wide, narrow)]
    assert stalls[0] < stalls[1]


def test_bank_bandwidth_must_be_a_multiple_of_the_banks(tmp_path, capsys):
    cfg = _user(tmp_path, "os", bank=15)
    err = _one_error(capsys, ["-c", str(cfg), "-t", str(DATA / "gemm.csv"), "-i", "gemm",
                              "-p", str(tmp_path / "out")])
    assert "line 21" in err and "IfmapSRAMBankBandwidth" in err and "IfmapSRAMBankNum (10)" in err


def test_replay_bound_is_one_error_naming_the_flag(tmp_path, capsys):
    """A layer above --max-cells demand-matrix cells is refused before anything is written;
    the default bound runs it."""
    argv = ["-c", str(DATA / "calc_os.cfg"), "-t", str(DATA / "gemm.csv"), "-i", "gemm",
            "-p", str(tmp_path / "out")]
    err = _one_error(capsys, [*argv, "--max-cells", "100000"])
    assert "100x70x90" in err and "--max-cells raises it" in err
    assert not (tmp_path / "out").exists()
    assert main(["scalesim", *argv]) == 0


@pytest.mark.parametrize("bandwidth", [None, (10, 10, 10), (20, 10, 10)])
def test_replay_in_batches_of_one_fold_equals_one_batch(monkeypatch, bandwidth):
    """Large layers are replayed a batch of folds at a time; the batch size changes nothing
    (what the live tests check runs in one batch)."""
    from hwsim.devices.systolic import scalesim_memory as sm
    from hwsim.engine.lowering import Gemm

    layers = [sm.gemm_operands(Gemm(70, 33, 45)), sm.conv_operands(12, 11, 3, 3, 2, 9, 2)]
    for ops, df in itertools.product(layers, ["os", "ws", "is"]):
        whole = sm.replay(*ops, 8, 4, df, (1024, 1024, 1024), bandwidth)
        monkeypatch.setattr(sm, "_BATCH_CELLS", 1)
        assert sm.replay(*ops, 8, 4, df, (1024, 1024, 1024), bandwidth) == whole
        monkeypatch.undo()


def test_json_and_no_overwrite(tmp_path, capsys):
    argv = ["scalesim", "-c", str(DATA / "calc_os.cfg"), "-t", str(DATA / "gemm.csv"),
            "-i", "gemm", "-p", str(tmp_path), "--json"]
    assert main(argv) == 0
    d = json.loads(capsys.readouterr().out)
    report = tmp_path / "calc_os" / "COMPUTE_REPORT.csv"
    assert d["report"] == str(report) and d["mode"] == "CALC"
    assert d["reports"]["detailed_access"] == str(tmp_path / "calc_os" /
                                                  "DETAILED_ACCESS_REPORT.csv")
    assert all(x["hwsim_total_cycles"] > 0 for x in d["layers"])
    rows = _rows(report.read_text())[1:]
    assert [str(x["total_cycles_incl_prefetch"]) for x in d["layers"]] == [r[1] for r in rows]
    assert [x["layer"] for x in d["layers"]] == ["proj_small", "wide", "tall", "big"]
    assert main(argv) == 2
    assert "exists" in capsys.readouterr().err
    assert main([*argv, "--force"]) == 0


def _one_error(capsys, argv: list[str]) -> str:
    assert main(["scalesim", *argv]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    return err


@pytest.mark.parametrize("edit,expect", [
    (("[sparsity]", "[sparse]"), ["line 29", "unknown section [sparse]"]),
    (("ArrayWidth:     8", "ArrayWidht:     8"), ["line 6", "unknown key 'arraywidht'",
                                                  "ArrayWidth"]),
    (("ArrayWidth:     8", "ArrayWidth:     eight"), ["line 6", "ArrayWidth", "'eight'"]),
    (("Dataflow : os", "Dataflow : rs"), ["line 14", "os, ws, is"]),
    (("InterfaceBandwidth: CALC", "InterfaceBandwidth: FAST"), ["line 37", "CALC, USER"]),
    (("IfmapCustomLayout: False", "IfmapCustomLayout: maybe"), ["line 20", "True or False"]),
    (("SparsitySupport : false", "SparsitySupport : true"), ["line 30", "not modelled"]),
    (("InterfaceBandwidth: CALC", "InterfaceBandwidth: USER\nBandwidth: 10"),
     ["line 38", "unknown key 'bandwidth' in [run_presets]"]),
    (("ArrayHeight:    8\n", ""), ["line 4", "[architecture_presets] has no ArrayHeight"]),
    (("run_name = calc_os", "run_name = ../up"), ["line 2", "plain folder name"]),
])
def test_bad_config_is_one_error_line_naming_file_and_line(tmp_path, capsys, edit, expect):
    cfg = _config(tmp_path, "os", e=edit)
    err = _one_error(capsys, ["-c", str(cfg), "-t", str(DATA / "gemm.csv"), "-i", "gemm",
                              "-p", str(tmp_path / "out")])
    assert str(cfg) in err
    for text in expect:
        assert text in err
    assert not (tmp_path / "out").exists()


def test_missing_section_and_bad_topology_rows(tmp_path, capsys):
    cfg = tmp_path / "no_layout.cfg"
    text = (DATA / "calc_os.cfg").read_text()
    start, end = text.index("[layout]"), text.index("[sparsity]")
    cfg.write_text(text[:start] + text[end:])
    err = _one_error(capsys, ["-c", str(cfg), "-t", str(DATA / "gemm.csv"), "-i", "gemm"])
    assert "missing section [layout]" in err and str(cfg) in err
    head = "Layer, M, N, K,\nok, 4, 4, 4,# what follows the last comma is ignored\n"
    for row, expect in [("bad, 4, x, 4,", "N must be a positive whole number, got 'x'"),
                        ("bad, 4,", "got 3: "),
                        ("bad, 4, 4,", "K must be a positive whole number, got ''"),
                        ("bad, 4, 0, 4,", "got '0'")]:
        topo = tmp_path / "t.csv"
        topo.write_text(head + row + "\n")
        err = _one_error(capsys, ["-c", str(DATA / "calc_os.cfg"), "-t", str(topo), "-i",
                                  "gemm", "-p", str(tmp_path / "out")])
        assert f"{topo}, line 3" in err and expect in err
    topo.write_text((DATA / "conv.csv").read_text().splitlines()[0] + "\nc, 4, 4, 5, 3, 1, 1, 1,\n")
    err = _one_error(capsys, ["-c", str(DATA / "calc_os.cfg"), "-t", str(topo),
                              "-p", str(tmp_path / "out")])
    assert "line 2" in err and "Filter Height 5 is larger than the IFMAP's 4" in err


def test_fold_averages_in_closed_form_past_the_fold_limit(monkeypatch):
    """Layers with more folds than SCALE-Sim could simulate get the exact mean, which agrees
    with the fold-by-fold float sum to rounding."""
    from hwsim.devices.systolic import SystolicSpec
    from hwsim.devices.systolic import scalesim_files as sf

    layers = sf.read_topology(DATA / "gemm.csv", gemm=True)
    spec = SystolicSpec(rows=8, cols=8, dataflow="ws")
    summed = [sf._fold_averages(layer, spec) for layer in layers]
    monkeypatch.setattr(sf, "MAX_FOLDS_SUMMED", 0)
    for layer, (m, u) in zip(layers, summed, strict=True):
        assert sf._fold_averages(layer, spec) == pytest.approx((m, u), rel=1e-12)



def test_scalesims_google_config(scalesim_ok, tmp_path):
    """SCALE-Sim's shipped configs/google.cfg unchanged (256x256 OS, 6 MiB SRAMs, USER mode at
    10 words/cycle, banks of 10 words) on gemm.csv's GEMMs."""
    _same(DATA / "google.cfg", DATA / "gemm.csv", True, tmp_path, 4)


def test_scalesims_eyeriss_config_is_refused_by_both(scalesim_ok, tmp_path, capsys):
    """SCALE-Sim's shipped configs/eyeriss.cfg predates 3.0.0's config: it has no [layout]
    section, which SCALE-Sim 3.0.0 reads unconditionally (it stops with a configparser
    error), and v2 keys 3.0.0 no longer has. hwsim refuses it with one error line instead."""
    from scalesim.scale_config import scale_config

    with pytest.raises(Exception, match="layout"):
        scale_config().read_conf_file(str(DATA / "eyeriss.cfg"))
    assert main(["scalesim", "-c", str(DATA / "eyeriss.cfg"), "-t", str(DATA / "gemm.csv"),
                 "-i", "gemm", "-p", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and err.count("\n") == 1 and "eyeriss.cfg, line" in err
