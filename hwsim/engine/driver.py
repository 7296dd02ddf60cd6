"""The one run driver every device shares: ops in, :class:`~hwsim.engine.result.RunResult` out.

What the driver owns, so that no device repeats it:

- lowering each op to GEMMs, vector work and traffic (:mod:`hwsim.engine.lowering`; the
  device passes its lowering choices);
- the per-op loop on ONE SimPy environment for the whole run: ops run in graph order, and
  ops the graph marks as concurrent (``Graph.concurrent``) start together on a device that
  allows it (``concurrent_ops``), so work of one op can overlap another's on its resources;
- the shape cache: a device that declares its pieces independent (``replayable``: each piece
  starts with empty buffers and ends drained, as SCALE-Sim simulates layers) has each
  distinct piece simulated once; a repeat advances time by the piece's length and, when a
  trace is kept, replays its records shifted. A replayable device that also names what fixes
  its pieces' timing (``piece_identity``, e.g. its frozen spec) shares the cache across runs
  in one process, so a sweep's points on one device simulate each shape once;
- trace offsets and aggregation: cycles, stalls, MACs, busy cycles and bytes per resource,
  and energy, all computed from the trace records the device's processes wrote (a MAC count
  on compute records, on-chip buffer bytes on compute records, transfer bytes per memory
  level), priced by a :class:`costmodel.provider.CostProvider`.

What a device supplies is a :class:`DeviceModel`: how one GEMM instance and one piece of
vector work run on its resources (SimPy processes on the run's environment), its peak MAC
rate, clock and notes.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import simpy

from costmodel.provider import get_provider
from hwsim.engine.lowering import Gemm, Lowered
from hwsim.engine.pricing import ProviderPrices
from hwsim.engine.result import OpResult, RunResult
from hwsim.engine.trace import TraceRecord, TraceSink, busy_cycles, bytes_moved
from hwsim.errors import HwsimError
from workloads import Graph

#: a piece repeated (batch, heads, groups) more often than this is traced once, and its other
#: instances as one slice per resource carrying a ``repeat`` count
TRACE_REPEATS = 64


@dataclass(frozen=True)
class PieceStats:
    """What a device's process reports for one piece of work besides its trace records."""

    compute_cycles: int = 0
    stall_cycles: int = 0
    macs: int = 0


class DeviceModel(Protocol):
    """A device as the driver sees it, bound to one run's environment and trace sink."""

    #: a one-line description (``RunResult.device``)
    description: str
    clock_mhz: float
    peak_macs_per_cycle: int
    #: trace resource name -> cost level of its transfer bytes (``"dram"``, ``"hbm"``, ...)
    memory_levels: Mapping[str, str]
    #: pieces start empty and end drained, so identical pieces across ops may be simulated
    #: once (the repeats of one GEMM, its batch or heads, are always simulated once)
    replayable: bool
    #: ops the graph marks as concurrent may overlap on this device (False: one at a time,
    #: each layer on its own, as SCALE-Sim runs them)
    concurrent_ops: bool

    #: optional (``getattr`` default None): a hashable value that, with a piece's shape key,
    #: fixes the piece's trace exactly; given it, a replayable device's pieces are cached
    #: across runs in this process (:data:`SHARED_PIECES`)
    # piece_identity: Hashable | None

    def lower(self, op: Any) -> Lowered: ...

    def run_gemm(self, g: Gemm, low: Lowered,
                 tag: str) -> Generator[Any, Any, PieceStats | Piece]:
        """Process: one instance (``repeat`` = 1) of ``g`` on the run's environment.

        It returns :class:`PieceStats`, and the driver takes the piece's records (those
        with ``op=tag``) from the sink; or it returns a whole :class:`Piece` (records
        relative to the piece's start, not written to the sink) after advancing the clock
        by its ``total``: the way for a model that simulates a piece on its own (the
        systolic array's steady-state jump needs an environment to itself)."""
        ...

    def run_vector(self, low: Lowered, tag: str) -> Generator[Any, Any, PieceStats | Piece]:
        """Process: the op's vector work, returning as :meth:`run_gemm` does."""
        ...

    def notes(self, counts: Mapping[str, int]) -> list[str]:
        """Run notes, given counters: ``vector_ops`` (ops that used the vector path),
        ``macs`` (executed), ``masked_macs`` (of those, causal-mask work thrown away)."""
        ...


