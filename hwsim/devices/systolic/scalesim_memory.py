"""SCALE-Sim 3.0.0's USER-bandwidth memory system, replayed for its stall cycles.

With ``InterfaceBandwidth: USER`` SCALE-Sim stalls the array through its double-buffered
SRAM model (``memory/double_buffered_scratchpad_mem.py``, ``read_buffer.py``,
``write_buffer.py``). This module reproduces that bookkeeping from the same inputs SCALE-Sim
builds (prefetch order and per-cycle demand matrices, :func:`demand_matrices`), so that
:func:`stall_cycles` equals the "Stall Cycles" of its COMPUTE_REPORT. It is a compatibility
model, not a hardware one; :mod:`hwsim.devices.systolic` uses it only when asked
(``SystolicSpec(memory_model="scalesim")``).

What SCALE-Sim does, per operand read buffer (ifmap, filter; ``S`` = SRAM words, ``B`` =
bandwidth in words/cycle, and each of the two buffers gets all ``B``):

- The operand's *prefetch order* (OS: row folds of the ifmap, column folds of the filter,
  each read along anti-diagonals; WS/IS: their own orders, see :func:`demand_matrices`) is cut
  into *sets* of ``ceil(S / 100)`` words, numbered ``0 .. n-1`` (an extra empty set when the
  operand is an exact multiple). The buffer holds an *active window* of
  ``a = min(n, ceil(ceil(S/2) / set))`` consecutive sets (50 for the usual sizes) and a
  prefetch half of ``p = min(n - a, ceil((S - ceil(S/2)) / set))`` sets. Before cycle 0
  the window is sets ``0 .. a-1``; an operand of at most ``a`` sets never misses.
- Each cycle (a row of the demand matrix) every address demanded is looked up in the window.
  On a miss the window slides by ``p`` sets, modulo ``n`` (it wraps around to the start of
  the operand), until the address hits: an operand re-read by a later fold (the OS ifmap,
  once per column fold) is fetched again, since the window has moved past its beginning.
  Each slide is one refill of ``L = ceil((S - ceil(S/2)) / B)`` lines, and refills are
  chained: the k-th completes at cycle ``k (L + 1) - 1`` whenever it was needed, so an
  early miss is free and a refill never starts early to hide a later one.
- The row's stall for that operand: ``offset`` starts at 1 (the hit latency) and each slide
  adds ``d = done - (cycle + offset)``, **twice** when ``d > 0`` (``offset += d`` and then
  ``if d > 0: offset += d`` in ``read_buffer.service_reads``), once when ``d < 0``; the
  stall is ``offset - 1``.
- The ofmap write buffer (``B``-word lines) starts a drain of up to ``ceil((S - ceil(S/2)) /
  B)`` lines, one a cycle, when more than ``floor(S/2)`` words are outstanding and no drain
  is in flight, and stalls the row until the drain ends only when all ``S`` words are
  outstanding.
- The array's stall for the row is the largest of the three, and it delays every later row
  (``cycle = row index + stalls so far``).

Worked example (checked live in ``tests/devices/test_scalesim_live.py``): a ``16 x 200``
by ``200 x 1`` GEMM on a 16x16 OS array, 1 KiB SRAMs, 10 words/cycle. The ifmap's 3,200
words make 291 sets of 11, the window holds 47, a refill is 52 lines, so refills complete at
cycles 52, 105, 158, ... The array reads 16 ifmap words a cycle and first misses at cycle 39:
``d = 52 - 40 = 12``, stall 24. Five more misses (cycles 96, 144, 202, 251, 307 against
refills done at 105, 158, 211, 264, 317) stall 16, 26, 16, 24, 18: 124 cycles, SCALE-Sim's
figure (our default tile model: 0, its whole-tile loads are hidden behind compute).

SCALE-Sim's word is one byte of SRAM (``word_size = 1``); give :func:`stall_cycles` SRAM
sizes in words. Word ids are unique here, as in a SCALE-Sim GEMM topology; a SCALE-Sim conv
topology repeats ifmap addresses (im2col), so its stalls differ slightly from this replay of
the equivalent GEMM (measured: 12,396 against 12,372 and 1,729 against 1,731 on two 3x3 convs,
8x8 array, 1 KiB SRAMs, 10 words/cycle).

Cost: the demand matrices are built in memory and replayed with one numpy pass per demand
row (0.2 s for a 256^3 GEMM on 32x32); this is meant for cross-checks, not sweeps, and
:func:`stall_cycles` refuses a layer above :data:`MAX_DEMAND_CYCLES` demanded cycles or
:data:`MAX_DEMAND_CELLS` matrix cells with one error.
"""

