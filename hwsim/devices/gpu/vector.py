"""The GPU's memory-bound kernels (softmax, layernorm/RMSNorm, GeLU/SiLU, residual adds, RoPE,
any element-wise op) laid out as PyTorch launches them, each simulated on its own SimPy
environment by :func:`hwsim.devices.gpu.kernels.simulate`.

What is modelled, stated:

- Element-wise ops: a grid of blocks spread evenly over the SMs, reading each input once and
  writing the output once.
- Row kernels (softmax and layernorm/RMSNorm over the last axis): one CTA (or warp) per row.
  A row that the kernel keeps on chip is read once (softmax: rows of at most
  ``softmax.warp_row_max`` elements, a warp per row; norms: rows of at most
  ``norm.onchip_row_max``); a longer row is read ``softmax.block_passes`` times (maximum, sum
  of exponentials, output) or ``norm.looped_passes`` times (statistics, then normalise), and
  every read goes to HBM. A grid of fewer rows than SMs leaves SMs idle.
- Each SM takes its bytes from L2 at its share of the L2 bandwidth (the whitepaper's 5120
  bytes/clock over the SMs); HBM runs alongside at the part's achievable fraction
  (``hbm_efficiency``, fitted on GEMMs and not refitted here), and every read and write is
  HBM traffic. L2 residency (an input that fits in L2 read from it) was tried and dropped: on
  the calibration rows it made softmax worse (mean error 7.3% against 3.4% without; the
  measured block softmax shows no L2 speed-up) and an op would beat its HBM roofline.
- The block softmax's passes are latency-bound: each pass over a row costs ``pass_us`` (the
  load, the block-wide reduction and its barrier), a wave of resident CTAs at a time.
- Every kernel pays the launch and the per-call host overhead of :class:`~.spec.GpuSpec`
  (``launch_us + overhead_us``), except under ``harness: llmcompass``: there a kernel pays
  the measured per-call floor of the PyTorch call path LLMCompass timed it through, which
  is what a tiny kernel's measured time is (its own work is a few microseconds):
  torch.compile for layernorm and GeLU (its ``layernorm_gpu``/``gelu_gpu``: guard checks
  and the compiled wrapper, ``harness.compiled_us``), eager ATen for the rest (softmax,
  ``harness.eager_us``). Both floors are in :data:`TABLE`, each fitted on one smallest
  point of a curve, not on the GPT-3 block they are checked on.

Figures: ``hwsim/data/gpu_vector_kernels.yaml`` (library code for the layouts; three figures
fitted, one per validated kernel, on the even-indexed rows of its own curve).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from hwsim.devices.gpu.kernels import Plan, _hbm_cycles, _launch, simulate
from hwsim.devices.gpu.spec import GpuSpec
from hwsim.engine.driver import Piece
from hwsim.engine.lowering import Lowered
from hwsim.sourced import load_table

TABLE = load_table("hwsim", "data/gpu_vector_kernels.yaml")
#: rows up to this many elements run PyTorch's warp-per-row softmax (one read)
SOFTMAX_WARP_ROW_MAX = int(TABLE.value("softmax.warp_row_max"))
#: reads of a longer row by PyTorch's block softmax (max, sum of exp, output)
SOFTMAX_BLOCK_PASSES = int(TABLE.value("softmax.block_passes"))
#: time of one pass of the block softmax over a row (load, block-wide reduction, barrier)
SOFTMAX_PASS_US = float(TABLE.value("softmax.pass_us"))
#: elements per thread per load of PyTorch's block softmax (a float4 of fp16: its ILP)
SOFTMAX_ILP = int(TABLE.value("softmax.ilp"))
#: threads an SM holds at once (Ampere and Hopper), which caps the resident softmax CTAs
THREADS_PER_SM = int(TABLE.value("threads_per_sm"))
#: the longest norm row kept on chip (one read); longer rows loop over HBM
NORM_ONCHIP_ROW_MAX = int(TABLE.value("norm.onchip_row_max"))
#: reads of a longer norm row (Welford statistics, then normalise)
NORM_LOOPED_PASSES = int(TABLE.value("norm.looped_passes"))
#: the ops LLMCompass timed through torch.compile (software_model/layernorm.py and gelu.py
#: decorate ``layernorm_gpu``/``gelu_gpu`` with ``@torch.compile``); its other ops ran eager
COMPILED_OPS = ("layernorm", "gelu")
#: the row kernels: op type -> (row kept on chip up to, passes over a longer row)
ROW_KERNELS: dict[str, tuple[int, int]] = {
    "softmax": (SOFTMAX_WARP_ROW_MAX, SOFTMAX_BLOCK_PASSES),
    "layernorm": (NORM_ONCHIP_ROW_MAX, NORM_LOOPED_PASSES),
    "rmsnorm": (NORM_ONCHIP_ROW_MAX, NORM_LOOPED_PASSES),
}


def block_softmax_ctas_per_sm(row: int) -> int:
    """CTAs of PyTorch's block softmax an SM holds at once: its block is the power of two
    threads covering ``row / ILP`` (at most 1024), and an SM holds ``THREADS_PER_SM``."""
    threads = min(1024, 1 << max(5, math.ceil(math.log2(max(1, math.ceil(row / SOFTMAX_ILP))))))
    return max(1, THREADS_PER_SM // threads)


def harness_overhead_us(spec: GpuSpec, harness: str) -> float:
    """``overhead_us`` that gives a kernel the measured per-call floor of one of LLMCompass's
    harnesses, ``eager`` (torch.softmax) or ``compiled`` (torch.compile: GeLU, layer_norm):
    the floor less the spec's launch."""
    return max(0.0, float(TABLE.value(f"harness.{harness}_us")) - spec.launch_us)