#: builds a device's model on a run's environment and sink
ModelFactory = Callable[[simpy.Environment, TraceSink], DeviceModel]


@dataclass(frozen=True)
class Piece:
    """One simulated piece, relative to its own start: what the cache keeps and replays.

    ``busy`` (cycles per resource), ``moved`` (transfer bytes per resource) and
    ``sram_bytes`` (on-chip buffer traffic) are what the piece did; :meth:`of_records` sums
    them from complete records. A device whose trace summarises a stretch it counted rather
    than simulated (a steady state) builds the piece with the true totals instead.
    """

    total: int
    stats: PieceStats
    records: tuple[TraceRecord, ...]
    busy: Mapping[str, int]
    moved: Mapping[str, int]
    sram_bytes: int

    @classmethod
    def of_records(cls, total: int, stats: PieceStats,
                   records: Sequence[TraceRecord]) -> Piece:
        return cls(total, stats, tuple(records), busy_cycles(records), bytes_moved(records),
                   sum(r.sram_bytes for r in records))

    @property
    def offchip_bytes(self) -> int:
        return sum(self.moved.values())


class Prices(Protocol):
    """The energy prices the driver needs, from a cost provider."""

    name: str

    def mac_pj(self, op: Any) -> float: ...

    def access_pj_per_byte(self, level: str) -> float: ...


@dataclass
class _Totals:
    energy: dict[str, float] = field(default_factory=lambda: {"mac": 0.0, "sram": 0.0,
                                                               "dram": 0.0})
    busy: dict[str, int] = field(default_factory=dict)
    moved: dict[str, int] = field(default_factory=dict)
    compute: int = 0
    stall: int = 0
    macs: int = 0
    vector_ops: int = 0
    masked_macs: int = 0

    def add(self, key: str, value: float) -> None:
        self.energy[key] = self.energy.get(key, 0.0) + value


def _pieces(low: Lowered) -> list[tuple[Hashable, Gemm | None, int]]:
    """(cache key, GEMM or None for vector work, repeat count) of a lowered op, in order."""
    out: list[tuple[Hashable, Gemm | None, int]] = []
    for g in low.gemms:
        # weight_bits: a device's lowering may pack weights narrower than the word
        wb = getattr(low, "weight_bits", low.word_bits)
        out.append((("gemm", g.m, g.k, g.n, low.word_bits, low.out_bits, wb), g, g.repeat))
    if low.vector_flops or low.vector_bytes:
        out.append((("vec", low.vector_flops, low.vector_bytes, low.word_bits), None, 1))
    return out


def _piece_energy(seg: Piece, mac_pj: float, prices: Prices,
                    levels: Mapping[str, str]) -> dict[str, float]:
    """Energy of one piece by component, from what its trace counted."""
    e = {"mac": seg.stats.macs * mac_pj,
         "sram": seg.sram_bytes * prices.access_pj_per_byte("sram")}
    for res, nbytes in seg.moved.items():
        level = levels.get(res)
        if level is None:
            raise AssertionError(f"internal error: trace resource {res!r} moved bytes but "
                                 "the device names no memory level for it")
        e[level] = e.get(level, 0.0) + nbytes * prices.access_pj_per_byte(level)
    return e


