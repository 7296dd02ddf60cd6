"""Every command driven through ``main([...])`` with hypothesis-generated arguments.

The contract checked on each case is in ``tests/fuzz/conftest.py`` (exit 0 with valid output
or exit 2 with one ``error:`` line, no traceback, no hang, no file left behind after an
error). Each command's options are read from its click definition, so new options are fuzzed
as soon as they exist; values come from ``VALID`` (by option name: valid ones, mixed with
hostile ones) or, failing that, from the option's click type (``_valid``).

Commands whose valid runs do long work (``rtl verify``/``synth``: Verilator and Yosys;
``cost dataset``/``train``/``validate``/``study``: synthesis sweeps and model fitting;
``demo``: every study) are fuzzed on their argument validation only: ``REFUSED`` adds one
value to every generated command line that must be refused before any work starts.
"""

from __future__ import annotations

import click
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hwsim.cli import SUBCOMMANDS
from tests.fuzz.harness import command, fuzz_cli, fuzz_settings, leaf_commands
from tests.fuzz.strategies import floats, ints, opt

FORMATS = ("fp32", "fp16", "bf16", "fp8_e4m3fn", "fp8_e5m2", "fp6_e3m2fn", "fp4_e2m1fn", "e8m0",
           "int8", "int4", "mxfp4", "mxfp8_e4m3", "nvfp4", "bfp_b16_m7")
PRECISIONS = ("fp16", "fp8", "int8", "w4a8", "w4a16", "w1.58a8", "mxfp4", "nvfp4")
# graph.json and model.onnx are valid inputs in every sandbox (conftest.sandbox)
WORKLOADS = ("resnet8", "ds-cnn", "llama2-7b", "opt-6.7b", "vit-b16", "bitnet-b1.58-3b",
             "graph.json", "missing.json")
UNITS = ("minifloat-mul", "minifloat-add", "mac", "lmul", "block-dot", "convert", "int-mul",
         "int-mac", "lut-precompute", "lut-mpgemm")
OUTPUTS = ("out.json", "sub/dir/out.json", "existing.txt", "existing.txt/below.json", "full",
           "empty", "", ".", "/proc/hwsim-fuzz.json", "out.ys")
DEVICES = ("systolic", "fpga", "fpga:pynq-z2:int8-dsp", "fpga:zcu104:lmul-lut", "fpga:nope:x",
           "graph.json")


def _csv_ints(n: int, hi: int) -> st.SearchStrategy[str]:
    return st.lists(st.integers(0, hi), min_size=n, max_size=n).map(
        lambda v: ",".join(map(str, v)))


# option or argument name -> valid values (hostile ones are mixed in by ``_values``); names
# not here use their click type
VALID: dict[str, st.SearchStrategy[str]] = {
    "--format": st.sampled_from(FORMATS), "--precision": st.sampled_from(PRECISIONS),
    "--weight-format": st.sampled_from(FORMATS), "--act-format": st.sampled_from(FORMATS),
    "--acc-format": st.sampled_from(FORMATS), "--kv-format": st.sampled_from(FORMATS),
    "--out": st.sampled_from(OUTPUTS[:2]), "--trace": st.sampled_from(OUTPUTS[:2]),
    "--build-dir": st.sampled_from(OUTPUTS[:2]), "--plots": st.sampled_from(OUTPUTS[:2]),
    "--phase": st.sampled_from(("prefill", "decode", "inference", "train")),
    "--seq": ints(1, 32), "--kv-len": ints(1, 32), "--batch": ints(1, 2), "--layers": ints(1, 6),
    "--seed": ints(0, 9), "--pipeline": ints(0, 2), "--random": ints(1, 64),
    "--block": st.sampled_from(("1", "2", "4", "8", "32")),
    "--acc": st.sampled_from(("fp32", "fp16", "bf16", "16", "24", "32")),
    "--mul": st.sampled_from(("exact", "lmul")), "--direction": st.sampled_from(("to", "from")),
    "--k": ints(2, 4), "--m": ints(1, 2), "--n": ints(1, 2), "--weight-bits": ints(1, 4),
    "--family": st.sampled_from(("ice40", "ecp5", "xilinx")),
    "--name": st.sampled_from(("net", "a b", "x" * 300)),
    "--device": st.sampled_from(DEVICES[:4]),
    # run: small sizes only (a huge GEMM is the device models' own test, tests/devices)
    "--workload": st.sampled_from(("resnet8", "ds-cnn", "graph.json")),
    "--gemm": _csv_ints(3, 48), "--conv": _csv_ints(8, 12),
    "--array": st.tuples(st.integers(1, 16), st.integers(1, 16)).map(lambda t: f"{t[0]}x{t[1]}"),
    "--sram-kb": st.sampled_from(("64,64,64", "1,1,1", "8,16,4")),
    "--bandwidth": floats(0.5, 64), "--clock-mhz": floats(1, 2000),
    "--costs": st.just("analytical"),  # 'learned' loads the shipped model: tests/devices
    "--model": st.sampled_from(("missing.npz", "existing.txt", "full")),
    "--data": st.sampled_from(("missing.csv", "existing.txt", "full", "empty")),
    "--jobs": ints(1, 2), "--limit": ints(0, 0), "--folds": ints(2, 3),
    # arguments
    "target": st.sampled_from(WORKLOADS), "name": st.sampled_from(WORKLOADS),
    "unit": st.sampled_from(UNITS), "device": st.sampled_from(DEVICES),
    "model": st.sampled_from(("model.onnx", "graph.json", "missing.onnx", "full")),
    "names": st.sampled_from(FORMATS),
    "values": st.sampled_from(("1.5", "-3e-4", "448", "1e-9", "inf", "nan", "-0")),
    # sweep: sweep.yaml and swept/ (a finished two-point sweep) are in every sandbox
    "file": st.sampled_from(("sweep.yaml", "missing.yaml", "graph.json", "full")),
    "folder": st.sampled_from(("swept", "full", "empty", "missing", "existing.txt")),
    "--workers": ints(1, 2), "--dask-local": ints(1, 2),
    "--scheduler": st.sampled_from(("tcp://127.0.0.1:1", "nonsense://x", "")),
    # scalesim: SCALE-Sim's short flags (its inputs are in every sandbox)
    "-c": st.just("calc_os.cfg"),
    "-t": st.sampled_from(("gemm.csv", "conv.csv")), "-p": st.sampled_from(OUTPUTS[:2]),
    # reproduce: study names (its runs are tests/studies/test_reproduce.py's)
    "study": st.sampled_from(("lmul_precision", "fpga_minifloat_vs_int", "all", "nope")),
    # report: a folder for run's page, the start of a point's key for the sweep's
    "--report": st.sampled_from(("rep", "sub/rep")), "--point": st.sampled_from(("", "0", "f")),
}
#: Commands that need exactly one of these options (a clean example draws one of them).
ONE_OF: dict[tuple[str, ...], tuple[str, ...]] = {("run",): ("--workload", "--gemm", "--conv")}

