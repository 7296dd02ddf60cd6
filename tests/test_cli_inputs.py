"""Bad output paths and bad options: every command answers with one ``error:`` line and exit 2,
before any work starts, and leaves every file as it was.

Each writing command is driven with each class of unwritable path; each numeric or option
class of issue 12 with a value outside what it allows. The commands would take minutes to
synthesise, sweep or train if the check came after the work, so a slow run here is a failure.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from hwsim.cli import main
from hwsim.errors import HwsimError
from hwsim.io import atomic_write_text


def snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every file and folder below ``root`` with its mode and content."""
    return {str(p.relative_to(root)): (p.stat().st_mode,
                                       p.read_bytes() if p.is_file() else b"")
            for p in sorted(root.rglob("*"))}


def one_error_line(argv: list[str], capsys) -> str:
    rc = main(argv)
    out, err = capsys.readouterr()
    assert rc == 2, (argv, out, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), (argv, err)
    return lines[0]


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """An empty working folder, so that default output paths fall inside it."""
    d = tmp_path / "cwd"
    d.mkdir()
    monkeypatch.chdir(d)
    return d


# command -> (argv with {} for the output path, whether that path is a folder)
WRITERS: dict[str, tuple[list[str], bool]] = {
    "workload export": (["workload", "export", "resnet8", "-o", "{}"], False),
    "workload import": (["workload", "import", "model.onnx", "-o", "{}"], False),
    "run --trace": (["run", "--gemm", "4,4,4", "--trace", "{}"], False),
    "rtl export": (["rtl", "export", "int-mul", "-o", "{}"], False),
    "rtl verify --build-dir": (["rtl", "verify", "int-mul", "--build-dir", "{}"], True),
    "rtl synth --build-dir": (["rtl", "synth", "int-mul", "--build-dir", "{}"], True),
    "cost dataset": (["cost", "dataset", "--limit", "1", "-o", "{}"], True),
    "cost train": (["cost", "train", "-o", "{}"], False),
    "cost validate --plots": (["cost", "validate", "--plots", "{}"], True),
    "cost study": (["cost", "study", "-o", "{}"], True),
    "demo": (["demo", "-o", "{}"], True),
}


def _bad_path(kind: str, base: Path, folder: bool) -> str:
    if kind == "under a file":
        (base / "a-file").write_text("user data\n")
        return str(base / "a-file" / "x.out")
    if kind == "under /proc":
        return "/proc/hwsim-no-such-folder/x.out"
    if kind == "empty":
        return ""
    if kind == "unwritable folder":
        d = base / "locked"
        d.mkdir()
        d.chmod(0o500)
        return str(d / "x.out")
    if kind == "wrong kind":  # a folder where a file goes, a file where a folder goes
        p = base / ("a-file" if folder else "a-folder")
        p.write_text("user data\n") if folder else p.mkdir()
        return str(p)
    raise AssertionError(kind)


PATH_KINDS = ["under a file", "under /proc", "empty", "unwritable folder", "wrong kind"]


@pytest.mark.parametrize("kind", PATH_KINDS)
@pytest.mark.parametrize("command", list(WRITERS))
def test_every_writer_refuses_every_bad_path(command, kind, workdir, capsys) -> None:
    if kind == "unwritable folder" and os.geteuid() == 0:
        pytest.skip("running as root, which file modes do not stop: chmod 0o500 proves nothing")
    argv, folder = WRITERS[command]
    (workdir / "model.onnx").write_bytes(b"not read: the path check comes first")
    path = _bad_path(kind, workdir, folder)
    before = snapshot(workdir)
    try:
        msg = one_error_line([a.replace("{}", path) for a in argv], capsys)
    finally:
        if kind == "unwritable folder":
            (workdir / "locked").chmod(0o700)
    assert snapshot(workdir) == before, msg
    assert not Path("/proc/hwsim-no-such-folder").exists()


@pytest.mark.parametrize("command", [c for c, (_, folder) in WRITERS.items() if not folder])
def test_no_writer_overwrites_a_file_without_force(command, workdir, capsys) -> None:
    argv, _ = WRITERS[command]
    (workdir / "model.onnx").write_bytes(b"not read: the path check comes first")
    target = workdir / "mine.v"
    target.write_text("user data\n")
    before = snapshot(workdir)
    msg = one_error_line([a.replace("{}", str(target)) for a in argv], capsys)
    assert "exists" in msg and "--force" in msg
    assert snapshot(workdir) == before


