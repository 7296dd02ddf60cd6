"""Closed-form cycle counts of a rows x cols systolic array, identical to SCALE-Sim v3's.

Every layer is a GEMM of an ifmap ``M x K`` by a filter ``K x N`` into an ofmap ``M x N``
(a conv has ``M`` = output pixels, ``K`` = window x input channels, ``N`` = filters). Each
dataflow keeps one operand in the array and streams another through it:

========  =================  ================  ===================  ===========================
dataflow  stationary          streamed (T)     folds                cycles per fold
========  =================  ================  ===================  ===========================
os        ofmap (M x N tile)  K                ceil(M/R) ceil(N/C)   T + R + C - 2
ws        filter (K x N)      M                ceil(K/R) ceil(N/C)   T + 2R + C - 2
is        ifmap (K x M)       N                ceil(K/R) ceil(M/C)   T + 2R + C - 2
========  =================  ================  ===================  ===========================

Why these: in OS the operands enter skewed, so the last MAC happens at ``T + R + C - 3``
(0-based); output drain overlaps the next fold. In WS/IS the stationary tile takes ``R``
cycles to shift in, then the streamed vectors need ``R - 1`` cycles of skew and ``C - 1``
to cross the array. SCALE-Sim's schedule is static: a fold that uses only part of the array
still takes the whole-array time (the unused lanes stream padding).

SCALE-Sim reports "Total Cycles" as the index of the last cycle, so a layer's compute cycles
are ``folds * cycles_per_fold - 1``; :func:`compute_cycles` follows that convention and the
tests in ``tests/devices`` check it against a live SCALE-Sim and against a cycle-by-cycle
simulation (:mod:`hwsim.devices.systolic.reference`).

The last section times SCALE-Sim's CALC-mode memory system (no bandwidth limit), which
turns "Total Cycles" into "Total Cycles (incl. prefetch)": that figure is the last ofmap
DRAM write minus the first ifmap/filter prefetch cycle, so it is compute cycles plus
:func:`calc_drain_cycles` plus the larger of the two :func:`calc_prefetch_cycles` leads.
Both functions replay SCALE-Sim 3.0.0's code (``read_buffer_estimate_bw``,
``write_buffer``) by word counts, not per cycle, and match its reports exactly. Some of what
they reproduce is SCALE-Sim's bookkeeping rather than hardware, kept for compatibility:

- WS and IS write the partial sums of every row fold to the ofmap SRAM, and all of them are
  drained to DRAM (``ceil(K/R)`` times the ofmap), as if partial sums were not accumulated
  in place; this is most of the write-out on narrow arrays with a large ``K``.
- Writes are packed into DRAM lines of ``cols`` words, drained one line per cycle; a drain
  that starts during compute first closes the partially filled line, and counts its padding
  as drained data.
- A large operand's first prefetch is timed to end just before its own first read, so the
  operand read later (the streamed one in WS/IS) adds a shorter lead.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

from hwsim.engine.lowering import Gemm
from hwsim.errors import HwsimError

DATAFLOWS: tuple[str, ...] = ("os", "ws", "is")


def check_dataflow(dataflow: str) -> str:
    df = str(dataflow).lower()
    if df not in DATAFLOWS:
        raise HwsimError(f"unknown dataflow {dataflow!r}; allowed: {', '.join(DATAFLOWS)}")
    return df


def mapping(g: Gemm, dataflow: str) -> tuple[int, int, int]:
    """``(Sr, Sc, T)``: the extents mapped on array rows and columns, and the streamed one."""
    df = check_dataflow(dataflow)
    if df == "os":
        return g.m, g.n, g.k
    if df == "ws":
        return g.k, g.n, g.m
    return g.k, g.m, g.n


def fold_counts(g: Gemm, rows: int, cols: int, dataflow: str) -> tuple[int, int]:
    """``(row_folds, col_folds)`` of one GEMM instance."""
    sr, sc, _ = mapping(g, dataflow)
    return math.ceil(sr / rows), math.ceil(sc / cols)


def cycles_per_fold(g: Gemm, rows: int, cols: int, dataflow: str) -> int:
    _, _, t = mapping(g, dataflow)
    if check_dataflow(dataflow) == "os":
        return t + rows + cols - 2
    return t + 2 * rows + cols - 2


def compute_cycles(g: Gemm, rows: int, cols: int, dataflow: str) -> int:
    """SCALE-Sim's "Total Cycles" summed over the ``repeat`` instances (see module doc)."""
    rf, cf = fold_counts(g, rows, cols, dataflow)
    return g.repeat * (rf * cf * cycles_per_fold(g, rows, cols, dataflow) - 1)