NOT_AN_INT = st.sampled_from(("x", "", "1.5", "inf", "nan", "0x10", "--", "-1"))
UNKNOWN_FORMAT = st.sampled_from(("fp9", "int0", "mxfp5", "fp8_e9m9", "e8m0x"))
MISSING = st.sampled_from(("missing.csv", "existing.txt/x", "empty"))
# refused for every unit: out of the LUT units' ranges, and an option the others lack
LUT_BAD_K = st.sampled_from(("1", "7", "x"))
LUT_BAD_BITS = st.sampled_from(("0", "5", "x"))

# command -> option -> values that must be refused before any long work starts
REFUSED: dict[tuple[str, ...], dict[str, st.SearchStrategy[str]]] = {
    ("rtl", "verify"): {"--random": st.sampled_from(("0", "-1", "x")), "--format": UNKNOWN_FORMAT,
                        "--pipeline": NOT_AN_INT, "--weight-bits": LUT_BAD_BITS},
    ("rtl", "synth"): {"--format": UNKNOWN_FORMAT, "--pipeline": NOT_AN_INT, "--k": LUT_BAD_K},
    ("cost", "dataset"): {"--jobs": st.sampled_from(("0", "-1", "x", "100000")),
                          "--limit": NOT_AN_INT},
    ("cost", "train"): {"--folds": st.sampled_from(("0", "1", "-1", "x")), "--data": MISSING,
                        "--seed": NOT_AN_INT},
    ("cost", "validate"): {"--folds": st.sampled_from(("0", "1", "-1", "x")), "--data": MISSING,
                           "--split": st.sampled_from(("", "DESIGN", "RANDOM"))},
    ("cost", "study"): {"--data": MISSING, "--model": st.sampled_from(("missing.npz",
                                                                      "existing.txt"))},
    ("demo",): {"--seed": NOT_AN_INT, "--out": st.just("existing.txt/sub")},
    ("reproduce",): {"--out": st.just("existing.txt/sub")},
    # starting pools and Dask clusters: their runs are tests/sweep's
    ("sweep", "run"): {"--workers": st.sampled_from(("0", "-1", "x", "100000")),
                       "--dask-local": st.sampled_from(("0", "-2", "x"))},
}


def _key(param: click.Parameter) -> str:
    return max(param.opts, key=len) if isinstance(param, click.Option) else str(param.name)


def _valid(param: click.Parameter) -> st.SearchStrategy[str] | None:
    """Valid values of ``param`` (None: none known)."""
    if _key(param) in VALID:
        return VALID[_key(param)]
    t = param.type
    if isinstance(t, click.Choice):
        return st.sampled_from(tuple(t.choices))
    if isinstance(t, click.IntRange):
        lo = t.min if t.min is not None else 0
        return ints(lo, lo + 3)
    if isinstance(t, click.types.FloatParamType):
        return floats(0.5, 100)
    return None


