"""SCALE-Sim 3.0.0's memory system replayed: its stall cycles and every figure of its reports.

SCALE-Sim times a layer by running per-cycle demand matrices through its SRAM buffers
(``memory/double_buffered_scratchpad_mem.py``): ``read_buffer.py`` for ifmap and filter with
``InterfaceBandwidth: USER``, ``read_buffer_estimate_bw.py`` with ``CALC``, ``write_buffer.py``
for the ofmap in both. This module rebuilds the same inputs (operand address matrices,
:func:`gemm_operands` / :func:`conv_operands`; prefetch orders and demand matrices,
:func:`matrices`) and replays that bookkeeping (:func:`replay`), so that every number of its
COMPUTE_REPORT, BANDWIDTH_REPORT and DETAILED_ACCESS_REPORT is reproduced: stall cycles,
"Total Cycles", the prefetch-inclusive total (last ofmap DRAM write minus the first ifmap or
filter DRAM read), the first and last SRAM and DRAM access cycles and the access counts. It
is a compatibility model, not a hardware one: :mod:`hwsim.devices.systolic` uses it only when
asked (``SystolicSpec(memory_model="scalesim")``, for the stall cycles) and ``hwsim
scalesim`` for its reports.

USER mode, per operand read buffer (``S`` = SRAM words, ``B`` = that operand's read bandwidth
in words/cycle: SCALE-Sim takes it from ``[layout] IfmapSRAMBankBandwidth`` /
``FilterSRAMBankBandwidth``, not from ``Bandwidth``, which sets the ofmap write lines only):

- The operand's *prefetch order* (OS: row folds of the ifmap, column folds of the filter,
  each read along anti-diagonals; WS/IS: their own orders, see :func:`matrices`) is cut into
  *sets* of ``ceil(S / 100)`` words, numbered ``0 .. n-1`` (an extra empty set when the
  operand is an exact multiple). The buffer holds an *active window* of
  ``a = min(n, ceil(ceil(S/2) / set))`` consecutive sets and a prefetch half of
  ``p = min(n - a, ceil((S - ceil(S/2)) / set))`` sets. Before cycle 0 the window is sets
  ``0 .. a-1``, read from DRAM as ``min(ceil(ceil(S/2) / B), ceil(cells / B))`` lines of ``B``
  words ending at cycle -1 (``cells`` counts the prefetch matrix's padding too), so the
  operand's first DRAM read is at minus that many cycles.
- Each cycle (a row of the demand matrix) every address demanded is looked up in the window
  (an address of a conv's im2col ifmap may be in several sets; any of them in the window is
  a hit). On a miss the window slides by ``p`` sets, modulo ``n``, until the address hits;
  each slide is one refill of ``L = ceil((S - ceil(S/2)) / B)`` lines (``L B`` DRAM reads,
  padding included), and refills are chained: the k-th completes at cycle ``k (L + 1) - 1``.
- The row's stall for that operand: ``offset`` starts at 1 (the hit latency) and each slide
  adds ``d = done - (cycle + offset)``, **twice** when ``d > 0`` (``offset += d`` and then
  ``if d > 0: offset += d`` in ``read_buffer.service_reads``), once when ``d < 0``; the
  stall is ``offset - 1``.
- The ofmap write buffer packs writes into lines of ``Bandwidth`` words (``cols`` in CALC
  mode) and starts a drain of up to ``ceil((S - ceil(S/2)) / B)`` lines, one a cycle, when
  more than ``floor(S/2)`` words are outstanding and no drain is in flight (closing the
  partial line first; a drain's last line counts only its words, other lines count whole);
  it stalls the row until the drain ends only when all ``S`` words are outstanding. After
  the last row what is left drains one line a cycle: that last write ends the layer.
- The array's stall for the row is the largest of the three, and it delays every later row
  (``cycle = row index + stalls so far``).

CALC mode never stalls on reads. Its estimate-bandwidth buffers count, in demand order, each
address not already seen in the current *epoch* of ``50 floor(S/100)`` new addresses (an
address re-read after its epoch is read from DRAM again); an operand with fewer new
addresses than one epoch is read in ``ceil(ceil(new/set) set / 10)`` cycles ending at -1,
a larger one reads its first epoch in ``ceil(50 set / 10)`` cycles ending one cycle before
its first demand, and its last DRAM read is one cycle after the last epoch ended. This is
where a conv with few channels parts from its GEMM: its im2col ifmap repeats addresses, so
it has fewer new addresses and a shorter first read.

Worked example (checked live in ``tests/devices/test_scalesim_live.py``): a ``16 x 200``
by ``200 x 1`` GEMM on a 16x16 OS array, 1 KiB SRAMs, 10 words/cycle. The ifmap's 3,200
words make 291 sets of 11, the window holds 47, a refill is 52 lines, so refills complete at
cycles 52, 105, 158, ... The array reads 16 ifmap words a cycle and first misses at cycle 39:
``d = 52 - 40 = 12``, stall 24. Five more misses (cycles 96, 144, 202, 251, 307 against
refills done at 105, 158, 211, 264, 317) stall 16, 26, 16, 24, 18: 124 cycles, SCALE-Sim's
figure (our default tile model: 0, its whole-tile loads are hidden behind compute).

SCALE-Sim's word is one byte of SRAM (``word_size = 1``); give sizes in words.

Cost: the demand matrices are built a batch of folds at a time (about
:data:`_BATCH_CELLS` cells, so memory stays bounded) and replayed in blocks of rows at numpy
speed, one Python step only for a row that misses or starts a drain (SCALE-Sim: one Python
step per address, all matrices in memory). :func:`replay` refuses a layer above
``max_cells`` (:data:`MAX_DEMAND_CELLS`) demand-matrix cells with one error naming the bound
and ``hwsim scalesim --max-cells``, which lifts it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hwsim.devices.systolic.timing import (
    Gemm,
    check_dataflow,
    compute_cycles,
    cycles_per_fold,
    fold_counts,
    mapping,
)
from hwsim.errors import HwsimError

#: largest replay accepted by default: cells of the three demand matrices (a few million
#: cells a second: several minutes at the limit; memory does not grow with it)
MAX_DEMAND_CELLS = 1_000_000_000
#: rows checked at once for a stall-free stretch
_BLOCK = 4096
#: demand-matrix cells built at once (folds are replayed in batches of about this many)
_BATCH_CELLS = 4_000_000


def gemm_operands(g: Gemm) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SCALE-Sim's operand address matrices of a GEMM topology row: ifmap ``M x K``, filter
    ``K x N``, ofmap ``M x N``, every word its own address (only equality matters)."""
    m, k, n = g.m, g.k, g.n
    return (np.arange(m * k, dtype=np.int64).reshape(m, k),
            np.arange(k * n, dtype=np.int64).reshape(k, n),
            np.arange(m * n, dtype=np.int64).reshape(m, n))


