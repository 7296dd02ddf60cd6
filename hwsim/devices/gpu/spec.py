"""The GPU's spec: SMs, clock, tensor-core and CUDA-core peaks, memories, overheads, and the
achievable fractions of peak; presets from the sourced table ``hwsim/data/gpu_presets.yaml``."""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.devices.presets import TablePresets
from hwsim.errors import HwsimError

PRESETS_TABLE = "data/gpu_presets.yaml"

#: tensor-core paths a GEMM may take, by the spec field holding its dense peak
PATHS: dict[str, str] = {"fp16": "fp16_tensor_tflops", "tf32": "tf32_tensor_tflops",
                         "int8": "int8_tensor_tops", "fp8": "fp8_tensor_tflops"}
#: the kinds of tensor core a GPU may have
TENSOR_CORES = ("mac", "lut")
#: how attention runs: FlashAttention-2 / flash decoding, or three kernels with the scores
#: in HBM (PyTorch eager's QK^T, softmax, PV)
ATTENTION = ("flash", "unfused")
#: whose per-call floors the kernels pay: ``none`` (launch + ``overhead_us``), or
#: ``llmcompass`` (each memory-bound kernel pays the floor of the PyTorch call path
#: LLMCompass timed it through: :func:`hwsim.devices.gpu.vector.launch_cycles`)
HARNESSES = ("none", "llmcompass")
#: NCCL's all-reduce protocols as modelled: (spec field of the latency, of the bus-bandwidth
#: fraction of one NVLink direction); the fastest for the message size is taken
NCCL_PROTOCOLS: dict[str, tuple[str, str]] = {
    p: (f"nccl_{p.lower()}_us", f"nccl_{p.lower()}_efficiency")
    for p in ("LL", "LL128", "Simple")}


