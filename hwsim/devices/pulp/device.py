"""The PULP cluster behind the device protocol: forward and training ops (input gradient,
weight gradient, loss, SGD update) as PULP-TrainLib runs them, timed by instruction counts.

Each op becomes the sequence of parallel primitives the library calls (im2row, transposes,
one matmul per step, the depthwise loops, elementwise loops; :mod:`.kernels`), whose cycles
add up to the op's compute. In time, an op is tiled through L1: its tensors live in L2, and
the cluster DMA loads tile ``i + 1`` into one half of L1 while the 8 cores (a compute unit of
capacity ``worker_cores``) work on tile ``i`` in the other half, and writes results back to
L2 behind them (double buffering). Tiles are what fits half of L1; past 16 tiles an op is cut
into 16 equal tiles (the fill and drain of the pipeline are then 1/16 of the op, not one
L1-sized tile).

Training ops are lowered here, not by :func:`hwsim.engine.lowering.lower_op` (which refuses
them for the inference-only kinds); forward ops take their GEMM shapes from PULP-TrainLib's
conv/linear primitives, anything else from ``lower_op``.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

import simpy

from hwsim.devices.base import DeviceKind
from hwsim.devices.pulp import kernels as K
from hwsim.devices.pulp.spec import FORMATS, PRESETS, PulpSpec
from hwsim.engine.driver import PieceStats, run_ops
from hwsim.engine.lowering import Gemm, Lowered, check_cycles, lower_op
from hwsim.engine.resources import ComputeUnit, DoubleBuffer, MemoryLevel, MemorySpec
from hwsim.engine.result import RunResult
from hwsim.engine.trace import TraceSink
from hwsim.errors import HwsimError

#: at most this many tiles are simulated per op (see the module docstring)
MAX_TILES = 16
STEPS = ("forward", "input grad", "weight grad", "loss", "update")


@dataclass(frozen=True)
class Work:
    """What one op costs on the cluster, before it is placed in time."""

    step: str
    cycles: int
    macs: int
    l2_in_bytes: int
    l2_out_bytes: int
    l1_access_bytes: int
    min_l1_bytes: int
    parts: tuple[str, ...] = ()


@dataclass(frozen=True)
class PulpGemm(Gemm):
    """The driver's GEMM slot carrying an op's whole :class:`Work` (``m = k = n = 1``)."""

    work: Work | None = None


@dataclass(frozen=True)
class PulpLowered(Lowered):
    work: Work | None = None


@dataclass
class _Acc:
    macs: int = 0
    cycles: int = 0


def _fmt_of(op: Any, where: str) -> str:
    """fp16 if the op's operands are FP16, fp32 if any is FP32; anything else is an error."""
    fmt = op.fmt
    names = [f for f in (fmt.x, fmt.w, fmt.y) if f] if fmt is not None else []
    bad = sorted({f for f in names if f not in FORMATS})
    if bad:
        raise HwsimError(f"{where}: format {', '.join(bad)} has no PULP path; the pulp device "
                         f"runs {' and '.join(FORMATS)} (PULP-TrainLib's FP32 and FP16 SIMD "
                         "kernels)")
    return "fp32" if "fp32" in names or not names else "fp16"


