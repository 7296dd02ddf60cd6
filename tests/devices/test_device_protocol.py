"""The device seam: a toy roofline device added through the public protocol only, run on a
built-in workload by the shared driver; specs from presets, overrides and files.

The roofline device is written here, from the public API alone (``hwsim.devices.base``,
``hwsim.engine``), as a new device kind would be: one spec, one model of how a lowered piece
runs, one registration line.
"""

from __future__ import annotations

import json
import math
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import pytest
import simpy

from hwsim.api import simulate
from hwsim.cli import main
from hwsim.devices.base import DeviceKind, get_device, kinds, register, run, unregister
from hwsim.engine import ComputeUnit, MemoryLevel, MemorySpec
from hwsim.engine.driver import PieceStats, run_ops
from hwsim.engine.lowering import Gemm, Lowered, lower_op
from hwsim.engine.trace import TraceSink
from hwsim.errors import HwsimError
from workloads import Graph, MatMul, build_workload


@dataclass(frozen=True)
class RooflineSpec:
    macs_per_cycle: int = 1024
    dram_bytes_per_cycle: float = 64.0
    clock_mhz: float = 1000.0
    units: int = 1

    def __post_init__(self) -> None:
        if self.macs_per_cycle < 1 or not self.dram_bytes_per_cycle > 0:
            raise HwsimError("roofline: macs_per_cycle and dram_bytes_per_cycle must be > 0")


class RooflineModel:
    """A piece takes max(MACs / peak, bytes / bandwidth) cycles: load and compute overlap."""

    memory_levels = {"dram": "dram"}
    replayable = True
    concurrent_ops = True

    def __init__(self, env: simpy.Environment, sink: TraceSink, spec: RooflineSpec) -> None:
        self.env, self.spec = env, spec
        self.description = f"roofline {spec.macs_per_cycle} MAC/cycle"
        self.clock_mhz = spec.clock_mhz
        self.peak_macs_per_cycle = spec.macs_per_cycle * spec.units
        self.pe = ComputeUnit(env, "pe", sink, capacity=spec.units)
        self.dram = MemoryLevel(env, MemorySpec("dram", None, spec.dram_bytes_per_cycle), sink)

    def lower(self, op: Any) -> Lowered:
        return lower_op(op, device="roofline")

    def run_gemm(self, g: Gemm, low: Lowered, tag: str) -> Generator[Any, Any, PieceStats]:
        nbytes = math.ceil((g.m * g.k + g.k * g.n) * low.word_bits / 8
                           + g.m * g.n * low.out_bits / 8)
        cyc = math.ceil(g.m * g.k * g.n / self.spec.macs_per_cycle)
        load = self.env.process(self.dram.transfer(nbytes, "operands", tag))
        work = self.env.process(self.pe.run_tile(cyc, "gemm", tag, macs=g.m * g.k * g.n))
        yield simpy.AllOf(self.env, [load, work])
        return PieceStats(compute_cycles=cyc, macs=g.m * g.k * g.n)

    def run_vector(self, low: Lowered, tag: str) -> Generator[Any, Any, PieceStats]:
        cyc = math.ceil(low.vector_flops / self.spec.macs_per_cycle)
        yield from self.pe.run_tile(cyc, "vector", tag, kind="vector")
        return PieceStats()

    def notes(self, counts: Any) -> list[str]:
        return [f"{counts['vector_ops']} ops on the vector path"]


def run_roofline(spec: RooflineSpec, workload: Any, *, costs: Any = None,
                 trace: bool = False) -> Any:
    return run_ops(lambda env, sink: RooflineModel(env, sink, spec), workload, costs=costs,
                   keep_trace=trace)


KIND = DeviceKind(name="roofline", summary="toy roofline device (tests)",
                  spec_type=RooflineSpec, run=run_roofline,
                  presets=lambda: {"roofline-1k": RooflineSpec,
                                   "roofline-4k": lambda: RooflineSpec(macs_per_cycle=4096)},
                  default_preset="roofline-1k")


@pytest.fixture
def roofline():
    register(KIND)
    yield KIND
    unregister(KIND.name)


def test_toy_device_runs_a_builtin_workload_completely(roofline):
    graph = build_workload("llama2-7b", phase="decode", kv_len=64)
    spec = get_device("roofline")
    res = run(spec, graph, trace=True)
    assert res.total_cycles > 0 and res.clock_mhz == 1000.0
    assert len(res.ops) == len(graph.ops)
    assert [o.name for o in res.ops] == [op.name for op in graph.ops]
    # every GEMM MAC of the graph is executed (decode: no causal mask)
    assert res.macs == sum(o.macs for o in res.ops) >= graph.macs * 0.999
    assert set(res.energy_pj) >= {"mac", "sram", "dram"}
    assert res.energy_pj["mac"] > 0 and res.energy_pj["dram"] > 0
    assert res.busy_cycles["pe"] > 0 and res.bytes_moved["dram"] > 0
    assert res.trace and {r.resource for r in res.trace} == {"pe", "dram"}
    # ops run in graph order; the graph's concurrent groups (Q/K/V, gate/up) start together
    # on this device, and every other op starts when everything before it has ended
    group = {n: i for i, g in enumerate(graph.concurrent) for n in g}
    assert len(graph.concurrent) == 2 * 32
    end = 0
    for a, b in zip(res.ops, res.ops[1:], strict=False):
        end = max(end, a.start_cycle + a.total_cycles)
        if b.name in group and group.get(a.name) == group[b.name]:
            assert b.start_cycle == a.start_cycle
        else:
            assert b.start_cycle == end
    assert res.total_cycles == max(o.start_cycle + o.total_cycles for o in res.ops)
    assert all(0 <= r.start <= r.end <= res.total_cycles for r in res.trace)
    assert res.notes and "vector path" in res.notes[0]