def mapping_efficiency(g: Gemm, rows: int, cols: int, dataflow: str) -> float:
    """Mean fraction of PEs holding useful work per fold (SCALE-Sim's "Mapping Efficiency")."""
    sr, sc, _ = mapping(g, dataflow)
    rf, cf = fold_counts(g, rows, cols, dataflow)
    return sr * sc / (rf * cf * rows * cols)


def utilisation(g: Gemm, rows: int, cols: int, dataflow: str) -> float:
    """MACs done over MAC slots available during the compute cycles."""
    cyc = compute_cycles(g, rows, cols, dataflow)
    return g.macs / (rows * cols * cyc) if cyc > 0 else 0.0


@dataclass(frozen=True)
class FoldTraffic:
    """Words one fold reads from each operand buffer and writes to the ofmap buffer."""

    ifmap_words: int
    filter_words: int
    ofmap_words: int


def fold_traffic(g: Gemm, rows: int, cols: int, dataflow: str,
                 row_fold: int, col_fold: int) -> FoldTraffic:
    """SRAM words touched by fold ``(row_fold, col_fold)`` (used lanes only, no padding)."""
    sr, sc, t = mapping(g, dataflow)
    r_used = min(rows, sr - row_fold * rows)
    c_used = min(cols, sc - col_fold * cols)
    df = check_dataflow(dataflow)
    if df == "os":  # ifmap rows x K, filter K x cols, outputs r x c
        return FoldTraffic(r_used * t, t * c_used, r_used * c_used)
    if df == "ws":  # ifmap M x k-slice, filter k x n tile, partial sums M x c
        return FoldTraffic(t * r_used, r_used * c_used, t * c_used)
    # is: ifmap k x m tile stationary, filter N x k-slice streamed, outputs m x N
    return FoldTraffic(r_used * c_used, t * r_used, t * c_used)


# --- SCALE-Sim's CALC-mode memory system (for "Total Cycles (incl. prefetch)") -------------

#: SCALE-Sim's backing-store bandwidth for ifmap/filter prefetch in CALC mode (words/cycle)
CALC_PREFETCH_WORDS = 10


def first_demand_cycle(g: Gemm, rows: int, dataflow: str, operand: str) -> int:
    """Cycle of the first array read of ``operand`` ("ifmap" or "filter") in fold 0.

    OS streams both operands from cycle 0. WS/IS shift the stationary operand in bottom row
    first, so a fold that uses ``r`` of the ``R`` rows reads it from cycle ``R - r``; the
    streamed operand follows the ``R`` load cycles.
    """
    df = check_dataflow(dataflow)
    if df == "os":
        return 0
    stationary = "filter" if df == "ws" else "ifmap"
    if operand == stationary:
        sr, _, _ = mapping(g, df)
        return rows - min(rows, sr)
    return rows


