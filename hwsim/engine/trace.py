"""Traces as data: processes append :class:`TraceRecord` s to a :class:`TraceSink`.

Utilisation, bytes moved and energy are computed from the records afterwards (never counted
on the side), and :func:`chrome_trace` turns them into the Chrome trace-event JSON that
https://ui.perfetto.dev opens: one track (thread) per resource, one complete slice (``ph: X``)
per tile or transfer.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Kind = Literal["compute", "transfer", "stall", "vector"]


@dataclass(frozen=True)
class TraceRecord:
    """One tile of compute or one transfer on one resource, in cycles ``[start, end)``."""

    resource: str
    kind: Kind
    name: str
    start: int
    end: int
    op: str = ""
    nbytes: int = 0
    macs: int = 0
    # energy-relevant traffic a compute tile causes in the on-chip buffers
    sram_bytes: int = 0
    # > 1: the slice stands for this many identical tiles or transfers (a steady state a
    # device model counted instead of simulating one by one); bytes/macs are their total
    repeat: int = 1

    @property
    def cycles(self) -> int:
        return self.end - self.start

    def shifted(self, dt: int, op: str | None = None) -> TraceRecord:
        return replace(self, start=self.start + dt, end=self.end + dt,
                       op=self.op if op is None else op)


@dataclass
class TraceSink:
    """An append-only list of records; the one place processes report what they did."""

    records: list[TraceRecord] = field(default_factory=list)

    def append(self, rec: TraceRecord) -> None:
        self.records.append(rec)

    def extend(self, recs: Iterable[TraceRecord]) -> None:
        self.records.extend(recs)

    def __iter__(self) -> Iterator[TraceRecord]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)


def busy_cycles(records: Iterable[TraceRecord]) -> dict[str, int]:
    """Busy cycles per resource: the sum of its slices' lengths (unit-cycles where a
    resource with a capacity above 1 runs slices at once)."""
    out: dict[str, int] = {}
    for r in records:
        if r.kind != "stall":
            out[r.resource] = out.get(r.resource, 0) + r.cycles
    return out


def bytes_moved(records: Iterable[TraceRecord]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in records:
        if r.kind == "transfer":
            out[r.resource] = out.get(r.resource, 0) + r.nbytes
    return out


def chrome_trace(records: Iterable[TraceRecord], clock_mhz: float,
                 process_name: str = "hwsim") -> dict[str, Any]:
    """Chrome trace-event JSON (``{"traceEvents": [...]}``) with microsecond timestamps."""
    recs = list(records)
    us_per_cycle = 1.0 / clock_mhz
    tids: dict[str, int] = {}
    for r in recs:
        tids.setdefault(r.resource, len(tids) + 1)
    events: list[dict[str, Any]] = [
        {"ph": "M", "pid": 1, "tid": 0, "name": "process_name", "args": {"name": process_name}},
    ]
    for res, tid in tids.items():
        events.append({"ph": "M", "pid": 1, "tid": tid, "name": "thread_name",
                       "args": {"name": res}})
        events.append({"ph": "M", "pid": 1, "tid": tid, "name": "thread_sort_index",
                       "args": {"sort_index": tid}})
    for r in recs:
        args: dict[str, Any] = {"op": r.op, "cycles": r.cycles, "start_cycle": r.start}
        if r.nbytes:
            args["bytes"] = r.nbytes
        if r.macs:
            args["macs"] = r.macs
        if r.repeat > 1:
            args["repeat"] = r.repeat
        events.append({
            "ph": "X", "pid": 1, "tid": tids[r.resource], "name": r.name, "cat": r.kind,
            "ts": r.start * us_per_cycle, "dur": max(r.cycles, 0) * us_per_cycle, "args": args,
        })
    return {"traceEvents": events, "displayTimeUnit": "ns",
            "otherData": {"clock_mhz": clock_mhz, "time_unit": "us"}}
