"""PULP-TrainLib's kernels as instruction counts: cycles of one inner-loop iteration on one
core, read off the library's C source (``pulp-platform/pulp-trainlib``, ``lib/sources``), and
the cycles of a whole parallel primitive (a matmul, im2row, a transpose, a depthwise step) on
the cluster. Pure functions; :mod:`hwsim.devices.pulp.device` places them in time.

How one iteration is counted (:func:`body_cycles`), with the hardware loop (``lp.setup``)
costing nothing per iteration and addresses advanced by post-increment loads (``p.lw``/
``p.lh`` with a register or immediate stride), so index updates cost no instruction:

- issue: one cycle per instruction (loads, stores, FP instructions, integer/shuffle/pack);
- load-use: ``spec.load_use_stall_cycles`` when the body has at most one non-memory
  instruction, so nothing can be scheduled between the last load and its consumer;
- FPU latency: an accumulator updated ``chain`` times per iteration needs ``chain x
  fpu_latency_cycles`` cycles, whatever else the iteration issues (the loop-carried path);
- FPU sharing: with fewer FPUs than active cores, an FPU issues the FP instructions of every
  core sharing it, one per cycle;
- L1 bank conflicts as a rate: each L1 access of a core meets another active core's access in
  its bank with probability ``1 - (1 - a/B)^(n-1)`` (``a`` accesses per cycle per core, ``B``
  banks, ``n`` active cores; banks hit uniformly at random) and then waits one cycle. This is
  a model of the word-interleaved TCDM, not a measurement: cores streaming through
  consecutive words conflict less than random ones.

Work is split over the cores the way the library splits it: ``blockSize = (N + NUM_CORES -
1) / NUM_CORES`` rows (``mm*``) or columns (``mm_M*``) per core; the slowest core (a full
block) sets the primitive's time, plus one fork/barrier.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from hwsim.devices.pulp.spec import PulpSpec


@dataclass(frozen=True)
class Body:
    """One iteration of an inner loop on one core: its instructions and MACs.

    ``chain``: updates of the same accumulator register per iteration (the loop-carried FP
    dependency); 0 when the body has no accumulator."""

    loads: int
    stores: int = 0
    fp: int = 0
    alu: int = 0
    chain: int = 0
    macs: int = 0

    @property
    def instructions(self) -> int:
        return self.loads + self.stores + self.fp + self.alu


def bank_conflict_rate(accesses_per_cycle: float, banks: int, cores: int) -> float:
    """Probability that one L1 access collides with another core's in the same bank and
    cycle (uniformly random banks; see the module docstring)."""
    if cores <= 1 or accesses_per_cycle <= 0:
        return 0.0
    return 1.0 - (1.0 - min(1.0, accesses_per_cycle / banks)) ** (cores - 1)


def body_cycles(b: Body, spec: PulpSpec, cores: int | None = None) -> float:
    """Cycles of one iteration of ``b`` on one of ``cores`` active cores (default: all)."""
    n = spec.worker_cores if cores is None else cores
    others = b.fp + b.alu
    load_use = spec.load_use_stall_cycles if b.loads and others <= 1 else 0
    base = max(b.instructions + load_use, b.chain * spec.fpu_latency_cycles,
               b.fp * max(1.0, n / spec.fpus))
    mem = b.loads + b.stores
    return base + mem * bank_conflict_rate(mem / base, spec.l1_banks, n)


# --- matmul kernels (lib/sources/pulp_matmul_fp32.c, pulp_matmul_fp16.c) ---------------------


@dataclass(frozen=True)
class MatmulKernel:
    """One of the library's matmul functions: C[N x M] = A[N x K] . B[K x M] (``trans_B``:
    B stored M x K). An output block of ``rows x cols`` runs ``K // kstep`` iterations of
    ``body_t`` (B transposed) or ``body_n``, then ``epilogue`` instructions (reductions,
    packing, stores, accumulator zeroing, the next hardware loop's setup). Outputs outside
    the full blocks and leftover K run as the naive kernel does."""

    name: str
    fmt: str
    rows: int
    cols: int
    kstep: int
    body_t: Body
    body_n: Body
    epilogue_t: int
    epilogue_n: int
    split: str = "N"


#: the naive loop (mm / mm_fp16 / mm_M): ``temp += A[i*K+k] * B[...]``: 2 loads + 1 FMA with
#: one accumulator; after the loop: store, zero the accumulator, set up the next loop (3)
_NAIVE = Body(loads=2, fp=1, chain=1, macs=1)
_NAIVE_EPILOGUE = 3


def _naive(name: str, fmt: str, split: str) -> MatmulKernel:
    return MatmulKernel(name, fmt, 1, 1, 1, _NAIVE, _NAIVE, _NAIVE_EPILOGUE, _NAIVE_EPILOGUE,
                        split)


# mm_unroll_2x4 (fp32): per k, 2 A loads (Ash of rows i, i+1) + 4 B loads, 8 fmadd.s into 8
# accumulators (one update each); after K: 8 stores, 8 zeroings, loop setup 2 = 18. The
# transposed branch loads the same 2 + 4 scalars per k (B rows j..j+3 at offset k).
_U2X4 = Body(loads=6, fp=8, chain=1, macs=8)
# mm_fp16_SIMD_2x4: one row i, columns j, j+1, k += 2.
#  trans_B: Av, Bv0, Bv1 (3 v2f16 loads) + 2 vfmac.h into tmp0, tmp1; after K: per column
#  extract + fadd (2 x 2), pack {a, b} 1, store 1, zero 3 accumulators, loop setup 2 = 11.
#  not trans_B: Av, Bv0 (row k), Bv1 (row k+1) + 2 shuffles of Av + 2 vfmac.h both into temp
#  (chain 2); after K: store 1, zero 1, setup 2 = 4.
_S2X4_T = Body(loads=3, fp=2, chain=1, macs=4)
_S2X4_N = Body(loads=3, alu=2, fp=2, chain=2, macs=4)
# mm_fp16_SIMD_4x8: rows i, i+1, columns j..j+3, k += 2.
#  trans_B: Av0, Av1, Bv0..Bv3 (6 loads) + 8 vfmac.h into tmp0..tmp7; after K: 8 x (extract +
#  fadd) 16, 4 packs, 4 stores, 8 zeroings, setup 2 = 34.
#  not trans_B: 6 loads + 4 shuffles (Av0, Av1 lanes {0,0}/{1,1}, shared by the compiler) +
#  8 vfmac.h, two into each of temp0..temp3 (chain 2); after K: 4 stores, 4 zeroings, 2 = 10.
_S4X8_T = Body(loads=6, fp=8, chain=1, macs=16)
_S4X8_N = Body(loads=6, alu=4, fp=8, chain=2, macs=16)

KERNELS: tuple[MatmulKernel, ...] = (
    _naive("mm", "fp32", "N"),
    _naive("mm_M", "fp32", "M"),
    MatmulKernel("mm_unroll_2x4", "fp32", 2, 4, 1, _U2X4, _U2X4, 18, 18),
    MatmulKernel("mm_M_unroll_2x4", "fp32", 2, 4, 1, _U2X4, _U2X4, 18, 18, "M"),
    _naive("mm_fp16", "fp16", "N"),
    _naive("mm_M_fp16", "fp16", "M"),
    MatmulKernel("mm_fp16_SIMD_2x4", "fp16", 1, 2, 2, _S2X4_T, _S2X4_N, 11, 4),
    MatmulKernel("mm_M_fp16_SIMD_2x4", "fp16", 1, 2, 2, _S2X4_T, _S2X4_N, 11, 4, "M"),
    MatmulKernel("mm_fp16_SIMD_4x8", "fp16", 2, 4, 2, _S4X8_T, _S4X8_N, 34, 10),
    MatmulKernel("mm_M_fp16_SIMD_4x8", "fp16", 2, 4, 2, _S4X8_T, _S4X8_N, 34, 10, "M"),
)


def kernels_for(fmt: str) -> list[MatmulKernel]:
    return [k for k in KERNELS if k.fmt == fmt]


def share(total: int, cores: int) -> int:
    """The largest per-core share of ``total`` items split as the library splits them."""
    return min(total, math.ceil(total / cores))


def active_cores(total: int, cores: int) -> int:
    """Cores that get work when ``total`` items are split in blocks of ``share``."""
    return math.ceil(total / share(total, cores)) if total else 0


def matmul_cycles(kern: MatmulKernel, n: int, k: int, m: int, trans_b: bool,
                  spec: PulpSpec) -> int:
    """Cycles of ``kern`` on C[n x m] = A[n x k] . B (one parallel primitive, fork included)."""
    cores = spec.worker_cores
    par = n if kern.split == "N" else m
    busy = active_cores(par, cores)
    rows = share(n, cores) if kern.split == "N" else n
    cols = m if kern.split == "N" else share(m, cores)
    body = kern.body_t if trans_b else kern.body_n
    epi = kern.epilogue_t if trans_b else kern.epilogue_n
    naive = body_cycles(_NAIVE, spec, busy)
    blocks = (rows // kern.rows) * (cols // kern.cols)
    k_main, k_left = divmod(k, kern.kstep)
    per_block = (k_main * body_cycles(body, spec, busy)
                 + k_left * kern.rows * kern.cols * naive + epi)
    left_outputs = rows * cols - blocks * kern.rows * kern.cols
    total = blocks * per_block + left_outputs * (k * naive + _NAIVE_EPILOGUE)
    return math.ceil(total) + spec.fork_cycles


@lru_cache(maxsize=4096)
def best_matmul(fmt: str, n: int, k: int, m: int, trans_b: bool,
                spec: PulpSpec) -> tuple[str, int]:
    """The fastest of the library's kernels for this shape (what PULP-TrainLib's AutoTuner
    selects by exhaustive search) and its cycles."""
    return min(((kr.name, matmul_cycles(kr, n, k, m, trans_b, spec))
                for kr in kernels_for(fmt)), key=lambda t: t[1])


# --- data movement and elementwise primitives ----------------------------------------------

#: one element copied by a shape transform (transpose_matrix, blocktransp, im2row without
#: padding): load, store; the strided indices advance by post-increment, and the store uses
#: the load at once (load-use stall) (pulp_train_utils_fp32.c, pulp_im2col_fp32.c)
COPY = Body(loads=1, stores=1)
#: one element of im2row with padding (pulp_im2row_fp32, the padded and the input-grad
#: branches): load, store, the column's pad coordinate (1 add), four compare-and-branch of
#: the padding condition
COPY_PADDED = Body(loads=1, stores=1, alu=5)


def copy_cycles(elements: int, parallel_over: int, spec: PulpSpec, *,
                kernel: tuple[int, int] | None = None, padded: bool = False) -> int:
    """A shape transform of ``elements`` split over ``parallel_over`` channels. ``kernel``:
    (kh, kw) of an im2row, each of whose windows costs 6 index instructions (kernel_idx,
    segment_idx, receptive_field_idx) plus a hardware-loop setup of 2 per kernel row."""
    if elements <= 0:
        return 0
    busy = active_cores(parallel_over, spec.worker_cores)
    per_core = elements * share(parallel_over, spec.worker_cores) / max(1, parallel_over)
    cycles = per_core * body_cycles(COPY_PADDED if padded else COPY, spec, busy)
    if kernel:
        cycles += per_core / (kernel[0] * kernel[1]) * (6 + 2 * kernel[0])
    return math.ceil(cycles) + spec.fork_cycles


def elementwise_cycles(elements: int, loads: int, stores: int, flops: int,
                       spec: PulpSpec) -> int:
    """``elements`` iterations of a scalar loop (``loads``/``stores``/``flops`` each, FP
    results not chained) split evenly over the cores."""
    if elements <= 0:
        return 0
    b = Body(loads=loads, stores=stores, fp=flops)
    busy = active_cores(elements, spec.worker_cores)
    return (math.ceil(share(elements, spec.worker_cores) * body_cycles(b, spec, busy))
            + spec.fork_cycles)


def depthwise_cycles(channels: int, macs_per_channel: int, spec: PulpSpec) -> int:
    """pulp_conv_dw_fp32.c / _fp16.c (dw_kernel_forward, _weight_grad, _input_grad): direct
    loops over each channel's kernel window, one MAC per 2 loads + 1 FMA into one accumulator
    (no SIMD in the FP16 version either), channels split over the cores."""
    busy = active_cores(channels, spec.worker_cores)
    per_core = share(channels, spec.worker_cores) * macs_per_channel
    return math.ceil(per_core * body_cycles(_NAIVE, spec, busy)) + spec.fork_cycles


__all__ = ["COPY", "COPY_PADDED", "KERNELS", "Body", "MatmulKernel", "active_cores",
           "bank_conflict_rate", "best_matmul", "body_cycles", "copy_cycles", "depthwise_cycles",
           "elementwise_cycles", "kernels_for", "matmul_cycles", "share"]
