"""The systolic-array device: any rows x cols array, OS/WS/IS dataflows, double-buffered
ifmap/filter/ofmap SRAMs filled over one shared DRAM channel.

Compute cycles equal SCALE-Sim v3's "Total Cycles" (closed forms in
:mod:`hwsim.devices.systolic.timing`). Around them the SimPy model adds what the memory
system costs:

- Folds (one array-sized mapping of a GEMM) are grouped into tiles: consecutive folds whose
  new operand data fits in one half of each double-buffered SRAM. A DMA process loads the
  next tile while the array computes the current one; the array stalls when the load is late,
  and when the ofmap writer has not drained the previous result yet.
- An operand tile is fetched from DRAM when it changes from one fold to the next, or, when
  the whole operand fits in its SRAM, only the first time it is used.
- ``bandwidth_words=None`` is SCALE-Sim's CALC mode: DRAM never stalls the array; only the
  first prefetch and the ofmap write-out after the last compute cycle add to
  ``total_cycles``, both timed as SCALE-Sim 3.0.0's memory system times them
  (:func:`~hwsim.devices.systolic.timing.calc_prefetch_cycles`,
  :func:`~hwsim.devices.systolic.timing.calc_drain_cycles`), so ``total_cycles`` equals its
  "Total Cycles (incl. prefetch)" exactly (tests check it live, narrow and tall arrays and
  small SRAMs included). That write-out follows SCALE-Sim, not our tiles: in WS/IS it counts
  the partial sums every row fold writes, and part of it may drain during compute. The
  trace's ofmap bytes stay the final outputs of the last tile.
- With a bandwidth limit the array stalls when a tile's operands arrive late or the ofmap
  writer falls behind (``memory_model="tiles"``, the default). SCALE-Sim's USER bandwidth
  mode stalls far more on operands larger than half their SRAM: its buffers keep a window of
  1/100-SRAM "sets" of the operand, slide it through the operand in prefetch order, evict
  what a later fold re-reads (the OS ifmap once per column fold), chain every refill behind
  the previous one and count each late refill twice (:mod:`hwsim.devices.systolic.scalesim_memory`).
  ``memory_model="scalesim"`` replays that bookkeeping and uses its stall cycles, which equal
  SCALE-Sim 3.0.0's exactly on GEMM topologies (tests check it live; a conv replays its
  equivalent GEMM, within 0.2% of SCALE-Sim's conv run); the tile schedule still sets the
  traffic, the prefetch lead and the write-out tail, and the trace shows the stalls as one
  slice after the last compute tile. It is a compatibility model (bookkeeping, not
  hardware) and costs one numpy pass per demanded cycle.
- The prefetch lead follows SCALE-Sim's set-based read buffer, which fetches whole sets of
  1/100 of the SRAM: the total of a small layer grows with the SRAM size (a 64^3 GEMM on
  32x32 OS: 1,089 cycles at 64 KiB, 1,679 at 1 MiB, 67,739 at 64 MiB, SCALE-Sim 3.0.0's own
  figures, checked live). Compute cycles follow SCALE-Sim's "Total Cycles", the index of the
  last cycle, so a one-cycle layer (1x1x1 on a 1x1 array) reports 0 (SCALE-Sim computes 0
  too, then divides by it in its report).
- Each layer starts with empty buffers and ends drained (as SCALE-Sim simulates layers), so
  layers with the same shape are simulated once and replayed.
- Cost does not grow with the tile count. Folds differ only in being in the first or the
  last (partial) row/column fold, so the tile plan is run-length encoded in closed form
  (:func:`plan`: runs of identical tiles, and one period of the repeating column folds
  counted, :class:`TilePlan`); the SimPy pipeline runs tile by tile until its state recurs
  inside a run or a repeated block, then jumps over whole periods (:class:`_Steady`), and
  the CALC-mode write-out is a closed form. Numbers equal tile-by-tile simulation exactly
  (tests compare both paths); a 65536^3 GEMM simulates in milliseconds on any array. In
  the trace a stretch jumped over is one slice per resource whose ``repeat`` arg counts its
  tiles (stretches under :data:`MIN_JUMP_TILES` tiles are simulated and traced tile by
  tile). A layer whose cycles would not fit an int64 is refused at once.

Causal attention: the array's schedule is static (and SCALE-Sim has no mask), so it runs the
full ``QK^T`` and ``PV`` GEMMs and the mask discards the upper triangle of scores after the
fact. The op's MACs count only the unmasked pairs; the OpResult reports the MACs executed,
the run notes how many of them were masked-out work, and the vector unit scales and
softmaxes every score computed (:mod:`hwsim.engine.lowering`, ``causal_block=None``).

Ops the array cannot run (softmax, norms, elementwise, pooling, embedding lookups) go to a
vector unit beside it, documented fallback: ``max(flops / vector_lanes, bytes / DRAM
bandwidth)`` cycles; views cost nothing. Training ops (backward, weight update) are refused.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
from collections.abc import Generator
from dataclasses import dataclass, replace
from typing import Any

import simpy

from hwsim.devices.systolic import scalesim_memory
from hwsim.devices.systolic.spec import SystolicSpec
from hwsim.devices.systolic.timing import (
    CALC_PREFETCH_WORDS,
    DATAFLOWS,
    calc_drain_cycles,
    calc_prefetch_cycles,
    compute_cycles,
    cycles_per_fold,
    first_demand_cycle,
    fold_counts,
    fold_traffic,
    mapping,
)
from hwsim.engine.driver import Piece, PieceStats
from hwsim.engine.lowering import Gemm, Lowered, check_cycles
from hwsim.engine.resources import ComputeUnit, DoubleBuffer, MemoryLevel, MemorySpec
from hwsim.engine.trace import TraceRecord, TraceSink
from hwsim.errors import HwsimError

# --- tiles ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tile:
    """Consecutive folds computed back to back, with the DRAM traffic they need first."""

    folds: int
    cycles: int
    macs: int
    ifmap_load_words: int
    filter_load_words: int
    ofmap_write_words: int
    sram_words: int


def _halves(spec: SystolicSpec, word_bits: int, weight_bits: int | None = None) -> list[int]:
    """Words in one half of each SRAM (filter words of ``weight_bits``, packed, when given);
    an error when one array-sized tile does not fit."""
    halves = [spec.half_words(i, weight_bits or word_bits if i == 1 else word_bits)
              for i in range(3)]
    rows, cols = spec.rows, spec.cols
    need = rows * cols
    for i, what in enumerate(("ifmap", "filter", "ofmap")):
        if halves[i] < need:
            raise HwsimError(
                f"{what} SRAM of {spec.sram_kb[i]:g} KiB is too small for one {rows}x{cols} "
                f"tile of {word_bits}-bit words: each half of its double buffer must hold "
                f"{need} words ({math.ceil(2 * need * word_bits / 8 / 1024)} KiB in all)")
    return halves


@dataclass(frozen=True)
class Segment:
    """``block`` (runs of identical tiles, ``(tile, count)``) repeated ``repeat`` times."""

    block: tuple[tuple[Tile, int], ...]
    repeat: int = 1

    @functools.cached_property
    def block_tiles(self) -> int:
        return sum(c for _, c in self.block)


@dataclass(frozen=True)
class TilePlan:
    """One GEMM instance's tiles, run-length encoded: segments of repeated blocks of runs.

    Its size does not grow with the tile count: identical tiles are one run, and a pattern
    of runs that recurs (one per column fold, say) is one repeated block.
    """

    segments: tuple[Segment, ...]

    def __post_init__(self) -> None:
        starts, n = [], 0
        for seg in self.segments:
            starts.append(n)
            n += seg.repeat * seg.block_tiles
        object.__setattr__(self, "_starts", starts)
        object.__setattr__(self, "_len", n)
        object.__setattr__(self, "_run_starts", [
            list(itertools.accumulate((c for _, c in seg.block), initial=0))
            for seg in self.segments])

    def __len__(self) -> int:
        return self._len  # type: ignore[attr-defined]

    def tiles(self) -> list[Tile]:
        """Every tile in order (small plans only: tests, traces)."""
        return [t for seg in self.segments for _ in range(seg.repeat)
                for t, c in seg.block for _ in range(c)]

    def count(self, pred: Any) -> int:
        """Tiles for which ``pred(tile)`` holds."""
        return sum(seg.repeat * c for seg in self.segments for t, c in seg.block if pred(t))

    def locate(self, i: int) -> tuple[Tile, tuple[int, int, int, int], tuple[int, int]]:
        """Tile ``i``, its place ``(segment, block repeat, run, index in run)`` and the global
        indices of the last tile of its run and of its segment."""
        s = bisect.bisect_right(self._starts, i) - 1  # type: ignore[attr-defined]
        seg = self.segments[s]
        off = i - self._starts[s]  # type: ignore[attr-defined]
        length = seg.block_tiles
        r, off = divmod(off, length)
        rs = self._run_starts[s]  # type: ignore[attr-defined]
        e = bisect.bisect_right(rs, off) - 1
        t = off - rs[e]
        tile, count = seg.block[e]
        run_last = i - t + count - 1
        seg_last = self._starts[s] + seg.repeat * length - 1  # type: ignore[attr-defined]
        return tile, (s, r, e, t), (run_last, seg_last)

    @classmethod
    def of_tiles(cls, tiles: list[Tile]) -> TilePlan:
        return cls(tuple(Segment(((t, 1),)) for t in tiles))


class _Packer:
    """Groups folds into tiles greedily (a tile closes when the next fold's new data does not
    fit in one half of a buffer), a run of identical folds at a time, in closed form."""

    def __init__(self, halves: list[int]) -> None:
        self.halves = halves
        self.cur = [0] * 7  # folds, cycles, macs, ifmap, filter, ofmap, sram (Tile's order)
        self.out: list[list[Any]] = []  # [tile, count]
        self.barrier = False  # the next tile starts a new entry (a block boundary)

    def _emit(self, tile: Tile, count: int) -> None:
        if self.out and not self.barrier and self.out[-1][0] == tile:
            self.out[-1][1] += count
        else:
            self.out.append([tile, count])
        self.barrier = False

    def close(self) -> None:
        if self.cur[0]:
            self._emit(Tile(*self.cur), 1)
            self.cur = [0] * 7

    def add(self, fold: tuple[int, ...], n: int) -> None:
        """``n`` folds of ``(1, cycles, macs, ifmap, filter, ofmap, sram)``."""
        loads = fold[3:6]
        while n:
            if not self.cur[0]:
                room = [(h - v) // v for h, v in zip(self.halves, loads, strict=True) if v]
                q = 1 + max(0, min(room)) if room else n
                full = (n - 1) // q
                if full:
                    self._emit(Tile(*(q * v for v in fold)), full)
                r = n - full * q
                self.cur = [r * v for v in fold]
                return
            # a component the fold does not add to still closes a tile already over its half
            room = [(h - c) // v if v else 0 for h, c, v in zip(self.halves, self.cur[3:6],
                                                                loads, strict=True)
                    if v or c > h]
            j = min(n, max(0, min(room))) if room else n
            self.cur = [c + j * v for c, v in zip(self.cur, fold, strict=True)]
            n -= j
            if n:
                self.close()


def _classes(n: int) -> list[tuple[int, int]]:
    """``(representative index, count)`` of the first, the middle and the last of ``n``."""
    if n <= 2:
        return [(i, 1) for i in range(n)]
    return [(0, 1), (1, n - 2), (n - 1, 1)]


def plan(g: Gemm, spec: SystolicSpec, word_bits: int,
         weight_bits: int | None = None) -> TilePlan:
    """Group one GEMM instance's folds into tiles (see the module doc for the rules).

    Folds differ only by being in the first row/column fold or the last (partial) one, so
    each column fold is three runs of identical folds, packed in closed form; the middle
    column folds repeat, and the packer's state at their boundaries becomes periodic, so one
    period of them is planned and counted. The result equals :func:`plan_tiles_by_fold`'s.
    """
    rows, cols, df = spec.rows, spec.cols, spec.dataflow
    sr, sc, t = mapping(g, df)
    rf, cf = fold_counts(g, rows, cols, df)
    per_fold = cycles_per_fold(g, rows, cols, df)
    halves = _halves(spec, word_bits, weight_bits)
    ifmap_fits = g.m * g.k <= 2 * halves[0]
    filter_fits = g.k * g.n <= 2 * halves[1]

    def fold(fr: int, fc: int) -> tuple[int, ...]:
        tr = fold_traffic(g, rows, cols, df, fr, fc)
        reload = fc == 0 or rf > 1  # a non-fitting operand keyed by row fold is re-read
        if df == "os":
            li = tr.ifmap_words if fc == 0 or (not ifmap_fits and reload) else 0
            lf = tr.filter_words if fr == 0 else 0
            ow = tr.ofmap_words
        elif df == "ws":
            li = tr.ifmap_words if fc == 0 or (not ifmap_fits and reload) else 0
            lf, ow = tr.filter_words, tr.ofmap_words if fr == rf - 1 else 0
        else:
            li = tr.ifmap_words
            lf = tr.filter_words if fc == 0 or (not filter_fits and reload) else 0
            ow = tr.ofmap_words if fr == rf - 1 else 0
        macs = min(rows, sr - fr * rows) * min(cols, sc - fc * cols) * t
        return (1, per_fold, macs, li, lf, ow,
                tr.ifmap_words + tr.filter_words + tr.ofmap_words)

    pk = _Packer(halves)
    segments: list[Segment] = []

    def flush(entries: list[list[Any]], repeat: int = 1) -> None:
        if entries:
            segments.append(Segment(tuple((tl, c) for tl, c in entries), repeat))

    for fc, n in _classes(cf):
        seen: dict[tuple[int, ...], tuple[int, int]] = {}
        detect = n > 1
        done = 0
        while done < n:
            key = tuple(pk.cur)
            if detect and key in seen:  # the state recurs: a period of columns repeats
                c0, i0 = seen[key]
                period = done - c0
                reps = (n - done) // period
                flush(pk.out[:i0])
                flush(pk.out[i0:], 1 + reps)
                pk.out = []
                done += reps * period
                detect = False
                continue
            if detect:
                seen[key] = (done, len(pk.out))
                pk.barrier = True
            for fr, k in _classes(rf):
                pk.add(fold(fr, fc), k)
            done += 1
    pk.close()
    flush(pk.out)
    return _last_tile_early(_merged(segments))


def _merged(segments: list[Segment]) -> TilePlan:
    """Adjacent unrepeated segments as one block (runs of equal tiles joined)."""
    out: list[Segment] = []
    for seg in segments:
        if out and seg.repeat == 1 and out[-1].repeat == 1:
            runs = list(out[-1].block)
            for tl, c in seg.block:
                if runs[-1][0] == tl:
                    runs[-1] = (tl, runs[-1][1] + c)
                else:
                    runs.append((tl, c))
            out[-1] = Segment(tuple(runs))
        else:
            out.append(seg)
    return TilePlan(tuple(out))


def _last_tile_early(p: TilePlan) -> TilePlan:
    """SCALE-Sim counts the index of the last cycle: the last tile ends one cycle early."""
    segs = list(p.segments)
    last = segs.pop()
    if last.repeat > 1:
        segs.append(Segment(last.block, last.repeat - 1))
    runs = list(last.block)
    tl, c = runs.pop()
    if c > 1:
        runs.append((tl, c - 1))
    runs.append((replace(tl, cycles=tl.cycles - 1), 1))
    segs.append(Segment(tuple(runs)))
    return TilePlan(tuple(segs))


def plan_tiles(g: Gemm, spec: SystolicSpec, word_bits: int) -> list[Tile]:
    """Every tile of :func:`plan`, in order (for small GEMMs)."""
    return plan(g, spec, word_bits).tiles()


def plan_tiles_by_fold(g: Gemm, spec: SystolicSpec, word_bits: int,
                       weight_bits: int | None = None) -> list[Tile]:
    """The tiles of :func:`plan`, found by walking every fold (the reference it is tested
    against; its cost grows with the fold count)."""
    rows, cols, df = spec.rows, spec.cols, spec.dataflow
    sr, sc, t = mapping(g, df)
    rf, cf = fold_counts(g, rows, cols, df)
    per_fold = cycles_per_fold(g, rows, cols, df)
    halves = _halves(spec, word_bits, weight_bits)
    ifmap_total, filter_total = g.m * g.k, g.k * g.n
    ifmap_fits = ifmap_total <= 2 * halves[0]
    filter_fits = filter_total <= 2 * halves[1]
    seen_i: set = set()
    seen_f: set = set()
    prev_i: Any = None
    prev_f: Any = None
    tiles: list[Tile] = []
    cur = [0, 0, 0, 0, 0, 0, 0]  # folds, macs, ifmap, filter, ofmap, sram, cycles

    def close() -> None:
        if cur[0]:
            tiles.append(Tile(cur[0], cur[6], cur[1], cur[2], cur[3], cur[4], cur[5]))
            for j in range(7):
                cur[j] = 0

    for fc in range(cf):
        for fr in range(rf):
            tr = fold_traffic(g, rows, cols, df, fr, fc)
            if df == "os":
                key_i, key_f = fr, fc
                load_i, load_f = tr.ifmap_words, tr.filter_words
                out_w = tr.ofmap_words
            elif df == "ws":
                key_i, key_f = fr, (fr, fc)
                load_i, load_f = tr.ifmap_words, tr.filter_words
                out_w = tr.ofmap_words if fr == rf - 1 else 0
            else:
                key_i, key_f = (fr, fc), fr
                load_i, load_f = tr.ifmap_words, tr.filter_words
                out_w = tr.ofmap_words if fr == rf - 1 else 0
            li = 0 if (key_i in seen_i if ifmap_fits else key_i == prev_i) else load_i
            lf = 0 if (key_f in seen_f if filter_fits else key_f == prev_f) else load_f
            seen_i.add(key_i)
            seen_f.add(key_f)
            prev_i, prev_f = key_i, key_f
            if cur[0] and (cur[2] + li > halves[0] or cur[3] + lf > halves[1]
                           or cur[4] + out_w > halves[2]):
                close()
            r_used = min(rows, sr - fr * rows)
            c_used = min(cols, sc - fc * cols)
            cur[0] += 1
            cur[1] += r_used * c_used * t
            cur[2] += li
            cur[3] += lf
            cur[4] += out_w
            cur[5] += tr.ifmap_words + tr.filter_words + tr.ofmap_words
            cur[6] += per_fold
    close()
    # SCALE-Sim counts the index of the last cycle: the last tile ends one cycle early
    last = tiles[-1]
    tiles[-1] = replace(last, cycles=last.cycles - 1)
    return tiles


# --- the SimPy model -----------------------------------------------------------------------

#: jump over a steady state only when that skips at least this many tiles; shorter stretches
#: are simulated tile by tile (so small layers keep one trace slice per tile)
MIN_JUMP_TILES = 64


def _owner(proc: Any) -> str | None:
    return getattr(proc, "name", None)


class _Steady:
    """Finds the pipeline's periodic steady state and jumps over whole periods of it.

    At the start of each compute tile it takes the state of the whole model relative to the
    current cycle: the pending SimPy events (time left, priority, type, waiting process, in
    queue order), who holds and who waits for the DRAM channel, the buffers' contents and
    waiters, and how far the loader is ahead. The model is deterministic, so when that state
    recurs at the same place of a run of identical tiles (or of a repeated block), with the
    tiles ahead identical, everything between the two visits repeats exactly; the jump then
    skips whole periods (every count and statistic adds ``periods`` times the period's
    difference, the clock moves by ``periods`` x the period's cycles) and the simulation goes
    on from the same state, so the result equals tile-by-tile simulation (tested). The trace
    shows a skipped stretch as one slice per resource whose ``repeat`` arg is its tile count.
    """

    def __init__(self, dev: SystolicArray, plan: TilePlan, inbuf: DoubleBuffer,
                 outbuf: DoubleBuffer, min_jump: int | None) -> None:
        self.dev, self.plan, self.inbuf, self.outbuf = dev, plan, inbuf, outbuf
        self.min_jump = min_jump
        self.pos = {"load": 0, "compute": 0}
        self.load_stage = -1
        self.writing: tuple[int, int] | None = None  # the ofmap tile the writer is on
        self.left_out = 0  # ofmap write-outs the writer still owes
        self.stall = 0
        self.puts = 0  # ofmap tiles handed to the writer
        self.offset = 0  # cycles jumped over
        self.tot: dict[Any, int] = {"macs": 0, "sram": 0}
        self._scanned = 0
        self._seen: dict[Any, tuple[int, int, int, int, dict[Any, int]]] = {}
        self._cuts: list[tuple[int, int, list[TraceRecord]]] = []  # (record index, offset, ..)
        self.records: list[TraceRecord] = []

    def _scan(self) -> None:
        recs = self.dev.sink.records
        tot = self.tot
        for r in recs[self._scanned:]:
            if r.kind != "stall":
                tot["busy", r.resource] = tot.get(("busy", r.resource), 0) + r.cycles
            if r.kind == "transfer":
                tot["bytes", r.resource] = tot.get(("bytes", r.resource), 0) + r.nbytes
            tot["macs"] += r.macs
            tot["sram"] += r.sram_bytes
        self._scanned = len(recs)

    def _state(self, i: int) -> tuple:
        env = self.dev.env
        now = env.now
        events = tuple(
            (t - now, prio, type(ev).__name__,
             tuple(_owner(getattr(cb, "__self__", None)) for cb in (ev.callbacks or ())))
            for t, prio, _, ev in sorted(env._queue))
        chan = self.dev.dram.channels
        dram = (tuple(_owner(r.proc) for r in chan.users),
                tuple(_owner(r.proc) for r in chan.queue))
        bufs = tuple(
            (tuple(it - i if isinstance(it, int) else (it[0] - i, it[1])
                   for it in b.store.items),
             tuple(_owner(e.proc) for e in b.store.put_queue),
             tuple(_owner(e.proc) for e in b.store.get_queue))
            for b in (self.inbuf, self.outbuf))
        writing = self.writing and (self.writing[0] - i, self.writing[1])
        return events, dram, bufs, self.pos["load"] - i, self.load_stage, writing

    def at_tile_start(self) -> None:
        if self.min_jump is None:
            return
        i = self.pos["compute"]
        _, (s, r, e, t), (run_last, seg_last) = self.plan.locate(i)
        self._scan()
        now = int(self.dev.env.now) + self.offset
        state = self._state(i)
        snap = (i, now, self.stall, self.puts, dict(self.tot))
        for key, last in ((("run", s, r, e, state), run_last),
                          (("block", s, e, t, state), seg_last)):
            prev = self._seen.get(key)
            if prev is not None:
                period = i - prev[0]
                periods = (last - 2 - i) // period
                if periods * period >= max(1, self.min_jump):
                    self._jump(prev, snap, periods)
                    return
            self._seen[key] = snap

    def _jump(self, prev: tuple, snap: tuple, k: int) -> None:
        i0, now0, stall0, puts0, tot0 = prev
        i, now, stall, puts, tot = snap
        period, cycles = i - i0, now - now0
        skip = k * period
        self.stall += k * (stall - stall0)
        self.left_out -= k * (puts - puts0)
        self.puts += k * (puts - puts0)
        summary: list[TraceRecord] = []
        for key in tot:
            self.tot[key] += k * (tot[key] - tot0.get(key, 0))
            if isinstance(key, tuple) and key[0] == "busy":
                res = key[1]
                moved = tot.get(("bytes", res), 0) - tot0.get(("bytes", res), 0)
                macs = tot["macs"] - tot0["macs"] if res == "array" else 0
                summary.append(TraceRecord(
                    res, "compute" if res == "array" else "transfer",
                    f"steady state: {skip} tiles", now, now + k * cycles, nbytes=k * moved,
                    macs=k * macs, repeat=skip))
        self.offset += k * cycles
        self._cuts.append((len(self.dev.sink.records), self.offset, summary))
        self.pos["compute"] += skip
        self.pos["load"] += skip

    def finish(self) -> None:
        self._scan()
        recs = self.dev.sink.records
        out: list[TraceRecord] = []
        start, off = 0, 0
        for cut, new_off, summary in self._cuts:
            out += [r.shifted(off) if off else r for r in recs[start:cut]]
            out += summary
            start, off = cut, new_off
        out += [r.shifted(off) if off else r for r in recs[start:]]
        self.records = out

    @property
    def now(self) -> int:
        return int(self.dev.env.now) + self.offset


class SystolicArray:
    """The array, its double buffers and the DRAM channel, on an explicit ``env``."""

    def __init__(self, env: simpy.Environment, spec: SystolicSpec, sink: TraceSink) -> None:
        self.env = env
        self.spec = spec
        self.sink = sink
        self.array = ComputeUnit(env, "array", sink)
        self.vector = ComputeUnit(env, "vector", sink)
        # CALC mode gives ifmap and filter their own interface for the first prefetch
        ch = 2 if spec.bandwidth_words is None else 1
        self.dram = MemoryLevel(env, MemorySpec("dram", None, None, channels=ch), sink)

    def _words_cycles(self, words: int, words_per_cycle: float | None) -> int:
        if words <= 0 or words_per_cycle is None:
            return 0
        return check_cycles(math.ceil(words / words_per_cycle), "a DRAM transfer")

    def run_gemm(self, plan: TilePlan, op: str, word_bits: int, out_bits: int, g: Gemm,
                 min_jump: int | None = None,
                 weight_bits: int | None = None) -> Generator[Any, Any, _Steady]:
        """Process: load, compute and write back one GEMM instance.

        With ``min_jump`` the compute process looks for the pipeline's steady state inside
        runs and repeated blocks of identical tiles and jumps over whole periods of it
        (:class:`_Steady`) when that skips at least ``min_jump`` tiles; ``None`` simulates
        every tile.
        """
        env, spec = self.env, self.spec
        # bits of an ifmap / filter word: weights narrower than the activations are packed
        bits = (word_bits, weight_bits or word_bits)
        calc = spec.bandwidth_words is None
        inbuf = DoubleBuffer(env, "operands", 0)
        outbuf = DoubleBuffer(env, "ofmap", 0)
        n = len(plan)
        st = _Steady(self, plan, inbuf, outbuf, min_jump)
        st.left_out = plan.count(lambda tl: tl.ofmap_write_words > 0)

        def load_cycles(what: int, words: int, first: bool) -> int:
            if calc:
                if not first:
                    return 0
                total = g.m * g.k if what == 0 else g.k * g.n
                first_read = first_demand_cycle(g, spec.rows, spec.dataflow,
                                                ("ifmap", "filter")[what])
                return calc_prefetch_cycles(packed(total, what),
                                            spec.sram_words(what, word_bits), first_read)
            return self._words_cycles(packed(words, what), spec.bandwidth_words)

        def packed(words: int, what: int) -> int:
            """Packed weights move as word_bits-wide words over the DRAM channel."""
            if bits[what] == word_bits:
                return words
            return math.ceil(words * bits[what] / word_bits)

        def loader() -> Generator[Any, Any, None]:
            while st.pos["load"] < n:
                i = st.pos["load"]
                tl = plan.locate(i)[0]
                loads = [self.dram.transfer(math.ceil(words * bits[j] / 8),
                                            f"load {what} t{i}", op,
                                            cycles=check_cycles(load_cycles(j, words, i == 0),
                                                                "an operand load"))
                         for j, (what, words) in enumerate((("ifmap", tl.ifmap_load_words),
                                                           ("filter", tl.filter_load_words)))
                         if words]
                if calc and i == 0 and len(loads) > 1:
                    # SCALE-Sim prefetches each operand over its own interface
                    yield simpy.AllOf(env, [env.process(p) for p in loads])
                else:
                    for j, p in enumerate(loads):
                        st.load_stage = j
                        yield from p
                st.load_stage = -1
                yield inbuf.put(st.pos["load"])
                st.pos["load"] += 1

        def writer() -> Generator[Any, Any, None]:
            while st.left_out:
                st.left_out -= 1
                last = not st.left_out
                i, words = yield outbuf.get()
                st.writing = (i, words)
                if calc:
                    # SCALE-Sim's write-out past the last compute cycle. It is negative only
                    # if a drain emptied the buffer before that cycle (possible only when
                    # half the ofmap SRAM is not a multiple of cols); that case counts 0
                    cyc = max(0, calc_drain_cycles(g, spec.rows, spec.cols, spec.dataflow,
                                                   spec.sram_words(2, out_bits))) if last else 0
                else:
                    cyc = self._words_cycles(words, spec.bandwidth_words)
                yield from self.dram.transfer(math.ceil(words * out_bits / 8),
                                              f"write ofmap t{i}", op,
                                              cycles=check_cycles(cyc, "an ofmap write"))
                st.writing = None

        def compute() -> Generator[Any, Any, None]:
            while st.pos["compute"] < n:
                t0 = env.now
                yield inbuf.get()
                if st.pos["compute"] and env.now > t0:
                    self.sink.append(TraceRecord("array", "stall", "wait operands", int(t0),
                                                 int(env.now), op))
                    st.stall += int(env.now - t0)
                st.at_tile_start()
                i = st.pos["compute"]
                tl = plan.locate(i)[0]
                yield from self.array.run_tile(
                    check_cycles(tl.cycles, "a compute tile"), f"{tl.folds} folds", op,
                    macs=tl.macs, sram_bytes=math.ceil(tl.sram_words * word_bits / 8))
                if tl.ofmap_write_words:
                    t1 = env.now
                    st.puts += 1
                    yield outbuf.put((i, tl.ofmap_write_words))
                    if env.now > t1:
                        self.sink.append(TraceRecord("array", "stall", "wait ofmap drain",
                                                     int(t1), int(env.now), op))
                        st.stall += int(env.now - t1)
                st.pos["compute"] += 1

        procs = [env.process(loader()), env.process(compute()), env.process(writer())]
        yield simpy.AllOf(env, procs)
        st.finish()
        return st

    def run_vector(self, low: Lowered, op: str) -> Generator[Any, Any, None]:
        spec = self.spec
        cyc = check_cycles(math.ceil(low.vector_flops / spec.lanes), "vector work")
        if spec.bandwidth_words is not None and low.vector_bytes:
            bw_bytes = spec.bandwidth_words * low.word_bits / 8
            cyc = max(cyc, math.ceil(low.vector_bytes / bw_bytes))
        yield from self.vector.run_tile(cyc, "vector", op, kind="vector")


#: the largest cycle count a result may hold (int64, as JSON readers and numpy take it)
MAX_CYCLES = 2**63 - 1


def _check_reach(g: Gemm, spec: SystolicSpec) -> None:
    """One error, at once, for a layer whose cycle count no consumer could hold."""
    cyc = compute_cycles(g, spec.rows, spec.cols, spec.dataflow)
    if cyc > MAX_CYCLES // 4:  # headroom for prefetch, stalls and the other layers
        raise HwsimError(
            f"GEMM {g.m}x{g.k}x{g.n}{f' x{g.repeat}' if g.repeat > 1 else ''} needs {cyc:.3g} "
            f"compute cycles on a {spec.rows}x{spec.cols} array, beyond the {MAX_CYCLES // 4:.3g} "
            "a result can hold (int64 with headroom); use a larger array or a smaller layer")


def _simulate_gemm(g: Gemm, spec: SystolicSpec, word_bits: int, out_bits: int, *,
                   min_jump: int | None = MIN_JUMP_TILES, by_fold: bool = False,
                   weight_bits: int | None = None) -> Piece:
    """One GEMM instance. ``by_fold=True`` with ``min_jump=None`` is the uncompressed
    reference (every fold planned, every tile simulated) the tests compare against.
    ``weight_bits`` (default ``word_bits``): filter words narrower than the activations are
    packed in the filter SRAM and in DRAM traffic (SRAM read energy still counts every
    operand word at ``word_bits``)."""
    env = simpy.Environment()
    sink = TraceSink()
    dev = SystolicArray(env, spec, sink)
    one = replace(g, repeat=1)
    _check_reach(g, spec)
    wbits = weight_bits if weight_bits and weight_bits < word_bits else None
    tiles = (TilePlan.of_tiles(plan_tiles_by_fold(one, spec, word_bits, wbits)) if by_fold else
             plan(one, spec, word_bits, wbits))
    proc = env.process(dev.run_gemm(tiles, "", word_bits, out_bits, one, min_jump, wbits))
    env.run()
    st: _Steady = proc.value
    compute = compute_cycles(one, spec.rows, spec.cols, spec.dataflow)
    busy = {k[1]: v for k, v in st.tot.items() if isinstance(k, tuple) and k[0] == "busy"}
    moved = {k[1]: v for k, v in st.tot.items() if isinstance(k, tuple) and k[0] == "bytes"}
    records = st.records
    total, stall = st.now, st.stall
    if spec.memory_model == "scalesim" and spec.bandwidth_words is not None:
        # keep the tile schedule's traffic, lead and tail; swap its stalls for SCALE-Sim's
        sram = (spec.sram_words(0, word_bits), spec.sram_words(1, wbits or word_bits),
                spec.sram_words(2, out_bits))
        stall = scalesim_memory.stall_cycles(one, spec.rows, spec.cols, spec.dataflow, sram,
                                             int(spec.bandwidth_words))
        records = [r for r in records if r.kind != "stall"]
        last = max((r.end for r in records if r.resource == "array"), default=0)
        if stall:
            records.append(TraceRecord("array", "stall", "SCALE-Sim memory model", last,
                                       last + stall))
        total = st.now - st.stall + stall
    return Piece(total, PieceStats(compute, stall, one.macs), tuple(records), busy, moved,
                 st.tot["sram"])


def _simulate_vector(low: Lowered, spec: SystolicSpec) -> Piece:
    env = simpy.Environment()
    sink = TraceSink()
    dev = SystolicArray(env, spec, sink)
    env.process(dev.run_vector(low, ""))
    env.run()
    return Piece.of_records(int(env.now), PieceStats(), sink.records)


__all__ = ["CALC_PREFETCH_WORDS", "DATAFLOWS", "SystolicArray", "Tile", "TilePlan",
           "plan", "plan_tiles", "plan_tiles_by_fold"]
