"""The PULP cluster's spec: worker cores, FPUs, FP16 SIMD width, L1 TCDM banks and size, L2,
the cluster DMA, the clock and the pipeline figures the instruction counts need; the preset
comes from the sourced table ``hwsim/data/pulp_presets.yaml``."""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.devices.presets import TablePresets
from hwsim.errors import HwsimError

PRESETS_TABLE = "data/pulp_presets.yaml"

#: number formats with a PULP-TrainLib path (pulp_*_fp32.c, pulp_*_fp16.c), by element bytes
FORMATS: dict[str, int] = {"fp32": 4, "fp16": 2}


@dataclass(frozen=True)
class PulpSpec:
    """One PULP cluster. ``fpus`` below ``worker_cores`` means cores share FPUs (each FPU
    issues one FP instruction per cycle for all the cores that share it)."""

    name: str = "pulp"
    worker_cores: int = 8
    fpus: int = 8
    fp16_simd_lanes: int = 2
    l1_kib: int = 128
    l1_banks: int = 16
    l2_kib: int = 1536
    dma_bytes_per_cycle: float = 8.0
    clock_mhz: float = 400.0
    fpu_latency_cycles: int = 2
    load_use_stall_cycles: int = 1
    fork_cycles: int = 60
    #: tiles stream through two halves of L1 (DMA overlapped with compute); False: one
    #: buffer, load -> compute -> store per tile, as PULP-TrainLib's TrainLib_Deployer runs
    #: ('SB'; its 'DB' mode is marked unavailable in tools/TrainLib_Deployer). A modelling
    #: choice, not a hardware figure, so not an entry of the presets table.
    dma_double_buffer: bool = True

    def __post_init__(self) -> None:
        ints = ("worker_cores", "fpus", "fp16_simd_lanes", "l1_kib", "l1_banks", "l2_kib",
                "fpu_latency_cycles")
        for f in ints:
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise HwsimError(f"pulp {self.name}: {f} must be a positive integer, got {v!r}")
        for f in ("load_use_stall_cycles", "fork_cycles"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise HwsimError(f"pulp {self.name}: {f} must be an integer >= 0, got {v!r}")
        for f in ("dma_bytes_per_cycle", "clock_mhz"):
            if not getattr(self, f) > 0:
                raise HwsimError(f"pulp {self.name}: {f} must be positive, got "
                                 f"{getattr(self, f)!r}")
        if self.fpus > self.worker_cores:
            raise HwsimError(f"pulp {self.name}: fpus ({self.fpus}) cannot exceed worker_cores "
                             f"({self.worker_cores})")

    @property
    def l1_bytes(self) -> int:
        return self.l1_kib * 1024

    @property
    def cores_per_fpu(self) -> float:
        return self.worker_cores / self.fpus

    def peak_macs_per_cycle(self, fmt: str) -> int:
        """One FMA per FPU per cycle, ``fp16_simd_lanes`` MACs each in FP16 SIMD."""
        return self.fpus * (self.fp16_simd_lanes if fmt == "fp16" else 1)

    def describe(self) -> str:
        share = "private" if self.fpus == self.worker_cores else f"{self.fpus} shared"
        return (f"pulp {self.name}: {self.worker_cores}+1 cores at {self.clock_mhz:g} MHz, "
                f"{share} FPUs (FP16 SIMD x{self.fp16_simd_lanes}), L1 {self.l1_kib} KiB in "
                f"{self.l1_banks} banks, L2 {self.l2_kib} KiB, DMA "
                f"{self.dma_bytes_per_cycle:g} B/cycle "
                f"({'double' if self.dma_double_buffer else 'single'}-buffered)")


#: the presets of the sourced table, one group per preset
PRESETS = TablePresets(PRESETS_TABLE, PulpSpec, options=("dma_double_buffer",))
preset = PRESETS.spec
preset_names = PRESETS.names


__all__ = ["FORMATS", "PulpSpec", "PRESETS", "preset", "preset_names"]