def launch_cycles(spec: GpuSpec, work: VectorWork) -> int:
    """Cycles from the call to the kernel's start: launch + host overhead, or under
    ``harness: llmcompass`` the floor of the call path LLMCompass timed the op through."""
    if spec.harness == "llmcompass":
        path = "compiled" if work.name in COMPILED_OPS else "eager"
        return spec.cycles(float(TABLE.value(f"harness.{path}_us")))
    return _launch(spec)


@dataclass(frozen=True)
class VectorWork:
    """A memory-bound kernel's shape: ``rows`` independent rows of ``row`` elements (an
    element-wise op is one row of all its elements, ``kind`` ``elementwise``), read
    ``passes`` times; its input and output bytes and FLOPs; ``name`` is the op's own kind
    (``gelu``, ``add``, ``layernorm``...)."""

    kind: str
    rows: int
    row: int
    passes: int
    in_bytes: float
    out_bytes: float
    flops: int
    name: str = ""

    @property
    def row_kernel(self) -> bool:
        return self.kind in ROW_KERNELS

    def describe(self) -> str:
        mb = (self.in_bytes + self.out_bytes) / 1e6
        if not self.row_kernel:
            return f"element-wise kernel, {mb:.3g} MB"
        reads = "on chip, one read" if self.passes == 1 else f"{self.passes} reads"
        return f"{self.kind} kernel, {self.rows} rows of {self.row} ({reads}), {mb:.3g} MB"


def work_of(op: Any) -> VectorWork:
    """The kernel layout of a non-GEMM op (see the module docstring)."""
    kind = op.kind if op.OP_TYPE == "norm" else op.OP_TYPE
    shape = tuple(getattr(op, "shape", ()) or (1,))
    n = math.prod(shape)
    if kind in ROW_KERNELS:
        row = shape[getattr(op, "axis", -1)]
        onchip, looped = ROW_KERNELS[kind]
        passes = 1 if row <= onchip else looped
        return VectorWork(kind, n // row, row, passes, op.bytes_read, op.bytes_written, op.flops,
                          kind)
    return VectorWork("elementwise", 1, n, 1, op.bytes_read, op.bytes_written, op.flops,
                      getattr(op, "kind", op.OP_TYPE))


