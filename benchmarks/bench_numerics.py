"""Throughput of hwsim.numerics.quantize against ml_dtypes, gfloat and pychop.

Run: ``python benchmarks/bench_numerics.py [--n N] [--quick]``. Input is N standard-normal float32
values; each case is timed best of 3 (best of 1 with --quick) and reported in million elements
per second. Targets: at least 1.0x ml_dtypes where it has the format, at least 3x gfloat and
pychop everywhere.

pychop's ``LightChop_(4, 3)`` is the IEEE-style E4M3 (bias 7, max 240, with Inf), not OCP E4M3FN,
and it mishandles some edge cases (values in [256, 512) and -0.0, seen with pychop 0.6.2): it
is timed here, never used as a reference. Its large-array path goes through dask unless
``chunk_size >= n``, so the chunk size is set to n, which is its fast path.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import gfloat
import ml_dtypes
import numpy as np
from gfloat.formats import (
    format_info_ocp_e2m1,
    format_info_ocp_e3m2,
    format_info_ocp_e4m3,
    format_info_ocp_e5m2,
)
from gfloat.types import Domain, FormatInfo
from pychop.np.lightchop import LightChop_

from hwsim.numerics import get_format, quantize


def ieee_format_info(e: int, m: int) -> FormatInfo:
    return FormatInfo(
        f"e{e}m{m}", k=1 + e + m, precision=m + 1, bias=(1 << (e - 1)) - 1, is_signed=True,
        domain=Domain.Extended, has_nz=True, num_high_nans=(1 << m) - 1, has_subnormals=True,
        is_twos_complement=False,
    )


# label, our format, ml_dtypes type (or None), gfloat FormatInfo, gfloat sat, pychop (E, M)
CASES = [
    ("e4m3", "fp8_e4m3fn", ml_dtypes.float8_e4m3fn, format_info_ocp_e4m3, False, (4, 3)),
    ("e5m2", "fp8_e5m2", ml_dtypes.float8_e5m2, format_info_ocp_e5m2, False, (5, 2)),
    # the NaN-less MX formats saturate; gfloat raises on overflow unless sat=True
    ("fp6", "fp6_e3m2fn", ml_dtypes.float6_e3m2fn, format_info_ocp_e3m2, True, (3, 2)),
    ("fp4", "fp4_e2m1fn", ml_dtypes.float4_e2m1fn, format_info_ocp_e2m1, True, (2, 1)),
    ("e5m7", "e5m7", None, ieee_format_info(5, 7), False, (5, 7)),
]


def best_rate(fn: Callable[[], object], n: int, repeats: int) -> float:
    """Million elements per second of the fastest of ``repeats`` runs (after one warm-up)."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n / best / 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000_000, help="elements per array")
    ap.add_argument("--quick", action="store_true", help="1e6 elements, best of 1")
    args = ap.parse_args(argv)
    n = 1_000_000 if args.quick and args.n == 10_000_000 else args.n
    repeats = 1 if args.quick else 3
    x = np.random.default_rng(0).standard_normal(n).astype(np.float32)

    print(f"n = {n:.0e} standard-normal float32, best of {repeats}, M elem/s "
          f"(numpy {np.__version__}, ml_dtypes {ml_dtypes.__version__})")
    head = f"{'format':8} {'ours':>8} {'ml_dtypes':>9} {'gfloat':>8} {'pychop':>8} " \
           f"{'/ml_dtypes':>10} {'/gfloat':>8} {'/pychop':>8}"
    print(head)
    print("-" * len(head))
    met = True
    for label, name, ml_type, fi, sat, (pe, pm) in CASES:
        get_format(name)  # a typo in CASES should fail before any timing
        ours = best_rate(lambda name=name: quantize(x, name), n, repeats)
        if ml_type is not None:
            ml = best_rate(lambda t=ml_type: x.astype(t).astype(np.float32), n, repeats)
        else:
            ml = float("nan")
        gf = best_rate(lambda fi=fi, sat=sat: gfloat.round_ndarray(fi, x, sat=sat), n, repeats)
        chop = LightChop_(pe, pm, chunk_size=n)
        pc = best_rate(lambda chop=chop: chop.quantize(x), n, repeats)
        r_ml, r_gf, r_pc = ours / ml, ours / gf, ours / pc
        met &= (ml_type is None or r_ml >= 1.0) and r_gf >= 3.0 and r_pc >= 3.0
        ml_s = f"{ml:9.1f}" if ml_type is not None else f"{'-':>9}"
        rml_s = f"{r_ml:9.2f}x" if ml_type is not None else f"{'-':>10}"
        print(f"{label:8} {ours:8.1f} {ml_s} {gf:8.1f} {pc:8.1f} {rml_s} {r_gf:7.2f}x "
              f"{r_pc:7.2f}x")
    verdict = "MET" if met else "NOT MET"
    print(f"targets (>= 1.0x ml_dtypes where it has the format, >= 3x gfloat and pychop): "
          f"{verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
