"""The SimPy discrete-event kernel: resources, traces as data, run results.

Events are tiles and transfers, never single MACs; cycle counts inside a tile come from
closed-form models of each device (e.g. :mod:`hwsim.devices.systolic.timing`).
"""

from hwsim.engine.resources import ComputeUnit, DoubleBuffer, MemoryLevel, MemorySpec
from hwsim.engine.result import OpResult, RunResult
from hwsim.engine.trace import TraceRecord, TraceSink, busy_cycles, bytes_moved, chrome_trace

__all__ = [
    "ComputeUnit", "DoubleBuffer", "MemoryLevel", "MemorySpec", "OpResult", "RunResult",
    "TraceRecord", "TraceSink", "busy_cycles", "bytes_moved", "chrome_trace",
]
