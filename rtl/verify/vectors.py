"""Test vectors, the NaN-aware comparison, and :func:`verify_unit`."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from hwsim.errors import HwsimError
from hwsim.numerics import FloatFormat, decode, resolve
from rtl.registry import RtlUnit

EXHAUSTIVE_MAX_BITS = 16  # 65,536 combinations: one simulation of a few seconds
_CROSS_LIMIT = 20_000  # corner cases are crossed over all ports up to this many vectors


@dataclass(frozen=True)
class Mismatch:
    index: int  # the vector; -1 for a sample of the reset flush (no vector owns it)
    inputs: Mapping[str, int]
    expected: int
    got: int
    cycle: int = -1  # the stream cycle of the sample, for reset-flush samples


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of one verification run."""

    unit: str  # module name
    vectors: int
    mismatches: int
    examples: tuple[Mismatch, ...]  # the first few mismatches
    exhaustive: bool
    simulator: str  # "verilator" or "pyrtl"
    build_s: float = 0.0
    sim_s: float = 0.0
    resets: int = 0  # cycles with rst asserted in the middle of the stream
    dropped: int = 0  # vectors the resets dropped (not compared; their slots read as flush)

    @property
    def ok(self) -> bool:
        return self.mismatches == 0

    def summary(self) -> str:
        kind = "exhaustive" if self.exhaustive else "random + corner cases"
        lines = [f"{self.unit}: {self.vectors} vectors ({kind}, {self.simulator}), "
                 f"{self.mismatches} mismatches; "
                 + (f"build {self.build_s:.1f} s, " if self.simulator == "verilator" else "")
                 + f"simulation {self.sim_s:.1f} s"]
        if self.resets:
            lines[0] += (f"; {self.resets} reset cycles mid-stream dropped "
                         f"{self.dropped} vectors")
        for m in self.examples:
            if m.index < 0:
                lines.append(f"  cycle {m.cycle} (reset flush): expected 0x{m.expected:x}, "
                             f"got 0x{m.got:x}")
                continue
            ins = ", ".join(f"{k}=0x{v:x}" for k, v in m.inputs.items())
            lines.append(f"  #{m.index}: {ins}: expected 0x{m.expected:x}, got 0x{m.got:x}")
        return "\n".join(lines)


def _input_bits(unit: RtlUnit) -> int:
    return sum(unit.inputs.values())


def _float_format(unit: RtlUnit, width: int) -> FloatFormat | None:
    fmt = unit.params.get("format")
    if fmt is None:
        return None
    f = resolve(fmt)  # the unit was built from it, so it names a format (maybe a block one)
    return f if isinstance(f, FloatFormat) and f.total_bits == width else None


def corner_codes(width: int, fmt: FloatFormat | None = None) -> np.ndarray:
    """Bit patterns worth always testing on a ``width``-bit port (plus float specials)."""
    top = 1 << (width - 1)
    codes = {0, 1, 2, 3, top - 2, top - 1, top, top + 1, (1 << width) - 2, (1 << width) - 1}
    if fmt is not None:
        m = fmt.man_bits
        special = [fmt.max_finite_code, 1 << m, (1 << m) - 1, (1 << m) + 1,
                   fmt.inf_code, fmt.nan_code, ((1 << fmt.exp_bits) - 1) << m]
        mags = {c for c in special if c is not None}
        codes |= mags
        if fmt.signed:
            codes |= {c | fmt.sign_bit for c in mags}
    return np.array(sorted(c for c in codes if 0 <= c < (1 << width)), dtype=np.uint64)


