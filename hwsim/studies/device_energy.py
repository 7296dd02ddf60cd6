"""Workload energy on the systolic array under two cost providers, side by side.

The same simulation (cycles, SRAM and DRAM traffic) is priced twice: per-MAC energy from the
analytical provider (Horowitz's 45 nm table, ISSCC 2014, scaled for formats it lacks) and
from the learned one (our Yosys-synthesised MACs with the toggle-count energy proxy,
calibrated to Horowitz's 0.2 pJ int8 multiply). Memory energy per byte is the same 45 nm
figure in both, so the difference is the MAC. A MAC is priced by the op's activation format
with an fp32 accumulator for floats and a 32-bit one for integers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: (label, built-in workload, build options)
WORKLOADS: tuple[tuple[str, str, dict], ...] = (
    ("ResNet-18", "resnet18", {}),
    ("ViT-B/16", "vit-b16", {}),
    ("LLaMA-2-7B decode (KV 1024)", "llama2-7b", {"phase": "decode", "kv_len": 1024}),
)
#: workload precision presets (workloads.get_precision); a block format's MAC is its element's
FORMATS = ("int8", "fp8", "mxfp6", "mxfp4")
PROVIDERS = ("analytical", "learned")


@dataclass(frozen=True)
class EnergyRow:
    workload: str
    fmt: str
    provider: str
    macs: int
    total_cycles: int
    mac_uj: float
    sram_uj: float
    dram_uj: float

    @property
    def pj_per_mac(self) -> float:
        return self.mac_uj * 1e6 / self.macs

    @property
    def total_uj(self) -> float:
        return self.mac_uj + self.sram_uj + self.dram_uj


def run(workloads: Sequence[tuple[str, str, dict]] = WORKLOADS,
        formats: Sequence[str] = FORMATS, providers: Sequence[str] = PROVIDERS,
        on_row: Callable[[EnergyRow], None] | None = None) -> list[EnergyRow]:
    """Simulate every workload x format once per provider (32x32 WS array, CALC mode)."""
    from costmodel.provider import get_provider
    from hwsim.devices import run as run_on
    from hwsim.devices.systolic import SystolicSpec
    from workloads import Graph, build_workload

    spec = SystolicSpec(dataflow="ws")
    costs = {p: get_provider(p) for p in providers}
    rows = []
    for label, name, opts in workloads:
        for fmt in formats:
            graph = build_workload(name, precision=fmt, **opts)
            for p, provider in costs.items():
                res = run_on(spec, Graph(label, graph.ops), costs=provider)
                e = res.energy_pj
                row = EnergyRow(label, fmt, p, res.macs, res.total_cycles, e["mac"] / 1e6,
                                e["sram"] / 1e6, e["dram"] / 1e6)
                rows.append(row)
                if on_row is not None:
                    on_row(row)
    return rows
