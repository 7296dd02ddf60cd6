"""The kernel's resources on short scenarios, asserting on the trace (who did what when)."""

import pytest
import simpy

from hwsim.engine import (
    ComputeUnit,
    MemoryLevel,
    MemorySpec,
    TraceSink,
    busy_cycles,
    bytes_moved,
    chrome_trace,
)
from hwsim.errors import HwsimError


def test_shared_channel_queues_fifo():
    """Two consumers on one DRAM channel: the second transfer waits for the first."""
    env = simpy.Environment()
    sink = TraceSink()
    dram = MemoryLevel(env, MemorySpec("dram", None, 4.0), sink)
    env.process(dram.transfer(40, "a"))
    env.process(dram.transfer(8, "b"))
    env.run()
    assert [(r.name, r.start, r.end) for r in sink] == [("a", 0, 10), ("b", 10, 12)]
    assert bytes_moved(sink) == {"dram": 48}


def test_two_channels_run_in_parallel():
    env = simpy.Environment()
    sink = TraceSink()
    hbm = MemoryLevel(env, MemorySpec("hbm", None, 4.0, channels=2), sink)
    env.process(hbm.transfer(40, "a"))
    env.process(hbm.transfer(8, "b"))
    env.run()
    assert sorted((r.name, r.start, r.end) for r in sink) == [("a", 0, 10), ("b", 0, 2)]


def test_double_buffered_overlap():
    """Load tile i+1 while computing tile i: compute 5, load 3 -> loads hide after the first."""
    from hwsim.engine import DoubleBuffer

    env = simpy.Environment()
    sink = TraceSink()
    dram = MemoryLevel(env, MemorySpec("dram", None, 1.0), sink)
    pe = ComputeUnit(env, "pe", sink)
    buf = DoubleBuffer(env, "in", 16)

    def load():
        for i in range(3):
            yield from dram.transfer(3, f"l{i}")
            yield buf.put(i)

    def compute():
        for i in range(3):
            yield buf.get()
            yield from pe.run_tile(5, f"c{i}")

    env.process(load())
    env.process(compute())
    env.run()
    assert [(r.name, r.start) for r in sink if r.resource == "pe"] == [
        ("c0", 3), ("c1", 8), ("c2", 13)]
    assert busy_cycles(sink) == {"dram": 9, "pe": 15}


def test_memory_spec_validation():
    with pytest.raises(HwsimError, match="capacity must be positive"):
        MemorySpec("sram", 0, 1.0)
    with pytest.raises(HwsimError, match="bandwidth must be positive"):
        MemorySpec("sram", 10, -1.0)


def test_chrome_trace_format():
    env = simpy.Environment()
    sink = TraceSink()
    pe = ComputeUnit(env, "pe", sink)
    env.process(pe.run_tile(100, "t0", macs=7))
    env.run()
    doc = chrome_trace(sink, clock_mhz=100.0)
    x = [e for e in doc["traceEvents"] if e["ph"] == "X"]
    assert x == [{"ph": "X", "pid": 1, "tid": 1, "name": "t0", "cat": "compute", "ts": 0.0,
                  "dur": 1.0, "args": {"op": "", "cycles": 100, "start_cycle": 0, "macs": 7}}]
