"""Every command's ``--json`` output is one object that a strict JSON parser reads.

Strict: ``NaN`` and ``Infinity`` (which Python's ``json`` writes by default, and most other
parsers refuse) fail the test. The commands are found by walking the CLI, so a new command
with ``--json`` fails ``test_every_json_command_has_a_case`` until it gets a representative
invocation in ``CASES``. Each case runs in a fresh folder (``tests/fuzz/harness.py``); cases
that synthesise, simulate RTL or fit models carry the ``rtl`` or ``slow`` mark.
"""

from __future__ import annotations

import pytest

from tests.fuzz import corpus
from tests.fuzz.harness import command, leaf_commands, run_cli, strict_json
from tests.tooling import require_tool

JSON_COMMANDS = [p for p in leaf_commands()
                 if any("--json" in getattr(o, "opts", ()) for o in command(p).params)]

slow = pytest.mark.slow
# command -> representative invocations (values chosen to reach non-finite numbers where a
# command can meet them: NaN/inf inputs to quantize, a tiny dataset's scores)
CASES: dict[tuple[str, ...], list[tuple[list[str], tuple]]] = {
    ("formats",): [(["formats", "--json"], ()), (["formats", "fp8_e4m3fn", "--json"], ())],
    ("quantize",): [(["quantize", "-f", "fp8_e4m3fn", "--json", "--", "1.3", "nan", "inf",
                      "-inf", "1e300", "-0"], ()),
                    (["quantize", "nan", "inf", "-f", "fp8_e5m2", "--json"], ())],
    ("devices",): [(["devices", "--json"], ()), (["devices", "systolic", "--json"], ())],
    ("workload", "list"): [(["workload", "list", "--json"], ())],
    ("workload", "precisions"): [(["workload", "precisions", "--json"], ())],
    ("workload", "show"): [(["workload", "show", "llama2-7b", "--phase", "decode", "--ops",
                             "--json"], ()),
                           (["workload", "show", "graph.json", "--json"], ())],
    ("workload", "export"): [(["workload", "export", "resnet8", "-o", "g.json", "--json"], ())],
    ("workload", "import"): [(["workload", "import", "model.onnx", "-o", "g.json", "--json"],
                              ())],
    ("run",): [(["run", "--gemm", "64,64,64", "--json"], ()),
               (["run", "--workload", "resnet8", "--bandwidth", "1", "--json"], ()),
               (["run", "--workload", "graph.json", "--device", "fpga:pynq-z2:int8-dsp",
                 "--json"], ()),
               (["run", "--gemm", "64,64,64", "--report", "rep", "--json"], ())],
    ("rtl", "units"): [(["rtl", "units", "--json"], ())],
    ("rtl", "export"): [(["rtl", "export", "int-mul", "--format", "int4", "-o", "m.v",
                          "--json"], ()),
                        (["rtl", "export", "lut-mpgemm", "--k", "2", "--m", "2", "--n", "2",
                          "--weight-bits", "4", "-o", "lut.v", "--json"], ())],
    ("rtl", "synth"): [(["rtl", "synth", "int-mul", "--format", "int4", "--family", "ice40",
                         "--build-dir", "b", "--json"], (pytest.mark.rtl, "yosys"))],
    ("rtl", "verify"): [(["rtl", "verify", "int-mul", "--format", "int4", "--build-dir", "b",
                          "--json"], (pytest.mark.rtl, "verilator"))],
    ("cost", "dataset"): [(["cost", "dataset", "--limit", "0", "-o", "ds", "--json"], ())],
    ("cost", "predict"): [(["cost", "predict", "mac", "--format", "fp8_e4m3fn", "--json"], ()),
                          (["cost", "predict", "block-dot", "--format", "mxfp4", "--json"], ()),
                          (["cost", "predict", "lmul", "--format", "e3m3", "--exact",
                            "--json"], ())],
    ("cost", "train"): [(["cost", "train", "--data", "small.csv", "--folds", "2", "-o",
                          "m.npz", "--json"], (slow,))],
    ("cost", "validate"): [(["cost", "validate", "--data", "small.csv", "--folds", "2",
                             "--json"], (slow,)),
                           (["cost", "validate", "--data", "lopsided.csv", "--split", "family",
                             "--folds", "2", "--json"], (slow,))],
    ("cost", "study"): [(["cost", "study", "--no-validate", "-o", "study", "--json"], (slow,))],
    ("demo",): [(["demo", "-o", "demo", "--json"], (slow,))],
    ("scalesim",): [(["scalesim", "-c", "calc_os.cfg", "-t", "gemm.csv", "-i", "gemm", "-p", "ss",
                      "--json"],
                     ())],
    ("reproduce",): [(["reproduce", "--list", "--json"], ()),
                     (["reproduce", "lmul_precision", "--quick", "-o", "lp", "--json"], ())],
    ("sweep", "run"): [(["sweep", "run", "sweep.yaml", "-o", "sw", "--workers", "1", "--json"],
                        ())],
    ("sweep", "status"): [(["sweep", "status", "swept", "--json"], ())],
    ("sweep", "export"): [(["sweep", "export", "swept", "-o", "swept.csv", "--json"], ())],
    ("report",): [(["report", "swept", "--json"], ())],
}


def test_every_json_command_has_a_case() -> None:
    assert JSON_COMMANDS, "no command has --json?"
    assert sorted(set(JSON_COMMANDS) - set(CASES)) == [], "add a representative invocation"


def _params():
    for path in sorted(CASES):
        for argv, extra in CASES[path]:
            marks = [m for m in extra if isinstance(m, pytest.MarkDecorator)]
            tools = [t for t in extra if isinstance(t, str)]
            skip = [pytest.mark.skip(reason=f"hwsim {' '.join(path)} does not exist here")]
            yield pytest.param(argv, tools, marks=marks + (skip if path not in JSON_COMMANDS
                                                           else []),
                               id=" ".join(argv[:4]))


@pytest.mark.parametrize(("argv", "tools"), list(_params()))
def test_json_output_is_strict(argv: list[str], tools: list[str]) -> None:
    for tool in tools:
        require_tool(tool)
    datasets = {"small.csv": corpus.small_dataset_csv, "lopsided.csv": corpus.lopsided_dataset_csv}
    inputs = {name: make() for name, make in datasets.items() if name in argv}
    out = run_cli(argv, inputs, limit_s=1800)  # the demo and model fitting take minutes
    assert out.rc == 0, out.describe()
    value = strict_json(out.out)  # raises on NaN/Infinity or anything but one JSON value
    assert isinstance(value, dict), f"--json must print one object, got {type(value)}"
