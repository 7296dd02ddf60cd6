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
simulation (:mod:`hwsim.devices.systolic_reference`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hwsim.errors import HwsimError

DATAFLOWS: tuple[str, ...] = ("os", "ws", "is")


@dataclass(frozen=True)
class Gemm:
    """``repeat`` independent GEMMs of ``M x K`` times ``K x N`` (batch, heads or groups)."""

    m: int
    k: int
    n: int
    repeat: int = 1

    def __post_init__(self) -> None:
        for f in ("m", "k", "n", "repeat"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise HwsimError(f"GEMM field {f!r} must be a positive integer, got {v!r}")

    @property
    def macs(self) -> int:
        return self.repeat * self.m * self.k * self.n


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