@pytest.mark.parametrize("argv", [["cost", "study"], ["demo", "-o", "results"]])
def test_non_empty_output_folders_need_force(argv, workdir, capsys) -> None:
    """'cost study' from the repository root would overwrite the checked-in study."""
    for folder in ("sim_results/costmodel", "results"):
        (workdir / folder).mkdir(parents=True)
        (workdir / folder / "headlines.md").write_text("checked in\n")
    before = snapshot(workdir)
    msg = one_error_line(argv, capsys)
    assert "not empty" in msg and "--force" in msg
    assert snapshot(workdir) == before


def test_dataset_refuses_a_folder_with_an_unrelated_designs_csv(workdir, capsys) -> None:
    (workdir / "sweep").mkdir()
    (workdir / "sweep" / "designs.csv").write_text("name,score\nalice,3\n")
    before = snapshot(workdir)
    msg = one_error_line(["cost", "dataset", "-o", "sweep", "--limit", "0"], capsys)
    assert "designs.csv" in msg and "--force" in msg
    assert snapshot(workdir) == before
    # a sweep folder this tool wrote (empty table) is resumed, and --force takes any folder
    assert main(["cost", "dataset", "-o", "own", "--limit", "0", "--no-progress"]) == 0
    assert main(["cost", "dataset", "-o", "own", "--limit", "0", "--no-progress"]) == 0
    assert main(["cost", "dataset", "-o", "sweep", "--limit", "0", "--no-progress",
                 "--force"]) == 0
    assert (workdir / "sweep" / "designs.csv").read_text() == ""


def test_rtl_export_refuses_a_verilog_path_that_is_its_script(workdir, capsys) -> None:
    msg = one_error_line(["rtl", "export", "lmul", "-o", "x.ys"], capsys)
    assert "Yosys script" in msg and ".v" in msg
    assert list(workdir.iterdir()) == []
    assert main(["rtl", "export", "lmul", "-o", "x.sv"]) == 0
    assert sorted(p.name for p in workdir.iterdir()) == ["x.sv", "x.ys"]


# --- options ---------------------------------------------------------------------------------
TWO_ROWS = "two-rows.csv"