class _Builder:
    """Accumulates the primitives of one op."""

    def __init__(self, spec: PulpSpec, fmt: str) -> None:
        self.spec, self.fmt = spec, fmt
        self.elem = FORMATS[fmt]
        self.cycles = 0
        self.l1 = 0
        self.min_l1 = 0
        self.parts: list[str] = []

    def matmul(self, label: str, n: int, k: int, m: int, trans_b: bool) -> None:
        name, cyc = K.best_matmul(self.fmt, n, k, m, trans_b, self.spec)
        kern = next(kr for kr in K.KERNELS if kr.name == name)
        body = kern.body_t if trans_b else kern.body_n
        self.cycles += cyc
        self.l1 += math.ceil(n * k * m * (body.loads + body.stores) / body.macs) * 4 \
            + n * m * self.elem
        self.min_l1 = max(self.min_l1, (2 * k + 2) * self.elem)
        self.parts.append(f"{label} {name} {n}x{k}x{m}{' (B^T)' if trans_b else ''}")

    def copy(self, label: str, elements: int, parallel_over: int,
             kernel: tuple[int, int] | None = None, padded: bool = False) -> None:
        self.cycles += K.copy_cycles(elements, parallel_over, self.spec, kernel=kernel,
                                     padded=padded)
        self.l1 += 2 * elements * self.elem
        self.parts.append(f"{label} {elements}")

    def depthwise(self, label: str, channels: int, macs: int, plane_elems: int) -> None:
        self.cycles += K.depthwise_cycles(channels, macs // channels, self.spec)
        self.l1 += 3 * macs * self.elem
        self.min_l1 = max(self.min_l1, plane_elems * self.elem)
        self.parts.append(f"{label} depthwise loops x{channels} channels")

    def elementwise(self, label: str, elements: int, loads: int, stores: int,
                    flops: int) -> None:
        self.cycles += K.elementwise_cycles(elements, loads, stores, flops, self.spec)
        self.l1 += elements * (loads + stores) * self.elem
        self.parts.append(f"{label} x{elements}")


def _conv_work(b: _Builder, conv: Any, step: str) -> None:
    """Conv2D / pointwise / depthwise steps as pulp_conv2d_*.c, pulp_conv_pw_*.c and
    pulp_conv_dw_*.c (CHW layout) call their primitives."""
    _, cin, hin, win = conv.x_shape
    _, cout, ho, wo = conv.out_shape
    kh, kw = conv.kernel
    g = conv.groups
    if g > 1:  # depthwise (the only grouped conv the library has)
        plane = hin * win + kh * kw + ho * wo
        b.depthwise(step, g, conv.macs, plane)
        return
    pointwise = (kh, kw) == (1, 1) and tuple(conv.stride) == (1, 1)
    if pointwise:
        if step == "forward":  # pulp_conv_pw_fp32_fw_cl: mm(N=Cout, K=Cin, M=H*W)
            b.matmul("fw", cout, cin, ho * wo, False)
        elif step == "weight grad":  # _bw_param_grads_cl: N=Cout, K=H*W, M=Cin, trans_B
            b.matmul("wg", cout, ho * wo, cin, True)
        else:  # _bw_input_grads_cl: transpose_matrix(W), mm(N=Cin, K=Cout, M=H*W)
            b.copy("transpose W", cout * cin, cout)
            b.matmul("ig", cin, cout, hin * win, False)
        return
    kk = kh * kw
    pad = any(conv.padding)
    if step == "forward":  # pulp_conv2d_fp32_fw_cl: im2row(x), mm(N=Cout, K=kk*Cin, M=Ho*Wo)
        b.copy("im2row x", ho * wo * kk * cin, cin, (kh, kw), padded=pad)
        b.matmul("fw", cout, kk * cin, ho * wo, True)
    elif step == "weight grad":  # _bw_param_grads_cl: im2row(x) unpadded, mm(N=Cout,
        b.copy("im2row x", ho * wo * kk * cin, cin, (kh, kw))  # K=Ho*Wo, M=kk*Cin)
        b.matmul("wg", cout, ho * wo, kk * cin, False)
    else:  # _bw_input_grads_cl: im2row(dY) (mod 1), blocktransp(W), mm(N=Cin, K=kk*Cout, M=Hin*Win)
        b.copy("im2row dY", hin * win * kk * cout, cout, (kh, kw), padded=True)
        b.copy("blocktransp W", cout * cin * kk, cout)
        b.matmul("ig", cin, kk * cout, hin * win, True)


def _linear_work(b: _Builder, mm: Any, step: str) -> None:
    """pulp_linear_fp32.c / _fp16.c: forward W . x, weight grad dY x^T, input grad W^T . dY
    (every token of a batched linear shares the weights: the tokens are the matmul's M)."""
    tokens, cin, cout = mm.m * math.prod(mm.batch), mm.k, mm.n
    if step == "forward":
        b.matmul("fw", cout, cin, tokens, True)
    elif step == "weight grad":
        b.matmul("wg", cout, tokens, cin, False)
    else:
        b.copy("transpose W", cout * cin, cout)
        b.matmul("ig", cin, cout, tokens, False)


def _elementwise(b: _Builder, op: Any, step: str, label: str) -> None:
    n = max(1, op.x_numel, op.y_numel)
    reads = max(1, round(op.bytes_read / max(1.0, n * b.elem)))
    writes = max(1, round(op.bytes_written / max(1.0, n * b.elem)))
    flops = math.ceil(op.flops / n)
    b.elementwise(label, n, reads, writes, flops)


def op_work(op: Any, spec: PulpSpec) -> Work:
    """The primitives PULP-TrainLib runs for ``op`` and their cycles on ``spec``."""
    from workloads import Backward, Conv2d, Elementwise, MatMul, View, WeightUpdate

    fmt = _fmt_of(op, op.where)
    b = _Builder(spec, fmt)
    if isinstance(op, View):
        return Work("forward", 0, 0, 0, 0, 0, 0, ("view: no data movement",))
    if isinstance(op, WeightUpdate):
        step = "update"  # pulp_optimizers: w -= lr * g (2 loads, 1 FMA, 1 store)
        b.elementwise("sgd", op.numel, 2, 1, 1)
    elif isinstance(op, Backward):
        fwd = op.forward
        step = "weight grad" if op.wrt == "weight" else "input grad"
        if isinstance(fwd, Conv2d):
            _conv_work(b, fwd, step)
        elif isinstance(fwd, MatMul) and fwd.is_param:
            _linear_work(b, fwd, step)
        elif isinstance(fwd, Elementwise) and fwd.kind == "cross_entropy":
            step = "loss"
            _elementwise(b, op, step, "loss grad")
        elif fwd.MAC_BASED:
            low = lower_op(fwd, device=spec.name)
            for g in low.gemms:
                b.matmul(step, g.m, g.n, g.k, False)
                b.matmul(step, g.m, g.k, g.n, False)
        else:
            _elementwise(b, op, step, f"{step} loop")
    else:
        step = "forward"
        if isinstance(op, Elementwise) and op.kind == "cross_entropy":
            step = "loss"
            _elementwise(b, op, step, "softmax + cross-entropy")
        elif isinstance(op, Conv2d):
            _conv_work(b, op, step)
        elif isinstance(op, MatMul) and op.is_param:
            _linear_work(b, op, step)
        else:
            low = lower_op(op, device=spec.name)
            for g in low.gemms:
                name, cyc = K.best_matmul(fmt, g.m, g.k, g.n, False, spec)
                b.cycles += g.repeat * cyc
                b.l1 += 2 * g.repeat * g.m * g.k * g.n * b.elem
                b.min_l1 = max(b.min_l1, (2 * g.k + 2) * b.elem)
                b.parts.append(f"{g.repeat}x {name} {g.m}x{g.k}x{g.n}")
            if low.vector_flops or low.vector_bytes or not low.gemms:
                _elementwise(b, op, step, "loop")
    macs = op.macs if op.MAC_BASED else 0
    io = (op.x_numel + op.w_numel) * b.elem
    if b.min_l1 > spec.l1_bytes:
        raise HwsimError(f"{op.where}: needs {b.min_l1:,} bytes of L1 even with the smallest "
                         f"tile PULP-TrainLib can use (one row and one column of its largest "
                         f"matmul, or one depthwise channel's planes); the {spec.name} cluster "
                         f"has {spec.l1_bytes:,} bytes")
    return Work(step, check_cycles(b.cycles, f"{op.name} on pulp"), macs, io,
                op.y_numel * b.elem, b.l1, b.min_l1, tuple(b.parts))


class PulpModel:
    """:class:`hwsim.engine.driver.DeviceModel` of a :class:`PulpSpec`."""

    memory_levels: Mapping[str, str] = {"l2": "l2"}
    replayable = False
    concurrent_ops = False

    def __init__(self, env: simpy.Environment, sink: TraceSink, spec: PulpSpec) -> None:
        self.env, self.sink, self.spec = env, sink, spec
        self.description = spec.describe()
        self.clock_mhz = spec.clock_mhz
        self.peak_macs_per_cycle = spec.peak_macs_per_cycle("fp16")
        self.cores = ComputeUnit(env, "cores", sink, capacity=spec.worker_cores)
        self.dma = MemoryLevel(env, MemorySpec("l2", spec.l2_kib * 1024,
                                               spec.dma_bytes_per_cycle), sink)
        self.steps: dict[str, _Acc] = {}
        self.l1_bytes = 0

    def lower(self, op: Any) -> Lowered:
        w = op_work(op, self.spec)
        rate = f" ({w.macs / w.cycles:.2f} MAC/clk on the cores)" if w.macs else ""
        detail = f"{w.step}{rate}: " + "; ".join(w.parts)
        if not w.cycles:
            return PulpLowered(detail=detail, work=w)
        if w.macs:
            return PulpLowered((PulpGemm(1, 1, 1, work=w),), detail=detail, work=w)
        return PulpLowered(vector_flops=max(1, op.flops), vector_bytes=float(w.l2_in_bytes),
                           detail=detail, work=w)

    def _tiles(self, w: Work) -> int:
        half = self.spec.l1_bytes // (2 if self.spec.dma_double_buffer else 1)
        return max(1, min(MAX_TILES, math.ceil((w.l2_in_bytes + w.l2_out_bytes) / half)))

    def _piece(self, w: Work, tag: str) -> Generator[Any, Any, PieceStats]:
        """Double-buffered tiles: the DMA loads ahead into a one-slot store while the cores
        compute, results go back to L2 behind them."""
        env, n = self.env, self._tiles(w)
        t0 = int(env.now)
        buf = DoubleBuffer(env, "l1", self.spec.l1_bytes // 2)
        cyc = [w.cycles * (i + 1) // n - w.cycles * i // n for i in range(n)]
        macs = [w.macs * (i + 1) // n - w.macs * i // n for i in range(n)]
        ins = [w.l2_in_bytes * (i + 1) // n - w.l2_in_bytes * i // n for i in range(n)]
        outs = [w.l2_out_bytes * (i + 1) // n - w.l2_out_bytes * i // n for i in range(n)]
        sram = [w.l1_access_bytes * (i + 1) // n - w.l1_access_bytes * i // n
                for i in range(n)]
        cores = self.spec.worker_cores

        def loader() -> Generator[Any, Any, None]:
            for i in range(n):
                yield env.process(self.dma.transfer(ins[i], f"load tile {i}", tag))
                yield buf.put(i)

        def compute() -> Generator[Any, Any, list[Any]]:
            stores = []
            for _ in range(n):
                i = yield buf.get()
                jobs = [env.process(self.cores.run_tile(
                    cyc[i], f"tile {i}", tag, macs=macs[i] // cores + (c < macs[i] % cores),
                    sram_bytes=sram[i] // cores + (c < sram[i] % cores)))
                    for c in range(cores)]
                yield simpy.AllOf(env, jobs)
                stores.append(env.process(self.dma.transfer(outs[i], f"store tile {i}", tag)))
            return stores

        if self.spec.dma_double_buffer:
            env.process(loader())
            stores = yield env.process(compute())
            yield simpy.AllOf(env, stores)
        else:  # one buffer: each tile waits for its load, and the next for its store
            for i in range(n):
                yield env.process(self.dma.transfer(ins[i], f"load tile {i}", tag))
                yield env.process(self.cores.run_tile(cyc[i], f"tile {i}", tag, macs=macs[i],
                                                      sram_bytes=sram[i]))
                yield env.process(self.dma.transfer(outs[i], f"store tile {i}", tag))
        self.l1_bytes += w.l1_access_bytes
        acc = self.steps.setdefault(w.step, _Acc())
        acc.macs += w.macs
        acc.cycles += int(env.now) - t0
        return PieceStats(compute_cycles=w.cycles, stall_cycles=int(env.now) - t0 - w.cycles,
                          macs=w.macs)

    def run_gemm(self, g: Gemm, low: Lowered, tag: str) -> Generator[Any, Any, PieceStats]:
        if not isinstance(g, PulpGemm) or g.work is None:
            raise AssertionError("internal error: the pulp model lowers every op to its Work")
        return self._piece(g.work, tag)

    def run_vector(self, low: Lowered, tag: str) -> Generator[Any, Any, PieceStats]:
        if not isinstance(low, PulpLowered) or low.work is None:
            raise AssertionError("internal error: the pulp model lowers every op to its Work")
        return self._piece(low.work, tag)

    def step_summary(self) -> dict[str, tuple[int, int]]:
        """Step -> (MACs, cycles) over the run so far."""
        return {s: (a.macs, a.cycles) for s, a in self.steps.items()}

    def notes(self, counts: Mapping[str, int]) -> list[str]:
        s = self.spec
        out = [f"instruction-level kernel counts of PULP-TrainLib (fastest of its matmuls per "
               f"shape, as its AutoTuner picks); peak {self.peak_macs_per_cycle} MAC/cycle is "
               f"FP16 SIMD ({s.peak_macs_per_cycle('fp32')} in FP32)",
               "L1 bank conflicts are a modelled rate (uniform random banks), not simulated "
               "per access; tensors stream L2 -> L1 by the DMA, "
               f"{'double' if s.dma_double_buffer else 'single'}-buffered",
               f"traffic: L1 (cores' loads and stores) {self.l1_bytes:,} bytes; L2 <-> L1 "
               "(DMA) in bytes_moved['l2']"]
        for step in STEPS:
            if step in self.steps and self.steps[step].cycles:
                a = self.steps[step]
                out.append(f"step {step}: {a.macs:,} MACs in {a.cycles:,} cycles, "
                           f"{a.macs / a.cycles:.2f} MAC/clk")
        return out


def run(spec: PulpSpec, workload: Any, *, costs: Any = None, trace: bool = False) -> RunResult:
    """Run a graph (forward, or a training graph) on the PULP cluster; ``costs`` prices MACs
    and L1/L2 traffic (an estimate, not the chip's measured energy)."""
    return run_ops(lambda env, sink: PulpModel(env, sink, spec), workload, costs=costs,
                   keep_trace=trace)


#: The presets of ``hwsim/data/pulp_presets.yaml``.
presets = PRESETS.presets


KIND = DeviceKind(
    name="pulp",
    summary="PULP RISC-V cluster (8+1 cores, FP16 SIMD FPUs, banked L1, DMA double "
            "buffering): inference and on-device training (FP32/FP16) with PULP-TrainLib's "
            "kernels counted at the instruction level",
    spec_type=PulpSpec, run=run, presets=presets, default_preset="pulp")

__all__ = ["KIND", "MAX_TILES", "PulpModel", "Work", "op_work", "presets", "run"]