@dataclass(frozen=True)
class VectorLowered(Lowered):
    """A lowering that carries its memory-bound kernel's layout (``work``)."""

    work: VectorWork | None = None


def lower(spec: GpuSpec, op: Any, low: Lowered) -> Lowered:
    """``low`` (an op with vector work and no GEMMs) with its kernel layout and a detail that
    says what bounds it."""
    work = work_of(op)
    plan = plan_work(spec, work, low.vector_flops, low.vector_bytes)
    fields = {f.name: getattr(low, f.name) for f in dataclasses.fields(Lowered)}
    fields["detail"] = f"{work.describe()}: {plan.bound(spec)}-bound"
    return VectorLowered(**fields, work=work)


def plan_work(spec: GpuSpec, work: VectorWork | None, flops: int, nbytes: float,
              launch: bool = True) -> Plan:
    """The kernel of ``work`` (None: ``nbytes`` streamed once over HBM and ``flops`` spread
    over the SMs, for vector work with no layout, such as a fused LUT table precompute).
    ``flops``/``nbytes`` may exceed the work's own (work fused into it is streamed too).
    ``launch=False``: the work is the epilogue of a kernel already launched."""
    if work is None:
        work = VectorWork("elementwise", 1, 0, 1, nbytes, 0.0, flops)
    start = launch_cycles(spec, work) if launch else 0
    extra = max(0.0, nbytes - work.in_bytes - work.out_bytes)
    extra_flops = max(0, flops - work.flops)
    reads = work.passes * work.in_bytes
    hbm = reads + work.out_bytes + extra
    latency = 0.0
    if work.row_kernel:  # one CTA per row: the rows are dealt to the SMs
        active = min(spec.sms, work.rows)
        share = math.ceil(work.rows / active) / work.rows
        if work.passes > 1 and work.kind == "softmax":  # a block reduction per pass
            waves = math.ceil(work.rows / (active * block_softmax_ctas_per_sm(work.row)))
            latency = waves * work.passes * spec.cycles(SOFTMAX_PASS_US)
    else:
        active = spec.sms
        share = 1 / spec.sms
    sm_bytes = (reads + work.out_bytes + extra) * share
    sm_flops = (work.flops + extra_flops) * share
    per_sm = math.ceil(max(sm_bytes / spec.l2_bytes_per_sm_cycle(),
                           sm_flops / spec.fp32_flops_per_sm_cycle(), latency))
    ctas = active if per_sm else 0
    est = start + max(per_sm, _hbm_cycles(spec, hbm))
    tile = f"{work.row}-element rows" if work.row_kernel else "element-wise"
    return Plan(tile, ctas, (per_sm,) * ctas, math.ceil(hbm), start, est)


@lru_cache(maxsize=4096)
def _piece(spec: GpuSpec, work: VectorWork | None, flops: int, nbytes: float,
           launch: bool) -> tuple[Piece, Plan]:
    plan = plan_work(spec, work, flops, nbytes, launch)
    return simulate(spec, plan, 0, kind="vector"), plan


def vector_piece(spec: GpuSpec, low: Lowered, launch: bool = True) -> tuple[Piece, Plan]:
    """The simulated kernel of a lowering's vector work (cached by its layout)."""
    return _piece(spec, getattr(low, "work", None), low.vector_flops, low.vector_bytes, launch)


__all__ = ["NORM_LOOPED_PASSES", "NORM_ONCHIP_ROW_MAX", "ROW_KERNELS", "SOFTMAX_BLOCK_PASSES",
           "SOFTMAX_WARP_ROW_MAX", "TABLE", "VectorLowered", "VectorWork",
           "harness_overhead_us", "launch_cycles", "lower", "plan_work", "vector_piece", "work_of"]