from __future__ import annotations

import math

import numpy as np

from hwsim.devices.systolic.timing import Gemm, check_dataflow, compute_cycles
from hwsim.errors import HwsimError

#: largest replay :func:`stall_cycles` accepts: demanded cycles (about 10 us each) and cells
#: of the demand and operand matrices (8 bytes each): about 20 s and 400 MB at the limits
MAX_DEMAND_CYCLES = 2_000_000
MAX_DEMAND_CELLS = 50_000_000


def _skew(mat: np.ndarray) -> np.ndarray:
    """Column ``c`` moved down by ``c`` rows (SCALE-Sim's ``skew_matrix``)."""
    rows, cols = mat.shape
    out = np.full((rows + cols - 1, cols), -1, dtype=mat.dtype)
    for c in range(cols):
        out[c:c + rows, c] = mat[:, c]
    return out


def _pad_cols(mat: np.ndarray, width: int) -> np.ndarray:
    if mat.shape[1] == width:
        return mat
    pad = np.full((mat.shape[0], width - mat.shape[1]), -1, dtype=mat.dtype)
    return np.concatenate((mat, pad), axis=1)


def _pad_rows(mat: np.ndarray, height: int) -> np.ndarray:
    if mat.shape[0] == height:
        return mat
    pad = np.full((height - mat.shape[0], mat.shape[1]), -1, dtype=mat.dtype)
    return np.concatenate((mat, pad), axis=0)


def _gap(rows: int, cols: int) -> np.ndarray:
    return np.full((rows, cols), -1, dtype=np.int64)


def _anti_diagonal(mat: np.ndarray) -> np.ndarray:
    """Elements by anti-diagonal ``row + col``, bottom row first within one."""
    r, c = np.indices(mat.shape)
    order = np.lexsort((-r.ravel(), (r + c).ravel()))
    return mat.ravel()[order]


