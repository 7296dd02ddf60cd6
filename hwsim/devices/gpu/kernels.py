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
  blocks skip the fully masked key blocks. The online softmax runs on the CUDA cores,
  serialised with the MMA (a stated simplification: FlashAttention-2's warps run QK^T, the
  softmax and PV of a block one after another): per score its FP32-lane instructions
  (:data:`ATTN_SCORE_FP32_INSTR`) and its exp2 on the special-function units
  (:data:`ATTN_SCORE_SFU_INSTR`), whichever pipe is slower.
- Splits (a GEMM's K, a decode step's keys): the heuristic also tries :data:`SPLITS` /
  :data:`KV_SPLITS` and keeps the fastest; a split writes FP32 partials to HBM and a second
  kernel (its launch only: no host call of its own) reads them and writes the result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import simpy

from hwsim.devices.gpu.spec import NCCL_PROTOCOLS, GpuSpec
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
#: FlashAttention-2's online softmax per score (github Dao-AILab/flash-attention,
#: csrc/flash_attn/src/softmax.h: ``scale_apply_exp2`` and the row reductions): one FFMA
#: (scale and subtract the row maximum), one FMNMX (the maximum) and one FADD (the row sum)
#: on the FP32 lanes; one exp2 on the special-function units. The division by the row sum
#: is once per row at the end and the rescale of O once per row and key block: not counted
ATTN_SCORE_FP32_INSTR = 3
ATTN_SCORE_SFU_INSTR = 1
#: split-K factors a GEMM heuristic tries (1: no split), and split-KV factors of flash
#: decoding (Dao et al., Flash-Decoding, 2023: KV split so that batch x heads x splits fill
#: the SMs); a split's partial results are FP32 (``PARTIAL_BYTES``) in an HBM workspace
SPLITS = (1, 2, 3, 4, 6, 8, 12, 16)
KV_SPLITS = (1, 2, 4, 8, 16, 32, 64, 128)
PARTIAL_BYTES = 4
#: a GEMM is split only while its split grid stays within this many waves: past a few
#: waves the tail wave costs little and a split only adds the reduction (an assumption of
#: how split-K heuristics restrict themselves to skinny problems)
SPLIT_MAX_WAVES = 4
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
    cta_cycles: tuple[int, ...]  # per CTA, in grid order; one value: every CTA's (a GEMM)
    hbm_bytes: int
    launch_cycles: int
    estimate: int  # launch + max(waves x CTA, HBM) [+ the reduction], the heuristic's score
    split: int = 1  # split-K (GEMM) or split-KV (decode attention) factor
    reduce_bytes: int = 0  # HBM bytes of the reduction kernel a split > 1 adds
    link_cycles: int = 0  # an all-reduce's NVLink time (latency + bytes), beside its HBM
    reduce_launch: int = 0  # launch cycles of the reduction kernel (no host call of its own)

    def waves(self, sms: int) -> int:
        return math.ceil(self.ctas / sms)

    def launches(self) -> int:
        """Launch (and host overhead) cycles of the kernel and of its reduction kernel."""
        return self.launch_cycles + self.reduce_launch

    def bound(self, spec: GpuSpec) -> str:
        """What sets the kernel's time: ``compute`` (the SMs), ``memory`` (HBM), ``link``
        (NVLink) or ``launch`` (the launch and host overhead exceed the rest)."""
        body = self.estimate - self.launches()
        if self.launches() >= body:
            return "launch"
        if self.link_cycles:
            return "link" if self.link_cycles >= _hbm_cycles(spec, self.hbm_bytes) else "memory"
        hbm = _hbm_cycles(spec, self.hbm_bytes + self.reduce_bytes)
        return "memory" if hbm >= body else "compute"

    def describe(self, spec: GpuSpec) -> str:
        split = ""
        if self.split > 1:
            what = "KV" if self.tile.endswith("query rows") else "K"
            split = (f", split-{what} {self.split} + a reduction kernel "
                     f"({self.reduce_bytes / 1e6:.3g} MB)")
        return (f"{self.ctas} CTAs of {self.tile} in {self.waves(spec.sms)} waves{split}, "
                f"{self.bound(spec)}-bound")