def conv_operands(h: int, w: int, kh: int, kw: int, c: int, cout: int, stride: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The same for a conv topology row (``operand_matrix.calc_ifmap_elem_addr``): the im2col
    ifmap ``Ho Wo x kh kw c`` holds the address ``(y W + x) c + ch`` of the pixel each window
    reads, so neighbouring windows repeat addresses, and -1 where a window rounded up past the
    edge (SCALE-Sim rounds a partial stride step up) reads nothing."""
    ho, wo = -(-(h - kh) // stride) + 1, -(-(w - kw) // stride) + 1
    i = np.arange(ho * wo, dtype=np.int64)[:, None]
    j = np.arange(kh * kw * c, dtype=np.int64)[None, :]
    oy, ox = np.divmod(i, wo)
    fy, rest = np.divmod(j, kw * c)
    fx, ch = np.divmod(rest, c)
    y, x = oy * stride + fy, ox * stride + fx
    ifm = np.where((y < h) & (x < w), (y * w + x) * c + ch, -1)
    k = kh * kw * c
    return (ifm, np.arange(k * cout, dtype=np.int64).reshape(k, cout),
            np.arange(ho * wo * cout, dtype=np.int64).reshape(ho * wo, cout))


def _anti_diagonal(mat: np.ndarray) -> np.ndarray:
    """Elements by anti-diagonal ``row + col``, bottom row first within one."""
    r, c = np.indices(mat.shape)
    order = np.lexsort((-r.ravel(), (r + c).ravel()))
    return mat.ravel()[order]


def _col_blocks(mat: np.ndarray, width: int, n: int) -> np.ndarray:
    """``mat``'s columns in ``n`` blocks of ``width`` (the last padded with -1): n x rows x
    width."""
    rows = mat.shape[0]
    pad = np.full((rows, n * width), -1, dtype=np.int64)
    pad[:, :mat.shape[1]] = mat
    return pad.reshape(rows, n, width).transpose(1, 0, 2)


def _tile_blocks(mat: np.ndarray, rows: int, cols: int, rf: int, cf: int) -> np.ndarray:
    """``mat`` cut into ``rows x cols`` tiles (padded with -1), column folds outer:
    (rf cf) x rows x cols."""
    pad = np.full((rf * rows, cf * cols), -1, dtype=np.int64)
    pad[:mat.shape[0], :mat.shape[1]] = mat
    return pad.reshape(rf, rows, cf, cols).transpose(2, 0, 1, 3).reshape(rf * cf, rows, cols)


def _place(blocks: np.ndarray, period: int, lead: int, skew: bool) -> np.ndarray:
    """One fold's demand per block, ``period`` rows each, stacked: block row ``r`` is demanded
    at row ``lead + r``, column ``c`` ``c`` rows later when ``skew`` (SCALE-Sim's
    ``skew_matrix``: operands enter the array one cycle apart per lane); -1 elsewhere."""
    f, h, w = blocks.shape
    out = np.full((f, period, w), -1, dtype=np.int64)
    r, c = np.arange(h)[:, None], np.arange(w)[None, :]
    out[:, lead + r + (c if skew else 0), np.broadcast_to(c, (h, w))] = blocks
    return out.reshape(f * period, w)


def _layout(ifm: np.ndarray, fil: np.ndarray, ofm: np.ndarray, rows: int, cols: int,
            dataflow: str) -> tuple[np.ndarray, np.ndarray, int, int, Callable[..., tuple]]:
    """``(ifmap_prefetch, filter_prefetch, period, folds, demand)``: see :func:`matrices`;
    ``demand(f0, f1)`` gives the three demand matrices of folds ``f0 .. f1 - 1`` only."""
    df = check_dataflow(dataflow)
    (m, k), n = ifm.shape, fil.shape[1]
    R, C = rows, cols
    g = Gemm(m, k, n)
    _, _, t = mapping(g, df)
    rf, cf = fold_counts(g, R, C, df)
    period = cycles_per_fold(g, R, C, df)
    # (blocks, which block a fold uses: row fold / column fold / its own, lead, skewed)
    if df == "os":  # ifmap op mat T x Sr (K x M), filter T x Sc (K x N)
        ib, fb = _col_blocks(ifm.T, R, rf), _col_blocks(fil, C, cf)
        if_pre, fi_pre = _anti_diagonal(ib.reshape(-1, R)), _anti_diagonal(fb.reshape(-1, C))
        parts = ((ib, "row", 0, True), (fb, "col", 0, True),
                 (_tile_blocks(ofm, R, C, rf, cf)[:, ::-1], "fold", t - 1, True))
    elif df == "ws":  # ifmap T x Sr (M x K), filter Sr x Sc (K x N), ofmap T x Sc (M x N)
        ib = _col_blocks(ifm, R, rf)
        if_pre, fi_pre = _anti_diagonal(ib.reshape(-1, R)), _col_blocks(fil, C, cf).ravel()
        parts = ((ib, "row", R, True), (_tile_blocks(fil, R, C, rf, cf)[:, ::-1], "fold", 0, False),
                 (_col_blocks(ofm, C, cf), "col", 2 * R - 1, True))
    else:  # ifmap Sr x Sc (K x M), filter T x Sr (N x K), ofmap T x Sc (N x M)
        fb = _col_blocks(fil.T, R, rf)
        if_pre, fi_pre = _col_blocks(ifm.T, C, cf).ravel(), _anti_diagonal(fb.reshape(-1, R))
        parts = ((_tile_blocks(ifm.T, R, C, rf, cf)[:, ::-1], "fold", 0, False),
                 (fb, "row", R, True), (_col_blocks(ofm.T, C, cf), "col", 2 * R - 1, True))

    def demand(f0: int, f1: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        folds = np.arange(f0, f1)
        pick = {"row": folds % rf, "col": folds // rf, "fold": folds}
        return tuple(_place(b[pick[kind]], period, lead, skew)  # type: ignore[return-value]
                     for b, kind, lead, skew in parts)

    return if_pre, fi_pre, period, rf * cf, demand


def matrices(ifm: np.ndarray, fil: np.ndarray, ofm: np.ndarray, rows: int, cols: int,
             dataflow: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(ifmap_prefetch, filter_prefetch, ifmap_demand, filter_demand, ofmap_demand)``.

    Built as SCALE-Sim 3.0.0's ``systolic_compute_{os,ws,is}`` build them from the operand
    address matrices (ifmap ``M x K``, filter ``K x N``, ofmap ``M x N``; -1 for padding).
    Prefetch arrays are flat, in fetch order, padding included; demand matrices have one row
    per (stall-free) cycle, folds in SCALE-Sim's order (column folds outer), each
    ``cycles_per_fold`` rows: OS streams ifmap and filter skewed from the fold's first row and
    writes the ofmap tile, bottom row first, skewed after ``T - 1`` rows; WS (IS) loads the
    filter (ifmap) tile bottom row first in ``R`` rows, then streams the other operand skewed
    and writes the outputs skewed after ``2R - 1`` rows.
    """
    if_pre, fi_pre, _, folds, demand = _layout(ifm, fil, ofm, rows, cols, dataflow)
    return (if_pre, fi_pre, *demand(0, folds))


@dataclass(frozen=True)
class Access:
    """First and last cycle of an access stream and its word count, as SCALE-Sim reports
    them (cycles are floats in its reports)."""

    start: int
    stop: int
    count: int


@dataclass(frozen=True)
class LayerReplay:
    """One layer's figures in SCALE-Sim's reports."""

    total_cycles: int  # "Total Cycles": the cycle of the last ofmap SRAM write
    stall_cycles: int
    sram: tuple[Access, Access, Access]  # ifmap reads, filter reads, ofmap writes
    dram: tuple[Access, Access, Access]

    @property
    def total_with_prefetch(self) -> int:
        """"Total Cycles (incl. prefetch)": last ofmap DRAM write minus first operand read."""
        return self.dram[2].stop - min(self.dram[0].start, self.dram[1].start)


class _UserReads:
    """``read_buffer`` of SCALE-Sim 3.0.0 (no custom layout, no Ramulator), by sets."""

    def __init__(self, prefetch: np.ndarray, size_words: int, bw_words: int) -> None:
        addrs = prefetch[prefetch >= 0]
        per_set = math.ceil(size_words / 100)
        active = math.ceil(size_words * 0.5)
        prefetch_words = size_words - active
        self.n = addrs.size // per_set + 1  # the trailing (possibly empty) set counts
        self.a = min(self.n, math.ceil(active / per_set))
        self.p = min(self.n - self.a, math.ceil(prefetch_words / per_set))
        sets = np.arange(addrs.size, dtype=np.int64) // per_set
        keys = np.sort(addrs * self.n + sets)
        if keys.size < 2 or (np.diff(keys // self.n) > 0).all():  # each address in one set
            self.set_of: np.ndarray | None = np.full(int(addrs.max(initial=0)) + 1, -1,
                                                     dtype=np.int64)
            self.set_of[addrs] = sets
        else:  # an im2col address may be in several sets: sorted (address, set) keys
            self.set_of = None
            keys = keys[np.append(True, np.diff(keys) > 0)]
        self.keys = np.append(keys, np.iinfo(np.int64).max)
        self.start = 0
        self.lines = math.ceil(prefetch_words / bw_words)
        self.last_prefetch = -1
        first = min(math.ceil(active / bw_words), math.ceil(prefetch.size / bw_words))
        self.first_lines, self.bw, self.slides = first, bw_words, 0

    def hits(self, addrs: np.ndarray) -> np.ndarray:
        s = self.start
        e = (s + self.a) % self.n if s else self.a
        if self.set_of is not None:
            sets = self.set_of[addrs]
            return (sets >= s) & (sets < e) if s < e else (sets >= s) | (sets < e)
        base = addrs * self.n
        k = self.keys
        if s < e:
            return k[np.searchsorted(k, base + s)] < base + e
        return ((k[np.searchsorted(k, base + s)] < base + self.n)
                | (k[np.searchsorted(k, base)] < base + e))

    def stall(self, addrs: np.ndarray, cycle: int) -> int:
        """Stall cycles of one demand row served at ``cycle`` (SCALE-Sim's offset - 1)."""
        if self.p == 0 or addrs.size == 0:
            return 0
        offset = 1
        while True:
            hit = self.hits(addrs)
            if hit.all():
                return offset - 1
            addrs = addrs[int(np.argmin(hit)):]
            while not self.hits(addrs[:1])[0]:
                self.start = (self.start + self.p) % self.n
                self.last_prefetch += self.lines + 1
                self.slides += 1
                d = self.last_prefetch - (cycle + offset)
                offset += 2 * d if d > 0 else d

    def dram(self) -> Access:
        count = (self.first_lines + self.slides * self.lines) * self.bw
        return Access(-self.first_lines, self.last_prefetch, count)


class _CalcReads:
    """``read_buffer_estimate_bw`` (CALC mode) fed the demanded addresses in demand order, a
    batch at a time: each address not yet seen in the current epoch is read (see the
    module doc)."""

    def __init__(self, size_words: int, max_addr: int) -> None:
        self.per_set = size_words // 100
        self.epoch = 50 * self.per_set
        self.last_seen = np.full(max_addr + 1, -1, dtype=np.int64)  # its last position
        self.seen = 0  # positions fed so far
        self.pos = 0  # the position the current epoch began at
        self.new = 0  # addresses the current epoch has read so far
        self.count = 0
        self.ends: list[int] = []  # cycles the epochs ended at
        self.first: int | None = None  # cycle of the first demand

    def feed(self, addrs: np.ndarray, cycles: np.ndarray) -> None:
        if not addrs.size:
            return
        if self.first is None:
            self.first = int(cycles[0])
        here = self.seen + np.arange(addrs.size, dtype=np.int64)
        order = np.argsort(addrs, kind="stable")
        ranked = addrs[order]
        same = ranked[1:] == ranked[:-1]
        prev = self.last_seen[addrs]  # the previous position of the same address
        prev[order[1:][same]] = here[order[:-1][same]]
        last = np.append(~same, True)
        self.last_seen[ranked[last]] = here[order[last]]
        i, span = 0, 4 * self.epoch
        while i < addrs.size:
            new = np.cumsum(prev[i:i + span] < self.pos)
            need = self.epoch - self.new
            if new[-1] >= need:
                end = i + int(np.searchsorted(new, need))
                self.ends.append(int(cycles[end]))
                self.count += self.epoch
                self.pos, self.new, i = self.seen + end + 1, 0, end + 1
            elif i + span >= addrs.size:
                self.new += int(new[-1])
                break
            else:
                span *= 2
        self.seen += addrs.size

    def dram(self) -> Access:
        count = self.count + self.new
        if not self.ends:
            lead = math.ceil(math.ceil(count / self.per_set) * self.per_set / 10)
            return Access(-lead, -1, count)
        return Access(int(self.first) - math.ceil(self.epoch / 10), self.ends[-1] + 1, count)


class _Writes:
    """``write_buffer`` of SCALE-Sim 3.0.0 (write port latency 0), by word and line counts."""

    def __init__(self, size_words: int, bw_words: int) -> None:
        self.active = math.ceil(size_words * 0.5)
        self.chunk = math.ceil((size_words - self.active) / bw_words)
        self.bw = bw_words
        self.free = size_words
        self.fill = 0  # words in the open line
        self.lines = 0  # closed lines
        self.partial: dict[int, int] = {}  # closed partial line -> words in it
        self.drained = 0  # closed lines drained
        self.drain_end = 0
        self.count = 0
        self.start: int | None = None
        self.stop = 0

    def write(self, words: int) -> None:
        self.free -= words
        full, self.fill = divmod(self.fill + words, self.bw)
        self.lines += full

    def _close(self) -> None:
        if self.fill:
            self.partial[self.lines] = self.fill
            self.lines += 1
            self.fill = 0

    def _drain(self, cycle: int) -> int:
        """Drain the next lines from ``cycle``; returns the cycle of the last one."""
        n = min(self.chunk, self.lines - self.drained)
        last = self.drained + n - 1
        words = n * self.bw - (self.bw - self.partial.get(last, self.bw))
        for line in [x for x in self.partial if x <= last]:
            del self.partial[line]
        self.free += words
        self.count += words
        self.drained += n
        if self.start is None:
            self.start = cycle
        self.stop = max(self.stop, cycle + n - 1)
        return cycle + n - 1

    def fits(self, words: np.ndarray, cycles: np.ndarray) -> np.ndarray:
        """Which rows of a stretch write without a drain or a stall (the stretch's earlier
        rows written first)."""
        free = self.free - (np.cumsum(words) - words)
        left = free - words
        return (words == 0) | np.where(cycles < self.drain_end, left > 0, left >= self.active)

    def stall(self, words: int, cycle: int) -> int:
        cur = cycle
        for _ in range(words):
            self.write(1)
            if cur < self.drain_end:
                if self.free <= 0:
                    cur = self.drain_end
            elif self.free < self.active:
                self._close()
                self.drain_end = self._drain(cur)
        return cur - cycle

    def finish(self, cycle: int) -> Access:
        """Drain what is left from ``cycle`` (the last row's) on."""
        self._close()
        while self.drained < self.lines:
            cycle = self._drain(cycle) + 1
        return Access(cycle if self.start is None else self.start, self.stop, self.count)


def sram_counts(m: int, k: int, n: int, rows: int, cols: int, dataflow: str
                ) -> tuple[int, int, int]:
    """SCALE-Sim's SRAM ifmap reads, filter reads and ofmap writes: the used part of each
    fold's operand slice (padding lanes not counted). Its OS ofmap count also adds
    ``rows + cols`` per fold (``ofmap_writes += shape[0] + shape[1]`` in
    ``systolic_compute_os``): bookkeeping, kept."""
    g = Gemm(m, k, n)
    sr, sc, t = mapping(g, dataflow)
    rf, cf = fold_counts(g, rows, cols, dataflow)
    df = check_dataflow(dataflow)
    if df == "os":
        return cf * t * sr, rf * t * sc, sr * sc + rf * cf * (rows + cols)
    if df == "ws":
        return cf * t * sr, sr * sc, rf * t * sc
    return sr * sc, cf * t * sr, rf * t * sc


def demand_cells(m: int, k: int, n: int, rows: int, cols: int, dataflow: str) -> int:
    """Cells of the three demand matrices :func:`replay` builds for an ``M x K x N`` layer."""
    g = Gemm(m, k, n)
    rf, cf = fold_counts(g, rows, cols, dataflow)
    _, _, t = mapping(g, dataflow)
    per_fold = t + rows + cols - 2 if check_dataflow(dataflow) == "os" else t + 2 * rows + cols - 2
    return rf * cf * per_fold * (2 * max(rows, cols) + cols)


def replay(ifm: np.ndarray, fil: np.ndarray, ofm: np.ndarray, rows: int, cols: int,
           dataflow: str, sram_words: tuple[int, int, int],
           bandwidth: tuple[int, int, int] | None = None, *,
           max_cells: int = MAX_DEMAND_CELLS) -> LayerReplay:
    """SCALE-Sim 3.0.0's memory system on one layer (operands from :func:`gemm_operands` or
    :func:`conv_operands`). ``bandwidth`` = (ifmap, filter, ofmap) words/cycle in USER mode
    (SCALE-Sim: the two ``[layout]`` bank bandwidths and ``Bandwidth``), ``None`` for CALC.
    A layer of more than ``max_cells`` demand-matrix cells is refused (run time)."""
    (m, k), n = ifm.shape, fil.shape[1]
    cells = demand_cells(m, k, n, rows, cols, dataflow)
    if cells > max_cells:
        cycles = compute_cycles(Gemm(m, k, n), rows, cols, dataflow) + 1
        raise HwsimError(
            f"SCALE-Sim's memory replay builds per-cycle demand matrices; this {m}x{k}x{n} "
            f"layer on {rows}x{cols} {dataflow} demands {cycles:,} cycles ({cells:,} matrix "
            f"cells), above the limit of {max_cells:,} "
            "cells (hwsim scalesim --max-cells raises it; the default is "
            "hwsim.devices.systolic.scalesim_memory.MAX_DEMAND_CELLS)")
    if bandwidth is not None and (len(bandwidth) != 3 or min(bandwidth) < 1):
        raise HwsimError(f"SCALE-Sim bandwidths must be three whole words/cycle, got "
                         f"{bandwidth!r}")
    if_pre, fi_pre, period, folds, demand = _layout(ifm, fil, ofm, rows, cols, dataflow)
    calc = bandwidth is None
    obuf = _Writes(sram_words[2], cols if calc else bandwidth[2])
    users = [] if calc else [_UserReads(if_pre, sram_words[0], bandwidth[0]),
                             _UserReads(fi_pre, sram_words[1], bandwidth[1])]
    calcs = [_CalcReads(sram_words[x], int(op.max(initial=0))) for x, op in
             enumerate((ifm, fil))] if calc else []
    first: list[int | None] = [None, None, None]  # each stream's first and last serviced
    last: list[int | None] = [None, None, None]   # cycle (the row's, plus its stalls)
    stall, total = 0, 0
    stall_at: list[tuple[int, int]] = [(0, 0)]  # (row, stalls before it) from that row on
    batch = max(1, _BATCH_CELLS // (period * (2 * max(rows, cols) + cols)))
    for f0 in range(0, folds, batch):
        f1 = min(folds, f0 + batch)
        base = f0 * period
        idem, fdem, odem = demand(f0, f1)
        reads = list(zip(users, (idem, fdem), strict=False))
        writes = (odem >= 0).sum(axis=1)
        used = [np.flatnonzero((d >= 0).any(axis=1)) for d in (idem, fdem, odem)]
        n_rows = idem.shape[0]
        wanted = {int(r) for u in used if u.size for r in (u[0], u[-1])} | {n_rows - 1}
        served: dict[int, tuple[int, int, int]] = {}  # row -> ifmap, filter, ofmap serviced
        i = 0
        while i < n_rows:
            j = min(n_rows, i + _BLOCK)
            for buf, dem in reads:  # the first row that misses ends the stall-free stretch
                if buf.p:
                    blk = dem[i:j]
                    ok = blk < 0
                    ok[~ok] = buf.hits(blk[~ok])
                    miss = np.flatnonzero(~ok.all(axis=1))
                    j = i + int(miss[0]) if miss.size else j
            now = base + stall
            fits = obuf.fits(writes[i:j], np.arange(i + now, j + now))
            bad = np.flatnonzero(~fits)
            j = i + int(bad[0]) if bad.size else j
            obuf.write(int(writes[i:j].sum()))
            for r in wanted:
                if i <= r < j:
                    served[r] = (r + now + 1, r + now + 1, r + now)
            if j == n_rows:
                break
            cycle = j + now
            s_i, s_f = [buf.stall(dem[j][dem[j] >= 0], cycle) for buf, dem in reads] or [0, 0]
            s_o = obuf.stall(int(writes[j]), cycle)
            served[j] = (cycle + 1 + s_i, cycle + 1 + s_f, cycle + s_o)
            stall += max(s_i, s_f, s_o)
            stall_at.append((base + j + 1, stall))
            i = j + 1
        for x, u in enumerate(used):
            if u.size:
                first[x] = served[int(u[0])][x] if first[x] is None else first[x]
                last[x] = served[int(u[-1])][x]
        total = served[n_rows - 1][2]
        if calc:
            starts = np.array([r for r, _ in stall_at])
            shift = np.array([s for _, s in stall_at])
            for buf, dem in zip(calcs, (idem, fdem), strict=True):
                rows_of = base + np.nonzero(dem >= 0)[0]
                buf.feed(dem[dem >= 0], rows_of + shift[np.searchsorted(starts, rows_of,
                                                                         side="right") - 1])
    counts = sram_counts(m, k, n, rows, cols, dataflow)
    sram = tuple(Access(first[x], last[x], counts[x]) for x in range(3))
    dram = [buf.dram() for buf in (calcs or users)]
    dram.append(obuf.finish(total))
    return LayerReplay(total, stall, sram, tuple(dram))  # type: ignore[arg-type]


def stall_cycles(g: Gemm, rows: int, cols: int, dataflow: str,
                 sram_words: tuple[int, int, int], bandwidth_words: int) -> int:
    """SCALE-Sim 3.0.0's USER-mode "Stall Cycles" for one GEMM instance, every port at
    ``bandwidth_words`` (SCALE-Sim wants a multiple of its SRAM bank count)."""
    if bandwidth_words < 1 or int(bandwidth_words) != bandwidth_words:
        raise HwsimError(f"SCALE-Sim bandwidth must be a whole number of words/cycle, got "
                         f"{bandwidth_words!r}")
    bw = int(bandwidth_words)
    return replay(*gemm_operands(g), rows, cols, dataflow, sram_words,
                  (bw, bw, bw)).stall_cycles