def calc_prefetch_cycles(operand_words: int, sram_words: int, first_demand: int = 0) -> int:
    """Cycles one operand's first prefetch leads the first compute cycle in CALC mode.

    SCALE-Sim's estimate-bandwidth read buffer counts in "sets" of 1/100 of the SRAM. An
    operand that fits in fewer than 50 sets is prefetched whole, ending just before cycle 0;
    a larger one prefetches the 50 sets of the active half, ending just before its own first
    demand (:func:`first_demand_cycle`), so that lead is shorter by that demand cycle.
    """
    set_words = max(1, sram_words // 100)
    sets = math.ceil(operand_words / set_words)
    if sets < 50:
        return math.ceil(sets * set_words / CALC_PREFETCH_WORDS)
    return math.ceil(50 * set_words / CALC_PREFETCH_WORDS) - first_demand


def ofmap_write_folds(g: Gemm, rows: int, cols: int, dataflow: str) -> list[tuple[int, int, int]]:
    """``(offset, length, columns)`` of each fold's ofmap writes, in SCALE-Sim's fold order.

    In a fold, array column ``c < columns`` writes one word per cycle during cycles
    ``offset + c .. offset + c + length - 1`` (outputs leave skewed). WS and IS write the
    ``M x c`` (``N x c``) partial sums of every row fold, not only of the last one.
    """
    df = check_dataflow(dataflow)
    sr, sc, t = mapping(g, df)
    rf, cf = fold_counts(g, rows, cols, df)
    out = []
    for fc in range(cf):
        cu = min(cols, sc - fc * cols)
        for fr in range(rf):
            if df == "os":
                ru = min(rows, sr - fr * rows)
                out.append((t - 1 + rows - ru, ru, cu))
            else:
                out.append((2 * rows - 1, t, cu))
    return out


def _ramp(y: int, length: int) -> int:
    """``sum(min(u, length) for u in 1..y)``."""
    if y <= 0:
        return 0
    if y <= length:
        return y * (y + 1) // 2
    return length * (length + 1) // 2 + (y - length) * length


def _fold_writes_upto(j: int, offset: int, length: int, cu: int) -> int:
    """Ofmap words a fold has written in its cycles ``0..j``."""
    x = j - offset + 1
    return _ramp(x, length) - _ramp(x - cu, length)


def _fold_cycle_reaching(words: int, offset: int, length: int, cu: int) -> int:
    """First cycle of a fold by which it has written ``words`` (1..length*cu) ofmap words.

    The inverse of :func:`_fold_writes_upto`: the write rate ramps up by one word per cycle
    to ``min(length, cu)``, stays there, then ramps down to zero.
    """
    a, b = min(length, cu), max(length, cu)
    up = a * (a + 1) // 2
    if words <= up:  # smallest x with x(x+1)/2 >= words
        x = (math.isqrt(8 * words + 1) - 1) // 2
        x += x * (x + 1) // 2 < words
    elif words <= up + (b - a) * a:
        x = a + -(-(words - up) // a)
    else:  # the largest tail y with y(y+1)/2 <= words left to write ends at x
        y = (math.isqrt(8 * (length * cu - words) + 1) - 1) // 2
        x = length + cu - 1 - y
    return x + offset - 1


class _WriteFolds:
    """The ofmap writes of :func:`ofmap_write_folds` in closed form: folds differ only in the
    last (partial) row fold of a column (OS) and in the last column fold."""

    def __init__(self, g: Gemm, rows: int, cols: int, dataflow: str) -> None:
        df = check_dataflow(dataflow)
        sr, sc, t = mapping(g, df)
        self.rf, self.cf = fold_counts(g, rows, cols, df)
        self.period = cycles_per_fold(g, rows, cols, df)

        def fold(fr: int, fc: int) -> tuple[int, int, int]:
            cu = min(cols, sc - fc * cols)
            if df == "os":
                ru = min(rows, sr - fr * rows)
                return (t - 1 + rows - ru, ru, cu)
            return (2 * rows - 1, t, cu)

        self.fold_of = fold
        self.os = df == "os"
        full, last = fold(0, 0), fold(0, self.cf - 1)
        self.row_words = (full[1] * full[2], last[1] * last[2])  # a full-row fold's words
        self.col_words = (self.rf - 1) * self.row_words[0] + fold(self.rf - 1, 0)[1] * full[2]
        self.n = self.rf * self.cf
        last_col = ((self.rf - 1) * self.row_words[1]
                    + fold(self.rf - 1, self.cf - 1)[1] * last[2])
        self.total = (self.cf - 1) * self.col_words + last_col

    def params(self, k: int) -> tuple[int, int, int]:
        c, r = divmod(k, self.rf)
        return self.fold_of(r, c)

    def before(self, k: int) -> int:
        """Words written before fold ``k``."""
        if k >= self.n:
            return self.total
        c, r = divmod(k, self.rf)
        return c * self.col_words + r * self.row_words[c == self.cf - 1]

    def fold_holding(self, words: int) -> int:
        """The fold in which the ``words``-th write happens (1 <= words <= total)."""
        c = min((words - 1) // self.col_words, self.cf - 1)
        rest = words - c * self.col_words
        return c * self.rf + min((rest - 1) // self.row_words[c == self.cf - 1], self.rf - 1)


def calc_drain_cycles(g: Gemm, rows: int, cols: int, dataflow: str, ofmap_sram_words: int) -> int:
    """Cycles from the last compute cycle to SCALE-Sim's last ofmap DRAM write (CALC mode).

    SCALE-Sim 3.0.0's ``write_buffer`` packs writes into lines of ``cols`` words; when more
    than half the SRAM (``h`` words) is outstanding (checked per word, and not before the
    previous drain's last cycle) the written lines, the current partial one included, are
    closed and up to ``ceil(h / cols)`` of them drain, one line per cycle; what is left drains
    one line per cycle from the last compute cycle on. Every ofmap write counts, including
    the partial sums WS/IS write after each row fold.

    The array writes at most ``cols`` words a cycle, so a drain of ``n`` lines ends before
    ``h`` more words arrive, and the drains fall into a closed form (checked against the
    drain-by-drain replay :func:`calc_drain_cycles_by_fold`): drain ``m`` starts at the cycle
    the ``m (h + 1)``-th word is written and drains ``ceil((h + 1) / cols)`` lines, all that
    is pending; when ``h`` is a multiple of ``cols`` one line more is closed than a drain
    takes, so drain ``m`` starts at the ``(m h + 1)``-th word instead and leaves that one line
    (whose padding SCALE-Sim counts as drained) for the next.
    """
    wf = _WriteFolds(g, rows, cols, dataflow)
    total = wf.total
    last_cycle = wf.n * wf.period - 1
    half = ofmap_sram_words - math.ceil(ofmap_sram_words * 0.5)
    chunk = math.ceil(half / cols)
    if half % cols:
        drains = total // (half + 1)
        need = drains * (half + 1)  # the word that starts the last drain
    elif chunk > 1:
        drains = 0 if total <= half else (total - 1) // half
        need = drains * half + 1
    else:  # half == cols: a drain takes the one line left over, so needs alternate
        odd, even = total // (cols + 1), max(0, (total - cols) // (cols + 1))
        drains = odd + even
        need = max(odd * (cols + 1), (even + 1) * cols + even if even else 0)
    stop = -1
    if drains:
        k = wf.fold_holding(need)
        t = k * wf.period + _fold_cycle_reaching(need - wf.before(k), *wf.params(k))
        stop = t + chunk - 1
    flushed = need if drains else 0
    pending = (1 if drains and not half % cols else 0) + math.ceil((total - flushed) / cols)
    if pending:
        stop = max(stop, last_cycle + pending - 1)
    return stop - last_cycle


def calc_drain_cycles_by_fold(g: Gemm, rows: int, cols: int, dataflow: str,
                              ofmap_sram_words: int) -> int:
    """:func:`calc_drain_cycles` drain by drain over a list of every fold (the reference it is
    tested against; its cost grows with the fold and drain counts).

    Replays SCALE-Sim 3.0.0's ``write_buffer`` by word counts: writes are packed into lines
    of ``cols`` words; when more than half the SRAM is outstanding (checked per word, and not
    before the previous drain's last cycle) the written lines, the current partial one
    included, are closed and up to ``ceil(half / cols)`` of them drain, one line per cycle;
    what is left drains one line per cycle from the last compute cycle on. Every ofmap write
    counts, including the partial sums WS/IS write after each row fold.
    """
    folds = ofmap_write_folds(g, rows, cols, dataflow)
    period = cycles_per_fold(g, rows, cols, dataflow)
    before = [0]  # words written before each fold
    for _off, ln, cu in folds:
        before.append(before[-1] + ln * cu)
    total_words = before[-1]
    last_cycle = len(folds) * period - 1
    half = ofmap_sram_words - math.ceil(ofmap_sram_words * 0.5)
    chunk = math.ceil(half / cols)

    def written(i: int) -> int:  # words written in cycles 0..i
        if i < 0:
            return 0
        if i > last_cycle:
            return total_words
        k = i // period
        return before[k] + _fold_writes_upto(i - k * period, *folds[k])

    def first_cycle_reaching(words: int) -> int:
        k = bisect.bisect_left(before, words, lo=1) - 1  # fold holding the words-th write
        return k * period + _fold_cycle_reaching(words - before[k], *folds[k])

    credited = 0  # words the buffer believes drained (SCALE-Sim counts padding in mid lines)
    flushed_at = 0  # words written when the lines were last closed
    lines = 0  # closed lines
    partial: dict[int, int] = {}  # closed partial line -> words in it
    drained = 0  # lines drained
    drain_end = 0  # last cycle of the latest drain
    stop = -1
    while True:
        need = max(credited + half + 1, written(drain_end - 1) + 1)
        if need > total_words:
            break
        t = first_cycle_reaching(need)
        stored = max(written(t - 1) + 1, credited + half + 1)
        new = stored - flushed_at
        lines += math.ceil(new / cols)
        if new % cols:
            partial[lines - 1] = new % cols
        flushed_at = stored
        n = min(chunk, lines - drained)
        last = drained + n - 1
        credited += n * cols - (cols - partial[last] if last in partial else 0)
        drained += n
        drain_end = t + n - 1
        stop = max(stop, drain_end)
    lines += math.ceil((total_words - flushed_at) / cols)
    if lines > drained:
        stop = max(stop, last_cycle + lines - drained - 1)
    return stop - last_cycle