def make_vectors(unit: RtlUnit, *, exhaustive: bool | None = None, n_random: int = 100_000,
                 seed: int = 0) -> tuple[dict[str, np.ndarray], bool]:
    """Input vectors for ``unit`` and whether they are exhaustive.

    Exhaustive (the default when the inputs total at most 16 bits): every combination, the
    first port varying slowest. Otherwise corner codes (crossed over all ports while that
    stays small, else each port's corners against random others) followed by ``n_random``
    uniformly random codes from ``seed``.
    """
    ports = list(unit.inputs)
    wide = {p: w for p, w in {**unit.inputs, **unit.outputs}.items() if w > 64}
    if wide:
        raise HwsimError(f"{unit.name}: ports wider than 64 bits are not supported by verify "
                         f"({', '.join(f'{p}: {w} bits' for p, w in wide.items())}); choose "
                         "smaller parameters")
    total = _input_bits(unit)
    if exhaustive is None:
        exhaustive = total <= EXHAUSTIVE_MAX_BITS
    if exhaustive:
        if total > 24:
            raise HwsimError(f"{unit.name}: exhaustive verification of {total} input bits "
                             f"(2**{total} vectors) is too many; use random vectors")
        grids = np.meshgrid(*[np.arange(1 << unit.inputs[p], dtype=np.uint64) for p in ports],
                            indexing="ij")
        return {p: g.ravel() for p, g in zip(ports, grids, strict=True)}, True

    rng = np.random.default_rng(seed)
    corners = {p: corner_codes(w, _float_format(unit, w)) for p, w in unit.inputs.items()}
    n_cross = int(np.prod([len(c) for c in corners.values()], dtype=np.float64))
    if n_cross <= _CROSS_LIMIT:
        combos = list(itertools.product(*corners.values()))
        edge = {p: np.array([c[i] for c in combos], dtype=np.uint64) for i, p in enumerate(ports)}
    else:
        rows = sum(len(c) for c in corners.values())
        edge = {p: _random_codes(rng, unit.inputs[p], rows) for p in ports}
        row = 0
        for p, c in corners.items():
            edge[p][row:row + len(c)] = c
            row += len(c)
    rand = {p: _random_codes(rng, w, n_random) for p, w in unit.inputs.items()}
    return {p: np.concatenate([edge[p], rand[p]]) for p in ports}, False


def _random_codes(rng: np.random.Generator, width: int, n: int) -> np.ndarray:
    if width == 64:
        return rng.integers(0, 1 << 63, n, dtype=np.uint64, endpoint=False) * 2 + \
            rng.integers(0, 2, n, dtype=np.uint64)
    return rng.integers(0, 1 << width, n, dtype=np.uint64)


