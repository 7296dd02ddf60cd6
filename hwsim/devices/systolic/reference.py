"""A cycle-by-cycle SimPy model of the systolic array, the reference for the closed forms.

One SimPy process steps the whole array once per cycle: operands move one PE per cycle
through registers, every PE multiplies what it holds, and the process records the last cycle
in which any PE did a MAC. It computes real numbers (checked against ``A @ B``), so the
cycle counts it reports come from data actually moving, not from the formulas it checks.
It is slow (one event per cycle, ``R x C`` numpy work each), meant for small shapes only.

The schedule is static, as in SCALE-Sim: padding lanes of a partial fold still stream (zeros
here), so a fold's length depends on the array size, not on how much of it is used.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from hwsim.devices.systolic.timing import check_dataflow


@dataclass(frozen=True)
class ReferenceResult:
    compute_cycles: int  # SCALE-Sim convention: index of the last busy cycle
    fold_cycles: tuple[int, ...]
    output: np.ndarray


def _os_fold(env: simpy.Environment, a: np.ndarray, b: np.ndarray, out: list,
             lengths: list) -> Generator[Any, Any, None]:
    """Output stationary: ``a`` is R x T (rows enter from the left), ``b`` T x C (from top)."""
    r, t = a.shape
    c = b.shape[1]
    a_reg = np.zeros((r, c))
    b_reg = np.zeros((r, c))
    a_ok = np.zeros((r, c), bool)
    b_ok = np.zeros((r, c), bool)
    acc = np.zeros((r, c))
    start = env.now
    last = -1
    cyc = 0
    while True:
        # shift right / down by one PE, feed the skewed edges
        a_reg[:, 1:] = a_reg[:, :-1].copy()
        a_ok[:, 1:] = a_ok[:, :-1].copy()
        b_reg[1:, :] = b_reg[:-1, :].copy()
        b_ok[1:, :] = b_ok[:-1, :].copy()
        ti = cyc - np.arange(r)
        live = (ti >= 0) & (ti < t)
        a_reg[:, 0] = np.where(live, a[np.arange(r), np.clip(ti, 0, t - 1)], 0.0)
        a_ok[:, 0] = live
        tj = cyc - np.arange(c)
        live_c = (tj >= 0) & (tj < t)
        b_reg[0, :] = np.where(live_c, b[np.clip(tj, 0, t - 1), np.arange(c)], 0.0)
        b_ok[0, :] = live_c
        fire = a_ok & b_ok
        if fire.any():
            acc += np.where(fire, a_reg * b_reg, 0.0)
            last = cyc
        elif last >= 0 and not a_ok.any() and not b_ok.any():
            break
        cyc += 1
        yield env.timeout(1)
    out.append(acc)
    lengths.append(last + 1)
    del start


def _stationary_fold(env: simpy.Environment, stat: np.ndarray, stream: np.ndarray, out: list,
                     lengths: list) -> Generator[Any, Any, None]:
    """WS/IS: ``stat`` R x C is shifted in from the top over R cycles, then ``stream`` (T x R)
    enters skewed from the left while partial sums flow down; outputs are T x C."""
    r, c = stat.shape
    t = stream.shape[0]
    w_reg = np.zeros((r, c))
    cyc = 0
    for i in range(r):  # the bottom row goes in first and ends up at the bottom
        w_reg[1:, :] = w_reg[:-1, :].copy()
        w_reg[0, :] = stat[r - 1 - i, :]
        cyc += 1
        yield env.timeout(1)
    x_reg = np.zeros((r, c))
    x_id = np.full((r, c), -1)
    p_reg = np.zeros((r, c))
    result = np.zeros((t, c))
    last = -1
    while True:
        x_reg[:, 1:] = x_reg[:, :-1].copy()
        x_id[:, 1:] = x_id[:, :-1].copy()
        k = cyc - r - np.arange(r)  # which streamed vector reaches row i's left edge now
        live = (k >= 0) & (k < t)
        x_reg[:, 0] = np.where(live, stream[np.clip(k, 0, t - 1), np.arange(r)], 0.0)
        x_id[:, 0] = np.where(live, k, -1)
        fire = x_id >= 0
        # partial sum from the PE above (for the same vector, one cycle earlier) plus product
        above = np.vstack([np.zeros((1, c)), p_reg[:-1, :]])
        p_new = np.where(fire, above + x_reg * w_reg, 0.0)
        bottom = x_id[r - 1, :]
        for j in np.flatnonzero(bottom >= 0):
            result[bottom[j], j] = p_new[r - 1, j]
        p_reg = p_new
        if fire.any():
            last = cyc
        elif last >= 0:
            break
        cyc += 1
        yield env.timeout(1)
    out.append(result)
    lengths.append(last + 1)


def reference_gemm(a: np.ndarray, b: np.ndarray, rows: int, cols: int,
                   dataflow: str) -> ReferenceResult:
    """Run ``a @ b`` (M x K by K x N) fold by fold, one SimPy event per cycle."""
    df = check_dataflow(dataflow)
    m, k = a.shape
    n = b.shape[1]
    env = simpy.Environment()
    result = np.zeros((m, n))
    lengths: list[int] = []

    def pad(x: np.ndarray, r: int, c: int) -> np.ndarray:
        z = np.zeros((r, c))
        z[: x.shape[0], : x.shape[1]] = x
        return z

    def run() -> Generator[Any, Any, None]:
        if df == "os":
            for fc in range(-(-n // cols)):
                for fr in range(-(-m // rows)):
                    rs, cs = slice(fr * rows, (fr + 1) * rows), slice(fc * cols, (fc + 1) * cols)
                    out: list = []
                    yield env.process(_os_fold(env, pad(a[rs, :], rows, k),
                                               pad(b[:, cs], k, cols), out, lengths))
                    blk = result[rs, cs]
                    blk += out[0][: blk.shape[0], : blk.shape[1]]
        elif df == "ws":
            for fc in range(-(-n // cols)):
                for fr in range(-(-k // rows)):
                    ks, cs = slice(fr * rows, (fr + 1) * rows), slice(fc * cols, (fc + 1) * cols)
                    out = []
                    yield env.process(_stationary_fold(env, pad(b[ks, cs], rows, cols),
                                                       pad(a[:, ks], m, rows), out, lengths))
                    blk = result[:, cs]
                    blk += out[0][:, : blk.shape[1]]
        else:
            for fc in range(-(-m // cols)):
                for fr in range(-(-k // rows)):
                    ks, ms = slice(fr * rows, (fr + 1) * rows), slice(fc * cols, (fc + 1) * cols)
                    out = []
                    yield env.process(_stationary_fold(env, pad(a[ms, ks].T, rows, cols),
                                                       pad(b[ks, :].T, n, rows), out, lengths))
                    blk = result[ms, :]
                    blk += out[0][:, : blk.shape[0]].T

    env.process(run())
    env.run()
    return ReferenceResult(sum(lengths) - 1, tuple(lengths), result)