def run_ops(factory: ModelFactory, workload: Any, *, costs: Any = None,
            keep_trace: bool = False) -> RunResult:
    """Run ``workload`` (a graph, or ops in order) on the device ``factory`` builds, on one
    SimPy environment. ``costs`` is the :class:`costmodel.provider.CostProvider` that prices
    MACs and traffic (default: the analytical 45 nm one)."""
    prices: Prices = ProviderPrices(costs if costs is not None else get_provider("analytical"))
    graph = graph_of(workload)
    ops = list(graph.ops)
    concurrent = graph.concurrent
    env = simpy.Environment()
    sink = TraceSink()
    model = factory(env, sink)
    identity = getattr(model, "piece_identity", None) if model.replayable else None
    cache: dict[Hashable, Piece] = {} if identity is None else SHARED_PIECES.table(identity)
    tot = _Totals()
    trace: list[TraceRecord] = []
    results: dict[int, OpResult] = {}
    lowered = [model.lower(op) for op in ops]  # lowering errors surface before any time
    counter = [0]

    def simulate_piece(g: Gemm | None, low: Lowered) -> Generator[Any, Any, Piece]:
        counter[0] += 1
        tag = f"#{counter[0]}"
        t0 = int(env.now)
        n0 = len(sink.records)
        proc = model.run_gemm(g, low, tag) if g is not None else model.run_vector(low, tag)
        out = yield env.process(proc)
        if isinstance(out, Piece):
            if out.total != int(env.now) - t0:
                raise AssertionError(f"internal error: a piece of {out.total} cycles "
                                     f"advanced the clock by {int(env.now) - t0}")
            return out
        # records move from the sink into the piece (the run's trace is assembled from
        # pieces); a concurrent piece's records stay in the sink for their own piece
        mine = [r for r in sink.records[n0:] if r.op == tag]
        sink.records[n0:] = [r for r in sink.records[n0:] if r.op != tag]
        return Piece.of_records(int(env.now) - t0, out, [r.shifted(-t0, "") for r in mine])

    def op_process(i: int) -> Generator[Any, Any, None]:
        op, low = ops[i], lowered[i]
        start = int(env.now)
        compute = stall = macs = offchip = 0
        energy = 0.0
        mac_pj = prices.mac_pj(op) if op.fmt is not None else 0.0
        pieces = _pieces(low)
        for key, g, rep in pieces:
            t = int(env.now)
            if model.replayable and key in cache:
                seg = cache[key]
                done = 0
            else:
                seg = yield from simulate_piece(g, low)
                if model.replayable:
                    cache[key] = seg
                done = 1
            if keep_trace:
                shown = rep if rep <= TRACE_REPEATS else 1
                if done:
                    trace.extend(r.shifted(t, op.name) for r in seg.records)
                for _ in range(done, shown):
                    t = int(env.now)
                    yield env.timeout(seg.total)
                    trace.extend(r.shifted(t, op.name) for r in seg.records)
                if shown < rep:  # the other instances as one slice per resource
                    t = int(env.now)
                    yield env.timeout(seg.total * (rep - shown))
                    trace.extend(_repeat_slices(seg, rep - shown, t, op.name))
            elif rep > done:
                yield env.timeout(seg.total * (rep - done))
            e = _piece_energy(seg, mac_pj, prices, model.memory_levels)
            _account(seg, e, rep)
            compute += rep * seg.stats.compute_cycles
            stall += rep * seg.stats.stall_cycles
            macs += rep * seg.stats.macs
            offchip += rep * seg.offchip_bytes
            energy += rep * sum(e.values())
        if low.vector_flops or low.vector_bytes:
            tot.vector_ops += 1
        tot.masked_macs += low.masked_macs
        unit = "array" if low.gemms else ("vector" if pieces else "none")
        peak = model.peak_macs_per_cycle
        results[i] = OpResult(
            name=op.name, op_type=op.OP_TYPE, unit=unit, macs=macs, compute_cycles=compute,
            total_cycles=int(env.now) - start, stall_cycles=stall, start_cycle=start,
            dram_bytes=offchip, energy_pj=energy,
            utilisation=macs / (peak * compute) if compute else 0.0, detail=low.detail)

    def _account(seg: Piece, energy: Mapping[str, float], times: int) -> None:
        for k, v in energy.items():
            tot.add(k, times * v)
        for res, b in seg.busy.items():
            tot.busy[res] = tot.busy.get(res, 0) + times * b
        for res, b in seg.moved.items():
            tot.moved[res] = tot.moved.get(res, 0) + times * b
        tot.compute += times * seg.stats.compute_cycles
        tot.stall += times * seg.stats.stall_cycles
        tot.macs += times * seg.stats.macs

    def driver() -> Generator[Any, Any, None]:
        for group in _groups(ops, concurrent if model.concurrent_ops else ()):
            if len(group) == 1:
                yield env.process(op_process(group[0]))
            else:
                yield simpy.AllOf(env, [env.process(op_process(i)) for i in group])

    env.process(driver())
    env.run()
    return RunResult(
        device=model.description, workload=graph.name, clock_mhz=model.clock_mhz,
        total_cycles=int(env.now), compute_cycles=tot.compute, stall_cycles=tot.stall,
        macs=tot.macs, peak_macs_per_cycle=model.peak_macs_per_cycle, energy_pj=tot.energy,
        busy_cycles=tot.busy, bytes_moved=tot.moved,
        ops=tuple(results[i] for i in range(len(ops))), trace=tuple(trace),
        notes=tuple(model.notes({"vector_ops": tot.vector_ops, "macs": tot.macs,
                                 "masked_macs": tot.masked_macs})), energy_source=prices.name)


