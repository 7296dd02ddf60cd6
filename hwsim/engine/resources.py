"""SimPy resources of the kernel: compute units, memory levels with shared channels, DMA.

Every object takes the ``env`` and the :class:`~hwsim.engine.trace.TraceSink` explicitly.
Processes are generators that yield a few events per tile or transfer; time is in cycles.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import simpy

from hwsim.engine.trace import TraceRecord, TraceSink
from hwsim.errors import HwsimError


@dataclass(frozen=True)
class MemorySpec:
    """One level of the hierarchy (register file, SRAM, L2, DRAM, HBM).

    ``bw_bytes_per_cycle`` is per channel; ``None`` means the level is never the bottleneck
    (transfers from it take no time). ``capacity_bytes`` of ``None`` means unbounded.
    """

    name: str
    capacity_bytes: int | None
    bw_bytes_per_cycle: float | None
    channels: int = 1
    read_pj_per_byte: float = 0.0
    write_pj_per_byte: float = 0.0

    def __post_init__(self) -> None:
        if self.capacity_bytes is not None and self.capacity_bytes <= 0:
            raise HwsimError(f"memory {self.name!r}: capacity must be positive, "
                             f"got {self.capacity_bytes} bytes")
        if self.bw_bytes_per_cycle is not None and not self.bw_bytes_per_cycle > 0:
            raise HwsimError(f"memory {self.name!r}: bandwidth must be positive, "
                             f"got {self.bw_bytes_per_cycle} bytes/cycle")
        if self.channels < 1:
            raise HwsimError(f"memory {self.name!r}: needs at least one channel")

    def transfer_cycles(self, nbytes: int) -> int:
        if self.bw_bytes_per_cycle is None or nbytes <= 0:
            return 0
        return math.ceil(nbytes / self.bw_bytes_per_cycle)


class MemoryLevel:
    """A memory level whose channels are a shared ``simpy.Resource``: consumers queue FIFO."""

    def __init__(self, env: simpy.Environment, spec: MemorySpec, sink: TraceSink) -> None:
        self.env = env
        self.spec = spec
        self.sink = sink
        self.channels = simpy.Resource(env, capacity=spec.channels)

    def transfer(self, nbytes: int, name: str, op: str = "",
                 cycles: int | None = None) -> Generator[Any, Any, None]:
        """Move ``nbytes`` over one channel (waiting for a free one), traced as one slice."""
        dt = self.spec.transfer_cycles(nbytes) if cycles is None else cycles
        with self.channels.request() as req:
            yield req
            t0 = int(self.env.now)
            if dt:
                yield self.env.timeout(dt)
            self.sink.append(TraceRecord(self.spec.name, "transfer", name, t0, t0 + dt, op,
                                         nbytes=nbytes))


class ComputeUnit:
    """A compute resource (an array, a vector unit, a bank of SMs or cores) that runs up to
    ``capacity`` tiles at once; further tiles queue FIFO. Busy cycles of a unit with a
    capacity above 1 are unit-cycles (two tiles at once count twice)."""

    def __init__(self, env: simpy.Environment, name: str, sink: TraceSink,
                 capacity: int = 1) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise HwsimError(f"compute unit {name!r}: capacity must be a positive integer, "
                             f"got {capacity!r}")
        self.env = env
        self.name = name
        self.sink = sink
        self.capacity = capacity
        self.unit = simpy.Resource(env, capacity=capacity)

    def run_tile(self, cycles: int, name: str, op: str = "", macs: int = 0,
                 sram_bytes: int = 0, kind: str = "compute") -> Generator[Any, Any, None]:
        with self.unit.request() as req:
            yield req
            t0 = int(self.env.now)
            yield self.env.timeout(cycles)
            self.sink.append(TraceRecord(self.name, kind, name, t0, t0 + cycles,  # type: ignore[arg-type]
                                         op, macs=macs, sram_bytes=sram_bytes))


class DoubleBuffer:
    """A DMA target split into two halves: the loader may run one tile ahead of the consumer.

    A ``simpy.Store`` of capacity 1 holds the tile loaded next while the consumer works on
    the one it took, which is the ping-pong of a double-buffered scratchpad.
    """

    def __init__(self, env: simpy.Environment, name: str, half_bytes: int) -> None:
        self.env = env
        self.name = name
        self.half_bytes = half_bytes
        self.store: simpy.Store = simpy.Store(env, capacity=1)

    def put(self, item: Any) -> simpy.events.Event:
        return self.store.put(item)

    def get(self) -> simpy.events.Event:
        return self.store.get()