def _hbm_cycles(spec: GpuSpec, nbytes: float) -> int:
    return math.ceil(nbytes / spec.hbm_bytes_per_cycle())


def _launch(spec: GpuSpec) -> int:
    return spec.cycles(spec.launch_us + spec.overhead_us)


@lru_cache(maxsize=4096)
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


def plan_gemm(spec: GpuSpec, k: Kernel, tile: tuple[int, int, int],
              split: int = 1) -> Plan | None:
    """The kernel with CTA tile ``tile``, or None if the tile's pipeline does not fit in
    shared memory or ``split`` leaves a CTA less than one K-step.

    ``split > 1`` is parallel split-K (CUTLASS's ``GemmSplitKParallel``): the grid gains a
    K dimension of ``split`` slices, each CTA writes its FP32 partial tile to a workspace in
    HBM, and a second kernel reads the ``split`` partials and writes the result. The operand
    panels' HBM traffic is taken as the unsplit grid's (a wave's CTAs of one output tile
    read disjoint K slices of the same panels)."""
    tm, tn, ks = tile
    if split > 1 and (math.ceil(k.k / split) < ks
                      or k.batch * math.ceil(k.m / tm) * math.ceil(k.n / tn) * split
                      > SPLIT_MAX_WAVES * spec.sms):
        return None
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
    ctas = k.batch * gm * gn * split
    steps = math.ceil(math.ceil(k.k / split) / ks)
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
    # the epilogue: the CTA writes its output tile (FP32 partials under split-K) to HBM
    # after its main loop, at its SM's share of the bandwidth (every SM's CTA of a wave is
    # writing at once)
    tile_out = min(tm, k.m) * min(tn, k.n) * (PARTIAL_BYTES if split > 1 else k.out_bytes)
    epilogue = math.ceil(tile_out * spec.sms / spec.hbm_bytes_per_cycle())
    cta = max(mma, math.ceil(l2), side) + fill + epilogue
    compulsory = k.batch * (k.m * k.k * xb + k.k * k.n * wb)
    operands = (compulsory if compulsory + k.batch * k.m * k.n * k.out_bytes
                <= spec.l2_mb * 1e6 else
                max(compulsory, _wave_traffic(k, tm, tn, gm, gn, spec.sms)))
    result = k.batch * k.m * k.n * k.out_bytes
    partials = split * k.batch * k.m * k.n * PARTIAL_BYTES if split > 1 else 0
    hbm = math.ceil(operands + (partials or result))
    reduce = math.ceil(partials + result) if split > 1 else 0
    launch = _launch(spec)
    second = spec.cycles(spec.launch_us) if split > 1 else 0
    est = (launch + max(math.ceil(ctas / spec.sms) * cta, _hbm_cycles(spec, hbm))
           + (second + _hbm_cycles(spec, reduce) if split > 1 else 0))
    return Plan(f"{tm}x{tn}x{ks}", ctas, (cta,), hbm, launch, est, split, reduce,
                reduce_launch=second)


def best_gemm_plan(spec: GpuSpec, k: Kernel) -> Plan:
    """The fastest plan over :data:`TILES` x :data:`SPLITS` (ties: the first listed, so no
    split unless it is faster), as a library heuristic that tries its tile set and split-K
    factors would pick."""
    tiles = TILES + LUT_TILES if k.planes else TILES
    plans = [p for s in SPLITS for t in tiles if (p := plan_gemm(spec, k, t, s)) is not None]
    if not plans:
        from hwsim.errors import HwsimError

        raise HwsimError(f"gpu {spec.name}: no CTA tile of {', '.join(map(str, TILES))} fits "
                         f"{spec.smem_kb_per_sm:g} KiB of shared memory per SM")
    return min(plans, key=lambda p: p.estimate)