class _SharedPieces:
    """Per-process piece tables of replayable devices, one per device identity; the least
    recently used identity goes first beyond ``max_devices`` (each table holds the distinct
    shapes of the runs on that device, a few hundred for a whole network)."""

    def __init__(self, max_devices: int = 64) -> None:
        self.max_devices = max_devices
        self._tables: dict[Hashable, dict[Hashable, Piece]] = {}

    def table(self, identity: Hashable) -> dict[Hashable, Piece]:
        t = self._tables.pop(identity, None)
        if t is None:
            t = {}
            while len(self._tables) >= self.max_devices:
                self._tables.pop(next(iter(self._tables)))
        self._tables[identity] = t  # most recently used last
        return t

    def clear(self) -> None:
        self._tables.clear()


#: the cross-run piece cache of this process (see the module docstring)
SHARED_PIECES = _SharedPieces()


def _repeat_slices(seg: Piece, times: int, start: int, op: str) -> list[TraceRecord]:
    """``times`` more instances of ``seg`` from ``start``, as one slice per resource."""
    with_macs = {r.resource for r in seg.records if r.macs}
    return [TraceRecord(res, "transfer" if res in seg.moved else "compute",
                        f"{times} more instances", start, start + times * seg.total, op,
                        nbytes=times * seg.moved.get(res, 0),
                        macs=times * seg.stats.macs if res in with_macs else 0, repeat=times)
            for res in seg.busy]


def graph_of(workload: Any) -> Any:
    """A :class:`workloads.Graph` as it is, or a sequence of ops as a graph named "ops"."""
    if isinstance(workload, Graph):
        return workload
    if isinstance(workload, str) or not isinstance(workload, Iterable):
        raise HwsimError(f"a workload to run is a graph or a sequence of ops, got "
                         f"{type(workload).__name__}")
    ops = tuple(workload)
    return Graph(ops[0].name if len(ops) == 1 else "ops", ops)


def _groups(ops: Sequence[Any], concurrent: Sequence[Sequence[str]]) -> list[list[int]]:
    """Op indices in run order: singletons, except runs of consecutive ops named together in
    one of the graph's concurrent groups."""
    where = {op.name: i for i, op in enumerate(ops)}
    group_of: dict[int, int] = {}
    for gi, names in enumerate(concurrent):
        for name in names:
            if name in where:  # a group may name ops outside a --layers prefix
                group_of[where[name]] = gi
    out: list[list[int]] = []
    for i in range(len(ops)):
        gi = group_of.get(i)
        if out and gi is not None and group_of.get(out[-1][-1]) == gi:
            out[-1].append(i)
        else:
            out.append([i])
    return out


__all__ = ["SHARED_PIECES", "TRACE_REPEATS", "DeviceModel", "ModelFactory", "PieceStats",
           "Prices", "Piece", "graph_of", "run_ops"]
