"""The GPU behind the device protocol: its kind, presets and per-piece model.

Every op is one kernel launch (or none: views). GEMMs (MatMul, im2col convolutions) become
tiled tensor-core kernels, attention one FlashAttention-2 kernel, everything else a
memory-bound kernel (:mod:`hwsim.devices.gpu.kernels`); low-bit-weight GEMMs take the
mixed-precision paths of :mod:`hwsim.devices.gpu.mpgemm` (dequantised on MAC tensor cores, or
on LUT tensor cores with the table precompute fused into the op before). Each distinct
kernel is simulated once on its own environment and cached; the run's environment (the
shared driver) places kernels one after another, as one CUDA stream runs them
(``concurrent_ops = False``).

Workaround of the driver's contract, kept here: the driver runs a lowered GEMM's ``repeat``
instances one by one, while a GPU runs a batched GEMM's instances (and attention's heads) as
one grid. :meth:`GpuModel.lower` therefore hands the driver one :class:`~.kernels.Kernel` of
``repeat`` 1 carrying the batch, and the model caches its own pieces (``replayable = False``,
since the driver's cache key does not see the batch).
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import replace
from typing import Any

import simpy

from hwsim.devices.base import DeviceKind
from hwsim.devices.gpu import kernels, vector
from hwsim.devices.gpu.kernels import ATTN_BLOCK, Kernel
from hwsim.devices.gpu.mpgemm import mpgemm
from hwsim.devices.gpu.parallel import AllReduce, hbm_bytes_needed, shard
from hwsim.devices.gpu.spec import PRESETS, GpuSpec
from hwsim.devices.lut.driver import run_with_luts
from hwsim.devices.lut.precompute import Precompute
from hwsim.devices.lut.units import TableSource, shipped_table
from hwsim.engine.driver import Piece, graph_of
from hwsim.engine.lowering import Gemm, Lowered, lower_op
from hwsim.engine.result import RunResult
from hwsim.engine.trace import TraceSink
from hwsim.errors import HwsimError
from hwsim.numerics import resolve


def _bits(name: str | None) -> float:
    from workloads import format_bits

    return format_bits(name) if name else 16.0


def _is_int(name: str | None) -> bool:
    if not name:
        return False
    f = resolve(name)
    return getattr(f, "element", f).kind == "int"


def tensor_path(spec: GpuSpec, x: str | None, w: str | None) -> tuple[str, str]:
    """The tensor-core path of a GEMM with activations ``x`` and weights ``w``, and a note
    when it is a fallback: int8 x int8 on the int8 path; 8-bit floats on FP8 where the part
    has it; anything else up to 16 bits (weight-only quantised GEMMs, FP8 on a part without
    FP8) dequantises to FP16; wider operands run as TF32."""
    bx, bw = _bits(x), _bits(w)
    if max(bx, bw) <= 8 and _is_int(x) and _is_int(w):
        return "int8", ""
    if max(bx, bw) <= 8 and not _is_int(x):
        if spec.fp8_tensor_tflops > 0:
            return "fp8", ""
        return "fp16", f"{x} x {w}: no FP8 tensor path on {spec.name}, dequantised to FP16"
    if max(bx, bw) <= 16:
        note = "" if min(bx, bw) >= 16 else f"{x} x {w}: dequantised to FP16 (weight-only)"
        return "fp16", note
    return "tf32", f"{x} x {w}: run as TF32 on the tensor cores"


class GpuModel:
    """:class:`hwsim.engine.driver.DeviceModel` of a :class:`GpuSpec`."""

    memory_levels: Mapping[str, str] = {"hbm": "hbm"}
    replayable = False  # the model caches its own pieces (see the module docstring)
    concurrent_ops = False

    def __init__(self, env: simpy.Environment, sink: TraceSink, spec: GpuSpec,
                 precompute: Mapping[str, Precompute] | None = None,
                 source: TableSource = shipped_table) -> None:
        self.env = env
        self.spec = spec
        self.description = spec.describe()
        self.clock_mhz = spec.clock_mhz
        self.peak_macs_per_cycle = round(spec.macs_per_sm_cycle("fp16") * spec.sms)
        self.fallbacks: dict[str, None] = {}
        self.precompute = dict(precompute or {})
        self.source = source
        self.lut_ops: dict[str, Any] = {}  # op name -> its LUT-vs-MAC comparison
        self._epilogues: set[int] = set()  # ids of lowerings whose vector work is fused
        self._collectives: dict[int, Piece] = {}  # ids of all-reduce lowerings -> their piece

    def lower(self, op: Any) -> Lowered:
        low = self._lower(op)
        pre = self.precompute.get(op.name)
        if pre is None:
            return low
        own = op.name in pre.consumers  # no producer before it: a table kernel of its own
        out = replace(low, vector_flops=low.vector_flops + pre.flops,
                      vector_bytes=low.vector_bytes + pre.nbytes,
                      detail=f"{low.detail} {pre.describe()}"
                             + (" (unfused: a kernel of its own)" if own else ""))
        if low.gemms and not own:  # the epilogue of a kernel that runs anyway
            self._epilogues.add(id(out))
        return out

    def _lower(self, op: Any) -> Lowered:
        from workloads import Attention, MatMul

        spec = self.spec
        if isinstance(op, AllReduce):
            piece, plan = kernels.allreduce_piece(spec, op.ranks, op.link_bytes)
            low = Lowered(vector_bytes=plan.hbm_bytes,
                          detail=f"NVLink ring all-reduce over {op.ranks} GPUs "
                                 f"({plan.tile.split(', ')[-1]} protocol), "
                                 f"{op.nbytes / 1e6:.3g} MB ({op.link_bytes / 1e6:.3g} MB sent "
                                 f"per GPU): {plan.bound(spec)}-bound")
            self._collectives[id(low)] = piece
            return low
        low = lower_op(op, device=spec.name, causal_block=ATTN_BLOCK)
        if not low.gemms:
            if not (low.vector_flops or low.vector_bytes):
                return low  # a view: no kernel
            return vector.lower(spec, op, low)
        fmt = op.fmt
        path, note = tensor_path(spec, fmt.x if fmt else None, fmt.w if fmt else None)
        if note:
            self.fallbacks[note] = None
        in_b = max(_bits(fmt.x if fmt else None), _bits(fmt.w if fmt else None)) / 8
        out_b = _bits(fmt.y if fmt else None) / 8
        if isinstance(op, Attention) and spec.attention == "unfused":
            return self._unfused_attention(op, path, in_b, out_b)
        if isinstance(op, Attention):
            blocks = tuple((g.m, g.n) for g in low.gemms[::2])
            if not op.causal:  # FlashAttention tiles the queries of an unmasked head too
                blocks = tuple((min(ATTN_BLOCK, op.q_len - s), op.kv_len)
                               for s in range(0, op.q_len, ATTN_BLOCK))
            d = op.head_dim
            # HBM holds the KV cache in its own format (fmt.w: a block format's scales
            # included) and Q/O in the activation and output formats
            kv_b = _bits(fmt.w if fmt else None) / 8
            q_b = _bits(fmt.x if fmt else None) / 8
            kv_bytes = 2 * op.batch * op.kv_heads * op.kv_len * d * kv_b
            qo_bytes = op.batch * op.heads * op.q_len * d * (q_b + out_b)
            k = Kernel(op.q_len, d, op.kv_len, kind="attention", batch=op.batch * op.heads,
                       path=path, in_bytes=in_b, out_bytes=out_b, blocks=blocks,
                       a_bytes=q_b, w_bytes=kv_b,
                       hbm_bytes=round(kv_bytes + qo_bytes), score_flops=op.score_flops)
            plan = kernels.kernel_piece(spec, k)[1]
            return replace(low, gemms=(k,), vector_flops=0, masked_macs=k.macs - op.macs,
                           detail=f"FlashAttention-2 forward ({path}), {k.batch} heads x "
                                  f"{len(blocks)} query blocks"
                                  f"{', masked key blocks skipped' if op.causal else ''}, "
                                  f"scores on chip: {plan.describe(spec)}")
        mp = mpgemm(spec, op, op.where, self.source)
        extra: dict[str, Any] = {}
        if mp is not None:
            extra = dict(mp.fields)
            path = extra.pop("path", path)
            if mp.lut is not None:
                self.lut_ops[op.name] = mp.lut
            self.fallbacks[mp.note] = None
        shared = isinstance(op, MatMul) and len(op.b_shape) == 2
        # a linear layer's batch dims share one weight: one GEMM of all their rows (a grid of
        # independent instances would read the weight once per instance)
        ks = tuple(Kernel(g.m * g.repeat if shared else g.m, g.k, g.n,
                          batch=1 if shared else g.repeat, path=path, in_bytes=in_b,
                          out_bytes=out_b, **extra) for g in low.gemms)
        plans = "; ".join(kernels.kernel_piece(spec, k)[1].describe(spec) for k in ks)
        what = f"GEMM {ks[0].m}x{ks[0].k}x{ks[0].n}" if shared else low.detail
        return replace(low, gemms=ks, detail=f"{what} ({path}): {plans}")

    def _unfused_attention(self, op: Any, path: str, in_b: float, out_b: float) -> Lowered:
        """Attention as three kernels with the scores in HBM (``attention: unfused``): the
        batched QK^T GEMM writes every score (masked ones too), a softmax kernel reads and
        rewrites them, the PV GEMM reads them; K and V are read in the KV cache's format.
        The driver runs the two GEMMs, then the softmax: the order differs, the time not."""
        from workloads import OpFormats, Softmax

        spec, fmt = self.spec, op.fmt
        kv_b = _bits(fmt.w if fmt else None) / 8
        rep, d, q, kv = op.batch * op.heads, op.head_dim, op.q_len, op.kv_len
        qk = Kernel(q, d, kv, batch=rep, path=path, in_bytes=in_b, out_bytes=out_b,
                    w_bytes=kv_b)
        pv = Kernel(q, kv, d, batch=rep, path=path, in_bytes=in_b, out_bytes=out_b,
                    a_bytes=out_b, w_bytes=kv_b)
        y = fmt.y if fmt else "fp16"
        sm = Softmax(name=f"{op.name}.softmax", shape=(rep, q, kv),
                     fmt=OpFormats(x=y, y=y, acc="fp32"))
        soft = vector.lower(spec, sm, lower_op(sm, device=spec.name))
        plans = [kernels.kernel_piece(spec, k)[1] for k in (qk, pv)]
        return replace(soft, gemms=(qk, pv), masked_macs=qk.macs + pv.macs - op.macs,
                       detail=f"unfused attention ({path}), scores in HBM: QK^T {rep}x "
                              f"{q}x{d}x{kv}: {plans[0].describe(spec)}; PV {rep}x {q}x{kv}x{d}"
                              f": {plans[1].describe(spec)}; {soft.detail}")

    def _place(self, piece: Piece) -> Generator[Any, Any, Piece]:
        yield self.env.timeout(piece.total)
        return piece

    def run_gemm(self, g: Gemm, low: Lowered, tag: str) -> Generator[Any, Any, Piece]:
        if not isinstance(g, Kernel):
            raise AssertionError("internal error: the GPU model lowers every GEMM to a Kernel")
        return self._place(kernels.kernel_piece(self.spec, g)[0])

    def run_vector(self, low: Lowered, tag: str) -> Generator[Any, Any, Piece]:
        if id(low) in self._collectives:
            return self._place(self._collectives[id(low)])
        return self._place(vector.vector_piece(self.spec, low, id(low) not in self._epilogues)[0])

    def notes(self, counts: Mapping[str, int]) -> list[str]:
        spec = self.spec
        notes = [f"every op is one kernel: launch {spec.launch_us:g} us"
                 + (f" + {spec.overhead_us:g} us host overhead per call"
                    if spec.overhead_us else "")
                 + "; kernels run one after another on one stream",
                 f"achievable fractions of peak: tensor {spec.tensor_efficiency:g}, HBM "
                 f"{spec.hbm_efficiency:g} (see hwsim/data/gpu_presets.yaml for what they "
                 "were fitted on)"]
        if counts["vector_ops"]:
            notes.append(f"{counts['vector_ops']} ops ran as memory-bound kernels")
        if counts["masked_macs"]:
            notes.append(f"{counts['masked_macs']:,} of the {counts['macs']:,} MACs are in "
                         f"the causal diagonal blocks ({ATTN_BLOCK} queries) FlashAttention "
                         "computes and masks; fully masked blocks are skipped")
        if self.precompute:
            notes.append(f"LUT table precompute fused into {len(self.precompute)} producer "
                         "ops (their cost is in those ops: see each op's detail)")
        if spec.tp > 1:
            notes.append(f"tensor parallel over {spec.tp} GPUs (Megatron column/row sharding): "
                         "every time is one GPU's; each row-split GEMM is followed by an NVLink "
                         f"ring all-reduce ({spec.nvlink_gb_s:g} GB/s per direction; NCCL's "
                         f"LL protocol {spec.nccl_ll_us:g} us + bytes at "
                         f"{spec.nccl_ll_efficiency:g} of it, or Simple "
                         f"{spec.nccl_simple_us:g} us + bytes at "
                         f"{spec.nccl_simple_efficiency:g}, the faster)")
        notes += list(self.fallbacks)
        return notes


def run(spec: GpuSpec, workload: Any, *, costs: Any = None, trace: bool = False,
        source: TableSource = shipped_table) -> RunResult:
    """Run a graph (or ops in order) on the GPU; ``costs`` prices MACs and traffic (default:
    the analytical 45 nm provider: an estimate, not the GPU's measured energy). On a LUT
    part, ``source`` gives the synthesised LUT/MAC table (default: the shipped one); the
    LUT GEMMs' MAC energy is rescaled by its LUT-vs-MAC energy per product
    (:func:`hwsim.devices.lut.energy.relabel_lut_energy`). With ``spec.tp > 1`` the graph is
    first sharded (:func:`~hwsim.devices.gpu.parallel.shard`) and one GPU's shard runs. A
    graph whose weights and KV cache do not fit in one GPU's HBM is refused."""
    workload = shard(graph_of(workload), spec.tp)
    check_fits(spec, workload)
    return run_with_luts(lambda env, sink, pre: GpuModel(env, sink, spec, pre, source),
                         workload, device=spec.name, luts=spec.tensor_core == "lut",
                         costs=costs, trace=trace, source=source)


def check_fits(spec: GpuSpec, graph: Any) -> None:
    """One error if a GPU's HBM cannot hold the weights and KV cache of its shard."""
    weights, kv = hbm_bytes_needed(graph)
    have = spec.hbm_gb * 1e9
    if weights + kv > have:
        raise HwsimError(
            f"{graph.name} does not fit on gpu {spec.name} at tensor parallelism {spec.tp}: it "
            f"needs {(weights + kv) / 1e9:.1f} GB per GPU ({weights / 1e9:.1f} GB of weights "
            f"+ {kv / 1e9:.1f} GB of KV cache), HBM holds {have / 1e9:.0f} GB; raise --tp, "
            "use fewer --blocks or narrower formats")


#: ``a100``, ``h100`` and their LUT what-ifs from ``hwsim/data/gpu_presets.yaml``.
presets = PRESETS.presets


KIND = DeviceKind(
    name="gpu",
    summary="NVIDIA-style GPU at tile level: tensor-core GEMMs as CTA waves over the SMs "
            "(the fastest of a library's tile set), FlashAttention-2, memory-bound vector "
            "kernels over HBM; mixed-precision GEMMs dequantised in the main loop, or on LUT "
            "tensor cores; presets a100, h100 and the what-ifs a100-lut, h100-lut",
    spec_type=GpuSpec, run=run, presets=presets, default_preset="a100")

__all__ = ["KIND", "GpuModel", "check_fits", "presets", "run", "tensor_path"]