def test_toy_device_cycles_are_the_roofline(roofline):
    spec = get_device("roofline", macs_per_cycle=256, dram_bytes_per_cycle=16.0)
    for m, k, n in [(64, 64, 64), (1, 4096, 4096), (512, 8, 512)]:
        op = MatMul(name="g", a_shape=(m, k), b_shape=(k, n)).with_precision("int8")
        res = run(spec, [op])
        compute = math.ceil(m * k * n / 256)
        memory = math.ceil((m * k + k * n + m * n) / 16)  # int8 in and out: 1 byte a word
        assert res.total_cycles == max(compute, memory), (m, k, n)
        assert res.compute_cycles == compute


def test_identical_pieces_are_simulated_once_and_replayed(roofline, monkeypatch):
    calls = []
    orig = RooflineModel.run_gemm

    def counting(self, g, low, tag):
        calls.append((g.m, g.k, g.n))
        return orig(self, g, low, tag)

    monkeypatch.setattr(RooflineModel, "run_gemm", counting)
    ops = [MatMul(name=f"g{i}", a_shape=(32, 64), b_shape=(64, 32)) for i in range(5)]
    res = run(get_device("roofline"), ops, trace=True)
    assert calls == [(32, 64, 32)]
    per = {o.total_cycles for o in res.ops}
    assert len(per) == 1 and res.total_cycles == 5 * per.pop()
    assert len({round(o.energy_pj, 9) for o in res.ops}) == 1
    starts = [r.start for r in res.trace if r.resource == "pe"]
    assert starts == [o.start_cycle for o in res.ops]  # one slice per op, replayed in place


def test_concurrent_ops_overlap_on_a_unit_with_capacity(roofline):
    ops = [MatMul(name=n, a_shape=(64, 64), b_shape=(64, 64)).with_precision("int8")
           for n in ("a", "b", "c")]
    spec = get_device("roofline", units=2, dram_bytes_per_cycle=1e6)
    seq = run(spec, Graph("seq", tuple(ops)))
    par = run(spec, Graph("par", tuple(ops), concurrent=(("a", "b"),)))
    one = seq.ops[0].total_cycles
    assert seq.total_cycles == 3 * one
    assert par.total_cycles == 2 * one  # a and b together, then c
    assert par.ops[0].start_cycle == par.ops[1].start_cycle == 0
    assert par.ops[2].start_cycle == one
    assert par.macs == seq.macs and par.energy_pj == pytest.approx(seq.energy_pj)


def test_specs_from_preset_overrides_and_files(roofline, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "roofline-4k").write_text("not a device file")  # a name is never a file
    assert get_device("roofline-4k").macs_per_cycle == 4096
    assert get_device("roofline-4k", clock_mhz=500).clock_mhz == 500.0
    f = tmp_path / "mine.yaml"
    f.write_text("device: roofline-4k\ndram_bytes_per_cycle: 8\nunits: 2\n")
    s = get_device(str(f))
    assert (s.macs_per_cycle, s.dram_bytes_per_cycle, s.units) == (4096, 8.0, 2)
    assert "roofline" in kinds()
    with pytest.raises(HwsimError, match="'unitz' is unknown; allowed: macs_per_cycle"):
        get_device("roofline", unitz=3)
    bad = tmp_path / "bad.yaml"
    bad.write_text("device: roofline\nmacs_per_cycle: lots\n")
    with pytest.raises(HwsimError, match="macs_per_cycle' must be an integer, got 'lots'"):
        get_device(str(bad))
    bad.write_text("device: roofline\nclock_mhz: .inf\n")
    with pytest.raises(HwsimError, match="clock_mhz' must be a finite number"):
        get_device(str(bad))
    bad.write_text("macs_per_cycle: 4\n")
    with pytest.raises(HwsimError, match="needs a 'device' entry"):
        get_device(str(bad))
    with pytest.raises(HwsimError, match="unknown device 'roofline-9k'"):
        get_device("roofline-9k")


def test_api_and_cli_reach_a_registered_device(roofline, tmp_path, capsys):
    res = simulate("roofline", "resnet8", layers=3)
    assert len(res.ops) == 3 and res.total_cycles > 0
    assert main(["devices", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["kinds"]
    assert {k["kind"] for k in listed} >= {"systolic", "roofline"}
    assert main(["run", "--device", "roofline-4k", "--gemm", "64,64,64", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total_cycles"] == max(64, math.ceil(3 * 64 * 64 / 64))