@dataclass(frozen=True)
class GpuSpec:
    """One GPU. Peaks are dense (no 2:4 sparsity); ``fp8_tensor_tflops = 0`` means the part
    has no FP8 tensor path. ``launch_us`` is paid by every kernel, ``overhead_us`` by every
    kernel too: the host-side time per call of a measurement harness (0 for a bare GPU).
    ``tensor_efficiency`` and ``hbm_efficiency`` are the achievable fractions of the tensor
    and HBM peaks (fitted; see the presets table).

    ``tensor_core`` is the kind of tensor core: ``mac`` (multiply-accumulate, as shipped) or
    ``lut`` (a what-if: ``lut_area_share`` of the MAC tensor cores' area is spent on LUT
    tensor cores at the density of our synthesised units, ``hwsim/data/lut_unit_yosys.yaml``;
    the rest stays MAC tensor cores, which keep the GEMMs with no LUT path). The peaks above
    are the MAC tensor cores' at full area; :meth:`macs_per_sm_cycle` gives what is left.

    ``tp`` is the tensor-parallel degree the GPU runs a graph at (Megatron-style sharding,
    :mod:`~hwsim.devices.gpu.parallel`): ``tp`` identical GPUs joined by NVLink at
    ``nvlink_gb_s`` per direction; an all-reduce runs as NCCL's ring with the fastest of three
    protocols (:data:`NCCL_PROTOCOLS`: ``nccl_*_us`` from the call to the first byte, then
    the bus bandwidth ``nccl_*_efficiency x nvlink_gb_s``); every time the run reports is
    one GPU's. ``tdp_w`` is the part's thermal design power. ``attention``
    is how attention runs: ``flash`` (FlashAttention-2; flash decoding's split-KV for short
    query blocks) or ``unfused`` (QK^T, softmax and PV as three kernels, the scores in HBM).
    ``harness`` is whose per-call floors the kernels pay (:data:`HARNESSES`)."""

    name: str = "a100"
    sms: int = 108
    clock_mhz: float = 1410.0
    fp16_tensor_tflops: float = 312.0
    tf32_tensor_tflops: float = 156.0
    int8_tensor_tops: float = 624.0
    fp8_tensor_tflops: float = 0.0
    fp32_tflops: float = 19.5
    sfu_ops_per_sm_clk: float = 16.0
    smem_kb_per_sm: float = 164.0
    l2_mb: float = 40.0
    l2_gb_s: float = 7219.0
    hbm_gb: float = 80.0
    hbm_gb_s: float = 2039.0
    launch_us: float = 4.0
    overhead_us: float = 0.0
    tensor_efficiency: float = 0.9
    hbm_efficiency: float = 0.8
    tensor_core: str = "mac"
    lut_area_share: float = 0.0
    nvlink_gb_s: float = 300.0
    nccl_ll_us: float = 12.7
    nccl_ll_efficiency: float = 0.011
    nccl_ll128_us: float = 19.2
    nccl_ll128_efficiency: float = 0.089
    nccl_simple_us: float = 57.7
    nccl_simple_efficiency: float = 0.749
    tdp_w: float = 400.0
    tp: int = 1
    attention: str = "flash"
    harness: str = "none"

    def __post_init__(self) -> None:
        for f in ("sms", "tp"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise HwsimError(f"gpu {self.name}: {f} must be a positive integer, got {v!r}")
        positive = ("clock_mhz", "fp16_tensor_tflops", "tf32_tensor_tflops", "int8_tensor_tops",
                    "fp32_tflops", "sfu_ops_per_sm_clk", "smem_kb_per_sm", "l2_mb", "l2_gb_s",
                    "hbm_gb", "hbm_gb_s", "nvlink_gb_s", "tdp_w")
        for f in positive:
            if not getattr(self, f) > 0:
                raise HwsimError(f"gpu {self.name}: {f} must be positive, got "
                                 f"{getattr(self, f)!r}")
        for f in ("fp8_tensor_tflops", "launch_us", "overhead_us",
                  *(lat for lat, _ in NCCL_PROTOCOLS.values())):
            if not getattr(self, f) >= 0:
                raise HwsimError(f"gpu {self.name}: {f} must be >= 0, got {getattr(self, f)!r}")
        for f in ("tensor_efficiency", "hbm_efficiency",
                  *(eff for _, eff in NCCL_PROTOCOLS.values())):
            if not 0 < getattr(self, f) <= 1:
                raise HwsimError(f"gpu {self.name}: {f} is a fraction of peak in (0, 1], got "
                                 f"{getattr(self, f)!r}")
        if self.attention not in ATTENTION:
            raise HwsimError(f"gpu {self.name}: attention {self.attention!r} is unknown; "
                             f"allowed: {', '.join(ATTENTION)}")
        if self.harness not in HARNESSES:
            raise HwsimError(f"gpu {self.name}: harness {self.harness!r} is unknown; "
                             f"allowed: {', '.join(HARNESSES)}")
        if self.tensor_core not in TENSOR_CORES:
            raise HwsimError(f"gpu {self.name}: tensor_core {self.tensor_core!r} is unknown; "
                             f"allowed: {', '.join(TENSOR_CORES)}")
        if self.tensor_core == "mac" and self.lut_area_share != 0:
            raise HwsimError(f"gpu {self.name}: lut_area_share is the share of the tensor-core "
                             "area spent on LUT cores; with tensor_core mac it must be 0, got "
                             f"{self.lut_area_share!r}")
        if self.tensor_core == "lut" and not 0 < self.lut_area_share < 1:
            raise HwsimError(f"gpu {self.name}: lut_area_share must be in (0, 1) with "
                             "tensor_core lut (some MAC tensor cores stay for the GEMMs with no "
                             f"LUT path), got {self.lut_area_share!r}")

    @property
    def hz(self) -> float:
        return self.clock_mhz * 1e6

    def peak_ops(self, path: str) -> float:
        """Dense tensor-core operations/s (FLOP/s; OP/s for int8) of a GEMM path."""
        return getattr(self, PATHS[path]) * 1e12

    def macs_per_sm_cycle(self, path: str) -> float:
        """MAC tensor-core MACs per SM per cycle at the peak of ``path`` (on a LUT part, of
        the MAC tensor cores left: ``1 - lut_area_share`` of the area)."""
        return self.peak_ops(path) / 2 / (self.sms * self.hz) * (1 - self.lut_area_share)

    def hbm_bytes_per_cycle(self) -> float:
        """Achievable HBM bytes per cycle (peak x ``hbm_efficiency``)."""
        return self.hbm_gb_s * 1e9 * self.hbm_efficiency / self.hz

    def l2_bytes_per_sm_cycle(self) -> float:
        return self.l2_gb_s * 1e9 / self.hz / self.sms

    def fp32_flops_per_sm_cycle(self) -> float:
        return self.fp32_tflops * 1e12 / (self.sms * self.hz)

    def cycles(self, us: float) -> int:
        return round(us * self.clock_mhz)

    def describe(self) -> str:
        fp8 = f", fp8 {self.fp8_tensor_tflops:g}" if self.fp8_tensor_tflops else ""
        lut = (f", LUT tensor cores on {self.lut_area_share:.0%} of the tensor-core area"
               if self.tensor_core == "lut" else "")
        return (f"gpu {self.name}: {self.sms} SMs at {self.clock_mhz:g} MHz, tensor fp16 "
                f"{self.fp16_tensor_tflops:g}{fp8} TFLOP/s (x{self.tensor_efficiency:g} "
                f"achievable), HBM {self.hbm_gb:g} GB at {self.hbm_gb_s:g} GB/s "
                f"(x{self.hbm_efficiency:g}), L2 {self.l2_mb:g} MB{lut}"
                + (f"; one of {self.tp} GPUs in tensor parallel over NVLink "
                   f"{self.nvlink_gb_s:g} GB/s" if self.tp > 1 else ""))


#: the presets of the sourced table, one group per preset
PRESETS = TablePresets(PRESETS_TABLE, GpuSpec)
preset = PRESETS.spec
preset_names = PRESETS.names


__all__ = ["ATTENTION", "HARNESSES", "NCCL_PROTOCOLS", "PATHS", "PRESETS", "TENSOR_CORES",
           "GpuSpec", "preset", "preset_names"]
