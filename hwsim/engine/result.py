"""What every simulation run returns: cycles, time, energy, utilisation, per-op breakdown."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from hwsim.engine.trace import TraceRecord


@dataclass(frozen=True)
class OpResult:
    name: str
    op_type: str
    unit: str  # which resource ran it: "array", "vector" or "none"
    macs: int
    compute_cycles: int
    total_cycles: int
    stall_cycles: int
    start_cycle: int
    dram_bytes: int
    energy_pj: float
    utilisation: float
    detail: str = ""


@dataclass(frozen=True)
class RunResult:
    device: str
    workload: str
    clock_mhz: float
    total_cycles: int
    compute_cycles: int
    stall_cycles: int
    macs: int
    peak_macs_per_cycle: int
    energy_pj: dict[str, float]
    busy_cycles: dict[str, int]
    bytes_moved: dict[str, int]
    ops: tuple[OpResult, ...]
    trace: tuple[TraceRecord, ...] = field(default=(), repr=False)
    notes: tuple[str, ...] = ()
    # where the per-MAC energy came from (a costmodel.provider.CostProvider's name)
    energy_source: str = "analytical-45nm"

    @property
    def seconds(self) -> float:
        return self.total_cycles / (self.clock_mhz * 1e6)

    @property
    def energy_total_pj(self) -> float:
        return sum(self.energy_pj.values())

    @property
    def utilisation(self) -> float:
        """MACs done over MAC slots available during the whole run (stalls included)."""
        slots = self.peak_macs_per_cycle * self.total_cycles
        return self.macs / slots if slots else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "workload": self.workload,
            "clock_mhz": self.clock_mhz,
            "total_cycles": self.total_cycles,
            "compute_cycles": self.compute_cycles,
            "stall_cycles": self.stall_cycles,
            "seconds": self.seconds,
            "macs": self.macs,
            "utilisation": self.utilisation,
            "energy_pj": {**self.energy_pj, "total": self.energy_total_pj},
            "energy_note": f"estimate: MACs from the {self.energy_source} cost provider, SRAM "
                           "and DRAM bytes from its 45 nm memory prices",
            "busy_cycles": self.busy_cycles,
            "bytes_moved": self.bytes_moved,
            "notes": list(self.notes),
            "ops": [asdict(o) for o in self.ops],
        }

    def summary(self) -> str:
        e = self.energy_total_pj
        return (f"{self.workload} on {self.device}: {self.total_cycles:,} cycles "
                f"({self.seconds * 1e3:.3f} ms at {self.clock_mhz:g} MHz), compute "
                f"{self.compute_cycles:,}, stalls {self.stall_cycles:,}, utilisation "
                f"{self.utilisation:.1%}, energy {e / 1e6:.3f} uJ (estimate)")
