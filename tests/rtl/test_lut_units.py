"""The LUT tensor core units (``lut-precompute``, ``lut-mpgemm``) against their golden model
(:mod:`hwsim.numerics.lut`, itself checked against numpy in tests/numerics/test_lut_golden.py),
in PyRTL and in Verilator through cocotb, lint under ``verilator -Wall``, and Yosys."""

from __future__ import annotations

import numpy as np
import pyrtl
import pytest

from hwsim.cli import main
from hwsim.errors import HwsimError
from hwsim.numerics import encode, lut_lookup, lut_mpgemm, lut_table
from rtl.export import lint, write_verilog
from rtl.pyrtl_sim import verify_pyrtl
from rtl.synth import synthesize
from rtl.unit import build_unit
from tests.rtl.unit_helpers import assert_ok, run_verilator

F16_CORNERS = encode(np.array([65504.0, -65504.0, 2.0**-24, -(2.0**-24), 2.0**-14 - 2.0**-24,
                               0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, 32768.0]),
                     "fp16").astype(np.uint64)
I8_CORNERS = np.array([127, 128, 255, 0, 1], dtype=np.uint64)  # 127, -128, -1, 0, 1


def _act_vectors(k: int, fmt: str, n: int = 3000, seed: int = 0) -> dict[str, np.ndarray]:
    """Random activation codes, every corner crossed with every corner in a_0/a_1, and all
    ports at the same corner (max + max + ...: fp16 sums overflowing, int8 extremes)."""
    rng = np.random.default_rng(seed)
    corners = F16_CORNERS if fmt == "fp16" else I8_CORNERS
    bits = 16 if fmt == "fp16" else 8
    cols = {f"a_{j}": rng.integers(0, 1 << bits, n, dtype=np.uint64) for j in range(k)}
    if fmt == "fp16":  # values of similar size, so sums round, cancel and go subnormal
        vals = rng.standard_normal((n, k)) * 2.0 ** rng.integers(-24, 16, (n, 1))
        with np.errstate(over="ignore"):
            codes = encode(vals, "fp16").astype(np.uint64)
        for j in range(k):
            cols[f"a_{j}"][: n // 2] = codes[: n // 2, j]
    c0, c1 = (x.ravel() for x in np.meshgrid(corners, corners))
    same = {f"a_{j}": corners for j in range(k)}
    for j in range(k):
        extra = [c0 if j == 0 else c1 if j == 1 else rng.choice(corners, len(c0)), same[f"a_{j}"]]
        cols[f"a_{j}"] = np.concatenate([cols[f"a_{j}"], *extra])
    return cols


def _wide_outputs(unit, vectors: dict[str, np.ndarray]) -> list[int]:
    """``y`` per vector from PyRTL, as Python ints (rtl.verify carries at most 64 bits)."""
    assert unit.latency == 0
    with pyrtl.set_working_block(unit.block, no_sanity_check=True):
        sim = pyrtl.FastSimulation(block=unit.block)
        out = []
        for i in range(len(next(iter(vectors.values())))):
            sim.step({p: int(v[i]) for p, v in vectors.items()})
            out.append(sim.inspect("y"))
    return out


@pytest.mark.parametrize(("fmt", "k", "pipeline"), [("int8", 3, 0), ("int8", 2, 1),
                                                    ("fp16", 3, 0), ("fp16", 3, 2),
                                                    ("fp16", 2, 0)])
def test_precompute_pyrtl(fmt, k, pipeline) -> None:
    unit = build_unit("lut-precompute", k=k, format=fmt, pipeline=pipeline)
    assert_ok(verify_pyrtl(unit, _act_vectors(k, fmt)), 3000)


@pytest.mark.parametrize("fmt", ["int8", "fp16"])
def test_precompute_paper_k4_every_entry(fmt) -> None:
    """K=4 (the paper's: 8 entries, 80 or 128 output bits): each entry against lut_table."""
    unit = build_unit("lut-precompute", k=4, format=fmt)
    vectors = _act_vectors(4, fmt, n=1500)
    got = _wide_outputs(unit, vectors)
    width = unit.outputs["y"] // 8
    acts = np.stack([vectors[f"a_{j}"] for j in range(4)], axis=-1)
    if fmt == "fp16":
        from hwsim.numerics import decode  # noqa: PLC0415
        vals = decode(acts, "fp16").astype(np.float64)
    else:
        vals = np.where(acts >= 128, acts.astype(np.int64) - 256, acts.astype(np.int64))
    with np.errstate(over="ignore", invalid="ignore"):
        table = lut_table(vals, fmt)
    for i in range(8):
        field = np.array([(y >> (i * width)) & ((1 << width) - 1) for y in got], np.uint64)
        if fmt == "fp16":
            nan = np.isnan(table[:, i])
            want = encode(np.where(nan, 0.0, table[:, i]), "fp16").astype(np.uint64)
            assert np.array_equal(field[~nan], want[~nan]), i
            assert np.all(field[nan] == 0x7E00), i  # the canonical NaN
        else:
            want = table[:, i].astype(np.int64).astype(np.uint64) & np.uint64((1 << width) - 1)
            assert np.array_equal(field, want), i


def _tile_vectors(unit, seed: int = 0, reps: int = 3) -> dict[str, np.ndarray]:
    """Every weight pattern of every column at every plane (exhaustive over weights), ``reps``
    times over with random tables, corner tables and a new sum (``clr``) every B planes."""
    rng = np.random.default_rng(seed)
    p = unit.params
    k, m, n, b, fmt = p["k"], p["m"], p["n"], p["weight_bits"], p["format"]
    patterns = np.arange(1 << k, dtype=np.uint64)
    grid = np.stack(np.meshgrid(*[patterns] * n, indexing="ij"), -1).reshape(-1, n)
    grid = np.tile(np.repeat(grid, b, axis=0), (reps, 1))
    cycles = len(grid)
    cols = {f"w_{c}": grid[:, c] for c in range(n)}
    if b > 1:
        cols["plane"] = (np.arange(cycles) % b).astype(np.uint64)
    cols["clr"] = (rng.random(cycles) < 1 / (4 * b)).astype(np.uint64)
    cols["clr"][::b * 8] = 1
    width = unit.inputs["t_0_0"]
    corners = F16_CORNERS if fmt == "fp16" else np.array(
        [(1 << (width - 1)) - 1, 1 << (width - 1), 0, 1, (1 << width) - 1], np.uint64)
    for r in range(m):
        for i in range(1 << (k - 1)):
            if fmt == "fp16":
                v = rng.standard_normal(cycles) * 2.0 ** rng.integers(-20, 14, cycles)
                t = encode(v, "fp16").astype(np.uint64)
            else:
                t = rng.integers(0, 1 << width, cycles, dtype=np.uint64)
            corner_rows = rng.random(cycles) < 0.1
            t[corner_rows] = rng.choice(corners, int(corner_rows.sum()))
            cols[f"t_{r}_{i}"] = t
    return cols


MPGEMM = [  # M x N x accumulator bits <= 64: rtl.verify carries y in 64 bits
    {"format": "int8", "acc": "int16", "weight_bits": 2, "m": 2},
    {"format": "int8", "acc": "int32", "weight_bits": 4, "m": 1, "n": 2},
    {"format": "int8", "acc": "int16", "weight_bits": 1, "m": 2, "pipeline": 1},
    {"format": "fp16", "acc": "fp16", "weight_bits": 2, "m": 2},
    {"format": "fp16", "acc": "fp16", "weight_bits": 4, "m": 2, "pipeline": 1},
    {"format": "fp16", "acc": "fp32", "weight_bits": 3, "m": 1, "n": 2},
]


@pytest.mark.parametrize("kw", MPGEMM, ids=lambda kw: "-".join(map(str, kw.values())))
def test_mpgemm_pyrtl_exhaustive_weights(kw) -> None:
    unit = build_unit("lut-mpgemm", **kw)
    vectors = _tile_vectors(unit)
    assert_ok(verify_pyrtl(unit, vectors), len(vectors["clr"]))


@pytest.mark.rtl
@pytest.mark.parametrize(("unit_name", "kw"), [
    ("lut-precompute", {"k": 2, "format": "fp16", "pipeline": 1}),
    ("lut-precompute", {"k": 3, "format": "int8"}),
    # Verilator builds of these take 1-4 minutes on a shared 2-core machine
    pytest.param("lut-precompute", {"k": 3, "format": "fp16", "pipeline": 1},
                 marks=pytest.mark.slow),
    pytest.param("lut-mpgemm", MPGEMM[0], marks=pytest.mark.slow),
    pytest.param("lut-mpgemm", MPGEMM[3], marks=pytest.mark.slow),
])
def test_verilator_matches_golden(unit_name, kw, rtl_build_dir) -> None:
    unit = build_unit(unit_name, **kw)
    vectors = _act_vectors(kw["k"], kw["format"], n=2000) if unit_name == "lut-precompute" \
        else _tile_vectors(unit, reps=1)
    result = run_verilator(unit, vectors, build_dir=rtl_build_dir)
    assert_ok(result, len(next(iter(vectors.values()))))


@pytest.mark.rtl
@pytest.mark.parametrize(("unit_name", "kw"), [
    ("lut-precompute", {"k": 4, "format": "fp16", "pipeline": 2}),
    ("lut-precompute", {"k": 4, "format": "int8"}),
    ("lut-mpgemm", {"format": "fp16", "weight_bits": 4, "pipeline": 1}),
    ("lut-mpgemm", {"format": "int8", "weight_bits": 1}),
])
def test_verilog_is_lint_clean(unit_name, kw, tmp_path, verilator) -> None:
    unit = build_unit(unit_name, **kw)
    path = write_verilog(unit, tmp_path / f"{unit.name}.v")
    assert lint(path, unit.name) == []


@pytest.mark.rtl
def test_yosys_area_grows_with_the_tile(yosys, rtl_build_dir) -> None:
    """Twice the columns: twice the accumulators and lookups, one shared table input."""
    one, two = (synthesize(build_unit("lut-mpgemm", format="int8", n=n), families=(),
                           build_dir=rtl_build_dir) for n in (2, 4))
    ratio = two.transistors / one.transistors
    assert 1.7 < ratio < 2.1, ratio
    assert one.cmos_cells.get("SDFF_PP0_", 0) * 2 == two.cmos_cells.get("SDFF_PP0_", 0)


@pytest.mark.parametrize(("unit_name", "kw", "needle"), [
    ("lut-mpgemm", {"weight_bits": 5}, "weight bits must be 1..4"),
    ("lut-mpgemm", {"weight_bits": 0}, "weight bits must be 1..4"),
    ("lut-mpgemm", {"k": 7}, "K must be an integer 2..6"),
    ("lut-precompute", {"k": 1}, "K must be an integer 2..6"),
    ("lut-precompute", {"format": "bf16"}, "no LUT path"),
    ("lut-mpgemm", {"format": "fp8_e4m3fn"}, "no LUT path"),
    ("lut-mpgemm", {"acc": "int8"}, "int11..int32"),
    ("lut-mpgemm", {"format": "fp16", "acc": "int32"}, "fp16, fp32"),
    ("lut-mpgemm", {"m": 0}, "M must be a positive"),
    ("lut-mpgemm", {"n": 2.5}, "N must be a positive"),
    ("lut-mpgemm", {"m": 64, "n": 128}, "above 4096"),
    ("lut-mpgemm", {"pipeline": 2}, "deeper than the logic"),
])
def test_bad_parameters(unit_name, kw, needle) -> None:
    with pytest.raises(HwsimError, match=needle):
        build_unit(unit_name, **kw)


@pytest.mark.parametrize(("argv", "needle"), [
    (["rtl", "export", "lut-mpgemm", "--format", "fp8_e4m3fn"], "no LUT path"),
    (["rtl", "export", "lut-mpgemm", "--acc", "int8"], "int11..int32"),
    (["rtl", "verify", "lut-precompute", "--format", "int4"], "no LUT path"),
    (["rtl", "export", "lut-precompute", "--acc", "fp32"], "--acc"),
])
def test_cli_bad_input_is_one_error_line(argv, needle, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and needle in err[0], err


def _run_gemm(unit, a: np.ndarray, q: np.ndarray) -> list[int]:
    """Drive the tile as its controller would for ``A @ W``: per K-group its M tables (from
    lut_precompute's golden model), per plane (LSB first) the plane bits of W's columns; ``clr``
    on the first cycle. Returns the M x N accumulator codes after the last cycle."""
    p = unit.params
    k, m, n, b, fmt = p["k"], p["m"], p["n"], p["weight_bits"], p["format"]
    width = unit.inputs["t_0_0"]
    tables = lut_table(a.reshape(m, -1, k), fmt)  # (M, G, 2^(K-1))
    steps = []
    for g in range(tables.shape[1]):
        for plane in range(b):
            step = {"rst": 0, "clr": int(g == 0 and plane == 0)}
            if b > 1:
                step["plane"] = plane
            for r in range(m):
                codes = encode(tables[r, g], "fp16") if fmt == "fp16" else \
                    tables[r, g].astype(np.int64) & ((1 << width) - 1)
                step |= {f"t_{r}_{i}": int(c) for i, c in enumerate(codes)}
            bits = (q[g * k:(g + 1) * k] >> plane) & 1  # (K, N)
            step |= {f"w_{c}": int((bits[:, c] << np.arange(k)).sum()) for c in range(n)}
            steps.append(step)
    acc = unit.outputs["y"] // (m * n)
    with pyrtl.set_working_block(unit.block, no_sanity_check=True):
        sim = pyrtl.FastSimulation(block=unit.block)
        sim.step({**{port: 0 for port in unit.inputs}, "rst": 1})
        for step in steps:
            sim.step(step)
        sim.step(steps[-1])  # inspect gives a wire's value in the last cycle stepped
        y = sim.inspect("y")
    return [(y >> (i * acc)) & ((1 << acc) - 1) for i in range(m * n)]


@pytest.mark.parametrize("bits", [1, 2, 4])
def test_tile_computes_the_int8_gemm(bits) -> None:
    """A 2 x 8 int8 tile over 6 K-groups equals the int64 matmul of A with the weights."""
    rng = np.random.default_rng(bits)
    unit = build_unit("lut-mpgemm", format="int8", m=2, n=8, weight_bits=bits)
    a = rng.integers(-128, 128, (2, 24))
    a[0, :4] = -128  # a table entry at its extreme
    q = rng.integers(0, 1 << bits, (24, 8))
    want = (a @ (2 * q - ((1 << bits) - 1))).astype(np.int64).ravel()
    got = np.array(_run_gemm(unit, a, q), dtype=np.int64)
    assert np.array_equal(np.where(got >= 2**31, got - 2**32, got), want)


def test_tile_computes_the_fp16_gemm() -> None:
    """A 2 x 8 fp16 tile with the paper's fp16 accumulator equals lut_mpgemm bit for bit."""
    rng = np.random.default_rng(7)
    unit = build_unit("lut-mpgemm", format="fp16", acc="fp16", m=2, n=8, weight_bits=2)
    a = rng.standard_normal((2, 24)).astype(np.float16).astype(np.float64)
    q = rng.integers(0, 4, (24, 8))
    want = encode(lut_mpgemm(a, q, 2, "fp16", "fp16"), "fp16").ravel()
    assert _run_gemm(unit, a, q) == [int(c) for c in want]



@pytest.mark.parametrize(("fmt", "bits"), [("int8", 2), ("int8", 4), ("fp16", 2)])
def test_full_table_tile_computes_what_the_symmetrised_one_does(fmt, bits) -> None:
    """``symmetric=False`` (no table symmetrisation: 2^K entries, no negation) fed the full
    tables hwsim.numerics.lut_lookup expands from the golden half tables gives, cycle for
    cycle, the golden model's accumulators (int8: the wrapped int64 sums; fp16: the codes)."""
    k, m, n = 3, 1, 2
    unit = build_unit("lut-mpgemm", k=k, m=m, n=n, weight_bits=bits, format=fmt,
                      symmetric=False)
    assert unit.name.endswith("_full") and unit.inputs["t_0_7"] and "t_0_8" not in unit.inputs
    sym = build_unit("lut-mpgemm", k=k, m=m, n=n, weight_bits=bits, format=fmt)
    half = _tile_vectors(sym, reps=1)
    width = sym.inputs["t_0_0"]
    if fmt == "int8":  # -(-2^(w-1)) needs w + 1 bits: no K-term int8 sum is that entry
        for i in range(1 << (k - 1)):
            half[f"t_0_{i}"][half[f"t_0_{i}"] == 1 << (width - 1)] = 0
    codes = np.stack([half[f"t_0_{i}"] for i in range(1 << (k - 1))], -1)
    if fmt == "fp16":
        from hwsim.numerics import decode

        table = decode(codes, "fp16").astype(np.float64)
    else:
        table = np.where(codes >= 1 << (width - 1), codes.astype(np.int64) - (1 << width),
                         codes.astype(np.int64))
    full = lut_lookup(table[:, None, :], np.arange(1 << k)[None, :])  # (cycles, 2^K)
    cols = {p: v for p, v in half.items() if not p.startswith("t_")}
    for x in range(1 << k):
        cols[f"t_0_{x}"] = encode(full[:, x], "fp16").astype(np.uint64) if fmt == "fp16" else \
            (full[:, x].astype(np.int64) & ((1 << width) - 1)).astype(np.uint64)
    assert_ok(verify_pyrtl(unit, cols), len(cols["clr"]))
    # and the same accumulators as the symmetrised tile on the half tables
    assert np.array_equal(unit.reference(cols), sym.reference(half))


@pytest.mark.parametrize("fmt", ["int8", pytest.param("fp16", marks=pytest.mark.slow)])
def test_paper_tile_computes_the_gemm(fmt) -> None:
    """The authors' tile, M=2, N=64, K=4, W2, over 4 K-groups (fp16: ~70 s of PyRTL)."""
    rng = np.random.default_rng(3)
    unit = build_unit("lut-mpgemm", format=fmt, m=2, n=64, weight_bits=2)
    a = rng.integers(-128, 128, (2, 16)) if fmt == "int8" else \
        rng.standard_normal((2, 16)).astype(np.float16).astype(np.float64)
    q = rng.integers(0, 4, (16, 64))
    want = lut_mpgemm(a, q, 2, fmt)
    want = want.astype(np.int64) & 0xFFFFFFFF if fmt == "int8" else encode(want, "fp16")
    assert _run_gemm(unit, a, q) == [int(c) for c in want.ravel()]

# The paper's claim (v1 abstract, issue 15): "more than an order of magnitude" better compute
# density and energy efficiency than MAC tensor cores: tolerance > 10x, fixed before measuring.
# Ours: hwsim/data/lut_unit_yosys.yaml (sim_results/lut_tensor_core/synth_units.py), the LUT
# tile against the MAC slice of equal throughput at an equal clock.
CLAIM_X = 10.0


def _ratio(row: str, what: str) -> float:
    from hwsim.sourced import load_table  # noqa: PLC0415

    t = load_table("hwsim", "data/lut_unit_yosys.yaml")
    if what == "density":
        return t.value(f"mac_{row}.area_transistors") / t.value(f"lut_{row}.area_transistors")
    act = t.value(f"lut_{row}.act_format")
    return t.value(f"mac1_{act}.energy_pj_per_op") / t.value(f"lut_{row}.energy_pj_per_op")


def _miss(measured: str):
    return pytest.mark.xfail(strict=True, reason=f"paper claims >10x; measured {measured}")


@pytest.mark.parametrize(("row", "what"), [
    ("w1_fp16_m2n16k4", "density"),
    ("w1_fp16_m2n64k4", "density"),  # the authors' tile
    pytest.param("w2_fp16_m2n64k4", "density", marks=_miss("4.98x")),
    pytest.param("w4_fp16_m2n64k4", "density", marks=_miss("2.41x")),
    pytest.param("w2_int8_m2n64k4", "density", marks=_miss("3.35x")),
    pytest.param("w1_fp16_m2n16k4", "energy", marks=_miss("4.50x")),
    pytest.param("w1_fp16_m2n64k4", "energy", marks=_miss("4.49x")),
    pytest.param("w2_fp16_m2n64k4", "energy", marks=_miss("2.22x")),
    pytest.param("w4_fp16_m2n64k4", "energy", marks=_miss("1.12x")),
    pytest.param("w2_int8_m2n64k4", "energy", marks=_miss("1.65x")),
])
def test_paper_claim_more_than_10x_vs_mac(row, what) -> None:
    assert _ratio(row, what) > CLAIM_X


# The v2 abstract's claim: 1.44x compute density and energy efficiency over earlier LUT-based
# accelerators (which ones, at which tile and format, the abstract does not say). Ours: the
# authors' tile (2x64x4, int8, W2) against the same tile without table symmetrisation
# (``lutfull_*`` rows, lut-mpgemm symmetric=False), a model of one of the differences the paper
# names. Tolerance: the claim as stated (>= 1.44x), fixed before measuring.
CLAIM_PRIOR_X = 1.44


def _prior_ratio(what: str) -> float:
    from hwsim.sourced import load_table  # noqa: PLC0415

    t = load_table("hwsim", "data/lut_unit_yosys.yaml")
    field = "area_transistors" if what == "density" else "energy_pj_per_op"
    return t.value(f"lutfull_w2_int8_m2n64k4.{field}") / t.value(f"lut_w2_int8_m2n64k4.{field}")


@pytest.mark.parametrize("what", [
    pytest.param("density", marks=pytest.mark.xfail(strict=True, reason=(
        "paper claims 1.44x over earlier LUT designs; table symmetrisation alone measures "
        "1.22x (2x64x4 int8 W2, Yosys)"))),
    pytest.param("energy", marks=pytest.mark.xfail(strict=True, reason=(
        "paper claims 1.44x over earlier LUT designs; table symmetrisation alone measures "
        "0.91x energy efficiency (the negation toggles more than the wider lookup saves)"))),
])
def test_paper_claim_1_44x_over_a_tile_without_symmetrisation(what) -> None:
    assert _prior_ratio(what) >= CLAIM_PRIOR_X


def test_full_table_tile_is_larger_than_the_symmetrised_one() -> None:
    """What the table symmetrisation saves at any tile synthesised: area (a 2^K:1 lookup per
    cell and twice the table wires against a 2^(K-1):1 lookup and a negation)."""
    from hwsim.sourced import load_table  # noqa: PLC0415

    t = load_table("hwsim", "data/lut_unit_yosys.yaml")
    full = [k for k in t.children() if k.startswith("lutfull_")]
    assert len(full) >= 2
    for k in full:
        ours = k.replace("lutfull_", "lut_", 1)
        assert t.value(f"{k}.area_transistors") > t.value(f"{ours}.area_transistors"), k
