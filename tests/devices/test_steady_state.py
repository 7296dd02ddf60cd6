"""Cost does not grow with the tile count, and counting identical tiles changes no number.

The compressed path (run-length tile plan, steady-state jumps, closed-form drain) is checked
against the uncompressed one (every fold planned, every tile simulated, every drain
replayed) on small and odd shapes, all dataflows, with and without a bandwidth limit and in
both memory models; then huge layers must finish fast, or fail at once with one error.
"""

import itertools
import time

import pytest

from hwsim.cli import main
from hwsim.devices import run
from hwsim.devices.systolic import SystolicSpec, simulate_gemm
from hwsim.devices.systolic.array import _simulate_gemm, plan, plan_tiles_by_fold
from hwsim.devices.systolic.timing import calc_drain_cycles, calc_drain_cycles_by_fold
from hwsim.engine import chrome_trace
from hwsim.engine.lowering import Gemm
from hwsim.errors import HwsimError

SHAPES = [(1, 1, 1), (5, 300, 45), (33, 8, 2), (1, 300, 45), (33, 1, 200), (9, 70, 13)]
ARRAYS = [(1, 1), (3, 2), (4, 4)]
SRAMS = [(1, 1, 1), (2, 2, 2), (1, 2, 1)]


@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_plan_equals_fold_by_fold(df):
    for shape, array, kb in itertools.product(SHAPES + [(70, 300, 100)], ARRAYS + [(8, 4)],
                                              SRAMS + [(64, 64, 64)]):
        spec = SystolicSpec(rows=array[0], cols=array[1], dataflow=df, sram_kb=kb)
        try:
            ref = plan_tiles_by_fold(Gemm(*shape), spec, 8)
        except HwsimError:
            continue
        assert plan(Gemm(*shape), spec, 8).tiles() == ref, (shape, array, kb)


@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_drain_closed_form_equals_replay(df):
    for (m, k, n), (r, c), sram in itertools.product(
            [(1, 7, 5), (10, 1, 1), (33, 64, 45), (130, 300, 1)], [(1, 1), (4, 4), (3, 5), (8, 2)],
            [8, 20, 333, 65536]):
        g = Gemm(m, k, n)
        assert calc_drain_cycles(g, r, c, df, sram) == calc_drain_cycles_by_fold(
            g, r, c, df, sram), (g, r, c, sram)


def _numbers(inst):
    return (inst.total, inst.stats, inst.busy, inst.moved, inst.sram_bytes)


@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_compressed_equals_uncompressed(df):
    """Jumping over every steady state it finds (``min_jump=1``) gives the numbers of the
    tile-by-tile simulation exactly; and it does jump on most of these layers."""
    jumped = 0
    cases = itertools.product(SHAPES, ARRAYS, SRAMS[:2], [None, 1, 7.5], ["tiles", "scalesim"])
    for shape, array, kb, bw, mm in cases:
        if mm == "scalesim" and (bw is None or bw != int(bw)):
            continue
        spec = SystolicSpec(rows=array[0], cols=array[1], dataflow=df, sram_kb=kb,
                            bandwidth_words=bw, memory_model=mm)
        g = Gemm(*shape)
        try:
            ref = _simulate_gemm(g, spec, 8, 8, min_jump=None, by_fold=True)
        except HwsimError:
            continue
        got = _simulate_gemm(g, spec, 8, 8, min_jump=1)
        assert _numbers(got) == _numbers(ref), (shape, array, kb, bw, mm)
        jumped += any(r.repeat > 1 for r in got.records)
    assert jumped >= 10


@pytest.mark.parametrize("array", [(1, 1), (32, 32), (7, 13), (256, 256)])
def test_huge_gemm_is_fast(array):
    kb = max(64, 2 * array[0] * array[1] // 1024)
    for df, bw in itertools.product(["os", "ws", "is"], [None, 10]):
        spec = SystolicSpec(rows=array[0], cols=array[1], dataflow=df, sram_kb=(kb, kb, kb),
                            bandwidth_words=bw)
        t0 = time.perf_counter()
        res = simulate_gemm(65536, 65536, 65536, spec, trace=True)
        assert time.perf_counter() - t0 < 2.0  # target well under 1 s; loose for CI hosts
        assert res.macs == 65536**3 and res.total_cycles > res.compute_cycles
        assert len(res.trace) < 2000  # repeated tiles are one slice with a repeat count
        assert any(e.get("args", {}).get("repeat", 1) > 1
                   for e in chrome_trace(res.trace, res.clock_mhz)["traceEvents"])


@pytest.mark.parametrize("argv", [
    ["run", "--gemm", "1000000000000,1,1"],
    ["run", "--gemm", "2147483648,1,1"],
    ["run", "--conv", "3,224,224,64,7,7,2,100000"],
])
def test_former_hangs_finish(argv, capsys):
    t0 = time.perf_counter()
    assert main([*argv, "--json"]) == 0
    assert time.perf_counter() - t0 < 10.0
    assert '"total_cycles"' in capsys.readouterr().out


def test_beyond_reach_is_one_error(capsys):
    assert main(["run", "--gemm", "1099511627776,1099511627776,1099511627776"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "int64" in err


def test_scalesim_memory_model_refuses_huge_layers():
    spec = SystolicSpec(bandwidth_words=10, memory_model="scalesim")
    with pytest.raises(HwsimError, match="demands .* cycles"):
        simulate_gemm(8192, 8192, 8192, spec)


def test_many_gemm_instances_trace_as_one_repeated_slice():
    from hwsim.engine.driver import TRACE_REPEATS
    from workloads import MatMul

    n = 10 * TRACE_REPEATS
    op = MatMul(name="bmm", a_shape=(n, 40, 64), b_shape=(n, 64, 30)).with_precision("int8")
    res = run(SystolicSpec(bandwidth_words=4), [op], trace=True)
    reps = [r for r in res.trace if r.repeat > 1]
    assert {r.repeat for r in reps} == {n - 1} and len(res.trace) < 50
    assert max(r.end for r in res.trace) == res.total_cycles
    assert sum(r.macs for r in res.trace) == res.macs == n * 40 * 64 * 30