def compare(unit: RtlUnit, got: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Boolean mask of mismatches; with a float ``out_format`` any NaN matches any NaN."""
    got = np.asarray(got, dtype=np.uint64)
    expected = np.asarray(expected, dtype=np.uint64)
    bad = got != expected
    if unit.out_format is not None and bad.any():
        both_nan = np.isnan(decode(got, unit.out_format)) & \
            np.isnan(decode(expected, unit.out_format))
        bad &= ~both_nan
    return bad


def reset_column(unit: RtlUnit, n: int, resets: Iterable[int] = ()) -> np.ndarray:
    """``rst`` for each of the ``n + latency`` stream cycles: 1 at the cycles in ``resets``.

    Stream cycle ``k`` is the cycle in which vector ``k`` is applied (the padding cycles that
    drain the pipeline follow the last vector). Only units with a reset can take one.
    """
    cycles = n + unit.latency
    at = sorted({int(r) for r in resets})
    if at and not unit.has_reset:
        raise HwsimError(f"{unit.name} is combinational: it has no rst to assert")
    if at and (at[0] < 0 or at[-1] >= cycles):
        raise HwsimError(f"{unit.name}: reset cycles must lie in 0..{cycles - 1} "
                         f"({n} vectors + latency {unit.latency}), got {at[0]}..{at[-1]}")
    col = np.zeros(cycles, dtype=np.uint64)
    col[at] = 1
    return col


def expected_samples(unit: RtlUnit, vectors: Mapping[str, np.ndarray],
                     resets: Iterable[int] = ()) -> tuple[np.ndarray, np.ndarray]:
    """The ``y`` expected at each stream cycle and the vector it belongs to (-1: none).

    Derived from the reset semantics of the exported Verilog (:mod:`rtl.export`): ``rst`` is
    synchronous and active high, and at a clock edge where it is high every register (pipeline
    stages and accumulators alike) becomes 0. So:

    - vector ``j`` passes the clock edges ``j .. j + latency - 1`` on its way to ``y``; a reset
      at any of them drops it, and otherwise it comes out at cycle ``j + latency`` as usual;
    - the vectors kept between two resets form a new stream: the reference is applied to them
      alone, so an accumulator's sum restarts from zero at the first vector after a reset
      (``clr`` or not);
    - a sample no kept vector owns (the ``latency`` cycles after the reset before the stream,
      and after each reset the cycles up to ``latency`` past its last reset cycle) shows the
      cleared registers: ``y == 0`` for a unit with ``reset_reads_zero`` (a 0 in the
      accumulator, or in the stages that feed ``y``, means a zero result); for the others
      (pipelined lmul) nothing is expected of those samples and they are not compared.
    """
    n = len(next(iter(vectors.values())))
    lat = unit.latency
    rst = reset_column(unit, n, resets)
    before = np.concatenate([[0], np.cumsum(rst)])  # before[i]: reset cycles in 0 .. i - 1
    j = np.arange(n)
    kept = j[before[j + lat] == before[j]]  # no reset at the edges j .. j + lat - 1
    owner = np.full(n + lat, -1, dtype=np.int64)
    owner[kept + lat] = kept
    expected = np.zeros(n + lat, dtype=np.uint64)  # the reset state reads 0
    epoch = before[kept]  # resets before the vector: one reference call per reset-free run
    for e in np.unique(epoch):
        idx = kept[epoch == e]
        part = {p: np.asarray(v)[idx] for p, v in vectors.items()}
        expected[idx + lat] = np.asarray(unit.reference(part), dtype=np.uint64)
    return expected, owner


def check_samples(unit: RtlUnit, vectors: Mapping[str, np.ndarray], samples: np.ndarray,
                  *, exhaustive: bool, simulator: str, build_s: float = 0.0,
                  sim_s: float = 0.0, max_examples: int = 5,
                  resets: Iterable[int] = ()) -> VerifyResult:
    """Compare per-cycle samples with :func:`expected_samples` (vector ``k`` at ``k + latency``,
    the reset flush at 0); ``mismatches`` counts vectors and flush samples that differ."""
    n = len(next(iter(vectors.values())))
    cycles = n + unit.latency
    got = np.asarray(samples, dtype=np.uint64)[:cycles]
    if len(got) != cycles:
        raise RuntimeError(f"{unit.name}: {len(samples)} samples for {n} vectors "
                           f"with latency {unit.latency}")
    resets = list(resets)
    expected, owner = expected_samples(unit, vectors, resets)
    bad = compare(unit, got, expected)
    if not unit.reset_reads_zero:
        bad &= owner >= 0
    idx = np.flatnonzero(bad)
    examples = tuple(
        Mismatch(int(owner[s]), {p: int(v[owner[s]]) for p, v in vectors.items()},
                 int(expected[s]), int(got[s]))
        if owner[s] >= 0 else Mismatch(-1, {}, int(expected[s]), int(got[s]), cycle=int(s))
        for s in idx[:max_examples]
    )
    return VerifyResult(unit=unit.name, vectors=n, mismatches=len(idx), examples=examples,
                        exhaustive=exhaustive, simulator=simulator, build_s=build_s,
                        sim_s=sim_s, resets=len(set(resets)),
                        dropped=n - int((owner >= 0).sum()))


def resolve_vectors(unit: RtlUnit, vectors: Mapping[str, np.ndarray] | None,
                    exhaustive: bool | None, n_random: int, seed: int
                    ) -> tuple[dict[str, np.ndarray], bool]:
    """The given vectors (as uint64 per input port) or :func:`make_vectors`' ones."""
    if vectors is None:
        return make_vectors(unit, exhaustive=exhaustive, n_random=n_random, seed=seed)
    return {p: np.asarray(vectors[p], dtype=np.uint64) for p in unit.inputs}, bool(exhaustive)
