"""GPU kernels at tile level: a GEMM as a grid of CTA tiles, FlashAttention's fused attention,
and memory-bound vector kernels, each simulated on its own SimPy environment.

A kernel is a grid of CTAs. The SMs are a :class:`~hwsim.engine.resources.ComputeUnit` of
capacity = SM count; the grid is dealt to the SMs round-robin (the hardware's block scheduler
for equal CTAs), so the waves, and the tail wave of a grid that does not divide the SM count,
emerge as the SMs' queues. HBM is one shared :class:`~hwsim.engine.resources.MemoryLevel`
whose traffic runs alongside the SMs (loads are pipelined with the math); a kernel ends when
both are done, after its launch.

Traffic assumptions, stated:

- GEMM: the CTAs of one wave run at once and share their operand panels in L2, so one wave
  reads the distinct A row panels and B column panels its CTAs touch (raster order) from HBM
  once; nothing is assumed to stay in L2 from one wave to the next, except that a problem
  whose A, B and C together fit in L2 is read once. Each CTA streams its A and B panels from
  L2 (L2 bandwidth shared equally by the SMs) and starts with a pipeline fill of its
  ``STAGES`` K-steps.
- Attention (FlashAttention-2 forward): one CTA per query block of ``ATTN_BLOCK`` rows and
  (batch, head); Q and O are read/written once, K and V once per (batch, KV head) (L2 holds
  a head's K/V while its query blocks run); the score matrix never leaves the SM. Causal
  blocks skip the fully masked key blocks. The scale and softmax run on the CUDA cores,
  serialised with the MMA (a stated simplification).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import simpy

from hwsim.devices.gpu.spec import GpuSpec
from hwsim.engine.driver import Piece, PieceStats
from hwsim.engine.lowering import Gemm
from hwsim.engine.resources import ComputeUnit, MemoryLevel, MemorySpec
from hwsim.engine.trace import TraceSink

#: the CTA tile shapes (M, N, K-step) a cuBLAS/CUTLASS-like heuristic picks from
TILES: tuple[tuple[int, int, int], ...] = (
    (128, 128, 32), (128, 256, 32), (256, 128, 32), (64, 128, 64), (128, 64, 64),
    (64, 64, 64))
#: software-pipeline depth of a GEMM main loop (K-steps in flight in shared memory)
STAGES = 3
#: FlashAttention-2's query block (rows per CTA)
ATTN_BLOCK = 128
#: elongated CTA tiles (few activation rows, many weight columns) a LUT mpGEMM kernel adds to
#: :data:`TILES`: a table built for a row is reused by every column of the tile
LUT_TILES: tuple[tuple[int, int, int], ...] = ((32, 256, 64), (16, 512, 64), (64, 256, 64))
#: the tensor-core MMA instruction shape (m, n, k): HMMA m16n8k16 (Mo et al.'s tuned Accel-Sim
#: A100 configuration, github Hamerlate/lut_tensor_core, accel-sim/README.md)
MMA_SHAPE = (16, 8, 16)
#: rows of the smallest MMA: a decode GEMV's single row pads to it on MAC tensor cores
MMA_M = MMA_SHAPE[0]


def operand_bytes_per_sm_cycle(spec: GpuSpec) -> float:
    """Operand bytes per SM per cycle the MAC tensor cores take in at their full-area fp16
    peak (an m16n8k16 MMA reads 16x16 + 16x8 fp16 values per 16x8x16 MACs). The LUT units
    read their tables at this rate: an assumption (the same register-file datapath re-spent;
    NVIDIA publishes no operand bandwidth)."""
    m, n, k = MMA_SHAPE
    full = spec.peak_ops("fp16") / 2 / (spec.sms * spec.hz)
    return full * (m * k + k * n) * 2 / (m * n * k)


@dataclass(frozen=True)
class Kernel(Gemm):
    """One kernel launch, carried through the driver as a GEMM of ``repeat`` 1.

    The driver runs a lowered GEMM's ``repeat`` instances one after another; a GPU runs the
    instances of a batched GEMM (or attention's heads) as one grid, so the batch lives here
    (``batch``). ``path`` is the tensor-core path (a key of :data:`~.spec.PATHS`);
    ``in_bytes``/``out_bytes`` the operand and result element sizes. An attention kernel
    carries its query blocks (``blocks``: rows, keys) and its fixed HBM traffic.

    Mixed-precision GEMMs: ``a_bytes``/``w_bytes`` (0: ``in_bytes``) are the bytes per element
    of the A operand and of the weights as they are read. On MAC tensor cores the weights are
    read packed and dequantised to the activation format in the main loop, ``dequant_ops``
    CUDA-core operations per weight element, overlapped with the MMAs. On LUT tensor cores
    (``planes`` > 0) the A operand is the precomputed table (``a_bytes`` per activation), the
    weights stream bit-serially, ``planes`` passes over each product at ``lut_rate`` products
    per SM cycle per plane, and each table entry is read once per ``lut_n`` weight columns
    (the elongated LUT tile)."""

    kind: str = "gemm"
    batch: int = 1
    path: str = "fp16"
    in_bytes: float = 2.0
    out_bytes: float = 2.0
    blocks: tuple[tuple[int, int], ...] = ()
    hbm_bytes: int = 0
    score_flops: int = 0
    a_bytes: float = 0.0
    w_bytes: float = 0.0
    dequant_ops: float = 0.0
    planes: int = 0
    lut_rate: float = 0.0
    lut_n: int = 1
    lut_m: int = 1

    @property
    def x_bytes(self) -> float:
        return self.a_bytes or self.in_bytes

    @property
    def b_bytes(self) -> float:
        return self.w_bytes or self.in_bytes

    @property
    def macs(self) -> int:
        if self.kind == "attention":
            return 2 * self.batch * self.k * sum(r * keys for r, keys in self.blocks)
        return self.batch * self.m * self.k * self.n


@dataclass(frozen=True)
class Plan:
    """A kernel as it will run: grid, per-CTA cycles, HBM bytes, and what bounds it."""

    tile: str
    ctas: int
    cta_cycles: tuple[int, ...]  # per CTA, in grid order (equal for a GEMM)
    hbm_bytes: int
    launch_cycles: int
    estimate: int  # launch + max(waves x CTA, HBM), the heuristic's score

    def waves(self, sms: int) -> int:
        return math.ceil(self.ctas / sms)

    def bound(self, spec: GpuSpec) -> str:
        """What sets the kernel's time: ``compute`` (the SMs), ``memory`` (HBM) or
        ``launch`` (the launch and host overhead exceed both)."""
        body = self.estimate - self.launch_cycles
        if self.launch_cycles >= body:
            return "launch"
        return "memory" if _hbm_cycles(spec, self.hbm_bytes) >= body else "compute"

    def describe(self, spec: GpuSpec) -> str:
        return (f"{self.ctas} CTAs of {self.tile} in {self.waves(spec.sms)} waves, "
                f"{self.bound(spec)}-bound")


def _hbm_cycles(spec: GpuSpec, nbytes: float) -> int:
    return math.ceil(nbytes / spec.hbm_bytes_per_cycle())


def _launch(spec: GpuSpec) -> int:
    return spec.cycles(spec.launch_us + spec.overhead_us)


def _wave_traffic(k: Kernel, tm: int, tn: int, gm: int, gn: int, sms: int) -> float:
    """HBM bytes of the operand panels, wave by wave (raster order over batch x gm x gn)."""
    per_inst = gm * gn
    total = k.batch * per_inst
    a_panel = min(tm, k.m) * k.k * k.x_bytes
    b_panel = min(tn, k.n) * k.k * k.b_bytes
    out = 0.0
    for s in range(0, total, sms):
        e = min(total, s + sms)
        rows = (e - 1) // gn - s // gn + 1  # row index runs over batch x gm
        cols = 0
        for inst in range(s // per_inst, (e - 1) // per_inst + 1):
            lo, hi = max(s, inst * per_inst), min(e, (inst + 1) * per_inst)
            cols += min(gn, hi - lo)
        out += rows * a_panel + cols * b_panel
    return out


def plan_gemm(spec: GpuSpec, k: Kernel, tile: tuple[int, int, int]) -> Plan | None:
    """The kernel with CTA tile ``tile``, or None if the tile's pipeline does not fit in
    shared memory."""
    tm, tn, ks = tile
    xb, wb = k.x_bytes, k.b_bytes
    # an mpGEMM (dequantised or LUT) moves and multiplies only the activation rows it has,
    # down to the unit's row granule (a decode GEMV is one row); a plain GEMM keeps the
    # model fitted on the A100 measurements (whole tiles)
    mp = bool(k.planes or k.dequant_ops)
    rows = max(k.lut_m if k.planes else MMA_M, min(tm, k.m)) if mp else tm
    step_bytes = (rows * xb + tn * wb) * ks  # one K-step of both operand panels
    if STAGES * step_bytes > spec.smem_kb_per_sm * 1024:
        return None
    gm, gn = math.ceil(k.m / tm), math.ceil(k.n / tn)
    ctas = k.batch * gm * gn
    steps = math.ceil(k.k / ks)
    side = 0  # work beside the MMAs: dequantisation, or the LUT units' table reads
    if k.planes:
        mma = math.ceil(rows * tn * steps * ks * k.planes
                        / (k.lut_rate * spec.tensor_efficiency))
        side = math.ceil(rows * steps * ks * xb * math.ceil(tn / k.lut_n)
                         / operand_bytes_per_sm_cycle(spec))
    else:
        mma = math.ceil(rows * tn * steps * ks / (spec.macs_per_sm_cycle(k.path)
                                                  * spec.tensor_efficiency))
        if k.dequant_ops:
            side = math.ceil(tn * steps * ks * k.dequant_ops
                             / (spec.fp32_flops_per_sm_cycle() / 2))
    l2 = steps * step_bytes / spec.l2_bytes_per_sm_cycle()
    fill = math.ceil(min(STAGES, steps) * step_bytes / spec.l2_bytes_per_sm_cycle())
    cta = max(mma, math.ceil(l2), side) + fill
    compulsory = k.batch * (k.m * k.k * xb + k.k * k.n * wb)
    operands = (compulsory if compulsory + k.batch * k.m * k.n * k.out_bytes
                <= spec.l2_mb * 1e6 else
                max(compulsory, _wave_traffic(k, tm, tn, gm, gn, spec.sms)))
    hbm = math.ceil(operands + k.batch * k.m * k.n * k.out_bytes)
    launch = _launch(spec)
    est = launch + max(math.ceil(ctas / spec.sms) * cta, _hbm_cycles(spec, hbm))
    return Plan(f"{tm}x{tn}x{ks}", ctas, (cta,) * ctas, hbm, launch, est)


def best_gemm_plan(spec: GpuSpec, k: Kernel) -> Plan:
    """The fastest plan over :data:`TILES` (ties: the first listed), as a library heuristic
    that tries its tile set would pick."""
    tiles = TILES + LUT_TILES if k.planes else TILES
    plans = [p for t in tiles if (p := plan_gemm(spec, k, t)) is not None]
    if not plans:
        from hwsim.errors import HwsimError

        raise HwsimError(f"gpu {spec.name}: no CTA tile of {', '.join(map(str, TILES))} fits "
                         f"{spec.smem_kb_per_sm:g} KiB of shared memory per SM")
    return min(plans, key=lambda p: p.estimate)


def plan_attention(spec: GpuSpec, k: Kernel) -> Plan:
    """FlashAttention-2 forward: one CTA per (batch x head, query block)."""
    rate = spec.macs_per_sm_cycle(k.path) * spec.tensor_efficiency
    fp32 = spec.fp32_flops_per_sm_cycle()
    per_block = tuple(math.ceil(2 * rows * keys * k.k / rate + rows * keys * k.score_flops / fp32)
                      for rows, keys in k.blocks)
    ctas = per_block * k.batch
    launch = _launch(spec)
    loads = [0] * spec.sms
    for i, c in enumerate(ctas):  # round-robin, as :func:`simulate` deals them
        loads[i % spec.sms] += c
    est = launch + max(max(loads), _hbm_cycles(spec, k.hbm_bytes))
    return Plan(f"{ATTN_BLOCK} query rows", len(ctas), ctas, k.hbm_bytes, launch, est)


def simulate(spec: GpuSpec, plan: Plan, macs: int, kind: str = "compute") -> Piece:
    """Run ``plan`` on a SimPy environment of its own: launch, then the CTAs on the SMs and
    the HBM traffic side by side. The piece's records are relative to its start."""
    env = simpy.Environment()
    sink = TraceSink()
    sms = ComputeUnit(env, "sm", sink, capacity=spec.sms)
    hbm = MemoryLevel(env, MemorySpec("hbm", int(spec.hbm_gb * 1e9),
                                      spec.hbm_bytes_per_cycle()), sink)
    queues: list[list[int]] = [[] for _ in range(spec.sms)]
    for i, c in enumerate(plan.cta_cycles):
        queues[i % spec.sms].append(c)
    per_cta = macs / plan.ctas if plan.ctas else 0

    def kernel() -> Any:
        yield env.timeout(plan.launch_cycles)
        work = [env.process(sms.run_tile(sum(q), f"{len(q)} CTAs ({plan.tile})", "",
                                         macs=round(per_cta * len(q)), kind=kind))
                for q in queues if q]
        if plan.hbm_bytes:
            work.append(env.process(hbm.transfer(plan.hbm_bytes, "operands and results")))
        yield simpy.AllOf(env, work)

    env.run(env.process(kernel()))
    crit = max((sum(q) for q in queues), default=0)
    total = int(env.now)
    records = sink.records
    if macs:  # the MACs go on the SM records exactly
        got = sum(r.macs for r in records)
        if got != macs:
            first = next(i for i, r in enumerate(records) if r.resource == "sm")
            r = records[first]
            from dataclasses import replace

            records[first] = replace(r, macs=r.macs + macs - got)
    stats = PieceStats(compute_cycles=crit, stall_cycles=max(0, total - plan.launch_cycles - crit),
                       macs=macs)
    return Piece.of_records(total, stats, records)


@lru_cache(maxsize=4096)
def kernel_piece(spec: GpuSpec, k: Kernel) -> tuple[Piece, Plan]:
    plan = plan_attention(spec, k) if k.kind == "attention" else best_gemm_plan(spec, k)
    return simulate(spec, plan, k.macs), plan


__all__ = ["ATTN_BLOCK", "LUT_TILES", "MMA_M", "MMA_SHAPE", "STAGES", "TILES", "Kernel",
           "Plan", "best_gemm_plan", "kernel_piece", "operand_bytes_per_sm_cycle",
           "plan_attention", "plan_gemm", "simulate"]