def demand_matrices(g: Gemm, rows: int, cols: int, dataflow: str
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(ifmap_prefetch, filter_prefetch, ifmap_demand, filter_demand, ofmap_demand)``.

    Built the way SCALE-Sim 3.0.0's ``systolic_compute_{os,ws,is}`` build them for one GEMM
    instance, with word ids ``m*K + k`` (ifmap ``M x K``), ``k*N + n`` (filter ``K x N``) and
    ``m*N + n`` (ofmap) and -1 for padding. Prefetch arrays are flat, in fetch order; demand
    matrices have one row per (stall-free) cycle.
    """
    df = check_dataflow(dataflow)
    m, k, n = g.m, g.k, g.n
    ifm = np.arange(m * k, dtype=np.int64).reshape(m, k)
    fil = np.arange(k * n, dtype=np.int64).reshape(k, n)
    ofm = np.arange(m * n, dtype=np.int64).reshape(m, n)
    R, C = rows, cols
    if df == "os":
        sr, sc, t = m, n, k
        rf, cf = math.ceil(sr / R), math.ceil(sc / C)
        ifmap_t = ifm.T  # T x Sr
        if_pre = np.concatenate([_pad_cols(ifmap_t[:, i * R:(i + 1) * R], R) for i in range(rf)])
        fi_pre = np.concatenate([_pad_cols(fil[:, j * C:(j + 1) * C], C) for j in range(cf)])
        if_pre, fi_pre = _anti_diagonal(if_pre), _anti_diagonal(fi_pre)
        idem, fdem, odem = [], [], []
        for j in range(cf):
            for i in range(rf):
                idem.append(_skew(np.concatenate(
                    (_pad_cols(ifmap_t[:, i * R:(i + 1) * R], R), _gap(C - 1, R)))))
                fdem.append(_skew(np.concatenate(
                    (_pad_cols(fil[:, j * C:(j + 1) * C], C), _gap(R - 1, C)))))
                blk = _pad_rows(_pad_cols(ofm[i * R:(i + 1) * R, j * C:(j + 1) * C], C), R)
                odem.append(_skew(np.concatenate((_gap(t - 1, C), np.flip(blk, 0)))))
    elif df == "ws":
        # ifmap op mat T x Sr (M x K), filter Sr x Sc (K x N), ofmap T x Sc (M x N)
        t = m
        rf, cf = math.ceil(k / R), math.ceil(n / C)
        if_pre = np.concatenate([_pad_cols(ifm[:, i * R:(i + 1) * R], R) for i in range(rf)])
        if_pre = _anti_diagonal(if_pre)
        fi_pre = np.concatenate([_pad_cols(fil[:, j * C:(j + 1) * C], C)
                                 for j in range(cf)]).ravel()
        idem, fdem, odem = [], [], []
        for j in range(cf):
            for i in range(rf):
                idem.append(_skew(np.concatenate(
                    (_gap(R, R), _pad_cols(ifm[:, i * R:(i + 1) * R], R), _gap(C - 1, R)))))
                blk = _pad_rows(_pad_cols(fil[i * R:(i + 1) * R, j * C:(j + 1) * C], C), R)
                fdem.append(np.concatenate((np.flip(blk, 0), _gap(R + C + t - 2, C))))
                odem.append(_skew(np.concatenate(
                    (_gap(2 * R - 1, C), _pad_cols(ofm[:, j * C:(j + 1) * C], C)))))
    else:
        # ifmap op mat transposed K x Sc (K x M), filter K x T (K x N), ofmap Sc x T (M x N)
        t = n
        rf, cf = math.ceil(k / R), math.ceil(m / C)
        ifmap_t = ifm.T
        if_pre = np.concatenate([_pad_cols(ifmap_t[:, j * C:(j + 1) * C], C)
                                 for j in range(cf)]).ravel()
        fi_pre = np.concatenate([_pad_cols(fil[i * R:(i + 1) * R, :].T, R) for i in range(rf)])
        fi_pre = _anti_diagonal(fi_pre)
        idem, fdem, odem = [], [], []
        for j in range(cf):
            for i in range(rf):
                blk = _pad_rows(_pad_cols(ifmap_t[i * R:(i + 1) * R, j * C:(j + 1) * C], C), R)
                idem.append(np.concatenate((np.flip(blk, 0), _gap(R + C + t - 2, C))))
                fdem.append(_skew(np.concatenate(
                    (_gap(R, R), _pad_cols(fil[i * R:(i + 1) * R, :].T, R), _gap(C - 1, R)))))
                odem.append(_skew(np.concatenate(
                    (_gap(2 * R - 1, C), _pad_cols(ofm[j * C:(j + 1) * C, :].T, C)))))
    return (if_pre, fi_pre, np.concatenate(idem), np.concatenate(fdem), np.concatenate(odem))


class _ReadBuffer:
    """``read_buffer`` of SCALE-Sim 3.0.0 (no custom layout, no Ramulator), by set ids."""

    def __init__(self, prefetch: np.ndarray, size_words: int, bw_words: int,
                 n_ids: int) -> None:
        valid = prefetch[prefetch >= 0]
        per_set = math.ceil(size_words / 100)
        self.set_of = np.full(n_ids, -1, dtype=np.int64)
        # GEMM ids are unique; a conv's repeated im2col words would need "any of its sets"
        self.set_of[valid] = np.arange(valid.size) // per_set
        active = math.ceil(size_words * 0.5)
        prefetch_words = size_words - active
        self.n = valid.size // per_set + 1  # the trailing (possibly empty) set counts
        self.a = min(self.n, math.ceil(active / per_set))
        self.p = min(self.n - self.a, math.ceil(prefetch_words / per_set))
        self.start = 0
        self.lines = math.ceil(prefetch_words / bw_words)
        self.last_prefetch = -1

    def _hits(self, sets: np.ndarray) -> np.ndarray:
        end = (self.start + self.a) % self.n if self.start else self.a
        if self.start < end:
            return (sets >= self.start) & (sets < end)
        return (sets >= self.start) | (sets < end)

    def stall(self, ids: np.ndarray, cycle: int) -> int:
        """Stall cycles of one demand row served at ``cycle`` (SCALE-Sim's offset - 1)."""
        if self.p == 0 or ids.size == 0:
            return 0
        sets = self.set_of[ids]
        offset = 1
        while True:
            hit = self._hits(sets)
            if hit.all():
                return offset - 1
            first = int(np.argmin(hit))
            sets = sets[first:]
            while not self._hits(sets[:1])[0]:
                self.start = (self.start + self.p) % self.n
                self.last_prefetch += self.lines + 1
                d = self.last_prefetch - (cycle + offset)
                offset += 2 * d if d > 0 else d


class _WriteBuffer:
    """``write_buffer`` of SCALE-Sim 3.0.0 (write port latency 0), by word counts."""

    def __init__(self, size_words: int, bw_words: int) -> None:
        self.total = size_words
        self.active = math.ceil(size_words * 0.5)
        self.drain_size = size_words - self.active
        self.bw = bw_words
        self.free = size_words
        self.line_fill = 0
        self.closed: list[int] = []  # words in each closed line
        self.drained = 0  # closed lines drained
        self.drain_end = 0

    def _write(self, words: int) -> None:
        self.free -= words
        full, self.line_fill = divmod(self.line_fill + words, self.bw)
        self.closed.extend([self.bw] * full)

    def stall(self, words: int, cycle: int) -> int:
        cur = cycle
        if (self.free - words > 0) if cur < self.drain_end else (self.free - words >= self.active):
            self._write(words)  # no word of this row can start a drain or wait for one
            return 0
        for _ in range(words):
            self._write(1)
            if cur < self.drain_end:
                if self.free <= 0:
                    cur = self.drain_end
            elif self.free < self.active:
                if self.line_fill:
                    self.closed.append(self.line_fill)
                    self.line_fill = 0
                n = min(math.ceil(self.drain_size / self.bw), len(self.closed) - self.drained)
                last = self.closed[self.drained + n - 1]
                self.free += n * self.bw - (self.bw - last)
                self.drained += n
                self.drain_end = cur + n - 1
        return cur - cycle


def stall_cycles(g: Gemm, rows: int, cols: int, dataflow: str,
                 sram_words: tuple[int, int, int], bandwidth_words: int) -> int:
    """SCALE-Sim 3.0.0's "Stall Cycles" for one GEMM instance in USER bandwidth mode.

    ``sram_words`` is (ifmap, filter, ofmap) SRAM size in words (SCALE-Sim: KiB x 1024);
    ``bandwidth_words`` must be a whole number of words per cycle (SCALE-Sim also wants a
    multiple of its 10 SRAM banks).
    """
    if bandwidth_words < 1 or int(bandwidth_words) != bandwidth_words:
        raise HwsimError(f"SCALE-Sim bandwidth must be a whole number of words/cycle, got "
                         f"{bandwidth_words!r}")
    bw = int(bandwidth_words)
    demand = compute_cycles(g, rows, cols, dataflow) + 1
    cells = max(demand * (rows + cols), g.m * g.k + g.k * g.n + g.m * g.n)
    if demand > MAX_DEMAND_CYCLES or cells > MAX_DEMAND_CELLS:
        raise HwsimError(
            f"memory_model='scalesim' replays SCALE-Sim's buffers one demanded cycle at a time; "
            f"this {g.m}x{g.k}x{g.n} GEMM on {rows}x{cols} demands {demand:,} cycles "
            f"({cells:,} matrix cells; limits {MAX_DEMAND_CYCLES:,} and {MAX_DEMAND_CELLS:,}): "
            "use the default memory model ('tiles') or a smaller layer")
    if_pre, fi_pre, idem, fdem, odem = demand_matrices(g, rows, cols, dataflow)
    ibuf = _ReadBuffer(if_pre, sram_words[0], bw, g.m * g.k)
    fbuf = _ReadBuffer(fi_pre, sram_words[1], bw, g.k * g.n)
    obuf = _WriteBuffer(sram_words[2], bw)
    writes = (odem >= 0).sum(axis=1)
    stall = 0
    for i in range(idem.shape[0]):
        cycle = i + stall
        row_i, row_f = idem[i], fdem[i]
        s_i = ibuf.stall(row_i[row_i >= 0], cycle)
        s_f = fbuf.stall(row_f[row_f >= 0], cycle)
        s_o = obuf.stall(int(writes[i]), cycle)
        stall += max(s_i, s_f, s_o)
    return stall