def plan_attention(spec: GpuSpec, k: Kernel, split: int = 1) -> Plan:
    """FlashAttention-2 forward: one CTA per (batch x head, query block); with ``split > 1``
    (flash decoding) each block's keys are cut into ``split`` slices, one CTA each, whose
    partial outputs and log-sum-exps (FP32) a combine kernel reads back and reduces. A MMA
    runs at least :data:`MMA_M` query rows (a decode step's single row is padded). A CTA
    takes at least the time to stream its K/V slice (in the KV cache's format) and its Q/O
    rows through its share of the L2 bandwidth, as a GEMM's CTA streams its panels: a grid
    of few CTAs cannot draw the whole HBM bandwidth, which is what the KV split is for."""
    rate = spec.macs_per_sm_cycle(k.path) * spec.tensor_efficiency
    lanes = spec.fp32_flops_per_sm_cycle() / 2  # an FP32 lane retires one instruction a cycle
    per_score = (max(ATTN_SCORE_FP32_INSTR / lanes, ATTN_SCORE_SFU_INSTR / spec.sfu_ops_per_sm_clk)
                 if k.score_flops else 0.0)
    l2 = spec.l2_bytes_per_sm_cycle()

    def cta(rows: int, keys: int) -> int:
        math_ = 2 * max(rows, MMA_M) * keys * k.k / rate + rows * keys * per_score
        stream = (2 * keys * k.b_bytes + rows * (k.x_bytes + k.out_bytes)) * k.k / l2
        return math.ceil(max(math_, stream))

    per_block = tuple(cta(rows, math.ceil(keys / split))
                      for rows, keys in k.blocks for _ in range(split))
    ctas = per_block * k.batch
    launch = _launch(spec)
    loads = [0] * spec.sms
    for i, c in enumerate(ctas):  # round-robin, as :func:`simulate` deals them
        loads[i % spec.sms] += c
    rows = k.batch * sum(r for r, _ in k.blocks)
    partials = split * rows * (k.k + 1) * PARTIAL_BYTES if split > 1 else 0
    reduce = math.ceil(partials + rows * k.k * k.out_bytes) if split > 1 else 0
    hbm = k.hbm_bytes + partials - (rows * k.k * k.out_bytes if split > 1 else 0)
    second = spec.cycles(spec.launch_us) if split > 1 else 0
    est = (launch + max(max(loads), _hbm_cycles(spec, hbm))
           + (second + _hbm_cycles(spec, reduce) if split > 1 else 0))
    return Plan(f"{ATTN_BLOCK} query rows", len(ctas), ctas, math.ceil(hbm), launch, est,
                split, reduce, reduce_launch=second)


def best_attention_plan(spec: GpuSpec, k: Kernel) -> Plan:
    """The fastest of :data:`KV_SPLITS` (ties: no split), each slice at least one
    :data:`ATTN_BLOCK` of keys and the split grid within :data:`SPLIT_MAX_WAVES` waves: what
    a flash-decoding heuristic picks for the grid."""
    shortest = min(keys for _, keys in k.blocks)
    grid = k.batch * len(k.blocks)
    plans = [plan_attention(spec, k, s) for s in KV_SPLITS
             if s == 1 or (shortest >= s * ATTN_BLOCK
                           and grid * s <= SPLIT_MAX_WAVES * spec.sms)]
    return min(plans, key=lambda p: p.estimate)