@st.composite
def command_lines(draw, path: tuple[str, ...]) -> list[str]:
    """``path`` + its arguments + a random subset of its options in random order (required
    ones always), + one refused value for commands in ``REFUSED``.

    Half the examples are clean (valid values only, the options without known valid values
    left out, one of each ``ONE_OF`` group), so each command's success path is fuzzed too;
    the others mix hostile values into every option.
    """
    cmd = command(path)
    clean = draw(st.booleans())

    def value(p: click.Parameter) -> str:
        valid = _valid(p)
        return draw(opt(valid) if not clean or valid is None else valid)

    out = list(path)
    for p in cmd.params:
        if isinstance(p, click.Argument):
            if p.nargs == -1:
                out += [value(p) for _ in range(draw(st.integers(int(p.required), 3)))]
            elif p.required or draw(st.booleans()):
                out.append(value(p))
    options = [p for p in cmd.params if isinstance(p, click.Option) and p.name != "help"]
    optional = [p for p in options if not p.required]
    if clean:
        group = ONE_OF.get(path, ())
        keep = draw(st.sampled_from(group)) if group else None
        optional = [p for p in optional if (p.is_flag or _valid(p) is not None)
                    and (_key(p) not in group or _key(p) == keep)]
    chosen = [p for p in options if p.required]
    if optional:
        chosen += draw(st.lists(st.sampled_from(optional), max_size=len(optional), unique=True))
    if clean and ONE_OF.get(path):
        chosen += [p for p in optional if _key(p) == keep and p not in chosen]
    for p in draw(st.permutations(chosen)):
        out.append(draw(st.sampled_from(p.opts + p.secondary_opts)))
        if not p.is_flag:
            out.append(value(p))
    if path in REFUSED:
        name = draw(st.sampled_from(sorted(REFUSED[path])))
        out += [name, draw(REFUSED[path][name])]
    return out


LEAVES = leaf_commands()


def test_every_command_is_fuzzed() -> None:
    """The walk finds every subcommand group, and each option name in ``VALID``/``REFUSED``
    still exists somewhere (a renamed option must not silently fall back to its type)."""
    assert set(SUBCOMMANDS) == {p[0] for p in LEAVES}
    names = {_key(p) for path in LEAVES for p in command(path).params}
    assert sorted(set(VALID) - names) == []
    assert sorted({o for opts in REFUSED.values() for o in opts} - names) == []
    assert sorted(set(REFUSED) - set(LEAVES)) == []


#: One valid run per command whose first run loads much (a model, RTL generators), made
#: before the timed examples so that hypothesis' deadline measures the command, not imports.
WARM_UP: dict[tuple[str, ...], list[str]] = {
    ("cost", "predict"): ["cost", "predict", "mac", "--format", "fp8_e4m3fn"],
    ("rtl", "export"): ["rtl", "export", "mac", "-o", "m.v"],
    ("reproduce",): ["reproduce", "--list"],
    ("report",): ["report", "swept"],  # matplotlib, Jinja2, the sandbox's sweep store
    ("run",): ["run", "--gemm", "8,8,8", "--report", "rep"],  # the same for run's --report
}


@pytest.fixture
def warm(request) -> None:
    path = request.node.callspec.params["path"]
    if path in WARM_UP:
        assert fuzz_cli(WARM_UP[path], limit_s=900).rc == 0  # imports may take minutes


@pytest.mark.parametrize("path", LEAVES, ids=" ".join)
def test_fuzz_command(path: tuple[str, ...], warm) -> None:
    @fuzz_settings()
    @given(command_lines(path))
    def case(args: list[str]) -> None:
        fuzz_cli(args)

    case()


@pytest.mark.parametrize("path", LEAVES, ids=" ".join)
def test_help_and_unknown_option(path: tuple[str, ...]) -> None:
    out = fuzz_cli([*path, "--help"])
    assert out.rc == 0 and "Usage:" in out.out
    out = fuzz_cli([*path, "--no-such-option"])
    assert out.rc == 2
    if not command(path).context_settings.get("ignore_unknown_options"):
        assert "No such option" in out.err


@pytest.mark.parametrize("argv", [
    ["rtl", "units", "\r"], ["formats", "a\nb"], ["workload", "show", "x\u2028y"],
    ["formats", "\x1b[31mred"], ["workload", "show", "\udce9"],
])
def test_error_messages_are_one_printable_line(argv: list[str]) -> None:
    """User text echoed in a message cannot break the one line (or colour the terminal)."""
    out = fuzz_cli(argv)
    assert out.rc == 2 and out.err.endswith("\n") and out.err[:-1].isprintable(), out.err


def test_quantize_takes_negative_infinity() -> None:
    """'-inf' is a value, not the short options -i -n -f (once: exit 2, 'cannot convert -in')."""
    out = fuzz_cli(["quantize", "-inf", "-f", "fp8_e5m2", "--json"])
    assert out.rc == 0 and '"value": "-inf"' in out.out