BAD_OPTIONS: list[tuple[list[str], str]] = [
    # negative seeds
    (["demo", "--seed", "-1"], "--seed"),
    (["cost", "train", "--seed", "-1"], "--seed"),
    (["cost", "validate", "--seed", "-1"], "--seed"),
    (["rtl", "verify", "int-mul", "--seed", "-1"], "--seed"),
    (["quantize", "1", "-f", "fp16", "--seed", "-3"], "--seed"),
    # folds: 0, 1, negative, above the row count; a 2-row dataset
    *[(["cost", cmd, "--folds", f], "--folds") for cmd in ("train", "validate")
      for f in ("0", "1", "-2")],
    (["cost", "train", "--folds", "100000"], "folds must be an integer from 2 to"),
    (["cost", "validate", "--folds", "100000"], "folds must be an integer from 2 to"),
    (["cost", "train", "--data", TWO_ROWS], "fitting needs at least"),
    # --layers: 1..number of ops
    (["run", "--workload", "resnet8", "--layers", "0"], "--layers"),
    (["run", "--workload", "resnet8", "--layers", "-1"], "--layers"),
    (["run", "--workload", "resnet8", "--layers", "100000"], "--layers must be from 1 to"),
    (["run", "--gemm", "4,4,4", "--layers", "1"], "--layers applies to --workload"),
    (["run", "--gemm", "4,4,4", "--phase", "decode"], "--phase applies to --workload"),
    (["run", "--conv", "3,8,8,4,3,3", "--batch", "2"], "--batch applies to --workload"),
    # finite positive floats
    *[(["run", "--gemm", "4,4,4", opt, v], opt) for opt in ("--clock-mhz", "--bandwidth")
      for v in ("inf", "-inf", "nan", "0", "-5", "fast")],
    # a block format as the accumulator
    (["run", "--gemm", "4,4,4", "--acc-format", "mxfp4"], "accumulator must be an element"),
    (["workload", "show", "resnet8", "--acc-format", "nvfp4"], "accumulator must be an elem"),
    # sweep size and parallelism
    (["cost", "dataset", "--limit", "-1"], "--limit"),
    (["cost", "dataset", "--jobs", "0"], "--jobs"),
    (["cost", "dataset", "--jobs", "100000"], "--jobs"),
    # positive sizes and counts elsewhere
    (["run", "--gemm", "4,4,4", "--batch", "0"], "--batch"),
    (["run", "--workload", "llama2-7b", "--seq", "0"], "--seq"),
    (["run", "--workload", "llama2-7b", "--phase", "decode", "--kv-len", "-4"], "--kv-len"),
    (["rtl", "export", "block-dot", "--block", "0"], "--block"),
    (["cost", "predict", "block-dot", "-f", "mxfp4", "--block", "-1"], "--block"),
    (["cost", "predict", "lmul", "-f", "fp8_e4m3fn", "--pipeline", "-1"], "--pipeline"),
    # cost predict: options the unit does not take, as rtl export rejects them
    (["cost", "predict", "lmul", "-f", "fp8_e4m3fn", "--block", "4"], "has no option --block"),
    (["cost", "predict", "int-mul", "-f", "int8", "--acc", "fp32"], "has no option --acc"),
    (["cost", "predict", "minifloat-mul", "-f", "fp8_e4m3fn", "--direction", "to"],
     "has no option --direction"),
    (["cost", "predict", "lmul"], "needs --format"),
    # --format names a number format, presets are --precision
    (["run", "--gemm", "4,4,4", "--format", "fp7"], "presets go to --precision"),
    (["run", "--gemm", "4,4,4", "--format", "int8", "--precision", "int8"], "not both"),
    (["workload", "show", "resnet8", "--precision", "fp8_e4m3fn"], "unknown precision"),
]


@pytest.mark.parametrize(("argv", "needle"), BAD_OPTIONS, ids=lambda v: " ".join(v)
                         if isinstance(v, list) else None)
def test_bad_options_are_one_line_before_any_work(argv, needle, workdir, capsys) -> None:
    from costmodel.dataset import load_dataset

    load_dataset().head(2).to_csv(workdir / TWO_ROWS, index=False)
    before = snapshot(workdir)
    msg = one_error_line(argv, capsys)
    assert needle in msg
    assert snapshot(workdir) == before


def test_predict_checks_options_before_loading_the_model(workdir, capsys) -> None:
    (workdir / "m.npz").write_text("not a model")
    msg = one_error_line(["cost", "predict", "lmul", "-f", "fp8_e4m3fn", "--acc", "fp32",
                          "--model", "m.npz"], capsys)
    assert "has no option --acc" in msg
    msg = one_error_line(["cost", "predict", "lmul", "-f", "fp9_e9m9", "--model", "m.npz"],
                         capsys)
    assert "fp9_e9m9" in msg and "corrupt" not in msg


def test_jobs_above_four_times_the_cores_are_refused(capsys) -> None:
    from hwsim.commands.options import MAX_JOBS

    assert MAX_JOBS == 4 * (os.cpu_count() or 1)
    msg = one_error_line(["cost", "dataset", "--jobs", str(MAX_JOBS + 1)], capsys)
    assert f"1<=x<={MAX_JOBS}" in msg


# --- --format and --precision ----------------------------------------------------------------
def _run_json(argv: list[str], capsys) -> dict:
    assert main(argv) == 0
    out = capsys.readouterr().out

    def no_constant(name: str):
        raise AssertionError(f"JSON holds {name}")

    return json.loads(out, parse_constant=no_constant)


@pytest.mark.parametrize(("fmt", "preset"), [("fp8_e4m3fn", "fp8"), ("int8", "int8")])
def test_run_format_is_every_operand_in_that_format(fmt, preset, capsys) -> None:
    """A single GEMM in one number format costs what the preset with the same operand and
    accumulator formats costs (fp8: e4m3fn operands, fp32 accumulator; int8: int32)."""
    argv = ["run", "--gemm", "64,64,64", "--json"]
    by_format = _run_json([*argv, "--format", fmt], capsys)
    by_preset = _run_json([*argv, "--precision", preset], capsys)
    assert by_format["energy_pj"] == by_preset["energy_pj"]
    assert by_format["total_cycles"] == by_preset["total_cycles"]