def plan_allreduce(spec: GpuSpec, ranks: int, link_bytes: float) -> Plan:
    """A ring all-reduce as NCCL runs it: of its protocols (:data:`~.spec.NCCL_PROTOCOLS`,
    after NCCL's tuner: a latency from the call to the first byte, then ``link_bytes`` at
    the protocol's bus bandwidth, and the faster protocol for the size is taken), and as many
    HBM bytes read (the chunks sent) and written (the chunks received) alongside (see
    :mod:`~hwsim.devices.gpu.parallel`). The latency is the whole call's (its kernel
    launch included), so no launch is added."""
    times = {}
    for proto, (lat, eff) in NCCL_PROTOCOLS.items():
        bus = getattr(spec, eff) * spec.nvlink_gb_s * 1e9
        times[proto] = spec.cycles(getattr(spec, lat)) + math.ceil(link_bytes / bus * spec.hz)
    proto = min(times, key=times.__getitem__)
    link = times[proto]
    hbm = math.ceil(2 * link_bytes)
    est = max(link, _hbm_cycles(spec, hbm))
    return Plan(f"ring of {ranks}, NCCL {proto}", 0, (), hbm, 0, est, link_cycles=link)


def simulate(spec: GpuSpec, plan: Plan, macs: int, kind: str = "compute") -> Piece:
    """Run ``plan`` on a SimPy environment of its own: launch, then the CTAs on the SMs and
    the HBM traffic side by side. The piece's records are relative to its start."""
    env = simpy.Environment()
    sink = TraceSink()
    sms = ComputeUnit(env, "sm", sink, capacity=spec.sms)
    hbm = MemoryLevel(env, MemorySpec("hbm", int(spec.hbm_gb * 1e9),
                                      spec.hbm_bytes_per_cycle()), sink)
    queues: list[list[int]] = [[] for _ in range(spec.sms)]
    if len(plan.cta_cycles) == 1 < plan.ctas:  # equal CTAs: dealt evenly, tail to the first
        for i in range(spec.sms):
            queues[i] = [plan.cta_cycles[0]] * (plan.ctas // spec.sms
                                                + (i < plan.ctas % spec.sms))
    else:
        for i, c in enumerate(plan.cta_cycles):
            queues[i % spec.sms].append(c)
    per_cta = macs / plan.ctas if plan.ctas else 0

    def kernel() -> Any:
        yield env.timeout(plan.launch_cycles)
        work = [env.process(sms.run_tile(sum(q), f"{len(q)} CTAs ({plan.tile})", "",
                                         macs=round(per_cta * len(q)), kind=kind))
                for q in queues if q]
        if plan.link_cycles:
            link = ComputeUnit(env, "nvlink", sink)
            # a busy slice, not a transfer: the cost seam prices no link level
            work.append(env.process(link.run_tile(plan.link_cycles, plan.tile, "")))
        if plan.hbm_bytes:
            work.append(env.process(hbm.transfer(plan.hbm_bytes, "operands and results")))
        yield simpy.AllOf(env, work)
        if plan.split > 1:  # the reduction kernel over the partial results
            yield env.timeout(plan.reduce_launch)
            yield env.process(hbm.transfer(plan.reduce_bytes, f"split-{plan.split} reduction"))

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
    stats = PieceStats(compute_cycles=crit, stall_cycles=max(0, total - plan.launches() - crit),
                       macs=macs)
    return Piece.of_records(total, stats, records)


@lru_cache(maxsize=4096)
def kernel_piece(spec: GpuSpec, k: Kernel) -> tuple[Piece, Plan]:
    plan = best_attention_plan(spec, k) if k.kind == "attention" else best_gemm_plan(spec, k)
    return simulate(spec, plan, k.macs), plan


@lru_cache(maxsize=1024)
def allreduce_piece(spec: GpuSpec, ranks: int, link_bytes: float) -> tuple[Piece, Plan]:
    plan = plan_allreduce(spec, ranks, link_bytes)
    return simulate(spec, plan, 0), plan


__all__ = ["ATTN_BLOCK", "ATTN_SCORE_FP32_INSTR", "ATTN_SCORE_SFU_INSTR", "LUT_TILES", "MMA_M",
           "MMA_SHAPE", "STAGES", "TILES", "Kernel", "Plan", "best_gemm_plan", "kernel_piece",
           "operand_bytes_per_sm_cycle", "plan_attention", "plan_gemm", "simulate"]