@pytest.mark.parametrize(("fmt", "acc"), [("fp8_e4m3fn", "fp32"), ("int4", "int32"),
                                          ("mxfp4", "fp32")])
def test_format_puts_every_operand_of_a_workload_in_it(fmt, acc, tmp_path, capsys) -> None:
    from workloads import load_graph

    out = tmp_path / "g.json"
    assert main(["workload", "export", "resnet8", "--format", fmt, "-o", str(out)]) == 0
    graph = load_graph(out)
    for op in graph.ops:
        operands = {op.fmt.x, op.fmt.y} | ({op.fmt.w} if op.fmt.w else set())
        assert operands == {fmt}, op.name
        assert op.fmt.acc in (acc, "fp32"), op.name  # non-MAC ops compute in fp32
    assert any(op.fmt.acc == acc for op in graph.ops)


def test_format_preset_spelling_still_works_with_a_warning(capsys) -> None:
    argv = ["run", "--gemm", "64,64,64", "--json"]
    old = _run_json([*argv, "--format", "w4a8"], capsys)
    assert main([*argv, "--format", "w4a8"]) == 0
    assert "use --precision w4a8" in capsys.readouterr().err
    assert old == _run_json([*argv, "--precision", "w4a8"], capsys)


def test_run_json_is_strict_and_clock_is_kept(capsys) -> None:
    d = _run_json(["run", "--gemm", "8,8,8", "--clock-mhz", "250", "--json"], capsys)
    assert d["clock_mhz"] == 250.0


# --- files: atomic, never partial, with the user's umask -------------------------------------
@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_written_files_get_the_users_umask(umask, tmp_path, capsys) -> None:
    old = os.umask(umask)
    try:
        p = atomic_write_text(tmp_path / "a.txt", "x")
        assert main(["workload", "export", "resnet8", "-o", str(tmp_path / "g.json")]) == 0
    finally:
        os.umask(old)
    for f in (p, tmp_path / "g.json"):
        assert stat.S_IMODE(f.stat().st_mode) == 0o666 & ~umask


def test_a_failed_write_leaves_no_partial_file(tmp_path, monkeypatch) -> None:
    target = tmp_path / "out.json"
    target.write_text("old\n")

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(HwsimError, match="No space left on device"):
        atomic_write_text(target, "new\n")
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
    assert target.read_text() == "old\n"


@pytest.mark.parametrize("argv", [
    ["formats", "fp8_e4m3fn"],
    ["quantize", "inf", "nan", "1", "-f", "fp8_e4m3fn"],
    ["workload", "list"],
    ["workload", "precisions"],
    ["workload", "show", "resnet8", "--ops"],
    ["workload", "export", "resnet8", "-o", "g.json"],
    ["run", "--gemm", "8,8,8"],
    ["rtl", "units"],
    ["rtl", "export", "int-mul", "-o", "m.v"],
    ["cost", "dataset", "--limit", "0", "-o", "sweep"],
], ids=" ".join)
def test_json_is_one_strict_object(argv, workdir, capsys) -> None:
    """--json prints exactly one object, with no NaN/Infinity (strict parse)."""
    d = _run_json([*argv, "--json"], capsys)
    assert isinstance(d, dict) and d


def test_json_files_are_strict(tmp_path) -> None:
    """What the suite writes as JSON is JSON: NaN/Infinity refused, NumPy scalars plain."""
    import numpy as np

    from hwsim.io import atomic_write_json

    p = atomic_write_json(tmp_path / "a.json", {"n": np.uint64(3), "x": np.float32(0.5)})
    assert json.loads(p.read_text()) == {"n": 3, "x": 0.5}
    for bad in (float("nan"), float("inf"), np.float64("-inf")):
        with pytest.raises(ValueError, match="not JSON compliant"):
            atomic_write_json(tmp_path / "b.json", {"x": bad})
    assert sorted(q.name for q in tmp_path.iterdir()) == ["a.json"]
